/* The planner's model runs: for a needle setting, ONE session per parameter draw as a lumped
 * course over the horizon (the goal quantity and papillary collagen per day, redness over the
 * first week, the windows), and courses of k sessions I days apart by superposition of that
 * single-session response: sum_i g(R - i I) at the review R. Sessions land on healed tissue
 * (intervals of 4+ weeks against a few days of inflammation) and the matrix equations are linear
 * in the new matrix, so the sum is close to a multi-session run: the unit test
 * plan/superposition_matches_multi_session_runs bounds the difference. Stage: plan. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "plan_impl.h"

void mn__response_free(mn__response *r) {
  mn_free(r->gain);
  mn_free(r->collagen);
  mn_free(r->week);
  mn_free(r->red);
  mn_free(r->bar);
  mn_free(r->sun);
  mn_free(r->pih);
  mn_free(r->ok);
  memset(r, 0, sizeof *r);
}

static int response_alloc(mn__response *r, int nd, int horizon, mn_error *err) {
  memset(r, 0, sizeof *r);
  r->nd = nd, r->horizon = horizon;
  size_t n = (size_t)nd, h = (size_t)horizon + 1;
  r->gain = mn_malloc_array(n * h, sizeof(double));
  r->collagen = mn_malloc_array(n * h, sizeof(double));
  r->week = mn_malloc_array(n * MN_PLAN_WEEK_SAMPLES, sizeof(double));
  r->red = mn_malloc_array(n, sizeof(double));
  r->bar = mn_malloc_array(n, sizeof(double));
  r->sun = mn_malloc_array(n, sizeof(double));
  r->pih = mn_malloc_array(n, sizeof(double));
  r->ok = mn_calloc(n, sizeof(int));
  if (!r->gain || !r->collagen || !r->week || !r->red || !r->bar || !r->sun || !r->pih || !r->ok) {
    mn__response_free(r);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for %d parameter draws", nd);
  }
  return MN_OK;
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

/* Draw @p d's row of @p r from its single-session series @p ts and outcome @p o: the goal
 * quantity and collagen per day (extended past the run by turnover alone), the first week's
 * redness hourly, and the windows. */
static void response_row(const mn__region_ctx *x, int d, const mn_timeseries *ts,
                         const mn_outcome *o, mn__response *r) {
  const mn_plan_region *pr = x->pr;
  const mn_model_params *m = &x->draws[d];
  int h = x->horizon, tr = h < MN__RUN_DAYS ? h : MN__RUN_DAYS;
  double *g = r->gain + (size_t)d * (size_t)(h + 1),
         *cp = r->collagen + (size_t)d * (size_t)(h + 1);
  for (int t = 0; t <= tr; t++) {
    double c1 = mn_ts_at(ts, MN_LAYER_PD, MN_SP_C1, t) + mn_ts_at(ts, MN_LAYER_PD, MN_SP_C3, t);
    double dh = 0;
    for (int l = MN_LAYER_PD; l <= MN_LAYER_RD; l++)
      dh += pr->skin.thickness_um[l] *
            (mn_ts_at(ts, l, MN_SP_C1, t) + mn_ts_at(ts, l, MN_SP_C3, t) - 1);
    cp[t] = 100 * (c1 - 1);
    g[t] = pr->quantity == MN_GOAL_FILL ? m->psi * dh : cp[t];
  }
  for (int t = tr + 1; t <= h; t++) { /* past the run: the plateau decays by turnover alone */
    double f = exp(-m->k_1 * (t - tr));
    cp[t] = cp[tr] * f, g[t] = g[tr] * f;
  }
  double *w = r->week + (size_t)d * MN_PLAN_WEEK_SAMPLES;
  for (int i = 0; i < MN_PLAN_WEEK_SAMPLES; i++) w[i] = mn__series_at(ts, ts->redness, i / 24.0);
  r->red[d] = o->redness_days[0];
  if (d == 0) r->thr = o->redness_threshold;
  r->bar[d] = o->barrier_days[0];
  r->sun[d] = o->sun_days[0];
  r->pih[d] = 100 * o->pih_risk;
  r->ok[d] = 1;
}

/* One session of setting @p c with draw @p d as a lumped course to the run's end; MN_OK when
 * the row of @p r is filled. */
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
  q.days = x->horizon < MN__RUN_DAYS ? x->horizon : MN__RUN_DAYS;
  q.lumped = lp;
  mn_outcome o;
  mn_course *course = NULL;
  int rc = mn_course_create(&q, &course, &e);
  if (rc == MN_OK) rc = mn_course_run(course, &e);
  if (rc == MN_OK) rc = mn_course_outcome(course, &o, &e);
  if (rc == MN_OK) response_row(x, d, mn_course_series(course), &o, r);
  mn_course_destroy(course);
  return rc;
}

int mn__response_run(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                     mn_error *err) {
  int rc = response_alloc(r, nd, x->horizon, err), failed = 0;
  if (rc) return rc;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  if ((rc = mn_device_init_at(&dev, x->cat, x->req->device, c->depth_mm, err))) {
    mn__response_free(r);
    return rc;
  }
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  lp.rtol = MN__PLAN_RTOL;
  int nt = x->req->threads;
  (void)nt; /* without OpenMP */
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(nt) reduction(+ : failed)
#endif
  for (int d = 0; d < nd; d++) failed += response_draw(x, c, &dev, &lp, d, r) != MN_OK;
  x->evaluations += nd;
  mn_device_fini(&dev);
  if (failed == nd) {
    mn__response_free(r);
    return MN_ERR(err, MN_EINTERNAL, "", "every lumped run failed for %s at %.2f mm",
                  x->pr->req.region, c->depth_mm);
  }
  return MN_OK;
}

double mn__superpose(const double *g, int horizon, int k, double interval) {
  double review = (k - 1) * interval + MN__REVIEW_DAYS, sum = 0;
  for (int i = 0; i < k; i++) {
    double t = review - i * interval;
    int a = (int)floor(t);
    if (a >= horizon) {
      sum += g[horizon];
      continue;
    }
    double w = t - a;
    sum += (1 - w) * g[a] + w * g[a + 1];
  }
  return sum;
}

double mn__course_value(const mn__response *r, int d, int k, double interval, int quantity,
                        double defect_um) {
  double sum =
      mn__superpose(r->gain + (size_t)d * (size_t)(r->horizon + 1), r->horizon, k, interval);
  return quantity == MN_GOAL_FILL ? mn_outcome_fill_pct(sum, defect_um) : sum;
}

/* share of the finished draws reaching @p goal */
static double probability(const mn__response *r, int k, double interval, int quantity,
                          double defect_um, double goal) {
  int hit = 0, n = 0;
  for (int d = 0; d < r->nd; d++) {
    if (!r->ok[d]) continue;
    n++;
    hit += mn__course_value(r, d, k, interval, quantity, defect_um) >= goal;
  }
  return n ? (double)hit / n : 0;
}

/* the interval-free part: for a response and an interval, the fewest sessions reaching the goal
 * with the required probability (max_sessions + 1 when none) */
int mn__sessions_needed(const mn__response *r, const mn_plan_region *pr, double interval, int kmax,
                        double p_req, double *p_at) {
  double best = 0;
  for (int k = 1; k <= kmax; k++) {
    double p = probability(r, k, interval, pr->quantity, 1000 * pr->defect_mm, pr->goal_pct);
    if (p > best) best = p;
    if (p >= p_req) {
      *p_at = p;
      return k;
    }
  }
  *p_at = best;
  return kmax + 1;
}
