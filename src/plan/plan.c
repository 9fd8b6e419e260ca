/* The protocol search of `mnsim plan` (issue 5).
 *
 * Per region: needle depths in 0.25 mm steps over the indication's range, bounded by the maker's
 * chart for the region and by the anatomy (the channel must end above the subcutis), and 1-3
 * passes. For one candidate the lumped twin is run for ONE session per parameter draw over the
 * whole horizon; the outcome of k sessions I days apart at the review (6 months after the last)
 * is the superposition sum_i g(R - i I) of that single-session response g (dermal thickening,
 * papillary collagen). Sessions land on healed tissue (intervals of 4+ weeks against a few days
 * of inflammation) and the matrix equations are linear in the new matrix, so the sum is close
 * to a multi-session run: the unit test `plan/superposition_matches_multi_session_runs` bounds
 * the difference. Goal probability = share of the draws whose outcome reaches the goal.
 *
 * Candidates are ranked on the nominal parameters (fewest sessions to the goal, then least
 * redness); the best one gets the draws; if it misses the required probability within the
 * constraints, the next ones are tried (at most three with draws). Then one interval for all
 * regions: fewest visits, then a sourced clinic interval (6-8 weeks) when allowed, then the
 * shortest. No session may start while the previous one's redness or barrier window is open
 * (95th percentile). Stage: plan. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/plan.h"
#include "plan_impl.h"

#define REVIEW_DAYS 182.5 /* the 6-month review after the last session */
#define WEEK 7.0
#define PASS_DENSITY 300.0 /* punctures per cm2 per pass */
/* CVODE's relative tolerance for the planner's runs: 1e-4 instead of 1e-5 changes redness and
 * collagen by less than 0.5 % (test plan/planner_tolerance) and saves about a fifth of the time */
#define PLAN_RTOL 1e-4
/* the single-session runs stop here; later days follow the plateau's slow turnover,
 * g(t) = g(RUN_DAYS) exp(-k_1 (t - RUN_DAYS)) (test plan/plateau_extrapolation) */
#define RUN_DAYS 400

/* ---- parameter tables of the request (the patient file's keys) ---------------------------- */

static const char *const concern_list[] = {"fine_lines", "wrinkles",    "acne_scars",
                                           "texture",    "uneven_tone", NULL};
static const char *const severity_list[] = {"mild", "moderate", "severe", NULL};
static const char *const scar_list[] = {"none", "icepick", "boxcar", "rolling", NULL};
static const char *const sex_list[] = {"female", "male", NULL};

