/* The protocol search of `mnsim plan`.
 *
 * Per region: needle depths in 0.25 mm steps over the indication's range, bounded by the maker's
 * chart for the region and by the anatomy (the channel must end above the subcutis), and 1-3
 * passes. One nominal session of each candidate gives its redness (the downtime limit) and its
 * strength; the strongest allowed one's whole courses are run on the nominal parameters for
 * every session count and every interval the constraints allow (response.c: courses are run, not
 * superposed). The interval is the model's: the fewest visits over all regions, then the best
 * nominal outcome; the clinic's usual interval (6-8 weeks) only breaks ties within 2 %. Then the
 * draws: each region's course at that interval, adding sessions until the goal is reached with
 * the required probability; a gentler setting replaces the strongest when its own draws reach
 * the goal in as many sessions. No session may start while the previous one's redness or
 * barrier window is open (95th percentile). Stage: plan. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "plan_impl.h"

enum { MAX_CANDIDATES = 64, MAX_INTERVALS = 16 };

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
  if (pr->req.concern == MN_CONCERN_ACNE_SCARS && pr->req.scar_type == 1 /* icepick */)
    pr->defect_mm = fmax(pr->defect_mm, 0.5); /* V-shaped tracts to the deep dermis (Jacob 2001) */
  pr->residual_mm = 0;
  if (pr->quantity == MN_GOAL_FILL)
    pr->residual_mm = pr->req.residual_mm > 0 ? pr->req.residual_mm : pr->ind->residual_mm;
  pr->goal_pct = pr->req.goal_pct > 0 ? pr->req.goal_pct : pr->ind->goal_pct;
  /* a fill goal is a depth to reach on the scale's own terms (docs/design/observation-v2.md
   * section 6): the lesion is to lose 1 - residual / defect of its depth, so a deeper lesion asks
   * for a larger share (SEED4), and at least the indication's floor (a visible change) */
  if (pr->quantity == MN_GOAL_FILL && !(pr->req.goal_pct > 0))
    pr->goal_pct = fmax(pr->goal_pct, 100 * (1 - pr->residual_mm / pr->defect_mm));
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

/* Nominal screening: every candidate's single session (draw 0) for its redness and strength;
 * *any = 1 when some candidate's redness is within max_downtime_days. */
static int screen(mn__region_ctx *x, mn__candidate *cand, int nc, int *any, mn_error *err) {
  int fail[MAX_CANDIDATES] = {0}, evals = 0, nt = mn_threads(x->req->threads);
  (void)nt; /* without OpenMP */
  *any = 0;
  /* the candidates in parallel, each on its own copy of the context (its run count) */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt) reduction(+ : evals)
#endif
  for (int c = 0; c < nc; c++) {
    mn__region_ctx xl = *x;
    xl.evaluations = 0;
    xl.holds = NULL; /* single sessions */
    mn__response r0;
    fail[c] = mn__response_run(&xl, &cand[c], 1, 0, 1, &r0, NULL) != MN_OK;
    evals += xl.evaluations;
    if (fail[c]) continue;
    cand[c].red_nominal = r0.red[0];
    cand[c].pih_nominal = r0.pih[0];
    cand[c].strength = r0.collagen[0]; /* every goal rises with the papillary collagen gain */
    cand[c].allowed = cand[c].red_nominal <= x->req->constraints.max_downtime_days;
    mn__response_free(&r0);
  }
  x->evaluations += evals;
  for (int c = 0; c < nc; c++) {
    if (fail[c]) { /* the first failure again, alone, for its message */
      mn__response r0;
      int rc = mn__response_run(x, &cand[c], 1, 0, 1, &r0, err);
      if (rc) return rc;
      mn__response_free(&r0);
      return MN_ERR(err, MN_EINTERNAL, "", "a nominal run of %s failed only in parallel",
                    x->pr->req.region);
    }
    *any |= cand[c].allowed;
  }
  return MN_OK;
}

/* The strongest allowed candidate (largest single-session response), or, when the downtime
 * rules them all out, the one with the least redness. */
static int strongest(const mn__candidate *cand, int nc, int any) {
  int best = -1;
  for (int c = 0; c < nc; c++) {
    if (any && !cand[c].allowed) continue;
    if (best < 0 || (any ? cand[c].strength > cand[best].strength
                         : cand[c].red_nominal < cand[best].red_nominal))
      best = c;
  }
  return best;
}

static void use_setting(mn_plan_region *pr, const mn__candidate *c) {
  pr->depth_mm = c->depth_mm, pr->passes = c->passes, pr->density_cm2 = c->density;
}

/* Append a clause to the plan's note ("; " between clauses). */
static void append_note(mn_plan *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_note(mn_plan *out, const char *fmt, ...) {
  size_t len = strlen(out->note);
  snprintf(out->note + len, sizeof out->note - len, "%s", len ? "; " : "");
  len = strlen(out->note);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->note + len, sizeof out->note - len, fmt, ap);
  va_end(ap);
}

/* The intervals the constraints allow: weekly from min to max_interval_weeks (days). */
static int interval_grid(const mn_plan_constraints *cs, double *I, int cap) {
  int n = 0;
  for (double w = cs->min_interval_weeks; w <= cs->max_interval_weeks + 1e-9 && n < cap; w += 1)
    I[n++] = w * MN__WEEK;
  return n;
}

/* One region's search state between the nominal stage and the draws. */
typedef struct region_state {
  mn__candidate cand[MAX_CANDIDATES];
  int nc, any, strong;
  double grid[MN_PLAN_MAX_SESSIONS][MAX_INTERVALS]; /* nominal goal: k + 1 sessions, interval i */
} region_state;

/* The nominal goal quantity of the strongest setting for every interval and for session counts
 * up to the first that reaches the goal (the rest of a column is not needed: +inf). */
