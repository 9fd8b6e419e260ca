/* The model's shapes (issue "Healing model v2", docs/model.md "Shapes"): how sessions, interval,
 * depth, density, needle, skin type and sun move the outcomes of the lumped twin, printed as a
 * table and asserted against what the literature says. Default protocol: pen-12 at 1.0 mm, two
 * passes (about 600 punctures/cm2), cheek, female, 40 years, Fitzpatrick III, monthly sessions,
 * review 180 days after the last session, the shipped nominal parameters.
 * usage: shapes [--no-assert]   (exit 1 when a shape is violated) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/mnsim.h"

static mn_skin_atlas *atlas;
static mn_device_catalogue *cat;
static mn_param_set ps;
static int failures, check = 1;

static void die(const mn_error *e) {
  fprintf(stderr, "shapes: %s\n", e->msg);
  exit(2);
}

/* One course; what differs from the default protocol is in @p q. */
typedef struct proto {
  const char *device;
  double depth_mm, density, interval_day, review_day, uvi, adherence;
  int sessions, fitz;
} proto;

static proto base(void) {
  return (proto){"pen-12", 1.0, 600, 30, 180, 5, 0.9, 1, 3};
}

static void run(const proto *q, mn_outcome *o, mn_timeseries *series_copy) {
  mn_error e = {0};
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = q->fitz};
  mn_skin sk;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  if (mn_skin_build(atlas, &sp, &sk, &e) ||
      mn_device_init_at(&dev, cat, q->device, q->depth_mm, &e))
    die(&e);
  mn_course_params p;
  mn_course_params_default(&p);
  p.mode = MN_COURSE_LUMPED;
  p.model = &ps.p;
  p.fitzpatrick = q->fitz;
  p.skin = &sk;
  p.dev = &dev;
  p.density_cm2 = q->density;
  p.depth_mm = q->depth_mm;
  p.sessions = q->sessions;
  p.interval_day = q->interval_day;
  p.days = (q->sessions - 1) * q->interval_day + q->review_day;
  p.sun.uvi = q->uvi;
  p.sun.adherence = q->adherence;
  mn_course *c = NULL;
  if (mn_course_create(&p, &c, &e) || mn_course_run(c, &e) || mn_course_outcome(c, o, &e)) die(&e);
  if (series_copy) {
    const mn_timeseries *ts = mn_course_series(c);
    if (mn_timeseries_init(series_copy, ts->n, &e)) die(&e);
    for (int i = 0; i < ts->n; i++) {
      double m[MN_LAYER_HYPO][MN_NSPECIES];
      memcpy(m, ts->mean + (size_t)i * MN_LAYER_HYPO * MN_NSPECIES, sizeof m);
      mn_timeseries_add(series_copy, ts->t[i], ts->session[i], ts->redness[i], m, &e);
    }
  }
  mn_course_destroy(c);
  mn_device_fini(&dev);
}

static double gain(const proto *q) { /* papillary collagen change at the review, % */
  mn_outcome o;
  run(q, &o, NULL);
  return o.collagen_end_pct[0];
}

static void expect(int ok, const char *what) {
  printf("  [%s] %s\n", ok ? "ok" : "FAIL", what);
  if (!ok && check) failures++;
}

/* The share of depth mixed acne scars lose (the clinical scales' observation model v2) at a
 * papillary collagen change of @p collagen_pct. */
static double scar_fill(double collagen_pct) {
  return 100 * mn_outcome_depth_loss_mix(&ps.p, collagen_pct / 100);
}

