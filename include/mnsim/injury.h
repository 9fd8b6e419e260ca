/* mnsim injury: punctures -> voxel damage on the tissue grid. Each channel is the needle's
 * tapered profile down to its effective depth below the local skin surface; the fraction of each
 * voxel inside a channel is integrated exactly in depth and by supersampling laterally.
 * Stage 4 (uses core, skin, device, grid). Reference: research/models.md 7.3-7.4. */
#ifndef MNSIM_INJURY_H
#define MNSIM_INJURY_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) || \
    defined(MN__BUILDING_GRID)
#error "mnsim/injury.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/grid.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Damage fields of one session: float32 grid fields (mn_grid.ncell values, fractions in
 *  [0, 1]; float keeps the session's peak memory at the solver's fields plus a quarter). */
typedef struct mn_injury {
  float *d_inj;      /**< volume fraction of each voxel disrupted (grid field) */
  float *d_bleed;    /**< the same, only from channels that reach the subpapillary plexus and
                          only in the dermis: where platelets release growth factor */
  double volume_um3; /**< disrupted volume inside the grid */
  int channels;      /**< channels rasterised */
  int bleeding;      /**< of which reach the plexus */
} mn_injury;

/** Rasterise the punctures @p set of device @p dev into @p out on grid @p g for skin @p sk.
 *  Lesions shift the local surface down (as in mn_grid_create). Punctures outside the domain
 *  wrap around for periodic grids and are clipped otherwise. @p supersample: lateral samples
 *  per cell side (1-16). */
int mn_injury_rasterize(const mn_grid *g, const mn_skin *sk, const mn_device *dev,
                        const mn_puncture_set *set, const mn_lesion *lesions, int n_lesions,
                        int supersample, mn_injury *out, mn_error *err);
/** Add one channel of device @p dev, @p depth_um deep, at (x, y) mm (no lesion): unit cells. */
void mn_injury_add_channel(const mn_grid *g, const mn_skin *sk, const mn_device *dev, double x_mm,
                           double y_mm, double depth_um, int supersample, mn_injury *inj);
/** Allocate zeroed damage fields for @p g. */
int mn_injury_init(const mn_grid *g, mn_injury *out, mn_error *err);
void mn_injury_fini(mn_injury *inj);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_INJURY_H */
