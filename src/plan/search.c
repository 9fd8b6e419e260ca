/* The protocol search of `mnsim plan`.
 *
 * Per region: needle depths in 0.25 mm steps over the indication's range, bounded by the maker's
 * chart for the region and by the anatomy (the channel must end above the subcutis), and 1-3
 * passes. Each candidate's single-session response comes from response.c; goal probability =
 * share of the draws whose course reaches the goal at the review.
 *
 * Candidates are ranked on the nominal parameters (fewest sessions to the goal, then least
 * redness); the best one gets the draws; a gentler one replaces it only when its own draws
 * confirm it. Then one interval for all regions: fewest visits, then a clinic interval (6-8
 * weeks) when allowed, then the shortest. No session may start while the previous one's redness
 * or barrier window is open (95th percentile). Stage: plan. */
#include <math.h>
#include <string.h>

#include "plan_impl.h"

enum { MAX_CANDIDATES = 64 };

/* ---- one region ----------------------------------------------------------------------------- */

/* The region's anatomy and indication; an unknown region names the patient file's key. */
static int region_setup(const mn_plan_request *req, int i, const mn_skin_atlas *atlas,
                        const mn_indications *ind, mn_plan_region *pr, mn_error *err) {
  pr->req = req->regions[i];
  pr->ind = mn_indication_find(ind, pr->req.concern, pr->req.severity);
  if (!pr->ind)
    return MN_ERR(err, MN_EINTERNAL, "", "no indication row for %s/%s",
                  mn_concern_name(pr->req.concern), mn_severity_name(pr->req.severity));
  mn_skin_params sp = {.age_y = fmax(16, req->patient.age_y),
                       .sex = req->patient.sex,
                       .fitzpatrick = req->patient.fitzpatrick};
  snprintf(sp.region, sizeof sp.region, "%s", pr->req.region);
  int rc = mn_skin_build(atlas, &sp, &pr->skin, err);
  if (rc) {
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
    return rc;
  }
  pr->quantity = pr->ind->quantity;
  pr->defect_mm = pr->req.defect_mm > 0 ? pr->req.defect_mm : pr->ind->defect_mm;
  pr->goal_pct = pr->req.goal_pct > 0 ? pr->req.goal_pct : pr->ind->goal_pct;
  if (pr->req.concern == MN_CONCERN_ACNE_SCARS && pr->req.scar_type == 1 /* icepick */)
    pr->defect_mm = fmax(pr->defect_mm, 0.5); /* V-shaped tracts to the deep dermis (Jacob 2001) */
  return MN_OK;
}

/* The region's depth bounds (recorded with their reasons) and its candidates. */
static int candidates(mn__region_ctx *x, mn__candidate *out, int cap, int *n, mn_error *err) {
  mn_plan_region *pr = x->pr;
  const mn_device_spec *spec;
  int rc = mn_device_catalogue_find(x->cat, x->req->device, &spec, err);
  if (rc) return rc;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  MN_TRY(mn_device_init_at(&dev, x->cat, x->req->device, spec->depth_mm_max, err));
  double chart = 3, total = pr->skin.top_um[MN_LAYER_HYPO];
  const char *chart_src = "no chart row";
  const mn_region_depth *rd = mn_indications_region_depth(x->ind, pr->skin.region);
  if (rd) chart = rd->max_mm, chart_src = rd->source;
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
  *n = 0;
  for (double dmm = lo; dmm <= cap_mm + 1e-9 && *n < cap; dmm += 0.25)
    for (int p = 1; p <= 3 && *n < cap; p++) {
      mn__candidate *c = &out[(*n)++];
      memset(c, 0, sizeof *c);
      c->depth_mm = round(dmm * 100) / 100, c->passes = p, c->density = p * MN__PASS_DENSITY;
    }
cleanup:
  mn_device_fini(&dev);
  return rc;
}

