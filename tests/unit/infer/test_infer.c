/* Unit tests of the infer module: the ensemble sampler and its diagnostics, the targets'
 * likelihoods and the parsing of their columns. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "mnsim/infer.h"

/* A correlated 2-D Gaussian: means (1, -2), SDs (1, 0.5), correlation 0.8. */
static void gauss2(int n, int d, const double *x, const double *floor, double *lp, void *user) {
  (void)floor;
  int *calls = user;
  (*calls)++;
  for (int i = 0; i < n; i++) {
    double a = (x[i * d] - 1) / 1.0, b = (x[i * d + 1] + 2) / 0.5, r = 0.8;
    lp[i] = -0.5 * (a * a - 2 * r * a * b + b * b) / (1 - r * r);
  }
}

/* The same, evaluated back to front (as another thread schedule would). */
static void gauss2_reversed(int n, int d, const double *x, const double *floor, double *lp,
                            void *user) {
  for (int i = n - 1; i >= 0; i--) gauss2(1, d, x + i * d, NULL, lp + i, user);
  /* and use the shortcut: a point below its floor may come back as -inf */
  if (floor)
    for (int i = 0; i < n; i++)
      if (lp[i] < floor[i]) lp[i] = -INFINITY;
}

static void start(double *x0, int w) {
  for (int k = 0; k < w; k++) x0[2 * k] = 0.1 * k - 1, x0[2 * k + 1] = 0.05 * (k % 7);
}

