/* The tissue grid: layer-conforming non-uniform z, uniform x/y with halo cells, and the layer
 * map with lesions carved as dermal deficits (the local surface sinks by the deficit, the dermis
 * below it thins, the dermis/hypodermis boundary stays flat). Pipeline: grid, after device;
 * injury rasterises channels onto it, the healing solver steps fields on it, io writes its mesh.
 * Reference: research/models.md 6.3 (cell-centred finite volumes, finer dz near the surface). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "mnsim/grid.h"

static const char *const lateral_names[] = {"periodic", "zero_flux", NULL};
static const char *const bottom_names[] = {"zero_flux", "baseline", NULL};

/* Keys of the case file's `grid` section. */
static const mn_config_desc grid_table[] = {
    {"dx_um", MN_CONFIG_DOUBLE, "um", 20, 2, 200, NULL, NULL, offsetof(mn_grid_params, dx_um),
     sizeof(double), "lateral cell size (dx = dy); at least 4-5 cells across a channel"},
    {"dz_epi_um", MN_CONFIG_DOUBLE, "um", 10, 1, 100, NULL, NULL,
     offsetof(mn_grid_params, dz_epi_um), sizeof(double),
     "target cell height in the stratum corneum and viable epidermis"},
    {"dz_pd_um", MN_CONFIG_DOUBLE, "um", 20, 1, 200, NULL, NULL, offsetof(mn_grid_params, dz_pd_um),
     sizeof(double), "target cell height in the papillary dermis"},
    {"dz_rd_um", MN_CONFIG_DOUBLE, "um", 40, 1, 400, NULL, NULL, offsetof(mn_grid_params, dz_rd_um),
     sizeof(double), "target cell height in the reticular dermis"},
    {"lateral_bc", MN_CONFIG_ENUM, "", MN_BC_PERIODIC, 0, 1, lateral_names, NULL,
     offsetof(mn_grid_params, lateral_bc), sizeof(int),
     "lateral boundaries: periodic (unit cell or periodic patch) or zero_flux"},
    {"bottom_bc", MN_CONFIG_ENUM, "", MN_BOTTOM_ZERO_FLUX, 0, 1, bottom_names, NULL,
     offsetof(mn_grid_params, bottom_bc), sizeof(int),
     "bottom boundary: zero_flux or baseline (excess held at 0 below the dermis)"},
};

const mn_config_desc *mn_grid_param_table(size_t *n) {
  *n = sizeof grid_table / sizeof grid_table[0];
  return grid_table;
}

void mn_grid_destroy(mn_grid *g) {
  if (!g) return;
  mn_free(g->dz_um);
  mn_free(g->zf_um);
  mn_free(g->zc_um);
  mn_free(g->cell);
  mn_free(g);
}

double *mn_grid_field(const mn_grid *g) {
  return mn_calloc_aligned(g->ncell, sizeof(double));
}
float *mn_grid_field_f32(const mn_grid *g) {
  return mn_calloc_aligned(g->ncell, sizeof(float));
}
double mn_grid_xc_mm(const mn_grid *g, int i) {
  return g->x0_mm + 1e-3 * g->dx_um * (i + 0.5);
}
double mn_grid_yc_mm(const mn_grid *g, int j) {
  return g->y0_mm + 1e-3 * g->dx_um * (j + 0.5);
}

/* Cells per layer: the layer thickness over the target height, rounded, at least one. */
static int cells_in(double h_um, double target_um) {
  int n = (int)lround(h_um / target_um);
  return n < 1 ? 1 : n;
}

/* Cells in z over SC, VE, PD and RD (SC and VE share dz_epi_um). The hypodermis is not meshed:
 * the grid ends at the bottom of the dermis, where grid.bottom_bc applies. */
static int count_z(const mn_grid_params *p, const mn_skin *sk) {
  const double tgt[4] = {p->dz_epi_um, p->dz_epi_um, p->dz_pd_um, p->dz_rd_um};
  int nz = 0;
  for (int l = 0; l < MN_LAYER_HYPO; l++) nz += cells_in(sk->thickness_um[l], tgt[l]);
  return nz;
}

/* (nx + 2) (ny + 2) nz cells with the halo, 8 bytes per value of each field plus the one-byte
 * layer map; row padding is left out, as the header says. */
