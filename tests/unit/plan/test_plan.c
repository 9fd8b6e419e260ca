/* The planner (issue 5): candidacy rules, dates, the protocol search against the seed's
 * statements, superposition against multi-session runs, the calendar. */
#include <criterion/criterion.h>
#include <libical/ical.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/mnsim.h"

typedef struct world {
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_param_set ps;
  mn_candidacy_rules *rules;
  mn_indications *ind;
} world;
static world w;

static void setup(void) {
  mn_error e = {0};
  cr_assert_eq(mn_skin_atlas_create(&w.atlas, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_device_catalogue_create(&w.cat, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_param_set_load_default(&w.ps, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_candidacy_rules_create(&w.rules, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_indications_create(&w.ind, &e), MN_OK, "%s", e.msg);
}
static void teardown(void) {
  mn_candidacy_rules_destroy(w.rules);
  mn_indications_destroy(w.ind);
  mn_skin_atlas_destroy(w.atlas);
  mn_device_catalogue_destroy(w.cat);
}

/* MNSIM_TEST_QUICK (the sanitizer builds, where a lumped run costs several times more): the
 * costliest tests ask fewer questions; each still runs its code paths and its assertions. */
static int quick(void) {
  return getenv("MNSIM_TEST_QUICK") != NULL;
}

static mn_plan_request request(int draws) {
  mn_plan_request r;
  memset(&r, 0, sizeof r);
  size_t n;
  const mn_config_desc *t = mn_plan_patient_param_table(&n);
  mn_config_defaults(t, n, &r.patient);
  t = mn_plan_constraints_param_table(&n);
  mn_config_defaults(t, n, &r.constraints);
  snprintf(r.constraints.earliest_start, sizeof r.constraints.earliest_start, "2027-03-01");
  snprintf(r.device, sizeof r.device, "pen-12");
  r.draws = draws;
  r.seed = 1;
  r.threads = 2;
  return r;
}

static void add_region(mn_plan_request *r, const char *region, int concern, int severity) {
  size_t n;
  const mn_config_desc *t = mn_plan_region_param_table(&n);
  mn_plan_region_req *q = &r->regions[r->n_regions++];
  mn_config_defaults(t, n, q);
  snprintf(q->region, sizeof q->region, "%s", region);
  q->concern = concern, q->severity = severity;
}

static mn_plan *make(const mn_plan_request *r) {
  mn_plan *p = malloc(sizeof *p);
  mn_error e = {0};
  cr_assert_eq(mn_plan_make(r, w.atlas, w.cat, &w.ps, w.rules, w.ind, p, &e), MN_OK, "%s", e.msg);
  return p;
}

/* ---- dates ------------------------------------------------------------------------------- */

Test(plan, dates_round_trip_and_reject_bad_ones) {
  cr_assert_eq(mn_date_days("1970-01-01"), 0);
  cr_assert_eq(mn_date_days("2000-03-01") - mn_date_days("2000-02-28"), 2, "2000 is a leap year");
  cr_assert_eq(mn_date_days("1900-03-01") - mn_date_days("1900-02-28"), 1, "1900 is not");
  cr_assert_eq(mn_date_days("2026-11-25"), 20782);
  char buf[16];
  for (long d = -1000; d < 84000; d += 37) { /* to 2199 */
    mn_date_format(d, buf);
    cr_assert_eq(mn_date_days(buf), d, "%ld -> %s", d, buf);
  }
  const char *bad[] = {"2027-02-29", "2027-13-01", "2027-1-01", "27-01-01", "2027-01-01x", "", "x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(mn_date_days(bad[i]), -1, "%s", bad[i]);
}

/* ---- candidacy --------------------------------------------------------------------------- */

static mn_candidacy screen(const mn_plan_patient *p) {
  mn_candidacy c;
  mn_error e = {0};
  cr_assert_eq(mn_candidacy_screen(w.rules, p, &c, &e), MN_OK, "%s", e.msg);
  return c;
}

Test(candidacy, rules_are_sourced_and_match_by_name_alias_and_window, .init = setup,
     .fini = teardown) {
  int nr = mn_candidacy_rules_count(w.rules);
  cr_assert(nr >= 25, "%d rules", nr);
  cr_assert_null(mn_candidacy_rules_get(w.rules, nr));
  for (int i = 0; i < nr; i++) {
    const mn_candidacy_rule *r = mn_candidacy_rules_get(w.rules, i);
    cr_assert(strlen(r->source) > 10, "%s has no source", r->id);
    cr_assert(strlen(r->reason) > 10, "%s has no reason", r->id);
    cr_assert(r->verdict == MN_CAND_DO_NOT_TREAT || r->precaution[0], "%s: no precaution", r->id);
  }
  mn_plan_request q = request(0);
  mn_candidacy c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_PROCEED);
  cr_assert_eq(c.n, 0);
  /* isotretinoin 90 days ago blocks; 400 days ago does not; an alias is the same rule */
  snprintf(q.patient.medications[0].name, 64, "accutane");
  q.patient.medications[0].days_ago = 90;
  q.patient.n_medications = 1;
  c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_DO_NOT_TREAT);
  cr_assert_str_eq(c.match[0]->name, "isotretinoin");
  cr_assert(strstr(c.detail[0], "90 days ago"), "%s", c.detail[0]);
  q.patient.medications[0].days_ago = 400;
  c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_PROCEED, "outside the rule's window");
  /* the strictest verdict wins, every match is listed */
  q.patient.n_medications = 0;
  snprintf(q.patient.conditions[0], 64, "herpes_history");
  snprintf(q.patient.conditions[1], 64, "pregnancy");
  q.patient.n_conditions = 2;
  q.patient.fitzpatrick = 5;
  c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_DO_NOT_TREAT);
  cr_assert_eq(c.n, 3, "herpes, pregnancy and the Fitzpatrick rule: %d", c.n);
  q.patient.n_conditions = 1;
  c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_PRECAUTIONS);
  q.patient.age_y = 15;
  c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_REFER, "a minor is referred");
}

