/* `make bench`: the performance table of issue 7, one run, one table.
 *   (a) diffusion only on BioFVM's problem (100^3 voxels, 8 substances, dx 20 um, D 1000
 *       um2/min, decay 0.1/min, zero flux, dt 0.1 and 1 min) with BioFVM's numerics (LOD backward
 *       Euler, decay split over the three sweeps), through the solver's own entry point, double
 *       and float32 storage; total mass checked against (1 + dt lambda / 3)^(-3n);
 *   (b) the production scheme on the same grid (one LOD step per call, as the healing solver
 *       calls it between its reaction half-steps), with its error against the exact solution of
 *       the semi-discrete problem for a cosine mode at the same dt;
 *   (c) one whole model step on a 2 x 2 mm cheek slab just after an injury;
 *   (d) the 6-month single-session run of the 5 x 5 mm patch at 20 um (the mnsim program on
 *       examples/patch-5mm.yaml, 2 threads);
 *   (e) one lumped run (3 sessions over a year);
 *   (f) one plan (3 regions, 200 posterior draws, best of 5; and once with 2000, issue 19's
 *       target);
 *   (g) calibration throughput: a short chain of the shipped sampler (32 walkers, 12 steps, no
 *       MAP polish, 2 threads), in likelihood evaluations and lumped runs per second;
 *   (h) the 3D posterior check: CT14's protocol as 3D unit cells for 4 posterior draws and the
 *       nominal values (2 threads), in draws per core-minute.
 * (a)-(c) with 1 and 2 threads, each timing interleaved with a STREAM-like triad (100 M doubles
 * per array) in the same process: the median over 15 (triad, kernel) pairs of the triad
 * bandwidth over the update rate is the triad-equivalent bytes per update. Peak RSS is measured
 * in a child process that sets up and runs only that kernel.
 * Usage: bench_table [--quick] [--only a|b|c|f|g|h] [--mnsim PATH] [--patch CASE]
 *   --quick skips (d); --only runs the rows of one of (a)-(c), (f), (g) or (h) and stops there. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mnsim/mnsim.h"

enum { NSUB = 8, PAIRS = 15, CALL_STEPS = 20 };

static void die(const char *what, const mn_error *e) {
  fprintf(stderr, "bench_table: %s: %s\n", what, e ? e->msg : "failed");
  exit(1);
}

static void to_stderr(int level, const char *msg, void *user) {
  (void)user;
  if (level >= MN_LOG_WARN) fprintf(stderr, "%s\n", msg);
}

static double median(const double *v, int n) {
  double s[64];
  memcpy(s, v, (size_t)n * sizeof *s);
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && s[j] < s[j - 1]; j--) {
      double t = s[j];
      s[j] = s[j - 1], s[j - 1] = t;
    }
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* ---- the triad ----------------------------------------------------------------------------- */
static double *ta, *tb, *tc;
static const size_t TN = 100000000;

/* a = b + s c: STREAM's count of 24 bytes per element. */
static double triad_gbs(int threads) {
  (void)threads;
  double t0 = mn_wall_time();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < TN; i++) ta[i] = tb[i] + 3.0 * tc[i];
  return 24.0 * (double)TN / (mn_wall_time() - t0) / 1e9;
}

/* ---- kernels --------------------------------------------------------------------------------- */
typedef struct kernel {
  const char *name;
  int kind;      /* 0: diffusion with BioFVM's numerics, 1: production scheme, 2: whole step */
  int f32;       /* float storage */
  double dt_min; /* diffusion step */
  /* state */
  mn_grid *g;
  double *u[NSUB], *work;
  float *uf[NSUB];
  mn_solver *s;
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_device dev;
  double updates; /* voxel-species updates per step */
  double field_bytes;
} kernel;

static const double D_UM2_MIN = 1000, DECAY_PER_MIN = 0.1;

