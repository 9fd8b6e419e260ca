/* Numerical verification of the healing solver (research/models.md 6.3): Gaussian source with
 * decay against the analytic solution, exact mass conservation, observed orders in dx and dt,
 * symmetry of a centred puncture, the two-layer steady state, positivity, thread-count
 * independence, the vectorised reactions against the one-voxel kernel, and the reaction kernel
 * against the published well-mixed check. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnsim/mnsim.h"

/* A skin of four equal layers (um), so a grid with dz targets = h / n has uniform cells. */
static mn_skin layered_skin(double h[4]) {
  mn_skin s;
  memset(&s, 0, sizeof s);
  snprintf(s.region, sizeof s.region, "test");
  for (int l = 0; l < MN_LAYER_HYPO; l++) {
    s.thickness_um[l] = h[l];
    s.top_um[l + 1] = s.top_um[l] + h[l];
  }
  return s;
}

static mn_grid *box_grid(double w_mm, double dx, double depth, double dz, int bc, int bottom) {
  double h[4] = {depth / 4, depth / 4, depth / 4, depth / 4};
  mn_skin s = layered_skin(h);
  mn_grid_params p = {.dx_um = dx,
                      .dz_epi_um = dz,
                      .dz_pd_um = dz,
                      .dz_rd_um = dz,
                      .lateral_bc = bc,
                      .bottom_bc = bottom};
  mn_grid *g;
  mn_error e = {0};
  cr_assert_eq(mn_grid_create(&p, &s, NULL, 0, 0, 0, w_mm, w_mm, &g, &e), MN_OK, "%s", e.msg);
  return g;
}

static double *work_for(const mn_grid *g, int threads) {
  return mn_malloc_array(mn_diffusion_work(g) * ((size_t)threads + 1), sizeof(double));
}

/* ---- Gaussian source with decay ----------------------------------------------------------- */
Test(verify, gaussian_with_decay_matches_analytic) {
  /* u(r, t) = (4 pi D (t + t0))^(-3/2) exp(-r^2 / (4 D (t + t0)) - lambda t): a Gaussian started
   * at width sqrt(2 D t0) in the middle of a box far larger than it */
  double D = 0.86, lambda = 5, t0 = 0.002, T = 0.01, dt = 2.5e-5;
  double errs[2];
  for (int r = 0; r < 2; r++) {
    double dx = r ? 15 : 30;
    mn_grid *g = box_grid(1.2, dx, 1200, dx, MN_BC_ZERO_FLUX, MN_BOTTOM_ZERO_FLUX);
    double *u = mn_grid_field(g), *w = work_for(g, 1), Dl[4] = {D, D, D, D};
    double c = 600, s2 = 4 * D * 1e6 * t0; /* um2 */
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          double x = (i + 0.5) * dx - c, y = (j + 0.5) * dx - c, z = g->zc_um[k] - c;
          u[mn_grid_at(g, i, j, k)] = exp(-(x * x + y * y + z * z) / s2);
        }
    int n = (int)lround(T / dt);
    for (int q = 0; q < n; q++) mn_diffusion_lod(g, u, Dl, lambda, dt, w, 1);
    double num = 0, den = 0, s2T = 4 * D * 1e6 * (t0 + T);
    double amp = pow(t0 / (t0 + T), 1.5) * exp(-lambda * T);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          double x = (i + 0.5) * dx - c, y = (j + 0.5) * dx - c, z = g->zc_um[k] - c;
          double ex = amp * exp(-(x * x + y * y + z * z) / s2T), d = u[mn_grid_at(g, i, j, k)] - ex;
          num += d * d, den += ex * ex;
        }
    errs[r] = sqrt(num / den);
    mn_free(u);
    mn_free(w);
    mn_grid_destroy(g);
  }
  printf("gaussian: relative L2 error %.4f (dx 30 um), %.4f (dx 15 um)\n", errs[0], errs[1]);
  cr_assert_lt(errs[1], 0.02);
  cr_assert_lt(errs[1], errs[0]);
}

/* ---- mass ---------------------------------------------------------------------------------- */
static void random_fill(const mn_grid *g, double *u, unsigned seed) {
  mn_rng r;
  mn_rng_init(&r, seed, 0);
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) u[mn_grid_at(g, i, j, k)] = mn_rng_uniform(&r);
}

/* Cheek skin with a boxcar scar 0.4 mm wide, 0.2 mm deep at (0.3, 0.3) mm, on a 0.6 mm x h grid. */
static mn_grid *scar_grid(double dx, int bc, double h_mm) {
  mn_skin_atlas *a;
  mn_error e = {0};
  cr_assert_eq(mn_skin_atlas_create(&a, &e), MN_OK);
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = 3};
  mn_skin sk;
  cr_assert_eq(mn_skin_build(a, &sp, &sk, &e), MN_OK);
  mn_skin_atlas_destroy(a);
  mn_lesion les = {
      .type = MN_LESION_BOXCAR, .x_mm = 0.3, .y_mm = 0.3, .width_mm = 0.4, .depth_mm = 0.2};
  mn_grid_params gp = {
      .dx_um = dx, .dz_epi_um = 10, .dz_pd_um = 20, .dz_rd_um = 40, .lateral_bc = bc};
  mn_grid *g;
  cr_assert_eq(mn_grid_create(&gp, &sk, &les, 1, 0, 0, 0.6, h_mm, &g, &e), MN_OK, "%s", e.msg);
  return g;
}

Test(verify, mass_is_conserved_without_decay) {
  for (int bc = 0; bc < 2; bc++) {
    mn_grid *g = scar_grid(20, bc, 0.5);
    cr_assert(!g->uniform, "the lesion makes the layer map 3D");
    double *u = mn_grid_field(g), *w = work_for(g, 2);
    random_fill(g, u, 3);
    /* layered diffusivities, one layer immobile, so interfaces and non-uniform dz are tested */
    double Dl[4] = {0, 0.2, 0.86, 3.0};
    double m0 = mn_field_mass(g, u);
    for (int q = 0; q < 50; q++) mn_diffusion_lod(g, u, Dl, 0, 0.01, w, 2);
    double drift = fabs(mn_field_mass(g, u) / m0 - 1);
    printf("mass drift after 50 steps (%s): %.2e\n", bc ? "zero flux" : "periodic", drift);
    cr_assert_lt(drift, 1e-12);
    mn_free(u);
    mn_free(w);
    mn_grid_destroy(g);
  }
}

Test(verify, decay_split_gives_the_exact_mass_factor) {
  /* BioFVM's scheme: each of the three sweeps divides the total by (1 + dt lambda / 3) */
  mn_grid *g = box_grid(0.4, 20, 400, 20, MN_BC_ZERO_FLUX, MN_BOTTOM_ZERO_FLUX);
  double *u = mn_grid_field(g), *w = work_for(g, 1), Dl[4] = {0.7, 0.7, 0.7, 0.7};
  random_fill(g, u, 9);
  double m0 = mn_field_mass(g, u), dt = 0.1 / 1440, lambda = 0.1 * 1440;
  int n = 20;
  for (int q = 0; q < n; q++) mn_diffusion_lod(g, u, Dl, lambda, dt, w, 1);
  double expect = pow(1 + dt * lambda / 3, -3.0 * n);
  cr_assert_float_eq(mn_field_mass(g, u) / m0 / expect, 1.0, 1e-12);
  mn_free(u);
  mn_free(w);
  mn_grid_destroy(g);
}

