/* `mnsim validate`: every calibration and validation target with the published value and range,
 * the model's median and 90 % band, the verdict and the source; exit 1 when a calibration target
 * fails. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void) {
  printf(
      "usage: mnsim validate [--draws N] [--prior [--seed N]] [--role ROLE] [--threads N] "
      "[--json]\n"
      "                      [-q]\n"
      "       mnsim validate --quantities\n\n"
      "Compare the model with every published target of data/targets.csv, evaluated as\n"
      "data/target_models.csv says: the lumped twin for the target's protocol (median and\n"
      "90 %% band over the posterior ensemble of data/posterior.csv), or an input of the anatomy\n"
      "atlas or the device catalogue. A target passes when the median lies in the published\n"
      "range (docs/validation.md). Calibration targets were used to fit the parameters tagged C;\n"
      "validation targets were not.\n\n"
      "options:\n"
      "      --draws N      parameter draws per model row (default: the whole posterior, 400;\n"
      "                     0: the nominal parameters only)\n"
      "      --prior        Latin-hypercube draws of the calibrated ranges instead of the\n"
      "                     posterior (no weighting by the calibration targets)\n"
      "      --seed N       seed of the --prior draws (default 1)\n"
      "      --role ROLE    only calibration, validation or input-check targets\n"
      "      --threads N    parallel runs (default: all cores)\n"
      "      --json         the table as JSON on stdout\n"
      "      --quantities   list the quantities a target row may ask for\n"
      "  -q, --quiet        print only failures;  -h, --help  this text\n\n"
      "exit status: 0 every evaluated calibration target passes, 1 one fails, 2 bad usage.\n");
}

static json_t *num(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static void range_text(const mn_target_eval *r, char *buf, size_t n) {
  if (r->rule == MN_RULE_COVERS && r->lo == r->hi)
    snprintf(buf, n, "%g", r->lo);
  else if (isinf(r->hi))
    snprintf(buf, n, ">= %g", r->lo);
  else if (isinf(r->lo))
    snprintf(buf, n, "<= %g", r->hi);
  else
    snprintf(buf, n, "%g-%g", r->lo, r->hi);
}

static void print_table(const mn_validation *v, int quiet, int role) {
  printf("%-6s %-11s %-38s %-14s %-12s %-28s %s\n", "id", "role", "quantity", "published", "range",
         "model median [90 % band]", "verdict");
  for (int t = 0; t < v->ntargets; t++) {
    const mn_target *tg = &v->targets[t];
    if (role >= 0 && tg->role != role) continue;
    if (quiet && tg->verdict != MN_VERDICT_FAIL) continue;
    char pub[160];
    snprintf(pub, sizeof pub, "%s %s", tg->value, tg->unit);
    printf("%-6s %-11s %-38.38s %-14.14s", tg->id, mn_target_role_name(tg->role), tg->quantity,
           pub);
    for (int i = tg->first; i < tg->first + tg->count; i++) {
      const mn_target_eval *r = &v->rows[i];
      if (i > tg->first) printf("%-6s %-11s %-38s %-14s", "", "", "", "");
      if (r->kind == MN_EVAL_NONE) {
        printf(" %-12s %-28s %s: %s\n", "-", "-", mn_verdict_name(MN_VERDICT_NOT_EVALUATED),
               r->note);
        continue;
      }
      char rg[40], model[64];
      range_text(r, rg, sizeof rg);
      if ((r->kind == MN_EVAL_INPUT && !(r->q95 > r->q05)) || !isfinite(r->q05))
        snprintf(model, sizeof model, "%.4g", r->median);
      else
        snprintf(model, sizeof model, "%.3g [%.3g, %.3g]", r->median, r->q05, r->q95);
      printf(" %-12s %-28s %s  (%s%s%s)\n", rg, model, mn_verdict_name(r->verdict), r->quantity,
             r->kind == MN_EVAL_MODEL ? ", " : "", r->kind == MN_EVAL_MODEL ? r->dev.model : "");
    }
  }
  int count[3][3] = {{0}};
  for (int t = 0; t < v->ntargets; t++) count[v->targets[t].role][v->targets[t].verdict]++;
  printf("\n");
  for (int k = 0; k < 3; k++)
    if (role < 0 || role == k)
      printf("%-12s %2d pass, %2d fail, %2d not evaluated\n", mn_target_role_name(k),
             count[k][MN_VERDICT_PASS], count[k][MN_VERDICT_FAIL],
             count[k][MN_VERDICT_NOT_EVALUATED]);
  printf("sources: data/targets.csv; evaluation: data/target_models.csv; docs/validation.md\n");
}

/* verdicts in JSON: lower case ("fail", not the table's "FAIL") */
static const char *jverdict(int vd) {
  static const char *const names[3] = {"pass", "fail", "not evaluated"};
  return vd >= 0 && vd < 3 ? names[vd] : "?";
}