static mn_grid *cube(void) {
  mn_skin s;
  memset(&s, 0, sizeof s);
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    s.thickness_um[l] = 500, s.top_um[l + 1] = 500.0 * (l + 1);
  mn_grid_params p = {.dx_um = 20,
                      .dz_epi_um = 20,
                      .dz_pd_um = 20,
                      .dz_rd_um = 20,
                      .lateral_bc = MN_BC_ZERO_FLUX,
                      .bottom_bc = MN_BOTTOM_ZERO_FLUX};
  mn_grid *g = NULL;
  mn_error e = {0};
  if (mn_grid_create(&p, &s, NULL, 0, 0, 0, 2.0, 2.0, &g, &e)) die("grid", &e);
  return g;
}

static void fill(const mn_grid *g, double *u, float *uf, int f) {
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        size_t c = mn_grid_at(g, i, j, k);
        double v = 1.0 + 0.5 * sin(0.07 * i + 0.05 * j * (f + 1) + 0.11 * k);
        if (u) u[c] = v;
        if (uf) uf[c] = (float)v;
      }
}

static void cheek_slab(kernel *K, int threads) {
  mn_error e = {0};
  mn_skin sk;
  mn_param_set ps;
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = 3};
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.0};
  mn_grid_params gp = {.dx_um = 20, .dz_epi_um = 10, .dz_pd_um = 20, .dz_rd_um = 10};
  if (mn_skin_atlas_create(&K->atlas, &e) || mn_device_catalogue_create(&K->cat, &e) ||
      mn_skin_build(K->atlas, &sp, &sk, &e) || mn_device_init(&K->dev, K->cat, &dp, &e) ||
      mn_grid_create(&gp, &sk, NULL, 0, 0, 0, 2.0, 2.0, &K->g, &e) ||
      mn_param_set_load_default(&ps, &e))
    die("cheek slab", &e);
  mn_solver_params so = {.min_step_day = 1e-5,
                         .max_step_day = 1,
                         .first_step_day = 2.0 / 1440,
                         .rel_tol = 0.01,
                         .abs_tol = 1e-3,
                         .fixed_step = 1,
                         .threads = threads};
  if (mn_solver_create(&so, K->g, &ps.p, 3, 40, &K->s, &e)) die("solver", &e);
  mn_injury inj;
  if (mn_injury_init(K->g, &inj, &e)) die("injury", &e);
  for (int i = 0; i < 4; i++)
    mn_injury_add_channel(K->g, &sk, &K->dev, 0.25 + 0.5 * i, 1.0, 900, 2, &inj);
  mn_solver_apply_injury(K->s, &inj);
  mn_injury_fini(&inj);
  K->updates = (double)mn_grid_cells(K->g) * MN_NSPECIES;
  K->field_bytes = (double)K->g->ncell * MN_NSPECIES * sizeof(float);
}

static void setup(kernel *K, int threads) {
  if (K->kind == 2) {
    cheek_slab(K, threads);
    return;
  }
  K->g = cube();
  for (int f = 0; f < NSUB; f++) {
    if (K->f32) {
      K->uf[f] = mn_calloc_aligned(K->g->ncell, sizeof(float));
      if (!K->uf[f]) die("fields", NULL);
    } else {
      K->u[f] = mn_grid_field(K->g);
      if (!K->u[f]) die("fields", NULL);
    }
    fill(K->g, K->u[f], K->uf[f], f);
  }
  K->work = mn_malloc_aligned(mn_diffusion_work(K->g) * 3, sizeof(double));
  if (!K->work) die("work", NULL);
  K->updates = (double)mn_grid_cells(K->g) * NSUB;
  K->field_bytes = (double)K->g->ncell * NSUB * (K->f32 ? sizeof(float) : sizeof(double));
}

static void teardown(kernel *K) {
  for (int f = 0; f < NSUB; f++)
    mn_free(K->u[f]), mn_free(K->uf[f]), K->u[f] = NULL, K->uf[f] = NULL;
  mn_free(K->work), K->work = NULL;
  mn_solver_destroy(K->s), K->s = NULL;
  if (K->atlas) {
    mn_device_fini(&K->dev);
    mn_device_catalogue_destroy(K->cat);
    mn_skin_atlas_destroy(K->atlas);
    K->atlas = NULL;
  }
  mn_grid_destroy(K->g), K->g = NULL;
}