/* ---- spatial order ----------------------------------------------------------------------- */
/* Decay of a cosine mode along one axis; the time error is removed by a small step and the
 * remaining error is the spatial one, O(dx^2). */
static double mode_error(int axis, int n) {
  double L = 1.0, D = 0.86, T = 0.005, dt = 2e-7, dx = 1000.0 * L / n;
  mn_grid *g;
  mn_error e = {0};
  if (axis < 2) { /* n cells along the axis, 3 across, 4 deep */
    double h[4] = {dx, dx, dx, dx};
    mn_skin s = layered_skin(h);
    mn_grid_params p = {
        .dx_um = dx, .dz_epi_um = dx, .dz_pd_um = dx, .dz_rd_um = dx, .lateral_bc = MN_BC_PERIODIC};
    double thin = 3 * dx / 1000;
    cr_assert_eq(
        mn_grid_create(&p, &s, NULL, 0, 0, 0, axis == 0 ? L : thin, axis == 1 ? L : thin, &g, &e),
        MN_OK, "%s", e.msg);
  } else { /* 3 x 3 columns, n cells deep */
    double h[4] = {250 * L, 250 * L, 250 * L, 250 * L};
    mn_skin s = layered_skin(h);
    mn_grid_params p = {
        .dx_um = 20, .dz_epi_um = dx, .dz_pd_um = dx, .dz_rd_um = dx, .lateral_bc = MN_BC_PERIODIC};
    cr_assert_eq(mn_grid_create(&p, &s, NULL, 0, 0, 0, 0.06, 0.06, &g, &e), MN_OK, "%s", e.msg);
  }
  double *u = mn_grid_field(g), *w = work_for(g, 1), Dl[4] = {D, D, D, D};
  double kx = axis == 2 ? M_PI / (1000 * L) : 2 * M_PI / (1000 * L); /* 1/um */
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        double x = axis == 0 ? (i + 0.5) * dx : axis == 1 ? (j + 0.5) * dx : g->zc_um[k];
        u[mn_grid_at(g, i, j, k)] = cos(kx * x);
      }
  int steps = (int)lround(T / dt);
  for (int q = 0; q < steps; q++) mn_diffusion_lod(g, u, Dl, 0, dt, w, 1);
  double decay = exp(-D * 1e6 * kx * kx * T), err = 0;
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        double x = axis == 0 ? (i + 0.5) * dx : axis == 1 ? (j + 0.5) * dx : g->zc_um[k];
        err = fmax(err, fabs(u[mn_grid_at(g, i, j, k)] - decay * cos(kx * x)));
      }
  mn_free(u);
  mn_free(w);
  mn_grid_destroy(g);
  return err;
}

Test(verify, observed_order_in_dx_is_two) {
  const char *names[3] = {"x", "y", "z"};
  for (int axis = 0; axis < 3; axis++) {
    double e1 = mode_error(axis, 16), e2 = mode_error(axis, 32);
    double order = log2(e1 / e2);
    printf("dx order along %s: errors %.3e, %.3e -> %.3f\n", names[axis], e1, e2, order);
    cr_assert(order > 1.85 && order < 2.15, "order %.3f along %s", order, names[axis]);
  }
}

/* ---- two-layer steady state ----------------------------------------------------------------- */
Test(verify, two_layer_steady_state_matches_piecewise_exponentials) {
  /* -D(z) u'' + lambda u = S (top layer only), zero flux at the surface, u = 0 at the bottom
   * (baseline boundary): u = S/lambda + A cosh(z/L1) above h1, B sinh((H - z)/L2) below. */
  double D1 = 0.2, D2 = 1.5, lambda = 20, S = 1.0, H = 800, h1 = 400, dz = 5;
  double h[4] = {200, 200, 200, 200};
  mn_skin s = layered_skin(h);
  mn_grid_params p = {.dx_um = 20,
                      .dz_epi_um = dz,
                      .dz_pd_um = dz,
                      .dz_rd_um = dz,
                      .lateral_bc = MN_BC_PERIODIC,
                      .bottom_bc = MN_BOTTOM_BASELINE};
  mn_grid *g;
  mn_error e = {0};
  cr_assert_eq(mn_grid_create(&p, &s, NULL, 0, 0, 0, 0.06, 0.06, &g, &e), MN_OK);
  double *u = mn_grid_field(g), *w = work_for(g, 1), Dl[4] = {D1, D1, D2, D2};
  /* source then implicit diffusion-decay: the steady state of this splitting satisfies the
   * discrete equation up to the O(dt lambda) split of the decay over the three sweeps */
  double dt = 2e-5;
  for (int q = 0; q < 150000; q++) {
    for (int k = 0; k < g->nz; k++)
      if (g->zc_um[k] < h1)
        for (int j = 0; j < g->ny; j++)
          for (int i = 0; i < g->nx; i++) u[mn_grid_at(g, i, j, k)] += dt * S;
    mn_diffusion_lod(g, u, Dl, lambda, dt, w, 1);
  }
  double L1 = 1000 * sqrt(D1 / lambda), L2 = 1000 * sqrt(D2 / lambda); /* um */
  /* continuity of value and flux at h1 */
  double a11 = cosh(h1 / L1), a12 = -sinh((H - h1) / L2), b1 = -S / lambda;
  double a21 = D1 * sinh(h1 / L1) / L1, a22 = D2 * cosh((H - h1) / L2) / L2, b2 = 0;
  double det = a11 * a22 - a12 * a21;
  double A = (b1 * a22 - a12 * b2) / det, B = (a11 * b2 - a21 * b1) / det;
  double err = 0, umax = 0;
  for (int k = 0; k < g->nz; k++) {
    double z = g->zc_um[k];
    double ex = z < h1 ? S / lambda + A * cosh(z / L1) : B * sinh((H - z) / L2);
    err = fmax(err, fabs(u[mn_grid_at(g, 1, 1, k)] - ex));
    umax = fmax(umax, ex);
  }
  printf("two-layer steady state: max error %.2e of max %.4f\n", err, umax);
  cr_assert_lt(err / umax, 5e-3);
  mn_free(u);
  mn_free(w);
  mn_grid_destroy(g);
}

/* ---- the model on a unit cell ------------------------------------------------------------- */
typedef struct cell_run {
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_skin skin;
  mn_device dev;
  mn_grid *g;
  mn_solver *s;
  mn_param_set ps;
} cell_run;

