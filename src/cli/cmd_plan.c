/* `mnsim plan`: candidacy screening, the protocol search with uncertainty, the calendar and the
 * plan record for a patient file (issue 5). */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void help(void) {
  printf(
      "usage: mnsim plan PATIENT.yaml [-o DIR] [--draws N] [--threads N] [--json] [-q]\n"
      "       mnsim plan --region REGION:CONCERN[:SEVERITY] ... [--age Y] [--sex S]\n"
      "                  [--fitzpatrick N] [--condition NAME] ... [--start DATE]\n"
      "                  [--max-sessions N] [-o DIR] ...\n"
      "       mnsim plan --rules | --template\n\n"
      "Screen the patient against the candidacy rules (data/candidacy.csv, each with its source),\n"
      "then search needle depth, passes, number of sessions and interval for every region: the\n"
      "fewest sessions and least downtime that reach the goal with the required probability\n"
      "(default 80 %%) over the parameter draws of the lumped model. Writes DIR/plan.json,\n"
      "DIR/plan.ics (sessions, redness and sun-avoidance windows, the 6-month review) and\n"
      "DIR/report.html (printable, with figures and aftercare text for the patient); DIR\n"
      "defaults to <patient file name>-plan. A goal that no plan within the constraints reaches\n"
      "is an answer: the best reachable plan is shown and says so.\n\n"
      "mnsim supports the clinician's decision and does not replace it.\n\n"
      "options:\n"
      "  -o DIR             result directory\n"
      "      --draws N      parameter draws (default: the file's `draws`, 200)\n"
      "      --threads N    parallel model runs (default: all cores)\n"
      "      --json         plan.json on stdout as well\n"
      "  without a patient file, the common fields as flags (each --region adds one):\n"
      "      --region R:C[:S]  region, concern, severity (e.g. cheek:acne_scars:moderate)\n"
      "      --age Y, --sex female|male, --fitzpatrick 1-6, --condition NAME (repeatable),\n"
      "      --start YYYY-MM-DD, --max-sessions N   (results in ./mnsim-plan unless -o)\n"
      "      --no-report    skip report.html;  --no-histology  report without the 3D run\n"
      "      --rules        list the candidacy rules with their sources\n"
      "      --template     print an annotated patient file\n"
      "  -q, --quiet        errors only;  -h, --help  this text\n\n"
      "exit status: 0 a plan (including 'do not treat' and unreachable goals), 1 runtime\n"
      "failure, 2 bad usage or bad input.\n");
}

static void print_rules(void) {
  mn_candidacy_rules *r = mn_malloc(sizeof *r);
  mn_error e = {0};
  if (!r || mn_candidacy_rules_load(r, &e)) {
    fprintf(stderr, "mnsim: %s\n", r ? e.msg : "out of memory");
    mn_free(r);
    return;
  }
  static const char *const kinds[] = {"condition", "medication", "procedure", "patient"};
  printf("%-4s %-11s %-30s %-8s %-12s %-8s %s\n", "id", "kind", "name", "within", "verdict",
         "evidence", "source");
  for (int i = 0; i < r->n; i++) {
    const mn_candidacy_rule *u = &r->rule[i];
    char w[16] = "-";
    if (u->within_days >= 0) snprintf(w, sizeof w, "%gd", u->within_days);
    printf("%-4s %-11s %-30s %-8s %-12s %-8s %.70s\n", u->id, kinds[u->kind], u->name, w,
           mn_candidacy_verdict_name(u->verdict), u->evidence, u->source);
  }
  printf("\n%d rules (data/candidacy.csv); aliases are accepted for every name.\n", r->n);
  mn_free(r);
}

static void print_template(void) {
  printf(
      "# mnsim patient file (`mnsim plan FILE`). Every key is optional except regions.\n"
      "description: example patient\n"
      "device: pen-12            # the pen (mnsim device --list)\n"
      "draws: 200                # parameter draws for the uncertainty\n"
      "seed: 1\n"
      "patient:\n"
      "  age_y: 38\n"
      "  sex: female             # female | male\n"
      "  fitzpatrick: 3          # 1-6\n"
      "  conditions: []          # e.g. [herpes_history]; mnsim plan --rules lists them\n"
      "  medications: []         # e.g. [{name: isotretinoin, days_ago: 400}]; 0 = taking now\n"
      "  procedures: []          # e.g. [{name: chemical_peel, days_ago: 30}]\n"
      "regions:                  # one entry per region and concern\n"
      "  - region: cheek         # mnsim skin --list\n"
      "    concern: acne_scars   # fine_lines | wrinkles | acne_scars | texture | uneven_tone\n"
      "    severity: moderate    # mild | moderate | severe\n"
      "    scar_type: rolling    # acne scars: icepick | boxcar | rolling\n"
      "    defect_mm: 0          # depth of the scar or wrinkle; 0 = default for the severity\n"
      "    goal_pct: 0           # target improvement; 0 = default (data/indications.csv)\n"
      "constraints:\n"
      "  max_sessions: 6\n"
      "  max_downtime_days: 7    # visible redness tolerated per session (median)\n"
      "  min_interval_weeks: 4\n"
      "  max_interval_weeks: 12\n"
      "  earliest_start: \"\"      # YYYY-MM-DD; empty = today\n"
      "  finish_by: \"\"           # YYYY-MM-DD of the last session; empty = no limit\n"
      "  probability: 0.8        # required probability of reaching the goal\n");
}