#define RF(f) offsetof(mn_plan_region_req, f), sizeof(((mn_plan_region_req *)0)->f)
static const mn_config_desc region_table[] = {
    {"region", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "cheek", RF(region),
     "face region (see `mnsim skin --list`)"},
    {"concern", MN_CONFIG_ENUM, "", 0, 0, 4, concern_list, NULL, RF(concern),
     "what to treat: fine_lines, wrinkles, acne_scars, texture or uneven_tone"},
    {"severity", MN_CONFIG_ENUM, "", 1, 0, 2, severity_list, NULL, RF(severity),
     "mild, moderate or severe (sets the default defect depth and goal)"},
    {"scar_type", MN_CONFIG_ENUM, "", 0, 0, 3, scar_list, NULL, RF(scar_type),
     "acne scars: icepick, boxcar or rolling (icepick responds least)"},
    {"defect_mm", MN_CONFIG_DOUBLE, "mm", 0, 0, 3, NULL, NULL, RF(defect_mm),
     "depth of the wrinkle or scar; 0 = the indication's default (data/indications.csv)"},
    {"goal_pct", MN_CONFIG_DOUBLE, "%", 0, 0, 100, NULL, NULL, RF(goal_pct),
     "target improvement (fill of the defect, or collagen gain for texture); 0 = default"},
};
#define IF(f) offsetof(mn_plan_item, f), sizeof(((mn_plan_item *)0)->f)
static const mn_config_desc item_table[] = {
    {"name", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", IF(name),
     "medication or procedure (data/candidacy.csv names and aliases)"},
    {"days_ago", MN_CONFIG_DOUBLE, "days", 0, 0, 36500, NULL, NULL, IF(days_ago),
     "days since the last dose or the procedure (0 = now, ongoing)"},
};
#define PF(f) offsetof(mn_plan_patient, f), sizeof(((mn_plan_patient *)0)->f)
static const mn_config_desc patient_table[] = {
    {"age_y", MN_CONFIG_DOUBLE, "years", 40, 12, 100, NULL, NULL, PF(age_y), "age"},
    {"sex", MN_CONFIG_ENUM, "", 0, 0, 1, sex_list, NULL, PF(sex), "female or male (anatomy)"},
    {"fitzpatrick", MN_CONFIG_INT, "", 3, 1, 6, NULL, NULL, PF(fitzpatrick),
     "Fitzpatrick skin type 1-6"},
};
#define CF(f) offsetof(mn_plan_constraints, f), sizeof(((mn_plan_constraints *)0)->f)
static const mn_config_desc constraints_table[] = {
    {"max_sessions", MN_CONFIG_INT, "", 6, 1, MN_PLAN_MAX_SESSIONS, NULL, NULL, CF(max_sessions),
     "most sessions the patient accepts"},
    {"max_downtime_days", MN_CONFIG_DOUBLE, "days", 7, 0.5, 30, NULL, NULL, CF(max_downtime_days),
     "visible redness tolerated after each session (model median)"},
    {"min_interval_weeks", MN_CONFIG_DOUBLE, "weeks", 4, 4, 12, NULL, NULL, CF(min_interval_weeks),
     "shortest interval between sessions"},
    {"max_interval_weeks", MN_CONFIG_DOUBLE, "weeks", 12, 4, 12, NULL, NULL, CF(max_interval_weeks),
     "longest interval between sessions"},
    {"earliest_start", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", CF(earliest_start),
     "first possible session date YYYY-MM-DD (default: today)"},
    {"finish_by", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", CF(finish_by),
     "last session at the latest, YYYY-MM-DD (default: none)"},
    {"probability", MN_CONFIG_DOUBLE, "", 0.8, 0.5, 0.99, NULL, NULL, CF(probability),
     "required probability of reaching the goal over the parameter draws"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
const mn_config_desc *mn_plan_region_param_table(size_t *n) {
  *n = COUNT(region_table);
  return region_table;
}
const mn_config_desc *mn_plan_item_param_table(size_t *n) {
  *n = COUNT(item_table);
  return item_table;
}
const mn_config_desc *mn_plan_patient_param_table(size_t *n) {
  *n = COUNT(patient_table);
  return patient_table;
}
const mn_config_desc *mn_plan_constraints_param_table(size_t *n) {
  *n = COUNT(constraints_table);
  return constraints_table;
}

int mn_plan_request_check(const mn_plan_request *r, mn_error *err) {
  const mn_plan_constraints *c = &r->constraints;
  if (r->n_regions < 1)
    return MN_ERR(err, MN_EINPUT, "regions", "regions: list at least one region to treat");
  if (c->min_interval_weeks > c->max_interval_weeks)
    return MN_ERR(err, MN_EINPUT, "constraints.min_interval_weeks",
                  "constraints.min_interval_weeks = %g is longer than max_interval_weeks = %g: no "
                  "interval satisfies both",
                  c->min_interval_weeks, c->max_interval_weeks);
  long s = c->earliest_start[0] ? mn_date_days(c->earliest_start) : 0;
  if (s < 0)
    return MN_ERR(err, MN_EINPUT, "constraints.earliest_start",
                  "constraints.earliest_start = '%s' is not a date YYYY-MM-DD", c->earliest_start);
  if (c->finish_by[0]) {
    long f = mn_date_days(c->finish_by);
    if (f < 0)
      return MN_ERR(err, MN_EINPUT, "constraints.finish_by",
                    "constraints.finish_by = '%s' is not a date YYYY-MM-DD", c->finish_by);
    if (c->earliest_start[0] && f < s)
      return MN_ERR(err, MN_EINPUT, "constraints.finish_by",
                    "constraints.finish_by = %s is before earliest_start = %s", c->finish_by,
                    c->earliest_start);
  }
  for (int i = 0; i < r->n_regions; i++) {
    const mn_plan_region_req *q = &r->regions[i];
    char key[48];
    snprintf(key, sizeof key, "regions[%d].scar_type", i);
    if (q->concern != MN_CONCERN_ACNE_SCARS && q->scar_type > 0)
      return MN_ERR(err, MN_EINPUT, key, "%s = %s is for acne_scars, not %s", key,
                    scar_list[q->scar_type], mn_concern_name(q->concern));
    snprintf(key, sizeof key, "regions[%d]", i);
    for (int j = 0; j < i; j++)
      if (!strcmp(r->regions[j].region, q->region) && r->regions[j].concern == q->concern)
        return MN_ERR(err, MN_EINPUT, key,
                      "%s repeats regions[%d] (%s, %s): give each region and concern once", key, j,
                      q->region, mn_concern_name(q->concern));
  }
  if (r->draws < 0 || r->draws > 5000)
    return MN_ERR(err, MN_ERANGE, "draws", "draws = %d: allowed 0 (nominal only) to 5000",
                  r->draws);
  return MN_OK;
}

/* ---- the single-session response per draw ------------------------------------------------ */

typedef struct response {
  int nd;           /* draws (0 = the nominal run only) */
  int horizon;      /* days sampled: g[d][0..horizon] */
  double *gain;     /* [nd][horizon + 1] the goal's quantity per day (thickening um or PD %) */
  double *collagen; /* [nd][horizon + 1] papillary collagen change, % */
  double *week;     /* [nd][MN_PLAN_WEEK_SAMPLES] redness R(t) hourly */
  double *red, *bar, *sun, *pih; /* [nd] per session */
  double thr;                    /* redness visibility threshold of draw 0 */
  int *ok;                       /* [nd] run finished */
} response;

static void response_free(response *r) {
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

static int response_alloc(response *r, int nd, int horizon, mn_error *err) {
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
    response_free(r);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for %d parameter draws", nd);
  }
  return MN_OK;
}

static double series_at(const mn_timeseries *ts, const double *x, double t) {
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

typedef struct candidate {
  double depth_mm;
  int passes;
  double density;
  int allowed;        /* its nominal redness is within max_downtime_days */
  double red_nominal; /* redness days */
} candidate;

typedef struct region_ctx {
  const mn_plan_request *req;
  const mn_device_catalogue *cat;
  mn_plan_region *pr;
  const mn_model_params *draws; /* [nd] */
  int nd;
  int horizon;
  int threads;
  int evaluations;
} region_ctx;

/* one session at (depth, density) for each of the draws; fills @p r */
static int run_draws(region_ctx *x, const candidate *c, const mn_model_params *draws, int nd,
                     response *r, mn_error *err) {
  int rc = response_alloc(r, nd, x->horizon, err);
  if (rc) return rc;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  if ((rc = mn_device_init_at(&dev, x->cat, x->req->device, c->depth_mm, err))) {
    response_free(r);
    return rc;
  }
  const mn_plan_region *pr = x->pr;
  int h = x->horizon, failed = 0;
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  lp.rtol = PLAN_RTOL;
  int nt = x->threads;
  (void)nt; /* without OpenMP */
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(nt) reduction(+ : failed)
#endif
  for (int d = 0; d < nd; d++) {
    mn_error e = {0};
    mn_course_params q;
    mn_course_params_default(&q);
    q.mode = MN_COURSE_LUMPED;
    q.model = &draws[d];
    q.fitzpatrick = x->req->patient.fitzpatrick;
    q.skin = &pr->skin;
    q.dev = &dev;
    q.density_cm2 = c->density;
    q.depth_mm = c->depth_mm;
    q.days = h < RUN_DAYS ? h : RUN_DAYS;
    q.lumped = &lp;
    mn_outcome o;
    mn_course *course = NULL;
    if (mn_course_create(&q, &course, &e) != MN_OK || mn_course_run(course, &e) != MN_OK ||
        mn_course_outcome(course, &o, &e) != MN_OK) {
      failed++;
      mn_course_destroy(course);
      continue;
    }
    const mn_timeseries *tsp = mn_course_series(course);
    double *g = r->gain + (size_t)d * (size_t)(h + 1),
           *cp = r->collagen + (size_t)d * (size_t)(h + 1);
    int tr = h < RUN_DAYS ? h : RUN_DAYS;
    for (int t = 0; t <= tr; t++) {
      double c1 = mn_ts_at(tsp, MN_LAYER_PD, MN_SP_C1, t) + mn_ts_at(tsp, MN_LAYER_PD, MN_SP_C3, t);
      double dh = 0;
      for (int l = MN_LAYER_PD; l <= MN_LAYER_RD; l++)
        dh += pr->skin.thickness_um[l] *
              (mn_ts_at(tsp, l, MN_SP_C1, t) + mn_ts_at(tsp, l, MN_SP_C3, t) - 1);
      cp[t] = 100 * (c1 - 1);
      g[t] = pr->quantity == MN_GOAL_FILL ? draws[d].psi * dh : cp[t];
    }
    for (int t = tr + 1; t <= h; t++) { /* past the run: the plateau decays by turnover alone */
      double f = exp(-draws[d].k_1 * (t - tr));
      cp[t] = cp[tr] * f, g[t] = g[tr] * f;
    }
    double *w = r->week + (size_t)d * MN_PLAN_WEEK_SAMPLES;
    for (int i = 0; i < MN_PLAN_WEEK_SAMPLES; i++) w[i] = series_at(tsp, tsp->redness, i / 24.0);
    r->red[d] = o.redness_days[0];
    if (d == 0) r->thr = o.redness_threshold;
    r->bar[d] = o.barrier_days[0];
    r->sun[d] = o.sun_days[0];
    r->pih[d] = 100 * o.pih_risk;
    r->ok[d] = 1;
    mn_course_destroy(course);
  }
  x->evaluations += nd;
  mn_device_fini(&dev);
  if (failed == nd) {
    response_free(r);
    return MN_ERR(err, MN_EINTERNAL, "", "every lumped run failed for %s at %.2f mm",
                  pr->req.region, c->depth_mm);
  }
  return MN_OK;
}

/* the goal quantity at the review of k sessions I days apart, draw d */
/* k sessions I days apart, at the review: sum_i g(R - i I) of a daily single-session response */
static double superpose(const double *g, int horizon, int k, double interval) {
  double review = (k - 1) * interval + REVIEW_DAYS, sum = 0;
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

static double course_value(const response *r, int d, int k, double interval, int quantity,
                           double defect_um) {
  double sum = superpose(r->gain + (size_t)d * (size_t)(r->horizon + 1), r->horizon, k, interval);
  return quantity == MN_GOAL_FILL ? mn_outcome_fill_pct(sum, defect_um) : sum;
}

/* share of the finished draws reaching @p goal */
static double probability(const response *r, int k, double interval, int quantity, double defect_um,
                          double goal) {
  int hit = 0, n = 0;
  for (int d = 0; d < r->nd; d++) {
    if (!r->ok[d]) continue;
    n++;
    hit += course_value(r, d, k, interval, quantity, defect_um) >= goal;
  }
  return n ? (double)hit / n : 0;
}

/* ---- the plan ------------------------------------------------------------------------------ */

/* the region's depth bounds and candidates */
static int candidates(region_ctx *x, const mn_indications *ind, candidate *out, int cap, int *n,
                      mn_error *err) {
  mn_plan_region *pr = x->pr;
  const mn_device_spec *spec;
  int rc = mn_device_catalogue_find(x->cat, x->req->device, &spec, err);
  if (rc) return rc;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  MN_TRY(mn_device_init_at(&dev, x->cat, x->req->device, spec->depth_mm_max, err));
  double chart = 3, total = pr->skin.top_um[MN_LAYER_HYPO];
  const char *chart_src = "no chart row";
  for (int i = 0; i < ind->nregions; i++)
    if (!strcmp(ind->region[i].region, pr->skin.region))
      chart = ind->region[i].max_mm, chart_src = ind->region[i].source;
  /* anatomy: the effective channel depth (nominal x depth ratio) ends within the dermis of a
   * patient whose dermis is one between-subject SD thicker than the region's mean (our rule [E]:
   * the maker's chart allows 1.5-2 mm on cheeks, where the mean dermis ends near 1.1 mm) */
  double sd = pr->skin.sd_um[MN_LAYER_RD];
  double anat = floor(4 * 0.001 * (total + sd) / dev.depth_ratio + 1e-9) / 4;
  double cap_mm = fmin(fmin(chart, anat), fmin(pr->ind->depth_max_mm, spec->depth_mm_max));
  pr->depth_cap_mm = cap_mm;
  snprintf(
      pr->depth_reason, sizeof pr->depth_reason,
      "indication %.2f-%.2f mm; region chart %.2f mm (%.150s); anatomy %.2f mm (dermis ends at "
      "%.0f +- %.0f um, depth ratio %.2f)",
      pr->ind->depth_min_mm, pr->ind->depth_max_mm, chart, chart_src, anat, total, sd,
      dev.depth_ratio);
  double lo = fmax(pr->ind->depth_min_mm, spec->depth_mm_min);
  if (lo > cap_mm) lo = cap_mm; /* the region allows less than the indication asks */
  /* a typical pen pass: about 300 punctures/cm2 (two passes ~ 600/cm2, the protocol of the
   * calibration targets SEED1 and CT21c, data/target_models.csv); the report gives the hand speed
   * that yields it with this cartridge */
  double per_pass = PASS_DENSITY;
  *n = 0;
  for (double dmm = lo; dmm <= cap_mm + 1e-9 && *n < cap; dmm += 0.25)
    for (int p = 1; p <= 3 && *n < cap; p++) {
      candidate *c = &out[(*n)++];
      memset(c, 0, sizeof *c);
      c->depth_mm = round(dmm * 100) / 100, c->passes = p, c->density = p * per_pass;
    }
cleanup:
  mn_device_fini(&dev);
  return rc;
}

/* the interval-free part: for a response and an interval, the fewest sessions reaching the goal
 * with the required probability (max_sessions + 1 when none) */
static int sessions_needed(const response *r, const mn_plan_region *pr, double interval, int kmax,
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

int mn_plan_make(const mn_plan_request *req, const mn_skin_atlas *atlas,
                 const mn_device_catalogue *cat, const mn_param_set *ps,
                 const mn_candidacy_rules *rules, const mn_indications *ind, mn_plan *out,
                 mn_error *err) {
  int rc = MN_OK;
  const mn_plan_constraints *cs = &req->constraints;
  mn_model_params *draws = NULL;
  response *resp = NULL;
  memset(out, 0, sizeof *out);
  MN_TRY(mn_plan_request_check(req, err));
  MN_TRY(mn_candidacy_screen(rules, &req->patient, &out->cand, err));
  out->treat = out->cand.verdict <= MN_CAND_PRECAUTIONS;
  out->n_regions = req->n_regions;
  out->draws_used = 0;
  int kmax = cs->max_sessions;
  double imin = cs->min_interval_weeks * WEEK, imax = cs->max_interval_weeks * WEEK;
  /* the horizon: the longest course plus its review */
  int horizon = (int)ceil((kmax - 1) * imax + REVIEW_DAYS) + 2;
  if (horizon < 366) horizon = 366;
  /* the draws: the nominal parameters first, then the Latin hypercube */
  int nd = 1, kept = 0, dropped = 0;
  draws = mn_malloc_array((size_t)(req->draws + 1), sizeof *draws);
  MN_CHECK(draws, err, MN_ENOMEM, "", "out of memory for %d draws", req->draws);
  draws[0] = ps->p;
  if (req->draws > 0) {
    MN_TRY(mn_ensemble(ps, MN_ENSEMBLE_POSTERIOR, req->draws, req->seed, draws + 1, &kept, &dropped,
                       err));
    nd += kept;
    if (kept < req->draws)
      mn_log(MN_LOG_WARN, "draws = %d: the posterior ensemble gives %d usable draws; using those",
             req->draws, kept);
  }
  out->draws_used = kept;
  resp = mn_calloc((size_t)req->n_regions, sizeof *resp);
  MN_CHECK(resp, err, MN_ENOMEM, "", "out of memory");
  for (int i = 0; i < req->n_regions; i++) {
    mn_plan_region *pr = &out->region[i];
    pr->req = req->regions[i];
    pr->ind = mn_indication_find(ind, pr->req.concern, pr->req.severity);
    MN_CHECK(pr->ind, err, MN_EINTERNAL, "", "no indication row for %s/%s",
             mn_concern_name(pr->req.concern), mn_severity_name(pr->req.severity));
    mn_skin_params sp = {.age_y = fmax(16, req->patient.age_y),
                         .sex = req->patient.sex,
                         .fitzpatrick = req->patient.fitzpatrick};
    snprintf(sp.region, sizeof sp.region, "%s", pr->req.region);
    if ((rc = mn_skin_build(atlas, &sp, &pr->skin, err))) {
      if (err) { /* name the patient file's key, not the case file's */
        char key[48], msg[sizeof err->msg];
        snprintf(key, sizeof key, "regions[%d].region", i);
        const char *at = strstr(err->msg, "skin.region");
        if (at) {
          snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - err->msg), err->msg, key,
                   at + strlen("skin.region"));
          memcpy(err->msg, msg, sizeof msg);
        }
        snprintf(err->key, sizeof err->key, "%s", key);
      }
      goto cleanup;
    }
    pr->quantity = pr->ind->quantity;
    pr->defect_mm = pr->req.defect_mm > 0 ? pr->req.defect_mm : pr->ind->defect_mm;
    pr->goal_pct = pr->req.goal_pct > 0 ? pr->req.goal_pct : pr->ind->goal_pct;
    if (pr->req.concern == MN_CONCERN_ACNE_SCARS && pr->req.scar_type == 1 /* icepick */)
      pr->defect_mm =
          fmax(pr->defect_mm, 0.5); /* V-shaped tracts to the deep dermis (Jacob 2001) */
    region_ctx x = {.req = req,
                    .cat = cat,
                    .pr = pr,
                    .draws = draws,
                    .nd = nd,
                    .horizon = horizon,
                    .threads = req->threads};
    candidate cand[64];
    int nc = 0;
    MN_TRY(candidates(&x, ind, cand, 64, &nc, err));
    MN_CHECK(nc > 0, err, MN_EINTERNAL, "", "no needle depth for %s", pr->req.region);
    double ipref = fmin(fmax(ind->interval_pref_weeks[0] * WEEK, imin), imax);
    /* nominal screening of every candidate: its single-session response and redness */
    double *gnom = mn_malloc_array((size_t)nc * (size_t)(horizon + 1), sizeof *gnom);
    MN_CHECK(gnom, err, MN_ENOMEM, "", "out of memory");
    for (int c = 0; c < nc; c++) {
      response r0;
      if ((rc = run_draws(&x, &cand[c], draws, 1, &r0, err))) {
        mn_free(gnom);
        goto cleanup;
      }
      memcpy(gnom + (size_t)c * (size_t)(horizon + 1), r0.gain,
             (size_t)(horizon + 1) * sizeof *gnom);
      cand[c].red_nominal = r0.red[0];
      cand[c].allowed = cand[c].red_nominal <= cs->max_downtime_days; /* allowed */
      response_free(&r0);
    }
    /* the strongest allowed candidate (largest single-session response), or, when the downtime
     * rules them all out, the one with the least redness */
    int strong = -1, any = 0;
    for (int c = 0; c < nc; c++) any |= cand[c].allowed;
    for (int c = 0; c < nc; c++) {
      const double *g = gnom + (size_t)c * (size_t)(horizon + 1);
      if (any && !cand[c].allowed) continue;
      if (strong < 0) {
        strong = c;
        continue;
      }
      const double *gs = gnom + (size_t)strong * (size_t)(horizon + 1);
      int better = any ? superpose(g, horizon, 1, ipref) > superpose(gs, horizon, 1, ipref)
                       : cand[c].red_nominal < cand[strong].red_nominal;
      if (better) strong = c;
    }
    if (!any) {
      size_t len = strlen(out->note);
      snprintf(out->note + len, sizeof out->note - len,
               "%s%s: every setting's redness exceeds max_downtime_days = %g; the mildest is used",
               len ? "; " : "", pr->skin.region, cs->max_downtime_days);
    }
    response rs;
    if ((rc = run_draws(&x, &cand[strong], draws, nd, &rs, err))) {
      mn_free(gnom);
      goto cleanup;
    }
    int chosen = strong;
    double p_s = 0;
    int k_s = pr->quantity == MN_GOAL_NONE
                  ? pr->ind->protocol_sessions
                  : sessions_needed(&rs, pr, ipref, kmax, cs->probability, &p_s);
    if (pr->quantity == MN_GOAL_NONE) { /* no model goal: the least redness */
      for (int c = 0; c < nc; c++)
        if ((!any || cand[c].allowed) && cand[c].red_nominal < cand[chosen].red_nominal) chosen = c;
    } else if (k_s <= kmax) {
      /* the gentlest candidate that reaches the goal in as few sessions, each draw's response
       * scaled from the strongest one's (the draws' spread is close to multiplicative) */
      const double *gs = gnom + (size_t)strong * (size_t)(horizon + 1);
      double ns = superpose(gs, horizon, k_s, ipref);
      for (int c = 0; c < nc; c++) {
        if (c == strong || (any && !cand[c].allowed)) continue;
        if (cand[c].red_nominal >= cand[chosen].red_nominal) continue;
        double nc_val = superpose(gnom + (size_t)c * (size_t)(horizon + 1), horizon, k_s, ipref);
        int hit = 0, m = 0;
        for (int d = 0; d < rs.nd; d++) {
          if (!rs.ok[d]) continue;
          m++;
          double v = ns != 0 ? nc_val *
                                   superpose(rs.gain + (size_t)d * (size_t)(horizon + 1), horizon,
                                             k_s, ipref) /
                                   ns
                             : 0;
          if (pr->quantity == MN_GOAL_FILL) v = mn_outcome_fill_pct(v, 1000 * pr->defect_mm);
          hit += v >= pr->goal_pct;
        }
        if (m && (double)hit / m >= cs->probability + 0.03) chosen = c; /* a margin: a proxy */
      }
    }
    mn_free(gnom);
    int best_k = k_s;
    resp[i] = rs;
    pr->depth_mm = cand[strong].depth_mm, pr->passes = cand[strong].passes,
    pr->density_cm2 = cand[strong].density;
    if (chosen != strong) { /* confirm with its own draws; keep it only if it holds */
      response rc2;
      if ((rc = run_draws(&x, &cand[chosen], draws, nd, &rc2, err))) goto cleanup;
      double p_c = 0;
      int k_c = pr->quantity == MN_GOAL_NONE
                    ? pr->ind->protocol_sessions
                    : sessions_needed(&rc2, pr, ipref, kmax, cs->probability, &p_c);
      if (k_c <= k_s) {
        response_free(&resp[i]);
        resp[i] = rc2;
        best_k = k_c;
        pr->depth_mm = cand[chosen].depth_mm, pr->passes = cand[chosen].passes,
        pr->density_cm2 = cand[chosen].density;
      } else
        response_free(&rc2);
    }
    pr->reached = pr->quantity == MN_GOAL_NONE || best_k <= kmax;
    pr->sessions = best_k <= kmax ? best_k : kmax;
    pr->draws_kept = nd;
    out->evaluations += x.evaluations;
  }
  /* one interval for all regions: fewest visits, then the clinic interval, then the shortest */
  long start =
      cs->earliest_start[0] ? mn_date_days(cs->earliest_start) : (long)(time(NULL) / 86400);
  long finish = cs->finish_by[0] ? mn_date_days(cs->finish_by) : -1;
  double best_I = -1;
  int best_visits = 1 << 30, best_pref = 0;
  for (double I = imin; I <= imax + 1e-9; I += WEEK) {
    int visits = 0;
    for (int i = 0; i < req->n_regions; i++) {
      mn_plan_region *pr = &out->region[i];
      double p;
      int k = pr->quantity == MN_GOAL_NONE
                  ? pr->sessions
                  : sessions_needed(&resp[i], pr, I, kmax, cs->probability, &p);
      if (k > kmax) k = kmax + 1;
      if (k > visits) visits = k;
    }
    if (finish >= 0 && (visits - 1) * I > (double)(finish - start)) continue;
    int pref = I >= ind->interval_pref_weeks[0] * WEEK - 1e-9 &&
               I <= ind->interval_pref_weeks[1] * WEEK + 1e-9;
    if (visits < best_visits || (visits == best_visits && pref && !best_pref)) {
      best_visits = visits, best_I = I, best_pref = pref;
    }
  }
  if (best_I < 0) { /* finish_by leaves no interval: the shortest, fewer sessions */
    best_I = imin;
    snprintf(out->note, sizeof out->note,
             "constraints.finish_by leaves too little time for the sessions needed at a %g-week "
             "interval; the plan is cut to the sessions that fit",
             imin / WEEK);
  }
  out->interval_days = best_I;
  out->sessions = 0;
  out->reached = 1;
  for (int i = 0; i < req->n_regions; i++) {
    mn_plan_region *pr = &out->region[i];
    response *r = &resp[i];
    int k = pr->sessions;
    if (pr->quantity != MN_GOAL_NONE) {
      double p;
      k = sessions_needed(r, pr, best_I, kmax, cs->probability, &p);
      pr->reached = k <= kmax;
      if (k > kmax) k = kmax;
    }
    if (finish >= 0) {
      int fit = 1 + (int)floor((double)(finish - start) / best_I + 1e-9);
      if (k > fit) k = fit, pr->reached = 0;
    }
    pr->sessions = k;
    out->reached &= pr->reached;
    if (k > out->sessions) out->sessions = k;
    /* bands at the review of the chosen course */
    double *v = mn_malloc_array((size_t)r->nd, sizeof *v);
    double *cv = mn_malloc_array((size_t)r->nd, sizeof *cv);
    MN_CHECK(v && cv, err, MN_ENOMEM, "", "out of memory");
    int m = 0, hit = 0;
    for (int d = 0; d < r->nd; d++) {
      if (!r->ok[d]) continue;
      v[m] = course_value(r, d, k, best_I, pr->quantity, 1000 * pr->defect_mm);
      hit += v[m] >= pr->goal_pct;
      m++;
    }
    pr->probability = m ? (double)hit / m : 0;
    if (pr->quantity == MN_GOAL_NONE) pr->probability = NAN;
    mn_quantiles(v, m, pr->outcome);
    /* collagen at the review: superpose the collagen response */
    response rc2 = *r;
    rc2.gain = r->collagen;
    m = 0;
    for (int d = 0; d < r->nd; d++)
      if (r->ok[d]) cv[m++] = course_value(&rc2, d, k, best_I, MN_GOAL_COLLAGEN, 0);
    mn_quantiles(cv, m, pr->collagen_pd);
    /* per-session windows */
    double *arrs[4] = {r->red, r->bar, r->sun, r->pih};
    double *dst[4] = {pr->redness_days, pr->barrier_days, pr->sun_days, pr->pih_pct};
    for (int a = 0; a < 4; a++) {
      m = 0;
      for (int d = 0; d < r->nd; d++)
        if (r->ok[d]) v[m++] = arrs[a][d];
      mn_quantiles(v, m, dst[a]);
    }
    /* figures: redness over the first week, the course's gain over the first year */
    pr->redness_threshold = r->thr;
    pr->nweek = MN_PLAN_WEEK_SAMPLES;
    for (int h = 0; h < MN_PLAN_WEEK_SAMPLES; h++) {
      m = 0;
      for (int d = 0; d < r->nd; d++)
        if (r->ok[d]) v[m++] = r->week[(size_t)d * MN_PLAN_WEEK_SAMPLES + (size_t)h];
      double q[3];
      mn_quantiles(v, m, q);
      pr->week_t[h] = h / 24.0;
      for (int j = 0; j < 3; j++) pr->week_red[j][h] = q[j];
    }
    pr->nyear = MN_PLAN_YEAR_SAMPLES;
    for (int t = 0; t < MN_PLAN_YEAR_SAMPLES; t++) {
      m = 0;
      for (int d = 0; d < r->nd; d++) {
        if (!r->ok[d]) continue;
        const double *g = r->collagen + (size_t)d * (size_t)(r->horizon + 1);
        double s = 0;
        for (int j = 0; j < k; j++) {
          double tt = t - j * best_I;
          if (tt < 0) break;
          int a = (int)tt;
          s += a >= r->horizon ? g[r->horizon] : g[a] + (tt - a) * (g[a + 1] - g[a]);
        }
        v[m++] = s;
      }
      double q[3];
      mn_quantiles(v, m, q);
      pr->year_t[t] = t;
      for (int j = 0; j < 3; j++) pr->year_gain[j][t] = q[j];
    }
    mn_free(v);
    mn_free(cv);
    /* the no-overlap rule: the interval outlasts the 95th percentile of redness and barrier */
    if (best_I < pr->redness_days[2] || best_I < pr->barrier_days[2]) {
      size_t len = strlen(out->note);
      snprintf(out->note + len, sizeof out->note - len,
               "%s%s: the %g-week interval is shorter than the redness or barrier window",
               len ? "; " : "", pr->req.region, best_I / WEEK);
    }
  }
  for (int s = 0; s < out->sessions; s++) out->session_day[s] = s * best_I;
  out->review_day = (out->sessions - 1) * best_I + REVIEW_DAYS;
  mn_date_format(start, out->start);
cleanup:
  if (resp)
    for (int i = 0; i < req->n_regions; i++) response_free(&resp[i]);
  mn_free(resp);
  mn_free(draws);
  return rc;
}