static int nominal_grid(mn__region_ctx *x, region_state *st, const double *I, int nI,
                        mn_error *err) {
  int kmax = x->req->constraints.max_sessions, fail[MAX_INTERVALS] = {0}, evals = 0, resumed = 0;
  int nt = mn_threads(x->req->threads);
  (void)nt; /* without OpenMP */
  /* the intervals in parallel, each on its own copy of the context (its run count) */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt) reduction(+ : evals, resumed)
#endif
  for (int i = 0; i < nI; i++) {
    mn__region_ctx xl = *x;
    mn__holds holds; /* the interval's own: k sessions start from k - 1 */
    memset(&holds, 0, sizeof holds);
    xl.evaluations = xl.resumed = 0;
    xl.holds = &holds;
    int reached = 0;
    for (int k = 1; k <= kmax; k++) {
      if (reached) {
        st->grid[k - 1][i] = INFINITY;
        continue;
      }
      mn__response r;
      if (mn__response_run(&xl, &st->cand[st->strong], k, I[i], 1, &r, NULL)) {
        fail[i] = k;
        break;
      }
      st->grid[k - 1][i] = r.goal[0];
      reached = r.goal[0] >= x->pr->goal_pct;
      mn__response_free(&r);
    }
    mn__holds_fini(&holds);
    evals += xl.evaluations;
    resumed += xl.resumed;
  }
  x->evaluations += evals;
  x->resumed += resumed;
  for (int i = 0; i < nI; i++)
    if (fail[i]) { /* the first failure again, alone, for its message */
      mn__response r;
      int rc = mn__response_run(x, &st->cand[st->strong], fail[i], I[i], 1, &r, err);
      if (rc) return rc;
      mn__response_free(&r);
      return MN_ERR(err, MN_EINTERNAL, "", "a nominal run of %s failed only in parallel",
                    x->pr->req.region);
    }
  return MN_OK;
}

/* Sessions the region needs at interval i on the nominal parameters (kmax + 1: none reaches). */
static int nominal_sessions(const mn_plan_region *pr, const region_state *st, int i, int kmax) {
  if (pr->quantity == MN_GOAL_NONE) return pr->ind->protocol_sessions;
  for (int k = 1; k <= kmax; k++)
    if (st->grid[k - 1][i] >= pr->goal_pct) return k;
  return kmax + 1;
}

/* One region up to its nominal grid: anatomy, candidates, screening, the strongest setting. */
static int plan_region(mn__region_ctx *x, int i, const mn_skin_atlas *atlas, const double *I,
                       int nI, region_state *st, mn_plan *out, mn_error *err) {
  int rc = MN_OK;
  MN_TRY(region_setup(x->req, i, atlas, x->ind, x->pr, err));
  MN_TRY(candidates(x, st->cand, MAX_CANDIDATES, &st->nc, err));
  MN_CHECK(st->nc > 0, err, MN_EINTERNAL, "", "no needle depth for %s", x->pr->req.region);
  MN_TRY(screen(x, st->cand, st->nc, &st->any, err));
  if (!st->any)
    append_note(out,
                "%s: every setting's redness exceeds max_downtime_days = %g; the mildest is "
                "used",
                x->pr->skin.region, x->req->constraints.max_downtime_days);
  st->strong = strongest(st->cand, st->nc, st->any);
  use_setting(x->pr, &st->cand[st->strong]);
  if (!x->req->exact) MN_TRY(mn__emu_space_init(x, &st->cand[st->strong], err));
  if (x->pr->quantity != MN_GOAL_NONE) MN_TRY(nominal_grid(x, st, I, nI, err));
cleanup:
  return rc;
}

/* ---- the course ------------------------------------------------------------------------------ */

/* Visits (the most sessions any region needs) at each interval on the nominal grids, kept only
 * where finish_by allows them (else 1 << 29); returns the fewest. */
static int interval_visits(const mn_plan_request *req, const mn_plan *out, const region_state *st,
                           const double *I, int nI, long start, long finish, int *visits) {
  int kmax = req->constraints.max_sessions, best = 1 << 30;
  for (int i = 0; i < nI; i++) {
    visits[i] = 0;
    for (int r = 0; r < req->n_regions; r++) {
      int k = nominal_sessions(&out->region[r], &st[r], i, kmax);
      visits[i] = k > visits[i] ? k : visits[i];
    }
    if (finish >= 0 && (visits[i] - 1) * I[i] > (double)(finish - start)) visits[i] = 1 << 29;
    if (visits[i] < best) best = visits[i];
  }
  return best;
}

/* The nominal goal of K sessions at interval i for a region, run when the grid stopped early. */
static int grid_value(mn__region_ctx *x, region_state *st, int K, const double *I, int i, double *v,
                      mn_error *err) {
  if (isfinite(st->grid[K - 1][i])) {
    *v = st->grid[K - 1][i];
    return MN_OK;
  }
  mn__response r;
  int rc = mn__response_run(x, &st->cand[st->strong], K, I[i], 1, &r, err);
  if (rc) return rc;
  *v = st->grid[K - 1][i] = r.goal[0];
  mn__response_free(&r);
  return MN_OK;
}

static int in_pref(const double pref[2], double I) {
  return I >= pref[0] * MN__WEEK - 1e-9 && I <= pref[1] * MN__WEEK + 1e-9;
}

/* Why interval I[pick] (docs/plan.md, search step 3), into out->interval_reason: the model's
 * choice (model == pick), or the clinic's usual interval within the 2 % tie (loss_pct: the
 * regions' mean loss against the model's best, in percent of each region's best), or none when
 * finish_by leaves no interval (model < 0); with one session, that no interval applies. */