static void sessions_sweep(void) {
  printf("sessions 1-8, monthly (papillary collagen at the review, %%; mixed scars' fill, %%)\n ");
  double g[9] = {0}, f[9] = {0};
  for (int k = 1; k <= 8; k++) {
    proto q = base();
    q.sessions = k;
    g[k] = gain(&q);
    f[k] = scar_fill(g[k]);
    printf(" %d: %+.1f (%.1f)", k, g[k], f[k]);
  }
  printf("\n");
  int rising = 1;
  for (int k = 2; k <= 8; k++) rising &= g[k] > g[k - 1] && f[k] > f[k - 1];
  expect(rising, "every session adds, to collagen and to the fill");
  expect(g[8] - g[4] < 0.5 * g[4], "sessions 5-8 add less than half of what sessions 1-4 add");
  expect(f[8] - f[4] < 0.5 * f[4], "the fill too");
  expect(f[3] - f[2] < f[2] - f[1],
         "the third session adds less fill than the second (PMID 34596936, CT28: none at all)");
}

static void interval_sweep(void) {
  static const int weeks[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16};
  enum { NW = sizeof weeks / sizeof weeks[0] };
  double g[NW], best = -1;
  int at = 0;
  printf("3 sessions, interval 1-16 weeks (papillary collagen 180 d after the last, %%)\n ");
  for (int i = 0; i < NW; i++) {
    proto q = base();
    q.sessions = 3, q.interval_day = 7 * weeks[i];
    g[i] = gain(&q);
    if (g[i] > best) best = g[i], at = i;
    printf(" %dwk: %+.1f", weeks[i], g[i]);
  }
  printf("\n");
  expect(weeks[at] >= 4 && weeks[at] <= 8, "the best interval lies in 4-8 weeks");
  expect(g[0] <= 0.95 * best, "weekly sessions lose at least 5 %");
  expect(g[NW - 1] < best, "16 weeks apart is worse than the best");
}

static void time_course(void) {
  proto q = base();
  q.review_day = 400;
  mn_outcome o;
  mn_timeseries ts;
  run(&q, &o, &ts);
  static const double days[] = {7, 30, 60, 90, 120, 180, 270, 365};
  double c[8], peak = 0, tpk = 0, f60 = 0, s90 = 0, spk = 0;
  printf("one session: papillary collagen C1 + C3 (%%), F and S (Q)\n ");
  for (int i = 0; i < 8; i++) {
    c[i] = 100 * (mn_ts_at(&ts, MN_LAYER_PD, MN_SP_C1, days[i]) +
                  mn_ts_at(&ts, MN_LAYER_PD, MN_SP_C3, days[i]) - 1);
    printf(" d%.0f: %+.1f", days[i], c[i]);
  }
  for (int i = 0; i < ts.n; i++) {
    double v =
        mn_ts_mean(&ts, i, MN_LAYER_PD, MN_SP_C1) + mn_ts_mean(&ts, i, MN_LAYER_PD, MN_SP_C3);
    if (v > peak) peak = v, tpk = ts.t[i];
    spk = fmax(spk, mn_ts_mean(&ts, i, MN_LAYER_PD, MN_SP_S));
  }
  f60 = mn_ts_at(&ts, MN_LAYER_PD, MN_SP_F, 60);
  s90 = mn_ts_at(&ts, MN_LAYER_PD, MN_SP_S, 90);
  printf("\n  peak at day %.0f; F at 60 d %.3f; S at 90 d %.3f (peak %.3f)\n", tpk, f60, s90, spk);
  expect(c[3] < 0.95 * c[5], "collagen at 90 d is below 95 % of that at 180 d (still rising)");
  expect(fabs(c[7] - c[5]) <= 0.1 * c[5], "at 365 d within 10 % of 180 d (plateau)");
  expect(tpk >= 120 && tpk <= 270, "the peak falls between days 120 and 270");
  expect(f60 < 0.05, "activated fibroblasts are gone by day 60");
  expect(s90 >= 0.25 * spk, "the synthetic tail is still at a quarter of its peak at day 90");
  mn_timeseries_fini(&ts);
}

