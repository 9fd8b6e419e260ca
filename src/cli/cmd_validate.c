/* `mnsim validate`: every calibration and validation target with the published value and range,
 * the model's median and 90 % band, the verdict and the source; exit 1 when a calibration target
 * fails. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static json_t *num(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static void range_text(const mn_target_eval *r, char *buf, size_t n) {
  if (r->rule == MN_RULE_REPORT)
    snprintf(buf, n, "none");
  else if (r->rule == MN_RULE_COVERS && r->lo == r->hi)
    snprintf(buf, n, "%g", r->lo);
  else if (isinf(r->hi))
    snprintf(buf, n, ">= %g", r->lo);
  else if (isinf(r->lo))
    snprintf(buf, n, "<= %g", r->hi);
  else
    snprintf(buf, n, "%g-%g", r->lo, r->hi);
}

/* The table, fitted to the output's width: quantity, published value, model band and the
 * verdict's note wrap onto continuation lines rather than being cut. */
/* The between-patient validation items (data/between_patient.csv, role validation): each
 * item's SD of the improvement against sigma_b's posterior from the fit items. */
static void print_spread(const mn_spread *sp, int quiet) {
  cli_col cols[] = {{"id", 6, 6}, {"check", 0, 30}};
  cli_table_fit(cols, 2, cli_term_width());
  int shown = 0;
  for (int i = 0; i < sp->nchecks; i++) {
    const mn_spread_check *k = &sp->check[i];
    if (quiet && k->pass) continue;
    if (!shown++)
      printf(
          "\nbetween patients: sigma_b %.3f [%.3f, %.3f] from %d fit items\n"
          "(data/between_patient.csv); each validation item's SD of the improvement\n"
          "against sigma_b's posterior predictive, p = P(a replicate's SD < the\n"
          "observed), passes when 0.05 <= p <= 0.95:\n",
          sp->q[1], sp->q[0], sp->q[2], sp->nitems);
    char text[400];
    snprintf(text, sizeof text,
             "%s  p %.3f: n %d, improvement %.3f +/- %.3f, CV %.3f (sigma_b %.3f; its own "
             "posterior %.3f [%.3f, %.3f]); %s",
             k->pass ? "pass" : "FAIL", k->p, k->n, k->mean, k->sd, k->cv, k->sigma, k->q[1],
             k->q[0], k->q[2], k->source);
    const char *cells[2] = {k->id, text};
    cli_table_row(cols, 2, cells);
  }
}

