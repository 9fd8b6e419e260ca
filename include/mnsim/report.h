/* mnsim report: figures made with PLplot (cairo driver) - for now the puncture density map.
 * Last pipeline stage; writes files atomically. */
#ifndef MNSIM_REPORT_H
#define MNSIM_REPORT_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_OUTCOME) || defined(MN__BUILDING_IO)
#error "mnsim/report.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { MN_FIG_SVG = 0, MN_FIG_PNG = 1 } mn_fig_format;

/** Plot the density map @p m (punctures/cm2 per cell) with the outline of @p t and the lesions
 *  as circles, to @p path in @p format (SVG or PNG, 900 x 760 px). @p title goes above the plot.
 */
int mn_report_density_map(const char *path, int format, const mn_density_map *m,
                          const mn_treatment *t, const mn_lesion *lesions, int n_lesions,
                          const char *title, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_REPORT_H */