/* defaults: the shipped solver settings (solver table), with rel_tol if it is > 0 */
static void cell_setup_tol(cell_run *r, double width_mm, double dx, int threads, int fixed,
                           double dt, int defaults, double rel_tol, double max_step) {
  mn_error e = {0};
  memset(r, 0, sizeof *r);
  cr_assert_eq(mn_skin_atlas_create(&r->atlas, &e), MN_OK);
  cr_assert_eq(mn_device_catalogue_create(&r->cat, &e), MN_OK);
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = 3};
  cr_assert_eq(mn_skin_build(r->atlas, &sp, &r->skin, &e), MN_OK);
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.0};
  cr_assert_eq(mn_device_init(&r->dev, r->cat, &dp, &e), MN_OK);
  mn_grid_params gp = {
      .dx_um = dx, .dz_epi_um = 10, .dz_pd_um = 20, .dz_rd_um = 40, .lateral_bc = MN_BC_PERIODIC};
  cr_assert_eq(mn_grid_create(&gp, &r->skin, NULL, 0, 0, 0, width_mm, width_mm, &r->g, &e), MN_OK);
  cr_assert_eq(mn_param_set_load_default(&r->ps, &e), MN_OK, "%s", e.msg);
  mn_solver_params so = {.min_step_day = 1e-5,
                         .max_step_day = 1,
                         .first_step_day = dt,
                         .rel_tol = rel_tol,
                         .abs_tol = 1e-3,
                         .freeze_tol = 1e-7,
                         .fixed_step = fixed,
                         .threads = threads};
  if (defaults) {
    size_t n;
    const mn_config_desc *tab = mn_solver_param_table(&n);
    mn_config_defaults(tab, n, &so);
    so.threads = threads;
    if (rel_tol > 0) so.rel_tol = rel_tol;
    if (max_step > 0) so.max_step_day = max_step;
  }
  cr_assert_eq(mn_solver_create(&so, r->g, &r->ps.p, 3, 40, &r->s, &e), MN_OK, "%s", e.msg);
  mn_injury inj;
  cr_assert_eq(mn_injury_init(r->g, &inj, &e), MN_OK);
  mn_injury_add_channel(r->g, &r->skin, &r->dev, 0.5 * width_mm, 0.5 * width_mm, 900, 4, &inj);
  mn_solver_apply_injury(r->s, &inj);
  mn_injury_fini(&inj);
}

static void cell_setup(cell_run *r, double width_mm, double dx, int threads, int fixed, double dt) {
  cell_setup_tol(r, width_mm, dx, threads, fixed, dt, 0, 0.01, 0);
}

static void cell_fini(cell_run *r) {
  mn_solver_destroy(r->s);
  mn_grid_destroy(r->g);
  mn_device_fini(&r->dev);
  mn_device_catalogue_destroy(r->cat);
  mn_skin_atlas_destroy(r->atlas);
}

static void run_until(cell_run *r, double t) {
  mn_error e = {0};
  while (mn_solver_time(r->s) < t - 1e-12)
    cr_assert_eq(mn_solver_step(r->s, t, NULL, &e), MN_OK, "%s", e.msg);
}

Test(verify, centred_puncture_is_symmetric_and_positive) {
  cell_run r;
  cell_setup(&r, 0.4, 20, 1, 0, 1e-3);
  run_until(&r, 1.5);
  const mn_grid *g = r.g;
  double worst = 0, scale = 0;
  for (int q = 0; q < MN_NSPECIES; q++) {
    const float *u = mn_solver_field_c(r.s, q);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          double v = u[mn_grid_at(g, i, j, k)];
          cr_assert_geq(v, 0.0, "%s negative at (%d,%d,%d)", mn_species_name(q), i, j, k);
          scale = fmax(scale, fabs(v));
          double mx = u[mn_grid_at(g, g->nx - 1 - i, j, k)],
                 my = u[mn_grid_at(g, i, g->ny - 1 - j, k)];
          double tr = u[mn_grid_at(g, j, i, k)];
          worst = fmax(worst, fmax(fabs(v - mx), fmax(fabs(v - my), fabs(v - tr))));
        }
  }
  printf("symmetry: largest asymmetry %.2e of values up to %.3f\n", worst, scale);
  cr_assert_lt(worst, 1e-10 * scale);
  cell_fini(&r);
}

Test(verify, one_and_two_threads_give_identical_fields) {
  cell_run a, b;
  cell_setup(&a, 0.3, 20, 1, 0, 1e-3);
  cell_setup(&b, 0.3, 20, 2, 0, 1e-3);
  run_until(&a, 2.0);
  run_until(&b, 2.0);
  cr_assert_eq(mn_solver_steps(a.s), mn_solver_steps(b.s));
  for (int q = 0; q < MN_NSPECIES; q++)
    cr_assert(
        !memcmp(mn_solver_field_c(a.s, q), mn_solver_field_c(b.s, q), a.g->ncell * sizeof(float)),
        "species %s differs", mn_species_name(q));
  double ma[MN_LAYER_HYPO][MN_NSPECIES], mb[MN_LAYER_HYPO][MN_NSPECIES];
  mn_solver_layer_means(a.s, ma);
  mn_solver_layer_means(b.s, mb);
  cr_assert(!memcmp(ma, mb, sizeof ma));
  cell_fini(&a);
  cell_fini(&b);
}

/* A session injured a window of planes at a time (how mnsim simulate keeps the damage fields
 * small) gives every cell the same value as one pass over the grid: channels across the periodic
 * edge, one shallow (no bleeding) and deep ones (bleeding), windows of 1, 5 and 7 planes. */
/* A step that ends where the caller stops adds the layer sums in its last reaction pass; they
 * must be the separate pass's, bit for bit (each voxel's value in the same order), at several
 * stops in the first days after a puncture, on 2 threads. */
Test(verify, layer_means_added_by_the_reactions_match_a_pass_over_the_fields) {
  cell_run r;
  cell_setup(&r, 0.3, 20, 2, 0, 1e-3);
  const double stops[] = {0.01, 0.05, 0.3, 2.0};
  mn_error e = {0};
  for (int n = 0; n < 4; n++) {
    mn_step_info info = {0};
    while (mn_solver_time(r.s) < stops[n] - 1e-12) {
      cr_assert_eq(mn_solver_step(r.s, stops[n], &info, &e), MN_OK, "%s", e.msg);
      cr_assert_eq(info.sums, !(mn_solver_time(r.s) < stops[n] - 1e-12)); /* the last one */
    }
    double fused[MN_LAYER_HYPO][MN_NSPECIES], pass[MN_LAYER_HYPO][MN_NSPECIES];
    mn_solver_layer_means(r.s, fused);
    (void)mn_solver_field(r.s, MN_SP_D); /* a writer's access: the next call makes its own pass */
    mn_solver_layer_means(r.s, pass);
    for (int l = 0; l < MN_LAYER_HYPO; l++)
      for (int q = 0; q < MN_NSPECIES; q++)
        cr_assert(fused[l][q] == pass[l][q], "day %g, layer %d, %s: %.17g vs %.17g", stops[n], l,
                  mn_species_name(q), fused[l][q], pass[l][q]);
    cr_assert_gt(pass[MN_LAYER_PD][MN_SP_P], 0);
  }
  cell_fini(&r);
}