static void print_table(const mn_validation *v, const mn_spread *sp, int quiet, int role) {
  cli_col cols[] = {{"id", 6, 6},         {"role", 11, 11}, {"quantity", 38, 12},
                    {"published", 14, 9}, {"range", 12, 9}, {"model median [90 % band]", 28, 12},
                    {"verdict", 0, 14}};
  enum { NC = 7 };
  cli_table_fit(cols, NC, cli_term_width());
  const char *head[NC];
  for (int j = 0; j < NC; j++) head[j] = cols[j].head;
  cli_table_row(cols, NC, head);
  for (int t = 0; t < v->ntargets; t++) {
    const mn_target *tg = &v->targets[t];
    if (role >= 0 && tg->role != role) continue;
    if (v->only_id[0] && strcmp(tg->id, v->only_id)) continue;
    if (quiet && tg->verdict != MN_VERDICT_FAIL) continue;
    char pub[160];
    snprintf(pub, sizeof pub, "%s %s", tg->value, tg->unit);
    for (int i = tg->first; i < tg->first + tg->count; i++) {
      const mn_target_eval *r = &v->rows[i];
      char rg[40] = "-", model[64] = "-", verdict[600];
      const char *cells[NC] = {tg->id, mn_target_role_name(tg->role), tg->quantity, pub, rg, model,
                               verdict};
      if (i > tg->first) /* a target's further evaluations: the first columns once */
        for (int j = 0; j < 4; j++) cells[j] = "";
      if (r->kind == MN_EVAL_NONE) {
        snprintf(verdict, sizeof verdict, "%s: %s", mn_verdict_name(MN_VERDICT_NOT_EVALUATED),
                 r->note);
        cli_table_row(cols, NC, cells);
        continue;
      }
      range_text(r, rg, sizeof rg);
      if ((r->kind == MN_EVAL_INPUT && !(r->q95 > r->q05)) || !isfinite(r->q05))
        snprintf(model, sizeof model, "%.4g", r->median);
      else
        snprintf(model, sizeof model, "%.3g [%.3g, %.3g]", r->median, r->q05, r->q95);
      char check[120] = "";
      if (r->kind == MN_EVAL_MODEL && v->model3d)
        snprintf(check, sizeof check, "; 3D - lumped %+.3g (largest %+.3g; lumped median %.3g)",
                 r->diff_median, r->diff_max, r->lumped_median);
      snprintf(verdict, sizeof verdict, "%s  (%s%s%s%s)", mn_verdict_name(r->verdict), r->quantity,
               r->kind == MN_EVAL_MODEL ? ", " : "", r->kind == MN_EVAL_MODEL ? r->dev.model : "",
               check);
      cli_table_row(cols, NC, cells);
    }
  }
  int count[4][4] = {{0}};
  for (int t = 0; t < v->ntargets; t++)
    if (!v->only_id[0] || !strcmp(v->targets[t].id, v->only_id))
      count[v->targets[t].role][v->targets[t].verdict]++;
  if ((role < 0 || role == MN_TARGET_VALIDATION) && !v->only_id[0]) {
    print_spread(sp, quiet);
    for (int i = 0; i < sp->nchecks; i++)
      count[MN_TARGET_VALIDATION][sp->check[i].pass ? MN_VERDICT_PASS : MN_VERDICT_FAIL]++;
  }
  printf("\n");
  for (int k = 0; k < 4; k++)
    if (role < 0 || role == k)
      printf("%-12s %2d pass, %2d fail, %2d not judged, %2d not evaluated\n",
             mn_target_role_name(k), count[k][MN_VERDICT_PASS], count[k][MN_VERDICT_FAIL],
             count[k][MN_VERDICT_NOT_JUDGED], count[k][MN_VERDICT_NOT_EVALUATED]);
  if (v->model3d)
    printf(
        "model: the 3D unit cell (the case file's grid and solver defaults) over the draws,\n"
        "the lumped twin beside it (3D - lumped: median and largest per draw)\n");
  printf(
      "sources: data/targets.csv, data/between_patient.csv\nevaluation: "
      "data/target_models.csv\nsee docs/validation.md\n");
}

/* verdicts in JSON: lower case ("fail", not the table's "FAIL") */
static const char *jverdict(int vd) {
  static const char *const names[4] = {"pass", "fail", "not evaluated", "not judged"};
  return vd >= 0 && vd < 4 ? names[vd] : "?";
}

static json_t *spread_json(const mn_spread *sp) {
  json_t *items = json_array();
  for (int i = 0; i < sp->nchecks; i++) {
    const mn_spread_check *k = &sp->check[i];
    json_array_append_new(
        items, json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:[o,o,o],s:o,s:s}", "id", k->id, "role",
                         "validation", "source", k->source, "n", k->n, "improvement_mean",
                         num(k->mean), "improvement_sd", num(k->sd), "cv", num(k->cv), "sigma",
                         num(k->sigma), "own_sigma_b", num(k->q[1]), num(k->q[0]), num(k->q[2]),
                         "p", num(k->p), "verdict", k->pass ? "pass" : "fail"));
  }
  return json_pack("{s:s,s:{s:o,s:o,s:o},s:i,s:o}", "source", "data/between_patient.csv", "sigma_b",
                   "median", num(sp->q[1]), "q05", num(sp->q[0]), "q95", num(sp->q[2]), "fit_items",
                   sp->nitems, "checks", items);
}