static void band_text(char *buf, size_t n, const double q[3], const char *unit) {
  snprintf(buf, n, "%.1f%s [%.1f, %.1f]", q[1], unit, q[0], q[2]);
}

static void print_summary(const mn_patient_file *pf, const mn_plan *p, const char *dir, double secs,
                          int report) {
  const mn_plan_request *q = &pf->req;
  printf("mnsim plan: %s%s%s\n", pf->file, pf->description[0] ? " - " : "", pf->description);
  printf("  patient    %g years, %s, Fitzpatrick %s\n", q->patient.age_y,
         q->patient.sex ? "male" : "female", mn_fitzpatrick_name(q->patient.fitzpatrick));
  printf("  candidacy  %s\n", p->cand.verdict == MN_CAND_PROCEED
                                  ? "proceed (no rule applies)"
                                  : mn_candidacy_verdict_name(p->cand.verdict));
  for (int i = 0; i < p->cand.n; i++) {
    const mn_candidacy_rule *r = p->cand.match[i];
    printf("    %-12s %s [%s, evidence %s]: %s\n", mn_candidacy_verdict_name(r->verdict),
           p->cand.detail[i], r->id, r->evidence, r->reason);
    if (r->precaution[0]) printf("                 precaution: %s\n", r->precaution);
  }
  if (!p->treat)
    printf(
        "  => no treatment plan is scheduled: the screening says %s. The protocol below is "
        "what the model would suggest once cleared.\n",
        mn_candidacy_verdict_name(p->cand.verdict));
  char d0[16], rv[16];
  long start = mn_date_days(p->start);
  mn_date_format(start + (long)llround(p->review_day), rv);
  printf("  course     %d session%s, every %g weeks, from %s; review %s\n", p->sessions,
         p->sessions == 1 ? "" : "s", p->interval_days / 7, p->start, rv);
  printf("  dates     ");
  for (int s = 0; s < p->sessions; s++) {
    mn_date_format(start + (long)llround(p->session_day[s]), d0);
    printf(" %s", d0);
  }
  printf("\n");
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    char b1[64], b2[64], b3[64];
    printf("  %-11s%s %s: %.2f mm, %d pass%s (%.0f/cm2), %d session%s\n", r->skin.region,
           mn_severity_name(r->req.severity), mn_concern_name(r->req.concern), r->depth_mm,
           r->passes, r->passes == 1 ? "" : "es", r->density_cm2, r->sessions,
           r->sessions == 1 ? "" : "s");
    if (r->quantity == MN_GOAL_NONE)
      printf("             goal: none modelled (no model of pigment clearance): clinic protocol\n");
    else {
      band_text(b1, sizeof b1, r->outcome, " %");
      printf("             goal %s >= %.0f %%%s: %s at the review, probability %.0f %% %s\n",
             r->quantity == MN_GOAL_FILL ? "fill" : "papillary collagen", r->goal_pct,
             r->quantity == MN_GOAL_FILL ? "" : " gain", b1, 100 * r->probability,
             r->reached ? "(reached)" : "(NOT reached within the constraints: best plan shown)");
    }
    band_text(b1, sizeof b1, r->redness_days, " d");
    band_text(b2, sizeof b2, r->sun_days, " d");
    band_text(b3, sizeof b3, r->pih_pct, " %");
    printf("             redness %s per session; sun avoidance %s; PIH risk %s (uncalibrated)\n",
           b1, b2, b3);
  }
  if (p->note[0]) printf("  note       %s\n", p->note);
  printf(
      "  evidence   %d posterior draws of the parameters, %d lumped runs in %.2f s; depths,\n"
      "             defect depths and goals from data/indications.csv (sources there)\n",
      p->draws_used, p->evaluations, secs);
  printf("  outputs    %s/plan.json plan.ics%s\n", dir, report ? " report.html" : "");
  printf("  mnsim supports the clinician's decision and does not replace it.\n");
}

