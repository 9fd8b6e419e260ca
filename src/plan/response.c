/* The planner's model runs: a needle setting's whole course - k sessions I days apart - as a
 * lumped course per parameter draw, run to its review (6 months after the last session) and at
 * least a year: the goal quantity and papillary collagen at the review, collagen over the first
 * year, redness over the first week and the windows. Courses are run, not superposed from one
 * session: sessions interact (re-injury of immature matrix, fibroblast priming and crowding, the
 * set point), which is what makes the interval matter. Stage: plan. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "plan_impl.h"

void mn__response_free(mn__response *r) {
  mn_free(r->goal);
  mn_free(r->collagen);
  mn_free(r->dh);
  mn_free(r->year);
  mn_free(r->week);
  mn_free(r->red);
  mn_free(r->bar);
  mn_free(r->sun);
  mn_free(r->pih);
  mn_free(r->ok);
  mn_free(r->c_hat);
  mn_free(r->h_hat);
  mn_free(r->memo[0]);
  mn_free(r->memo[1]);
  memset(r, 0, sizeof *r);
}

/* Every per-draw array of @p r resized to @p nd draws, the rows kept (new ones not finished). On
 * failure the arrays resized so far stay valid: mn__response_free frees them all. */
static int response_resize(mn__response *r, int nd, mn_error *err) {
  struct {
    void **p;
    size_t per_draw;
  } a[] = {{(void **)&r->goal, sizeof(double)},
           {(void **)&r->collagen, sizeof(double)},
           {(void **)&r->dh, sizeof(double)},
           {(void **)&r->year, MN_PLAN_YEAR_SAMPLES * sizeof(double)},
           {(void **)&r->week, MN_PLAN_WEEK_SAMPLES * sizeof(double)},
           {(void **)&r->red, sizeof(double)},
           {(void **)&r->bar, sizeof(double)},
           {(void **)&r->sun, sizeof(double)},
           {(void **)&r->pih, sizeof(double)},
           {(void **)&r->ok, sizeof(int)},
           {(void **)&r->c_hat, sizeof(double)},
           {(void **)&r->h_hat, sizeof(double)},
           {(void **)&r->memo[0], 4 * sizeof(double)},
           {(void **)&r->memo[1], 4 * sizeof(double)}};
  for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
    void *q = mn_realloc_array(*a[i].p, (size_t)nd, a[i].per_draw);
    if (!q) return MN_ERR(err, MN_ENOMEM, "", "out of memory for %d parameter draws", nd);
    *a[i].p = q;
  }
  for (int d = r->nd; d < nd; d++) {
    r->ok[d] = 0;
    for (int i = 0; i < 4; i++) r->memo[0][4 * (size_t)d + i] = r->memo[1][4 * (size_t)d + i] = NAN;
  }
  r->nd = nd;
  return MN_OK;
}

static int response_alloc(mn__response *r, int nd, mn_error *err) {
  memset(r, 0, sizeof *r);
  int rc = response_resize(r, nd, err);
  if (rc) mn__response_free(r);
  return rc;
}