/* One timed call; returns seconds per step. */
static double run(kernel *K, int threads) {
  double D[NSUB][MN_LAYER_HYPO], Dd = D_UM2_MIN * 1e-6 * 1440; /* mm2/day */
  for (int f = 0; f < NSUB; f++)
    for (int l = 0; l < MN_LAYER_HYPO; l++) D[f][l] = Dd;
  const double(*Dc)[MN_LAYER_HYPO] = (const double(*)[MN_LAYER_HYPO])D;
  double dt = K->dt_min / 1440, lambda = DECAY_PER_MIN * 1440;
  mn_error e = {0};
  double t0 = mn_wall_time();
  int steps = 1;
  if (K->kind == 0) {
    steps = CALL_STEPS;
    if (K->f32) {
      mn_diffusion_lod_steps_f32(K->g, K->uf, Dc, NSUB, lambda, dt, steps, K->work, threads);
    } else {
      mn_diffusion_lod_steps(K->g, K->u, Dc, NSUB, lambda, dt, steps, K->work, threads);
    }
  } else if (K->kind == 1) {
    steps = CALL_STEPS;
    for (int n = 0; n < steps; n++)
      mn_diffusion_lod_many(K->g, K->u, Dc, NSUB, 0, dt, K->work, threads);
  } else {
    if (mn_solver_step(K->s, 1000, NULL, &e)) die("step", &e);
  }
  return (mn_wall_time() - t0) / steps;
}

/* Peak RSS of a child that sets the kernel up and runs it twice (bytes). */
static double child_rss(kernel *K, int threads) {
  int fd[2];
  if (pipe(fd)) return NAN;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    setup(K, threads);
    run(K, threads), run(K, threads);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double b = 1024.0 * (double)ru.ru_maxrss;
    ssize_t w = write(fd[1], &b, sizeof b);
    _exit(w == sizeof b ? 0 : 1);
  }
  close(fd[1]);
  double b = NAN;
  if (read(fd[0], &b, sizeof b) != sizeof b) b = NAN;
  close(fd[0]);
  waitpid(pid, NULL, 0);
  return b;
}

typedef struct result {
  double ms, rate, triad, bpu, rss_ratio, speedup;
} result;

/* 1 and 2 threads side by side: each of the PAIRS rounds times the triad and the kernel on 1
 * thread, then on 2, so that both thread counts and the 1 -> 2 speed-up see the same machine
 * state (other tenants of the host come and go). Medians over the rounds. */
static void measure(kernel *K, const double rss[2], result r[2]) {
  kernel K2 = *K; /* the whole step's solver is created for its thread count */
  setup(K, 1), setup(&K2, 2);
  kernel *k[2] = {K, &K2};
  double ms[2][PAIRS], bw[2][PAIRS], bpu[2][PAIRS], up[PAIRS];
  for (int t = 0; t < 2; t++) run(k[t], t + 1); /* warm: page faults, first touch */
  for (int p = 0; p < PAIRS; p++) {
    for (int t = 0; t < 2; t++) {
      bw[t][p] = triad_gbs(t + 1);
      double s = run(k[t], t + 1);
      ms[t][p] = 1e3 * s;
      bpu[t][p] = bw[t][p] * 1e9 / (K->updates / s);
    }
    up[p] = ms[0][p] / ms[1][p];
  }
  for (int t = 0; t < 2; t++) {
    r[t] = (result){median(ms[t], PAIRS),    0,
                    median(bw[t], PAIRS),    median(bpu[t], PAIRS),
                    rss[t] / K->field_bytes, median(up, PAIRS)};
    r[t].rate = K->updates / (r[t].ms * 1e-3);
  }
  teardown(K), teardown(&K2);
}