Test(verify, injury_by_windows_of_planes_matches_the_whole_grid) {
  const double xy[][3] = {
      {0.31, 0.29, 900}, {0.02, 0.58, 1000}, {0.59, 0.01, 200}, {0.3, 0.05, 600}};
  const int nch = (int)(sizeof xy / sizeof xy[0]), win[] = {1, 5, 7};
  mn_error e = {0};
  cell_run a;
  cell_setup(&a, 0.6, 20, 1, 0, 1e-3);
  mn_injury whole;
  cr_assert_eq(mn_injury_init(a.g, &whole, &e), MN_OK);
  for (int c = 0; c < nch; c++)
    mn_injury_add_channel(a.g, &a.skin, &a.dev, xy[c][0], xy[c][1], xy[c][2], 4, &whole);
  cr_assert_eq(whole.channels, nch);
  cr_assert_gt(whole.bleeding, 0);
  cr_assert_lt(whole.bleeding, nch);
  mn_solver_apply_injury(a.s, &whole);
  cr_assert(a.g->nz % 5 && a.g->nz % 7, "nz %d: the last windows should be partial ones", a.g->nz);
  for (size_t w = 0; w < sizeof win / sizeof win[0]; w++) {
    cell_run b;
    cell_setup(&b, 0.6, 20, 1, 0, 1e-3);
    double vol = 0;
    for (int k0 = 0; k0 < b.g->nz; k0 += win[w]) {
      mn_injury inj;
      int k1 = k0 + win[w] < b.g->nz ? k0 + win[w] : b.g->nz;
      cr_assert_eq(mn_injury_init_planes(b.g, k0, k1, &inj, &e), MN_OK);
      for (int c = 0; c < nch; c++)
        mn_injury_add_channel(b.g, &b.skin, &b.dev, xy[c][0], xy[c][1], xy[c][2], 4, &inj);
      cr_assert_eq(inj.channels, whole.channels);
      cr_assert_eq(inj.bleeding, whole.bleeding);
      for (int k = k0; k < k1; k++)
        for (int j = 0; j < b.g->ny; j++)
          for (int i = 0; i < b.g->nx; i++) {
            size_t c = mn_grid_at(b.g, i, j, k);
            cr_assert_eq(mn_injury_at(inj.d_inj, &inj, c), mn_injury_at(whole.d_inj, &whole, c));
            cr_assert_eq(mn_injury_at(inj.d_bleed, &inj, c),
                         mn_injury_at(whole.d_bleed, &whole, c));
          }
      vol += inj.volume_um3;
      mn_solver_apply_injury(b.s, &inj);
      mn_injury_fini(&inj);
    }
    cr_assert_float_eq(vol, whole.volume_um3, 1e-12 * whole.volume_um3);
    for (int q = 0; q < MN_NSPECIES; q++)
      cr_assert(
          !memcmp(mn_solver_field_c(a.s, q), mn_solver_field_c(b.s, q), a.g->ncell * sizeof(float)),
          "species %s differs (windows of %d planes)", mn_species_name(q), win[w]);
    cell_fini(&b);
  }
  mn_injury bad;
  cr_assert_eq(mn_injury_init_planes(a.g, 2, a.g->nz + 1, &bad, &e), MN_ERANGE);
  cr_assert_eq(mn_injury_init_planes(a.g, 3, 3, &bad, &e), MN_ERANGE);
  mn_injury_fini(&whole);
  cell_fini(&a);
}

Test(verify, observed_order_in_dt_is_one) {
  /* fixed steps dt, dt/2, dt/4 against dt/32 over the first 0.25 day after an injury */
  double T = 0.25, dts[4] = {0.01, 0.005, 0.0025, 0.01 / 32}, err[3];
  const float *ref = NULL;
  const mn_grid *g = NULL;
  cell_run runs[4];
  for (int r = 3; r >= 0; r--) {
    cell_setup(&runs[r], 0.2, 20, 1, 1, dts[r]);
    run_until(&runs[r], T);
  }
  g = runs[3].g;
  ref = mn_solver_field_c(runs[3].s, MN_SP_N);
  for (int r = 0; r < 3; r++) {
    const float *u = mn_solver_field_c(runs[r].s, MN_SP_N);
    double e2 = 0, n2 = 0;
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          double d = (double)u[c] - ref[c];
          e2 += d * d, n2 += (double)ref[c] * ref[c];
        }
    err[r] = sqrt(e2 / n2);
  }
  double o1 = log2(err[0] / err[1]), o2 = log2(err[1] / err[2]);
  printf("dt order (neutrophils): errors %.3e %.3e %.3e -> %.3f, %.3f\n", err[0], err[1], err[2],
         o1, o2);
  /* against the dt/32 run, not the exact solution: a first-order error C (dt - dt/32) gives
   * log2(31/15) = 1.05 and log2(15/7) = 1.10 before higher-order terms (measured 1.16, 1.22) */
  cr_assert(o1 > 0.85 && o1 < 1.3, "observed order %.3f (dt %g -> %g)", o1, dts[0], dts[1]);
  cr_assert(o2 > 0.85 && o2 < 1.3, "observed order %.3f (dt %g -> %g)", o2, dts[1], dts[2]);
  for (int r = 0; r < 4; r++) cell_fini(&runs[r]);
}

/* The shipped step tolerance against one 16 times tighter, 180 days after a puncture at 0.9 mm
 * in a 0.2 mm cell, every other solver setting the shipped one: what the outcomes read (the redness
 * index's integral and its last day above the visibility threshold, the epidermal melanogenic peak,
 * the papillary and reticular collagen gain, the elastin change) must agree within 1 % (0.05 day,
 * 0.5 %), and the tight run must take more than twice the steps (the tolerance is what sets them).
 * Measured (docs/model.md "Step control"): at rel_tol 0.04 against 0.0025, 491 against 1520 steps,
 * redness integral -0.42 %, last visible day -0.006, Mel peak -0.09 %, collagen gain +0.54 %
 * (papillary) and +0.33 % (reticular), elastin change -0.02 %; at 0.01 the collagen gain +0.10 %,
 * at 0.08 +1.2 % (which fails). */
typedef struct tol_outcome {
  double r_int, r_last, mel_peak, c1_pd, c1_rd, e_pd;
  long steps;
} tol_outcome;

