/* `mnsim plan`: candidacy screening, the protocol search with uncertainty, the calendar and the
 * plan record for a patient file or for the common fields given as flags. Parses, calls the
 * library (plan, then the report's figure data), and writes and prints the results. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

typedef struct plan_opts {
  cli_opts common;
  int draws, threads, rules, tmpl, no_report, no_histology, exact, from_day0;
  double max_mcse; /* --max-mcse, -1: the file's */
  double spread;   /* --patient-spread, NaN: the file's */
  const char *today;
  mn_patient_file *pf; /* built from the flags, NULL without flags */
  int nflags;
} plan_opts;

static int flag_region(void *o, const char *v);
static int flag_patient(void *o, const char *v, const char *key);
static int flag_age(void *o, const char *v) {
  return flag_patient(o, v, "age_y");
}
static int flag_sex(void *o, const char *v) {
  return flag_patient(o, v, "sex");
}
static int flag_fitzpatrick(void *o, const char *v) {
  return flag_patient(o, v, "fitzpatrick");
}
static int flag_condition(void *o, const char *v);
static int flag_start(void *o, const char *v);
static int flag_max_sessions(void *o, const char *v);

#define PO(f) offsetof(plan_opts, f)
static const cli_option options[] = {
    CLI_OUTPUT(plan_opts, "result directory (default: <patient file name>-plan, or mnsim-plan)"),
    {"draws", 0, CLI_INT, "N", 0, 5000, PO(draws), 0, NULL,
     "parameter draws (default: the file's `draws`, 200)"},
    {"max-mcse", 0, CLI_DOUBLE, "X", 0, 0.1, PO(max_mcse), 0, NULL,
     "largest Monte Carlo s.e. of a probability (default: the file's `max_mcse`, 0.01; 0: the "
     "search's draws only)"},
    {"patient-spread", 0, CLI_DOUBLE, "S", -1, 1.5, PO(spread), 0, NULL,
     "sigma_b of the response between patients (default: the file's `patient_spread`, 0 = the "
     "posterior of data/between_patient.csv; -1: none, the mean patient)"},
    {"exact", 0, CLI_FLAG, NULL, 0, 0, PO(exact), 0, NULL,
     "no emulator: every probability from every draw's own course (slower; docs/plan.md)"},
    {"from-day-0", 0, CLI_FLAG, NULL, 0, 0, PO(from_day0), 0, NULL,
     "run every course from day 0, none from a shorter course's held state (slower, the same "
     "plan: a check; docs/plan.md)"},
    {"threads", 0, CLI_INT, "N", 1, 256, PO(threads), 0, NULL,
     "parallel model runs (default: all cores)"},
    {"today", 0, CLI_STRING, "DATE", 0, 0, PO(today), 0, NULL,
     "the day the plan is made, YYYY-MM-DD (default: the system date)"},
    CLI_JSON(plan_opts, "plan.json on stdout as well"),
    {"no-report", 0, CLI_FLAG, NULL, 0, 0, PO(no_report), 0, NULL, "skip report.html"},
    {"no-histology", 0, CLI_FLAG, NULL, 0, 0, PO(no_histology), 0, NULL,
     "report without the short 3D run of its cross-section"},
    {"rules", 0, CLI_FLAG, NULL, 0, 0, PO(rules), 0, NULL,
     "list the candidacy rules with their sources"},
    {"template", 0, CLI_FLAG, NULL, 0, 0, PO(tmpl), 0, NULL, "print an annotated patient file"},
    {"region", 0, CLI_LIST, "R:C[:S]", 0, 0, 0, 0, flag_region,
     "without a patient file: region, concern, severity (cheek:acne_scars:moderate); repeatable"},
    {"age", 0, CLI_CALL, "Y", 0, 0, 0, 0, flag_age, "patient.age_y"},
    {"sex", 0, CLI_CALL, "S", 0, 0, 0, 0, flag_sex, "patient.sex: female or male"},
    {"fitzpatrick", 0, CLI_CALL, "N", 0, 0, 0, 0, flag_fitzpatrick, "patient.fitzpatrick: 1-6"},
    {"condition", 0, CLI_LIST, "NAME", 0, 0, 0, 0, flag_condition,
     "patient.conditions: one name (mnsim plan --rules); repeatable"},
    {"start", 0, CLI_CALL, "DATE", 0, 0, 0, 0, flag_start, "constraints.earliest_start"},
    {"max-sessions", 0, CLI_CALL, "N", 0, 0, 0, 0, flag_max_sessions, "constraints.max_sessions"},
    CLI_QUIET(plan_opts),
};
#define NOPT (sizeof options / sizeof options[0])