static int print_json(const mn_validation *v, const mn_spread *sp, int draws, int source,
                      uint64_t seed, int role) {
  json_t *arr = json_array();
  for (int t = 0; t < v->ntargets; t++) {
    const mn_target *tg = &v->targets[t];
    if (role >= 0 && tg->role != role) continue;
    if (v->only_id[0] && strcmp(tg->id, v->only_id)) continue;
    json_t *rows = json_array();
    for (int i = tg->first; i < tg->first + tg->count; i++) {
      const mn_target_eval *r = &v->rows[i];
      static const char *const kinds[3] = {"model", "input", "none"};
      json_t *o = json_pack("{s:s,s:s,s:s}", "evaluate", kinds[r->kind], "verdict",
                            jverdict(r->verdict), "note", r->note);
      if (r->kind != MN_EVAL_NONE) {
        json_object_set_new(o, "quantity", json_string(r->quantity));
        json_object_set_new(o, "rule",
                            json_string(r->rule == MN_RULE_IN       ? "in"
                                        : r->rule == MN_RULE_COVERS ? "covers"
                                                                    : "report"));
        json_object_set_new(o, "range", json_pack("[o,o]", num(r->lo), num(r->hi)));
        json_object_set_new(o, "nominal", num(r->nominal));
        json_object_set_new(o, "median", num(r->median));
        json_object_set_new(o, "band", json_pack("[o,o]", num(r->q05), num(r->q95)));
      }
      if (r->kind == MN_EVAL_MODEL && v->model3d)
        json_object_set_new(
            o, "lumped",
            json_pack("{s:o,s:o,s:o}", "median", num(r->lumped_median), "diff_3d_median",
                      num(r->diff_median), "diff_3d_largest", num(r->diff_max)));
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
  for (int ro = 0; ro < 4; ro++) {
    if (role >= 0 && ro != role) continue;
    json_t *c = json_object();
    for (int vd = 0; vd < 4; vd++) {
      int cnt = 0;
      for (int t = 0; t < v->ntargets; t++)
        cnt += (int)v->targets[t].role == ro && (int)v->targets[t].verdict == vd &&
               (!v->only_id[0] || !strcmp(v->targets[t].id, v->only_id));
      for (int i = 0; ro == MN_TARGET_VALIDATION && !v->only_id[0] && i < sp->nchecks; i++)
        cnt += vd == (sp->check[i].pass ? MN_VERDICT_PASS : MN_VERDICT_FAIL);
      json_object_set_new(c, jverdict(vd), json_integer(cnt));
    }
    json_object_set_new(summary, mn_target_role_name(ro), c);
  }
  json_t *root = json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:o}", "mnsim_version", mn_version(),
                           "command", "validate", "draws", draws, "ensemble",
                           source == MN_ENSEMBLE_PRIOR ? "prior" : "posterior", "seed",
                           (json_int_t)seed, "targets", arr, "summary", summary);
  if (root) json_object_set_new(root, "model", json_string(v->model3d ? "3d" : "lumped"));
  if (root && (role < 0 || role == MN_TARGET_VALIDATION) && !v->only_id[0])
    json_object_set_new(root, "between_patients", spread_json(sp));
  int bad = !root || json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
  json_decref(root);
  printf("\n");
  return bad;
}

/* What `mnsim validate` was asked for. */
typedef struct validate_args {
  cli_opts common;
  int draws, threads, role, list, prior, progress, model3d;
  uint64_t seed;
  int have_seed;
  char id[16];
} validate_args;

static int role_option(void *opts, const char *v) {
  validate_args *a = opts;
  for (int k = 0; k < 4; k++)
    if (!strcmp(v, mn_target_role_name(k))) a->role = k;
  return a->role >= 0 ? 0
                      : cli_usage_error("validate",
                                        "--role '%s': allowed calibration, validation, "
                                        "input-check, acceptance",
                                        v);
}

static int model_option(void *opts, const char *v) {
  validate_args *a = opts;
  if (!strcmp(v, "lumped") || !strcmp(v, "3d")) {
    a->model3d = !strcmp(v, "3d");
    return 0;
  }
  return cli_usage_error("validate", "--model '%s': allowed lumped, 3d", v);
}

static int id_option(void *opts, const char *v) {
  validate_args *a = opts;
  if (strlen(v) >= sizeof a->id || !v[0])
    return cli_usage_error("validate", "--id '%s': a target id of data/targets.csv (e.g. CT14)", v);
  snprintf(a->id, sizeof a->id, "%s", v);
  return 0;
}

#define VO(f) offsetof(validate_args, f)
static const cli_option validate_options[] = {
    {"draws", 0, CLI_INT, "N", 0, 10000, VO(draws), 0, NULL,
     "parameter draws per model row (default 400, with --model 3d 8; the posterior table's "
     "first in its spread order; 0: nominal only)"},
    {"model", 0, CLI_CALL, "M", 0, 0, 0, 0, model_option,
     "lumped (default) or 3d: the posterior check with the 3D unit cell, the lumped twin beside "
     "it (seconds per run; spread over MPI ranks under mpirun)"},
    {"id", 0, CLI_CALL, "ID", 0, 0, 0, 0, id_option, "only the target ID (e.g. CT14)"},
    {"prior", 0, CLI_FLAG, NULL, 0, 0, VO(prior), 0, NULL,
     "Latin-hypercube draws of the calibrated ranges instead of the posterior"},
    {"seed", 0, CLI_U64, "N", 0, 0, VO(seed), VO(have_seed), NULL,
     "seed of the --prior draws (default 1)"},
    {"role", 0, CLI_CALL, "ROLE", 0, 0, 0, 0, role_option,
     "only calibration, validation, input-check or acceptance targets"},
    {"threads", 0, CLI_INT, "N", 1, 256, VO(threads), 0, NULL,
     "parallel runs (default: all cores)"},
    CLI_JSON(validate_args, "the table as JSON on stdout"),
    CLI_PROGRESS(validate_args),
    {"quantities", 0, CLI_FLAG, NULL, 0, 0, VO(list), 0, NULL,
     "list the quantities a target row may ask for"},
    CLI_QUIET(validate_args),
};