Test(candidacy, names_without_a_rule_are_listed_for_the_clinician, .init = setup,
     .fini = teardown) {
  /* free text is accepted (issue 18): no rule, no refusal; a likely typo keeps the nearest name
   * as a hint, a far name gets none */
  mn_plan_request q = request(0);
  snprintf(q.patient.conditions[0], 64, "hypertension");
  snprintf(q.patient.conditions[1], 64, "keloids_tendency");
  q.patient.n_conditions = 2;
  snprintf(q.patient.medications[0].name, 64, "acutane");
  q.patient.medications[0].days_ago = 30;
  q.patient.n_medications = 1;
  snprintf(q.patient.procedures[0].name, 64, "isotretinoin"); /* a medication, not a procedure */
  q.patient.n_procedures = 1;
  mn_candidacy c = screen(&q.patient);
  /* free text alone does not change the verdict, but a likely typo of a do-not-treat rule
   * (keloids_tendency, acutane) holds it at refer until a clinician confirms the name */
  cr_assert_eq(c.verdict, MN_CAND_REFER, "verdict %d", c.verdict);
  cr_assert_eq(c.verdict_later, MN_CAND_REFER, "held beyond any lapse");
  cr_assert_eq(c.n, 0);
  cr_assert_eq(c.n_unruled, 4);
  cr_assert_str_eq(c.unruled[0].name, "hypertension");
  cr_assert_eq(c.unruled[0].kind, MN_RULE_CONDITION);
  cr_assert_str_eq(c.unruled[0].nearest, "", "no hint for a far name: %s", c.unruled[0].nearest);
  cr_assert_str_eq(c.unruled[1].nearest, "keloid_tendency");
  cr_assert_str_eq(c.unruled[2].nearest, "isotretinoin", "acutane is one edit from accutane");
  cr_assert_eq(c.unruled[2].kind, MN_RULE_MEDICATION);
  cr_assert_eq(c.unruled[2].days_ago, 30);
  cr_assert_eq(c.unruled[3].kind, MN_RULE_PROCEDURE);
  cr_assert(!c.unruled[0].held && c.unruled[1].held && c.unruled[2].held);
  q.patient.n_conditions = 1, q.patient.n_medications = 0, q.patient.n_procedures = 0;
  mn_candidacy c2 = screen(&q.patient); /* hypertension alone */
  cr_assert_eq(c2.verdict, MN_CAND_PROCEED, "a name far from every rule does not hold the plan");
  /* the strict lookup still names the nearest rule */
  const mn_candidacy_rule *ru;
  mn_error e = {0};
  cr_assert_eq(mn_candidacy_lookup(w.rules, MN_RULE_CONDITION, "keloids_tendency",
                                   "patient.conditions[0]", &ru, &e),
               MN_EINPUT);
  cr_assert(strstr(e.msg, "the nearest is 'keloid_tendency'"), "%s", e.msg);
}

Test(candidacy, time_limited_rules_lapse, .init = setup, .fini = teardown) {
  /* isotretinoin 200 days ago under R29 (365 days): do not treat today, lapses on day 166 (the
   * rule applies while days_ago <= 365); taken now, it does not lapse */
  mn_plan_request q = request(0);
  snprintf(q.patient.medications[0].name, 64, "isotretinoin");
  q.patient.medications[0].days_ago = 200;
  q.patient.n_medications = 1;
  mn_candidacy c = screen(&q.patient);
  cr_assert_eq(c.verdict, MN_CAND_DO_NOT_TREAT);
  cr_assert_eq(c.until_day[0], 166);
  cr_assert_eq(c.wait_days, 166);
  cr_assert_eq(c.verdict_later, MN_CAND_PROCEED);
  q.patient.fitzpatrick = 5; /* a lasting precaution stays */
  c = screen(&q.patient);
  cr_assert_eq(c.verdict_later, MN_CAND_PRECAUTIONS);
  q.patient.medications[0].days_ago = 0;
  c = screen(&q.patient);
  cr_assert_eq(c.until_day[0], -1);
  cr_assert_eq(c.verdict_later, MN_CAND_DO_NOT_TREAT);
}

Test(candidacy, bad_rule_tables_are_refused) {
  const char *head = "id,kind,name,aliases,within_days,verdict,precaution,reason,source,evidence\n";
  const char *rows[] = {
      "R1,drug,x,,,refer,p,r,s,low\n",                                         /* kind */
      "R1,condition,x,,,proceed,p,r,s,low\n",                                  /* verdict */
      "R1,condition,X y,,,refer,p,r,s,low\n",                                  /* name */
      "R1,medication,x,,-3,refer,p,r,s,low\n",                                 /* window */
      "R1,condition,x,,,refer,p,r,s,low\nR2,condition,y,x,,refer,p,r,s,low\n", /* alias repeats */
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char csv[512];
    snprintf(csv, sizeof csv, "%s%s", head, rows[i]);
    mn_candidacy_rules *r = NULL;
    mn_error e = {0};
    cr_assert_eq(mn_candidacy_rules_parse(csv, strlen(csv), "t.csv", &r, &e), MN_EINPUT, "row %zu",
                 i);
    cr_assert_null(r);
    cr_assert(strstr(e.msg, "t.csv:"), "%s", e.msg);
  }
}

/* ---- the search ---------------------------------------------------------------------------- */

/* The outcome of a lumped course: @p sessions sessions @p interval days apart at @p depth_mm and
 * @p density per cm2, @p days long, CVODE at @p rtol. */