static void help(void) {
  printf(
      "usage: mnsim plan PATIENT.yaml [-o DIR] [--draws N] [--max-mcse X] [--threads N] [--json]\n"
      "                  [-q]\n"
      "       mnsim plan --region REGION:CONCERN[:SEVERITY] ... [--age Y] [--sex S]\n"
      "                  [--fitzpatrick N] [--condition NAME] ... [--start DATE]\n"
      "                  [--max-sessions N] [-o DIR] ...\n"
      "       mnsim plan --rules | --template\n\n"
      "Screen the patient against the candidacy rules (data/candidacy.csv, each with its source),\n"
      "then search needle depth, passes, number of sessions and interval for every region: the\n"
      "fewest sessions and least downtime that reach the goal with the required probability\n"
      "(default 80 %%) over the parameter draws of the lumped model. Writes DIR/plan.json,\n"
      "DIR/plan.ics (sessions, redness and sun-avoidance windows, the 6-month review) and\n"
      "DIR/report.html (printable, with figures and aftercare text for the patient). A goal\n"
      "that no plan within the constraints reaches is an answer: the best reachable plan is\n"
      "shown and says so. The flags --region ... --max-sessions set the patient file's keys\n"
      "named in their help; they are checked as the file's keys are.\n\n"
      "mnsim supports the clinician's decision and does not replace it.\n\n");
  cli_print_options(options, NOPT);
  printf(
      "\nexit status: 0 a plan (including 'do not treat' and unreachable goals), 1 runtime\n"
      "failure, 2 bad usage or bad input.\n");
}

/* ---- the flags: the patient file's keys, set through its descriptor tables ---------------- */

static mn_patient_file *flags_file(plan_opts *o) {
  mn_error e = {0};
  if (!o->pf && mn_patient_file_create("(flags)", &o->pf, &e)) return NULL;
  o->nflags++;
  return o->pf;
}

/* Set key @p key of a table to @p v; the message names the flag and the patient file's key
 * @p path ("--region: regions[0].severity = 'x' is not known ..."), as a usage error. */
static int set_key(plan_opts *o, const mn_config_desc *tab, size_t n, const char *key,
                   const char *v, void *obj, const char *path) {
  mn_error e = {0};
  (void)o;
  if (mn_config_parse(mn_config_find(tab, n, key), v, obj, path, &e))
    return cli_usage_error("plan", "--%s: %s", cli_current_option(), e.msg);
  return 0;
}

static int flag_region(void *opts, const char *v) {
  plan_opts *o = opts;
  mn_patient_file *pf = flags_file(o);
  char r[64] = "", k[64] = "", s[64] = "", path[48];
  if (sscanf(v, "%63[^:]:%63[^:]:%63s", r, k, s) < 2)
    return cli_usage_error("plan", "--region '%s': give REGION:CONCERN[:SEVERITY]", v);
  if (!pf) return cli_usage_error("plan", "out of memory");
  if (pf->req.n_regions == MN_PLAN_MAX_REGIONS)
    return cli_usage_error("plan", "at most %d --region flags", MN_PLAN_MAX_REGIONS);
  size_t n;
  const mn_config_desc *tab = mn_plan_region_param_table(&n);
  int i = pf->req.n_regions, rc;
  mn_plan_region_req *q = &pf->req.regions[i];
  mn_config_defaults(tab, n, q);
  const char *keys[3] = {"region", "concern", "severity"}, *vals[3] = {r, k, s};
  for (int j = 0; j < 3; j++) {
    if (!vals[j][0]) continue;
    snprintf(path, sizeof path, "regions[%d].%s", i, keys[j]);
    if ((rc = set_key(o, tab, n, keys[j], vals[j], q, path))) return rc;
  }
  pf->req.n_regions++;
  return 0;
}