/* Nominal screening: every candidate's single-session goal response (into gnom, [nc][h + 1])
 * and redness; *any = 1 when some candidate's redness is within max_downtime_days. */
static int screen(mn__region_ctx *x, mn__candidate *cand, int nc, double *gnom, int *any,
                  mn_error *err) {
  size_t h1 = (size_t)x->horizon + 1;
  *any = 0;
  for (int c = 0; c < nc; c++) {
    mn__response r0;
    int rc = mn__response_run(x, &cand[c], 1, &r0, err);
    if (rc) return rc;
    memcpy(gnom + (size_t)c * h1, r0.gain, h1 * sizeof *gnom);
    cand[c].red_nominal = r0.red[0];
    cand[c].allowed = cand[c].red_nominal <= x->req->constraints.max_downtime_days;
    *any |= cand[c].allowed;
    mn__response_free(&r0);
  }
  return MN_OK;
}

/* The strongest allowed candidate (largest single-session response at the clinic interval), or,
 * when the downtime rules them all out, the one with the least redness. */
static int strongest(const mn__region_ctx *x, const mn__candidate *cand, int nc, const double *gnom,
                     int any, double ipref) {
  size_t h1 = (size_t)x->horizon + 1;
  int best = -1;
  for (int c = 0; c < nc; c++) {
    if (any && !cand[c].allowed) continue;
    if (best < 0) {
      best = c;
      continue;
    }
    int better = any ? mn__superpose(gnom + (size_t)c * h1, x->horizon, 1, ipref) >
                           mn__superpose(gnom + (size_t)best * h1, x->horizon, 1, ipref)
                     : cand[c].red_nominal < cand[best].red_nominal;
    if (better) best = c;
  }
  return best;
}

/* The gentlest candidate that reaches the goal in @p k_s sessions as the strongest does, each
 * draw's response scaled from the strongest one's (the draws' spread is close to
 * multiplicative), with a 3-point margin on the probability: a proxy that the caller confirms. */
static int gentlest(const mn__region_ctx *x, const mn__candidate *cand, int nc, const double *gnom,
                    int any, int strong, const mn__response *rs, int k_s, double ipref) {
  const mn_plan_region *pr = x->pr;
  size_t h1 = (size_t)x->horizon + 1;
  int chosen = strong;
  double ns = mn__superpose(gnom + (size_t)strong * h1, x->horizon, k_s, ipref);
  for (int c = 0; c < nc; c++) {
    if (c == strong || (any && !cand[c].allowed)) continue;
    if (cand[c].red_nominal >= cand[chosen].red_nominal) continue;
    double nc_val = mn__superpose(gnom + (size_t)c * h1, x->horizon, k_s, ipref);
    int hit = 0, m = 0;
    for (int d = 0; d < rs->nd; d++) {
      if (!rs->ok[d]) continue;
      m++;
      double v =
          ns != 0 ? nc_val * mn__superpose(rs->gain + (size_t)d * h1, x->horizon, k_s, ipref) / ns
                  : 0;
      if (pr->quantity == MN_GOAL_FILL) v = mn_outcome_fill_pct(v, 1000 * pr->defect_mm);
      hit += v >= pr->goal_pct;
    }
    if (m && (double)hit / m >= x->req->constraints.probability + 0.03) chosen = c;
  }
  return chosen;
}

/* Sessions the candidate's response needs at @p ipref (the clinic protocol's count when the
 * indication has no model goal). */
static int needed(const mn__region_ctx *x, const mn__response *r, double ipref) {
  const mn_plan_region *pr = x->pr;
  double p = 0;
  if (pr->quantity == MN_GOAL_NONE) return pr->ind->protocol_sessions;
  return mn__sessions_needed(r, pr, ipref, x->req->constraints.max_sessions,
                             x->req->constraints.probability, &p);
}