/* ---- checks -----------------------------------------------------------------------------------
 */
/* (a): the total mass of every substance after n steps against the exact factor; the same steps
 * in float32 storage against double (largest difference over the largest value). */
static double mass_factor_error(double dt_min, double *f32_vs_f64) {
  kernel K = {.kind = 0, .f32 = 0, .dt_min = dt_min};
  setup(&K, 2);
  float *uf[NSUB];
  for (int f = 0; f < NSUB; f++) {
    uf[f] = mn_malloc_array(K.g->ncell, sizeof(float));
    memset(uf[f], 0, K.g->ncell * sizeof(float));
    fill(K.g, NULL, uf[f], f);
  }
  double m0[NSUB], D[NSUB][MN_LAYER_HYPO], Dd = D_UM2_MIN * 1e-6 * 1440;
  for (int f = 0; f < NSUB; f++) {
    m0[f] = mn_field_mass(K.g, K.u[f]);
    for (int l = 0; l < MN_LAYER_HYPO; l++) D[f][l] = Dd;
  }
  const double(*Dc)[MN_LAYER_HYPO] = (const double(*)[MN_LAYER_HYPO])D;
  double dt = dt_min / 1440, lambda = DECAY_PER_MIN * 1440;
  int n = 2 * CALL_STEPS;
  mn_diffusion_lod_steps(K.g, K.u, Dc, NSUB, lambda, dt, n, K.work, 2);
  mn_diffusion_lod_steps_f32(K.g, uf, Dc, NSUB, lambda, dt, n, K.work, 2);
  double expect = pow(1 + dt * lambda / 3, -3.0 * n), worst = 0, diff = 0, scale = 0;
  for (int f = 0; f < NSUB; f++) {
    worst = fmax(worst, fabs(mn_field_mass(K.g, K.u[f]) / m0[f] / expect - 1));
    for (size_t c = 0; c < K.g->ncell; c++) {
      diff = fmax(diff, fabs((double)uf[f][c] - K.u[f][c]));
      scale = fmax(scale, fabs(K.u[f][c]));
    }
    mn_free(uf[f]);
  }
  *f32_vs_f64 = diff / scale;
  teardown(&K);
  return worst;
}

/* (b): a cosine mode of the zero-flux cube decays as exp(-mu t) in the semi-discrete problem
 * (mu: the discrete Laplacian's eigenvalue); the largest error after 20 production steps over
 * the mode's amplitude. */
static double production_error(double dt_min) {
  kernel K = {.kind = 1, .dt_min = dt_min};
  setup(&K, 2);
  const mn_grid *g = K.g;
  int n[3] = {g->nx, g->ny, g->nz};
  double h = 20, mu = 0;                                                              /* um */
  for (int d = 0; d < 3; d++) mu += D_UM2_MIN * (2 - 2 * cos(M_PI / n[d])) / (h * h); /* 1/min */
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++)
        K.u[0][mn_grid_at(g, i, j, k)] = cos(M_PI * (i + 0.5) / n[0]) *
                                         cos(M_PI * (j + 0.5) / n[1]) *
                                         cos(M_PI * (k + 0.5) / n[2]);
  double D[1][MN_LAYER_HYPO], Dd = D_UM2_MIN * 1e-6 * 1440;
  for (int l = 0; l < MN_LAYER_HYPO; l++) D[0][l] = Dd;
  for (int s = 0; s < CALL_STEPS; s++)
    mn_diffusion_lod_many(g, K.u, (const double(*)[MN_LAYER_HYPO])D, 1, 0, dt_min / 1440, K.work,
                          2);
  double amp = exp(-mu * dt_min * CALL_STEPS), err = 0;
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        double ex = amp * cos(M_PI * (i + 0.5) / n[0]) * cos(M_PI * (j + 0.5) / n[1]) *
                    cos(M_PI * (k + 0.5) / n[2]);
        err = fmax(err, fabs(K.u[0][mn_grid_at(g, i, j, k)] - ex));
      }
  teardown(&K);
  return err / amp;
}

