/* Agreement of the lumped twin with the 3D model on periodic unit cells (issue 4, models.md 8.2):
 * needle depth 0.5/1.0/1.5/2.0 mm x density 100/300/1000/3000 per cm2 x 1 and 3 sessions.
 * For each case, layer averages of the papillary dermis: peaks and peak times of P, N, M within
 * 10 %, the redness day within 10 %, collagen change at 1, 3 and 6 months within 5 % of the gain.
 * Prints the table; exits 1 when a case is outside the bounds.
 * --extended: model v2's courses instead (intervals of 1, 4 and 16 weeks, 4 and 8 monthly
 * sessions, the roller course of CT14), with the papillary collagen, the epidermis (K) and the
 * papillary elastin read 30, 90 and 180 days after the last session, each within 5 % of its
 * largest gain (same bounds; the peaks and every session's redness as above).
 * --cohorts 0|1: the lumped twin without or with its lumen cohorts (default: the library's).
 * --lumped-only: no 3D runs; both columns show the lumped twin (to compare with a 3D table
 * recorded before, e.g. after a change of the lumped twin alone).
 * --only N: the extended sweep's course N (0-5) alone.
 * --set NAME=VALUE: a model parameter for both models (a diagnostic: which term makes a gap).
 * --seeds K: a course of several sessions is run in 3D with the seeds 1..K (default 8) and
 * compared by its mean (run3d below); the largest standard error of that mean among the bounded
 * gains is printed ("3D se"). One session needs one run.
 * Diagnostics: AGREE_ONLY=a AGREE_B=b [AGREE_C=c] runs v1's case (depth a, density b, sessions
 * c) alone; AGREE_DUMP prints the papillary time courses (AGREE_STRIDE: every sample).
 * usage: agree [--quick | --extended [--only N]] [--dx UM] [--rn FACTOR] [--cohorts 0|1]
 *              [--seeds K] [--lumped-only] [--set NAME=VALUE ...] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/mnsim.h"

typedef struct res {
  mn_outcome o;
  double steps;
  double peak[3], peak_t[3]; /* P, N, M in the papillary dermis after the first session */
  double gain[3];    /* papillary collagen (C1 + C3) gained since just after the first session, at
                        30, 90 and 180 days, percent */
  double late[3][3]; /* --extended: 30, 90, 180 days after the last session, percent: papillary
                        collagen since day 0, epidermal K excess, papillary elastin since day 0 */
  double se_gain[3], se_late[3][3]; /* 3D: standard errors of the means over the seeds */
} res;

/* The peaks after the first session (before @p until: the second session or day 42) and the
 * collagen gains since day 0. */
static void gains(const mn_timeseries *ts, double until, res *r) {
  static const int sp[3] = {MN_SP_P, MN_SP_N, MN_SP_M};
  for (int q = 0; q < 3; q++) {
    r->peak[q] = r->peak_t[q] = 0;
    int im = -1;
    for (int i = 0; i < ts->n && ts->t[i] < until; i++) {
      double v = mn_ts_mean(ts, i, MN_LAYER_PD, sp[q]);
      if (v > r->peak[q]) r->peak[q] = v, r->peak_t[q] = ts->t[i], im = i;
    }
    /* the vertex of the parabola through the largest sample and its neighbours: a peak time
     * finer than the sampling (an early peak at 0.2 d must be resolved to 0.02 d) */
    if (im > 0 && im + 1 < ts->n) {
      double t0 = ts->t[im - 1], t1 = ts->t[im], t2 = ts->t[im + 1];
      double y0 = mn_ts_mean(ts, im - 1, MN_LAYER_PD, sp[q]), y1 = r->peak[q],
             y2 = mn_ts_mean(ts, im + 1, MN_LAYER_PD, sp[q]);
      double d01 = (y1 - y0) / (t1 - t0), d12 = (y2 - y1) / (t2 - t1), c = (d12 - d01) / (t2 - t0);
      if (c < 0) {
        double tv = 0.5 * (t0 + t1) - d01 / (2 * c);
        if (tv > t0 && tv < t2) {
          r->peak_t[q] = tv;
          r->peak[q] = y1 + d01 * (tv - t1) + c * (tv - t0) * (tv - t1);
        }
      }
    }
  }
  static const double at[3] = {30, 90, 180};
  double c0 = mn_ts_at(ts, MN_LAYER_PD, MN_SP_C1, 0) + mn_ts_at(ts, MN_LAYER_PD, MN_SP_C3, 0);
  for (int q = 0; q < 3; q++)
    r->gain[q] = 100 * (mn_ts_at(ts, MN_LAYER_PD, MN_SP_C1, at[q]) +
                        mn_ts_at(ts, MN_LAYER_PD, MN_SP_C3, at[q]) - c0);
}