static void interval_reason(const mn_plan_request *req, const mn_indications *ind, mn_plan *out,
                            const double *I, int nI, int model, int pick, double loss_pct) {
  double pref[2];
  mn_indications_interval_pref(ind, pref);
  out->interval_best_days = I[model < 0 ? pick : model];
  char why[512];
  if (model < 0)
    snprintf(why, sizeof why,
             "constraints.finish_by leaves no interval for the sessions needed: the shortest "
             "allowed, %g weeks",
             I[pick] / MN__WEEK);
  else if (pick == model)
    snprintf(why, sizeof why,
             "the model's: of the allowed intervals, the fewest sessions, then the best nominal "
             "outcome (each region against its own best)");
  else if (loss_pct < 0.05)
    snprintf(why, sizeof why,
             "a scheduling preference: the model's outcomes differ by less than 0.05 %% over the "
             "allowed intervals, so the clinic's usual %g-%g weeks (%s)",
             pref[0], pref[1], ind->interval_source);
  else
    snprintf(why, sizeof why,
             "a scheduling preference, not a model result: the model's best is %g weeks; %g weeks "
             "gives %.1f %% less (within the 2 %% tie) and is the clinic's usual %g-%g weeks (%s)",
             I[model] / MN__WEEK, I[pick] / MN__WEEK, loss_pct, pref[0], pref[1],
             ind->interval_source);
  snprintf(out->interval_reason, sizeof out->interval_reason,
           "%s%s; allowed: %g-%g weeks (constraints.min_interval_weeks, max_interval_weeks%s)%s",
           out->sessions == 1 ? "one session: no interval applies (for a further one: " : "", why,
           I[0] / MN__WEEK, I[nI - 1] / MN__WEEK,
           req->constraints.finish_by[0] ? ", finish_by" : "", out->sessions == 1 ? ")" : "");
}

/* One interval for all regions from the model: the fewest visits; among those the interval where
 * the regions' nominal outcomes of that many sessions are best (each relative to its own best):
 * *model; among intervals within 2 % of that, the clinic's usual interval when one is (a
 * scheduling preference, shown as such: interval_reason), *loss_pct what it costs. *pick =
 * *model = -1 when finish_by leaves none. */
static int choose_interval(const mn_plan_request *req, mn__region_ctx *x, region_state *st,
                           const mn_plan *out, const double *I, int nI, long start, long finish,
                           int *pick, int *model, double *loss_pct, mn_error *err) {
  int visits[MAX_INTERVALS], rc = MN_OK;
  double score[MAX_INTERVALS] = {0}, top = -INFINITY, pref[2], v[MAX_INTERVALS];
  mn_indications_interval_pref(x[0].ind, pref);
  int best_v = interval_visits(req, out, st, I, nI, start, finish, visits);
  *pick = *model = -1, *loss_pct = 0;
  if (best_v >= 1 << 29) return MN_OK;
  int K = best_v > req->constraints.max_sessions ? req->constraints.max_sessions : best_v;
  for (int r = 0; r < req->n_regions; r++) { /* each region relative to its own best */
    if (out->region[r].quantity == MN_GOAL_NONE) continue;
    double m = 0;
    for (int i = 0; i < nI; i++) {
      v[i] = 0;
      if (visits[i] == best_v) MN_TRY(grid_value(&x[r], &st[r], K, I, i, &v[i], err));
      m = fmax(m, v[i]);
    }
    for (int i = 0; i < nI; i++) score[i] += m > 0 ? v[i] / m : 1;
  }
  for (int i = 0; i < nI; i++)
    if (visits[i] == best_v && score[i] > top) top = score[i], *pick = i;
  *model = *pick;
  for (int i = 0; i < nI; i++) /* the clinic's interval when it is as good */
    if (visits[i] == best_v && score[i] >= top - 0.02 * req->n_regions && in_pref(pref, I[i]) &&
        !in_pref(pref, I[*pick]))
      *pick = i;
  *loss_pct = 100 * (score[*model] - score[*pick]) / req->n_regions;
cleanup:
  return rc;
}

/* Whether setting @p c reaches the goal with the required probability in @p k sessions @p I days
 * apart. With the emulator (mn__emulates): its estimate over the search's x->nd draws, with more
 * correction courses until the estimate's band of MN__STAGE_Z standard errors lies on one side of
 * the required probability (or every draw has run). Without: as few draws as the answer needs
 * (MN__STAGE_DRAWS, doubling up to x->nd): an early "no" when p + z se falls below the required
 * probability, an early "yes" when p - z se reaches it, which is then checked on all x->nd draws
 * (a "yes" is always the answer of every draw). *rs holds the draws: all x->nd of them (run or
 * predicted) after a "yes". */
static int decide(mn__region_ctx *x, const mn__candidate *c, int k, double I, mn__response *rs,
                  int *reached, mn_error *err) {
  const double need = x->req->constraints.probability;
  int rc;
  if (mn__emulates(x, x->nd)) { /* the emulator's estimate of every draw's answer, corrected by
                                   more exact courses while its band (MN__STAGE_Z standard
                                   errors) holds the required probability */
    if ((rc = mn__response_emulate(x, c, k, I, x->nd, rs, err))) return rc;
    for (;;) {
      mn__prob e;
      mn__response_prob(x, rs, 0, &e);
      double se = e.n_res > 0 ? sqrt(e.v_res / e.n_res) : 0;
      if (!rs->emulated || e.p + MN__STAGE_Z * se < need || e.p - MN__STAGE_Z * se >= need) {
        *reached = e.p >= need;
        return MN_OK;
      }
      int more = rs->n_exact + (rs->n_exact - rs->n_train);
      if ((rc = mn__response_refine(x, c, more, rs, err))) return rc;
    }
  }
  rc = mn__response_run(
      x, c, k, I, x->nd < MN__STAGE_DRAWS || x->req->all_draws ? x->nd : MN__STAGE_DRAWS, rs, err);
  if (rc) return rc;
  for (;;) {
    mn__prob e;
    mn__response_prob(x, rs, 0, &e);
    double se = e.n > 0 ? sqrt(e.v_hat / e.n) : INFINITY;
    if (rs->nd >= x->nd) { /* every draw: the plain comparison */
      *reached = e.p >= need;
      return MN_OK;
    }
    if (e.p + MN__STAGE_Z * se < need) { /* an early "no" */
      *reached = 0;
      return MN_OK;
    }
    /* an early "yes" goes to every draw at once; an open question doubles the draws */
    int more = e.p - MN__STAGE_Z * se >= need || 2 * rs->nd >= x->nd ? x->nd : 2 * rs->nd;
    if ((rc = mn__response_extend(x, c, more, rs, err))) return rc;
  }
}

