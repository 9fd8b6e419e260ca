/* Unit tests of the course: channel groups from the passes' own depths, the schedules, the event
 * and step loop against a whole run, positions for resumed runs, the bands, and every allocation
 * failure on the create paths. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "mnsim/mnsim.h"

static struct {
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_skin skin;
  mn_device dev;
  mn_param_set ps;
} fx;

static void setup(void) {
  mn_error e = {0};
  mn_skin_params sp = {.region = "cheek", .age_y = 45, .fitzpatrick = 3};
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.0};
  cr_assert_eq(mn_skin_atlas_create(&fx.atlas, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_device_catalogue_create(&fx.cat, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_skin_build(fx.atlas, &sp, &fx.skin, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_device_init(&fx.dev, fx.cat, &dp, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_param_set_load_default(&fx.ps, &e), MN_OK, "%s", e.msg);
}
static void teardown(void) {
  mn_device_fini(&fx.dev);
  mn_device_catalogue_destroy(fx.cat);
  mn_skin_atlas_destroy(fx.atlas);
}

/* A treatment of @p n passes at 100 mm/s over a 10 mm square, pass i at depth depth_mm[i]. */
static mn_treatment passes(int n, const double *depth_mm) {
  mn_treatment t;
  memset(&t, 0, sizeof t);
  double sq[4][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
  memcpy(t.outline_mm, sq, sizeof sq);
  t.n_outline = 4;
  size_t np;
  const mn_config_desc *tab = mn_pass_param_table(&np);
  for (int i = 0; i < n; i++) {
    mn_config_defaults(tab, np, &t.passes[i]);
    t.passes[i].direction = i % 3;
    t.passes[i].speed_mm_per_s = 100;
    t.passes[i].depth_mm = depth_mm[i];
  }
  t.n_passes = n;
  return t;
}

static mn_course_params lumped(const mn_treatment *t) {
  mn_course_params p;
  mn_course_params_default(&p);
  p.mode = MN_COURSE_LUMPED;
  p.model = &fx.ps.p;
  p.skin = &fx.skin;
  p.dev = &fx.dev;
  p.treatment = t;
  p.days = 120;
  return p;
}

Test(course, passes_of_one_depth_are_one_group, .init = setup, .fini = teardown) {
  /* the device's own depth (pass depth 0) and the same depth given per pass are one group; the
   * density is the sum of the passes' and the outcome is bit for bit the run without passes */
  double d0[3] = {0, 0, 0}, d1[3] = {1.0, 1.0, 0};
  mn_treatment a = passes(3, d0), b = passes(3, d1);
  mn_course_params pa = lumped(&a), pb = lumped(&b);
  mn_course *ca = NULL, *cb = NULL, *cc = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_course_create(&pa, &ca, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_create(&pb, &cb, &e), MN_OK, "%s", e.msg);
  double n = 0;
  for (int i = 0; i < 3; i++) n += mn_device_pass_density_cm2(&fx.dev, &a.passes[i]);
  cr_assert_eq(mn_course_density_cm2(ca), n);
  cr_assert_eq(mn_course_density_cm2(cb), n);
  cr_assert_eq(mn_course_depth_um(ca), mn_device_depth_um(&fx.dev, 1.0));
  mn_course_params pc = lumped(NULL);
  pc.density_cm2 = n, pc.depth_mm = 1.0;
  cr_assert_eq(mn_course_create(&pc, &cc, &e), MN_OK, "%s", e.msg);
  mn_outcome oa, ob, oc;
  mn_course *all[3] = {ca, cb, cc};
  mn_outcome *out[3] = {&oa, &ob, &oc};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(mn_course_run(all[i], &e), MN_OK, "%s", e.msg);
    cr_assert(mn_course_done(all[i]));
    cr_assert_eq(mn_course_outcome(all[i], out[i], &e), MN_OK, "%s", e.msg);
  }
  cr_assert(memcmp(&oa, &ob, sizeof oa) == 0 && memcmp(&oa, &oc, sizeof oa) == 0);
  for (int i = 0; i < 3; i++) mn_course_destroy(all[i]);
}