static int flag_patient(void *opts, const char *v, const char *key) {
  plan_opts *o = opts;
  mn_patient_file *pf = flags_file(o);
  if (!pf) return cli_usage_error("plan", "out of memory");
  size_t n;
  const mn_config_desc *tab = mn_plan_patient_param_table(&n);
  char path[48];
  snprintf(path, sizeof path, "patient.%s", key);
  return set_key(o, tab, n, key, v, &pf->req.patient, path);
}

static int flag_condition(void *opts, const char *v) {
  mn_patient_file *pf = flags_file(opts);
  if (!pf) return cli_usage_error("plan", "out of memory");
  mn_plan_patient *p = &pf->req.patient;
  if (p->n_conditions == MN_PLAN_MAX_ITEMS || strlen(v) >= sizeof p->conditions[0] || !*v)
    return cli_usage_error("plan", "--condition '%s': one name, at most %d conditions", v,
                           MN_PLAN_MAX_ITEMS);
  snprintf(p->conditions[p->n_conditions++], sizeof p->conditions[0], "%s", v);
  return 0;
}

static int flag_constraint(void *opts, const char *v, const char *key) {
  plan_opts *o = opts;
  mn_patient_file *pf = flags_file(o);
  if (!pf) return cli_usage_error("plan", "out of memory");
  size_t n;
  const mn_config_desc *tab = mn_plan_constraints_param_table(&n);
  char path[48];
  snprintf(path, sizeof path, "constraints.%s", key);
  return set_key(o, tab, n, key, v, &pf->req.constraints, path);
}
static int flag_start(void *o, const char *v) {
  return flag_constraint(o, v, "earliest_start");
}
static int flag_max_sessions(void *o, const char *v) {
  return flag_constraint(o, v, "max_sessions");
}

/* ---- listings ------------------------------------------------------------------------------ */

static int print_rules(void) {
  mn_candidacy_rules *r = NULL;
  mn_error e = {0};
  if (mn_candidacy_rules_create(&r, &e)) return cli_fail(NULL, &e);
  /* fitted to the output's width; names and sources wrap, nothing is cut */
  cli_col cols[] = {{"id", 4, 4},        {"kind", 10, 10},   {"name", 26, 12}, {"within", 6, 6},
                    {"verdict", 12, 12}, {"evidence", 8, 8}, {"source", 0, 20}};
  const int nc = (int)(sizeof cols / sizeof cols[0]);
  cli_table_fit(cols, nc, cli_term_width());
  const char *head[7];
  for (int j = 0; j < nc; j++) head[j] = cols[j].head;
  cli_table_row(cols, nc, head);
  int n = mn_candidacy_rules_count(r);
  for (int i = 0; i < n; i++) {
    const mn_candidacy_rule *u = mn_candidacy_rules_get(r, i);
    char w[16] = "-";
    if (u->within_days >= 0) snprintf(w, sizeof w, "%gd", u->within_days);
    const char *cells[7] = {u->id,
                            mn_rule_kind_name(u->kind),
                            u->name,
                            w,
                            mn_candidacy_verdict_name(u->verdict),
                            u->evidence,
                            u->source};
    cli_table_row(cols, nc, cells);
  }
  printf("\n%d rules (data/candidacy.csv); aliases are accepted for every name.\n", n);
  mn_candidacy_rules_destroy(r);
  return EXIT_OK;
}