static void print_quantities(void) {
  printf("model quantities (outcome scalars):\n");
  for (int k = 0; k < MN_OQ_COUNT; k++)
    printf("  %-22s %-4s %s\n", mn_outcome_scalar_name(k), mn_outcome_scalar_unit(k),
           mn_outcome_scalar_help(k));
  printf(
      "derived: mature_ratio_90_180, mature_ratio_180_365, collagen_ratio_90_180,\n"
      "  collagen_ratio_180_365 (total papillary collagen), pih_pct, fill_pct (the share of\n"
      "  depth mixed acne scars lose, %%), gb_grade_change (arg: rolling scar depth um),\n"
      "  gb_grade_change_mix (arg: the mixed scars' mean grade), lemperle_change (arg: wrinkle\n"
      "  depth um)\ninputs: dermis_um, epidermis_um, pen_rate, roller_density (arg: rolls), "
      "depth_ratio\n");
}

/* Evaluate the targets and print the table (or JSON): the exit status, 1 when a calibration
 * target fails. */
static int validate_run(const validate_args *a) {
  mn_error err = {0};
  mn_validation v;
  mn_param_set ps;
  mn_spread sp;
  int rc = mn_param_set_load_default(&ps, &err);
  if (!rc) rc = mn_spread_load_shipped(&sp, &err);
  if (!rc) rc = mn_validation_load(&v, &err);
  if (rc) return cli_fail(&a->common, &err);
  v.model3d = a->model3d;
  snprintf(v.only_id, sizeof v.only_id, "%s", a->id);
  int known = !a->id[0];
  for (int t = 0; t < v.ntargets && !known; t++) known = !strcmp(v.targets[t].id, a->id);
  if (!known) {
    mn_validation_fini(&v);
    return cli_usage_error("validate", "--id '%s': no such target in data/targets.csv", a->id);
  }
  int draws = a->draws >= 0 ? a->draws : a->model3d ? 8 : 400; /* -1: not given */
  double t0 = mn_wall_time();
  int source = a->prior ? MN_ENSEMBLE_PRIOR : MN_ENSEMBLE_POSTERIOR;
  mn_progress bar;
  mn_progress_init(&bar, stderr, "validate", cli_progress_mode(&a->common, a->progress));
  v.progress = &bar;
  rc = mn_validation_run(&v, &ps, source, draws, a->seed, a->threads, a->role, &err);
  if (rc == MN_OK)
    mn_progress_finish(&bar);
  else
    mn_progress_stop(&bar);
  if (rc) {
    mn_validation_fini(&v);
    return cli_fail(&a->common, &err);
  }
  mn_log(MN_LOG_INFO, "validate: %d rows in %.1f s", v.nrows, mn_wall_time() - t0);
  int failed = 0;
  for (int t = 0; t < v.ntargets; t++)
    failed +=
        (v.targets[t].role == MN_TARGET_CALIBRATION || v.targets[t].role == MN_TARGET_ACCEPTANCE) &&
        v.targets[t].verdict == MN_VERDICT_FAIL;
  if (a->common.json)
    rc = print_json(&v, &sp, draws, source, a->seed, a->role);
  else
    print_table(&v, &sp, a->common.quiet, a->role);
  mn_validation_fini(&v);
  if (rc) return EXIT_RUNTIME;
  if (failed) {
    fprintf(stderr, "mnsim: %d calibration or acceptance target%s fail%s\n", failed,
            failed > 1 ? "s" : "", failed > 1 ? "" : "s");
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

static void help(void) {
  printf(
      "usage: mnsim validate [--draws N] [--prior [--seed N]] [--role ROLE] [--id ID]\n"
      "                      [--model lumped|3d] [--threads N] [--json] [--progress] [-q]\n"
      "       mnsim validate --quantities\n\n"
      "Compare the model with every published target of data/targets.csv, evaluated as\n"
      "data/target_models.csv says: the lumped twin for the target's protocol (median and\n"
      "90 %% band over the posterior ensemble of data/posterior.csv), or an input of the anatomy\n"
      "atlas or the device catalogue. A target passes when the median lies in the published\n"
      "range (docs/validation.md). Calibration targets were used to fit the parameters tagged C;\n"
      "validation targets were not. -q prints only failures.\n\n");
  cli_print_options(validate_options, sizeof validate_options / sizeof validate_options[0]);
  printf("\nexit status: 0 every evaluated calibration target passes, 1 one fails, 2 bad usage.\n");
}

int cmd_validate(int argc, char **argv) {
  validate_args a = {.draws = -1, .role = -1, .seed = 1};
  int first = 0, status = cli_parse("validate", validate_options,
                                    sizeof validate_options / sizeof validate_options[0], help,
                                    argc, argv, &a, &a.common, &first);
  if (status >= 0) return status;
  if (first != argc) return cli_usage_error("validate", "no arguments expected");
  if (a.list) {
    print_quantities();
    return EXIT_OK;
  }
  return validate_run(&a);
}

/* ---- mnsim calibrate ---------------------------------------------------------------------- */

/* What `mnsim calibrate` was asked for. */
typedef struct calibrate_args {
  cli_opts common;
  int threads, max_evals, np, walkers, steps, burn, thin, progress;
  uint64_t seed;
  int have_seed;
  double checkpoint_min;
  const char *post_path, *plot_dir, *checkpoint;
  const char *names[MN_CALIB_MAX]; /* the parameters to fit */
  char list[1024];                 /* --params: names point into it */
} calibrate_args;

static int params_option(void *opts, const char *v) {
  calibrate_args *a = opts;
  snprintf(a->list, sizeof a->list, "%s", v);
  a->np = 0;
  for (char *tok = strtok(a->list, ","); tok; tok = strtok(NULL, ",")) {
    if (a->np == MN_CALIB_MAX)
      return cli_usage_error("calibrate", "--params: at most %d parameters", MN_CALIB_MAX);
    a->names[a->np++] = tok;
  }
  return a->np ? 0 : cli_usage_error("calibrate", "--params needs at least one name");
}

#define CO(f) offsetof(calibrate_args, f)
static const cli_option calibrate_options[] = {
    {"output", 'o', CLI_STRING, "FILE", 0, 0, CO(common.outdir), 0, NULL,
     "write the calibration table to FILE and the posterior next to it"},
    {"posterior", 0, CLI_STRING, "FILE", 0, 0, CO(post_path), 0, NULL,
     "the posterior ensemble's file instead"},
    {"params", 0, CLI_CALL, "LIST", 0, 0, 0, 0, params_option,
     "comma-separated parameters to fit (default: see above)"},
    {"walkers", 0, CLI_INT, "N", 2, 1024, CO(walkers), 0, NULL,
     "walkers of the ensemble sampler, even, >= 2 x parameters (default 32)"},
    {"steps", 0, CLI_INT, "N", 8, 1000000, CO(steps), 0, NULL,
     "steps of the sampler (default 14000)"},
    {"burn", 0, CLI_INT, "N", 0, 1000000, CO(burn), 0, NULL,
     "steps discarded as burn-in (default 500)"},
    {"thin", 0, CLI_INT, "N", 1, 100000, CO(thin), 0, NULL,
     "the posterior table keeps every N-th step (default 30)"},
    {"seed", 0, CLI_U64, "N", 0, 0, CO(seed), CO(have_seed), NULL, "sampler seed (default 1)"},
    {"max-evals", 0, CLI_INT, "N", 0, 100000, CO(max_evals), 0, NULL,
     "evaluations polishing the MAP (default 400)"},
    {"threads", 0, CLI_INT, "N", 1, 256, CO(threads), 0, NULL,
     "parallel runs (default: all cores)"},
    {"progress", 0, CLI_FLAG, NULL, 0, 0, CO(progress), 0, NULL,
     "a progress line every 5 % (for logs; a terminal gets a bar)"},
    {"checkpoint", 0, CLI_STRING, "FILE", 0, 0, CO(checkpoint), 0, NULL,
     "keep the chain's state in FILE (every --checkpoint-min and on Ctrl-C/SIGTERM); the same "
     "command again continues from it; removed once the tables are written"},
    {"checkpoint-min", 0, CLI_DOUBLE, "M", 0, 1440, CO(checkpoint_min), 0, NULL,
     "minutes between checkpoints (default 10; 0: after every step)"},
    {"plot", 0, CLI_STRING, "DIR", 0, 0, CO(plot_dir), 0, NULL,
     "no sampling: draw the shipped posterior's figures into DIR"},
    CLI_QUIET(calibrate_args),
};

/* What one calibration produces: the posterior, its tables. */
typedef struct calibrate_result {
  mn_calibration cal;
  char *ctext, *ptext; /* owned */
  size_t clen, plen;
  int draws;
} calibrate_result;

static void on_step(int step, int steps, void *user) {
  mn_progress_update(user, (double)step / steps);
}

/* Sample the posterior and make both tables. */
static int calibrate_tables(const calibrate_args *a, calibrate_result *r, mn_error *err) {
  mn_param_set prior;
  mn_calib_opts o;
  char fp[17];
  mn_progress bar;
  mn_progress_init(&bar, stderr, "calibrate", cli_progress_mode(&a->common, a->progress));
  mn_calib_opts_default(&o);
  if (a->walkers) o.walkers = a->walkers;
  if (a->steps) o.steps = a->steps;
  if (a->burn >= 0) o.burn = a->burn;
  if (a->thin) o.thin = a->thin;
  if (a->have_seed) o.seed = a->seed;
  if (a->max_evals >= 0) o.max_evals = a->max_evals;
  o.threads = a->threads;
  o.progress = on_step, o.progress_user = &bar;
  o.checkpoint = a->checkpoint, o.checkpoint_min = a->checkpoint_min;
  int rc = mn_param_set_load_prior(&prior, err);
  if (!rc) rc = mn_calibrate(&prior, a->names, a->np, &o, &r->cal, err);
  if (rc == MN_OK)
    mn_progress_finish(&bar);
  else
    mn_progress_stop(&bar);
  if (!rc) rc = mn_calibration_text(&r->cal, &r->ctext, &r->clen, err);
  if (!rc) {
    mn_param_fingerprint(r->ctext, r->clen, fp);
    rc = mn_posterior_text(&r->cal, fp, &r->ptext, &r->plen, &r->draws, err);
  }
  return rc;
}

/* The posterior table's path: --posterior, else posterior.csv beside the calibration table. */
static void posterior_path(const char *cpath, const char *post_path, char *ppath, size_t n) {
  if (post_path)
    snprintf(ppath, n, "%s", post_path);
  else {
    const char *slash = strrchr(cpath, '/');
    snprintf(ppath, n, "%.*sposterior.csv", slash ? (int)(slash - cpath + 1) : 0, cpath);
  }
}

/* Write the calibration table to @p cpath and, next to it (or to --posterior), the posterior
 * ensemble, all or nothing; @p ppath gets the posterior's path. */
static int write_tables(const calibrate_result *r, const char *cpath, const char *post_path,
                        char *ppath, size_t n, mn_error *err) {
  posterior_path(cpath, post_path, ppath, n);
  cli_blob b[2] = {{r->ctext, r->clen}, {r->ptext, r->plen}};
  mn_out_item items[2] = {{"", cli_write_blob, &b[0]}, {"", cli_write_blob, &b[1]}};
  snprintf(items[0].path, sizeof items[0].path, "%s", cpath);
  snprintf(items[1].path, sizeof items[1].path, "%s", ppath);
  return mn_io_write_set(items, 2, err);
}

/* Before a chain of hours: each table's directory must take a file (a temporary is made and
 * removed), so that a missing or read-only directory is said now, not when the chain ends. */
static int probe_tables(const char *cpath, const char *post_path, mn_error *err) {
  char ppath[4200];
  const char *paths[2] = {cpath, ppath};
  posterior_path(cpath, post_path, ppath, sizeof ppath);
  for (int i = 0; i < 2; i++) {
    mn_ofile f;
    int rc = mn_ofile_open(&f, paths[i], err);
    if (rc) return rc;
    mn_ofile_abort(&f);
  }
  return MN_OK;
}

/* probe_tables on rank 0 (which writes them), the answer shared with every rank so that they
 * all stop or all go on (a rank left in the chain's collectives would wait for ever). */
static int probe_tables_agreed(const char *cpath, const char *post_path, mn_error *err) {
  const int n = mn_dist_size();
  int lo, hi, rc = mn_dist_rank() == 0 ? probe_tables(cpath, post_path, err) : MN_OK;
  if (n == 1) return rc;
  double *x = mn_calloc((size_t)n, sizeof *x);
  if (!x) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  mn_dist_block(n, &lo, &hi);
  for (int i = lo; i < hi; i++) x[i] = rc;
  int rs = mn_dist_share(x, n, 1, err);
  if (!rs && !rc && x[0] != 0)
    rc =
        MN_ERR(err, MN_EIO, "", "rank 0 cannot write the tables (%s): its message says why", cpath);
  mn_free(x);
  return rs ? rs : rc;
}

static void print_fit(const calibrate_result *r, double t0, const char *cpath, const char *ppath) {
  const mn_calibration *cal = &r->cal;
  const mn_mcmc_diag *dg = &cal->diag;
  printf("mnsim calibrate: posterior of %d parameters tagged C\n", cal->n);
  printf("  likelihood: %s\n  acceptance checks (must hold): %s\n", cal->targets,
         cal->checks[0] ? cal->checks : "none");
  printf(
      "  ensemble sampler: %d walkers x %d steps, burn-in %d, acceptance %.2f; %d model "
      "evaluations, %.1f s\n",
      cal->chain.walkers, cal->chain.steps, cal->opts.burn, dg->acceptance, cal->evals,
      mn_wall_time() - t0);
  printf(
      "  log likelihood %.4g at the prior values -> %.4g at the nominal values (the posterior "
      "%s); every calibration target and check %s there\n",
      cal->loglik0, cal->loglik, cal->nominal_is_median ? "medians" : "MAP: the medians fail",
      cal->nominal_passes ? "passes" : "does NOT pass");
  printf("  %-10s %10s %21s %10s %10s %21s %6s %7s %6s %6s\n", "parameter", "prior", "prior range",
         "nominal", "median", "90 % posterior", "contr", "R-hat", "tau", "ESS");
  for (int k = 0; k < cal->n; k++)
    printf("  %-10s %10.4g %10.4g-%-10.4g %10.4g %10.4g %10.4g-%-10.4g %6.2f %7.4f %6.1f %6.0f\n",
           cal->name[k], cal->prior[k], cal->prior_min[k], cal->prior_max[k], cal->value[k],
           cal->median[k], cal->lo[k], cal->hi[k], cal->contraction[k], dg->rhat[k], dg->tau[k],
           dg->ess[k]);
  int ok = dg->rhat_max < 1.01 && dg->ess_min >= 1000;
  printf("  diagnostics: split R-hat <= %.4f (target < 1.01), ESS >= %.0f (target >= 1000): %s\n",
         dg->rhat_max, dg->ess_min, ok ? "met" : "NOT met: run longer (--steps)");
  printf("  posterior table: %d draws (one step in %d after the burn-in, all walkers)\n", r->draws,
         cal->opts.thin);
  if (cal->resumed_from)
    printf("  resumed from its checkpoint at step %d of %d (the same chain as an unbroken run)\n",
           cal->resumed_from, cal->chain.steps);
  if (cpath) printf("  written to %s and %s\n", cpath, ppath);
}

static void calibrate_help(void) {
  printf(
      "usage: mnsim calibrate [-o FILE] [--posterior FILE] [--params a,b,...] [--walkers N]\n"
      "                       [--steps N] [--burn N] [--thin N] [--seed N] [--max-evals N]\n"
      "                       [--threads N] [--progress] [--checkpoint FILE] [-q]\n\n"
      "Sample the posterior of the healing-model parameters tagged C given the calibration\n"
      "targets of data/targets.csv that mnsim can compute (data/target_models.csv: each row's\n"
      "likelihood from the published spread), starting from the prior table\n"
      "data/healing_params.csv with every other parameter fixed; the seed's statements\n"
      "(acceptance targets) must hold. Prints the nominal values (the posterior medians, or the\n"
      "MAP when the medians fail a target), the posterior\n"
      "quantiles, contraction and the sampler's diagnostics; with -o writes the calibration\n"
      "table and the posterior ensemble behind every uncertainty band (data/calibration.csv and\n"
      "data/posterior.csv are this command's output: `mnsim calibrate -o data/calibration.csv`\n"
      "reproduces both). The default parameters: ");
  for (int i = 0; i < MN_CALIB_FITTED; i++) printf("%s%s", i ? ", " : "", mn_calib_fitted[i]);
  printf(
      ".\n\n"
      "Across nodes: `mpirun -np N mnsim calibrate ...` splits each batch of the sampler's\n"
      "proposals over the N ranks (each using --threads cores); the tables are byte-identical\n"
      "to one process's, and rank 0 alone prints and writes.\n\n"
      "Long chains: with --checkpoint FILE the chain's state is kept in FILE; after Ctrl-C,\n"
      "SIGTERM or a crash, the same command continues from it and gives the same tables as a\n"
      "run never stopped. A FILE of another calibration (other options, priors or build) is\n"
      "refused.\n\n");
  cli_print_options(calibrate_options, sizeof calibrate_options / sizeof calibrate_options[0]);
}

/* --plot DIR: the shipped posterior's figures (posterior.svg, correlation.svg). */
static int plot_shipped(const calibrate_args *a) {
  mn_error err = {0};
  mn_posterior po;
  mn_param_set prior;
  char *svg[2] = {NULL, NULL};
  size_t len[2] = {0, 0};
  memset(&po, 0, sizeof po);
  int rc = mn_param_set_load_prior(&prior, &err);
  if (!rc) rc = mn_posterior_load(&po, &err);
  if (!rc) rc = mn_report_posterior_svgs(&po, &prior, svg, len, &err);
  if (!rc) rc = mn_mkdir_p(a->plot_dir, &err);
  if (!rc) {
    cli_blob b[2] = {{svg[0], len[0]}, {svg[1], len[1]}};
    mn_out_item items[2] = {{"", cli_write_blob, &b[0]}, {"", cli_write_blob, &b[1]}};
    snprintf(items[0].path, sizeof items[0].path, "%s/posterior.svg", a->plot_dir);
    snprintf(items[1].path, sizeof items[1].path, "%s/correlation.svg", a->plot_dir);
    rc = mn_io_write_set(items, 2, &err);
  }
  mn_free(svg[0]);
  mn_free(svg[1]);
  mn_posterior_fini(&po);
  if (rc) return cli_fail(&a->common, &err);
  if (!a->common.quiet)
    printf("mnsim calibrate: %s/posterior.svg and %s/correlation.svg\n", a->plot_dir, a->plot_dir);
  return EXIT_OK;
}

int cmd_calibrate(int argc, char **argv) {
  calibrate_args a = {.burn = -1, .max_evals = -1, .checkpoint_min = 10};
  for (int i = 0; i < MN_CALIB_FITTED; i++) a.names[a.np++] = mn_calib_fitted[i];
  int first = 0, status = cli_parse("calibrate", calibrate_options,
                                    sizeof calibrate_options / sizeof calibrate_options[0],
                                    calibrate_help, argc, argv, &a, &a.common, &first);
  if (status >= 0) return status;
  if (first != argc) return cli_usage_error("calibrate", "no arguments expected");
  if (a.plot_dir) /* under mpirun rank 0 writes the figures */
    return mn_dist_rank() == 0 ? plot_shipped(&a) : EXIT_OK;
  mn_error err = {0};
  calibrate_result r;
  memset(&r, 0, sizeof r);
  char ppath[4200] = "";
  double t0 = mn_wall_time();
  int rc = MN_OK;
  if (a.common.outdir) rc = probe_tables_agreed(a.common.outdir, a.post_path, &err);
  if (!rc) rc = calibrate_tables(&a, &r, &err);
  if (!rc && a.common.outdir && mn_dist_rank() == 0) /* under mpirun rank 0 writes */
    rc = write_tables(&r, a.common.outdir, a.post_path, ppath, sizeof ppath, &err);
  if (!rc && !a.common.quiet && mn_dist_rank() == 0) print_fit(&r, t0, a.common.outdir, ppath);
  if (!rc && a.checkpoint && mn_dist_rank() == 0 && remove(a.checkpoint) != 0 && errno != ENOENT)
    mn_log(MN_LOG_WARN, "cannot remove the checkpoint %s: %s", a.checkpoint, strerror(errno));
  int passes = r.cal.nominal_passes;
  mn_free(r.ctext);
  mn_free(r.ptext);
  mn_calibration_fini(&r.cal);
  if (rc) return cli_fail(&a.common, &err);
  if (!passes) {
    fprintf(stderr,
            "mnsim: calibrate: a calibration target or acceptance check fails at the "
            "nominal values (see `mnsim validate --draws 0`)\n");
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}