/* The draws of a region's setting at interval @p I from @p k sessions up until the required
 * probability is reached (or max_sessions); the response of the last count tried in *rs, with
 * every draw of the search. */
static int sessions_with_draws(mn__region_ctx *x, const mn__candidate *c, int k, double I,
                               mn__response *rs, int *reached, mn_error *err) {
  const mn_plan_region *pr = x->pr;
  int kmax = x->req->constraints.max_sessions, rc = MN_OK;
  if (pr->quantity == MN_GOAL_NONE) {
    *reached = 1; /* no goal: the draws for the bands */
    return mn__response_emulate(x, c, k, I, x->nd, rs, err);
  }
  for (;; k++) {
    MN_TRY(decide(x, c, k, I, rs, reached, err));
    if (*reached || k >= kmax) break;
    mn__response_free(rs);
  }
  rc = mn__response_extend(x, c, x->nd, rs, err); /* an early "no" at max_sessions */
cleanup:
  return rc;
}

/* A gentler allowed setting (less nominal redness) that reaches the goal in the same sessions:
 * tried in order of strength, at most two with draws; it replaces *rs when its draws confirm it.
 */
static int try_gentler(mn__region_ctx *x, region_state *st, mn__response *rs, mn_error *err) {
  const mn_plan_region *pr = x->pr;
  int tries = 0, rc = MN_OK, chosen = st->strong;
  for (int pass = 0; pass < st->nc && tries < 2; pass++) {
    int c = -1; /* the strongest not yet tried among the gentler ones */
    for (int q = 0; q < st->nc; q++)
      if (q != chosen && (!st->any || st->cand[q].allowed) &&
          st->cand[q].red_nominal < st->cand[chosen].red_nominal && st->cand[q].strength >= 0 &&
          (c < 0 || st->cand[q].strength > st->cand[c].strength))
        c = q;
    if (c < 0) break;
    mn__response r0, rc2;
    MN_TRY(mn__response_run(x, &st->cand[c], rs->k, rs->interval, 1, &r0, err));
    int nominal_ok = r0.goal[0] >= pr->goal_pct;
    mn__response_free(&r0);
    st->cand[c].strength = -1; /* tried */
    if (!nominal_ok) continue;
    tries++;
    int yes = 0;
    MN_TRY(decide(x, &st->cand[c], rs->k, rs->interval, &rc2, &yes, err));
    if (yes) {
      mn__response_free(rs);
      *rs = rc2;
      chosen = c;
      use_setting(x->pr, &st->cand[c]);
    } else {
      mn__response_free(&rc2);
    }
  }
cleanup:
  return rc;
}

/* q05, median, q95 over the finished draws of @p per_draw (@p v: scratch of nd values). */
static void bands_of(const mn__response *r, const double *per_draw, double *v, double q[3]) {
  int m = 0;
  for (int d = 0; d < r->nd; d++)
    if (r->ok[d]) v[m++] = per_draw[d];
  mn_quantiles(v, m, q);
}

/* The figures' curves of a region: the first week's redness and the course's collagen over the
 * first year, q05 / median / q95 over the draws. */
static void region_curves(const mn__response *r, double *v, mn_plan_curves *cv) {
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
    for (int d = 0; d < r->nd; d++)
      if (r->ok[d]) v[m++] = r->year[(size_t)d * MN_PLAN_YEAR_SAMPLES + (size_t)t];
    mn_quantiles(v, m, q);
    cv->year_t[t] = t;
    for (int j = 0; j < 3; j++) cv->year_gain[j][t] = q[j];
  }
}

/* The Monte Carlo error of a probability p, the mean of the per-draw probabilities P_k over n
 * of the posterior table's N draws, has two parts: the table's own (its chain's effective
 * sample size E) and the subsample's (without replacement): var(p) = V (1 / n + table_var(x)),
 * table_var = 1 / E - 1 / N, V the variance of the P_k; every draw (n = N) leaves the table's
 * part alone. V is taken with two pseudo-draws 0 and 1 added (Laplace: for 0/1 draws it is
 * p (1 - p) at p = (hits + 1) / (n + 2)), so that when every draw, or none, reaches the goal the
 * error is that of a probability one draw away, not zero. */
static double table_var(const mn__region_ctx *x) {
  return x->ess > 0 ? 1.0 / x->ess - 1.0 / x->nd_pool : 0;
}

/* The table's term for the per-draw probabilities of estimate @p e: with their own effective
 * sample size along the chain when it is known (a course over every posterior draw), else the
 * chain's smallest over the parameters (table_var). */
static double table_var_of(const mn__region_ctx *x, const mn__prob *e) {
  return isfinite(e->ess) && e->ess > 0 ? fmax(1.0 / e->ess - 1.0 / x->nd_pool, 0) : table_var(x);
}