double mn_grid_bytes_estimate(const mn_grid_params *p, const mn_skin *sk, double width_mm,
                              double height_mm, int nfields) {
  double nx = ceil(1000.0 * width_mm / p->dx_um), ny = ceil(1000.0 * height_mm / p->dx_um);
  double cells = (nx + 2) * (ny + 2) * count_z(p, sk);
  return cells * (8.0 * nfields + 1.0);
}

/* Each layer is split into equal cells, so every layer boundary of the flat skin is a cell face
 * (layer-conforming). zf_um holds the faces (zf_um[0] = 0 at the surface), zc_um the centres. */
static void build_z(mn_grid *g, const mn_grid_params *p, const mn_skin *sk) {
  const double tgt[4] = {p->dz_epi_um, p->dz_epi_um, p->dz_pd_um, p->dz_rd_um};
  int k = 0;
  g->zf_um[0] = 0;
  for (int l = 0; l < MN_LAYER_HYPO; l++) {
    int n = cells_in(sk->thickness_um[l], tgt[l]);
    for (int q = 0; q < n; q++, k++) {
      g->dz_um[k] = sk->thickness_um[l] / n;
      g->zf_um[k + 1] = sk->top_um[l] + (q + 1) * g->dz_um[k];
    }
  }
  for (k = 0; k < g->nz; k++) g->zc_um[k] = 0.5 * (g->zf_um[k] + g->zf_um[k + 1]);
}

/* Offset within a z-plane of the interior cell that halo cell (i, j) copies: the periodic image,
 * or the nearest interior cell (a mirror of width one: zero flux). Corner cells wrap or clamp
 * both indices. Valid for a halo of width one (i >= -nx). */
static size_t halo_source(const mn_grid *g, int i, int j) {
  int si, sj;
  if (g->lateral_bc == MN_BC_PERIODIC) {
    si = (i + g->nx) % g->nx;
    sj = (j + g->ny) % g->ny;
  } else {
    si = i < 0 ? 0 : (i >= g->nx ? g->nx - 1 : i);
    sj = j < 0 ? 0 : (j >= g->ny ? g->ny - 1 : j);
  }
  return (size_t)sj * g->sy + (size_t)si;
}

/* Layer at depth z in a column whose surface sank by @p def: the epidermis and papillary dermis
 * keep their thickness below the local surface, the reticular dermis ends at the flat bottom.
 * Cells above the sunken surface are void: no tissue (injury skips them). */
static uint8_t layer_in_column(const mn_skin *sk, double z, double def) {
  double local = z - def;
  if (local < 0) return MN_CELL_VOID;
  for (int l = MN_LAYER_PD; l >= MN_LAYER_SC; l--)
    if (local >= sk->top_um[l]) {
      if (l == MN_LAYER_PD && local >= sk->top_um[MN_LAYER_RD]) return MN_LAYER_RD;
      return (uint8_t)l;
    }
  return MN_LAYER_SC;
}

/* The layer code of every cell, by its centre depth in its column. A column's deficit is the
 * deepest of the lesions' deficits at the column centre (overlapping lesions do not add up).
 * g->uniform stays 1 only without any carved column: the diffusion solver then takes its fast
 * path for layer codes that depend on k alone. */
static void build_cells(mn_grid *g, const mn_skin *sk, const mn_lesion *les, int nl) {
  memset(g->cell, MN_CELL_VOID, g->ncell); /* row padding stays void */
  g->uniform = 1;
  for (int j = 0; j < g->ny; j++)
    for (int i = 0; i < g->nx; i++) {
      double x = mn_grid_xc_mm(g, i), y = mn_grid_yc_mm(g, j), def = 0;
      for (int q = 0; q < nl; q++) def = fmax(def, mn_lesion_deficit_um(&les[q], x, y));
      if (def > 0) g->uniform = 0;
      g->deficit_max_um = fmax(g->deficit_max_um, def);
      for (int k = 0; k < g->nz; k++)
        g->cell[mn_grid_at(g, i, j, k)] = layer_in_column(sk, g->zc_um[k], def);
    }
  /* halo copies of the layer map, so face coefficients can read across the boundary */
  for (int k = 0; k < g->nz; k++) {
    uint8_t *plane = g->cell + g->origin + (size_t)k * g->sz;
    for (int j = -g->ng; j < g->ny + g->ng; j++)
      for (int i = -g->ng; i < g->nx + g->ng; i++) {
        if (i >= 0 && i < g->nx && j >= 0 && j < g->ny) continue;
        plane[(ptrdiff_t)j * (ptrdiff_t)g->sy + i] = plane[halo_source(g, i, j)];
      }
  }
}