/* ---- (d) the patch run --------------------------------------------------------------------- */
static int patch_run(const char *mnsim, const char *cas, double *secs, double *rss,
                     double *fields) {
  char dir[] = "/tmp/mnsim-bench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  int fd[2];
  if (pipe(fd)) return 1;
  fflush(NULL);
  double t0 = mn_wall_time();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    setenv("OMP_NUM_THREADS", "2", 1);
    execl(mnsim, mnsim, "simulate", cas, "-o", dir, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char out[16384];
  size_t used = 0;
  ssize_t got;
  while ((got = read(fd[0], out + used, sizeof out - 1 - used)) > 0) used += (size_t)got;
  out[used] = 0;
  close(fd[0]);
  int status;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  *secs = mn_wall_time() - t0;
  *rss = 1024.0 * (double)ru.ru_maxrss;
  const char *p = strstr(out, "fields ");
  *fields = p ? 1e6 * atof(p + 7) : NAN;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) fprintf(stderr, "bench_table: could not remove %s\n", dir);
  return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- (e), (f) ----------------------------------------------------------------------------------
 */
static double lumped_ms(double *best) {
  mn_error e = {0};
  mn_skin_atlas *a;
  mn_device_catalogue *c;
  mn_skin sk;
  mn_device dev;
  static mn_param_set ps;
  mn_skin_params sp = {.region = "cheek", .age_y = 45, .fitzpatrick = 3};
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.0};
  if (mn_skin_atlas_create(&a, &e) || mn_device_catalogue_create(&c, &e) ||
      mn_skin_build(a, &sp, &sk, &e) || mn_device_init(&dev, c, &dp, &e) ||
      mn_param_set_load_default(&ps, &e))
    die("lumped", &e);
  static double samples[366];
  for (int d = 0; d <= 365; d++) samples[d] = d;
  mn_lumped_input in = {.m = &ps.p,
                        .fitz = 3,
                        .skin = &sk,
                        .dev = &dev,
                        .n_groups = 1,
                        .group = {{300, 900}},
                        .sessions = 3,
                        .session_day = {0, 42, 84},
                        .t_end = 365,
                        .samples = samples,
                        .nsamples = 366};
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  mn_timeseries ts;
  mn_lumped_geometry geo;
  if (mn_timeseries_init(&ts, 366, &e)) die("lumped", &e);
  double t[50];
  for (int r = 0; r < 50; r++) {
    ts.n = 0;
    double t0 = mn_wall_time();
    if (mn_lumped_run(&in, &lp, &ts, &geo, &e)) die("lumped", &e);
    t[r] = mn_wall_time() - t0;
  }
  *best = t[0];
  for (int r = 1; r < 50; r++) *best = fmin(*best, t[r]);
  *best *= 1e3;
  mn_timeseries_fini(&ts);
  mn_device_fini(&dev);
  mn_device_catalogue_destroy(c);
  mn_skin_atlas_destroy(a);
  return 1e3 * median(t, 50);
}

/* (g): a 12-step chain of the shipped calibration; evaluations and lumped runs per second. */
static void calib_rate(double *evals_s, double *runs_s) {
  mn_error e = {0};
  static mn_param_set prior;
  if (mn_param_set_load_prior(&prior, &e)) die("calibration", &e);
  mn_calib_opts o;
  mn_calib_opts_default(&o);
  o.steps = 12, o.burn = 0, o.thin = 1, o.max_evals = 0, o.threads = 2;
  static mn_calibration cal;
  long r0 = mn_lumped_run_count();
  double t0 = mn_wall_time();
  if (mn_calibrate(&prior, mn_calib_fitted, MN_CALIB_FITTED, &o, &cal, &e)) die("calibration", &e);
  double dt = mn_wall_time() - t0;
  *evals_s = cal.evals / dt;
  *runs_s = (double)(mn_lumped_run_count() - r0) / dt;
  mn_calibration_fini(&cal);
}