/* Issue 15, item 2: the visible outcome of a course (the dermal thickening psi sum_l h_l dC_l,
 * papillary and reticular; and the scars' fill, which follows the papillary collagen gain) keeps
 * rising after the last session for at least 3 months and levels off near 6; it does not peak at
 * 1 month. */
static void course_time_course(void) {
  static const double after[] = {30, 60, 90, 120, 180, 240, 365};
  enum { NA = sizeof after / sizeof after[0] };
  double h[NA], f[NA], peak = 0, tpk = 0, fpeak = 0, fpk = 0;
  printf(
      "3 monthly sessions: dermal thickening (um; mixed scars' fill, %%) after the last "
      "session\n ");
  for (int i = 0; i < NA; i++) {
    proto q = base();
    q.sessions = 3, q.review_day = after[i];
    mn_outcome o;
    run(&q, &o, NULL);
    h[i] = o.thickness_end_um;
    f[i] = scar_fill(o.collagen_end_pct[0]);
    if (h[i] > peak) peak = h[i], tpk = after[i];
    if (f[i] > fpeak) fpeak = f[i], fpk = after[i];
    printf(" +%.0fd: %.1f (%.1f)", after[i], h[i], f[i]);
  }
  printf("\n");
  expect(h[0] < h[1] && h[1] < h[2] && h[2] < h[3],
         "thickening rises for at least 3 months after the last session (30 < 60 < 90 < 120 d)");
  expect(tpk >= 120 && tpk <= 240, "the peak falls 4-8 months after the last session, not at 1");
  expect(fabs(h[6] - h[4]) <= 0.15 * h[4], "at 12 months within 15 % of 6 months (plateau)");
  expect(f[0] < f[1] && f[1] < f[2] && f[2] < f[3],
         "the fill rises for at least 3 months after the last session (30 < 60 < 90 < 120 d)");
  expect(fpk >= 90, "the fill peaks 3 months or more after the last session, not at 1");
  expect(fabs(f[6] - f[4]) <= 0.10 * f[4], "the fill at 12 months within 10 % of 6 months");
}

static void depth_sweep(void) {
  static const double depth[] = {0.25, 0.5, 1.0, 1.5, 2.0, 2.5};
  double bar[6];
  printf("depth 0.25-2.5 mm: barrier open (h), collagen at the review (%%)\n ");
  for (int i = 0; i < 6; i++) {
    proto q = base();
    q.depth_mm = depth[i];
    mn_outcome o;
    run(&q, &o, NULL);
    bar[i] = 24 * o.barrier_days[0];
    printf(" %.2fmm: %.0f h %+.1f", depth[i], bar[i], o.collagen_end_pct[0]);
  }
  printf("\n");
  int nondec = 1;
  for (int i = 1; i < 6; i++) nondec &= bar[i] >= bar[i - 1] - 1e-9;
  expect(nondec, "deeper channels close no sooner");
  expect(bar[0] < bar[1] && bar[1] < bar[2], "and strictly later from 0.25 to 1.0 mm");
  proto w = base();
  w.device = "pen-exceed-6", w.depth_mm = 1.0;
  mn_outcome o;
  run(&w, &o, NULL);
  printf("  wider needle (pen-exceed-6, 0.35 mm): barrier %.0f h\n", 24 * o.barrier_days[0]);
  expect(24 * o.barrier_days[0] > bar[2], "wider channels close later");
}

static void density_sweep(void) {
  static const double dens[] = {100, 300, 600, 1000, 2000};
  double g[5];
  printf("density 100-2000 per cm2: collagen at the review (%%)\n ");
  for (int i = 0; i < 5; i++) {
    proto q = base();
    q.density = dens[i];
    g[i] = gain(&q);
    printf(" %.0f: %+.1f", dens[i], g[i]);
  }
  printf("\n");
  int rising = 1;
  for (int i = 1; i < 4; i++) rising &= g[i] > g[i - 1];
  expect(rising, "denser treatments gain more, up to 1000 per cm2");
  expect(g[2] - g[1] < g[1] - g[0] && g[3] - g[2] < g[2] - g[1],
         "with diminishing returns (the set point)");
  /* one-sided: no source measures 2000 against 1000 per cm2, so the model may lose gain to the
   * cut tissue there (it does, by about 8 % at the nominal values of 2026-12-04); what it must not
   * do is keep gaining as if the set point did not exist */
  expect(g[4] < 1.05 * g[3],
         "2000 per cm2 gains no more than 5 % above 1000: the set point and the cut tissue cap it");
}