/* A region's probability, bands and curves from its final response. */
static int region_bands(const mn__region_ctx *x, mn__response *r, mn_error *err) {
  mn_plan_region *pr = x->pr;
  int rc = MN_OK;
  double *v = mn_malloc_array((size_t)r->nd, sizeof *v);
  pr->curves = mn_calloc(1, sizeof *pr->curves);
  MN_CHECK(v && pr->curves, err, MN_ENOMEM, "", "out of memory");
  pr->probability = pr->probability_population = pr->probability_mcse = NAN;
  pr->probability_population_mcse = pr->probability_ess = NAN;
  if (pr->quantity != MN_GOAL_NONE) {
    mn__prob e, pop;
    mn__response_prob(x, r, 0, &e);
    mn__response_prob(x, r, 1, &pop);
    pr->probability = e.p;
    pr->probability_mcse = e.n > 0 ? mn__prob_mcse(&e, table_var_of(x, &e), table_var(x)) : NAN;
    pr->probability_ess = e.ess;
    pr->probability_population = pop.p;
    pr->probability_population_mcse =
        pop.n > 0 ? mn__prob_mcse(&pop, table_var_of(x, &pop), table_var(x)) : NAN;
  }
  pr->draws_exact = 0;
  for (int d = 0; d < r->nd; d++) pr->draws_exact += r->ok[d] != 0;
  bands_of(r, r->goal, v, pr->outcome);
  bands_of(r, r->collagen, v, pr->collagen_pd);
  bands_of(r, r->red, v, pr->redness_days);
  bands_of(r, r->bar, v, pr->barrier_days);
  bands_of(r, r->sun, v, pr->sun_days);
  pr->sun_window_days = ceil(fmax(pr->sun_days[2], pr->redness_days[2])); /* MN_PLAN_SUN_RULE */
  bands_of(r, r->pih, v, pr->pih_pct);
  pr->redness_threshold = r->thr;
  region_curves(r, v, pr->curves);
cleanup:
  mn_free(v);
  return rc;
}

/* The 95th percentile of the PIH risk over the finished draws of @p r, %. */
static double pih_q95(const mn__response *r, mn_error *err, int *rc) {
  double q[3] = {NAN, NAN, NAN}, *v = mn_malloc_array((size_t)r->nd, sizeof *v);
  if (!v) {
    *rc = MN_ERR(err, MN_ENOMEM, "", "out of memory");
    return NAN;
  }
  bands_of(r, r->pih, v, q);
  mn_free(v);
  return q[2];
}

/* The PIH precaution (x->pih_rule, MN__PIH_CAP_PCT): when the chosen setting's PIH risk exceeds
 * the cap at its 95th percentile, gentler settings (lower nominal PIH, strongest first, at most
 * MN__PIH_TRIES) are run with the draws; the first under the cap that reaches the goal replaces
 * it, else the first under the cap at all (the goal then is not reached, and the plan says the
 * precaution binds). pr->precaution says what the precaution did, also when it changed nothing. */
static int pih_precaution(mn__region_ctx *x, region_state *st, mn__response *rs, int *reached,
                          int *acted, mn_error *err) {
  mn_plan_region *pr = x->pr;
  const mn_candidacy_rule *ru = x->pih_rule;
  int rc = MN_OK, cur = -1, safe = -1, safe_reached = 0;
  for (int c = 0; c < st->nc; c++)
    if (st->cand[c].depth_mm == pr->depth_mm && st->cand[c].passes == pr->passes) cur = c;
  double q0 = pih_q95(rs, err, &rc), qs = NAN;
  *acted = 0;
  if (rc || cur < 0) return rc;
  char was[64];
  snprintf(was, sizeof was, "%.2f mm x %d, %d session%s", pr->depth_mm, pr->passes, rs->k,
           rs->k == 1 ? "" : "s");
  if (q0 <= MN__PIH_CAP_PCT) {
    snprintf(pr->precaution, sizeof pr->precaution,
             "%s: PIH risk q95 %.1f %% is within the cap of %.1f %% (Dogra 2014, 5/30 in "
             "Fitzpatrick IV-V): setting unchanged",
             ru->id, q0, MN__PIH_CAP_PCT);
    return MN_OK;
  }
  mn__response best;
  memset(&best, 0, sizeof best);
  *acted = 1; /* over the cap: the plan says what happened either way */
  st->cand[cur].pih_tried = 1;
  for (int t = 0; t < MN__PIH_TRIES; t++) {
    int c = -1; /* the strongest untried setting with a lower nominal PIH risk */
    for (int q = 0; q < st->nc; q++)
      if (!st->cand[q].pih_tried && (!st->any || st->cand[q].allowed) &&
          st->cand[q].pih_nominal < st->cand[cur].pih_nominal &&
          (c < 0 || st->cand[q].strength > st->cand[c].strength))
        c = q;
    if (c < 0) break;
    st->cand[c].pih_tried = 1;
    mn__response r2;
    int ok2 = 0;
    MN_TRY(sessions_with_draws(x, &st->cand[c], rs->k, rs->interval, &r2, &ok2, err));
    double q2 = pih_q95(&r2, err, &rc);
    if (rc || !(q2 <= MN__PIH_CAP_PCT) || (safe >= 0 && !ok2)) {
      mn__response_free(&r2);
      if (rc) goto cleanup;
      continue;
    }
    mn__response_free(&best); /* a safe one: the first, or the first that reaches the goal */
    best = r2, safe = c, safe_reached = ok2, qs = q2;
    if (ok2) break;
  }
  if (safe < 0) {
    snprintf(pr->precaution, sizeof pr->precaution,
             "%s: PIH risk q95 %.1f %% exceeds the cap of %.1f %% (Dogra 2014, 5/30 in "
             "Fitzpatrick IV-V) and no gentler setting tried stays under it: %s kept; discuss "
             "the risk with the patient",
             ru->id, q0, MN__PIH_CAP_PCT, was);
    goto cleanup;
  }
  mn__response_free(rs);
  *rs = best;
  memset(&best, 0, sizeof best);
  *reached = safe_reached;
  use_setting(pr, &st->cand[safe]);
  snprintf(pr->precaution, sizeof pr->precaution,
           "%s changed the protocol: PIH risk q95 %.1f %% with %s exceeds the cap of %.1f %% "
           "(Dogra 2014, 5/30 in Fitzpatrick IV-V); %.2f mm x %d, %d session%s keeps it at "
           "%.1f %%%s",
           ru->id, q0, was, MN__PIH_CAP_PCT, pr->depth_mm, pr->passes, rs->k, rs->k == 1 ? "" : "s",
           qs, safe_reached ? "" : " but does not reach the goal");
cleanup:
  mn__response_free(&best);
  return rc;
}