static void use_setting(mn_plan_region *pr, const mn__candidate *c) {
  pr->depth_mm = c->depth_mm, pr->passes = c->passes, pr->density_cm2 = c->density;
}

/* The chosen setting of a region from its screened candidates, with its response over all
 * draws in *rs (owned by the caller). */
static int choose_setting(mn__region_ctx *x, mn__candidate *cand, int nc, const double *gnom,
                          int any, double ipref, mn__response *rs, mn_error *err) {
  mn_plan_region *pr = x->pr;
  int strong = strongest(x, cand, nc, gnom, any, ipref), rc;
  if ((rc = mn__response_run(x, &cand[strong], x->nd, rs, err))) return rc;
  int chosen = strong, k_s = needed(x, rs, ipref);
  if (pr->quantity == MN_GOAL_NONE) { /* no model goal: the least redness */
    for (int c = 0; c < nc; c++)
      if ((!any || cand[c].allowed) && cand[c].red_nominal < cand[chosen].red_nominal) chosen = c;
  } else if (k_s <= x->req->constraints.max_sessions) {
    chosen = gentlest(x, cand, nc, gnom, any, strong, rs, k_s, ipref);
  }
  int best_k = k_s;
  use_setting(pr, &cand[strong]);
  if (chosen != strong) { /* confirm with its own draws; keep it only if it holds */
    mn__response rc2;
    if ((rc = mn__response_run(x, &cand[chosen], x->nd, &rc2, err))) return rc;
    int k_c = needed(x, &rc2, ipref);
    if (k_c <= k_s) {
      mn__response_free(rs);
      *rs = rc2;
      best_k = k_c;
      use_setting(pr, &cand[chosen]);
    } else {
      mn__response_free(&rc2);
    }
  }
  int kmax = x->req->constraints.max_sessions;
  pr->reached = pr->quantity == MN_GOAL_NONE || best_k <= kmax;
  pr->sessions = best_k <= kmax ? best_k : kmax;
  pr->draws_kept = x->nd;
  return MN_OK;
}

static void append_note(mn_plan *out, const char *fmt, const char *region, double v) {
  size_t len = strlen(out->note);
  snprintf(out->note + len, sizeof out->note - len, "%s", len ? "; " : "");
  len = strlen(out->note);
  snprintf(out->note + len, sizeof out->note - len, fmt, region, v);
}

/* One region: anatomy, candidates, screening and the chosen setting with its response. */
static int plan_region(mn__region_ctx *x, int i, const mn_skin_atlas *atlas, mn_plan *out,
                       mn__response *rs, mn_error *err) {
  int rc = MN_OK, nc = 0, any = 0;
  mn__candidate cand[MAX_CANDIDATES];
  double *gnom = NULL, pref[2];
  MN_TRY(region_setup(x->req, i, atlas, x->ind, x->pr, err));
  MN_TRY(candidates(x, cand, MAX_CANDIDATES, &nc, err));
  MN_CHECK(nc > 0, err, MN_EINTERNAL, "", "no needle depth for %s", x->pr->req.region);
  const mn_plan_constraints *cs = &x->req->constraints;
  mn_indications_interval_pref(x->ind, pref);
  double ipref = fmin(fmax(pref[0] * MN__WEEK, cs->min_interval_weeks * MN__WEEK),
                      cs->max_interval_weeks * MN__WEEK);
  gnom = mn_malloc_array((size_t)nc * (size_t)(x->horizon + 1), sizeof *gnom);
  MN_CHECK(gnom, err, MN_ENOMEM, "", "out of memory");
  MN_TRY(screen(x, cand, nc, gnom, &any, err));
  if (!any)
    append_note(out,
                "%s: every setting's redness exceeds max_downtime_days = %g; the mildest is "
                "used",
                x->pr->skin.region, cs->max_downtime_days);
  MN_TRY(choose_setting(x, cand, nc, gnom, any, ipref, rs, err));
  out->evaluations += x->evaluations;
cleanup:
  mn_free(gnom);
  return rc;
}