Test(course, each_pass_reaches_its_own_depth, .init = setup, .fini = teardown) {
  /* a deeper second pass: the deepest group is that pass's effective depth, and the dermis
   * thickens more than with both passes at the shallower depth */
  double mixed[2] = {1.0, 2.0}, same[2] = {1.0, 1.0};
  mn_treatment tm = passes(2, mixed), ts = passes(2, same);
  mn_course_params pm = lumped(&tm), ps = lumped(&ts);
  mn_course *cm = NULL, *cs = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_course_create(&pm, &cm, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_create(&ps, &cs, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_depth_um(cm), mn_device_depth_um(&fx.dev, 2.0));
  cr_assert_eq(mn_course_depth_um(cs), mn_device_depth_um(&fx.dev, 1.0));
  mn_outcome om, os;
  cr_assert_eq(mn_course_run(cm, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_run(cs, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_outcome(cm, &om, &e), MN_OK);
  cr_assert_eq(mn_course_outcome(cs, &os, &e), MN_OK);
  cr_assert(om.thickness_end_um > os.thickness_end_um, "%g vs %g", om.thickness_end_um,
            os.thickness_end_um);
  mn_course_destroy(cm);
  mn_course_destroy(cs);
  /* a unit cell holds one channel: two depths are refused, naming the passes */
  pm.mode = MN_COURSE_UNIT_CELL;
  mn_grid_params gp = {.dx_um = 20, .dz_epi_um = 10, .dz_pd_um = 20, .dz_rd_um = 40};
  size_t n;
  mn_solver_params so;
  const mn_config_desc *st = mn_solver_param_table(&n);
  mn_config_defaults(st, n, &so);
  pm.grid = &gp, pm.solver = &so;
  cr_assert_eq(mn_course_create(&pm, &cm, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "treatment.passes");
  cr_assert_null(cm);
  /* a pass beyond the device's range is refused as `mnsim device` refuses it */
  double deep[2] = {1.0, 3.4};
  mn_treatment td = passes(2, deep);
  mn_course_params pd = lumped(&td);
  mn_error_clear(&e);
  cr_assert_eq(mn_course_create(&pd, &cm, &e), MN_ERANGE);
  cr_assert_str_eq(e.key, "treatment.passes[1].depth_mm");
}

Test(course, schedule_refusals, .init = setup, .fini = teardown) {
  mn_course_params p = lumped(NULL);
  p.density_cm2 = 300, p.depth_mm = 1.0;
  p.sessions = 3, p.interval_day = 42, p.days = 84; /* the third session on the last day */
  mn_course *c = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "simulate.days");
  p.days = 85;
  mn_error_clear(&e);
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_session_day(c, 2), 84);
  cr_assert(isnan(mn_course_session_day(c, 3)));
  mn_course_destroy(c);
  p.density_cm2 = 0; /* no passes and no density: nothing to simulate */
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_EINPUT);
  p.density_cm2 = 300, p.model = NULL;
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_EUSAGE);
}

/* A 3D unit cell of two sessions over 3 days on a coarse grid. */
static mn_course_params cell(mn_grid_params *gp, mn_solver_params *so) {
  size_t n;
  const mn_config_desc *gt = mn_grid_param_table(&n);
  mn_config_defaults(gt, n, gp);
  const mn_config_desc *st = mn_solver_param_table(&n);
  mn_config_defaults(st, n, so);
  gp->dx_um = 40, gp->dz_epi_um = 20, gp->dz_pd_um = 40, gp->dz_rd_um = 80;
  mn_course_params p = lumped(NULL);
  p.mode = MN_COURSE_UNIT_CELL;
  p.density_cm2 = 300, p.depth_mm = 1.0;
  p.sessions = 2, p.interval_day = 1.5, p.days = 3, p.sample_hours = 6;
  p.grid = gp, p.solver = so;
  p.seed = 5;
  return p;
}