/* The final course with enough draws that its probability's Monte Carlo standard error (table_var)
 * is at most req->max_mcse (200 draws that all reach the goal still ask for about 50), up to the
 * pool; rerun at most three times as p moves. When the larger set
 * overturns a reached goal, the sessions go on (up to max_sessions) with it. */
static int confirm_draws(mn__region_ctx *x, region_state *st, mn__response *rs, int *reached,
                         mn_error *err) {
  mn_plan_region *pr = x->pr;
  int rc = MN_OK, cur = -1, kmax = x->req->constraints.max_sessions;
  double e = x->req->max_mcse;
  if (pr->quantity == MN_GOAL_NONE || !(e > 0)) return MN_OK;
  for (int c = 0; c < st->nc; c++)
    if (st->cand[c].depth_mm == pr->depth_mm && st->cand[c].passes == pr->passes) cur = c;
  if (cur < 0) return MN_OK;
  /* the emulator over every posterior draw, corrected by as many exact courses as the limit
   * asks */
  MN_TRY(mn__response_emulate_to(x, &st->cand[cur], x->nd_pool, rs, err));
  for (int round = 0; round < (rs->emulated ? 8 : 3); round++) {
    mn__prob pe;
    mn__response_prob(x, rs, 0, &pe);
    double tv = table_var(x), tvq = table_var_of(x, &pe);
    if (mn__prob_mcse(&pe, tvq, tv) <= e || rs->n_exact >= x->nd_pool) break;
    if (rs->emulated) { /* corrections n_res: v_hat (1 / n + tvq) + v_res (1 / n_res + tv) <= e^2 */
      double room = e * e - pe.v_hat * (1.0 / pe.n + tvq) - pe.v_res * tv;
      double want = room > 0 ? ceil(1.1 * pe.v_res / room) : x->nd_pool;
      double to = rs->n_train + fmax(want, 2.0 * pe.n_res); /* at least double: progress */
      MN_TRY(
          mn__response_refine(x, &st->cand[cur], to < x->nd_pool ? (int)to : x->nd_pool, rs, err));
      continue;
    }
    /* n from var (1 / n + table_var) <= e^2; every draw when the table's own error alone
     * exceeds e */
    double var = pe.v_hat, room = var > 0 ? e * e / var - tv : INFINITY;
    double need = room > 1.0 / x->nd_pool ? ceil(1.0 / room) : x->nd_pool;
    if (need <= pe.n || rs->nd >= x->nd_pool) break;
    int nd = need + 1 < x->nd_pool ? (int)need + 1 : x->nd_pool; /* + 1: the nominal */
    MN_TRY(mn__response_extend(x, &st->cand[cur], nd, rs, err));
  }
  mn__prob fin;
  mn__response_prob(x, rs, 0, &fin);
  if (*reached && fin.p < x->req->constraints.probability) {
    *reached = 0;
    if (rs->k < kmax) {
      mn__response r2;
      int save = x->nd;
      x->nd = rs->nd;
      rc = sessions_with_draws(x, &st->cand[cur], rs->k + 1, rs->interval, &r2, reached, err);
      x->nd = save;
      if (rc) goto cleanup;
      mn__response_free(rs);
      *rs = r2;
    }
  }
cleanup:
  return rc;
}

/* A region at interval I: sessions with its draws, a gentler setting if one holds, the bands. */
/* The goal is not reached with max_sessions sessions: the smallest count up to
 * MN_PLAN_MAX_SESSIONS that reaches it with the same setting and interval, into pr->binding.
 * The probability grows with the sessions, so the count is bisected: MN_PLAN_MAX_SESSIONS first
 * (when even that falls short, one run says so), then at most 4 more runs of the draws. */
static int binding_sessions(mn__region_ctx *x, const mn__candidate *c, int k, double I,
                            mn_error *err) {
  mn_plan_region *pr = x->pr;
  int rc = MN_OK, kmax = x->req->constraints.max_sessions, lo = k, hi = MN_PLAN_MAX_SESSIONS;
  double need = x->req->constraints.probability, p_hi = NAN;
  mn__response rs;
  memset(&rs, 0, sizeof rs);
  mn__prob e;
  MN_TRY(mn__response_emulate(x, c, hi, I, x->nd, &rs, err));
  mn__response_prob(x, &rs, 0, &e);
  p_hi = e.p;
  mn__response_free(&rs);
  if (!(p_hi >= need)) {
    snprintf(pr->binding, sizeof pr->binding,
             "constraints.max_sessions = %d binds, but even %d sessions at this setting reach the "
             "goal with probability %.0f %% only (the goal or the setting must change)",
             kmax, hi, 100 * p_hi);
    goto cleanup;
  }
  while (hi - lo > 1) { /* lo falls short, hi reaches */
    int mid = (lo + hi) / 2;
    MN_TRY(mn__response_emulate(x, c, mid, I, x->nd, &rs, err));
    mn__response_prob(x, &rs, 0, &e);
    double p = e.p;
    mn__response_free(&rs);
    if (p >= need)
      hi = mid, p_hi = p;
    else
      lo = mid;
  }
  snprintf(pr->binding, sizeof pr->binding,
           "constraints.max_sessions = %d binds: %d sessions at the same setting and interval "
           "reach the goal (probability %.0f %%)",
           kmax, hi, 100 * p_hi);
cleanup:
  mn__response_free(&rs);
  return rc;
}