static int print_template(void) {
  printf(
      "# mnsim patient file (`mnsim plan FILE`). Every key is optional except regions.\n"
      "description: example patient\n"
      "device: pen-12            # the pen (mnsim device --list)\n"
      "draws: 200                # parameter draws for the uncertainty\n"
      "seed: 1\n"
      "max_mcse: 0.01            # most Monte Carlo error of a probability (0.01 = 1 point)\n"
      "patient:\n"
      "  age_y: 38\n"
      "  sex: female             # female | male\n"
      "  fitzpatrick: 3          # 1-6\n"
      "  conditions: []          # e.g. [herpes_history]; mnsim plan --rules lists them\n"
      "  medications: []         # e.g. [{name: isotretinoin, days_ago: 400}]; 0 = taking now\n"
      "  procedures: []          # e.g. [{name: chemical_peel, days_ago: 30}]\n"
      "sun:                      # the patient's sun after the sessions (PIH risk)\n"
      "  uvi: 5                  # UV index around noon (0 = no sun; 3 moderate, 6 high)\n"
      "  outdoor_hours: 1        # hours outdoors per day around noon\n"
      "  adherence: 0.9          # share of that time protected (shade, hat, sunscreen)\n"
      "  protection_factor: 10   # dose divisor while protected\n"
      "regions:                  # one entry per region and concern\n"
      "  - region: cheek         # mnsim skin --list\n"
      "    concern: acne_scars   # fine_lines | wrinkles | acne_scars | texture | uneven_tone\n"
      "    severity: moderate    # mild | moderate | severe\n"
      "    scar_type: rolling    # acne scars: icepick | boxcar | rolling\n"
      "    defect_mm: 0          # depth of the scar or wrinkle; 0 = default for the severity\n"
      "    residual_mm: 0        # depth to reach; 0 = default (Goodman-Baron mild, Lemperle 1)\n"
      "    goal_pct: 0           # share of the depth to fill; 0 = from residual_mm\n"
      "constraints:\n"
      "  max_sessions: 6\n"
      "  max_downtime_days: 7    # visible redness tolerated per session (median)\n"
      "  min_interval_weeks: 4\n"
      "  max_interval_weeks: 12\n"
      "  earliest_start: \"\"      # YYYY-MM-DD; empty = today\n"
      "  finish_by: \"\"           # YYYY-MM-DD of the last session; empty = no limit\n"
      "  probability: 0.8        # required probability of reaching the goal\n");
  return EXIT_OK;
}

static void band_text(char *buf, size_t n, const double q[3], const char *unit) {
  snprintf(buf, n, "%.1f%s [%.1f, %.1f]", q[1], unit, q[0], q[2]);
}

/* The screening's lines of the summary: the verdict, each rule that applied, each name no rule
 * knows. */
static void print_candidacy(const mn_plan *p) {
  const mn_candidacy *c = &p->cand;
  if (c->verdict == MN_CAND_PROCEED)
    printf("  candidacy  proceed (no rule applies)\n");
  else if (p->allowed_from[0])
    printf("  candidacy  %s until %s (time-limited), then %s\n",
           mn_candidacy_verdict_name(c->verdict), p->allowed_from,
           mn_candidacy_verdict_name(c->verdict_later));
  else
    printf("  candidacy  %s\n", mn_candidacy_verdict_name(c->verdict));
  for (int i = 0; i < c->n; i++) {
    const mn_candidacy_rule *r = c->match[i];
    printf("    %-12s %s [%s, evidence %s]: %s\n", mn_candidacy_verdict_name(r->verdict),
           c->detail[i], r->id, r->evidence, r->reason);
    if (r->precaution[0]) printf("                 precaution: %s\n", r->precaution);
  }
  for (int i = 0; i < c->n_unruled; i++) {
    const mn_candidacy_unruled *u = &c->unruled[i];
    printf("    %-12s %s: %s: no rule in mnsim: check at consultation", "check",
           mn_rule_kind_name(u->kind), u->name);
    if (u->nearest[0]) printf(" (a typo of '%s'? `mnsim plan --rules`)", u->nearest);
    if (u->held)
      printf(
          "; held at refer until a clinician confirms the name ('%s' has a refer or "
          "do-not-treat rule)",
          u->nearest);
    printf("\n");
  }
}

/* One region's lines of the summary: the setting, the goal with its probability, the side
 * effects. */
