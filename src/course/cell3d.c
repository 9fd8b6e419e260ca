/* The 3D side of a course: a periodic unit cell around one channel at the treatment's density,
 * or a periodic patch of the treatment's punctures over its outline; the grid and solver, and
 * each session's injury rasterised and applied a window of planes at a time.
 * research/models.md 6.3 (grid), 7.4 (injury). Stage: course. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "course_impl.h"

/* Planes injured at a time: a session's damage fields span this many planes, not the grid (for
 * the 5 mm patch 2 MB instead of 18 MB, 9 % of the solver's fields; docs/performance.md). */
enum { INJURY_PLANES = 4 };

static long phys_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? pages * size : -1;
}

/* Bounding box of the outline: b = {xmin, xmax, ymin, ymax}. */
static void bbox(const mn_treatment *t, double b[4]) {
  b[0] = b[2] = INFINITY, b[1] = b[3] = -INFINITY;
  for (int i = 0; i < t->n_outline; i++) {
    b[0] = fmin(b[0], t->outline_mm[i][0]), b[1] = fmax(b[1], t->outline_mm[i][0]);
    b[2] = fmin(b[2], t->outline_mm[i][1]), b[3] = fmax(b[3], t->outline_mm[i][1]);
  }
}

/* The punctures of session @p k: the treatment's passes with a seed of their own per session. */
static int session_punctures(const mn_course *c, int k, mn_puncture_set **set, mn_error *err) {
  mn_treatment t = *c->p.treatment;
  t.seed = c->p.seed + 0x9E3779B97F4A7C15ULL * (uint64_t)k;
  return mn_device_punctures(c->p.dev, &t, set, err);
}

/* Patch mode: the density is the first session's punctures inside the outline per cm2; the set
 * is kept for the first session. */
static int patch_density(mn_course *c, mn_error *err) {
  int rc = session_punctures(c, 0, &c->first, err);
  if (rc) return rc;
  const mn_treatment *t = c->p.treatment;
  size_t in = 0;
  for (size_t i = 0; i < c->first->n; i++)
    in += mn_treatment_contains(t, c->first->x_mm[i], c->first->y_mm[i]);
  double n = (double)in / mn_treatment_area_cm2(t);
  if (n > 0) {
    double sum = 0;
    for (int i = 0; i < c->n_groups; i++) sum += c->group[i].density_cm2;
    for (int i = 0; i < c->n_groups; i++)
      c->group[i].density_cm2 = c->n_groups == 1 ? n : c->group[i].density_cm2 * n / sum;
  }
  c->density = n;
  return MN_OK;
}

/* The domain (x0, y0, w, h in mm) with dx adjusted by at most half a cell so that the width is a
 * whole number of cells: a unit cell then has exactly the area of one puncture. */
static int domain(mn_course *c, double d[4], mn_error *err) {
  if (c->p.mode == MN_COURSE_UNIT_CELL) {
    d[0] = d[1] = 0, d[2] = d[3] = 10.0 / sqrt(c->density);
    if (1000.0 * d[2] / c->grid.dx_um < 2.5)
      return MN_ERR(err, MN_ERANGE, "grid.dx_um",
                    "the unit cell at %.0f punctures/cm2 is %.1f um wide; grid.dx_um = %g gives "
                    "fewer than 3 cells across it: use grid.dx_um <= %.1f",
                    c->density, 1000.0 * d[2], c->grid.dx_um, 1000.0 * d[2] / 3);
  } else {
    double b[4];
    bbox(c->p.treatment, b);
    d[0] = b[0], d[1] = b[2], d[2] = b[1] - b[0], d[3] = b[3] - b[2];
  }
  double nxr = fmax(1.0, round(1000.0 * d[2] / c->grid.dx_um));
  c->grid.dx_um = 1000.0 * d[2] / nxr;
  double need = mn_grid_bytes_estimate(&c->grid, c->p.skin, d[2], d[3], MN_NSPECIES + 3);
  long have = phys_bytes();
  if (have > 0 && need > 0.8 * (double)have)
    return MN_ERR(err, MN_ERANGE, "grid.dx_um",
                  "a %.1f x %.1f mm domain at grid.dx_um = %g needs about %.1f GB; this machine "
                  "has %.1f GB: raise grid.dx_um or simulate a smaller region",
                  d[2], d[3], c->grid.dx_um, need / 1e9, (double)have / 1e9);
  return MN_OK;
}

int mn__course_create_3d(mn_course *c, mn_error *err) {
  int rc = MN_OK, patch = c->p.mode == MN_COURSE_PATCH;
  double d[4];
  c->grid = *c->p.grid;
  if (patch) MN_TRY(patch_density(c, err));
  MN_TRY(domain(c, d, err));
  MN_TRY(mn_grid_create(&c->grid, c->p.skin, patch ? c->p.lesions : NULL,
                        patch ? c->p.n_lesions : 0, d[0], d[1], d[2], d[3], &c->g, err));
  MN_TRY(mn_solver_create(c->p.solver, c->g, c->p.model, c->p.fitzpatrick, c->p.skin->params.age_y,
                          &c->s, err));
  mn_solver_set_uv(c->s, c->uv);
cleanup:
  return rc;
}

/* Unit cell: the first channel at the centre; later sessions land at seeded random places in
 * the cell, as a new pass does relative to the last one (periodic wrap). */
static void unit_channel(const mn_course *c, int k, double *x, double *y) {
  double w = 1e-3 * c->g->dx_um * c->g->nx;
  *x = 0.5 * w, *y = 0.5 * w;
  if (k > 0) {
    mn_rng r;
    mn_rng_init(&r, c->p.seed, 0x73657373ULL + (uint64_t)k); /* "sess" + k */
    *x = w * mn_rng_uniform(&r), *y = w * mn_rng_uniform(&r);
  }
}

int mn__course_apply_session(mn_course *c, int k, mn_error *err) {
  int rc = MN_OK, unit = c->p.mode == MN_COURSE_UNIT_CELL, channels = 0, bleeding = 0;
  mn_puncture_set *set = NULL;
  double x = 0, y = 0;
  if (unit)
    unit_channel(c, k, &x, &y);
  else if (k == 0 && c->first)
    set = c->first, c->first = NULL;
  else
    MN_TRY(session_punctures(c, k, &set, err));
  for (int k0 = 0; k0 < c->g->nz && rc == MN_OK; k0 += INJURY_PLANES) {
    int k1 = k0 + INJURY_PLANES < c->g->nz ? k0 + INJURY_PLANES : c->g->nz;
    mn_injury inj;
    MN_TRY(mn_injury_init_planes(c->g, k0, k1, &inj, err));
    if (unit)
      mn_injury_add_channel(c->g, c->p.skin, c->p.dev, x, y, c->group[0].depth_um, c->p.supersample,
                            &inj);
    else
      rc = mn_injury_rasterize(c->g, c->p.skin, c->p.dev, set, c->p.lesions, c->p.n_lesions,
                               c->p.supersample, &inj, err);
    if (rc == MN_OK) mn_solver_apply_injury(c->s, &inj);
    channels = inj.channels, bleeding = inj.bleeding;
    mn_injury_fini(&inj);
  }
  if (rc == MN_OK)
    mn_log(MN_LOG_INFO, "session %d at day %g: %d channels (%d bleeding)", k + 1, c->session_day[k],
           channels, bleeding);
cleanup:
  mn_puncture_set_destroy(set);
  return rc;
}