static int region_course(mn__region_ctx *x, region_state *st, int i, double I, mn_plan *out,
                         mn_error *err) {
  int rc = MN_OK, kmax = x->req->constraints.max_sessions, reached = 0;
  mn_plan_region *pr = x->pr;
  mn__response rs;
  memset(&rs, 0, sizeof rs);
  int k =
      pr->quantity == MN_GOAL_NONE ? pr->ind->protocol_sessions : nominal_sessions(pr, st, i, kmax);
  if (k > kmax) k = kmax;
  if (pr->quantity == MN_GOAL_NONE) { /* no model goal: the least redness */
    for (int c = 0; c < st->nc; c++)
      if ((!st->any || st->cand[c].allowed) &&
          st->cand[c].red_nominal < st->cand[st->strong].red_nominal)
        st->strong = c;
    use_setting(pr, &st->cand[st->strong]);
  }
  MN_TRY(sessions_with_draws(x, &st->cand[st->strong], k, I, &rs, &reached, err));
  if (reached && pr->quantity != MN_GOAL_NONE) MN_TRY(try_gentler(x, st, &rs, err));
  int acted = 0;
  if (x->pih_rule) {
    MN_TRY(pih_precaution(x, st, &rs, &reached, &acted, err));
    if (acted) append_note(out, "%s: %s", pr->req.region, pr->precaution);
  }
  MN_TRY(confirm_draws(x, st, &rs, &reached, err));
  pr->reached = reached;
  pr->sessions = rs.k;
  pr->binding[0] = 0;
  if (!reached && pr->quantity != MN_GOAL_NONE && rs.k >= kmax && !acted) {
    MN_TRY(binding_sessions(x, &st->cand[st->strong], rs.k, I, err));
    append_note(out, "%s: %s", pr->req.region, pr->binding);
  } else if (!reached && acted)
    snprintf(pr->binding, sizeof pr->binding, "the precaution binds: %.270s", pr->precaution);
  pr->draws_kept = rs.nd;
  if (x->holds) mn__holds_fini(x->holds); /* the region's courses are done */
  MN_TRY(region_bands(x, &rs, err));
  out->evaluations += x->evaluations;
  out->resumed += x->resumed;
  /* the no-overlap rule: the interval outlasts the 95th percentile of redness and barrier */
  if (I < pr->redness_days[2] || I < pr->barrier_days[2])
    append_note(out, "%s: the %g-week interval is shorter than the redness or barrier window",
                pr->req.region, I / MN__WEEK);
cleanup:
  mn__response_free(&rs);
  return rc;
}

/* The draws: the nominal parameters first, then the posterior ensemble's: *nd of them for the
 * search (the request's draws), *pool for the final courses (every draw of the posterior table
 * when the request bounds the Monte Carlo error, so that the error's floor is the table's own;
 * else the request's draws), and the posterior table's effective sample size. */
static int plan_draws(const mn_plan_request *req, const mn_param_set *ps, mn_model_params **out,
                      int *nd, int *pool, double *ess, int **chain_step, int *walkers,
                      mn_error *err) {
  int dropped = 0, kept = 0, rc = MN_OK;
  mn_posterior po = {0};
  *out = NULL, *nd = *pool = 1, *ess = 0, *chain_step = NULL, *walkers = 0;
  if (req->draws > 0) MN_TRY(mn_posterior_load(&po, err));
  int n = req->draws > 0 && req->max_mcse > 0 ? po.n : 0;
  if (n < req->draws) n = req->draws;
  mn_model_params *draws = mn_malloc_array((size_t)(n + 1), sizeof *draws);
  *out = draws;
  if (!draws) {
    rc = MN_ERR(err, MN_ENOMEM, "", "out of memory for %d draws", n);
    goto cleanup;
  }
  draws[0] = ps->p;
  if (n > 0) {
    *ess = po.ess;
    mn_ensemble_posterior(ps, &po, n, draws + 1, &kept, &dropped);
    *pool += kept;
    *nd += kept < req->draws ? kept : req->draws;
    if (kept < req->draws)
      mn_log(MN_LOG_WARN, "draws = %d: the posterior ensemble gives %d usable draws; using those",
             req->draws, kept);
    /* every row, none dropped: draw d is row d - 1, whose place in the chain the table says */
    if (kept == po.n && dropped == 0 && po.walkers > 0 &&
        (*chain_step = mn_malloc_array((size_t)kept + 1, sizeof(int)))) {
      (*chain_step)[0] = -1;
      for (int d = 1; d <= kept; d++) (*chain_step)[d] = mn_posterior_row_step(&po, d - 1);
      *walkers = po.walkers;
    }
  }
cleanup:
  mn_posterior_fini(&po);
  return rc;
}

/* The first session's day: earliest_start, else today; not before the first day the
 * time-limited refer / do-not-treat matches allow (counted from today, else from earliest_start).
 * A start before today is kept and warned about (a course being recorded after the fact). */
static int start_day(const mn_plan_request *req, mn_plan *out, long *start, mn_error *err) {
  const mn_plan_constraints *cs = &req->constraints;
  const char *s = cs->earliest_start[0] ? cs->earliest_start : req->today;
  *start = mn_date_days(s);
  if (*start < 0)
    return MN_ERR(err, MN_EINPUT, "today",
                  "the plan needs today's date (request.today) or constraints.earliest_start");
  long today = req->today[0] ? mn_date_days(req->today) : *start;
  if (cs->earliest_start[0] && *start < today) {
    mn_log(MN_LOG_WARN, "constraints.earliest_start = %s is before today (%s)", cs->earliest_start,
           req->today);
    append_note(out, "constraints.earliest_start = %s is before today (%s): dates in the past",
                cs->earliest_start, req->today);
  }
  if (out->treat && out->cand.wait_days > 0) {
    long allowed = today + (long)out->cand.wait_days;
    mn_date_format(allowed, out->allowed_from);
    if (allowed > *start) {
      *start = allowed;
      append_note(out,
                  "the course starts on %s, the first day the time-limited candidacy "
                  "rules allow",
                  out->allowed_from);
    }
  }
  return MN_OK;
}

/* The course of all regions: the interval from the nominal grids, then each region's sessions
 * with the draws, the dates and the calendar. */