/* The gains 30, 90 and 180 days after the last session (day @p last). */
static void late_gains(const mn_timeseries *ts, double last, res *r) {
  static const double at[3] = {30, 90, 180};
  double c0 = mn_ts_at(ts, MN_LAYER_PD, MN_SP_C1, 0) + mn_ts_at(ts, MN_LAYER_PD, MN_SP_C3, 0);
  double k0 = mn_ts_at(ts, MN_LAYER_VE, MN_SP_K, 0), e0 = mn_ts_at(ts, MN_LAYER_PD, MN_SP_E, 0);
  for (int q = 0; q < 3; q++) {
    double t = last + at[q];
    r->late[0][q] = 100 * (mn_ts_at(ts, MN_LAYER_PD, MN_SP_C1, t) +
                           mn_ts_at(ts, MN_LAYER_PD, MN_SP_C3, t) - c0);
    r->late[1][q] = 100 * (mn_ts_at(ts, MN_LAYER_VE, MN_SP_K, t) - k0);
    r->late[2][q] = 100 * (mn_ts_at(ts, MN_LAYER_PD, MN_SP_E, t) - e0);
  }
}

static mn_skin_atlas *atlas;
static mn_device_catalogue *cat;
static mn_skin skin;
static mn_param_set ps;
static int cohorts = -1, lumped_only; /* --cohorts (-1: the default), --lumped-only */
static int only = -1;                 /* --only N: the extended sweep's course N alone (0-5) */
static int seeds = 8;                 /* --seeds K: 3D runs per course of several sessions */

static void dump(const char *name, const mn_timeseries *ts) {
  if (getenv("AGREE_DUMP_P")) {
    for (int i = 0; i < ts->n && ts->t[i] < 1.0; i += 2)
      printf("%s t=%5.2f P(VE,PD,RD)=%.3f %.3f %.3f d=%.3f %.3f %.3f V=%.3f\n", name, ts->t[i],
             mn_ts_mean(ts, i, MN_LAYER_VE, MN_SP_P), mn_ts_mean(ts, i, MN_LAYER_PD, MN_SP_P),
             mn_ts_mean(ts, i, MN_LAYER_RD, MN_SP_P), mn_ts_mean(ts, i, MN_LAYER_VE, MN_SP_D),
             mn_ts_mean(ts, i, MN_LAYER_PD, MN_SP_D), mn_ts_mean(ts, i, MN_LAYER_RD, MN_SP_D),
             ts->redness[i]);
    return;
  }
  int sp[6] = {MN_SP_T, MN_SP_F, MN_SP_C3, MN_SP_C1, MN_SP_N, MN_SP_M};
  for (int i = 0; i < ts->n; i += getenv("AGREE_STRIDE") ? 1 : (ts->t[i] < 10 ? 6 : 10)) {
    printf("%s t=%6.2f", name, ts->t[i]);
    for (int q = 0; q < 6; q++)
      printf(" %s=%.4f", mn_species_name(sp[q]), mn_ts_mean(ts, i, MN_LAYER_PD, sp[q]));
    printf("\n");
  }
}

/* One course of @p sessions sessions @p interval days apart with @p device at @p depth_mm and @p
 * density per cm2, as a 3D unit cell at about @p dx um or as the lumped twin (near-zone factor @p
 * rn, 0 = default). The series is sampled every 15 minutes in the week after each session (the
 * mediator peaks within hours), then daily. */
