/* Benchmark of the 3D solver: voxel-species updates per second of the LOD diffusion step and of a
 * whole model step on 100 x 100 x 100 cells with 9 species, with 1 and 2 threads, set against
 * the memory bandwidth of a STREAM-like triad measured in the same run. Prints ratios; the
 * compulsory floor is 16 bytes per update (each double read and written once per step). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/mnsim.h"

enum { NSP = 9, REPS = 5 };

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1], v[j - 1] = t;
    }
  return v[n / 2];
}

/* a = b + s c over n doubles: 24 bytes moved per element (STREAM's count). */
static double triad_gbs(double *a, const double *b, const double *c, size_t n, int threads) {
  (void)threads; /* without OpenMP */
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = mn_wall_time();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
    t[r] = mn_wall_time() - t0;
  }
  return 24.0 * (double)n / median(t, REPS) / 1e9;
}

static mn_grid *cube(int zero_flux) {
  mn_skin s;
  memset(&s, 0, sizeof s);
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    s.thickness_um[l] = 500, s.top_um[l + 1] = 500.0 * (l + 1);
  mn_grid_params p = {.dx_um = 20,
                      .dz_epi_um = 20,
                      .dz_pd_um = 20,
                      .dz_rd_um = 20,
                      .lateral_bc = zero_flux ? MN_BC_ZERO_FLUX : MN_BC_PERIODIC};
  mn_grid *g = NULL;
  mn_error e = {0};
  if (mn_grid_create(&p, &s, NULL, 0, 0, 0, 2.0, 2.0, &g, &e))
    fprintf(stderr, "%s\n", e.msg), exit(1);
  return g;
}

/* ms per LOD step of NSP fields (BioFVM's problem: D = 1000 um2/min, decay 0.1/min). */
static double diffusion_ms(mn_grid *g, double **u, double *work, double dt_min, int threads) {
  double D = 1000e-6 * 1440, Dl[NSP][MN_LAYER_HYPO], t[REPS];
  for (int f = 0; f < NSP; f++)
    for (int l = 0; l < MN_LAYER_HYPO; l++) Dl[f][l] = D;
  for (int r = 0; r < REPS; r++) {
    double t0 = mn_wall_time();
    mn_diffusion_lod_many(g, u, (const double(*)[MN_LAYER_HYPO])Dl, NSP, 0.1 * 1440, dt_min / 1440,
                          work, threads);
    t[r] = mn_wall_time() - t0;
  }
  return 1e3 * median(t, REPS);
}

/* ms per whole model step on a 100 x 100 cheek slab just after an injury, fixed dt 2 min. */
static double model_ms(int threads, size_t *cells) {
  mn_error e = {0};
  mn_skin_atlas *a;
  mn_device_catalogue *c;
  mn_skin sk;
  mn_device dev;
  mn_param_set ps;
  mn_grid *g;
  mn_solver *s;
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = 3};
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.0};
  mn_grid_params gp = {.dx_um = 20, .dz_epi_um = 10, .dz_pd_um = 20, .dz_rd_um = 10};
  if (mn_skin_atlas_create(&a, &e) || mn_device_catalogue_create(&c, &e) ||
      mn_skin_build(a, &sp, &sk, &e) || mn_device_init(&dev, c, &dp, &e) ||
      mn_grid_create(&gp, &sk, NULL, 0, 0, 0, 2.0, 2.0, &g, &e) ||
      mn_param_set_load_default(&ps, &e))
    fprintf(stderr, "%s\n", e.msg), exit(1);
  mn_solver_params so = {.min_step_day = 1e-5,
                         .max_step_day = 1,
                         .first_step_day = 2.0 / 1440,
                         .rel_tol = 0.01,
                         .abs_tol = 1e-3,
                         .fixed_step = 1,
                         .threads = threads};
  if (mn_solver_create(&so, g, &ps.p, 3, &s, &e)) fprintf(stderr, "%s\n", e.msg), exit(1);
  mn_injury inj;
  mn_injury_init(g, &inj, &e);
  for (int i = 0; i < 4; i++)
    mn_injury_add_channel(g, &sk, &dev, 0.25 + 0.5 * i, 1.0, 900, 2, &inj);
  mn_solver_apply_injury(s, inj.d_inj, inj.d_bleed);
  mn_injury_fini(&inj);
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = mn_wall_time();
    mn_solver_step(s, 10, NULL, &e);
    t[r] = mn_wall_time() - t0;
  }
  *cells = mn_grid_cells(g);
  mn_solver_destroy(s);
  mn_grid_destroy(g);
  mn_device_fini(&dev);
  mn_device_catalogue_destroy(c);
  mn_skin_atlas_destroy(a);
  return 1e3 * median(t, REPS);
}

int main(void) {
  size_t n = 100000000; /* 100 M doubles per array */
  double *ta = malloc(n * 8), *tb = malloc(n * 8), *tc = malloc(n * 8);
  if (!ta || !tb || !tc) return fprintf(stderr, "bench_solver: no memory for the triad\n"), 1;
  for (size_t i = 0; i < n; i++) ta[i] = 0, tb[i] = 1, tc[i] = 2;
  mn_grid *g = cube(1);
  double *u[NSP];
  for (int f = 0; f < NSP; f++) {
    u[f] = mn_grid_field(g);
    for (size_t i = 0; i < g->ncell; i++) u[f][i] = 1.0 + 1e-3 * (double)(i % 97);
  }
  double *work = mn_malloc_array(mn_diffusion_work(g) * 3, sizeof(double));
  double upd = (double)mn_grid_cells(g) * NSP;
  printf("bench_solver: %d x %d x %d cells, %d species (%.0f M voxel-species)\n", g->nx, g->ny,
         g->nz, NSP, upd / 1e6);
  printf("%-28s %7s %9s %10s %8s %9s %9s\n", "kernel", "threads", "ms/step", "Mupd/s", "triad",
         "bytes/upd", "of floor");
  double base_rate[3] = {0, 0, 0};
  for (int th = 1; th <= 2; th++) {
    for (int k = 0; k < 3; k++) {
      double bw = triad_gbs(ta, tb, tc, n, th), ms, rate;
      const char *name;
      if (k < 2) {
        double dt = k ? 1.0 : 0.1;
        ms = diffusion_ms(g, u, work, dt, th);
        rate = upd / (ms * 1e-3);
        name = k ? "diffusion (LOD, dt 1 min)" : "diffusion (LOD, dt 0.1 min)";
      } else {
        size_t cells;
        ms = model_ms(th, &cells);
        rate = (double)cells * MN_NSPECIES / (ms * 1e-3);
        name = "whole step (cheek slab)";
      }
      double bpu = bw * 1e9 / rate;
      printf("%-28s %7d %9.1f %10.1f %6.1f GB/s %7.1f %8.0f%%\n", name, th, ms, rate / 1e6, bw, bpu,
             100 * 16.0 / bpu);
      if (th == 1)
        base_rate[k] = rate;
      else
        printf("%-28s speed-up 1 -> 2 threads: %.2f\n", "", rate / base_rate[k]);
    }
  }
  for (int f = 0; f < NSP; f++) mn_free(u[f]);
  mn_free(work);
  mn_grid_destroy(g);
  free(ta), free(tb), free(tc);
  return 0;
}