static void calib_row(void) {
  double ce, cr;
  calib_rate(&ce, &cr);
  printf(
      "(g) calibration (32 walkers x 12 steps, 2 threads): %.1f likelihood evaluations/s, "
      "%.0f lumped runs/s\n",
      ce, cr);
}

/* (h) the 3D posterior check (issue 16; `mnsim validate --model 3d`): CT14's protocol (5
 * roller sessions 30 days apart, 176 days) as a 3D unit cell for the nominal values and 4
 * posterior draws, the lumped twin beside each, on 2 threads. Draws per core-minute count the
 * nominal run as a draw and both cores for the whole time (the nominal run leaves one idle). */
static void check3d_row(void) {
  enum { DRAWS = 4, THREADS = 2 };
  mn_error e = {0};
  static mn_param_set ps;
  mn_validation v;
  if (mn_param_set_load_default(&ps, &e) || mn_validation_load(&v, &e)) die("3d check", &e);
  v.model3d = 1;
  snprintf(v.only_id, sizeof v.only_id, "CT14");
  double t0 = mn_wall_time();
  if (mn_validation_run(&v, &ps, MN_ENSEMBLE_POSTERIOR, DRAWS, 1, THREADS, -1, &e))
    die("3d check", &e);
  double dt = mn_wall_time() - t0;
  const mn_target_eval *r = NULL;
  for (int i = 0; i < v.nrows && !r; i++)
    if (!strcmp(v.targets[v.rows[i].target].id, "CT14")) r = &v.rows[i];
  if (!r) die("3d check: CT14 has no model row", NULL);
  printf(
      "(h) 3D posterior check (CT14: 5 roller sessions, 176 days; the nominal values and %d "
      "draws, %d threads): %.2f draws per core-minute (%.0f s); 3D - lumped %+.2f (largest "
      "%+.2f) points of papillary collagen\n",
      DRAWS, THREADS, (DRAWS + 1) / (dt / 60 * THREADS), dt, r->diff_median, r->diff_max);
  mn_validation_fini(&v);
}

/* One plan for the three regions with @p draws draws, @p reps times: the median time (s), the best
 * in *best and the lumped runs of one plan in *runs. */
static double plan_s(int draws, int reps, int *runs, double *best) {
  static const char patient[] =
      "description: bench - three regions\n"
      "draws: %d\n"
      "patient: {age_y: 41, sex: female, fitzpatrick: 3}\n"
      "regions:\n"
      "  - {region: cheek, concern: acne_scars, severity: moderate, scar_type: rolling}\n"
      "  - {region: forehead, concern: fine_lines, severity: mild}\n"
      "  - {region: perioral, concern: wrinkles, severity: moderate}\n"
      "constraints: {earliest_start: 2027-03-01}\n";
  char text[sizeof patient + 16];
  snprintf(text, sizeof text, patient, draws);
  mn_error e = {0};
  mn_patient_file *pf = NULL;
  mn_skin_atlas *a = NULL;
  mn_device_catalogue *c = NULL;
  static mn_param_set ps;
  mn_candidacy_rules *rules = NULL;
  mn_indications *ind = NULL;
  static mn_plan plan;
  if (mn_patient_file_parse(text, strlen(text), "bench", &pf, &e) || mn_skin_atlas_create(&a, &e) ||
      mn_device_catalogue_create(&c, &e) || mn_param_set_load_default(&ps, &e) ||
      mn_candidacy_rules_create(&rules, &e) || mn_indications_create(&ind, &e))
    die("plan", &e);
  double t[5];
  if (reps > 5) reps = 5;
  for (int r = 0; r < reps; r++) {
    double t0 = mn_wall_time();
    mn_plan_fini(&plan);
    if (mn_plan_make(&pf->req, a, c, &ps, rules, ind, &plan, &e)) die("plan", &e);
    t[r] = mn_wall_time() - t0;
  }
  *runs = plan.evaluations;
  mn_plan_fini(&plan);
  mn_candidacy_rules_destroy(rules);
  mn_indications_destroy(ind);
  *best = t[0];
  for (int r = 1; r < reps; r++) *best = fmin(*best, t[r]);
  mn_patient_file_destroy(pf);
  mn_device_catalogue_destroy(c);
  mn_skin_atlas_destroy(a);
  return median(t, reps);
}