static void run(int mode, const char *device, double depth_mm, double density, int sessions,
                double interval, double dx, double rn, double t_end, uint64_t seed, res *r) {
  mn_error e = {0};
  mn_device_params dp = {.depth_mm = depth_mm};
  snprintf(dp.model, sizeof dp.model, "%s", device);
  mn_device dev;
  mn_device_init(&dev, cat, &dp, &e);
  mn_grid_params gp = {.dx_um = dx, .dz_epi_um = 10, .dz_pd_um = 20, .dz_rd_um = 40};
  size_t nso;
  const mn_config_desc *sot = mn_solver_param_table(&nso);
  mn_solver_params so;
  mn_config_defaults(sot, nso, &so); /* the shipped step tolerance */
  so.min_step_day = 1e-5, so.threads = 0;
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  if (rn > 0) lp.rn_factor = rn;
  if (cohorts >= 0) lp.cohorts = cohorts;
  mn_course_params p;
  mn_course_params_default(&p);
  p.mode = mode;
  p.model = &ps.p;
  p.skin = &skin;
  p.dev = &dev;
  p.density_cm2 = density;
  p.depth_mm = depth_mm;
  p.sessions = sessions;
  p.interval_day = interval;
  p.days = t_end;
  p.sample_hours = 0.25;
  p.seed = seed;
  p.grid = &gp;
  p.solver = &so;
  p.supersample = 4;
  p.lumped = &lp;
  mn_course *c = NULL;
  if (mn_course_create(&p, &c, &e) || mn_course_run(c, &e) || mn_course_outcome(c, &r->o, &e)) {
    fprintf(stderr, "%s: %s\n", mode == MN_COURSE_LUMPED ? "lumped" : "3d", e.msg);
    exit(2);
  }
  r->steps = (double)mn_course_steps(c);
  if (getenv("AGREE_DUMP")) dump(mode == MN_COURSE_LUMPED ? "lumped" : "3d", mn_course_series(c));
  gains(mn_course_series(c), sessions > 1 ? fmin(42, interval) : 42, r);
  late_gains(mn_course_series(c), interval * (sessions - 1), r);
  mn_course_destroy(c);
  mn_device_fini(&dev);
}

/* A running sum for a mean and its standard error. */
typedef struct acc {
  double s, s2;
  int n;
} acc;
static void acc_add(acc *a, double x) {
  a->s += x, a->s2 += x * x, a->n++;
}
static double acc_mean(const acc *a) {
  return a->s / a->n;
}
static double acc_se(const acc *a) {
  double m = acc_mean(a);
  return a->n > 1 ? sqrt(fmax(0, a->s2 / a->n - m * m) / (a->n - 1)) : 0;
}

/* The 3D reference of a course: a unit cell holds one channel, the first session's at its centre
 * and each later one at a random place (the seed's), so a course of several sessions is one
 * sample of where the channels fall relative to each other. The lumped twin models the mean over
 * those places (its zones are mixed before each later session), so the reference is the mean
 * over the seeds 1..K (--seeds), with the standard errors of the bounded gains. One session needs
 * one run: its channel is always at the centre. */
static void run3d(const char *device, double depth_mm, double density, int sessions,
                  double interval, double dx, double rn, double t_end, res *r) {
  struct {
    acc steps, thick, elast, red[MN_MAX_SESSIONS], peak[3], peak_t[3], gain[3], late[3][3];
  } a;
  memset(&a, 0, sizeof a);
  memset(r, 0, sizeof *r);
  res x;
  for (int k = 1; k <= (sessions > 1 ? seeds : 1); k++) {
    run(MN_COURSE_UNIT_CELL, device, depth_mm, density, sessions, interval, dx, rn, t_end,
        (uint64_t)k, &x);
    if (k == 1) r->o = x.o; /* the fields averaged below are replaced by their means */
    acc_add(&a.steps, x.steps), acc_add(&a.thick, x.o.thickness_end_um);
    acc_add(&a.elast, x.o.elasticity_end_pct);
    for (int s = 0; s < sessions; s++) acc_add(&a.red[s], x.o.redness_days[s]);
    for (int q = 0; q < 3; q++) {
      acc_add(&a.peak[q], x.peak[q]), acc_add(&a.peak_t[q], x.peak_t[q]);
      acc_add(&a.gain[q], x.gain[q]);
      for (int w = 0; w < 3; w++) acc_add(&a.late[w][q], x.late[w][q]);
    }
  }
  r->steps = acc_mean(&a.steps), r->o.thickness_end_um = acc_mean(&a.thick);
  r->o.elasticity_end_pct = acc_mean(&a.elast);
  for (int s = 0; s < sessions; s++) r->o.redness_days[s] = acc_mean(&a.red[s]);
  for (int q = 0; q < 3; q++) {
    r->peak[q] = acc_mean(&a.peak[q]), r->peak_t[q] = acc_mean(&a.peak_t[q]);
    r->gain[q] = acc_mean(&a.gain[q]), r->se_gain[q] = acc_se(&a.gain[q]);
    for (int w = 0; w < 3; w++)
      r->late[w][q] = acc_mean(&a.late[w][q]), r->se_late[w][q] = acc_se(&a.late[w][q]);
  }
}

/* The largest of @p n standard errors */
static double max_se(const double *se, int n) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, se[i]);
  return m;
}