static tol_outcome tol_run(double rel_tol, double max_step) {
  cell_run r;
  cell_setup_tol(&r, 0.2, 20, 1, 0, 2.0 / 1440, 1, rel_tol, max_step); /* all else shipped */
  tol_outcome o = {0};
  const double thr = r.ps.p.V_vis * r.ps.p.s_vis[2];
  mn_error e = {0};
  mn_step_info info;
  while (mn_solver_time(r.s) < 180 - 1e-9) {
    cr_assert_eq(mn_solver_step(r.s, 180, &info, &e), MN_OK, "%s", e.msg);
    double m[MN_LAYER_HYPO][MN_NSPECIES];
    mn_solver_layer_means(r.s, m);
    o.r_int += info.dt_day * m[MN_LAYER_PD][MN_SP_V];
    if (m[MN_LAYER_PD][MN_SP_V] > thr) o.r_last = info.t_day;
    o.mel_peak = fmax(o.mel_peak, m[MN_LAYER_VE][MN_SP_MEL]);
    o.c1_pd = m[MN_LAYER_PD][MN_SP_C1], o.c1_rd = m[MN_LAYER_RD][MN_SP_C1];
    o.e_pd = m[MN_LAYER_PD][MN_SP_E];
    o.steps++;
  }
  cell_fini(&r);
  return o;
}

/* Outcomes @p a within the limits of reference @p b: the redness integral 1 %, its last day
 * 0.05 day (outcomes report a tenth of a day), the Mel peak and the elastin change 0.5 %, the
 * papillary and reticular collagen gains @p collagen (relative). */
static void assert_near(const tol_outcome *a, const tol_outcome *b, double collagen) {
  cr_assert_lt(fabs(a->r_int / b->r_int - 1), 0.01);
  cr_assert_lt(fabs(a->r_last - b->r_last), 0.05);
  cr_assert_lt(fabs(a->mel_peak / b->mel_peak - 1), 0.005);
  cr_assert_lt(fabs((a->c1_pd - 1) / (b->c1_pd - 1) - 1), collagen);
  cr_assert_lt(fabs((a->c1_rd - 1) / (b->c1_rd - 1) - 1), collagen);
  cr_assert_lt(fabs((a->e_pd - 1) / (b->e_pd - 1) - 1), 0.005);
}

/* The shipped solver settings. */
static mn_solver_params shipped_solver(void) {
  size_t n;
  mn_solver_params so;
  const mn_config_desc *tab = mn_solver_param_table(&n);
  mn_config_defaults(tab, n, &so);
  return so;
}

Test(verify, the_default_step_tolerance_keeps_the_outcomes_of_a_16x_tighter_one) {
  mn_solver_params so = shipped_solver();
  tol_outcome a = tol_run(0, 0), b = tol_run(so.rel_tol / 16, 0);
  printf(
      "step tolerance %g vs %g: %ld vs %ld steps; redness integral %.5f vs %.5f, last visible "
      "day %.4f vs %.4f, Mel peak %.6f vs %.6f, collagen gain PD %.6f vs %.6f, RD %.6f vs "
      "%.6f, elastin change %.6f vs %.6f\n",
      so.rel_tol, so.rel_tol / 16, a.steps, b.steps, a.r_int, b.r_int, a.r_last, b.r_last,
      a.mel_peak, b.mel_peak, a.c1_pd - 1, b.c1_pd - 1, a.c1_rd - 1, b.c1_rd - 1, a.e_pd - 1,
      b.e_pd - 1);
  cr_assert_gt(b.steps, 2 * a.steps);
  assert_near(&a, &b, 0.01);
}

/* The tolerance alone does not say how far the shipped run is from the solution: the splitting
 * and the implicit diffusion are first order in dt (observed_order_in_dt_is_one) and the step
 * control estimates the reactions' error only, so in the slow months after a session the steps
 * run at max_step_day (1 day) and the matrix's error builds up there. Against a run with a 16
 * times tighter tolerance and 16 times shorter largest steps (the same cell and outcomes as
 * above), the shipped settings must stay within 2.5 % of the collagen gain and 1 % (0.05 day,
 * 0.5 %) of the rest. Measured (docs/model.md "Step control"): 491 against 3991 steps, collagen
 * gain +1.45 % (papillary) and +1.05 % (reticular), redness integral -0.40 %, last visible day
 * -0.006, Mel peak -0.09 %, elastin change +0.05 %; with a 64 times tighter tolerance and 64
 * times shorter steps the reference moves by a sixth of that (taken as first order: the shipped
 * gain lies about 1.8 % above the converged value). With max_step_day 4 the papillary gain is
 * +2.6 % (which fails), with 2 +1.9 %. */
Test(verify, the_shipped_step_control_stays_near_a_converged_run) {
  mn_solver_params so = shipped_solver();
  tol_outcome a = tol_run(0, 0), c = tol_run(so.rel_tol / 16, so.max_step_day / 16);
  printf(
      "shipped vs converged (rel_tol %g, max_step_day %g): %ld vs %ld steps; redness integral "
      "%+.2f %%, last visible day %+.4f, Mel peak %+.2f %%, collagen gain PD %+.2f %%, RD %+.2f "
      "%%, elastin change %+.2f %%\n",
      so.rel_tol / 16, so.max_step_day / 16, a.steps, c.steps, 100 * (a.r_int / c.r_int - 1),
      a.r_last - c.r_last, 100 * (a.mel_peak / c.mel_peak - 1),
      100 * ((a.c1_pd - 1) / (c.c1_pd - 1) - 1), 100 * ((a.c1_rd - 1) / (c.c1_rd - 1) - 1),
      100 * ((a.e_pd - 1) / (c.e_pd - 1) - 1));
  assert_near(&a, &c, 0.025);
}

/* ---- reaction kernel against research/models.md Appendix A ---------------------------------- */
Test(verify, reaction_kernel_reproduces_the_published_well_mixed_check) {
  /* one well-mixed papillary neighbourhood, d = 0.3 and a TGF-beta bolus of 5 at t = 0:
   * models.md 7.7 reports redness (V > 0.5) ending near day 2.1 and a neutrophil peak of 0.87 at
   * 1.1 days. The inflammatory block of model v2 is the appendix's, so these hold with its
   * values; the matrix block is v2's: total collagen (C1 + C3) rises for months and peaks
   * between days 120 and 270 (the synthetic fibroblast tail), not at a month */
  mn_param_set ps;
  mn_error e = {0};
  cr_assert_eq(mn_param_set_load_prior(&ps, &e), MN_OK);
  ps.p.k_P = log(2) * 24; /* the script's exact values */
  ps.p.a_d = 250;
  mn_reaction_coef c;
  mn_reaction_coef_init(&c, &ps.p, MN_LAYER_PD, 3, 40);
  mn_reaction_env env = {1, 0, 1};
  double u[MN_NSPECIES] = {0};
  u[MN_SP_D] = 0.3, u[MN_SP_T] = 5, u[MN_SP_C1] = 1, u[MN_SP_E] = 1;
  double t = 0, red = 0, npk = 0, tnpk = 0, cmax = 0, tc = 0, c30 = 0;
  while (t < 365) {
    double h = t < 20 ? 0.0005 : 0.01;
    mn_reaction_step(&ps.p, &c, u, &env, h, NULL);
    t += h;
    for (int s = 0; s < MN_NSPECIES; s++) cr_assert(u[s] >= 0, "%s < 0", mn_species_name(s));
    if (u[MN_SP_V] > 0.5) red = t;
    if (u[MN_SP_N] > npk) npk = u[MN_SP_N], tnpk = t;
    double cc = u[MN_SP_C1] + u[MN_SP_C3];
    if (cc > cmax) cmax = cc, tc = t;
    if (t <= 30) c30 = cc;
  }
  printf(
      "kernel: redness ends %.2f d, N peak %.2f at %.2f d, C peak %+.1f %% at day %.0f (30 d "
      "%+.1f %%)\n",
      red, npk, tnpk, 100 * (cmax - 1), tc, 100 * (c30 - 1));
  cr_assert_float_eq(red, 2.1, 0.1);
  cr_assert_float_eq(npk, 0.87, 0.03);
  cr_assert_float_eq(tnpk, 1.1, 0.1);
  cr_assert(tc > 120 && tc < 270, "collagen peak at day %.0f", tc);
  cr_assert(c30 - 1 < 0.8 * (cmax - 1), "a month reaches less than 80 %% of the gain");
}