static void plan_rows(void) {
  int runs = 0;
  double pb, pm = plan_s(200, 5, &runs, &pb);
  printf(
      "(f) one plan (3 regions, 200 draws, %d lumped runs, 2 threads): best of 5 %.3f s, "
      "median %.3f s\n",
      runs, pb, pm);
  pm = plan_s(2000, 1, &runs, &pb);
  printf("(f) one plan (3 regions, 2000 draws, %d lumped runs, 2 threads): %.2f s (target 1 s)\n",
         runs, pm);
}

/* ---- the table ------------------------------------------------------------------------------ */
/* The checks of (a) and (b): mass, float32 against double, the production scheme's error. */
static void print_checks(void) {
  double e32a, e32b;
  double em1 = mass_factor_error(0.1, &e32a), em2 = mass_factor_error(1, &e32b);
  double ep1 = production_error(0.1), ep2 = production_error(1);
  printf(
      "checks: (a) total mass / (1 + dt lambda/3)^(-3n) - 1: %.1e (dt 0.1), %.1e (dt 1) - "
      "limit 1e-12: %s\n",
      em1, em2, em1 <= 1e-12 && em2 <= 1e-12 ? "pass" : "FAIL");
  printf(
      "        (a) float32 storage against double, largest difference over the largest value: "
      "%.1e (dt 0.1), %.1e (dt 1) - limit 1e-4: %s\n",
      e32a, e32b, e32a <= 1e-4 && e32b <= 1e-4 ? "pass" : "FAIL");
  printf(
      "        (b) production scheme against the semi-discrete exact cosine mode after %d "
      "steps: %.2e (dt 0.1 min), %.2e (dt 1 min)\n",
      CALL_STEPS, ep1, ep2);
}

/* Rows (d)-(h): the patch run (unless --quick), the lumped twin, the plans, the calibration and
 * the 3D check. */
static void other_rows(const char *mnsim, const char *cas, int quick) {
  if (!quick) {
    double secs = NAN, prss = NAN, fb = NAN;
    int bad = patch_run(mnsim, cas, &secs, &prss, &fb);
    printf(
        "(d) 6-month patch run (%s, 2 threads): %s%.0f s (target 300 s), peak RSS %.0f MB, "
        "fields %.0f MB: %.2fx (target 1.2x)\n",
        cas, bad ? "FAILED after " : "", secs, prss / 1e6, fb / 1e6, prss / fb);
  } else {
    printf("(d) 6-month patch run: skipped (--quick)\n");
  }
  double lb, lm = lumped_ms(&lb);
  printf(
      "(e) one lumped run (3 sessions, 365 days): best of 50 %.2f ms, median %.2f ms (target "
      "5 ms)\n",
      lb, lm);
  plan_rows();
  calib_row();
  check3d_row();
}