double mn__series_at(const mn_timeseries *ts, const double *x, double t) {
  if (t <= ts->t[0]) return x[0];
  int lo = 0, hi = ts->n - 1;
  if (t >= ts->t[hi]) return x[hi];
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (ts->t[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  double w = (t - ts->t[lo]) / (ts->t[hi] - ts->t[lo]);
  return x[lo] + w * (x[hi] - x[lo]);
}

double mn__review_day(int k, double interval) {
  return (k - 1) * interval + MN__REVIEW_DAYS;
}

/* Papillary collagen change (%) and dermal thickening (um) of series @p ts at day @p t. */
static void matrix_at(const mn_timeseries *ts, const mn_skin *sk, const mn_model_params *m,
                      double t, double *collagen, double *dh) {
  *collagen =
      100 * (mn_ts_at(ts, MN_LAYER_PD, MN_SP_C1, t) + mn_ts_at(ts, MN_LAYER_PD, MN_SP_C3, t) - 1);
  double h = 0;
  for (int l = MN_LAYER_PD; l <= MN_LAYER_RD; l++)
    h += sk->thickness_um[l] * (mn_ts_at(ts, l, MN_SP_C1, t) + mn_ts_at(ts, l, MN_SP_C3, t) - 1);
  *dh = m->psi * h;
}

double mn__goal_value(const mn_plan_region *pr, const mn_model_params *m, double collagen) {
  if (pr->quantity != MN_GOAL_FILL) return collagen;
  double g = collagen / 100;
  if (pr->req.concern != MN_CONCERN_ACNE_SCARS)
    return 100 * mn_outcome_depth_loss(m, MN_LESION_WRINKLE, g);
  if (pr->req.scar_type > 0) /* the patient file's scar_list: none, icepick, boxcar, rolling */
    return 100 * mn_outcome_depth_loss(m, pr->req.scar_type - 1, g);
  return 100 * mn_outcome_depth_loss_mix(m, g); /* scars of no given type: the mix */
}

/* Draw @p d's row of @p r from its course's series @p ts and outcome @p o. */
static void response_row(const mn__region_ctx *x, int d, const mn_timeseries *ts,
                         const mn_outcome *o, mn__response *r) {
  const mn_plan_region *pr = x->pr;
  const mn_model_params *m = &x->draws[d];
  double collagen, dh;
  matrix_at(ts, &pr->skin, m, mn__review_day(r->k, r->interval), &collagen, &dh);
  r->collagen[d] = collagen;
  r->dh[d] = dh;
  r->goal[d] = mn__goal_value(pr, m, collagen);
  double *y = r->year + (size_t)d * MN_PLAN_YEAR_SAMPLES;
  for (int t = 0; t < MN_PLAN_YEAR_SAMPLES; t++) matrix_at(ts, &pr->skin, m, t, &y[t], &dh);
  double *w = r->week + (size_t)d * MN_PLAN_WEEK_SAMPLES;
  for (int i = 0; i < MN_PLAN_WEEK_SAMPLES; i++) w[i] = mn__series_at(ts, ts->redness, i / 24.0);
  r->red[d] = o->redness_days[0];
  if (d == 0) r->thr = o->redness_threshold;
  r->bar[d] = o->barrier_days[0];
  r->sun[d] = o->sun_days[0];
  r->pih[d] = 100 * o->pih_risk;
  r->ok[d] = 1;
}

static void draw_holds_free(mn__draw_holds *dh) {
  if (!dh) return;
  mn_timeseries_fini(&dh->ts);
  for (int j = 0; j < MN_PLAN_MAX_SESSIONS; j++) {
    mn_lumped_hold_fini(dh->h[j]);
    mn_free(dh->h[j]);
  }
  mn_free(dh);
}

void mn__holds_fini(mn__holds *h) {
  for (int i = 0; i < MN__HOLD_DRAWS; i++) draw_holds_free(h->d[i]);
  memset(h, 0, sizeof *h);
}

/* x->holds ready for setting @p c at @p interval: emptied when it held another setting's. */
static void holds_for(mn__region_ctx *x, const mn__candidate *c, double interval) {
  mn__holds *h = x->holds;
  if (!h || x->req->from_day0) return;
  if (h->draws != x->draws || h->depth_mm != c->depth_mm || h->density != c->density ||
      h->passes != c->passes || h->interval != interval) {
    mn__holds_fini(h);
    h->draws = x->draws, h->depth_mm = c->depth_mm, h->density = c->density;
    h->passes = c->passes, h->interval = interval;
  }
}

/* The state a course of @p k sessions held (@p out) kept in *slot (made when NULL), taken from
 * @p out; a failed allocation keeps nothing (the longer courses then start earlier). */
static void keep_hold(mn__draw_holds **slot, int k, mn_course_hold *out) {
  if (k >= MN_PLAN_MAX_SESSIONS || !(out->lumped.t_day > 0)) return;
  mn__draw_holds *dh = *slot ? *slot : mn_calloc(1, sizeof *dh);
  mn_lumped_hold *lh = !dh ? NULL : dh->h[k] ? dh->h[k] : mn_malloc(sizeof *lh);
  if (!lh) {
    if (dh != *slot) mn_free(dh);
    return;
  }
  *slot = dh;
  if (dh->h[k]) mn_lumped_hold_fini(dh->h[k]);
  *lh = out->lumped;
  dh->h[k] = lh;
  dh->m[k] = out->ts.n;
  memset(&out->lumped, 0, sizeof out->lumped);
  if (out->ts.n > dh->ts.n) { /* the longer beginning: the shorter ones are its first samples */
    mn_timeseries_fini(&dh->ts);
    dh->ts = out->ts;
    memset(&out->ts, 0, sizeof out->ts);
  }
}

/* Draw @p d's course of setting @p c as a lumped course; MN_OK when its row of @p r is filled.
 * *resumed: 1 when it started from a held state. */
static int response_draw(const mn__region_ctx *x, const mn__candidate *c, const mn_device *dev,
                         const mn_lumped_params *lp, int d, mn__response *r, int *resumed) {
  mn_error e = {0};
  mn_course_params q;
  mn_course_params_default(&q);
  q.mode = MN_COURSE_LUMPED;
  q.model = &x->draws[d];
  q.fitzpatrick = x->req->patient.fitzpatrick;
  q.skin = &x->pr->skin;
  q.dev = dev;
  q.density_cm2 = c->density;
  q.depth_mm = c->depth_mm;
  q.sessions = r->k;
  q.interval_day = r->interval;
  q.days = fmax(mn__review_day(r->k, r->interval), MN_PLAN_YEAR_SAMPLES - 1);
  q.lumped = lp;
  q.sun = x->req->sun;
  /* every course holds (its numbers do not depend on whether a longer one follows); it starts
     from the state after the most sessions below its own that its draw held */
  mn__draw_holds **slot =
      x->holds && !x->req->from_day0 && d < MN__HOLD_DRAWS ? &x->holds->d[d] : NULL;
  mn__draw_holds *dh = slot ? *slot : NULL;
  mn_course_hold from, out;
  memset(&out, 0, sizeof out);
  q.hold = &out;
  int j = r->k - 1 < MN_PLAN_MAX_SESSIONS ? r->k - 1 : MN_PLAN_MAX_SESSIONS - 1;
  while (dh && j > 0 && !dh->h[j]) j--;
  if (dh && j > 0) {
    from.lumped = *dh->h[j];
    from.ts = dh->ts;
    from.ts.n = dh->m[j];
    q.resume = &from;
  }
  mn_outcome o;
  mn_course *course = NULL;
  int rc = mn_course_create(&q, &course, &e);
  if (rc == MN_OK) rc = mn_course_run(course, &e);
  if (rc == MN_OK) rc = mn_course_outcome(course, &o, &e);
  if (rc == MN_OK) response_row(x, d, mn_course_series(course), &o, r);
  mn_course_destroy(course);
  *resumed = rc == MN_OK && q.resume;
  if (rc == MN_OK && slot) keep_hold(slot, r->k, &out);
  mn_course_hold_fini(&out);
  return rc;
}

/* Draws [d0, d1) of setting @p c into @p r, in parallel. */
static int run_draws(mn__region_ctx *x, const mn__candidate *c, mn__response *r, int d0, int d1,
                     mn_error *err) {
  holds_for(x, c, r->interval);
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  int rc = mn_device_init_at(&dev, x->cat, x->req->device, c->depth_mm, err);
  if (rc) return rc;
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  lp.rtol = MN__PLAN_RTOL;
  lp.compact = 1; /* the cohorts that hold volume only: 1.2-1.7x faster for 1-12 sessions */
  int nt = mn_threads(x->req->threads), resumed = 0;
  (void)nt; /* without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt) reduction(+ : resumed)
#endif
  for (int d = d0; d < d1; d++) { /* a stop request skips the draws not yet started; a failed run
                                     leaves its row's ok flag 0 */
    int from = 0;
    if (!mn_stop_requested()) (void)response_draw(x, c, &dev, &lp, d, r, &from);
    resumed += from;
  }
  x->evaluations += d1 - d0;
  x->resumed += resumed;
  mn_device_fini(&dev);
  if (mn_stop_requested()) return mn_stop_error(err, "planning");
  for (int d = 0; d < d1; d++)
    if (r->ok[d]) return MN_OK;
  return MN_ERR(err, MN_EINTERNAL, "", "every lumped run failed for %s at %.2f mm",
                x->pr->req.region, c->depth_mm);
}

int mn__response_run(mn__region_ctx *x, const mn__candidate *c, int k, double interval, int nd,
                     mn__response *r, mn_error *err) {
  int rc = response_alloc(r, nd, err);
  if (rc) return rc;
  r->k = k, r->interval = interval, r->n_exact = nd;
  if ((rc = run_draws(x, c, r, 0, nd, err))) mn__response_free(r);
  return rc;
}

/* The emulator's predictions for draws [d0, r->nd). */
static void predict_rows(const mn__region_ctx *x, mn__response *r, int d0) {
  for (int d = d0; d < r->nd; d++)
    mn__emu_predict(&x->space, &r->emu, &x->draws[d], &r->c_hat[d], &r->h_hat[d]);
}

/* Exact courses before the emulator is worth it: the fit's and the first correction's. */
static int first_courses(const mn__region_ctx *x) {
  return MN__EMU_TRAIN * mn__emu_coefs(x->space.m) + MN__EMU_CORRECT;
}

int mn__emulates(const mn__region_ctx *x, int nd) {
  return x->space.m > 0 && !x->req->exact && nd >= MN__EMU_SHARE * first_courses(x);
}

/* Fit the emulator on the first finished rows of @p r and predict every row: 1 on success. */
static int fit_rows(const mn__region_ctx *x, mn__response *r) {
  int nt = MN__EMU_TRAIN * mn__emu_coefs(x->space.m);
  if (!mn__emu_fit(&x->space, x->draws, r, nt, &r->emu)) return 0;
  r->emulated = 1, r->n_train = nt;
  predict_rows(x, r, 0);
  return 1;
}

/* The share of the collagen change's variance over the correction courses of @p r that its
 * predictions explain (1 - residual / total sum of squares; 1 when the change does not vary). */
static double explained(const mn__response *r) {
  double sum = 0, ss = 0, res = 0;
  int n = 0;
  for (int d = r->n_train; d < r->n_exact; d++)
    if (r->ok[d]) n++, sum += r->collagen[d];
  if (n < 2) return 0;
  for (int d = r->n_train; d < r->n_exact; d++) {
    if (!r->ok[d]) continue;
    double e = r->collagen[d] - r->c_hat[d], t = r->collagen[d] - sum / n;
    ss += t * t, res += e * e;
  }
  return ss > 0 ? 1 - res / ss : 1;
}

/* The region's reference emulator scaled to @p r's nominal course (draw 0, which it then
 * matches: n_train = 1), predicting every row; 0 when the nominal did not finish. */
static int scale_ref(const mn__region_ctx *x, mn__response *r) {
  if (!x->has_ref || !r->ok[0]) return 0;
  double sc = x->ref_c != 0 ? r->collagen[0] / x->ref_c : 0;
  double sh = x->ref_h != 0 ? r->dh[0] / x->ref_h : 0;
  r->emu = x->ref;
  for (int i = 0; i < r->emu.p; i++) r->emu.bc[i] *= sc, r->emu.bh[i] *= sh;
  r->emulated = 1, r->n_train = 1;
  predict_rows(x, r, 0);
  return 1;
}

int mn__response_emulate(mn__region_ctx *x, const mn__candidate *c, int k, double interval, int nd,
                         mn__response *r, mn_error *err) {
  if (!mn__emulates(x, nd)) return mn__response_run(x, c, k, interval, nd, r, err);
  int rc = response_alloc(r, nd, err), n0 = first_courses(x), n1 = 1 + MN__EMU_CORRECT;
  if (rc) return rc;
  r->k = k, r->interval = interval;
  if (x->has_ref) { /* the nominal and the first correction, the reference scaled */
    if ((rc = run_draws(x, c, r, 0, n1, err))) goto fail;
    r->n_exact = n1;
    if (scale_ref(x, r)) {
      double r2 = explained(r);
      mn_log(MN_LOG_DEBUG, "plan: %s: %d sessions every %g d: the reused emulator explains %.3f",
             x->pr->skin.region, k, interval, r2);
      if (r2 >= MN__EMU_REUSE_R2) return MN_OK;
      r->emulated = 0, r->n_train = 0; /* it does not carry over: a fit of its own */
    }
  }
  if ((rc = run_draws(x, c, r, r->n_exact, n0, err))) goto fail;
  r->n_exact = n0;
  if (fit_rows(x, r)) {
    if (!x->has_ref) {
      x->ref = r->emu, x->has_ref = 1;
      mn__emu_predict(&x->space, &x->ref, &x->draws[0], &x->ref_c, &x->ref_h);
    }
    return MN_OK;
  }
  if ((rc = run_draws(x, c, r, n0, nd, err))) goto fail; /* no fit: every draw runs */
  r->n_exact = nd;
  return MN_OK;
fail:
  mn__response_free(r);
  return rc;
}

int mn__response_emulate_to(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                            mn_error *err) {
  if (nd <= r->nd || !mn__emulates(x, nd)) return MN_OK;
  if (!r->emulated) {
    int rc = mn__response_extend(x, c, first_courses(x), r, err); /* the fit's draws, exact */
    if (rc) return rc;
    if (!fit_rows(x, r)) return MN_OK;
  }
  return mn__response_extend(x, c, nd, r, err); /* predictions */
}

int mn__response_refine(mn__region_ctx *x, const mn__candidate *c, int n_exact, mn__response *r,
                        mn_error *err) {
  if (n_exact > r->nd) n_exact = r->nd;
  if (n_exact <= r->n_exact) return MN_OK;
  int rc = run_draws(x, c, r, r->n_exact, n_exact, err);
  if (rc) {
    mn__response_free(r);
    return rc;
  }
  r->n_exact = n_exact;
  if (r->n_exact == r->nd) r->emulated = 0; /* every draw ran: the plain mean */
  /* a reused emulator that needs more correction: its own fit once the courses allow one */
  else if (r->emulated && r->n_train == 1 && r->n_exact >= first_courses(x))
    (void)fit_rows(x, r);
  return MN_OK;
}

int mn__response_extend(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                        mn_error *err) {
  if (nd <= r->nd) return MN_OK;
  int done = r->nd, rc = response_resize(r, nd, err);
  if (rc == MN_OK && r->emulated) { /* the new draws get predictions only */
    predict_rows(x, r, done);
    return MN_OK;
  }
  if (rc == MN_OK) rc = run_draws(x, c, r, done, nd, err);
  if (rc == MN_OK) r->n_exact = nd;
  if (rc) mn__response_free(r);
  return rc;
}

/* Draw @p d's probability from its collagen change @p c: population = 1, whether the goal
 * quantity reaches the goal; else that a patient's does: the smallest patient factor b* whose
 * response b c reaches it (the goal quantity is non-decreasing in b: fill rises with the
 * collagen gain, collagen is linear), then P(b >= b*) over the spread. A draw that predicts a
 * loss (b only scales it) counts as its mean does. */
static double draw_probability(const mn__region_ctx *x, int d, double c, int population) {
  const mn_plan_region *pr = x->pr;
  const mn_spread *s = x->spread;
  const mn_model_params *m = &x->draws[d];
  double G = pr->goal_pct, y = mn__goal_value(pr, m, c);
  if (population || (s->n == 1 && !(s->sigma[0] > 0)) || !(c > 0)) return y >= G;
  double lo = -14, hi = 14;                             /* ln b: b from 1e-6 to 1.2e6 */
  if (mn__goal_value(pr, m, exp(hi) * c) < G) return 0; /* even the clamp falls short */
  if (mn__goal_value(pr, m, exp(lo) * c) >= G) return 1;
  for (int i = 0; i < 50; i++) { /* ln b* to 2.5e-14 */
    double mid = 0.5 * (lo + hi);
    if (mn__goal_value(pr, m, exp(mid) * c) >= G)
      hi = mid;
    else
      lo = mid;
  }
  return mn_spread_survival(s, exp(hi));
}

/* draw_probability of draw @p d at collagen change @p c, from r's memo when it was computed for
 * c (@p slot 0: the draw's course, 1: its prediction); a NAN c is never kept. */
static double memo_prob(const mn__region_ctx *x, mn__response *r, int d, int slot, double c,
                        int population) {
  double *m = r->memo[population] + 4 * (size_t)d + 2 * slot;
  if (m[0] == c) return m[1];
  double p = draw_probability(x, d, c, population);
  m[0] = c, m[1] = p;
  return p;
}

/* Every probability mn__response_prob reads into r's memo, the draws in parallel (each writes
 * its own row; the sums are then taken in draw order, the same for any thread count). */
static void fill_memo(const mn__region_ctx *x, mn__response *r, int population) {
  int nt = mn_threads(x->req->threads);
  (void)nt; /* without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 256) num_threads(nt)
#endif
  for (int d = 0; d < r->nd; d++) {
    if (r->emulated) (void)memo_prob(x, r, d, 1, r->c_hat[d], population);
    if (r->ok[d] && (!r->emulated || d < r->n_exact))
      (void)memo_prob(x, r, d, 0, r->collagen[d], population);
  }
}

/* Whether every draw's probability is 0 or 1 (the mean patient, or the population's share). */
static int yes_or_no(const mn__region_ctx *x, int population) {
  const mn_spread *s = x->spread;
  return population || (s->n == 1 && !(s->sigma[0] > 0));
}

/* The effective sample size of the per-draw values @p q ([nd_pool], draw 0 the nominal) along
 * the posterior chain: NAN when the table does not say where each draw comes from. */
static double chain_ess(const mn__region_ctx *x, const double *q) {
  int w = x->chain_walkers, n = x->nd_pool - 1;
  if (!x->chain_step || w < 1 || n % w || n / w < 8) return NAN;
  mn_mcmc_chain ch = {.d = 1, .walkers = w, .steps = n / w};
  ch.x = mn_malloc_array((size_t)n, sizeof *ch.x);
  int *seen = mn_calloc((size_t)n, sizeof *seen), ok = ch.x && seen;
  for (int d = 1; d <= n && ok; d++) {
    int j = x->chain_step[d], at = j * w + (d - 1) % w;
    ok = j >= 0 && j < ch.steps && !seen[at] && isfinite(q[d]);
    if (ok) seen[at] = 1, ch.x[at] = q[d];
  }
  mn_mcmc_diag dg;
  double ess = ok && mn_mcmc_diagnose(&ch, 0, &dg, NULL) == MN_OK ? dg.ess[0] : NAN;
  mn_free(seen);
  mn_free(ch.x);
  return ess;
}

void mn__response_prob(const mn__region_ctx *x, mn__response *r, int population, mn__prob *e) {
  double sum = 0, sum2 = 0;
  int m = 0;
  memset(e, 0, sizeof *e);
  e->ess = NAN;
  /* the per-draw probabilities (predicted where emulated), kept for their ESS along the chain
   * when r covers every posterior draw */
  double *q = r->nd == x->nd_pool ? mn_malloc_array((size_t)r->nd, sizeof *q) : NULL;
  fill_memo(x, r, population);
  for (int d = 0; d < r->nd; d++) {
    if (q) q[d] = NAN;
    if (!r->emulated && !r->ok[d]) continue;
    double v = r->emulated ? memo_prob(x, r, d, 1, r->c_hat[d], population)
                           : memo_prob(x, r, d, 0, r->collagen[d], population);
    if (q) q[d] = v;
    m++, sum += v, sum2 += v * v;
  }
  if (q) e->ess = chain_ess(x, q);
  mn_free(q);
  e->n = m;
  e->p = m ? sum / m : 0;
  /* with the pseudo-draws 0 and 1 (Laplace): never 0, p (1 - p) for 0/1 draws */
  double mean = (sum + 1) / (m + 2.0);
  e->v_hat = fmax((sum2 + 1) / (m + 2.0) - mean * mean, 0);
  if (!r->emulated) return;
  double rs = 0, rs2 = 0, big = 0;
  int n = 0;
  for (int d = 0; d < r->n_exact; d++) {
    if (!r->ok[d]) continue;
    double res = memo_prob(x, r, d, 0, r->collagen[d], population) -
                 memo_prob(x, r, d, 1, r->c_hat[d], population);
    big = fmax(big, fabs(res));
    if (d < r->n_train) continue; /* the fit's own draws do not correct it */
    n++, rs += res, rs2 += res * res;
  }
  if (yes_or_no(x, population)) big = 1;
  e->n_res = n;
  if (n == 0) { /* no correction course finished: the error of one that erred by the most */
    e->n_res = 1, e->v_res = big > 0 ? big * big : 1;
    return;
  }
  e->p = fmin(1, fmax(0, e->p + rs / n));
  double v = n > 1 ? (rs2 - rs * rs / n) / (n - 1) : 0;
  e->v_res = fmax(v, big * big / (n + 2.0));
}

double mn__prob_mcse(const mn__prob *e, double tv, double tv_res) {
  double v = e->n > 0 ? e->v_hat * (1.0 / e->n + tv) : INFINITY;
  if (e->n_res > 0) v += e->v_res * (1.0 / e->n_res + tv_res);
  return sqrt(v);
}