static double rel(double a, double b) {
  return fabs(a - b) / fmax(fabs(b), 1e-12);
}

/* The peaks, peak times and every session's redness within 10 % (lumped against 3D). */
static int early_ok(const res *r3, const res *rl, int sessions) {
  int ok = 1;
  for (int q = 0; q < 3; q++)
    ok &= rel(rl->peak[q], r3->peak[q]) <= 0.10 && rel(rl->peak_t[q], r3->peak_t[q]) <= 0.10;
  for (int k = 0; k < sessions; k++)
    ok &= rel(rl->o.redness_days[k], r3->o.redness_days[k]) <= 0.10;
  return ok;
}

/* Model v2's courses (the design's extensions of the sweep): returns the cases out of bounds. */
static int extended(double dx, double rn) {
  static const struct {
    const char *device;
    double depth, density;
    int sessions;
    double interval;
  } cases[] = {{"pen-12", 1.0, 300, 3, 7},   {"pen-12", 1.0, 300, 3, 28},
               {"pen-12", 1.0, 300, 3, 112}, {"pen-12", 1.5, 300, 4, 30},
               {"pen-12", 1.5, 300, 8, 30},  {"roller-192", 1.5, 250, 5, 30}};
  static const char *const what[3] = {"PD collagen", "VE K", "PD elastin"};
  int bad = 0;
  printf("%-10s %5s %5s %2s %4s | %-12s | 3D/lumped gain %% 30, 90, 180 d after the last session\n",
         "device", "depth", "n/cm2", "s", "int", "peaks, red.");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (only >= 0 && (size_t)only != i) continue;
    double t_end = cases[i].interval * (cases[i].sessions - 1) + 181;
    res r3, rl;
    run(MN_COURSE_LUMPED, cases[i].device, cases[i].depth, cases[i].density, cases[i].sessions,
        cases[i].interval, dx, rn, t_end, 1, &rl);
    if (lumped_only)
      r3 = rl;
    else
      run3d(cases[i].device, cases[i].depth, cases[i].density, cases[i].sessions, cases[i].interval,
            dx, rn, t_end, &r3);
    int ok = early_ok(&r3, &rl, cases[i].sessions);
    printf("%-10s %5.1f %5.0f %2d %4.0f | %-12s |", cases[i].device, cases[i].depth,
           cases[i].density, cases[i].sessions, cases[i].interval, ok ? "ok" : "OUT");
    if (!ok || getenv("AGREE_VERBOSE")) { /* what is out: peaks (times) and every redness */
      printf(" P %.3g/%.3g (%.3g/%.3g) N %.3g/%.3g (%.3g/%.3g) M %.3g/%.3g (%.3g/%.3g) red.",
             r3.peak[0], rl.peak[0], r3.peak_t[0], rl.peak_t[0], r3.peak[1], rl.peak[1],
             r3.peak_t[1], rl.peak_t[1], r3.peak[2], rl.peak[2], r3.peak_t[2], rl.peak_t[2]);
      for (int k = 0; k < cases[i].sessions; k++)
        printf(" %.2f/%.2f", r3.o.redness_days[k], rl.o.redness_days[k]);
      printf(" |");
    }
    for (int w = 0; w < 3; w++) {
      double gain = 0;
      for (int q = 0; q < 3; q++) gain = fmax(gain, fabs(r3.late[w][q]));
      int okw = 1;
      for (int q = 0; q < 3; q++)
        okw &= fabs(rl.late[w][q] - r3.late[w][q]) <= 0.05 * fmax(gain, 1e-3);
      printf(" %s %.2f/%.2f %.2f/%.2f %.2f/%.2f (3D se %.2f) %s;", what[w], r3.late[w][0],
             rl.late[w][0], r3.late[w][1], rl.late[w][1], r3.late[w][2], rl.late[w][2],
             max_se(r3.se_late[w], 3), okw ? "ok" : "OUT");
      ok &= okw;
    }
    /* what a user reads at the end (181 days after the last session; not bounded) */
    printf(" thickening %.1f/%.1f um, stiffness %+.2f/%+.2f %%\n", r3.o.thickness_end_um,
           rl.o.thickness_end_um, r3.o.elasticity_end_pct, rl.o.elasticity_end_pct);
    fflush(stdout);
    bad += !ok;
  }
  printf("%d case(s) outside the bounds\n", bad);
  return bad;
}

/* v1's sweep: needle depth x density x 1 and 3 sessions 42 days apart (pen-12); returns 1 when a
 * case is outside the bounds. */