static void print_region(const mn_plan_region *r) {
  char b1[64], b3[64];
  printf("  %-10s %s %s: %.2f mm, %d pass%s (%.0f/cm2), %d session%s\n", r->skin.region,
         mn_severity_name(r->req.severity), mn_concern_name(r->req.concern), r->depth_mm, r->passes,
         r->passes == 1 ? "" : "es", r->density_cm2, r->sessions, r->sessions == 1 ? "" : "s");
  if (r->quantity == MN_GOAL_NONE)
    printf("             goal: none modelled (no model of pigment clearance): clinic protocol\n");
  else {
    band_text(b1, sizeof b1, r->outcome, " %");
    char depth[80] = "";
    if (r->quantity == MN_GOAL_FILL)
      snprintf(depth, sizeof depth, " of the %.2f mm depth (to %.2f mm)", r->defect_mm,
               r->defect_mm * (1 - r->goal_pct / 100));
    char draws[64];
    if (r->draws_exact < r->draws_kept)
      snprintf(draws, sizeof draws, "%d draws, %d run, the rest emulated", r->draws_kept - 1,
               r->draws_exact - 1);
    else
      snprintf(draws, sizeof draws, "%d draws", r->draws_kept - 1);
    printf(
        "             goal %s >= %.0f %%%s: %s at the review, probability %.0f %% for a "
        "patient (+/- %.1f, Monte Carlo s.e., %s; the mean patient's %.0f %% +/- %.1f) %s\n",
        r->quantity == MN_GOAL_FILL ? "fill" : "papillary collagen", r->goal_pct,
        r->quantity == MN_GOAL_FILL ? depth : " gain", b1, 100 * r->probability,
        100 * r->probability_mcse, draws, 100 * r->probability_population,
        100 * r->probability_population_mcse,
        r->reached ? "(reached)" : "(NOT reached within the constraints: best plan shown)");
  }
  band_text(b1, sizeof b1, r->redness_days, " d");
  band_text(b3, sizeof b3, r->pih_pct, " %");
  printf(
      "             redness %s per session; sun avoidance %.0f days after each session; "
      "PIH risk %s (three trials: wide)\n",
      b1, r->sun_window_days, b3);
  if (r->precaution[0]) printf("             precaution %s\n", r->precaution);
  if (r->binding[0]) printf("             binding    %s\n", r->binding);
}

static void print_summary(const mn_patient_file *pf, const mn_plan *p, const char *dir, double secs,
                          int report) {
  const mn_plan_request *q = &pf->req;
  printf("mnsim plan: %s%s%s\n", pf->file, pf->description[0] ? " - " : "", pf->description);
  printf("  patient    %g years, %s, Fitzpatrick %s\n", q->patient.age_y,
         q->patient.sex ? "male" : "female", mn_fitzpatrick_name(q->patient.fitzpatrick));
  print_candidacy(p);
  if (!p->treat)
    printf(
        "  => no treatment plan is scheduled: the screening says %s. The protocol below is "
        "what the model would suggest once cleared.\n",
        mn_candidacy_verdict_name(p->cand.verdict));
  char d0[16], rv[16];
  long start = mn_date_days(p->start);
  mn_date_format(start + (long)llround(p->review_day), rv);
  printf("  course     %d session%s, every %g weeks, from %s%s; review %s\n", p->sessions,
         p->sessions == 1 ? "" : "s", p->interval_days / 7, p->start,
         p->allowed_from[0] && !strcmp(p->allowed_from, p->start)
             ? " (the first day the candidacy rules allow)"
             : "",
         rv);
  if (p->interval_reason[0]) printf("  interval   %s\n", p->interval_reason);
  printf("  dates     ");
  for (int s = 0; s < p->sessions; s++) {
    mn_date_format(start + (long)llround(p->session_day[s]), d0);
    printf(" %s", d0);
  }
  printf("\n");
  for (int i = 0; i < p->n_regions; i++) print_region(&p->region[i]);
  if (p->note[0]) printf("  note       %s\n", p->note);
  printf(
      "  evidence   up to %d posterior draws of the parameters, %d lumped runs (%d from a shorter\n"
      "             course's held state) in %.2f s; depths, defect depths and goals from\n"
      "             data/indications.csv (sources there); sun avoidance: %s\n",
      p->draws_used, p->evaluations, p->resumed, secs, MN_PLAN_SUN_RULE);
  if (p->spread_q[1] > 0)
    printf(
        "             patients: each responds as the mean times a factor of spread sigma_b "
        "%.2f [%.2f, %.2f] (%s)\n",
        p->spread_q[1], p->spread_q[0], p->spread_q[2], p->spread_label);
  else
    printf("             patients: every one taken to respond as the mean (patient_spread -1)\n");
  printf("  outputs    %s/plan.json plan.ics%s\n", dir, report ? " report.html" : "");
  printf("  mnsim supports the clinician's decision and does not replace it.\n");
}

/* ---- the run ------------------------------------------------------------------------------ */

