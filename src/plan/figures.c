/* The data behind report.html's computed figures, made before the report is written: the
 * puncture density map of one session of the first region's setting, and a virtual histology
 * cross-section of that setting from a short 3D unit-cell course. Stage: plan. */
#include <math.h>
#include <string.h>

#include "plan_impl.h"

/* The first region's passes on a 10 x 10 mm patch at the hand speed that gives the planner's
 * density per pass, and their density map (1 mm cells). */
static int density_map(const mn_plan *p, const mn_plan_request *req, const mn_device_catalogue *cat,
                       mn_plan_figures *f, mn_error *err) {
  int rc = MN_OK;
  const mn_plan_region *r = &p->region[0];
  size_t n;
  mn_device dev;
  mn_puncture_set *set = NULL;
  memset(&dev, 0, sizeof dev);
  MN_TRY(mn_device_init_at(&dev, cat, req->device, r->depth_mm, err));
  mn_treatment *t = &f->patch;
  memset(t, 0, sizeof *t);
  double pts[4][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
  memcpy(t->outline_mm, pts, sizeof pts);
  t->n_outline = 4;
  t->seed = req->seed;
  const mn_config_desc *ptab = mn_pass_param_table(&n);
  for (int i = 0; i < r->passes && i < MN_MAX_PASSES; i++) {
    mn_config_defaults(ptab, n, &t->passes[i]);
    t->passes[i].direction = i % 2 ? MN_DIR_VERTICAL : MN_DIR_HORIZONTAL;
    double d0 = mn_device_pass_density_cm2(&dev, &t->passes[i]);
    t->passes[i].speed_mm_per_s *= d0 / (r->density_cm2 / r->passes); /* density ~ 1 / speed */
  }
  t->n_passes = r->passes;
  MN_TRY(mn_device_punctures(&dev, t, &set, err));
  MN_TRY(mn_density_map_build(t, set, 1.0, &f->map, err));
cleanup:
  mn_puncture_set_destroy(set);
  mn_device_fini(&dev);
  return rc;
}

/* Copy field @p sp of the course's solver on the plane through the channel (j = ny / 2). */
static void take_plane(mn_course *c, int sp, double *out) {
  const mn_grid *g = mn_course_grid(c);
  const float *u = mn_solver_field_c(mn_course_solver(c), sp);
  int j = g->ny / 2;
  for (int k = 0; k < g->nz; k++)
    for (int i = 0; i < g->nx; i++)
      out[(size_t)k * (size_t)g->nx + (size_t)i] = u[mn_grid_at(g, i, j, k)];
}

/* Run course @p c through every event and step up to day @p t. */
static int run_to(mn_course *c, double t, mn_error *err) {
  int rc = MN_OK;
  for (;;) {
    MN_TRY(mn_course_events(c, err));
    if (mn_course_time(c) >= t - 1e-9 || mn_course_done(c)) break;
    MN_TRY(mn_course_step(c, t, NULL, err));
  }
cleanup:
  return rc;
}

/* The section's arrays for the course's grid. */
static int section_alloc(const mn_grid *g, mn_plan_section *s, mn_error *err) {
  s->nx = g->nx, s->nz = g->nz, s->dx_um = g->dx_um;
  s->zf_um = mn_malloc_array((size_t)g->nz + 1, sizeof *s->zf_um);
  s->layer = mn_malloc_array((size_t)g->nz, sizeof *s->layer);
  for (int q = 0; q < 2; q++)
    s->value[q] = mn_malloc_array((size_t)g->nx * (size_t)g->nz, sizeof *s->value[q]);
  if (!s->zf_um || !s->layer || !s->value[0] || !s->value[1])
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the histology section");
  memcpy(s->zf_um, g->zf_um, ((size_t)g->nz + 1) * sizeof *s->zf_um);
  for (int k = 0; k < g->nz; k++) s->layer[k] = g->cell[mn_grid_at(g, 0, g->ny / 2, k)];
  return MN_OK;
}

/* A 3D unit cell of the first region's setting at about 25 um: the damage at 0.05 day and the
 * neutrophils at day 1 on the plane through the channel. */
static int section(const mn_plan *p, const mn_plan_request *req, const mn_device_catalogue *cat,
                   const mn_param_set *ps, mn_plan_section *s, mn_error *err) {
  int rc = MN_OK;
  const mn_plan_region *r = &p->region[0];
  mn_device dev;
  mn_course *c = NULL;
  memset(&dev, 0, sizeof dev);
  MN_TRY(mn_device_init_at(&dev, cat, req->device, r->depth_mm, err));
  size_t n;
  mn_grid_params gp;
  mn_solver_params sp;
  const mn_config_desc *gt = mn_grid_param_table(&n);
  mn_config_defaults(gt, n, &gp);
  const mn_config_desc *st = mn_solver_param_table(&n);
  mn_config_defaults(st, n, &sp);
  double w = 10.0 / sqrt(r->density_cm2);
  gp.dx_um = 1000.0 * w / fmax(8, round(1000.0 * w / 25.0)); /* about 25 um, whole cells */
  sp.threads = req->threads;
  mn_course_params q;
  mn_course_params_default(&q);
  q.model = &ps->p, q.fitzpatrick = req->patient.fitzpatrick, q.skin = &r->skin, q.dev = &dev;
  q.density_cm2 = r->density_cm2, q.depth_mm = r->depth_mm, q.days = 1.0, q.sample_hours = 24;
  q.grid = &gp, q.solver = &sp, q.seed = req->seed;
  MN_TRY(mn_course_create(&q, &c, err));
  MN_TRY(section_alloc(mn_course_grid(c), s, err));
  s->t_day[0] = 0.05, s->t_day[1] = 1.0;
  s->label[0] = "damage D", s->label[1] = "neutrophils N";
  /* docs/model.md, "Species": d is a 0-1 fraction, N an excess over healthy in units Q */
  s->unit[0] = "D (0-1)", s->unit[1] = "N (Q)";
  MN_TRY(run_to(c, s->t_day[0], err));
  take_plane(c, MN_SP_D, s->value[0]);
  MN_TRY(run_to(c, s->t_day[1], err));
  take_plane(c, MN_SP_N, s->value[1]);
cleanup:
  mn_course_destroy(c);
  mn_device_fini(&dev);
  return rc;
}

int mn_plan_figures_make(const mn_plan *p, const mn_plan_request *req,
                         const mn_device_catalogue *cat, const mn_param_set *ps, int with_section,
                         mn_plan_figures *out, mn_error *err) {
  int rc = MN_OK;
  memset(out, 0, sizeof *out);
  MN_TRY(density_map(p, req, cat, out, err));
  if (with_section) {
    out->has_section = 1;
    MN_TRY(section(p, req, cat, ps, &out->section, err));
  }
cleanup:
  return rc;
}

void mn_plan_figures_fini(mn_plan_figures *f) {
  if (!f) return;
  mn_density_map_fini(&f->map);
  mn_free(f->section.zf_um);
  mn_free(f->section.layer);
  mn_free(f->section.value[0]);
  mn_free(f->section.value[1]);
  memset(f, 0, sizeof *f);
}