int cmd_plan(int argc, char **argv) {
  static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                           {"draws", required_argument, 0, 'd'},
                                           {"threads", required_argument, 0, 't'},
                                           {"json", no_argument, 0, 'j'},
                                           {"rules", no_argument, 0, 'R'},
                                           {"template", no_argument, 0, 'T'},
                                           {"no-report", no_argument, 0, 'N'},
                                           {"no-histology", no_argument, 0, 'H'},
                                           {"quiet", no_argument, 0, 'q'},
                                           {"verbose", no_argument, 0, 'v'},
                                           {"region", required_argument, 0, 1},
                                           {"age", required_argument, 0, 2},
                                           {"sex", required_argument, 0, 3},
                                           {"fitzpatrick", required_argument, 0, 4},
                                           {"condition", required_argument, 0, 5},
                                           {"start", required_argument, 0, 6},
                                           {"max-sessions", required_argument, 0, 7},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  cli_opts o = {0};
  int c, draws = -1, threads = 0, report = 1, histology = 1, nflags = 0;
  /* the flags become a patient file's text, read by the same parser and checks */
  static char patient[2048], regions[2048], conditions[1024], constraints[256];
  patient[0] = regions[0] = conditions[0] = constraints[0] = 0;
  long n;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:qvh", longopts, NULL)) != -1) {
    if (cli_common_option(c, optarg, &o)) continue;
    switch (c) {
      case 'h':
        help();
        return EXIT_OK;
      case 'R':
        print_rules();
        return EXIT_OK;
      case 'T':
        print_template();
        return EXIT_OK;
      case 'N':
        report = 0;
        break;
      case 'H':
        histology = 0;
        break;
      case 'd':
        if (mn_parse_long(optarg, &n) || n < 0 || n > 5000)
          return cli_usage_error("plan", "--draws '%s' must be an integer in [0, 5000]", optarg);
        draws = (int)n;
        break;
      case 't':
        if (mn_parse_long(optarg, &n) || n < 1 || n > 256)
          return cli_usage_error("plan", "--threads '%s' must be an integer in [1, 256]", optarg);
        threads = (int)n;
        break;
      case 1: { /* region:concern[:severity] */
        char r[64] = "", k[64] = "", v[64] = "";
        if (sscanf(optarg, "%63[^:]:%63[^:]:%63s", r, k, v) < 2 || strchr(optarg, '\n'))
          return cli_usage_error("plan", "--region '%s': give REGION:CONCERN[:SEVERITY]", optarg);
        size_t len = strlen(regions);
        snprintf(regions + len, sizeof regions - len, "  - {region: '%s', concern: '%s'%s%s%s}\n",
                 r, k, *v ? ", severity: '" : "", v, *v ? "'" : "");
        nflags++;
        break;
      }
      case 2:
      case 3:
      case 4: {
        static const char *const keys[] = {"age_y", "sex", "fitzpatrick"};
        if (strchr(optarg, '\n') || strchr(optarg, '\''))
          return cli_usage_error("plan", "bad value '%s'", optarg);
        size_t len = strlen(patient);
        snprintf(patient + len, sizeof patient - len, "  %s: %s\n", keys[c - 2], optarg);
        nflags++;
        break;
      }
      case 5: {
        if (strchr(optarg, '\n') || strchr(optarg, '\'') || strchr(optarg, ','))
          return cli_usage_error("plan", "--condition '%s': one name", optarg);
        size_t len = strlen(conditions);
        snprintf(conditions + len, sizeof conditions - len, "%s'%s'", len ? ", " : "", optarg);
        nflags++;
        break;
      }
      case 6:
      case 7: {
        if (strchr(optarg, '\n') || strchr(optarg, '\''))
          return cli_usage_error("plan", "bad value '%s'", optarg);
        size_t len = strlen(constraints);
        snprintf(constraints + len, sizeof constraints - len, "  %s: '%s'\n",
                 c == 6 ? "earliest_start" : "max_sessions", optarg);
        nflags++;
        break;
      }
      case ':':
        return cli_usage_error("plan", "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error("plan", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (nflags > 0 && optind != argc)
    return cli_usage_error("plan", "give a patient file or the flags, not both");
  if (nflags > 0 && !regions[0])
    return cli_usage_error("plan", "--region REGION:CONCERN[:SEVERITY] is required with flags");
  if (nflags == 0 && optind != argc - 1)
    return cli_usage_error("plan", optind >= argc ? "a patient file is required"
                                                  : "exactly one patient file is expected");
  cli_log_setup(&o);
  const char *path = nflags ? "flags" : argv[optind];
  static char flagfile[6144];
  if (nflags) {
    int k = snprintf(flagfile, sizeof flagfile, "%s%s%s%s%sregions:\n%s%s%s",
                     patient[0] || conditions[0] ? "patient:\n" : "", patient,
                     conditions[0] ? "  conditions: [" : "", conditions, conditions[0] ? "]\n" : "",
                     regions, constraints[0] ? "constraints:\n" : "", constraints);
    if (k >= (int)sizeof flagfile) return cli_usage_error("plan", "too many flags");
  }
  char dir[4096];
  if (o.outdir)
    snprintf(dir, sizeof dir, "%s", o.outdir);
  else if (nflags)
    snprintf(dir, sizeof dir, "mnsim-plan");
  else {
    char stem[256];
    cli_stem(path, stem, sizeof stem);
    snprintf(dir, sizeof dir, "%s-plan", stem);
  }
  mn_error err = {0};
  mn_patient_file *pf = NULL;
  mn_skin_atlas *atlas = NULL;
  mn_device_catalogue *cat = NULL;
  mn_param_set *ps = mn_malloc(sizeof *ps);
  mn_candidacy_rules *rules = mn_malloc(sizeof *rules);
  mn_indications *ind = mn_malloc(sizeof *ind);
  mn_plan *plan = mn_malloc(sizeof *plan);
  int rc = ps && rules && ind && plan ? MN_OK : MN_ERR(&err, MN_ENOMEM, "", "out of memory");
  double t0 = mn_wall_time();
  if (!rc)
    rc = nflags ? mn_patient_file_parse(flagfile, strlen(flagfile), "(flags)", &pf, &err)
                : mn_patient_file_read(path, &pf, &err);
  if (!rc) {
    if (draws >= 0) pf->req.draws = draws;
    pf->req.threads = threads;
    if (!pf->req.constraints.earliest_start[0]) { /* today, in local time */
      time_t now = time(NULL);
      struct tm tmv;
      localtime_r(&now, &tmv);
      strftime(pf->req.constraints.earliest_start, sizeof pf->req.constraints.earliest_start,
               "%Y-%m-%d", &tmv);
    }
  }
  if (!rc) rc = mn_skin_atlas_create(&atlas, &err);
  if (!rc) rc = mn_device_catalogue_create(&cat, &err);
  if (!rc) rc = mn_param_set_load_default(ps, &err);
  if (!rc) rc = mn_candidacy_rules_load(rules, &err);
  if (!rc) rc = mn_indications_load(ind, &err);
  if (!rc) {
    rc = mn_plan_make(&pf->req, atlas, cat, ps, rules, ind, plan, &err);
    if (rc && err.key[0]) mn_patient_file_locate(pf, &err);
  }
  double secs = mn_wall_time() - t0;
  char cmdline[1024] = "mnsim";
  for (int i = 0; i < argc; i++) {
    size_t len = strlen(cmdline);
    snprintf(cmdline + len, sizeof cmdline - len, " %s", argv[i]);
  }
  mn_plan_output out = {pf, plan, cmdline};
  mn_plan_report rep = {&out, atlas, cat, ps, histology, ""};
  if (!rc) {
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(rep.today, sizeof rep.today, "%Y-%m-%d", &tmv);
    mn_out_item items[3] = {
        {"", mn_io_plan_json, &out}, {"", mn_io_plan_ics, &out}, {"", mn_report_plan_html, &rep}};
    snprintf(items[0].path, sizeof items[0].path, "%s/plan.json", dir);
    snprintf(items[1].path, sizeof items[1].path, "%s/plan.ics", dir);
    snprintf(items[2].path, sizeof items[2].path, "%s/report.html", dir);
    rc = mn_mkdir_p(dir, &err);
    if (!rc) rc = mn_io_write_set(items, report ? 3 : 2, &err);
  }
  if (!rc && o.json) rc = mn_io_plan_json(stdout, &out, &err);
  if (!rc && !o.quiet && !o.json) print_summary(pf, plan, dir, secs, report);
  int code = rc ? cli_fail(&o, &err) : EXIT_OK;
  mn_patient_file_destroy(pf);
  mn_skin_atlas_destroy(atlas);
  mn_device_catalogue_destroy(cat);
  mn_free(ps);
  mn_free(rules);
  mn_free(ind);
  mn_free(plan);
  return code;
}