/* Everything the plan needs and makes; freed by run_fini. */
typedef struct run {
  mn_patient_file *pf;
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_param_set *ps;
  mn_candidacy_rules *rules;
  mn_indications *ind;
  mn_plan plan;
  mn_plan_figures figs;
  char dir[4096], today[16], cmdline[1024];
  double secs;
  long long created; /* unix seconds: SOURCE_DATE_EPOCH or the clock */
} run;

static void run_fini(run *r) {
  mn_plan_figures_fini(&r->figs);
  mn_plan_fini(&r->plan);
  mn_indications_destroy(r->ind);
  mn_candidacy_rules_destroy(r->rules);
  mn_free(r->ps);
  mn_device_catalogue_destroy(r->cat);
  mn_skin_atlas_destroy(r->atlas);
  mn_patient_file_destroy(r->pf);
}

/* The day the plan is made: --today, or the system's date in local time. */
static int today(const plan_opts *o, char out[16]) {
  if (o->today) {
    if (mn_date_days(o->today) < 0)
      return cli_usage_error("plan", "--today '%s' must be a date YYYY-MM-DD", o->today);
    snprintf(out, 16, "%s", o->today);
    return -1;
  }
  time_t now = time(NULL);
  struct tm tmv;
  localtime_r(&now, &tmv);
  strftime(out, 16, "%Y-%m-%d", &tmv);
  return -1;
}

/* The flag that set the patient file's key @p key (a request built from flags has no file to
 * point at), or NULL. */