/* One process: the local box is the global one (gnx = nx, gx0 = 0, ...). Fields are laid out x
 * fastest, index(i, j, k) = origin + k sz + j sy + i with origin = ng sy + ox: a plane holds
 * ny + 2 rows (halo rows j = -1 and j = ny), and z has no halo (its boundaries are faces). */
int mn_grid_create(const mn_grid_params *p, const mn_skin *sk, const mn_lesion *lesions,
                   int n_lesions, double x0_mm, double y0_mm, double width_mm, double height_mm,
                   mn_grid **out, mn_error *err) {
  int rc = MN_OK;
  size_t nt;
  const mn_config_desc *tab = mn_grid_param_table(&nt);
  mn_grid *g = NULL;
  *out = NULL;
  MN_TRY(mn_config_check(tab, nt, p, "grid", err));
  /* rounded: course fits dx to a unit cell, so there the count is whole already */
  int nx = (int)lround(1000.0 * width_mm / p->dx_um),
      ny = (int)lround(1000.0 * height_mm / p->dx_um);
  /* a periodic line needs three cells at least, so that a cell's two neighbours are different
   * cells (the cyclic line solves of healing/diffusion.c) */
  int minc = p->lateral_bc == MN_BC_PERIODIC ? 3 : 1;
  MN_CHECK(nx >= minc && ny >= minc && nx <= 100000 && ny <= 100000, err, MN_ERANGE, "grid.dx_um",
           "grid.dx_um = %g gives %d x %d lateral cells over %g x %g mm; allowed %d to 100000 a "
           "side",
           p->dx_um, nx, ny, width_mm, height_mm, minc);
  g = mn_calloc(1, sizeof *g);
  MN_CHECK(g, err, MN_ENOMEM, "", "out of memory for the grid");
  g->nx = g->gnx = nx;
  g->ny = g->gny = ny;
  g->nz = g->gnz = count_z(p, sk);
  g->ng = 1;
  g->dx_um = p->dx_um;
  g->x0_mm = x0_mm;
  g->y0_mm = y0_mm;
  g->lateral_bc = p->lateral_bc;
  g->bottom_bc = p->bottom_bc;
  /* a row: padding, the halo cell, the interior from a multiple of four values, the halo cell,
   * padding to a multiple of four values (aligned vector loads in the diffusion passes) */
  g->ox = 4;
  g->sy = ((size_t)g->ox + (size_t)nx + (size_t)g->ng + 3) / 4 * 4;
  g->sz = g->sy * ((size_t)ny + 2 * (size_t)g->ng);
  g->ncell = g->sz * (size_t)g->nz;
  g->origin = (size_t)g->ng * g->sy + (size_t)g->ox;
  g->dz_um = mn_malloc_array((size_t)g->nz, sizeof(double));
  g->zf_um = mn_malloc_array((size_t)g->nz + 1, sizeof(double));
  g->zc_um = mn_malloc_array((size_t)g->nz, sizeof(double));
  g->cell = mn_calloc(g->ncell, 1);
  MN_CHECK(g->dz_um && g->zf_um && g->zc_um && g->cell, err, MN_ENOMEM, "",
           "out of memory for a %d x %d x %d grid", nx, ny, g->nz);
  build_z(g, p, sk);
  build_cells(g, sk, lesions, n_lesions);
  *out = g;
  return MN_OK;
cleanup:
  mn_grid_destroy(g);
  return rc;
}

/* The same copies as the layer map's halo in build_cells, for a field: on one process the whole
 * exchange happens here and mn_grid_halo_end has nothing left to do. */
void mn_grid_halo_begin(const mn_grid *g, double *f) {
  for (int k = 0; k < g->nz; k++) {
    double *plane = f + g->origin + (size_t)k * g->sz;
    for (int j = -g->ng; j < g->ny + g->ng; j++)
      for (int i = -g->ng; i < g->nx + g->ng; i++) {
        if (i >= 0 && i < g->nx && j >= 0 && j < g->ny) continue;
        plane[(ptrdiff_t)j * (ptrdiff_t)g->sy + i] = plane[halo_source(g, i, j)];
      }
  }
}

void mn_grid_halo_end(const mn_grid *g, double *f) {
  (void)g;
  (void)f; /* one process: the copies are complete after begin() */
}