/* The sampler with DE fraction de recovers gauss2's moments, and its diagnostics agree. */
static void recovers_gauss2(double de) {
  enum { W = 16 };
  double x0[2 * W];
  start(x0, W);
  mn_mcmc_opts o = {.walkers = W, .steps = 3000, .a = 2.0, .seed = 7, .de = de};
  mn_mcmc_chain c;
  mn_error err = {0};
  int calls = 0;
  cr_assert_eq(mn_mcmc_run(2, x0, &o, gauss2, &calls, &c, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(calls, 1 + 2 * 3000); /* the start, then one batch per half-step */
  double m[2] = {0}, v[2] = {0}, cxy = 0;
  int burn = 500, n = (c.steps - burn) * W;
  for (int s = burn; s < c.steps; s++)
    for (int k = 0; k < W; k++)
      for (int q = 0; q < 2; q++) m[q] += c.x[(s * W + k) * 2 + q] / n;
  for (int s = burn; s < c.steps; s++)
    for (int k = 0; k < W; k++) {
      double a = c.x[(s * W + k) * 2] - m[0], b = c.x[(s * W + k) * 2 + 1] - m[1];
      v[0] += a * a / n, v[1] += b * b / n, cxy += a * b / n;
    }
  cr_assert(fabs(m[0] - 1) < 0.1 && fabs(m[1] + 2) < 0.05, "means %g %g", m[0], m[1]);
  cr_assert(fabs(sqrt(v[0]) - 1) < 0.1 && fabs(sqrt(v[1]) - 0.5) < 0.05, "sds %g %g", sqrt(v[0]),
            sqrt(v[1]));
  cr_assert(fabs(cxy / sqrt(v[0] * v[1]) - 0.8) < 0.05, "correlation %g", cxy / sqrt(v[0] * v[1]));
  mn_mcmc_diag dg;
  cr_assert_eq(mn_mcmc_diagnose(&c, burn, &dg, &err), MN_OK);
  cr_assert(dg.rhat_max < 1.01, "R-hat %g", dg.rhat_max);
  /* the stretch move accepts 0.4-0.9 in 2-D; DE at the optimal random-walk scale about 0.35 */
  double amin = de > 0.5 ? 0.25 : 0.3;
  cr_assert(dg.acceptance > amin && dg.acceptance < 0.9, "acceptance %g", dg.acceptance);
  /* Goodman-Weare in 2-D: tau of order 10-40 steps; the ESS follows from it */
  cr_assert(dg.tau_max > 2 && dg.tau_max < 60, "tau %g", dg.tau_max);
  cr_assert(fabs(dg.ess[0] - W * (c.steps - burn) / dg.tau[0]) < 1e-9);
  cr_assert(dg.tau_converged[0] && dg.tau_converged[1]);
  mn_mcmc_chain_fini(&c);
}

Test(mcmc, recovers_a_correlated_gaussian_with_stretch_moves) {
  recovers_gauss2(0);
}
Test(mcmc, recovers_a_correlated_gaussian_with_de_moves) {
  recovers_gauss2(1);
}
Test(mcmc, recovers_a_correlated_gaussian_with_mixed_moves) {
  recovers_gauss2(0.8);
}

Test(mcmc, the_chain_depends_on_the_seed_only_not_on_the_evaluation_order) {
  enum { W = 8 };
  double x0[2 * W];
  start(x0, W);
  mn_mcmc_opts o = {.walkers = W, .steps = 200, .a = 2.0, .seed = 3, .de = 0.5};
  mn_mcmc_chain a, b, c;
  mn_error err = {0};
  int calls = 0;
  cr_assert_eq(mn_mcmc_run(2, x0, &o, gauss2, &calls, &a, &err), MN_OK);
  cr_assert_eq(mn_mcmc_run(2, x0, &o, gauss2_reversed, &calls, &b, &err), MN_OK);
  cr_assert_eq(memcmp(a.x, b.x, sizeof(double) * 200 * W * 2), 0);
  o.seed = 4;
  cr_assert_eq(mn_mcmc_run(2, x0, &o, gauss2, &calls, &c, &err), MN_OK);
  cr_assert_neq(memcmp(a.x, c.x, sizeof(double) * 200 * W * 2), 0);
  mn_mcmc_chain_fini(&a);
  mn_mcmc_chain_fini(&b);
  mn_mcmc_chain_fini(&c);
}

/* save hook: keeps the state after step `at` (a copy of its chain prefix), asks for nothing else */
typedef struct kept {
  int at, forced;
  mn_mcmc_state st;
  double x[60 * 8 * 2], lp[60 * 8];
} kept;
static int keep_state(const mn_mcmc_state *st, int force, void *user, mn_error *err) {
  (void)err;
  kept *k = user;
  if (force) k->forced++;
  if (st->done != k->at) return 0;
  k->st = *st;
  memcpy(k->x, st->x, sizeof(double) * (size_t)st->done * 8 * 2);
  memcpy(k->lp, st->lp, sizeof(double) * (size_t)st->done * 8);
  k->st.x = k->x, k->st.lp = k->lp;
  return 0;
}

Test(mcmc, a_chain_resumed_from_a_saved_state_is_the_unbroken_chain) {
  enum { W = 8, S = 60 };
  double x0[2 * W];
  start(x0, W);
  static kept k = {.at = 23};
  mn_mcmc_opts o = {.walkers = W, .steps = S, .a = 2.0, .seed = 9, .de = 0.5};
  o.save = keep_state, o.save_user = &k;
  mn_mcmc_chain a, b;
  mn_error err = {0};
  int calls = 0;
  cr_assert_eq(mn_mcmc_run(2, x0, &o, gauss2, &calls, &a, &err), MN_OK);
  cr_assert_eq(k.st.done, 23);
  cr_assert_eq(k.forced, 0);
  mn_mcmc_opts r = {.walkers = W, .steps = S, .a = 2.0, .seed = 9, .de = 0.5, .resume = &k.st};
  int before = calls;
  cr_assert_eq(mn_mcmc_run(2, NULL, &r, gauss2, &calls, &b, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(calls - before, 2 * (S - 23), "the resumed run evaluates only the steps left");
  cr_assert_eq(memcmp(a.x, b.x, sizeof(double) * S * W * 2), 0);
  cr_assert_eq(memcmp(a.lp, b.lp, sizeof(double) * S * W), 0);
  cr_assert_eq(a.accepted, b.accepted);
  cr_assert_eq(a.proposed, b.proposed);
  mn_mcmc_chain_fini(&a);
  mn_mcmc_chain_fini(&b);
  k.st.done = S + 1; /* more steps than the run has */
  cr_assert_eq(mn_mcmc_run(2, NULL, &r, gauss2, &calls, &b, &err), MN_EINPUT);
}

static void flat_box(int n, int d, const double *x, const double *floor, double *lp, void *user) {
  (void)user, (void)floor;
  for (int i = 0; i < n; i++) {
    lp[i] = 0;
    for (int q = 0; q < d; q++)
      if (x[i * d + q] < 0 || x[i * d + q] > 1) lp[i] = -INFINITY;
  }
}

Test(mcmc, stays_inside_a_hard_wall_and_refuses_a_bad_start) {
  enum { W = 8 };
  double x0[2 * W];
  for (int i = 0; i < 2 * W; i++) x0[i] = 0.3 + 0.02 * i;
  mn_mcmc_opts o = {.walkers = W, .steps = 300, .a = 2.0, .seed = 5, .de = 0.5};
  mn_mcmc_chain c;
  mn_error err = {0};
  cr_assert_eq(mn_mcmc_run(2, x0, &o, flat_box, NULL, &c, &err), MN_OK);
  for (int i = 0; i < 300 * W * 2; i++) cr_assert(c.x[i] >= 0 && c.x[i] <= 1);
  mn_mcmc_chain_fini(&c);
  x0[3] = 2; /* walker 1 outside */
  cr_assert_eq(mn_mcmc_run(2, x0, &o, flat_box, NULL, &c, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "walker 1"), "%s", err.msg);
  cr_assert_null(c.x);
  o.walkers = 3; /* odd */
  cr_assert_eq(mn_mcmc_run(2, x0, &o, flat_box, NULL, &c, &err), MN_ERANGE);
  o.walkers = 2; /* fewer than 2 d */
  cr_assert_eq(mn_mcmc_run(2, x0, &o, flat_box, NULL, &c, &err), MN_ERANGE);
  o.walkers = W, o.de = 1.5; /* not a fraction */
  cr_assert_eq(mn_mcmc_run(2, x0, &o, flat_box, NULL, &c, &err), MN_ERANGE);
}

Test(mcmc, split_rhat_flags_walkers_that_never_mix) {
  /* a hand-made chain: half of the walkers around 0, half around 5 */
  enum { W = 4, S = 100 };
  mn_mcmc_chain c = {1, W, S, NULL, NULL, 10, 100};
  c.x = mn_malloc_array(W * S, sizeof *c.x);
  c.lp = mn_malloc_array(W * S, sizeof *c.lp);
  for (int s = 0; s < S; s++)
    for (int k = 0; k < W; k++) c.x[s * W + k] = (k < 2 ? 0 : 5) + 0.1 * sin(s * 1.7 + k);
  mn_mcmc_diag dg;
  mn_error err = {0};
  cr_assert_eq(mn_mcmc_diagnose(&c, 10, &dg, &err), MN_OK);
  cr_assert(dg.rhat[0] > 2, "R-hat %g", dg.rhat[0]);
  cr_assert_eq(mn_mcmc_diagnose(&c, 95, &dg, &err), MN_ERANGE);
  mn_free(c.x);
  mn_free(c.lp);
}

Test(targets, each_likelihood_kind) {
  mn_target_eval r;
  memset(&r, 0, sizeof r);
  r.lik = MN_LIK_NONE;
  cr_assert_eq(mn_target_loglik(&r, 3), 0);
  r.lik = MN_LIK_NORMAL, r.l1 = 50, r.l2 = 2;
  cr_assert_float_eq(mn_target_loglik(&r, 54), -2, 1e-12);
  cr_assert(isinf(mn_target_loglik(&r, NAN)));
  r.l2 = 3, r.l3 = 4; /* a reading error adds in quadrature: SD 5 */
  cr_assert_float_eq(mn_target_loglik(&r, 60), -2, 1e-12);
  r.l3 = 0;
  r.lik = MN_LIK_INTERVAL, r.lo = 4, r.hi = 72, r.l2 = 4;
  cr_assert_eq(mn_target_loglik(&r, 30), 0);
  cr_assert_float_eq(mn_target_loglik(&r, 80), -2, 1e-12);
  cr_assert_float_eq(mn_target_loglik(&r, 0), -0.5, 1e-12);
  r.l2 = 3, r.l3 = 4; /* the edges' SD too */
  cr_assert_float_eq(mn_target_loglik(&r, 82), -2, 1e-12);
  r.l3 = 0;
  r.lik = MN_LIK_BINOMIAL, r.l1 = 5, r.l2 = 30;
  double best = mn_target_loglik(&r, 100.0 * 5 / 30);
  cr_assert(best > mn_target_loglik(&r, 10) && best > mn_target_loglik(&r, 25));
  cr_assert_float_eq(best, 5 * log(5.0 / 30) + 25 * log(25.0 / 30), 1e-9);
  r.l1 = 0, r.l2 = 46; /* 0 events: the likelihood falls with p, finite at 0 */
  cr_assert(mn_target_loglik(&r, 0) > mn_target_loglik(&r, 5));
  cr_assert(isfinite(mn_target_loglik(&r, 0)));
  r.lik = MN_LIK_CHECK, r.lo = 2, r.hi = 4;
  cr_assert_eq(mn_target_loglik(&r, 3), 0);
  cr_assert(isinf(mn_target_loglik(&r, 4.5)));
}

static const char T[] =
    "id,role,quantity,value,unit,time_point,condition,source\n"
    "A,calibration,q,1,h,t,c,s\n"
    "B,validation,q,1,h,t,c,s\n"
    "C,acceptance,q,1,h,t,c,s\n";
static const char H[] =
    "id,evaluate,region,sex,fitzpatrick,device,depth_mm,density_cm2,sessions,"
    "interval_day,days,quantity,arg,rule,lo,hi,note,likelihood,l1,l2\n";
#define ROW(id, lik) \
  id ",model,cheek,female,3,pen-12,0.5,600,1,42,14,barrier_hours_first,0,in,40,60,," lik "\n"

static int parse(const char *models, mn_error *err) {
  mn_validation v;
  memset(err, 0, sizeof *err); /* an error keeps its first message */
  int rc = mn_validation_parse(T, strlen(T), models, strlen(models), &v, err);
  mn_validation_fini(&v);
  return rc;
}

Test(targets, likelihood_columns_keep_the_roles_apart) {
  mn_error err = {0};
  const char *ok =
      "id,evaluate,region,sex,fitzpatrick,device,depth_mm,density_cm2,sessions,"
      "interval_day,days,quantity,arg,rule,lo,hi,note,likelihood,l1,l2\n" ROW("A", "normal,50,2")
          ROW("B", ",,") ROW("C", "check,,");
  cr_assert_eq(parse(ok, &err), MN_OK, "%s", err.msg);
  char buf[2048];
  /* a validation target is never fitted */
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "normal,50,2"), ROW("B", "normal,50,2"),
           ROW("C", "check,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "validation target"), "%s", err.msg);
  /* an acceptance target is a check, not data */
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "normal,50,2"), ROW("B", ",,"),
           ROW("C", "normal,50,2"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  /* a normal likelihood needs its SD; a binomial whole counts */
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "normal,50,0"), ROW("B", ",,"),
           ROW("C", "check,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "l2 > 0"), "%s", err.msg);
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "binomial,31,30"), ROW("B", ",,"),
           ROW("C", "check,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "gauss,1,1"), ROW("B", ",,"),
           ROW("C", "check,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "allowed normal, interval, binomial, check"), "%s", err.msg);
}

/* The optional l3 column (the reading error): old tables without it still parse; a negative
 * one, or one on a row outside the normal and interval likelihoods, is refused. */
Test(targets, the_reading_error_column) {
  mn_error err = {0};
  static const char H3[] =
      "id,evaluate,region,sex,fitzpatrick,device,depth_mm,density_cm2,sessions,"
      "interval_day,days,quantity,arg,rule,lo,hi,note,likelihood,l1,l2,l3\n";
  char buf[2048];
  snprintf(buf, sizeof buf, "%s%s%s%s", H3, ROW("A", "normal,50,2,3"), ROW("B", ",,,"),
           ROW("C", "check,,,"));
  mn_validation v;
  cr_assert_eq(mn_validation_parse(T, strlen(T), buf, strlen(buf), &v, &err), MN_OK, "%s", err.msg);
  cr_assert_float_eq(v.rows[0].l3, 3, 1e-12);
  cr_assert_eq(v.rows[1].l3, 0);
  mn_validation_fini(&v);
  snprintf(buf, sizeof buf, "%s%s%s%s", H3, ROW("A", "normal,50,2,-1"), ROW("B", ",,,"),
           ROW("C", "check,,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "l3"), "%s", err.msg);
  snprintf(buf, sizeof buf, "%s%s%s%s", H3, ROW("A", "binomial,3,30,1"), ROW("B", ",,,"),
           ROW("C", "check,,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  snprintf(buf, sizeof buf, "%s%s%s%s", H3, ROW("A", "normal,50,2,"), ROW("B", ",,,2"),
           ROW("C", "check,,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT, "a reading error on a validation row");
}

#define REPORT(id, range, lik)                                                                   \
  id ",model,cheek,female,3,pen-12,0.5,600,1,42,14,barrier_hours_first,0,report," range ",," lik \
     "\n"

/* rule report: a validation row without a published spread is evaluated, shown, never judged;
 * a calibration or acceptance row, or a report row with a range, is refused. */
Test(targets, a_reported_row_is_never_judged) {
  mn_error err = {0};
  char buf[2048];
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "normal,50,2"), REPORT("B", ",", ",,"),
           ROW("C", "check,,"));
  mn_validation v;
  cr_assert_eq(mn_validation_parse(T, strlen(T), buf, strlen(buf), &v, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(v.rows[1].rule, MN_RULE_REPORT);
  mn_validation_fini(&v);
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "normal,50,2"), REPORT("B", "20,60", ",,"),
           ROW("C", "check,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "rule report"), "%s", err.msg);
  snprintf(buf, sizeof buf, "%s%s%s%s", H, REPORT("A", ",", "normal,50,2"), ROW("B", ",,"),
           ROW("C", "check,,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  snprintf(buf, sizeof buf, "%s%s%s%s", H, ROW("A", "normal,50,2"), ROW("B", ",,"),
           REPORT("C", ",", ",,"));
  cr_assert_eq(parse(buf, &err), MN_EINPUT);
  /* evaluated: the shipped tables' reported rows get a model value and no verdict */
  cr_assert_eq(mn_validation_load(&v, &err), MN_OK, "%s", err.msg);
  int reported = 0;
  for (int i = 0; i < v.nrows; i++) {
    const mn_target_eval *r = &v.rows[i];
    if (r->rule != MN_RULE_REPORT) continue;
    reported++;
    cr_assert_eq(v.targets[r->target].role, MN_TARGET_VALIDATION);
    cr_assert(strstr(r->note, "R3"), "%s: the note names its rule", v.targets[r->target].id);
  }
  cr_assert_eq(reported, 2, "CT22 and CT24");
  mn_param_set ps;
  cr_assert_eq(mn_param_set_load_prior(&ps, &err), MN_OK, "%s", err.msg);
  snprintf(v.only_id, sizeof v.only_id, "CT24");
  cr_assert_eq(mn_validation_run(&v, &ps, MN_ENSEMBLE_PRIOR, 0, 1, 1, -1, &err), MN_OK, "%s",
               err.msg);
  int found = 0;
  for (int t = 0; t < v.ntargets; t++) {
    if (strcmp(v.targets[t].id, "CT24")) continue;
    found++;
    cr_assert_eq(v.targets[t].verdict, MN_VERDICT_NOT_JUDGED);
    cr_assert(isfinite(v.rows[v.targets[t].first].nominal), "the model value is still shown");
  }
  cr_assert_eq(found, 1, "CT24 evaluated once");
  mn_validation_fini(&v);
}

Test(targets, shipped_calibration_rows_have_likelihoods_from_their_data) {
  mn_validation v;
  mn_error err = {0};
  cr_assert_eq(mn_validation_load(&v, &err), MN_OK, "%s", err.msg);
  int normal = 0, binomial = 0, checks = 0;
  for (int i = 0; i < v.nrows; i++) {
    const mn_target_eval *r = &v.rows[i];
    int role = v.targets[r->target].role;
    if (role == MN_TARGET_VALIDATION || role == MN_TARGET_INPUT) cr_assert_eq(r->lik, MN_LIK_NONE);
    if (role == MN_TARGET_CALIBRATION && r->kind == MN_EVAL_MODEL)
      cr_assert_neq(r->lik, MN_LIK_NONE, "%s", v.targets[r->target].id);
    if (r->lik == MN_LIK_NORMAL) { /* the pass range is the likelihood's 95 % range */
      normal++;
      double sd = hypot(r->l2, r->l3);
      cr_assert_float_eq(r->lo, r->l1 - 1.96 * sd, 0.01 * sd, "%s", v.targets[r->target].id);
      cr_assert_float_eq(r->hi, r->l1 + 1.96 * sd, 0.01 * sd);
    }
    binomial += r->lik == MN_LIK_BINOMIAL;
    checks += r->lik == MN_LIK_CHECK;
  }
  cr_assert_eq(normal, 7); /* CT05a-c, CT14, CT16, CT25, CT26 */
  cr_assert_eq(binomial, 3);
  cr_assert_eq(checks, 5); /* SEED1 at three depths, SEED2 two ratios */
  mn_validation_fini(&v);
}

/* A target that cannot fail is not a target: over draws of the prior every evaluated model row
 * (calibration, acceptance and validation alike) leaves its range for at least one draw. */
Test(targets, every_model_target_can_fail, .timeout = 300) {
  enum { N = 128 };
  mn_validation v;
  mn_param_set ps;
  mn_skin_atlas *atlas = NULL;
  mn_device_catalogue *cat = NULL;
  mn_model_params draws[N];
  int kept = 0, dropped = 0;
  mn_error err = {0};
  cr_assert_eq(mn_validation_load(&v, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(mn_param_set_load_prior(&ps, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(mn_skin_atlas_create(&atlas, &err), MN_OK);
  cr_assert_eq(mn_device_catalogue_create(&cat, &err), MN_OK);
  cr_assert_eq(mn_uq_sample(&ps, N, 11, draws, &kept, &dropped, &err), MN_OK);
  cr_assert(kept >= N / 2);
  for (int i = 0; i < v.nrows; i++) {
    const mn_target_eval *r = &v.rows[i];
    if (r->kind != MN_EVAL_MODEL || r->rule != MN_RULE_IN) continue;
    int outside = 0, finite = 0;
    for (int k = 0; k < kept && !outside; k++) {
      double x = mn_target_eval_model(r, &draws[k], atlas, cat);
      finite += isfinite(x);
      outside |= isfinite(x) && (x < r->lo || x > r->hi);
    }
    cr_assert(finite > 0, "%s: no draw evaluates", v.targets[r->target].id);
    cr_expect(outside, "%s (row %d, %s in [%g, %g]) passes for every prior draw: it cannot fail",
              v.targets[r->target].id, i, r->quantity, r->lo, r->hi);
  }
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  mn_validation_fini(&v);
}

/* The shipped posterior: its header, and an ensemble asked for more draws than it holds gives
 * all of them (the planner and simulate then say how many they use). */
Test(posterior, shipped_table_and_ensemble_size) {
  mn_posterior po;
  mn_param_set ps;
  mn_error err = {0};
  cr_assert_eq(mn_posterior_load(&po, &err), MN_OK, "%s", err.msg);
  cr_assert(po.n >= 1000, "%d draws", po.n);
  cr_assert_eq(po.kept, po.n);
  /* the chain's smallest ESS, recorded: issue 16's diagnostics ask for ESS >= 1000 per
   * parameter (docs/calibration.md); a shipped chain that falls short fails here */
  cr_assert(po.ess >= 1000 && po.ess <= po.tried, "ESS %g of %d", po.ess, po.tried);
  cr_assert_eq(mn_param_set_load_default(&ps, &err), MN_OK, "%s", err.msg);
  int n = po.n + 50, kept = 0, dropped = 0;
  mn_model_params *out = mn_malloc_array((size_t)n, sizeof *out);
  cr_assert_eq(mn_ensemble(&ps, MN_ENSEMBLE_POSTERIOR, n, 1, out, &kept, &dropped, &err), MN_OK);
  cr_assert_eq(kept + dropped, po.n);
  cr_assert_eq(dropped, 0); /* the sampler never keeps a draw with G >= 1 */
  mn_free(out);
  mn_posterior_fini(&po);
}

Test(posterior, each_row_knows_its_place_in_the_chain) {
  /* mn_posterior_text writes the kept steps in a spread order; mn_posterior_row_step undoes it
   * (the planner's Monte Carlo error reads the per-draw probabilities along the chain). A chain
   * of 1 parameter, 3 walkers, 40 steps whose value rises with (step, walker): read back and
   * sorted by (step, walker) the values rise, each (step, walker) once */
  enum { W = 3, S = 40, BURN = 4, THIN = 3 };
  mn_calibration c;
  memset(&c, 0, sizeof c);
  c.n = 1;
  snprintf(c.name[0], sizeof c.name[0], "a_d");
  c.prior_min[0] = 1, c.prior_max[0] = 2;
  c.opts.burn = BURN, c.opts.thin = THIN;
  c.chain.d = 1, c.chain.walkers = W, c.chain.steps = S;
  double x[S * W];
  for (int s = 0; s < S; s++)
    for (int w = 0; w < W; w++) x[s * W + w] = (s * W + w + 1.0) / (S * W + 2.0);
  c.chain.x = x;
  char *text = NULL;
  size_t len = 0;
  int draws = 0;
  mn_error err = {0};
  cr_assert_eq(mn_posterior_text(&c, "0123456789abcdef", &text, &len, &draws, &err), MN_OK, "%s",
               err.msg);
  mn_posterior po;
  cr_assert_eq(mn_posterior_parse(text, len, "t.csv", &po, &err), MN_OK, "%s", err.msg);
  int kept = (S - BURN + THIN - 1) / THIN;
  cr_assert_eq(po.walkers, W);
  cr_assert_eq(po.n, kept * W);
  double at[kept * W];
  int seen[kept * W];
  memset(seen, 0, sizeof seen);
  for (int r = 0; r < po.n; r++) {
    int j = mn_posterior_row_step(&po, r);
    cr_assert(j >= 0 && j < kept, "row %d: step %d", r, j);
    cr_assert_eq(seen[j * W + r % W]++, 0, "row %d repeats step %d walker %d", r, j, r % W);
    at[j * W + r % W] = po.v[r];
  }
  for (int i = 1; i < kept * W; i++) cr_assert_gt(at[i], at[i - 1], "position %d", i);
  cr_assert_eq(mn_posterior_row_step(&po, po.n), -1);
  po.walkers = 0; /* a table that does not say */
  cr_assert_eq(mn_posterior_row_step(&po, 0), -1);
  mn_posterior_fini(&po);
  mn_free(text);
}

/* Sobol indices of a function with known indices: Y = x1 + 2 x2 + 3 (x1 - 1.5)(x3 - 1.5), the
 * x uniform on [1, 2] (three model parameters given that range; every other one fixed).
 * Var = 1/12 + 4/12 + 9/144 = 23/48: S1 = 4/23, 16/23, 0; ST = 7/23, 16/23, 3/23. */
static const char *const sob_names[3] = {"k_d_derm", "k_d_epi", "kap_N"};
static void sob_fn(int n, const mn_model_params *sets, double *y, void *user) {
  (void)user;
  for (int i = 0; i < n; i++) {
    mn_model_params p = sets[i];
    double x1 = *mn_model_param_ref(&p, sob_names[0]), x2 = *mn_model_param_ref(&p, sob_names[1]);
    double x3 = *mn_model_param_ref(&p, sob_names[2]);
    y[2 * i] = x1 + 2 * x2 + 3 * (x1 - 1.5) * (x3 - 1.5);
    y[2 * i + 1] = i == 5 ? NAN : x2; /* a second output, one failed run */
  }
}

Test(sobol, recovers_known_indices) {
  mn_param_set ps;
  mn_error err = {0};
  cr_assert_eq(mn_param_set_load_prior(&ps, &err), MN_OK);
  for (int i = 0; i < ps.n; i++) {
    mn_param_info *in = &ps.info[i];
    int chosen = 0;
    for (int q = 0; q < 3; q++) chosen |= !strcmp(in->name, sob_names[q]);
    if (chosen)
      in->min = 1, in->max = 2, in->value = 1.5;
    else
      in->min = in->max = in->value;
  }
  mn_sobol s;
  cr_assert_eq(mn_sobol_run(&ps, 4096, 3, 2, 100, sob_fn, NULL, &s, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(s.k, 3);
  double s1[3] = {4. / 23, 16. / 23, 0}, st[3] = {7. / 23, 16. / 23, 3. / 23};
  for (int q = 0; q < 3; q++) {
    int k = -1;
    for (int j = 0; j < 3; j++)
      if (!strcmp(s.names[j], sob_names[q])) k = j;
    cr_assert(k >= 0);
    cr_assert(fabs(s.S1[k] - s1[q]) < 0.04, "%s S1 %g vs %g", sob_names[q], s.S1[k], s1[q]);
    cr_assert(fabs(s.ST[k] - st[q]) < 0.04, "%s ST %g vs %g", sob_names[q], s.ST[k], st[q]);
    cr_assert(s.ST_ci[2 * k] <= s.ST[k] + 1e-12 && s.ST[k] <= s.ST_ci[2 * k + 1] + 1e-12);
    cr_assert_eq(s.used[k], 4096);
    /* output 2 depends on x2 alone; base row 5 of A failed everywhere */
    cr_assert_eq(s.used[3 + k], 4095);
    cr_assert(fabs(s.ST[3 + k] - (q == 1)) < 0.02, "%g", s.ST[3 + k]);
  }
  cr_assert(fabs(s.var[0] - 23. / 48) < 0.03, "var %g", s.var[0]);
  mn_sobol_fini(&s);
  cr_assert_eq(mn_sobol_run(&ps, 4, 3, 2, 0, sob_fn, NULL, &s, &err), MN_ERANGE);
}

/* The shipped table (the report's figure) reads back whole: every prior parameter that varies
 * once per output, indices in [-0.1, 1.1]; a table that is not sobol.csv is refused naming the
 * line. */
Test(sobol, the_shipped_table_reads_back_and_a_bad_one_is_refused) {
  mn_sobol s;
  mn_error err = {0};
  cr_assert_eq(mn_sobol_load_shipped(&s, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(s.nout, MN_SOBOL_NOUT);
  cr_assert(s.k >= 20, "%d parameters", s.k);
  for (int i = 0; i < s.k * s.nout; i++) {
    cr_assert(s.ST[i] > -0.1 && s.ST[i] < 1.1, "%s ST %g", s.names[i % s.k], s.ST[i]);
    cr_assert(s.ST_ci[2 * i] <= s.ST_ci[2 * i + 1]);
    cr_assert(s.used[i] > 0);
  }
  int kin = -1;
  for (int k = 0; k < s.k; k++)
    if (!strcmp(s.names[k], "k_in")) kin = k;
  cr_assert(kin >= 0);
  mn_sobol_fini(&s);
  const char *h = "parameter,output,S1,S1_lo,S1_hi,ST,ST_lo,ST_hi,rows\n";
  char bad[512];
  snprintf(bad, sizeof bad, "%sa,redness_days,0.1,0,0.2,0.2,0.1,0.3,256\n", h);
  cr_assert_eq(mn_sobol_parse(bad, strlen(bad), "t.csv", &s, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "t.csv"), "%s", err.msg);
  snprintf(bad, sizeof bad, "%sa,redness_days_first,0.1,0,0.2,0.2,0.1,0.3,256\n", h);
  cr_assert_eq(mn_sobol_parse(bad, strlen(bad), "t.csv", &s, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "one row per output"), "%s", err.msg);
  cr_assert_null(s.S1);
}

Test(spread, quantile_functions_match_tables) {
  /* normal and t quantiles against printed tables (Abramowitz & Stegun 26.2, 26.7) */
  cr_assert(fabs(mn_normal_quantile(0.975) - 1.959964) < 1e-6);
  cr_assert(fabs(mn_normal_quantile(0.005) + 2.575829) < 1e-6);
  cr_assert(fabs(mn_normal_quantile(1e-10) + 6.361341) < 1e-5);
  cr_assert(isinf(mn_normal_quantile(0)) && isnan(mn_normal_quantile(1.5)));
  for (double p = 0.01; p < 1; p += 0.07)
    cr_assert(fabs(mn_normal_cdf(mn_normal_quantile(p)) - p) < 1e-13);
  cr_assert(fabs(mn_student_t_quantile(0.975, 10) - 2.228139) < 2e-4);
  cr_assert(fabs(mn_student_t_quantile(0.995, 40) - 2.704459) < 2e-4);
  cr_assert(fabs(mn_student_t_quantile(0.995, 60) - 2.660283) < 2e-4);
  cr_assert(fabs(mn_student_t_quantile(0.95, 120) - 1.657651) < 1e-5);
  cr_assert(isnan(mn_student_t_quantile(0.5, 2)));
}

/* The mean of b over a spread, the integral of its survival function (E b = int_0^inf P(b >= x)
 * dx), by the trapezoid rule on a log grid. */
static double spread_mean(const mn_spread *s) {
  double m = 0, x0 = 1e-4, prev = mn_spread_survival(s, x0);
  m += x0 * 1; /* P(b >= x) = 1 below x0, to 1e-30 */
  for (double x = x0 * 1.01; x < 1e3; x *= 1.01) {
    double v = mn_spread_survival(s, x);
    m += 0.5 * (v + prev) * (x - x / 1.01);
    prev = v;
  }
  return m;
}

Test(spread, shipped_posterior_matches_the_design_and_preserves_the_mean) {
  mn_error err = {0};
  mn_spread s;
  cr_assert_eq(mn_spread_load_shipped(&s, &err), MN_OK, "%s", err.msg);
  printf("sigma_b %.3f [%.3f, %.3f]; %s %.3f [%.3f, %.3f]; %s %.3f [%.3f, %.3f]\n", s.q[1], s.q[0],
         s.q[2], s.item[0].id, s.item[0].q[1], s.item[0].q[0], s.item[0].q[2], s.item[1].id,
         s.item[1].q[1], s.item[1].q[0], s.item[1].q[2]);
  cr_assert_eq(s.nitems, 2);
  /* Ablon 2018 (BP01): the CV of the change, 0.30 / 1.23 = 0.241, is sqrt(exp(sigma^2) - 1) at
   * sigma = 0.238: the posterior median sits there, and its 90 % interval is the chi-square
   * one of 47 degrees of freedom (design: 0.205-0.28 on a coarser grid) */
  cr_assert(fabs(s.item[0].q[1] - 0.238) < 0.005, "%g", s.item[0].q[1]);
  cr_assert(s.item[0].q[0] > 0.19 && s.item[0].q[0] < 0.215 && s.item[0].q[2] > 0.27 &&
            s.item[0].q[2] < 0.30);
  /* Al Chalabi 2020 (BP02, quartile cut points): design 0.385 (0.29-0.52) */
  cr_assert(fabs(s.item[1].q[1] - 0.39) < 0.015, "%g", s.item[1].q[1]);
  /* the equal mixture: design 0.285 (0.21-0.485) */
  cr_assert(s.q[1] > 0.27 && s.q[1] < 0.31 && s.q[0] > 0.2 && s.q[2] < 0.55);
  /* mean-preserving: E b = 1 over the mixture, and for a fixed sigma */
  cr_assert(fabs(spread_mean(&s) - 1) < 2e-3, "%g", spread_mean(&s));
  mn_spread f;
  mn_spread_fixed(&f, 0.4);
  cr_assert(fabs(spread_mean(&f) - 1) < 2e-3, "%g", spread_mean(&f));
  /* the closed form: P(b >= 1 / 1.2) at sigma 0.25 is Phi((ln 1.2 - 0.03125) / 0.25) = 0.727 */
  mn_spread_fixed(&f, 0.25);
  cr_assert(fabs(mn_spread_survival(&f, 1 / 1.2) - 0.7268) < 1e-3);
  /* no spread: a step at the mean */
  mn_spread_fixed(&f, 0);
  cr_assert(mn_spread_survival(&f, 0.999) == 1 && mn_spread_survival(&f, 1.001) == 0);
  /* a patient needs more than the mean: P(b >= 1) < 1/2 (the median of b is below its mean) */
  cr_assert(mn_spread_survival(&s, 1) < 0.5 && mn_spread_survival(&s, 1) > 0.4);
}

Test(spread, a_bad_table_is_refused_with_its_line) {
  mn_error err = {0};
  mn_spread s;
  const char *h = "id,role,source,kind,n,mean,lo,hi,level,cuts,counts,before,after\n";
  const char *fit = "F1,fit,s,sd_change,48,1.23,1.11,1.34,0.99,,,,\n";
  static const struct {
    const char *row, *msg;
  } bad[] = {
      {"X1,fit,s,categories,25,,,,,0.25|0.5,3|12|11|0,,\n", "one count more"},
      {"X1,fit,s,categories,25,,,,,0.25|0.5|0.75,3|12|11|0,,\n", "add up to 26"},
      {"X1,fit,s,sd_change,48,1.23,1.3,1.34,0.99,,,,\n", "inside its interval"},
      {"X1,fit,s,anecdote,48,1.23,1.1,1.34,0.99,,,,\n", "sd_change, categories, before_after"},
      {"X1,fit,s,categories,25,,,,,0.25|x,3|12|10,,\n", "column cuts"},
      {"X1,fitted,s,sd_change,48,1.23,1.11,1.34,0.99,,,,\n", "allowed fit, validation"},
      {"X1,validation,s,categories,25,,,,,0.25|0.5|0.75,3|12|10|0,,\n", "needs kind sd_change"},
      {"X1,validation,s,before_after,30,,,,,,,6.5|2.71,11.73|3.12\n", "no improvement"},
      {"X1,validation,s,before_after,30,,,,,,,11.73,6.5|2.71\n", "column before"},
      {"X1,validation,s,before_after,30,,,,,,,11.73|3.12,-6.5|2.71\n", "column after"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s%s", h, fit, bad[i].row);
    err = (mn_error){0};
    cr_assert_eq(mn_spread_parse(text, strlen(text), "t.csv", &s, &err), MN_EINPUT, "%s",
                 bad[i].row);
    cr_assert(strstr(err.msg, "t.csv:3") && strstr(err.msg, bad[i].msg), "%s", err.msg);
  }
  char only[512]; /* validation alone: nothing to check against */
  snprintf(only, sizeof only, "%sV1,validation,s,before_after,30,,,,,,,11.73|3.12,6.5|2.71\n", h);
  err = (mn_error){0};
  cr_assert_eq(mn_spread_parse(only, strlen(only), "t.csv", &s, &err), MN_EINPUT);
  cr_assert(strstr(err.msg, "no item with role fit"), "%s", err.msg);
  /* a wider study spread gives a larger sigma_b */
  char narrow[256], wide[256];
  snprintf(narrow, sizeof narrow, "%sA,fit,s,sd_change,48,1,0.9,1.1,0.95,,,,\n", h);
  snprintf(wide, sizeof wide, "%sA,fit,s,sd_change,48,1,0.8,1.2,0.95,,,,\n", h);
  mn_spread a, b;
  cr_assert_eq(mn_spread_parse(narrow, strlen(narrow), "n.csv", &a, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(mn_spread_parse(wide, strlen(wide), "w.csv", &b, &err), MN_OK, "%s", err.msg);
  cr_assert(b.q[1] > 1.8 * a.q[1], "%g %g", a.q[1], b.q[1]);
}

Test(spread, the_validation_items_check_the_posterior_and_can_fail) {
  /* the chi-square distribution function behind the check: textbook quantiles */
  cr_assert(fabs(mn_gamma_p(14.5, 42.557 / 2) - 0.95) < 1e-4, "%g", mn_gamma_p(14.5, 21.2785));
  cr_assert(fabs(mn_gamma_p(14.5, 17.708 / 2) - 0.05) < 1e-4);
  cr_assert(fabs(mn_gamma_p(5, 18.307 / 2) - 0.95) < 1e-4);
  cr_assert(fabs(mn_gamma_p(1, 2.0) - (1 - exp(-2.0))) < 1e-13); /* P(1, x) = 1 - e^-x */
  cr_assert(mn_gamma_p(3, 0) == 0 && isnan(mn_gamma_p(0, 1)) && isnan(mn_gamma_p(2, -1)));
  mn_error err = {0};
  mn_spread s;
  cr_assert_eq(mn_spread_load_shipped(&s, &err), MN_OK, "%s", err.msg);
  cr_assert_eq(s.nchecks, 2);
  for (int i = 0; i < s.nchecks; i++) {
    const mn_spread_check *k = &s.check[i];
    printf(
        "%s: improvement %.3f +/- %.3f (n %d), CV %.3f, sigma %.3f, own posterior %.3f [%.3f, "
        "%.3f], predictive p %.3f: %s\n",
        k->id, k->mean, k->sd, k->n, k->cv, k->sigma, k->q[1], k->q[0], k->q[2], k->p,
        k->pass ? "pass" : "FAIL");
  }
  /* Dogra 2014 (BP03): 11.73 +/- 3.12 -> 6.5 +/- 2.71 gives f 0.446 +/- 0.172, CV 0.386, sigma
   * 0.373 (design document: SD(f) 0.18, CV 0.40, sigma 0.38); Nguyen 2024 (BP04): CV 0.230
   * (design: 0.24) */
  cr_assert(!strcmp(s.check[0].id, "BP03") && !strcmp(s.check[1].id, "BP04"));
  cr_assert(fabs(s.check[0].mean - 0.4459) < 1e-3 && fabs(s.check[0].cv - 0.386) < 2e-3, "%g %g",
            s.check[0].mean, s.check[0].cv);
  cr_assert(fabs(s.check[0].sigma - 0.373) < 2e-3, "%g", s.check[0].sigma);
  cr_assert(fabs(s.check[1].cv - 0.230) < 2e-3, "%g", s.check[1].cv);
  /* the posterior predictive p: a wide study sits higher than a narrow one (whether each passes,
   * inside 5-95 %, is validation's verdict, printed above and in `mnsim validate`, not this test's:
   * a validation target is reported, not asserted) */
  cr_assert(s.check[0].p > s.check[1].p, "%g %g", s.check[0].p, s.check[1].p);
  /* the same check fails a study far wider or far narrower than sigma_b allows */
  const char *h =
      "id,role,source,kind,n,mean,lo,hi,level,cuts,counts,before,after\n"
      "F1,fit,s,sd_change,48,1.23,1.11,1.34,0.99,,,,\n";
  static const char *const rows[2] = {"V1,validation,s,before_after,30,,,,,,,20|2,10|8\n",
                                      "V1,validation,s,before_after,30,,,,,,,20|1,10|0.6\n"};
  for (int i = 0; i < 2; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", h, rows[i]);
    mn_spread t;
    cr_assert_eq(mn_spread_parse(text, strlen(text), "t.csv", &t, &err), MN_OK, "%s", err.msg);
    printf("synthetic %s: CV %.3f, p %.4f\n", i ? "narrow" : "wide", t.check[0].cv, t.check[0].p);
    cr_assert(!t.check[0].pass && (i ? t.check[0].p < 0.05 : t.check[0].p > 0.95));
  }
}

/* ---- the clinical scales' observation model (docs/design/observation-v2.md) ---------------- */

static mn_model_params scale_params(void) {
  mn_param_set ps;
  mn_error e = {0};
  cr_assert_eq(mn_param_set_load_default(&ps, &e), MN_OK, "%s", e.msg);
  return ps.p;
}

Test(scales, depth_loss_rises_with_the_gain_and_saturates) {
  mn_model_params m = scale_params();
  static const int types[4] = {MN_LESION_ICEPICK, MN_LESION_BOXCAR, MN_LESION_ROLLING,
                               MN_LESION_WRINKLE};
  for (int t = 0; t < 4; t++) {
    cr_assert_eq(mn_outcome_depth_loss(&m, types[t], 0), 0);
    cr_assert_eq(mn_outcome_depth_loss(&m, types[t], -0.3), 0, "a loss of collagen fills nothing");
    double prev = 0, step = INFINITY;
    for (int i = 1; i <= 20; i++) {
      double f = mn_outcome_depth_loss(&m, types[t], 0.1 * i);
      cr_assert(f > prev && f < 1, "type %d, gain %.1f: %g after %g", types[t], 0.1 * i, f, prev);
      cr_assert(f - prev < step, "type %d: the increments must shrink (diminishing returns)",
                types[t]);
      step = f - prev, prev = f;
    }
  }
}

Test(scales, type_order_and_mix) {
  mn_model_params m = scale_params();
  for (double g = 0.05; g < 2; g += 0.05) {
    double ice = mn_outcome_depth_loss(&m, MN_LESION_ICEPICK, g),
           box = mn_outcome_depth_loss(&m, MN_LESION_BOXCAR, g),
           rol = mn_outcome_depth_loss(&m, MN_LESION_ROLLING, g);
    cr_assert(box > rol && rol > ice, "gain %g: boxcar %g, rolling %g, icepick %g", g, box, rol,
              ice);
    double mix = mn_outcome_depth_loss_mix(&m, g);
    cr_assert(mix > ice && mix < box, "gain %g: the mix %g between icepick and boxcar", g, mix);
  }
  /* the factors in the small-gain limit: rolling 0.79 and icepick 0.125 of boxcar */
  double g = 1e-7, box = mn_outcome_depth_loss(&m, MN_LESION_BOXCAR, g);
  cr_assert_float_eq(mn_outcome_depth_loss(&m, MN_LESION_ROLLING, g) / box, 0.79, 1e-5);
  cr_assert_float_eq(mn_outcome_depth_loss(&m, MN_LESION_ICEPICK, g) / box, 0.125, 1e-5);
  cr_assert_float_eq(mn_outcome_scar_mix[0] + mn_outcome_scar_mix[1] + mn_outcome_scar_mix[2], 1,
                     1e-12);
}

Test(scales, a_wrinkle_grade_change_does_not_depend_on_its_depth) {
  mn_model_params m = scale_params();
  double f = mn_outcome_depth_loss(&m, MN_LESION_WRINKLE, 0.4), want = log2(1 - f);
  for (double d = 300; d <= 3000; d *= 1.3) {
    double c = mn_outcome_lemperle(d * (1 - f)) - mn_outcome_lemperle(d);
    cr_assert_float_eq(c, want, 1e-12, "depth %g um: change %g, want %g", d, c, want);
  }
}

Test(scales, goodman_baron_depth_inverts_the_grade) {
  for (double grade = 1.2; grade < 3.95; grade += 0.1) {
    double d = mn_outcome_goodman_baron_depth(grade);
    cr_assert(d > 0 && isfinite(d));
    cr_assert_float_eq(mn_outcome_goodman_baron(d), grade, 1e-9, "grade %g: depth %g um", grade, d);
  }
  cr_assert_eq(mn_outcome_goodman_baron_depth(1), 0);
  cr_assert(isinf(mn_outcome_goodman_baron_depth(4)));
  /* a treated scar never gets a worse grade */
  mn_model_params m = scale_params();
  for (double d = 50; d < 2000; d *= 1.5)
    cr_assert(
        mn_outcome_goodman_baron(d * (1 - mn_outcome_depth_loss(&m, MN_LESION_ROLLING, 0.5))) <=
        mn_outcome_goodman_baron(d));
}