static int print_json(const mn_validation *v, int draws, int source, uint64_t seed, int role) {
  json_t *arr = json_array();
  for (int t = 0; t < v->ntargets; t++) {
    const mn_target *tg = &v->targets[t];
    if (role >= 0 && tg->role != role) continue;
    json_t *rows = json_array();
    for (int i = tg->first; i < tg->first + tg->count; i++) {
      const mn_target_eval *r = &v->rows[i];
      static const char *const kinds[3] = {"model", "input", "none"};
      json_t *o = json_pack("{s:s,s:s,s:s}", "evaluate", kinds[r->kind], "verdict",
                            jverdict(r->verdict), "note", r->note);
      if (r->kind != MN_EVAL_NONE) {
        json_object_set_new(o, "quantity", json_string(r->quantity));
        json_object_set_new(o, "rule", json_string(r->rule == MN_RULE_IN ? "in" : "covers"));
        json_object_set_new(o, "range", json_pack("[o,o]", num(r->lo), num(r->hi)));
        json_object_set_new(o, "nominal", num(r->nominal));
        json_object_set_new(o, "median", num(r->median));
        json_object_set_new(o, "band", json_pack("[o,o]", num(r->q05), num(r->q95)));
      }
      if (r->kind == MN_EVAL_MODEL)
        json_object_set_new(
            o, "protocol",
            json_pack("{s:s,s:i,s:s,s:o,s:o,s:i,s:o,s:o}", "region", r->skin.region, "fitzpatrick",
                      r->skin.fitzpatrick, "device", r->dev.model, "depth_mm", num(r->dev.depth_mm),
                      "density_cm2", num(r->density_cm2), "sessions", r->sessions, "interval_day",
                      num(r->interval_day), "days", num(r->days)));
      json_array_append_new(rows, o);
    }
    json_array_append_new(
        arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", tg->id, "role",
                       mn_target_role_name(tg->role), "quantity", tg->quantity, "value", tg->value,
                       "unit", tg->unit, "time_point", tg->time_point, "condition", tg->condition,
                       "source", tg->source, "verdict", jverdict(tg->verdict), "rows", rows));
  }
  json_t *summary = json_object(); /* verdict counts per role */
  for (int ro = 0; ro < 3; ro++) {
    if (role >= 0 && ro != role) continue;
    json_t *c = json_object();
    for (int vd = 0; vd < 3; vd++) {
      int cnt = 0;
      for (int t = 0; t < v->ntargets; t++)
        cnt += (int)v->targets[t].role == ro && (int)v->targets[t].verdict == vd;
      json_object_set_new(c, jverdict(vd), json_integer(cnt));
    }
    json_object_set_new(summary, mn_target_role_name(ro), c);
  }
  json_t *root = json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:o}", "mnsim_version", mn_version(),
                           "command", "validate", "draws", draws, "ensemble",
                           source == MN_ENSEMBLE_PRIOR ? "prior" : "posterior", "seed",
                           (json_int_t)seed, "targets", arr, "summary", summary);
  int bad = !root || json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
  json_decref(root);
  printf("\n");
  return bad;
}

