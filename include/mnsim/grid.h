/* mnsim grid: the structured 3D tissue grid - cell-centred finite volumes over a skin slab,
 * uniform dx = dy, non-uniform dz conforming to the skin layers, a per-cell layer map (with
 * lesions carved as dermal deficits), halo cells and local/global extents for a later MPI
 * domain decomposition. Pipeline: after skin and device (uses core, skin); injury rasterises
 * onto it and the healing solver steps its fields. Reference: research/models.md 6.3. */
#ifndef MNSIM_GRID_H
#define MNSIM_GRID_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE)
#error "mnsim/grid.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Lateral boundary condition. */
typedef enum { MN_BC_PERIODIC = 0, MN_BC_ZERO_FLUX = 1 } mn_lateral_bc;
/** Bottom boundary condition (dermis/hypodermis). */
typedef enum { MN_BOTTOM_ZERO_FLUX = 0, MN_BOTTOM_BASELINE = 1 } mn_bottom_bc;

/** Cell code above the local skin surface (inside a carved lesion): no tissue. */
#define MN_CELL_VOID 255

/** Grid settings (YAML section `grid`). Config keys: grid.<field>. */
typedef struct mn_grid_params {
  double dx_um;     /**< lateral cell size (dx = dy) */
  double dz_epi_um; /**< target dz in the epidermis (SC and VE) */
  double dz_pd_um;  /**< target dz in the papillary dermis */
  double dz_rd_um;  /**< target dz in the reticular dermis */
  int lateral_bc;   /**< mn_lateral_bc */
  int bottom_bc;    /**< mn_bottom_bc */
} mn_grid_params;
/** Descriptor table of mn_grid_params: static, *n entries. */
const mn_config_desc *mn_grid_param_table(size_t *n);

/** The grid. Fields are double arrays of mn_grid.ncell values (halo included), index
 *  mn_grid_at(g, i, j, k) for interior cells 0 <= i < nx, 0 <= j < ny, 0 <= k < nz; x fastest.
 *  Created by mn_grid_create, which owns its arrays; read-only afterwards (mn_grid_destroy). */
typedef struct mn_grid {
  int nx, ny, nz;      /**< local interior cells */
  int gnx, gny, gnz;   /**< global cells */
  int gx0, gy0, gz0;   /**< global index of the local box's first cell */
  int ng;              /**< halo width in x and y (none in z) */
  int ox;              /**< offset of interior cell i = 0 in its row: 4, so that rows of the
                            interior start 32 bytes into a 64-byte aligned field */
  size_t sy, sz;       /**< strides of j and k (stride of i is 1) */
  size_t ncell;        /**< values per field, halo included */
  size_t origin;       /**< offset of interior cell (0, 0, 0) */
  double dx_um;        /**< = dy */
  double x0_mm, y0_mm; /**< position of the domain's lower-left corner */
  double *dz_um;       /**< [nz] cell heights */
  double *zf_um;       /**< [nz + 1] face depths, zf_um[0] = 0 at the skin surface */
  double *zc_um;       /**< [nz] centre depths */
  uint8_t *cell;       /**< [ncell] layer code of each cell (MN_LAYER_* or MN_CELL_VOID) */
  int uniform;         /**< 1 when the layer code depends on k only (no lesions) */
  int lateral_bc, bottom_bc;
  double deficit_max_um; /**< deepest carved deficit */
} mn_grid;

/** Build a grid over [x0, x0 + width] x [y0, y0 + height] mm for skin @p sk, through the whole
 *  dermis, carving @p lesions (may be NULL). Each layer gets an integer number of equal cells
 *  close to its target dz, so layer boundaries fall on faces. The lateral cell counts are
 *  round(width / dx) and round(height / dx): dx is kept, so each side of the domain may differ
 *  from the one asked for by up to half a cell. @p sk and @p lesions are only read during the call.
 *  @param[out] out the grid (owned by the caller: mn_grid_destroy), NULL on failure
 *  @return MN_OK; MN_ERANGE for settings out of range (keys "grid.<field>") or a cell count
 *  outside [3 (periodic) or 1, 100000] a side (key "grid.dx_um"); MN_ENOMEM. */
int mn_grid_create(const mn_grid_params *p, const mn_skin *sk, const mn_lesion *lesions,
                   int n_lesions, double x0_mm, double y0_mm, double width_mm, double height_mm,
                   mn_grid **out, mn_error *err);
/** Free a grid. NULL-safe. */
void mn_grid_destroy(mn_grid *g);

/** Index in a field of cell (i, j, k); i and j may reach into the halo (-ng <= i < nx + ng). */
static inline size_t mn_grid_at(const mn_grid *g, int i, int j, int k) {
  return g->origin + (size_t)k * g->sz + (size_t)j * g->sy + (size_t)i;
}
/** Allocate one zeroed field (mn_grid.ncell doubles, 64-byte aligned); free with mn_free.
 *  @return the field, or NULL when out of memory. */
double *mn_grid_field(const mn_grid *g);
/** mn_grid_field in float32 (the 3D solver's storage): mn_grid.ncell floats, 64-byte aligned. */
float *mn_grid_field_f32(const mn_grid *g);
/** Interior cells. */
static inline size_t mn_grid_cells(const mn_grid *g) {
  return (size_t)g->nx * (size_t)g->ny * (size_t)g->nz;
}
/** x position of the centres of column @p i, mm (centre depths are in mn_grid.zc_um). */
double mn_grid_xc_mm(const mn_grid *g, int i);
/** y position of the centres of row @p j, mm. */
double mn_grid_yc_mm(const mn_grid *g, int j);

/** Fill the halo of field @p f (of grid @p g) in every plane: periodic copies, or copies of the
 *  nearest interior cell for zero flux. begin/end pair so that an MPI version can overlap the
 *  exchange with work; on one process begin() does all of it. */
void mn_grid_halo_begin(const mn_grid *g, double *f);
/** Complete the halo exchange started by mn_grid_halo_begin (a no-op on one process). */
void mn_grid_halo_end(const mn_grid *g, double *f);

/** Bytes (approximate: padding left out) that a grid of @p width_mm x @p height_mm and
 *  @p nfields double fields will take, for refusing oversized runs up front. */
double mn_grid_bytes_estimate(const mn_grid_params *p, const mn_skin *sk, double width_mm,
                              double height_mm, int nfields);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_GRID_H */