static const char *flag_of_key(const char *key) {
  static const char *const map[][2] = {{"constraints.earliest_start", "start"},
                                       {"constraints.max_sessions", "max-sessions"},
                                       {"patient.age_y", "age"},
                                       {"patient.sex", "sex"},
                                       {"patient.fitzpatrick", "fitzpatrick"},
                                       {"patient.conditions", "condition"},
                                       {"regions", "region"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strncmp(key, map[i][0], strlen(map[i][0]))) return map[i][1];
  return NULL;
}

/* Read (or take) the request, load the tables, screen and search. */
static int make(run *r, plan_opts *o, const char *path, mn_error *err) {
  int rc = MN_OK;
  if (o->pf) {
    r->pf = o->pf, o->pf = NULL;
    rc = mn_plan_request_check(&r->pf->req, err);
    const char *flag = rc ? flag_of_key(err->key) : NULL;
    if (flag) { /* name the flag: "--start: constraints.earliest_start = ..." */
      char msg[sizeof err->msg];
      snprintf(msg, sizeof msg, "%s", err->msg);
      snprintf(err->msg, sizeof err->msg, "--%s: %.*s", flag, (int)sizeof err->msg - 16, msg);
    }
    if (rc) goto cleanup;
  } else {
    MN_TRY(mn_patient_file_read(path, &r->pf, err));
  }
  mn_plan_request *q = &r->pf->req;
  if (o->draws >= 0) q->draws = o->draws;
  if (o->max_mcse >= 0) q->max_mcse = o->max_mcse;
  if (!isnan(o->spread)) q->patient_spread = o->spread;
  q->threads = o->threads;
  q->exact = o->exact;
  q->from_day0 = o->from_day0;
  snprintf(q->today, sizeof q->today, "%s", r->today);
  r->ps = mn_malloc(sizeof *r->ps);
  MN_CHECK(r->ps, err, MN_ENOMEM, "", "out of memory");
  MN_TRY(mn_skin_atlas_create(&r->atlas, err));
  MN_TRY(mn_device_catalogue_create(&r->cat, err));
  MN_TRY(mn_param_set_load_default(r->ps, err));
  MN_TRY(mn_candidacy_rules_create(&r->rules, err));
  MN_TRY(mn_indications_create(&r->ind, err));
  rc = mn_plan_make(q, r->atlas, r->cat, r->ps, r->rules, r->ind, &r->plan, err);
  if (rc && err->key[0]) mn_patient_file_locate(r->pf, err);
cleanup:
  return rc;
}

/* The files' creation time: SOURCE_DATE_EPOCH when set (reproducible files), else the clock.
 * A value that is not whole seconds from 1970 up to 9999-12-31 (the calendar's DTSTAMP) is a
 * usage error, found before any work. @return -1 to go on, or the exit code. */
static int created_time(long long *out) {
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  long v;
  *out = (long long)time(NULL);
  if (!sde) return -1;
  if (mn_parse_long(sde, &v) || v < 0 || v > 253402300799L ||
      strspn(sde, "0123456789") != strlen(sde))
    return cli_usage_error("plan",
                           "SOURCE_DATE_EPOCH='%s' must be whole seconds since 1970-01-01 in [0, "
                           "253402300799]",
                           sde);
  *out = v;
  return -1;
}

/* plan.json, plan.ics and (unless --no-report) report.html, all or none. */
static int write(run *r, const plan_opts *o, mn_error *err) {
  int rc = MN_OK, report = !o->no_report;
  mn_plan_output out = {r->pf, &r->plan, r->cmdline, r->created};
  mn_plan_report rep = {&out, &r->figs, ""};
  snprintf(rep.today, sizeof rep.today, "%s", r->today);
  if (report)
    MN_TRY(mn_plan_figures_make(&r->plan, &r->pf->req, r->cat, r->ps, !o->no_histology, &r->figs,
                                err));
  mn_out_item items[3] = {
      {"", mn_io_plan_json, &out}, {"", mn_io_plan_ics, &out}, {"", mn_report_plan_html, &rep}};
  static const char *const names[3] = {"plan.json", "plan.ics", "report.html"};
  for (int i = 0; i < 3; i++)
    snprintf(items[i].path, sizeof items[i].path, "%s/%s", r->dir, names[i]);
  MN_TRY(mn_mkdir_p(r->dir, err));
  MN_TRY(mn_io_write_set(items, report ? 3 : 2, err));
  if (o->common.json) rc = mn_io_plan_json(stdout, &out, err);
cleanup:
  return rc;
}

static void output_dir(const plan_opts *o, const char *path, char *dir, size_t n) {
  if (o->common.outdir) {
    snprintf(dir, n, "%s", o->common.outdir);
  } else if (o->nflags) {
    snprintf(dir, n, "mnsim-plan");
  } else {
    char stem[256];
    cli_stem(path, stem, sizeof stem);
    snprintf(dir, n, "%s-plan", stem);
  }
}

static int plan_main(plan_opts *o, int argc, char **argv, int first) {
  if (o->rules) return print_rules();
  if (o->tmpl) return print_template();
  if (o->nflags > 0 && first != argc)
    return cli_usage_error("plan", "give a patient file or the flags, not both");
  if (o->nflags > 0 && o->pf->req.n_regions == 0)
    return cli_usage_error("plan", "--region REGION:CONCERN[:SEVERITY] is required with flags");
  if (o->nflags == 0 && first != argc - 1)
    return cli_usage_error("plan", first >= argc ? "a patient file is required"
                                                 : "exactly one patient file is expected");
  run r;
  memset(&r, 0, sizeof r);
  int code = today(o, r.today);
  if (code >= 0) return code;
  if ((code = created_time(&r.created)) >= 0) return code;
  const char *path = o->nflags ? NULL : argv[first];
  output_dir(o, path, r.dir, sizeof r.dir);
  snprintf(r.cmdline, sizeof r.cmdline, "mnsim");
  for (int i = 0; i < argc; i++) {
    size_t len = strlen(r.cmdline);
    snprintf(r.cmdline + len, sizeof r.cmdline - len, " %s", argv[i]);
  }
  mn_error err = {0};
  double t0 = mn_wall_time();
  int rc = make(&r, o, path, &err);
  r.secs = mn_wall_time() - t0;
  if (!rc) rc = write(&r, o, &err);
  if (!rc && !o->common.quiet && !o->common.json)
    print_summary(r.pf, &r.plan, r.dir, r.secs, !o->no_report);
  code = rc ? cli_fail(&o->common, &err) : EXIT_OK;
  run_fini(&r);
  return code;
}

int cmd_plan(int argc, char **argv) {
  plan_opts o;
  memset(&o, 0, sizeof o);
  o.draws = -1, o.max_mcse = -1, o.spread = NAN;
  int first = 0, code = cli_parse("plan", options, NOPT, help, argc, argv, &o, &o.common, &first);
  if (code < 0) code = plan_main(&o, argc, argv, first);
  mn_patient_file_destroy(o.pf);
  return code;
}
