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
           {(void **)&r->ok, sizeof(int)}};
  for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
    void *q = mn_realloc_array(*a[i].p, (size_t)nd, a[i].per_draw);
    if (!q) return MN_ERR(err, MN_ENOMEM, "", "out of memory for %d parameter draws", nd);
    *a[i].p = q;
  }
  for (int d = r->nd; d < nd; d++) r->ok[d] = 0;
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

/* Draw @p d's course of setting @p c as a lumped course; MN_OK when its row of @p r is filled. */
static int response_draw(const mn__region_ctx *x, const mn__candidate *c, const mn_device *dev,
                         const mn_lumped_params *lp, int d, mn__response *r) {
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
  mn_outcome o;
  mn_course *course = NULL;
  int rc = mn_course_create(&q, &course, &e);
  if (rc == MN_OK) rc = mn_course_run(course, &e);
  if (rc == MN_OK) rc = mn_course_outcome(course, &o, &e);
  if (rc == MN_OK) response_row(x, d, mn_course_series(course), &o, r);
  mn_course_destroy(course);
  return rc;
}

/* Draws [d0, r->nd) of setting @p c into @p r, in parallel. */
static int run_draws(mn__region_ctx *x, const mn__candidate *c, mn__response *r, int d0,
                     mn_error *err) {
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  int rc = mn_device_init_at(&dev, x->cat, x->req->device, c->depth_mm, err);
  if (rc) return rc;
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  lp.rtol = MN__PLAN_RTOL;
  int nt = mn_threads(x->req->threads), nd = r->nd;
  (void)nt; /* without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt)
#endif
  for (int d = d0; d < nd; d++) /* a stop request skips the draws not yet started; a failed run
                                    leaves its row's ok flag 0 */
    if (!mn_stop_requested()) (void)response_draw(x, c, &dev, &lp, d, r);
  x->evaluations += nd - d0;
  mn_device_fini(&dev);
  if (mn_stop_requested()) return mn_stop_error(err, "planning");
  for (int d = 0; d < nd; d++)
    if (r->ok[d]) return MN_OK;
  return MN_ERR(err, MN_EINTERNAL, "", "every lumped run failed for %s at %.2f mm",
                x->pr->req.region, c->depth_mm);
}

int mn__response_run(mn__region_ctx *x, const mn__candidate *c, int k, double interval, int nd,
                     mn__response *r, mn_error *err) {
  int rc = response_alloc(r, nd, err);
  if (rc) return rc;
  r->k = k, r->interval = interval;
  if ((rc = run_draws(x, c, r, 0, err))) mn__response_free(r);
  return rc;
}

int mn__response_extend(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                        mn_error *err) {
  if (nd <= r->nd) return MN_OK;
  int done = r->nd, rc = response_resize(r, nd, err);
  if (rc == MN_OK) rc = run_draws(x, c, r, done, err);
  if (rc) mn__response_free(r);
  return rc;
}

double mn__response_population(const mn__response *r, double goal) {
  int hit = 0, n = 0;
  for (int d = 0; d < r->nd; d++) {
    if (!r->ok[d]) continue;
    n++;
    hit += r->goal[d] >= goal;
  }
  return n ? (double)hit / n : 0;
}

/* Draw d's probability that a patient reaches the goal: the smallest patient factor b* whose
 * response b (the collagen change) reaches it (the goal quantity is non-decreasing in b: fill
 * rises with the collagen gain, collagen is linear), then P(b >= b*) over the spread. A draw that
 * predicts a loss (b only scales it) counts as its mean does. */
static double draw_probability(const mn__region_ctx *x, const mn__response *r, int d) {
  const mn_plan_region *pr = x->pr;
  const mn_spread *s = x->spread;
  const mn_model_params *m = &x->draws[d];
  double G = pr->goal_pct, y = r->goal[d], c = r->collagen[d];
  if ((s->n == 1 && !(s->sigma[0] > 0)) || !(c > 0)) return y >= G;
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

double mn__response_probability(const mn__region_ctx *x, const mn__response *r, double *var,
                                int *n) {
  double sum = 0, sum2 = 0;
  int m = 0;
  for (int d = 0; d < r->nd; d++) {
    if (!r->ok[d]) continue;
    double p = draw_probability(x, r, d);
    m++, sum += p, sum2 += p * p;
  }
  if (n) *n = m;
  if (var) { /* with the pseudo-draws 0 and 1 (Laplace): never 0, p (1 - p) for 0/1 draws */
    double mean = (sum + 1) / (m + 2.0);
    *var = (sum2 + 1) / (m + 2.0) - mean * mean;
    if (*var < 0) *var = 0;
  }
  return m ? sum / m : 0;
}