/* ---- the solver's vectorised reactions against the one-voxel kernel ------------------------- */

/* The papillary column means of each column, as the solver's columns() forms them (the same sums
 * in the same order): dz-weighted means of F + S and C1 + C3 over the column's papillary cells. */
static void column_means(const mn_grid *g, const double *const *u, double *fs, double *cc) {
  for (int j = 0; j < g->ny; j++)
    for (int i = 0; i < g->nx; i++) {
      double w = 0, a = 0, b = 0;
      for (int k = 0; k < g->nz; k++) {
        size_t c = mn_grid_at(g, i, j, k);
        if (g->cell[c] != MN_LAYER_PD) continue;
        w += g->dz_um[k];
        a += g->dz_um[k] * (u[MN_SP_F][c] + u[MN_SP_S][c]);
        b += g->dz_um[k] * (u[MN_SP_C1][c] + u[MN_SP_C3][c]);
      }
      fs[(size_t)j * g->nx + i] = w > 0 ? a / w : 0;
      cc[(size_t)j * g->nx + i] = w > 0 ? b / w : 1;
    }
}

/* One solver step with every diffusivity 0 is two reaction half-steps, which the solver takes in
 * runs of up to MN_REACTION_LANES voxels of one layer as vectors (the clone the CPU picks): every
 * cell must get the numbers of two calls of the one-voxel kernel, bit for bit. Random states
 * (some exactly 0, the other arm of the kernel's select), sun on, on @p g. */
static void lanes_match_scalar(mn_grid *g, unsigned seed) {
  mn_error e = {0};
  mn_param_set ps;
  cr_assert_eq(mn_param_set_load_default(&ps, &e), MN_OK, "%s", e.msg);
  ps.p.D_P = ps.p.D_T = ps.p.D_N = ps.p.D_M = ps.p.D_F = 0;
  const double dt = 0.01, uv_dose = 4.5;
  mn_solver_params so = {.min_step_day = 1e-5,
                         .max_step_day = 1,
                         .first_step_day = dt,
                         .rel_tol = 0.01,
                         .abs_tol = 1e-3,
                         .freeze_tol = 1e-7,
                         .fixed_step = 1,
                         .threads = 1};
  mn_solver *s;
  cr_assert_eq(mn_solver_create(&so, g, &ps.p, 3, 40, &s, &e), MN_OK, "%s", e.msg);
  mn_solver_set_uv(s, uv_dose);
  mn_reaction_coef lc[MN_LAYER_HYPO];
  for (int l = 0; l < MN_LAYER_HYPO; l++) mn_reaction_coef_init(&lc[l], &ps.p, l, 3, 40);
  double *ref[MN_NSPECIES];
  mn_rng r;
  mn_rng_init(&r, seed, 0);
  for (int q = 0; q < MN_NSPECIES; q++) {
    float *u = mn_solver_field(s, q);
    ref[q] = mn_malloc_array(g->ncell, sizeof(double));
    cr_assert(ref[q]);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          double x = mn_rng_uniform(&r);
          if (g->cell[c] < MN_LAYER_HYPO && (lc[g->cell[c]].present & (1u << q)))
            u[c] = x < 0.1 ? 0.0f : (float)(3.0 * x * x); /* 0 to 3, a tenth exactly 0 */
          ref[q][c] = u[c];
        }
  }
  size_t ncol = (size_t)g->nx * (size_t)g->ny;
  double *fs = mn_malloc_array(ncol, sizeof(double)), *cc = mn_malloc_array(ncol, sizeof(double));
  cr_assert(fs && cc);
  const double uv = mn_uv_factor(&ps.p, uv_dose);
  for (int half = 0; half < 2; half++) { /* the expected values: two scalar half-steps */
    column_means(g, (const double *const *)ref, fs, cc);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          if (g->cell[c] >= MN_LAYER_HYPO) continue;
          double u[MN_NSPECIES];
          for (int q = 0; q < MN_NSPECIES; q++) u[q] = ref[q][c];
          mn_reaction_env env = {uv, fs[(size_t)j * g->nx + i], cc[(size_t)j * g->nx + i]};
          mn_reaction_step(&ps.p, &lc[g->cell[c]], u, &env, 0.5 * dt, NULL);
          for (int q = 0; q < MN_NSPECIES; q++) ref[q][c] = (float)u[q]; /* stored in float32 */
        }
  }
  cr_assert_eq(mn_solver_step(s, dt, NULL, &e), MN_OK, "%s", e.msg);
  long differ = 0, cells = 0;
  for (int q = 0; q < MN_NSPECIES; q++) {
    const float *u = mn_solver_field_c(s, q);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          cells++;
          if ((double)u[c] != ref[q][c]) {
            if (!differ)
              cr_log_error("%s at (%d, %d, %d): solver %.17g, scalar kernel %.17g",
                           mn_species_name(q), i, j, k, u[c], ref[q][c]);
            differ++;
          }
        }
    mn_free(ref[q]);
  }
  printf("lanes: %ld of %ld values differ from the one-voxel kernel (%d x %d x %d cells)\n", differ,
         cells, g->nx, g->ny, g->nz);
  cr_assert_eq(differ, 0);
  mn_free(fs);
  mn_free(cc);
  mn_solver_destroy(s);
}

Test(verify, vectorised_reactions_match_the_one_voxel_kernel_bit_for_bit) {
  /* rows of 13 cells (a run of 8 lanes and one of 5), then a scar's rows, whose layers change
     along the row (runs of every length from 1 to 8) */
  mn_grid *g = box_grid(0.26, 20, 320, 20, MN_BC_PERIODIC, MN_BOTTOM_ZERO_FLUX);
  lanes_match_scalar(g, 11);
  mn_grid_destroy(g);
  g = scar_grid(20, MN_BC_ZERO_FLUX, 0.1);
  lanes_match_scalar(g, 12);
  mn_grid_destroy(g);
}