/* ---- the course ------------------------------------------------------------------------------ */

/* One interval for all regions: fewest visits, then the clinic interval, then the shortest; -1
 * when finish_by leaves none. */
static double choose_interval(const mn_plan_request *req, const mn_indications *ind,
                              const mn_plan *out, const mn__response *resp, long start,
                              long finish) {
  const mn_plan_constraints *cs = &req->constraints;
  int kmax = cs->max_sessions, best_visits = 1 << 30, best_pref = 0;
  double imin = cs->min_interval_weeks * MN__WEEK, imax = cs->max_interval_weeks * MN__WEEK;
  double best_I = -1, pref[2];
  mn_indications_interval_pref(ind, pref);
  for (double I = imin; I <= imax + 1e-9; I += MN__WEEK) {
    int visits = 0;
    for (int i = 0; i < req->n_regions; i++) {
      const mn_plan_region *pr = &out->region[i];
      double p;
      int k = pr->quantity == MN_GOAL_NONE
                  ? pr->sessions
                  : mn__sessions_needed(&resp[i], pr, I, kmax, cs->probability, &p);
      if (k > kmax) k = kmax + 1;
      if (k > visits) visits = k;
    }
    if (finish >= 0 && (visits - 1) * I > (double)(finish - start)) continue;
    int in_pref = I >= pref[0] * MN__WEEK - 1e-9 && I <= pref[1] * MN__WEEK + 1e-9;
    if (visits < best_visits || (visits == best_visits && in_pref && !best_pref))
      best_visits = visits, best_I = I, best_pref = in_pref;
  }
  return best_I;
}

/* q05, median, q95 over the finished draws of @p v (n values, reordered). */
static void bands_of(const mn__response *r, const double *per_draw, double *v, double q[3]) {
  int m = 0;
  for (int d = 0; d < r->nd; d++)
    if (r->ok[d]) v[m++] = per_draw[d];
  mn_quantiles(v, m, q);
}

/* The figures' curves of a region: the first week's redness and the course's collagen over the
 * first year, q05 / median / q95 over the draws. */
static void region_curves(const mn__response *r, int k, double interval, double *v,
                          mn_plan_curves *cv) {
  cv->nweek = MN_PLAN_WEEK_SAMPLES;
  for (int h = 0; h < MN_PLAN_WEEK_SAMPLES; h++) {
    int m = 0;
    double q[3];
    for (int d = 0; d < r->nd; d++)
      if (r->ok[d]) v[m++] = r->week[(size_t)d * MN_PLAN_WEEK_SAMPLES + (size_t)h];
    mn_quantiles(v, m, q);
    cv->week_t[h] = h / 24.0;
    for (int j = 0; j < 3; j++) cv->week_red[j][h] = q[j];
  }
  cv->nyear = MN_PLAN_YEAR_SAMPLES;
  for (int t = 0; t < MN_PLAN_YEAR_SAMPLES; t++) {
    int m = 0;
    double q[3];
    for (int d = 0; d < r->nd; d++) {
      if (!r->ok[d]) continue;
      const double *g = r->collagen + (size_t)d * (size_t)(r->horizon + 1);
      double s = 0;
      for (int j = 0; j < k; j++) {
        double tt = t - j * interval;
        if (tt < 0) break;
        int a = (int)tt;
        s += a >= r->horizon ? g[r->horizon] : g[a] + (tt - a) * (g[a + 1] - g[a]);
      }
      v[m++] = s;
    }
    mn_quantiles(v, m, q);
    cv->year_t[t] = t;
    for (int j = 0; j < 3; j++) cv->year_gain[j][t] = q[j];
  }
}