/* The options; 0, or 2 after the usage on a bad one. */
static int options(int argc, char **argv, const char **mnsim, const char **cas, int *quick,
                   char *only) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick"))
      *quick = 1;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc && strchr("abcfgh", argv[i + 1][0]) &&
             argv[i + 1][0])
      *only = argv[++i][0];
    else if (!strcmp(argv[i], "--mnsim") && i + 1 < argc)
      *mnsim = argv[++i];
    else if (!strcmp(argv[i], "--patch") && i + 1 < argc)
      *cas = argv[++i];
    else
      return fprintf(stderr,
                     "usage: bench_table [--quick] [--only a|b|c|f|g|h] [--mnsim PATH] [--patch "
                     "CASE]\n"),
             2;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *mnsim = "build/mnsim", *cas = "examples/patch-5mm.yaml";
  int quick = 0;
  char only = 0;
  if (options(argc, argv, &mnsim, &cas, &quick, &only)) return 2;
  mn_log_set_handler(to_stderr, NULL);
  void (*alone)(void) = only == 'g'   ? calib_row
                        : only == 'h' ? check3d_row
                        : only == 'f' ? plan_rows
                                      : NULL;
  if (alone) {
    alone();
    return 0;
  }
  kernel ks[] = {
      {.name = "(a) diffusion dt 0.1 min", .kind = 0, .dt_min = 0.1},
      {.name = "(a) diffusion dt 1 min", .kind = 0, .dt_min = 1},
      {.name = "(a) diffusion float32 dt 0.1", .kind = 0, .f32 = 1, .dt_min = 0.1},
      {.name = "(a) diffusion float32 dt 1", .kind = 0, .f32 = 1, .dt_min = 1},
      {.name = "(b) production dt 0.1 min", .kind = 1, .dt_min = 0.1},
      {.name = "(b) production dt 1 min", .kind = 1, .dt_min = 1},
      {.name = "(c) whole step, cheek slab", .kind = 2, .dt_min = 2},
  };
  enum { NK = sizeof ks / sizeof ks[0] };
  double rss[NK][2];
  for (int k = 0; k < NK; k++)
    for (int th = 1; th <= 2 && (!only || ks[k].name[1] == only); th++)
      rss[k][th - 1] = child_rss(&ks[k], th);
  ta = mn_malloc_array(TN, sizeof(double)), tb = mn_malloc_array(TN, sizeof(double));
  tc = mn_malloc_array(TN, sizeof(double));
  if (!ta || !tb || !tc) die("no memory for the triad's 2.4 GB", NULL);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < TN; i++) ta[i] = 0, tb[i] = 1, tc[i] = 2;

  printf(
      "bench_table: %d-substance diffusion on 100 x 100 x 100 voxels (dx 20 um, D %g um2/min, "
      "decay %g/min);\n  %d steps per timed call, median of %d (triad, kernel) pairs; "
      "floor: 16 bytes per update\n",
      NSUB, D_UM2_MIN, DECAY_PER_MIN, CALL_STEPS, PAIRS);
  print_checks();
  printf("\n%-30s %3s %9s %9s %8s %9s %6s %7s %10s\n", "case", "thr", "ms/step", "Mupd/s", "triad",
         "bytes/upd", "floor", "1->2", "RSS/fields");
  result res[NK][2];
  for (int k = 0; k < NK; k++) {
    if (only && ks[k].name[1] != only) continue;
    measure(&ks[k], rss[k], res[k]);
    for (int th = 1; th <= 2; th++) {
      result r = res[k][th - 1];
      char sp[16] = "";
      if (th == 2) snprintf(sp, sizeof sp, "%.2fx", r.speedup);
      printf("%-30s %3d %9.2f %9.0f %5.1f GB %9.1f %5.0f%% %7s %9.2fx\n", ks[k].name, th, r.ms,
             r.rate / 1e6, r.triad, r.bpu, 100 * 16 / r.bpu, sp, r.rss_ratio);
    }
    fflush(stdout);
  }
  printf("\n");
  for (int k = 0; k < 4 && (!only || only == 'a'); k++) {
    double b = fmin(res[k][0].bpu, res[k][1].bpu);
    printf(
        "diffusion %s: %.1f bytes/update at best (1 thread %.1f, 2 threads %.1f), target "
        "<= 27: %s\n",
        ks[k].name + 14, b, res[k][0].bpu, res[k][1].bpu, b <= 27 ? "met" : "NOT met");
  }
  mn_free(ta), mn_free(tb), mn_free(tc); /* the patch run's child must not inherit them */
  ta = tb = tc = NULL;
  if (only) return 0;
  other_rows(mnsim, cas, quick);
  return 0;
}