Test(verify, reaction_kernel_keeps_the_healthy_state_exactly) {
  /* every layer at its baseline, no drive: one step of any size changes nothing, bit for bit;
   * with a drive of the keratinocytes or UV and no inflammation, only K and Mel could move and
   * Mel has nothing to respond to */
  mn_param_set ps;
  mn_error e = {0};
  cr_assert_eq(mn_param_set_load_default(&ps, &e), MN_OK, "%s", e.msg);
  for (int layer = MN_LAYER_SC; layer <= MN_LAYER_RD; layer++)
    for (int age = 20; age <= 80; age += 30) {
      mn_reaction_coef c;
      mn_reaction_coef_init(&c, &ps.p, layer, 4, age);
      double u[MN_NSPECIES];
      for (int s = 0; s < MN_NSPECIES; s++)
        u[s] = mn_species_in_layer(s, layer) ? mn_species_baseline(s) : 0;
      mn_reaction_env env = {mn_uv_factor(&ps.p, 6), 0, 1};
      for (int k = 0; k < 3; k++) {
        double v[MN_NSPECIES];
        memcpy(v, u, sizeof v);
        mn_reaction_step(&ps.p, &c, v, &env, k == 0 ? 1e-4 : k == 1 ? 0.5 : 30, NULL);
        for (int s = 0; s < MN_NSPECIES; s++)
          cr_assert_eq(v[s], u[s], "layer %d age %d %s moved", layer, age, mn_species_name(s));
      }
    }
}

Test(verify, reaction_kernel_stays_positive_after_a_total_injury) {
  /* a papillary voxel whose matrix was all torn and cut (C1 = C3 = E = 0) and damaged (d = 1):
   * every species stays >= 0 through large steps, and the matrix comes back */
  mn_param_set ps;
  mn_error e = {0};
  cr_assert_eq(mn_param_set_load_default(&ps, &e), MN_OK, "%s", e.msg);
  mn_reaction_coef c;
  mn_reaction_coef_init(&c, &ps.p, MN_LAYER_PD, 3, 40);
  mn_reaction_env env = {1, 0, 1};
  double u[MN_NSPECIES] = {0};
  u[MN_SP_D] = 1, u[MN_SP_T] = 20;
  for (int k = 0; k < 2000; k++) {
    mn_reaction_step(&ps.p, &c, u, &env, k < 1000 ? 0.01 : 1.0, NULL);
    for (int s = 0; s < MN_NSPECIES; s++) cr_assert(u[s] >= 0, "%s < 0", mn_species_name(s));
  }
  cr_assert(u[MN_SP_C1] > 0.5, "the matrix comes back: C1 = %g", u[MN_SP_C1]);
}

Test(verify, loop_gain_check_refuses_unstable_sets) {
  mn_param_set ps;
  mn_error e = {0};
  cr_assert_eq(mn_param_set_load_default(&ps, &e), MN_OK);
  cr_assert_float_eq(mn_model_loop_gain(&ps.p), 0.89, 0.01); /* models.md 7.6 */
  cr_assert_eq(mn_model_check(&ps.p, &e), MN_OK);
  ps.p.a_N = 6;
  cr_assert_eq(mn_model_check(&ps.p, &e), MN_ERANGE);
  cr_assert(strstr(e.msg, "loop gain G") && strstr(e.msg, ">= 1"), "%s", e.msg);
  mn_error_clear(&e);
  cr_assert_eq(mn_param_set_set(&ps, "a_M", 1, &e), MN_OK);
  cr_assert_eq(mn_param_set_set(&ps, "a_X", 1, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "did you mean"), "%s", e.msg);
}

Test(verify, prefactorised_kernel_matches_the_general_one) {
  /* the layer-uniform path (factors per plane / depth) against the per-line path on the same
   * layered, non-uniform-dz grid, periodic and zero flux, baseline bottom */
  for (int bc = 0; bc < 2; bc++) {
    double h[4] = {15, 60, 200, 700};
    mn_skin s = layered_skin(h);
    mn_grid_params p = {.dx_um = 20,
                        .dz_epi_um = 10,
                        .dz_pd_um = 20,
                        .dz_rd_um = 40,
                        .lateral_bc = bc,
                        .bottom_bc = MN_BOTTOM_BASELINE};
    mn_grid *g;
    mn_error e = {0};
    cr_assert_eq(mn_grid_create(&p, &s, NULL, 0, 0, 0, 0.3, 0.24, &g, &e), MN_OK);
    cr_assert(g->uniform);
    double *a = mn_grid_field(g), *b = mn_grid_field(g), *w = work_for(g, 2);
    random_fill(g, a, 5);
    memcpy(b, a, g->ncell * sizeof *a);
    double Dl[4] = {0, 0.3, 0.86, 2.0};
    for (int q = 0; q < 5; q++) mn_diffusion_lod(g, a, Dl, 3.0, 0.01, w, 2);
    g->uniform = 0; /* force the general per-line path */
    for (int q = 0; q < 5; q++) mn_diffusion_lod(g, b, Dl, 3.0, 0.01, w, 2);
    double worst = 0;
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          worst = fmax(worst, fabs(a[c] - b[c]));
        }
    printf("prefactorised vs general kernel (%s): largest difference %.2e\n",
           bc ? "zero flux" : "periodic", worst);
    cr_assert_lt(worst, 1e-13);
    mn_free(a);
    mn_free(b);
    mn_free(w);
    mn_grid_destroy(g);
  }
}

/* ---- fused multi-step passes and float32 storage ------------------------------------------- */
static void layered_case(int bc, mn_grid **g, double Dl[4]) {
  double h[4] = {15, 60, 200, 700};
  mn_skin s = layered_skin(h);
  mn_grid_params p = {.dx_um = 20,
                      .dz_epi_um = 10,
                      .dz_pd_um = 20,
                      .dz_rd_um = 40,
                      .lateral_bc = bc,
                      .bottom_bc = MN_BOTTOM_BASELINE};
  mn_error e = {0};
  cr_assert_eq(mn_grid_create(&p, &s, NULL, 0, 0, 0, 0.3, 0.26, g, &e), MN_OK);
  cr_assert((*g)->uniform);
  double D[4] = {0, 0.3, 0.86, 2.0};
  memcpy(Dl, D, sizeof D);
}