/* A region's sessions, probability and bands for the chosen interval @p I. */
static int finish_region(const mn_plan_request *req, mn_plan_region *pr, const mn__response *r,
                         double I, long start, long finish, mn_error *err) {
  int rc = MN_OK, kmax = req->constraints.max_sessions, k = pr->sessions;
  double *v = mn_malloc_array((size_t)r->nd, sizeof *v);
  double *cv = mn_malloc_array((size_t)r->nd, sizeof *cv);
  pr->curves = mn_calloc(1, sizeof *pr->curves);
  MN_CHECK(v && cv && pr->curves, err, MN_ENOMEM, "", "out of memory");
  if (pr->quantity != MN_GOAL_NONE) {
    double p;
    k = mn__sessions_needed(r, pr, I, kmax, req->constraints.probability, &p);
    pr->reached = k <= kmax;
    if (k > kmax) k = kmax;
  }
  if (finish >= 0) {
    int fit = 1 + (int)floor((double)(finish - start) / I + 1e-9);
    if (k > fit) k = fit, pr->reached = 0;
  }
  pr->sessions = k;
  int m = 0, hit = 0, mc = 0;
  for (int d = 0; d < r->nd; d++) {
    if (!r->ok[d]) continue;
    v[m] = mn__course_value(r, d, k, I, pr->quantity, 1000 * pr->defect_mm);
    hit += v[m] >= pr->goal_pct;
    m++;
  }
  pr->probability = pr->quantity == MN_GOAL_NONE ? NAN : m ? (double)hit / m : 0;
  mn_quantiles(v, m, pr->outcome);
  mn__response rcol = *r; /* collagen at the review: superpose the collagen response */
  rcol.gain = r->collagen;
  for (int d = 0; d < r->nd; d++)
    if (r->ok[d]) cv[mc++] = mn__course_value(&rcol, d, k, I, MN_GOAL_COLLAGEN, 0);
  mn_quantiles(cv, mc, pr->collagen_pd);
  bands_of(r, r->red, v, pr->redness_days);
  bands_of(r, r->bar, v, pr->barrier_days);
  bands_of(r, r->sun, v, pr->sun_days);
  bands_of(r, r->pih, v, pr->pih_pct);
  pr->redness_threshold = r->thr;
  region_curves(r, k, I, v, pr->curves);
cleanup:
  mn_free(v);
  mn_free(cv);
  return rc;
}

/* The draws: the nominal parameters first, then the posterior ensemble's. */
static int plan_draws(const mn_plan_request *req, const mn_param_set *ps, mn_model_params **out,
                      int *nd, int *kept, mn_error *err) {
  int dropped = 0, rc = MN_OK;
  *kept = 0, *nd = 1;
  mn_model_params *draws = mn_malloc_array((size_t)(req->draws + 1), sizeof *draws);
  *out = draws;
  if (!draws) return MN_ERR(err, MN_ENOMEM, "", "out of memory for %d draws", req->draws);
  draws[0] = ps->p;
  if (req->draws > 0) {
    rc = mn_ensemble(ps, MN_ENSEMBLE_POSTERIOR, req->draws, req->seed, draws + 1, kept, &dropped,
                     err);
    *nd += *kept;
    if (rc == MN_OK && *kept < req->draws)
      mn_log(MN_LOG_WARN, "draws = %d: the posterior ensemble gives %d usable draws; using those",
             req->draws, *kept);
  }
  return rc;
}

/* The first session's day: earliest_start, else today. */
static int start_day(const mn_plan_request *req, long *start, mn_error *err) {
  const char *s = req->constraints.earliest_start[0] ? req->constraints.earliest_start : req->today;
  *start = mn_date_days(s);
  if (*start < 0)
    return MN_ERR(err, MN_EINPUT, "today",
                  "the plan needs today's date (request.today) or constraints.earliest_start");
  return MN_OK;
}