int cmd_validate(int argc, char **argv) {
  static const struct option longopts[] = {{"draws", required_argument, 0, 'd'},
                                           {"seed", required_argument, 0, 's'},
                                           {"role", required_argument, 0, 'r'},
                                           {"threads", required_argument, 0, 't'},
                                           {"prior", no_argument, 0, 'p'},
                                           {"json", no_argument, 0, 'j'},
                                           {"quantities", no_argument, 0, 'Q'},
                                           {"quiet", no_argument, 0, 'q'},
                                           {"verbose", no_argument, 0, 'v'},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  cli_opts o = {0};
  int c, draws = 400, threads = 0, role = -1, list = 0, source = MN_ENSEMBLE_POSTERIOR;
  uint64_t seed = 1;
  long n;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":qvh", longopts, NULL)) != -1) {
    if (cli_common_option(c, optarg, &o)) continue;
    switch (c) {
      case 'h':
        help();
        return EXIT_OK;
      case 'd':
        if (mn_parse_long(optarg, &n) || n < 0 || n > 10000)
          return cli_usage_error("validate", "--draws '%s' must be an integer in [0, 10000]",
                                 optarg);
        draws = (int)n;
        break;
      case 's':
        if (mn_parse_u64(optarg, &seed))
          return cli_usage_error("validate", "--seed '%s' must be an integer in [0, 2^64 - 1]",
                                 optarg);
        break;
      case 't':
        if (mn_parse_long(optarg, &n) || n < 1 || n > 256)
          return cli_usage_error("validate", "--threads '%s' must be an integer in [1, 256]",
                                 optarg);
        threads = (int)n;
        break;
      case 'r':
        for (int k = 0; k < 3; k++)
          if (!strcmp(optarg, mn_target_role_name(k))) role = k;
        if (role < 0)
          return cli_usage_error(
              "validate", "--role '%s': allowed calibration, validation, input-check", optarg);
        break;
      case 'Q':
        list = 1;
        break;
      case 'p':
        source = MN_ENSEMBLE_PRIOR;
        break;
      case ':':
        return cli_usage_error("validate", "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error("validate", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc) return cli_usage_error("validate", "no arguments expected");
  cli_log_setup(&o);
  if (list) {
    printf("model quantities (outcome scalars):\n");
    for (int k = 0; k < MN_OQ_COUNT; k++)
      printf("  %-22s %-4s %s\n", mn_outcome_scalar_name(k), mn_outcome_scalar_unit(k),
             mn_outcome_scalar_help(k));
    printf(
        "derived: mature_ratio_90_180, mature_ratio_180_365, pih_pct, fill_pct (arg: defect "
        "depth um)\ninputs: dermis_um, epidermis_um, pen_rate, roller_density (arg: rolls), "
        "depth_ratio\n");
    return EXIT_OK;
  }
  mn_error err = {0};
  mn_validation v;
  mn_param_set ps;
  int rc = mn_param_set_load_default(&ps, &err);
  if (!rc) rc = mn_validation_load(&v, &err);
  if (rc) return cli_fail(&o, &err);
  double t0 = mn_wall_time();
  rc = mn_validation_run(&v, &ps, source, draws, seed, threads, role, &err);
  if (rc) {
    mn_validation_fini(&v);
    return cli_fail(&o, &err);
  }
  mn_log(MN_LOG_INFO, "validate: %d rows in %.1f s", v.nrows, mn_wall_time() - t0);
  int failed = 0;
  for (int t = 0; t < v.ntargets; t++)
    failed += v.targets[t].role == MN_TARGET_CALIBRATION && v.targets[t].verdict == MN_VERDICT_FAIL;
  if (o.json)
    rc = print_json(&v, draws, source, seed, role);
  else
    print_table(&v, o.quiet, role);
  mn_validation_fini(&v);
  if (rc) return EXIT_RUNTIME;
  if (failed) {
    fprintf(stderr, "mnsim: %d calibration target%s fail%s\n", failed, failed > 1 ? "s" : "",
            failed > 1 ? "" : "s");
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

/* ---- mnsim calibrate ---------------------------------------------------------------------- */

/* The parameters fitted by default: those tagged C that the computable calibration targets
 * constrain (docs/calibration.md explains the choice; the other C parameters keep their prior). */
static const char *const fitted[] = {"k_d_epi", "K_V", "V_vis",   "q_F",
                                     "k_mat",   "k_3", "phi_cut", "a_d"};

static void calibrate_help(void) {
  printf(
      "usage: mnsim calibrate [-o FILE] [--posterior FILE] [--params a,b,...] [--max-evals N]\n"
      "                       [--tries N] [--threads N] [-q]\n\n"
      "Fit the healing-model parameters tagged C to the calibration targets of data/targets.csv\n"
      "that mnsim can compute (data/target_models.csv), starting from the prior table\n"
      "data/healing_params.csv with every other parameter fixed; print the fit and, with -o,\n"
      "write the calibration table; then weigh draws of the calibrated ranges by their agreement\n"
      "with the same targets for the posterior ensemble behind every uncertainty band\n"
      "(data/calibration.csv and data/posterior.csv are this command's output:\n"
      "`mnsim calibrate -o data/calibration.csv` reproduces both).\n\n"
      "options:\n"
      "  -o FILE            write the calibration table (CSV) to FILE and the posterior\n"
      "                     ensemble to posterior.csv next to it\n"
      "      --posterior F  the posterior ensemble's file instead\n"
      "      --tries N      Latin-hypercube draws weighed for the posterior (default 4000)\n"
      "      --params LIST  comma-separated parameters to fit (default: k_d_epi, K_V, V_vis,\n"
      "                     q_F, k_mat, k_3, phi_cut, a_d)\n"
      "      --max-evals N  misfit evaluations of the fit (default 800)\n"
      "      --threads N    parallel runs (default: all cores)\n"
      "  -q, --quiet        errors only;  -h, --help  this text\n");
}

enum { POSTERIOR_DRAWS = 400 }; /* the ensemble's size: simulate.uq_draws and plan draws */

typedef struct blob {
  const char *text;
  size_t len;
} blob;
static int write_blob(FILE *fp, const void *ctx, mn_error *err) {
  const blob *b = ctx;
  return fwrite(b->text, 1, b->len, fp) == b->len ? MN_OK : MN_ERR(err, MN_EIO, "", "write failed");
}

int cmd_calibrate(int argc, char **argv) {
  static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                           {"params", required_argument, 0, 'p'},
                                           {"max-evals", required_argument, 0, 'm'},
                                           {"threads", required_argument, 0, 't'},
                                           {"quiet", no_argument, 0, 'q'},
                                           {"verbose", no_argument, 0, 'v'},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  cli_opts o = {0};
  int c, threads = 0, max_evals = 800, np = 0, ens_draws = 32, ens_evals = 200, tries = 4000;
  const char *post_path = NULL;
  long n;
  static char list[1024];
  const char *names[MN_CALIB_MAX];
  for (size_t i = 0; i < sizeof fitted / sizeof *fitted; i++) names[np++] = fitted[i];
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:qvh", longopts, NULL)) != -1) {
    if (cli_common_option(c, optarg, &o)) continue;
    switch (c) {
      case 'h':
        calibrate_help();
        return EXIT_OK;
      case 'p':
        snprintf(list, sizeof list, "%s", optarg);
        np = 0;
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
          if (np == MN_CALIB_MAX)
            return cli_usage_error("calibrate", "--params: at most %d parameters", MN_CALIB_MAX);
          names[np++] = tok;
        }
        if (!np) return cli_usage_error("calibrate", "--params needs at least one name");
        break;
      case 'm':
        if (mn_parse_long(optarg, &n) || n < 10 || n > 100000)
          return cli_usage_error("calibrate", "--max-evals '%s' must be an integer in [10, 100000]",
                                 optarg);
        max_evals = (int)n;
        break;
      case 't':
        if (mn_parse_long(optarg, &n) || n < 1 || n > 256)
          return cli_usage_error("calibrate", "--threads '%s' must be an integer in [1, 256]",
                                 optarg);
        threads = (int)n;
        break;
      case 'P':
        post_path = optarg;
        break;
      case 'N':
        if (mn_parse_long(optarg, &n) || n < 400 || n > 100000)
          return cli_usage_error("calibrate", "--tries '%s' must be an integer in [400, 100000]",
                                 optarg);
        tries = (int)n;
        break;
      case ':':
        return cli_usage_error("calibrate", "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error("calibrate", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc) return cli_usage_error("calibrate", "no arguments expected");
  cli_log_setup(&o);
  mn_error err = {0};
  mn_param_set prior;
  mn_calibration cal;
  double t0 = mn_wall_time();
  int rc = mn_param_set_load_prior(&prior, &err);
  if (!rc)
    rc = mn_calibrate(&prior, names, np, max_evals, ens_draws, 1, ens_evals, threads, &cal, &err);
  char *ctext = NULL, *ptext = NULL, fp[17], ppath[4200];
  size_t clen = 0, plen = 0;
  mn_posterior_stats st;
  mn_param_set *calset = mn_malloc(sizeof *calset);
  if (!rc && !calset) rc = MN_ERR(&err, MN_ENOMEM, "", "out of memory");
  if (!rc) rc = mn_calibration_text(&cal, &ctext, &clen, &err);
  if (!rc) {
    *calset = prior;
    rc = mn_param_set_apply_calibration(calset, ctext, clen, "the new calibration", &err);
  }
  if (!rc) {
    mn_param_fingerprint(ctext, clen, fp);
    rc = mn_posterior_build(calset, tries, 1, POSTERIOR_DRAWS, threads, fp, &st, &ptext, &plen,
                            &err);
  }
  if (!rc && o.outdir) {
    if (post_path)
      snprintf(ppath, sizeof ppath, "%s", post_path);
    else {
      const char *slash = strrchr(o.outdir, '/');
      snprintf(ppath, sizeof ppath, "%.*sposterior.csv", slash ? (int)(slash - o.outdir + 1) : 0,
               o.outdir);
    }
    blob b[2] = {{ctext, clen}, {ptext, plen}};
    mn_out_item items[2] = {{"", write_blob, &b[0]}, {"", write_blob, &b[1]}};
    snprintf(items[0].path, sizeof items[0].path, "%s", o.outdir);
    snprintf(items[1].path, sizeof items[1].path, "%s", ppath);
    rc = mn_io_write_set(items, 2, &err);
  }
  mn_free(ctext);
  mn_free(ptext);
  mn_free(calset);
  if (rc) return cli_fail(&o, &err);
  if (!o.quiet) {
    printf("mnsim calibrate: %d parameters tagged C fitted to %s\n", cal.n, cal.targets);
    printf(
        "  misfit %.4g at the prior -> %.4g nominal -> %.4g over %d draws (%d evaluations, "
        "%.1f s)\n",
        cal.misfit0, cal.misfit_nominal, cal.misfit, cal.ens_draws, cal.evals, mn_wall_time() - t0);
    printf("  %-10s %10s %22s %10s %22s\n", "parameter", "prior", "prior range", "fit",
           "calibrated range");
    for (int k = 0; k < cal.n; k++)
      printf("  %-10s %10.4g %10.4g - %-10.4g %10.4g %10.4g - %-10.4g\n", cal.name[k], cal.prior[k],
             cal.prior_min[k], cal.prior_max[k], cal.value[k], cal.lo[k], cal.hi[k]);
    printf(
        "  posterior: %d draws tried, %d with G < 1, effective sample size %.1f, resampled to %d "
        "(%d distinct)\n",
        st.tried, st.kept, st.ess, POSTERIOR_DRAWS, st.distinct);
    if (o.outdir) printf("  written to %s and %s\n", o.outdir, ppath);
  }
  return EXIT_OK;
}