Test(course, events_and_steps_are_the_whole_run, .init = setup, .fini = teardown) {
  /* the CLI's loop (events, steps to a caller's stop) and mn_course_run give the same series bit
   * for bit; positions restore only within the schedule */
  mn_grid_params gp;
  mn_solver_params so;
  mn_course_params p = cell(&gp, &so);
  mn_course *a = NULL, *b = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_course_create(&p, &a, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_create(&p, &b, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_run(a, &e), MN_OK, "%s", e.msg);
  int steps = 0;
  for (;;) {
    cr_assert_eq(mn_course_events(b, &e), MN_OK, "%s", e.msg);
    if (mn_course_done(b)) break;
    mn_step_info info;
    double before = mn_course_time(b);
    cr_assert_eq(mn_course_step(b, 2.25, &info, &e), MN_OK, "%s", e.msg);
    cr_assert(before >= 2.25 || info.t_day <= 2.25, "stepped over the caller's stop");
    steps++;
  }
  const mn_timeseries *sa = mn_course_series(a), *sb = mn_course_series(b);
  cr_assert_eq(sa->n, sb->n);
  cr_assert(sa->n > 10);
  cr_assert(memcmp(sa->mean, sb->mean,
                   sizeof(double) * (size_t)sa->n * MN_LAYER_HYPO * MN_NSPECIES) == 0);
  cr_assert_eq(sa->session[sa->n - 1], 2);
  cr_assert_eq(mn_course_time(a), 3);
  mn_course_position pos;
  mn_course_get_position(a, &pos);
  cr_assert_eq(pos.next_session, 2);
  cr_assert_eq(pos.next_sample, sa->n);
  pos.next_session = 3;
  cr_assert_eq(mn_course_set_position(a, &pos, &e), MN_EINPUT);
  pos.next_session = 2, pos.next_sample = sa->n - 1; /* not what the series holds */
  cr_assert_eq(mn_course_set_position(a, &pos, &e), MN_EINPUT);
  mn_course_destroy(a);
  mn_course_destroy(b);
}

Test(course, bands_count_their_draws, .init = setup, .fini = teardown) {
  mn_course_params p = lumped(NULL);
  p.density_cm2 = 300, p.depth_mm = 1.0, p.days = 60;
  mn_course *c = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_OK, "%s", e.msg);
  mn_model_params draws[3] = {fx.ps.p, fx.ps.p, fx.ps.p};
  draws[2].k_P = NAN; /* a draw whose run fails: counted, left out of the quantiles */
  mn_outcome_bands b;
  memset(&b, 0, sizeof b);
  cr_assert_eq(mn_course_bands(c, draws, 3, 1, &b, NULL, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(b.kept, 3);
  cr_assert_eq(b.failed, 1);
  /* two identical draws: every band collapses onto the nominal run */
  cr_assert_eq(mn_course_run(c, &e), MN_OK);
  mn_outcome o;
  cr_assert_eq(mn_course_outcome(c, &o, &e), MN_OK);
  double v = mn_outcome_scalar(&o, MN_OQ_REDNESS_DAYS_FIRST);
  for (int q = 0; q < 3; q++)
    cr_assert(fabs(b.band[MN_OQ_REDNESS_DAYS_FIRST][q] - v) <= 1e-12 * v, "%g vs %g",
              b.band[MN_OQ_REDNESS_DAYS_FIRST][q], v);
  mn_course_destroy(c);
}

Test(course, every_allocation_failure_is_clean, .init = setup, .fini = teardown) {
  /* fail each allocation in turn through the create and run paths of a 3D and a lumped course */
  mn_grid_params gp;
  mn_solver_params so;
  for (int mode = 0; mode < 2; mode++) {
    int reached_ok = 0;
    for (long k = 1; k < 400 && !reached_ok; k++) {
      mn_course_params p = cell(&gp, &so);
      if (mode) p.mode = MN_COURSE_LUMPED, p.days = 20;
      p.days = fmin(p.days, 3);
      long base = mn_alloc_live();
      mn_course *c = NULL;
      mn_error e = {0};
      long c0 = mn_alloc_count();
      mn_alloc_fail_at(k);
      int rc = mn_course_create(&p, &c, &e);
      if (!rc) rc = mn_course_run(c, &e);
      mn_alloc_fail_at(0);
      long used = mn_alloc_count() - c0;
      cr_assert(rc == MN_OK || rc == MN_ENOMEM, "mode %d k=%ld rc=%d %s", mode, k, rc, e.msg);
      /* OK only past the path: a run that succeeds although allocation k failed swallowed it */
      cr_assert(rc != MN_OK || k > used, "mode %d k=%ld: OK although allocation %ld of %ld failed",
                mode, k, k, used);
      reached_ok = rc == MN_OK;
      mn_course_destroy(c);
      cr_assert_eq(mn_alloc_live(), base, "mode %d k=%ld leaked %ld blocks", mode, k,
                   mn_alloc_live() - base);
    }
    cr_assert(reached_ok, "mode %d: never succeeded", mode);
  }
}

/* A lumped course of k + 1 sessions resumed from what the course of k sessions held (its state
 * at day k I and its samples before) gives the series and outcome of that course run from day 0
 * - which holds too, as every planner course does - bit for bit, chained 1 -> 2 -> 3 sessions,
 * with hourly samples after each session and daily ones; and a course of another interval cannot
 * take it (its samples differ; that the settings and parameters are the same is the caller's to
 * ensure: the planner keys what it keeps by them). */
Test(course, a_course_resumed_from_a_shorter_ones_hold_is_the_course_from_day_0, .init = setup,
     .fini = teardown) {
  mn_error e = {0};
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  lp.rtol = 1e-4, lp.compact = 1; /* the planner's */
  mn_course_hold held = {0}, scratch = {0}, next = {0};
  for (int k = 1; k <= 3; k++) {
    mn_course_params p = lumped(NULL);
    p.density_cm2 = 300, p.depth_mm = 1.0;
    p.sessions = k, p.interval_day = 35, p.days = 35 * (k - 1) + 150;
    p.lumped = &lp;
    mn_course *ref = NULL, *res = NULL;
    p.hold = &scratch;
    cr_assert_eq(mn_course_create(&p, &ref, &e), MN_OK, "%s", e.msg);
    cr_assert_eq(mn_course_run(ref, &e), MN_OK, "%s", e.msg);
    p.hold = &next;
    p.resume = k > 1 ? &held : NULL;
    cr_assert_eq(mn_course_create(&p, &res, &e), MN_OK, "%s", e.msg);
    cr_assert_eq(mn_course_run(res, &e), MN_OK, "%s", e.msg);
    cr_assert_eq(next.lumped.t_day, 35.0 * k);
    const mn_timeseries *a = mn_course_series(ref), *b = mn_course_series(res);
    cr_assert_eq(a->n, b->n);
    cr_assert(!memcmp(a->t, b->t, (size_t)a->n * sizeof *a->t));
    cr_assert(
        !memcmp(a->mean, b->mean, (size_t)a->n * MN_LAYER_HYPO * MN_NSPECIES * sizeof *a->mean),
        "%d sessions: the resumed course's layer means differ", k);
    cr_assert(!memcmp(a->redness, b->redness, (size_t)a->n * sizeof *a->redness));
    mn_outcome oa, ob;
    cr_assert_eq(mn_course_outcome(ref, &oa, &e), MN_OK, "%s", e.msg);
    cr_assert_eq(mn_course_outcome(res, &ob, &e), MN_OK, "%s", e.msg);
    cr_assert_eq(oa.collagen_end_pct[0], ob.collagen_end_pct[0]);
    cr_assert_eq(oa.pih_risk, ob.pih_risk);
    for (int s = 0; s < k; s++) cr_assert_eq(oa.redness_days[s], ob.redness_days[s]);
    /* the hold's samples are the course's before its day */
    cr_assert(next.ts.n > 0 && next.ts.t[next.ts.n - 1] < next.lumped.t_day);
    cr_assert(next.ts.n == a->n || a->t[next.ts.n] >= next.lumped.t_day);
    mn_course_destroy(ref);
    mn_course_destroy(res);
    mn_course_hold t = held;
    held = next, next = t;
  }
  /* another interval: its samples are not the held course's */
  mn_course_params p = lumped(NULL);
  p.density_cm2 = 300, p.depth_mm = 1.0, p.lumped = &lp;
  p.sessions = 4, p.interval_day = 42, p.days = 300;
  held.lumped.t_day = 42 * 3; /* as if held at this course's fourth session */
  p.resume = &held;
  mn_course *c = NULL;
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_run(c, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "held course"), "%s", e.msg);
  mn_course_destroy(c);
  mn_course_hold_fini(&held);
  mn_course_hold_fini(&next);
  mn_course_hold_fini(&scratch);
}