/* The course of all regions: interval, sessions, bands, dates and the calendar. */
static int plan_course(const mn_plan_request *req, const mn_indications *ind,
                       const mn__response *resp, mn_plan *out, mn_error *err) {
  int rc = MN_OK;
  const mn_plan_constraints *cs = &req->constraints;
  long start, finish = cs->finish_by[0] ? mn_date_days(cs->finish_by) : -1;
  MN_TRY(start_day(req, &start, err));
  double I = choose_interval(req, ind, out, resp, start, finish);
  if (I < 0) { /* finish_by leaves no interval: the shortest, fewer sessions */
    I = cs->min_interval_weeks * MN__WEEK;
    snprintf(out->note, sizeof out->note,
             "constraints.finish_by leaves too little time for the sessions needed at a %g-week "
             "interval; the plan is cut to the sessions that fit",
             I / MN__WEEK);
  }
  out->interval_days = I;
  out->sessions = 0;
  out->reached = 1;
  for (int i = 0; i < req->n_regions; i++) {
    mn_plan_region *pr = &out->region[i];
    MN_TRY(finish_region(req, pr, &resp[i], I, start, finish, err));
    out->reached &= pr->reached;
    if (pr->sessions > out->sessions) out->sessions = pr->sessions;
    /* the no-overlap rule: the interval outlasts the 95th percentile of redness and barrier */
    if (I < pr->redness_days[2] || I < pr->barrier_days[2])
      append_note(out, "%s: the %g-week interval is shorter than the redness or barrier window",
                  pr->req.region, I / MN__WEEK);
  }
  for (int s = 0; s < out->sessions; s++) out->session_day[s] = s * I;
  out->review_day = (out->sessions - 1) * I + MN__REVIEW_DAYS;
  mn_date_format(start, out->start);
  MN_TRY(mn__plan_calendar(out, err));
cleanup:
  return rc;
}

int mn_plan_make(const mn_plan_request *req, const mn_skin_atlas *atlas,
                 const mn_device_catalogue *cat, const mn_param_set *ps,
                 const mn_candidacy_rules *rules, const mn_indications *ind, mn_plan *out,
                 mn_error *err) {
  int rc = MN_OK, nd = 0;
  mn_model_params *draws = NULL;
  mn__response *resp = NULL;
  memset(out, 0, sizeof *out);
  MN_TRY(mn_plan_request_check(req, err));
  MN_TRY(mn_candidacy_screen(rules, &req->patient, &out->cand, err));
  out->treat = out->cand.verdict <= MN_CAND_PRECAUTIONS;
  out->n_regions = req->n_regions;
  const mn_plan_constraints *cs = &req->constraints;
  /* the horizon: the longest course plus its review */
  int horizon =
      (int)ceil((cs->max_sessions - 1) * cs->max_interval_weeks * MN__WEEK + MN__REVIEW_DAYS) + 2;
  if (horizon < 366) horizon = 366;
  MN_TRY(plan_draws(req, ps, &draws, &nd, &out->draws_used, err));
  resp = mn_calloc((size_t)req->n_regions, sizeof *resp);
  MN_CHECK(resp, err, MN_ENOMEM, "", "out of memory");
  for (int i = 0; i < req->n_regions; i++) {
    mn__region_ctx x = {.req = req,
                        .cat = cat,
                        .ind = ind,
                        .pr = &out->region[i],
                        .draws = draws,
                        .nd = nd,
                        .horizon = horizon};
    MN_TRY(plan_region(&x, i, atlas, out, &resp[i], err));
  }
  MN_TRY(plan_course(req, ind, resp, out, err));
cleanup:
  if (resp)
    for (int i = 0; i < req->n_regions; i++) mn__response_free(&resp[i]);
  mn_free(resp);
  mn_free(draws);
  return rc;
}

void mn_plan_fini(mn_plan *p) {
  if (!p) return;
  for (int i = 0; i < MN_PLAN_MAX_REGIONS; i++) mn_free(p->region[i].curves);
  mn_free(p->events);
  memset(p, 0, sizeof *p);
}