static void skin_type_sweep(void) {
  double bar[7], pih[7], sun[7], col[7];
  printf("Fitzpatrick I-VI: barrier (h), PIH risk (%%), sun window (d), collagen (%%)\n");
  for (int f = 1; f <= 6; f++) {
    proto q = base();
    q.fitz = f;
    mn_outcome o;
    run(&q, &o, NULL);
    bar[f] = 24 * o.barrier_days[0], pih[f] = 100 * o.pih_risk, sun[f] = o.sun_days[0];
    col[f] = o.collagen_end_pct[0];
    printf("  %s: %.1f h  %.1f %%  %.1f d  %+.1f %%\n", mn_fitzpatrick_name(f), bar[f], pih[f],
           sun[f], col[f]);
  }
  expect(bar[4] < bar[1] && bar[1] == bar[2] && bar[2] == bar[3] && bar[3] < bar[5] &&
             bar[5] == bar[6],
         "barrier: IV < I = II = III < V = VI (Ogunjimi 2020)");
  int pih_up = 1, sun_up = 1, same = 1;
  for (int f = 2; f <= 6; f++) {
    pih_up &= pih[f] >= pih[f - 1];
    sun_up &= sun[f] >= sun[f - 1] - 1e-9 || f == 4;      /* IV closes sooner */
    same &= fabs(col[f] - col[1]) <= 1e-3 * fabs(col[1]); /* CVODE's steps follow Mel too */
  }
  expect(pih_up, "PIH risk does not fall with skin type");
  expect(sun_up, "the sun window does not shorten with skin type (but for IV's faster barrier)");
  expect(same, "collagen does not depend on skin type");
}

static void sun_sweep(void) {
  printf("sun: UV index 0 / 3 / 6 / 9, adherence yes (0.9) / no (0)\n");
  double pih[2][4], win[2][4];
  static const double uvi[4] = {0, 3, 6, 9};
  for (int a = 0; a < 2; a++)
    for (int i = 0; i < 4; i++) {
      proto q = base();
      q.uvi = uvi[i], q.adherence = a ? 0.0 : 0.9, q.fitz = 4;
      mn_outcome o;
      run(&q, &o, NULL);
      pih[a][i] = 100 * o.pih_risk, win[a][i] = o.sun_days[0];
      printf("  UVI %.0f %s: PIH %.1f %%, sun window %.1f d\n", uvi[i],
             a ? "no protection" : "protected    ", pih[a][i], win[a][i]);
    }
  expect(pih[1][2] > pih[0][2], "without protection the PIH risk is higher (UVI 6, type IV)");
  expect(pih[0][3] >= pih[0][1], "more sun, more PIH");
  expect(win[0][3] >= win[0][1] && win[0][1] >= win[0][0],
         "the sun window does not shorten with more sun (it is the barrier's when the melanogenic "
         "drive ends first)");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--no-assert")) check = 0;
  mn_error e = {0};
  if (mn_skin_atlas_create(&atlas, &e) || mn_device_catalogue_create(&cat, &e) ||
      mn_param_set_load_default(&ps, &e))
    die(&e);
  sessions_sweep();
  interval_sweep();
  time_course();
  course_time_course();
  depth_sweep();
  density_sweep();
  skin_type_sweep();
  sun_sweep();
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  printf("%d shape(s) violated\n", failures);
  return failures ? 1 : 0;
}