static void lumped_course(const mn_skin *sk, const mn_device *dev, double density, double depth_mm,
                          int sessions, double interval, double days, double rtol, mn_outcome *o) {
  mn_course_params p;
  mn_course_params_default(&p);
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  lp.rtol = rtol;
  p.mode = MN_COURSE_LUMPED;
  p.model = &w.ps.p;
  p.skin = sk;
  p.dev = dev;
  p.density_cm2 = density;
  p.depth_mm = depth_mm;
  p.sessions = sessions;
  p.interval_day = interval;
  p.days = days;
  p.lumped = &lp;
  mn_course *c = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_course_create(&p, &c, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_run(c, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_course_outcome(c, o, &e), MN_OK, "%s", e.msg);
  mn_course_destroy(c);
}

/* 42 days apart, @p days long */
static void lumped_outcome(const mn_skin *sk, const mn_device *dev, double density, double depth_mm,
                           int sessions, double days, double rtol, mn_outcome *o) {
  lumped_course(sk, dev, density, depth_mm, sessions, 42, days, rtol, o);
}

/* The outcome 182.5 days after the last of @p sessions sessions @p interval days apart. */
static void lumped_outcome_at(const mn_skin *sk, const mn_device *dev, double density,
                              double depth_mm, int sessions, double interval, double rtol,
                              mn_outcome *o) {
  lumped_course(sk, dev, density, depth_mm, sessions, interval, (sessions - 1) * interval + 182.5,
                rtol, o);
}

Test(plan, the_planned_course_is_the_course_run, .init = setup, .fini = teardown) {
  /* the nominal parameters: the planner's outcome at the review is the lumped course of the same
   * sessions, interval and setting (run at the planner's tolerance) */
  mn_plan_request q = request(0);
  add_region(&q, "cheek", MN_CONCERN_TEXTURE, MN_SEVERITY_MILD);
  q.regions[0].goal_pct = 1000; /* out of reach: the search keeps max_sessions */
  q.constraints.max_sessions = 3;
  q.constraints.min_interval_weeks = q.constraints.max_interval_weeks = 6;
  mn_plan *p = make(&q);
  const mn_plan_region *r = &p->region[0];
  cr_assert_eq(r->sessions, 3, "%d sessions, outcome %g", r->sessions, r->outcome[1]);
  cr_assert_eq(p->interval_days, 42);
  cr_assert(!r->reached);
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  mn_error e = {0};
  cr_assert_eq(mn_device_init_at(&dev, w.cat, "pen-12", r->depth_mm, &e), MN_OK, "%s", e.msg);
  mn_outcome o;
  lumped_outcome(&r->skin, &dev, r->density_cm2, r->depth_mm, 3, p->review_day, 1e-5, &o);
  double direct = o.collagen_end_pct[0], planned = r->outcome[1];
  printf("planned %.3f %% vs the three-session course %.3f %% (papillary collagen at day %.0f)\n",
         planned, direct, p->review_day);
  cr_assert(direct > 1, "a gain to compare: %g", direct);
  cr_assert(fabs(planned - direct) <= 0.01 * fabs(direct), "planned %g vs %g", planned, direct);
  mn_device_fini(&dev);
  mn_plan_fini(p);
  free(p);
}

Test(plan, the_interval_comes_from_the_model, .init = setup, .fini = teardown) {
  /* three sessions, every interval the constraints allow: the chosen one is within 2 % of the
   * model's best nominal outcome; without the clinic's preference in range (4-5 weeks allowed),
   * the best itself */
  mn_plan_request q = request(0);
  add_region(&q, "cheek", MN_CONCERN_TEXTURE, MN_SEVERITY_MILD);
  q.regions[0].goal_pct = 1000; /* out of reach: 3 sessions at every interval */
  q.constraints.max_sessions = 3;
  q.constraints.min_interval_weeks = 4, q.constraints.max_interval_weeks = 12;
  mn_plan *p = make(&q);
  double chosen = p->region[0].outcome[1], best = 0, at = 0;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  mn_error e = {0};
  cr_assert_eq(mn_device_init_at(&dev, w.cat, "pen-12", p->region[0].depth_mm, &e), MN_OK);
  for (int wk = 4; wk <= 12; wk++) {
    mn_outcome o;
    lumped_outcome_at(&p->region[0].skin, &dev, p->region[0].density_cm2, p->region[0].depth_mm, 3,
                      7.0 * wk, 1e-4, &o);
    printf("  %2d weeks: %+.2f %%\n", wk, o.collagen_end_pct[0]);
    if (o.collagen_end_pct[0] > best) best = o.collagen_end_pct[0], at = wk;
  }
  printf("chosen %g weeks (%+.2f %%), the model's best %g weeks (%+.2f %%)\n", p->interval_days / 7,
         chosen, at, best);
  cr_assert(chosen >= 0.98 * best, "chosen %g vs best %g", chosen, best);
  mn_plan_fini(p);
  q.constraints.max_interval_weeks = 5;
  p = make(&q);
  cr_assert(p->region[0].outcome[1] >= 0.999 * fmax(best, 0) || at > 5,
            "4-5 weeks: %g weeks chosen", p->interval_days / 7);
  mn_device_fini(&dev);
  mn_plan_fini(p);
  free(p);
}

/* Cheek skin (40 years, type III) and pen-12 at 1.5 mm, as the tolerance checks use them. */
static void cheek_pen_15(mn_skin *sk, mn_device *dev) {
  mn_skin_params sp = {.region = "cheek", .age_y = 40, .fitzpatrick = 3};
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.5};
  mn_error e = {0};
  memset(dev, 0, sizeof *dev);
  cr_assert_eq(mn_skin_build(w.atlas, &sp, sk, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_device_init(dev, w.cat, &dp, &e), MN_OK, "%s", e.msg);
}

Test(plan, planner_tolerance, .init = setup, .fini = teardown) {
  /* the planner runs CVODE at rtol 1e-4: its outcomes against the default 1e-5 */
  mn_skin sk;
  mn_device dev;
  cheek_pen_15(&sk, &dev);
  mn_outcome a, b;
  lumped_outcome(&sk, &dev, 900, 1.5, 1, 400, 1e-5, &a);
  lumped_outcome(&sk, &dev, 900, 1.5, 1, 400, 1e-4, &b);
  printf(
      "rtol 1e-5 / 1e-4: redness %.4f / %.4f d, PD collagen %.4f / %.4f %%, thickness %.3f / "
      "%.3f um\n",
      a.redness_days[0], b.redness_days[0], a.collagen_end_pct[0], b.collagen_end_pct[0],
      a.thickness_end_um, b.thickness_end_um);
  cr_assert(fabs(a.redness_days[0] - b.redness_days[0]) <= 0.005 * a.redness_days[0]);
  cr_assert(fabs(a.collagen_end_pct[0] - b.collagen_end_pct[0]) <= 0.005 * a.collagen_end_pct[0]);
  cr_assert(fabs(a.thickness_end_um - b.thickness_end_um) <= 0.005 * a.thickness_end_um);
  mn_device_fini(&dev);
}

Test(plan, mild_to_moderate_gets_two_to_three_sessions_six_to_eight_weeks_apart, .init = setup,
     .fini = teardown) {
  /* SEED3: "2-3 sessions 6-8 weeks apart" for mild-to-moderate fine lines or scars; the interval
   * is the model's (4-8 weeks within 2 % of its best), the clinic's 6-8 weeks breaking the tie */
  const int cases[][3] = {{MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE, 0},
                          {MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MILD, 0},
                          {MN_CONCERN_FINE_LINES, MN_SEVERITY_MILD, 0},
                          {MN_CONCERN_FINE_LINES, MN_SEVERITY_MODERATE, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mn_plan_request q = request(200);
    add_region(&q, "cheek", cases[i][0], cases[i][1]);
    mn_plan *p = make(&q);
    const mn_plan_region *r = &p->region[0];
    printf(
        "%s %s: %d sessions every %g weeks, %.2f mm x %d, P = %.2f (mean patient %.2f), "
        "outcome %.1f [%.1f, %.1f]\n",
        mn_severity_name(cases[i][1]), mn_concern_name(cases[i][0]), p->sessions,
        p->interval_days / 7, r->depth_mm, r->passes, r->probability, r->probability_population,
        r->outcome[1], r->outcome[0], r->outcome[2]);
    cr_assert(r->reached, "goal not reached");
    /* "2-3 sessions reach the goal": at most 3; a moderate concern needs at least 2, while model
     * v2 (per-session gain calibrated on a 5-session study only, docs/model.md) reaches a mild
     * goal in one session, which the clinic's 2-3 do not exclude */
    int lo = cases[i][1] == MN_SEVERITY_MODERATE ? 2 : 1;
    cr_assert(p->sessions >= lo && p->sessions <= 3, "%d sessions", p->sessions);
    cr_assert(p->interval_days >= 42 && p->interval_days <= 56, "%g days", p->interval_days);
    cr_assert(r->probability >= 0.8);
    /* issue 15: the interval says which rule chose it, the model's best and the limits */
    printf("  interval: %s\n", p->interval_reason);
    cr_assert(strstr(p->interval_reason, "allowed: 4-12 weeks"), "%s", p->interval_reason);
    if (p->sessions > 1 && p->interval_days != p->interval_best_days)
      cr_assert(strstr(p->interval_reason, "scheduling preference"), "%s", p->interval_reason);
    if (p->sessions > 1 && p->interval_days == p->interval_best_days)
      cr_assert(strstr(p->interval_reason, "the model's:"), "%s", p->interval_reason);
    mn_plan_fini(p);
    free(p);
  }
}

Test(plan, the_interval_is_the_models_when_the_clinics_is_not_allowed, .init = setup,
     .fini = teardown) {
  /* issue 15: the clinic's 6-8 weeks only breaks a tie; with 4-5 weeks allowed the model's best
   * of those is taken and said to be the model's */
  mn_plan_request q = request(50);
  q.max_mcse = 0;
  q.constraints.min_interval_weeks = 4, q.constraints.max_interval_weeks = 5;
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  mn_plan *p = make(&q);
  printf("%d sessions every %g weeks (model's best %g): %s\n", p->sessions, p->interval_days / 7,
         p->interval_best_days / 7, p->interval_reason);
  cr_assert(p->sessions >= 2, "%d sessions", p->sessions);
  cr_assert_eq(p->interval_days, p->interval_best_days);
  cr_assert(p->interval_days >= 28 && p->interval_days <= 35, "%g days", p->interval_days);
  cr_assert(strstr(p->interval_reason, "the model's:") &&
                strstr(p->interval_reason, "allowed: 4-5 weeks"),
            "%s", p->interval_reason);
  mn_plan_fini(p);
  free(p);
}

Test(plan, deep_wrinkles_and_severe_scars_get_more_sessions, .init = setup, .fini = teardown) {
  /* SEED4: more sessions for deep wrinkles or severe scars */
  const int cases[][2] = {{MN_CONCERN_ACNE_SCARS, MN_SEVERITY_SEVERE},
                          {MN_CONCERN_WRINKLES, MN_SEVERITY_SEVERE}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mn_plan_request q = request(200);
    add_region(&q, "cheek", cases[i][0], cases[i][1]);
    q.constraints.max_sessions = 8;
    mn_plan *p = make(&q);
    printf("%s %s: %d sessions every %g weeks (reached %d, P = %.2f, mean patient %.2f)\n",
           mn_severity_name(cases[i][1]), mn_concern_name(cases[i][0]), p->sessions,
           p->interval_days / 7, p->region[0].reached, p->region[0].probability,
           p->region[0].probability_population);
    cr_assert(p->sessions > 3, "%d sessions", p->sessions);
    /* a severe lesion that needling alone cannot bring to the scale's mild grade is an answer:
     * the plan says which constraint binds and that the goal or the setting must change */
    if (!p->region[0].reached) {
      printf("  %s\n", p->region[0].binding);
      cr_assert(strstr(p->region[0].binding, "max_sessions"), "%s", p->region[0].binding);
    }
    mn_plan_fini(p);
    free(p);
  }
}

Test(plan, a_fill_goal_is_a_depth_to_reach, .init = setup, .fini = teardown) {
  /* docs/design/observation-v2.md section 6: the lesion is to reach the scale's residual depth,
   * so the share of its depth asked for rises with its depth (max(floor, 1 - residual / defect));
   * a patient file's residual_mm moves it, its goal_pct overrides it */
  const double defect[] = {0.15, 0.2, 0.3, 0.6, 1.2};
  double last = 0;
  for (size_t i = 0; i < sizeof defect / sizeof *defect; i++) {
    mn_plan_request q = request(0);
    q.constraints.max_sessions = 1;
    add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
    q.regions[0].defect_mm = defect[i];
    mn_plan *p = make(&q);
    const mn_plan_region *r = &p->region[0];
    const mn_indication *ind = r->ind;
    double want = fmax(ind->goal_pct, 100 * (1 - ind->residual_mm / defect[i]));
    printf("acne scars %.2f mm: goal %.1f %% (to %.3f mm)\n", defect[i], r->goal_pct,
           defect[i] * (1 - r->goal_pct / 100));
    cr_assert_float_eq(r->goal_pct, want, 1e-9);
    cr_assert_float_eq(r->residual_mm, ind->residual_mm, 1e-12);
    cr_assert(r->goal_pct >= last && r->goal_pct < 100);
    if (defect[i] > 2 * ind->residual_mm) cr_assert(r->goal_pct > ind->goal_pct);
    last = r->goal_pct;
    mn_plan_fini(p);
    free(p);
  }
  mn_plan_request q = request(0);
  q.constraints.max_sessions = 1;
  add_region(&q, "forehead", MN_CONCERN_WRINKLES, MN_SEVERITY_SEVERE);
  q.regions[0].residual_mm = 0.4;
  mn_plan *p = make(&q);
  double d = p->region[0].defect_mm;
  cr_assert_float_eq(p->region[0].goal_pct, fmax(p->region[0].ind->goal_pct, 100 * (1 - 0.4 / d)),
                     1e-9);
  mn_plan_fini(p);
  free(p);
  q.regions[0].goal_pct = 30;
  p = make(&q);
  cr_assert_float_eq(p->region[0].goal_pct, 30, 1e-12);
  mn_plan_fini(p);
  free(p);
  /* a depth to reach is for lesions only */
  q.regions[0].concern = MN_CONCERN_TEXTURE;
  q.regions[0].goal_pct = 0;
  mn_error e = {0};
  cr_assert_neq(mn_plan_request_check(&q, &e), MN_OK);
  cr_assert(strstr(e.msg, "regions[0].residual_mm"), "%s", e.msg);
}

Test(plan, the_probability_carries_at_most_the_requested_monte_carlo_error, .init = setup,
     .fini = teardown) {
  /* issue 16: at most one percentage point. The search's 200 draws give about 2-3 points near
   * the required probability; the final course takes the draws the limit asks for, or every
   * posterior draw when the table's own error (its chain's ESS) leaves no room. */
  mn_error e = {0};
  mn_posterior po;
  cr_assert_eq(mn_posterior_load(&po, &e), MN_OK, "%s", e.msg);
  double ess = po.ess;
  int pool = po.n;
  mn_posterior_fini(&po);
  /* quick: a limit of 2 points, which about a quarter of the draws meets (still more than the
   * search's 200) */
  const double lim = quick() ? 0.02 : 0.01;
  mn_plan_request q = request(200);
  q.max_mcse = lim;
  q.exact = 1;           /* every draw's course: the closed form below (the emulator's own test:
                            the_emulator_agrees_with_every_draw) */
  q.patient_spread = -1; /* the mean patient: 0/1 per draw, the closed form below */
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  mn_plan *p = make(&q);
  const mn_plan_region *r = &p->region[0];
  double pr = r->probability, n = r->draws_kept;
  printf("moderate acne scars: P = %.3f +/- %.4f over %d draws (ESS of the table %.0f, %d draws)\n",
         pr, r->probability_mcse, r->draws_kept, ess, pool);
  cr_assert(r->draws_kept >= 201 && r->draws_kept <= pool + 1, "%d draws", r->draws_kept);
  /* the error: the table's (1 / ESS) and the subsample's (1 / n - 1 / N, N = every draw and the
   * nominal; a dropped draw would move N by one, hence the tolerance) */
  double ps = (pr * n + 1) / (n + 2); /* Laplace: never zero */
  /* over every posterior draw, the table's term is the probabilities' own ESS along the chain */
  double E = isfinite(r->probability_ess) ? r->probability_ess : ess;
  cr_assert(isfinite(r->probability_ess) == (r->draws_kept == pool + 1));
  double want = sqrt(ps * (1 - ps) * (fmax(1 / E - 1.0 / (pool + 1), 0) + 1 / n));
  cr_assert(fabs(r->probability_mcse - want) <= 0.01 * want, "MCSE %g, expected %g",
            r->probability_mcse, want);
  /* within the limit, or every posterior draw taken */
  cr_assert(r->probability_mcse <= lim * 1.01 || r->draws_kept == pool + 1, "MCSE %g over %d draws",
            r->probability_mcse, r->draws_kept);
  cr_assert_eq(p->draws_used, r->draws_kept - 1);
  mn_plan_fini(p);
  free(p);
  /* with the patient factor each draw gives a probability in [0, 1], whose variance is at most
   * p (1 - p): the error is within the limit with no more draws than the 0/1 case would need */
  q.patient_spread = 0;
  p = make(&q);
  r = &p->region[0];
  n = r->draws_kept, pr = r->probability;
  ps = (pr * n + 1) / (n + 2);
  E = isfinite(r->probability_ess) ? r->probability_ess : ess;
  double bound = sqrt(ps * (1 - ps) * (fmax(1 / E - 1.0 / (pool + 1), 0) + 1 / n));
  printf("with the patient factor: P = %.3f +/- %.4f over %d draws (0/1 bound %.4f)\n", pr,
         r->probability_mcse, r->draws_kept, bound);
  cr_assert(r->probability_mcse > 0 && r->probability_mcse <= bound * 1.0001);
  cr_assert(r->probability_mcse <= lim * 1.01 || r->draws_kept == pool + 1);
  /* without a limit the search's draws stand */
  mn_plan_fini(p);
  free(p);
  q.max_mcse = 0;
  p = make(&q);
  cr_assert_eq(p->region[0].draws_kept, 201);
  mn_plan_fini(p);
  free(p);
  q.max_mcse = 0.2;
  cr_assert_eq(
      mn_plan_make(&q, w.atlas, w.cat, &w.ps, w.rules, w.ind, p = calloc(1, sizeof *p), &e),
      MN_ERANGE);
  cr_assert(strstr(e.msg, "max_mcse"), "%s", e.msg);
  free(p);
}

/* The plan of @p q with every draw's course and with the emulator: the same plan, and the
 * emulated probability within 3 of its standard errors of the exact one over the same draws;
 * with @p saves, in fewer than half the runs. */
static void emulated_against_exact(mn_plan_request *q, int saves, mn_plan **emu_out) {
  q->exact = 1;
  mn_plan *ex = make(q);
  q->exact = 0;
  mn_plan *em = make(q);
  printf("lumped runs: %d exact, %d emulated\n", ex->evaluations, em->evaluations);
  if (saves) cr_assert_lt(2 * em->evaluations, ex->evaluations, "the emulator saves nothing");
  cr_assert_eq(em->sessions, ex->sessions);
  cr_assert_eq(em->interval_days, ex->interval_days);
  for (int i = 0; i < q->n_regions; i++) {
    const mn_plan_region *a = &em->region[i], *b = &ex->region[i];
    printf("  %s: P = %.4f +/- %.4f (%d draws, %d run) against %.4f +/- %.4f (%d draws)\n",
           a->req.region, a->probability, a->probability_mcse, a->draws_kept - 1,
           a->draws_exact - 1, b->probability, b->probability_mcse, b->draws_kept - 1);
    cr_assert_eq(a->depth_mm, b->depth_mm, "%s", a->req.region);
    cr_assert_eq(a->passes, b->passes);
    cr_assert_eq(a->sessions, b->sessions);
    cr_assert_eq(a->reached, b->reached);
    cr_assert_lt(a->draws_exact, a->draws_kept);
    cr_assert(fabs(a->probability - b->probability) <= 3 * a->probability_mcse,
              "%s: %.4f against %.4f, s.e. %.4f", a->req.region, a->probability, b->probability,
              a->probability_mcse);
  }
  mn_plan_fini(ex);
  free(ex);
  *emu_out = em;
}

Test(plan, the_emulator_agrees_with_every_draw, .init = setup, .fini = teardown) {
  /* issue 19 (f), docs/design/planner-emulator.md section 4: the search's questions emulated
   * (from 148 draws) and compared with every draw's course over the same 400 draws */
  mn_plan_request q = request(quick() ? 200 : 400);
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  if (!quick()) add_region(&q, "perioral", MN_CONCERN_FINE_LINES, MN_SEVERITY_MODERATE);
  mn_plan *em;
  emulated_against_exact(&q, 1, &em);
  /* 1 and 2 threads: the same plan, bit for bit */
  q.threads = 1;
  mn_plan *one = make(&q);
  for (int i = 0; i < q.n_regions; i++) {
    cr_assert_eq(one->region[i].probability, em->region[i].probability);
    cr_assert_eq(one->region[i].probability_mcse, em->region[i].probability_mcse);
    cr_assert_eq(one->region[i].draws_exact, em->region[i].draws_exact);
  }
  mn_plan_fini(one);
  free(one);
  mn_plan_fini(em);
  free(em);
}

Test(plan, a_bad_emulator_is_caught_by_its_correction, .init = setup, .fini = teardown) {
  /* an emulator that predicts a constant: the control variate still gives the exact answer
   * within its error, and the error grows (more correction courses, or a wider band) */
  mn_plan_request q = request(quick() ? 200 : 400); /* quick: the fewest draws that are emulated */
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  q.max_mcse = 0;
  mn_plan *good = make(&q);
  q.emulator_constant = 1;
  mn_plan *bad;
  /* quick: at 200 draws a bad emulator's correction courses take more than half the runs */
  emulated_against_exact(&q, !quick(), &bad);
  const mn_plan_region *g = &good->region[0], *b = &bad->region[0];
  printf("quadratic: +/- %.4f with %d courses; constant: +/- %.4f with %d\n", g->probability_mcse,
         g->draws_exact, b->probability_mcse, b->draws_exact);
  cr_assert(b->probability_mcse > g->probability_mcse || b->draws_exact > g->draws_exact);
  mn_plan_fini(good);
  free(good);
  mn_plan_fini(bad);
  free(bad);
}

Test(plan, the_emulated_final_course_meets_the_monte_carlo_limit, .init = setup, .fini = teardown) {
  /* issue 16 with the emulator: every posterior draw predicted, as many corrected as the limit
   * of one point needs; the same plan as every draw's course */
  mn_plan_request q = request(400); /* the search's questions emulated too */
  q.max_mcse = 0.01;
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  mn_plan *p = make(&q);
  const mn_plan_region *r = &p->region[0];
  mn_error e = {0};
  mn_posterior po;
  cr_assert_eq(mn_posterior_load(&po, &e), MN_OK, "%s", e.msg);
  int pool = po.n;
  double ess = po.ess;
  cr_assert_eq(po.walkers, 32, "the table's walkers: %d", po.walkers);
  mn_posterior_fini(&po);
  printf("P = %.4f +/- %.4f over %d draws, %d run\n", r->probability, r->probability_mcse,
         r->draws_kept - 1, r->draws_exact - 1);
  cr_assert_eq(r->draws_kept, pool + 1);
  cr_assert_lt(r->draws_exact, r->draws_kept);
  /* the table's term from the probabilities' own chain: an ESS of at most the draws */
  printf("ESS of the per-draw probabilities along the chain %.0f (the parameters' smallest %.0f)\n",
         r->probability_ess, ess);
  cr_assert(r->probability_ess > 0 && r->probability_ess <= 1.5 * pool);
  cr_assert(r->probability_mcse <= 0.0101 || r->draws_exact == pool + 1, "MCSE %g",
            r->probability_mcse);
  cr_assert_eq(p->draws_used, r->draws_kept - 1);
  mn_plan_fini(p);
  free(p);
}

Test(plan, patients_differ_so_a_plan_for_a_patient_asks_more_than_one_for_the_mean, .init = setup,
     .fini = teardown) {
  /* issue 16: the probability is a patient's (docs/plan.md "A probability for a patient"). The
   * mean patient's (patient_spread -1) is the share of draws whose mean reaches the goal; a
   * spread around the mean lowers a probability the mean reaches comfortably, so the plan for
   * a patient needs at least as many sessions, and more spread never fewer. */
  const double spreads[3] = {-1, 0, 0.6};
  int sessions[3];
  double prob[3], pop[3];
  for (int k = 0; k < 3; k++) {
    if (k == 1 && quick()) { /* quick: the mean patient and the wide spread only */
      sessions[1] = sessions[0];
      continue;
    }
    mn_plan_request q = request(200);
    q.max_mcse = 0;
    q.patient_spread = spreads[k];
    add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
    mn_plan *p = make(&q);
    const mn_plan_region *r = &p->region[0];
    sessions[k] = r->sessions, prob[k] = r->probability, pop[k] = r->probability_population;
    printf(
        "patient_spread %g (sigma_b %.2f): %d sessions, P = %.3f for a patient, %.3f for the "
        "mean\n",
        spreads[k], p->spread_q[1], r->sessions, r->probability, r->probability_population);
    cr_assert(r->reached);
    if (k == 0) cr_assert(p->spread_q[1] == 0 && r->probability == r->probability_population);
    if (k == 1) cr_assert(p->spread_q[1] > 0.2 && p->spread_q[1] < 0.35, "%g", p->spread_q[1]);
    mn_plan_fini(p);
    free(p);
  }
  cr_assert(sessions[1] >= sessions[0] && sessions[2] >= sessions[1], "%d %d %d", sessions[0],
            sessions[1], sessions[2]);
  cr_assert(sessions[2] > sessions[0], "a wide spread must cost sessions");
  /* at the mean patient's plan every draw's mean outcome reaches the goal far more often than
   * a patient does (a patient needs b >= b*, and the median of b is below 1) */
  mn_plan_request q = request(200);
  q.max_mcse = 0;
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  q.constraints.max_sessions = sessions[0];
  mn_plan *p = make(&q);
  printf("at %d sessions: P = %.3f for a patient, %.3f for the mean\n", sessions[0],
         p->region[0].probability, p->region[0].probability_population);
  cr_assert(p->region[0].probability < p->region[0].probability_population);
  (void)prob, (void)pop;
  mn_plan_fini(p);
  free(p);
}

Test(plan, an_unreachable_goal_is_an_answer_with_the_best_plan, .init = setup, .fini = teardown) {
  mn_plan_request q = request(100);
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_SEVERE);
  q.constraints.max_sessions = 2;
  mn_plan *p = make(&q);
  cr_assert_eq(p->region[0].reached, 0);
  cr_assert_eq(p->reached, 0);
  cr_assert_eq(p->sessions, 2, "the best plan within the constraints");
  cr_assert(p->region[0].probability < 0.8);
  mn_plan_fini(p);
  free(p);
}

Test(plan, contradictory_constraints_are_refused, .init = setup, .fini = teardown) {
  mn_plan_request q = request(0);
  add_region(&q, "cheek", MN_CONCERN_TEXTURE, MN_SEVERITY_MILD);
  q.constraints.min_interval_weeks = 10, q.constraints.max_interval_weeks = 6;
  mn_error e = {0};
  cr_assert_eq(mn_plan_request_check(&q, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "no interval satisfies both"), "%s", e.msg);
  q = request(0);
  add_region(&q, "cheek", MN_CONCERN_TEXTURE, MN_SEVERITY_MILD);
  snprintf(q.constraints.finish_by, 16, "2027-01-01");
  memset(&e, 0, sizeof e);
  cr_assert_eq(mn_plan_request_check(&q, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "before earliest_start"), "%s", e.msg);
  q = request(0);
  add_region(&q, "cheek", MN_CONCERN_TEXTURE, MN_SEVERITY_MILD);
  q.regions[0].scar_type = 2;
  memset(&e, 0, sizeof e);
  cr_assert_eq(mn_plan_request_check(&q, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "regions[0].scar_type");
}

Test(plan, depth_stays_within_the_chart_and_the_anatomy, .init = setup, .fini = teardown) {
  mn_plan_request q = request(0);
  add_region(&q, "periorbital", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_SEVERE); /* asks 1.5-2 mm */
  add_region(&q, "forehead", MN_CONCERN_WRINKLES, MN_SEVERITY_SEVERE);
  mn_plan *p = make(&q);
  cr_assert_leq(p->region[0].depth_mm, 0.5, "periorbital chart: 0.5 mm");
  cr_assert_leq(p->region[1].depth_mm, 0.75, "forehead chart: 0.75 mm");
  for (int i = 0; i < 2; i++) {
    const mn_plan_region *r = &p->region[i];
    cr_assert(
        r->depth_mm * 0.9 * 1000 <= r->skin.top_um[MN_LAYER_HYPO] + r->skin.sd_um[MN_LAYER_RD],
        "within one SD of the dermis's end");
  }
  mn_plan_fini(p);
  free(p);
}

/* ---- the calendar ------------------------------------------------------------------------- */

Test(plan, today_comes_from_the_request, .init = setup, .fini = teardown) {
  /* without earliest_start the course starts on the request's today; without either the plan is
   * refused (the library never reads the clock) */
  mn_plan_request q = request(0);
  add_region(&q, "forehead", MN_CONCERN_FINE_LINES, MN_SEVERITY_MILD);
  q.constraints.earliest_start[0] = 0;
  mn_plan *p = calloc(1, sizeof *p);
  mn_error e = {0};
  cr_assert_eq(mn_plan_make(&q, w.atlas, w.cat, &w.ps, w.rules, w.ind, p, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "today");
  mn_plan_fini(p);
  snprintf(q.today, sizeof q.today, "2031-02-30");
  mn_error_clear(&e);
  cr_assert_eq(mn_plan_make(&q, w.atlas, w.cat, &w.ps, w.rules, w.ind, p, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "today");
  mn_plan_fini(p);
  snprintf(q.today, sizeof q.today, "2031-02-14");
  mn_error_clear(&e);
  cr_assert_eq(mn_plan_make(&q, w.atlas, w.cat, &w.ps, w.rules, w.ind, p, &e), MN_OK, "%s", e.msg);
  cr_assert_str_eq(p->start, "2031-02-14");
  cr_assert_eq(p->events[0].from, mn_date_days("2031-02-14"));
  mn_plan_fini(p);
  free(p);
}

Test(plan, a_time_limited_do_not_treat_defers_the_start, .init = setup, .fini = teardown) {
  /* issue 18: the course starts on the first day R29 allows, not today; an earliest_start before
   * today is kept and noted */
  mn_plan_request q = request(0);
  add_region(&q, "forehead", MN_CONCERN_FINE_LINES, MN_SEVERITY_MILD);
  q.constraints.earliest_start[0] = 0;
  snprintf(q.today, sizeof q.today, "2026-12-03");
  snprintf(q.patient.medications[0].name, 64, "isotretinoin");
  q.patient.medications[0].days_ago = 200;
  q.patient.n_medications = 1;
  mn_plan *p = make(&q);
  cr_assert_eq(p->cand.verdict, MN_CAND_DO_NOT_TREAT);
  cr_assert(p->treat, "deferred, not cancelled");
  cr_assert_str_eq(p->allowed_from, "2027-05-18");
  cr_assert_str_eq(p->start, "2027-05-18");
  cr_assert_eq(p->events[0].from, mn_date_days("2027-05-18"));
  cr_assert(strstr(p->note, "2027-05-18, the first day"), "%s", p->note);
  mn_plan_fini(p);
  free(p);
  /* a later earliest_start is kept */
  snprintf(q.constraints.earliest_start, 16, "2027-09-01");
  p = make(&q);
  cr_assert_str_eq(p->start, "2027-09-01");
  mn_plan_fini(p);
  /* a start in the past is warned about */
  q.n_regions = 1, q.patient.n_medications = 0;
  snprintf(q.constraints.earliest_start, 16, "2026-01-05");
  mn_plan *p2 = make(&q);
  cr_assert_str_eq(p2->start, "2026-01-05");
  cr_assert(strstr(p2->note, "earliest_start = 2026-01-05 is before today (2026-12-03)"), "%s",
            p2->note);
  cr_assert_str_eq(p2->allowed_from, "");
  mn_plan_fini(p2);
  free(p2);
  free(p);
}

Test(plan, the_pih_precaution_constrains_the_search, .init = setup, .fini = teardown) {
  /* issue 18: R44 (Fitzpatrick IV-VI) says "conservative depths and passes"; the search keeps
   * the PIH risk's 95th percentile within 5/30 (Dogra 2014) and the plan says what changed. For
   * type 6 the setting the search picks for a 35 % fill of moderate cheek scars exceeds it (with
   * the calibration of 2026-12-07: 1.25 mm x 2, 4 sessions, q95 22 %; 1.50 mm x 1 keeps it at
   * 1.1 %). */
  mn_plan_request q = request(30);
  size_t ns;
  const mn_config_desc *st = mn_sun_param_table(&ns);
  mn_config_defaults(st, ns, &q.sun); /* the patient file's default sun, as `mnsim plan` uses */
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  q.regions[0].goal_pct = 35;
  q.patient.fitzpatrick = 6;
  mn_plan *p = make(&q);
  const mn_plan_region *r = &p->region[0];
  cr_assert(strstr(r->precaution, "R44 changed the protocol"), "%s", r->precaution);
  cr_assert(strstr(p->note, "R44 changed the protocol"), "%s", p->note);
  cr_assert(r->pih_pct[2] <= 100.0 * 5 / 30, "PIH q95 %g", r->pih_pct[2]);
  cr_assert(r->reached);
  double depth = r->depth_mm;
  int passes = r->passes;
  mn_plan_fini(p);
  free(p);
  /* no such precaution below type IV: the search's own setting, another one */
  q.patient.fitzpatrick = 3;
  p = make(&q);
  cr_assert_str_eq(p->region[0].precaution, "");
  cr_assert(p->region[0].depth_mm != depth || p->region[0].passes != passes,
            "the precaution changed nothing: %.2f mm x %d", depth, passes);
  mn_plan_fini(p);
  free(p);
}

Test(plan, calendar_has_every_session_window_and_the_review, .init = setup, .fini = teardown) {
  mn_plan_request q = request(50);
  add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
  mn_plan *p = make(&q);
  mn_patient_file pf;
  memset(&pf, 0, sizeof pf);
  pf.req = q;
  snprintf(pf.file, sizeof pf.file, "t.yaml");
  mn_plan_output out = {&pf, p, "test", 1800000000};
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  mn_error e = {0};
  cr_assert_eq(mn_io_plan_ics(fp, &out, &e), MN_OK, "%s", e.msg);
  fclose(fp);
  icalcomponent *cal = icalparser_parse_string(text);
  cr_assert(cal, "libical reads the file back");
  int n = icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT);
  cr_assert_eq(n, 3 * p->sessions + 1, "%d events for %d sessions", n, p->sessions);
  cr_assert_eq(n, p->n_events, "the file holds the plan's calendar");
  for (int i = 0; i < p->n_events; i++) { /* each window spans the model's days, rounded up */
    const mn_plan_event *ev = &p->events[i];
    cr_assert(ev->to > ev->from);
    if (ev->kind == MN_EVENT_SUN || ev->kind == MN_EVENT_REDNESS)
      cr_assert_eq(ev->to - ev->from, (long)ceil(ev->days) + 1, "%s", ev->summary);
    if (ev->kind == MN_EVENT_SUN)
      cr_assert_geq(ev->days, p->region[0].redness_days[2], "sun outlasts the redness");
  }
  icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
  struct icaltimetype t = icalcomponent_get_dtstart(ev);
  cr_assert_eq(t.year, 2027);
  cr_assert_eq(t.month, 3);
  cr_assert_eq(t.day, 1);
  cr_assert(strstr(text, "6-month review"), "review event");
  cr_assert(strstr(text, "PRODID:-//mnsim//mnsim plan//EN"));
  icalcomponent_free(cal);
  free(text);
  /* plan.json parses and carries the verdict and the regions */
  fp = open_memstream(&text, &len);
  cr_assert_eq(mn_io_plan_json(fp, &out, &e), MN_OK, "%s", e.msg);
  fclose(fp);
  cr_assert(strstr(text, "\"verdict\": \"proceed\""), "%.400s", text);
  cr_assert(strstr(text, "\"region\": \"cheek\""));
  free(text);
  mn_plan_fini(p);
  free(p);
}

/* ---- allocation failures ------------------------------------------------------------------- */

Test(plan, every_allocation_failure_is_clean, .init = setup, .fini = teardown) {
  /* fail each allocation of a small plan in turn (one thread: the same order every time): every
   * failure is MN_ENOMEM and nothing leaks, through mn_plan_make and mn_plan_fini */
  mn_plan_request q = request(2);
  q.threads = 1;
  q.constraints.max_sessions = 2;
  add_region(&q, "periorbital", MN_CONCERN_FINE_LINES, MN_SEVERITY_MILD);
  mn_plan *p = calloc(1, sizeof *p);
  long base = mn_alloc_live(), before = mn_alloc_count();
  mn_error e = {0};
  cr_assert_eq(mn_plan_make(&q, w.atlas, w.cat, &w.ps, w.rules, w.ind, p, &e), MN_OK, "%s", e.msg);
  long total = mn_alloc_count() - before;
  mn_plan_fini(p);
  cr_assert_eq(mn_alloc_live(), base);
  int step = total > 120 ? (int)(total / 120) : 1; /* at most about 120 runs */
  int enomem = 0;
  for (long k = 1; k <= total; k += step) {
    mn_error_clear(&e);
    mn_alloc_fail_at(k);
    int rc = mn_plan_make(&q, w.atlas, w.cat, &w.ps, w.rules, w.ind, p, &e);
    mn_alloc_fail_at(0);
    cr_assert(rc == MN_OK || rc == MN_ENOMEM || rc == MN_EINTERNAL, "k=%ld rc=%d %s", k, rc, e.msg);
    enomem += rc == MN_ENOMEM;
    mn_plan_fini(p);
    cr_assert_eq(mn_alloc_live(), base, "k=%ld leaked %ld blocks", k, mn_alloc_live() - base);
  }
  printf("plan: %ld allocations, every %d-th failed in turn: %d ENOMEM\n", total, step, enomem);
  cr_assert_gt(enomem, 0, "no injected failure was reported");
  free(p);
}

Test(plan, draws_in_stages_give_the_plan_of_every_draw_with_fewer_runs, .init = setup,
     .fini = teardown) {
  /* issue 19: the search's yes-or-no questions stop drawing once the answer is clear (an early
   * "yes" is still checked on every draw). Three regions whose searches ask both kinds: the plan
   * is the same, value for value, as when every question takes all its draws (100 draws: stages
   * of 50 and 100; the perioral search's early "no" answers save about 8 % of the runs) */
  mn_plan_request q = request(100);
  if (!quick()) { /* quick: the perioral region alone, whose search answers "no" early */
    add_region(&q, "cheek", MN_CONCERN_ACNE_SCARS, MN_SEVERITY_MODERATE);
    add_region(&q, "forehead", MN_CONCERN_FINE_LINES, MN_SEVERITY_MILD);
  }
  add_region(&q, "perioral", MN_CONCERN_WRINKLES, MN_SEVERITY_MODERATE);
  q.exact = 1; /* the stages are those of every draw's course (the emulator has its own tests) */
  mn_plan *staged = make(&q);
  q.all_draws = 1;
  mn_plan *all = make(&q);
  printf("lumped runs: %d in stages, %d with every draw\n", staged->evaluations, all->evaluations);
  cr_assert_lt(staged->evaluations, all->evaluations);
  cr_assert_eq(staged->sessions, all->sessions);
  cr_assert_eq(staged->interval_days, all->interval_days);
  for (int i = 0; i < q.n_regions; i++) {
    const mn_plan_region *a = &staged->region[i], *b = &all->region[i];
    cr_assert_eq(a->depth_mm, b->depth_mm, "%s", a->req.region);
    cr_assert_eq(a->passes, b->passes);
    cr_assert_eq(a->sessions, b->sessions);
    cr_assert_eq(a->reached, b->reached);
    cr_assert_eq(a->draws_kept, b->draws_kept);
    cr_assert_eq(a->probability, b->probability, "%s: %.17g against %.17g", a->req.region,
                 a->probability, b->probability);
    cr_assert_eq(a->probability_mcse, b->probability_mcse);
    for (int j = 0; j < 3; j++) {
      cr_assert_eq(a->outcome[j], b->outcome[j]);
      cr_assert_eq(a->pih_pct[j], b->pih_pct[j]);
      cr_assert_eq(a->redness_days[j], b->redness_days[j]);
    }
  }
  mn_plan_fini(staged);
  mn_plan_fini(all);
  free(staged);
  free(all);
}

Test(plan, courses_resumed_from_shorter_ones_give_the_plan_of_courses_from_day_0, .init = setup,
     .fini = teardown) {
  /* issue 19: a course of k sessions starts from the state that a shorter course of its setting,
   * interval and draw held at its next session's day (docs/plan.md "Courses share their
   * beginnings"). The perioral search asks for ever more sessions and the binding count beyond
   * max_sessions: value for value the plan of every course run from day 0, with the same runs */
  mn_plan_request q = request(60);
  add_region(&q, "perioral", MN_CONCERN_WRINKLES, MN_SEVERITY_MODERATE);
  mn_plan *shared = make(&q);
  q.from_day0 = 1;
  mn_plan *fresh = make(&q);
  printf("lumped runs: %d, %d of them resumed; from day 0 %d\n", shared->evaluations,
         shared->resumed, fresh->evaluations);
  cr_assert_gt(shared->resumed, shared->evaluations / 4);
  cr_assert_eq(fresh->resumed, 0);
  cr_assert_eq(shared->evaluations, fresh->evaluations);
  cr_assert_eq(shared->sessions, fresh->sessions);
  cr_assert_eq(shared->interval_days, fresh->interval_days);
  const mn_plan_region *a = &shared->region[0], *b = &fresh->region[0];
  cr_assert_gt(a->sessions, 2, "a search over several session counts (%d)", a->sessions);
  cr_assert_eq(a->depth_mm, b->depth_mm);
  cr_assert_eq(a->sessions, b->sessions);
  cr_assert_eq(a->probability, b->probability, "%.17g against %.17g", a->probability,
               b->probability);
  cr_assert_str_eq(a->binding, b->binding);
  for (int j = 0; j < 3; j++) {
    cr_assert_eq(a->outcome[j], b->outcome[j]);
    cr_assert_eq(a->pih_pct[j], b->pih_pct[j]);
    cr_assert_eq(a->redness_days[j], b->redness_days[j]);
  }
  mn_plan_fini(shared);
  mn_plan_fini(fresh);
  free(shared);
  free(fresh);
}