static int plan_course(const mn_plan_request *req, mn__region_ctx *x, region_state *st,
                       const double *I, int nI, mn_plan *out, mn_error *err) {
  int rc = MN_OK;
  const mn_plan_constraints *cs = &req->constraints;
  long start, finish = cs->finish_by[0] ? mn_date_days(cs->finish_by) : -1;
  MN_TRY(start_day(req, out, &start, err));
  if (finish >= 0 && finish < start) { /* the candidacy rules moved the start past finish_by */
    append_note(out, "constraints.finish_by = %s is before the first allowed session: not applied",
                cs->finish_by);
    finish = -1;
  }
  int i, model;
  double loss_pct;
  MN_TRY(choose_interval(req, x, st, out, I, nI, start, finish, &i, &model, &loss_pct, err));
  if (i < 0) { /* finish_by leaves no interval: the shortest, fewer sessions */
    i = 0;
    append_note(out,
                "constraints.finish_by leaves too little time for the sessions needed at a "
                "%g-week interval; the plan is cut to the sessions that fit",
                I[0] / MN__WEEK);
  }
  out->interval_days = I[i];
  out->sessions = 0;
  out->reached = 1;
  for (int r = 0; r < req->n_regions; r++) {
    mn_plan_region *pr = &out->region[r];
    MN_TRY(region_course(&x[r], &st[r], i, I[i], out, err));
    if (finish >= 0) {
      int fit = 1 + (int)floor((double)(finish - start) / I[i] + 1e-9);
      if (pr->sessions > fit) {
        snprintf(pr->binding, sizeof pr->binding,
                 "constraints.finish_by = %s binds: it leaves room for %d of the %d sessions "
                 "needed",
                 cs->finish_by, fit, pr->sessions);
        pr->sessions = fit, pr->reached = 0;
      }
    }
    out->reached &= pr->reached;
    if (pr->sessions > out->sessions) out->sessions = pr->sessions;
  }
  interval_reason(req, x[0].ind, out, I, nI, model, i, loss_pct);
  for (int s = 0; s < out->sessions; s++) out->session_day[s] = s * I[i];
  out->review_day = mn__review_day(out->sessions, I[i]);
  mn_date_format(start, out->start);
  MN_TRY(mn__plan_calendar(out, err));
cleanup:
  return rc;
}

int mn_plan_make(const mn_plan_request *req, const mn_skin_atlas *atlas,
                 const mn_device_catalogue *cat, const mn_param_set *ps,
                 const mn_candidacy_rules *rules, const mn_indications *ind, mn_plan *out,
                 mn_error *err) {
  int rc = MN_OK, nd = 0, walkers = 0, *chain_step = NULL;
  mn_model_params *draws = NULL;
  region_state *st = NULL;
  mn__region_ctx x[MN_PLAN_MAX_REGIONS];
  mn__holds holds[MN_PLAN_MAX_REGIONS];
  memset(holds, 0, sizeof holds);
  double I[MAX_INTERVALS];
  memset(out, 0, sizeof *out);
  MN_TRY(mn_plan_request_check(req, err));
  MN_TRY(mn_candidacy_screen(rules, &req->patient, &out->cand, err));
  /* a time-limited refer or do-not-treat defers the course (start_day) rather than cancel it */
  out->treat = out->cand.verdict_later <= MN_CAND_PRECAUTIONS;
  out->n_regions = req->n_regions;
  int nI = interval_grid(&req->constraints, I, MAX_INTERVALS);
  int pool = 1;
  double ess = 0;
  MN_TRY(plan_draws(req, ps, &draws, &nd, &pool, &ess, &chain_step, &walkers, err));
  mn_spread spread;
  if (req->patient_spread == 0)
    MN_TRY(mn_spread_load_shipped(&spread, err));
  else
    mn_spread_fixed(&spread, req->patient_spread);
  memcpy(out->spread_q, spread.q, sizeof spread.q);
  snprintf(out->spread_label, sizeof out->spread_label, "%s", spread.label);
  st = mn_calloc((size_t)req->n_regions, sizeof *st);
  MN_CHECK(st, err, MN_ENOMEM, "", "out of memory");
  const mn_candidacy_rule *pih_rule = NULL; /* the precaution with a setting the model computes */
  for (int i = 0; i < out->cand.n; i++)
    if (!strcmp(out->cand.match[i]->name, "fitzpatrick_ge_4")) pih_rule = out->cand.match[i];
  for (int i = 0; i < req->n_regions; i++) {
    x[i] = (mn__region_ctx){.req = req,
                            .cat = cat,
                            .ind = ind,
                            .pr = &out->region[i],
                            .draws = draws,
                            .nd = nd,
                            .nd_pool = pool,
                            .ess = ess,
                            .chain_step = chain_step,
                            .chain_walkers = walkers,
                            .spread = &spread,
                            .holds = &holds[i],
                            .pih_rule = pih_rule};
    MN_TRY(plan_region(&x[i], i, atlas, I, nI, &st[i], out, err));
    out->evaluations += x[i].evaluations;
    out->resumed += x[i].resumed;
    x[i].evaluations = x[i].resumed = 0;
  }
  MN_TRY(plan_course(req, x, st, I, nI, out, err));
  out->draws_used = 0; /* the most behind a region's figures (the nominal not counted) */
  for (int i = 0; i < req->n_regions; i++)
    if (out->region[i].draws_kept - 1 > out->draws_used)
      out->draws_used = out->region[i].draws_kept - 1;
cleanup:
  for (int i = 0; i < MN_PLAN_MAX_REGIONS; i++) mn__holds_fini(&holds[i]);
  mn_free(st);
  mn_free(draws);
  mn_free(chain_step);
  return rc;
}

void mn_plan_fini(mn_plan *p) {
  if (!p) return;
  for (int i = 0; i < MN_PLAN_MAX_REGIONS; i++) mn_free(p->region[i].curves);
  mn_free(p->events);
  memset(p, 0, sizeof *p);
}