Test(verify, steps_fused_in_one_call_match_one_call_per_step) {
  /* n steps in one call run the z elimination alternately from the top and from the bottom and
   * finish each step in the next one's pass: the same solution up to round-off */
  for (int bc = 0; bc < 2; bc++) {
    mn_grid *g;
    double Dl[4];
    layered_case(bc, &g, Dl);
    double *a = mn_grid_field(g), *b = mn_grid_field(g), *w = work_for(g, 2);
    random_fill(g, a, 11);
    memcpy(b, a, g->ncell * sizeof *a);
    double *pa[1] = {a};
    mn_diffusion_lod_steps(g, pa, (const double(*)[MN_LAYER_HYPO])Dl, 1, 3.0, 0.01, 7, w, 2);
    for (int q = 0; q < 7; q++) mn_diffusion_lod(g, b, Dl, 3.0, 0.01, w, 1);
    double worst = 0, big = 0;
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          worst = fmax(worst, fabs(a[c] - b[c]));
          big = fmax(big, fabs(b[c]));
        }
    printf("7 steps in one call vs one per call (%s): largest difference %.2e of %.3f\n",
           bc ? "zero flux" : "periodic", worst, big);
    cr_assert_lt(worst, 1e-13 * big);
    mn_free(a);
    mn_free(b);
    mn_free(w);
    mn_grid_destroy(g);
  }
}

static float *to_float(const mn_grid *g, const double *u) {
  float *f = mn_malloc_array(g->ncell, sizeof(float));
  cr_assert(f);
  for (size_t c = 0; c < g->ncell; c++) f[c] = (float)u[c];
  return f;
}

Test(verify, float32_storage_stays_within_a_1e4th_of_double) {
  /* the layered case (both lateral boundaries) and the Gaussian against its analytic solution */
  for (int bc = 0; bc < 2; bc++) {
    mn_grid *g;
    double Dl[4];
    layered_case(bc, &g, Dl);
    double *a = mn_grid_field(g), *w = work_for(g, 2);
    random_fill(g, a, 13);
    float *fa = to_float(g, a);
    double *pa[1] = {a};
    float *pf[1] = {fa};
    const double(*D)[MN_LAYER_HYPO] = (const double(*)[MN_LAYER_HYPO])Dl;
    for (int c = 0; c < 4; c++) { /* 4 calls of 25 steps: 100 steps */
      mn_diffusion_lod_steps(g, pa, D, 1, 3.0, 0.01, 25, w, 2);
      mn_diffusion_lod_steps_f32(g, pf, D, 1, 3.0, 0.01, 25, w, 2);
    }
    double worst = 0, big = 0;
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          worst = fmax(worst, fabs((double)fa[c] - a[c]));
          big = fmax(big, fabs(a[c]));
        }
    printf(
        "float32 vs double, layered grid, 100 steps (%s): largest difference %.2e of %.3f "
        "(%.1e relative)\n",
        bc ? "zero flux" : "periodic", worst, big, worst / big);
    cr_assert_lt(worst / big, 1e-4);
    mn_free(a);
    mn_free(fa);
    mn_free(w);
    mn_grid_destroy(g);
  }
  /* the Gaussian with decay: float32 and double against the analytic solution */
  double D = 0.86, lambda = 5, t0 = 0.002, T = 0.01, dt = 2.5e-5, dx = 30, c0 = 600;
  mn_grid *g = box_grid(1.2, dx, 1200, dx, MN_BC_ZERO_FLUX, MN_BOTTOM_ZERO_FLUX);
  double *u = mn_grid_field(g), *w = work_for(g, 2), Dl[1][4] = {{D, D, D, D}};
  double s2 = 4 * D * 1e6 * t0, s2T = 4 * D * 1e6 * (t0 + T);
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        double x = (i + 0.5) * dx - c0, y = (j + 0.5) * dx - c0, z = g->zc_um[k] - c0;
        u[mn_grid_at(g, i, j, k)] = exp(-(x * x + y * y + z * z) / s2);
      }
  float *uf = to_float(g, u);
  double *pu[1] = {u};
  float *pf[1] = {uf};
  int n = (int)lround(T / dt);
  mn_diffusion_lod_steps(g, pu, (const double(*)[MN_LAYER_HYPO])Dl, 1, lambda, dt, n, w, 1);
  mn_diffusion_lod_steps_f32(g, pf, (const double(*)[MN_LAYER_HYPO])Dl, 1, lambda, dt, n, w, 1);
  double amp = pow(t0 / (t0 + T), 1.5) * exp(-lambda * T), nd = 0, nf = 0, den = 0, diff = 0;
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        double x = (i + 0.5) * dx - c0, y = (j + 0.5) * dx - c0, z = g->zc_um[k] - c0;
        size_t c = mn_grid_at(g, i, j, k);
        double ex = amp * exp(-(x * x + y * y + z * z) / s2T);
        nd += (u[c] - ex) * (u[c] - ex), nf += (uf[c] - ex) * (uf[c] - ex), den += ex * ex;
        diff = fmax(diff, fabs((double)uf[c] - u[c]));
      }
  printf(
      "gaussian, dx 30 um: relative L2 error %.6f (double), %.6f (float32); largest "
      "float32-double difference %.1e of %.3f\n",
      sqrt(nd / den), sqrt(nf / den), diff, amp);
  cr_assert_lt(diff / amp, 1e-4);
  cr_assert_lt(fabs(sqrt(nf / den) - sqrt(nd / den)), 1e-4);
  mn_free(u);
  mn_free(uf);
  mn_free(w);
  mn_grid_destroy(g);
}

Test(verify, float32_storage_on_a_grid_with_lesions_follows_double) {
  /* the general path (per-line coefficients) solves each line, plane and column slab of a
     float32 field in a double copy: 50 steps, both lateral boundaries, against double storage */
  for (int bc = 0; bc < 2; bc++) {
    mn_grid *g = scar_grid(40, bc ? MN_BC_PERIODIC : MN_BC_ZERO_FLUX, 0.6);
    cr_assert(!g->uniform);
    double *u = mn_grid_field(g), *w = work_for(g, 2), Dl[1][4] = {{0, 0.2, 0.86, 3.0}};
    random_fill(g, u, 17);
    float *uf = to_float(g, u);
    const double(*D)[MN_LAYER_HYPO] = (const double(*)[MN_LAYER_HYPO])Dl;
    double m0 = mn_field_mass(g, u);
    mn_diffusion_lod_steps(g, &u, D, 1, 0, 0.01, 50, w, 2);
    mn_diffusion_lod_steps_f32(g, &uf, D, 1, 0, 0.01, 50, w, 2);
    double worst = 0, big = 0, fm = 0;
    for (int k = 0; k < g->nz; k++) {
      double plane = 0;
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          worst = fmax(worst, fabs((double)uf[c] - u[c]));
          big = fmax(big, fabs(u[c]));
          plane += uf[c];
        }
      fm += plane * g->dz_um[k] * g->dx_um * g->dx_um;
    }
    printf(
        "lesions, float32 against double (bc %d): largest difference %.1e of %.3f, mass %.1e "
        "relative\n",
        bc, worst, big, fabs(fm / m0 - 1));
    cr_assert_lt(worst / big, 1e-5); /* float32 rounding: about 6e-8 per value and step */
    cr_assert_lt(fabs(fm / m0 - 1), 1e-5);
    cr_assert_gt(worst, 0.0); /* the float path ran: a double run would agree exactly */
    mn_free(u);
    mn_free(uf);
    mn_free(w);
    mn_grid_destroy(g);
  }
}
