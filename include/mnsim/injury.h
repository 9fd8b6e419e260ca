/* mnsim injury: punctures -> voxel damage on the tissue grid. Each channel is the needle's
 * tapered profile down to its effective depth below the local skin surface; the fraction of each
 * voxel inside a channel is integrated exactly in depth and by supersampling laterally.
 * Pipeline: between device/grid and healing (uses core, skin, device, grid); the healing solver
 * applies its damage fields. Reference: research/models.md 7.3-7.4. */
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

/** Damage fields of one session over the planes k0 .. k1 - 1 of the grid (all of them, or a
 *  window of planes so that a large grid is injured a few planes at a time: the window's fields
 *  take (k1 - k0) mn_grid.sz floats each instead of mn_grid.ncell). The value of grid cell c
 *  (in a plane of the window) is at index c - base. Fractions in [0, 1], float32.
 *  Caller-owned storage; the fields are allocated by mn_injury_init or _init_planes and freed
 *  with mn_injury_fini. Lengths in um. */
typedef struct mn_injury {
  float *d_inj;      /**< volume fraction of each voxel the needles displaced (pushed aside: where
                          immature matrix tears) */
  float *d_lum;      /**< volume fraction of each voxel in an open channel lumen: the needle's
                          profile scaled by the device class's lumen_ratio (cells lost, matrix
                          cut, the barrier gap) */
  float *d_bleed;    /**< the lumen fraction, only from channels that reach the subpapillary
                          plexus and only in the dermis: where platelets release growth factor */
  size_t base;       /**< mn_grid_at(g, 0, 0, k0): the grid index of the window's index 0 */
  int k0, k1;        /**< the window's planes */
  double volume_um3; /**< displaced volume inside the window */
  double lumen_um3;  /**< lumen volume inside the window */
  int channels;      /**< channels rasterised (every channel, whether it reaches the window) */
  int bleeding;      /**< of which reach the plexus */
} mn_injury;

/** Rasterise the punctures @p set of device @p dev into @p out on grid @p g for skin @p sk.
 *  Lesions shift the local surface down (as in mn_grid_create). Punctures outside the domain
 *  wrap around for periodic grids and are clipped otherwise. @p supersample: lateral samples
 *  per cell side (1-16).
 *  @param[in,out] out fields from mn_injury_init / _init_planes on @p g: the channels are
 *  combined with what they hold, only in the window's planes (the counters count every channel)
 *  @return MN_OK, or MN_ERANGE for @p supersample outside [1, 16]. Never allocates. */
int mn_injury_rasterize(const mn_grid *g, const mn_skin *sk, const mn_device *dev,
                        const mn_puncture_set *set, const mn_lesion *lesions, int n_lesions,
                        int supersample, mn_injury *out, mn_error *err);
/** Add one channel of device @p dev, @p depth_um deep, at (x, y) mm (no lesion) to @p inj, which
 *  mn_injury_init / _init_planes prepared on @p g: unit cells. @p supersample (>= 1) is not
 *  checked. Never fails. */
void mn_injury_add_channel(const mn_grid *g, const mn_skin *sk, const mn_device *dev, double x_mm,
                           double y_mm, double depth_um, int supersample, mn_injury *inj);
/** Allocate zeroed damage fields over the whole grid @p g (@p out is overwritten; free with
 *  mn_injury_fini). @return MN_OK or MN_ENOMEM. */
int mn_injury_init(const mn_grid *g, mn_injury *out, mn_error *err);
/** Allocate zeroed damage fields over the planes @p k0 .. @p k1 - 1 of @p g
 *  (0 <= k0 < k1 <= nz). @return MN_OK; MN_ERANGE for an empty or out-of-grid window;
 *  MN_ENOMEM. */
int mn_injury_init_planes(const mn_grid *g, int k0, int k1, mn_injury *out, mn_error *err);
/** The damage fraction of grid cell @p c (a cell of a plane in the window). */
static inline float mn_injury_at(const float *field, const mn_injury *inj, size_t c) {
  return field[c - inj->base];
}
/** Free the damage fields (the counters stay). NULL-safe. */
void mn_injury_fini(mn_injury *inj);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_INJURY_H */
