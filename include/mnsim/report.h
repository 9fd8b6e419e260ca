/* mnsim report: the figures (PLplot, cairo driver) and report.html of `mnsim plan`, rendered from
 * data computed before a writer is called. Last pipeline stage: it reads device, plan and io
 * results and computes nothing of the model. */
#ifndef MNSIM_REPORT_H
#define MNSIM_REPORT_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_OUTCOME) || defined(MN__BUILDING_LUMPED) ||                               \
    defined(MN__BUILDING_COURSE) || defined(MN__BUILDING_INFER) || defined(MN__BUILDING_PLAN) ||   \
    defined(MN__BUILDING_IO)
#error "mnsim/report.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/infer.h"
#include "mnsim/io.h"
#include "mnsim/plan.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { MN_FIG_SVG = 0, MN_FIG_PNG = 1 } mn_fig_format;

/** What to draw in a density map figure. */
typedef struct mn_density_figure {
  int format;                /**< mn_fig_format */
  const mn_density_map *map; /**< punctures/cm2 per cell */
  const mn_treatment *t;     /**< outline (red) */
  const mn_lesion *lesions;  /**< drawn as white circles or lines */
  int n_lesions;
  const char *title;
} mn_density_figure;

/** Render the figure @p ctx (an mn_density_figure; 900 x 760 px) and write its bytes to @p fp: an
 *  mn_write_fn, so it can go through mn_io_write_atomic. PLplot renders into a private temporary
 *  file first (its file names treat "%n" specially, so the destination is never given to it). */
int mn_report_density_map(FILE *fp, const void *ctx, mn_error *err);

/** The bar figure of Sobol indices (`mnsim sensitivity`): the @p top parameters by their largest
 *  total index over the outputs, one bar per output (total index; the first-order index as a
 *  darker inner bar), the outputs named by @p outputs ([s->nout]). SVG text of 1000 x 520 px.
 *  @param[out] svg mn_malloc'd text (not NUL-terminated), owned by the caller; NULL on failure
 *  @return MN_OK; MN_EIO when PLplot cannot render; MN_ENOMEM. */
int mn_report_sobol_svg(const mn_sobol *s, const char *const *outputs, int top, char **svg,
                        size_t *len, mn_error *err);

/** The calibration's figures (`mnsim calibrate --plot`, docs/calibration.md): svg[0] each
 *  calibrated parameter's posterior histogram against its flat prior, svg[1] the posterior
 *  correlations; both in the sampler's coordinates (each range of @p prior mapped to [0, 1],
 *  log scale where it spans a factor of 3). Each mn_malloc'd (not NUL-terminated) and owned by
 *  the caller, also those made before a failure.
 *  @return MN_OK; MN_ERANGE for more than 16 parameters; MN_EIO; MN_ENOMEM. */
int mn_report_posterior_svgs(const mn_posterior *po, const mn_param_set *prior, char *svg[2],
                             size_t len[2], mn_error *err);

/** What report.html renders, all computed before it is called; borrowed for the call. */
typedef struct mn_plan_report {
  const mn_plan_output *po;    /**< the plan, the patient file, the command line */
  const mn_plan_figures *figs; /**< density map and (optional) histology section */
  char today[16];              /**< YYYY-MM-DD the report is made */
} mn_plan_report;

/** report.html: self-contained and printable (inline CSS, figures as SVG data URIs drawn with
 *  PLplot): screening, plan, figures (redness over the first week, collagen over 12 months with
 *  its band, session timeline, density map, virtual histology), aftercare text for the patient
 *  from the plan's calendar, evidence and limits. It renders and computes nothing of the model.
 *  An mn_write_fn; @p ctx: mn_plan_report. @return MN_OK, MN_EIO, MN_ENOMEM. */
int mn_report_plan_html(FILE *fp, const void *ctx, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_REPORT_H */