static int sweep(int quick, double dx, double rn) {
  double depths[4] = {0.5, 1.0, 1.5, 2.0}, dens[4] = {100, 300, 1000, 3000};
  int sess[2] = {1, 3}, bad = 0;
  printf("%5s %6s %2s | %-21s %-21s %-21s | %-13s | %-29s %s\n", "depth", "n/cm2", "s",
         "P peak 3D/lump (t)", "N peak", "M peak", "redness d", "PD collagen gain % at 30/90/180 d",
         "3D se");
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 2; c++) {
        if (quick && (a % 2 || b % 2 || c)) continue;
        if (getenv("AGREE_ONLY") &&
            (a != atoi(getenv("AGREE_ONLY")) || b != atoi(getenv("AGREE_B")) ||
             c != (getenv("AGREE_C") ? atoi(getenv("AGREE_C")) : 0)))
          continue;
        int S = sess[c];
        double t_end = 42.0 * (S - 1) + 180;
        res r3, rl;
        run(MN_COURSE_LUMPED, "pen-12", depths[a], dens[b], S, 42, dx, rn, t_end, 1, &rl);
        if (lumped_only)
          r3 = rl;
        else
          run3d("pen-12", depths[a], dens[b], S, 42, dx, rn, t_end, &r3);
        const mn_outcome *x = &r3.o, *y = &rl.o;
        int ok = early_ok(&r3, &rl, S);
        double gain = 0; /* the collagen gained since just after the first session */
        for (int q = 0; q < 3; q++) gain = fmax(gain, fabs(r3.gain[q]));
        for (int q = 0; q < 3; q++) ok &= fabs(rl.gain[q] - r3.gain[q]) <= 0.05 * fmax(gain, 1e-3);
        printf(
            "%5.1f %6.0f %2d | %4.2f/%4.2f (%3.2f/%3.2f) %4.2f/%4.2f (%3.1f/%3.1f) %4.2f/%4.2f "
            "(%3.1f/%3.1f) | %4.2f/%4.2f | %5.2f/%5.2f %5.2f/%5.2f %5.2f/%5.2f %4.2f %s\n",
            depths[a], dens[b], S, r3.peak[0], rl.peak[0], r3.peak_t[0], rl.peak_t[0], r3.peak[1],
            rl.peak[1], r3.peak_t[1], rl.peak_t[1], r3.peak[2], rl.peak[2], r3.peak_t[2],
            rl.peak_t[2], x->redness_days[0], y->redness_days[0], r3.gain[0], rl.gain[0],
            r3.gain[1], rl.gain[1], r3.gain[2], rl.gain[2], max_se(r3.se_gain, 3),
            ok ? "ok" : "OUT");
        fflush(stdout);
        bad += !ok;
      }
  printf("%d case(s) outside the bounds\n", bad);
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  int quick = 0, ext = 0;
  double dx = 20, rn = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else if (!strcmp(argv[i], "--extended"))
      ext = 1;
    else if (!strcmp(argv[i], "--dx") && i + 1 < argc)
      dx = atof(argv[++i]);
    else if (!strcmp(argv[i], "--rn") && i + 1 < argc)
      rn = atof(argv[++i]);
    else if (!strcmp(argv[i], "--cohorts") && i + 1 < argc)
      cohorts = atoi(argv[++i]) != 0;
    else if (!strcmp(argv[i], "--lumped-only"))
      lumped_only = 1;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
      seeds = atoi(argv[++i]);
      if (seeds < 1 || seeds > 1000) {
        fprintf(stderr, "--seeds %s: a whole number from 1 to 1000 expected\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(argv[i], "--set") && i + 1 < argc)
      i++; /* applied below */
  }
  mn_error e = {0};
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = 3};
  if (mn_skin_atlas_create(&atlas, &e) || mn_device_catalogue_create(&cat, &e) ||
      mn_skin_build(atlas, &sp, &skin, &e) || mn_param_set_load_default(&ps, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 2;
  }
  for (int i = 1; i < argc; i++) /* --set, after the table is loaded */
    if (!strcmp(argv[i], "--set") && i + 1 < argc) {
      char name[64];
      double v;
      if (sscanf(argv[++i], "%63[^=]=%lf", name, &v) != 2 || mn_param_set_set(&ps, name, v, &e)) {
        fprintf(stderr, "--set %s: %s\n", argv[i], e.msg[0] ? e.msg : "NAME=VALUE expected");
        return 2;
      }
    }
  return ext ? (extended(dx, rn) ? 1 : 0) : sweep(quick, dx, rn);
}
