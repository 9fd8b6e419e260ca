/* Targets and their evaluation (`mnsim validate`): data/targets.csv lists the published values
 * with role and source; data/target_models.csv says how mnsim computes each one. Model rows run
 * the row's protocol as a lumped course with the nominal parameters and over the ensemble's
 * draws; the verdict compares the median with the published range. Stage: infer. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mnsim/infer.h"

extern const char mn__data_targets_csv[];
extern const size_t mn__data_targets_csv_len;
extern const char mn__data_target_models_csv[];
extern const size_t mn__data_target_models_csv_len;

static const char *const role_names[] = {"calibration", "validation", "input-check", "acceptance"};
enum { NROLES = 4 };
static const char *const verdict_names[] = {"pass", "FAIL", "not evaluated", "not judged"};

const char *mn_target_role_name(int role) {
  return role >= 0 && role < NROLES ? role_names[role] : "?";
}
const char *mn_verdict_name(int v) {
  return v >= 0 && v < 4 ? verdict_names[v] : "?";
}

static const char *const derived[] = {"mature_ratio_90_180",
                                      "mature_ratio_180_365",
                                      "collagen_ratio_90_180",
                                      "collagen_ratio_180_365",
                                      "pih_pct",
                                      "fill_pct",
                                      "gb_grade_change",
                                      "gb_grade_change_mix",
                                      "lemperle_change"};
static const char *const inputs[] = {"dermis_um", "epidermis_um", "pen_rate", "roller_density",
                                     "depth_ratio"};

static int scalar_index(const char *q) {
  for (int k = 0; k < MN_OQ_COUNT; k++)
    if (!strcmp(q, mn_outcome_scalar_name(k))) return k;
  return -1;
}

int mn_target_quantity_known(const char *q, int kind) {
  if (kind == MN_EVAL_MODEL) {
    for (size_t i = 0; i < sizeof derived / sizeof *derived; i++)
      if (!strcmp(q, derived[i])) return 1;
    return scalar_index(q) >= 0;
  }
  if (kind == MN_EVAL_INPUT)
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
      if (!strcmp(q, inputs[i])) return 1;
  return kind == MN_EVAL_NONE;
}

void mn_validation_fini(mn_validation *v) {
  if (!v) return;
  mn_free(v->targets);
  mn_free(v->rows);
  memset(v, 0, sizeof *v);
}

static void copy(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src);
}

/* a number, or the open end @p open when the field is empty */
static int number_or(const mn_csv *c, int r, int col, double open, double *out, mn_error *err) {
  if (!c->rows[r][col][0]) {
    *out = open;
    return MN_OK;
  }
  return mn_csv_double(c, r, col, out, err);
}

static int parse_targets(const mn_csv *c, mn_validation *v, mn_error *err) {
  static const char *const cols[8] = {"id",   "role",       "quantity",  "value",
                                      "unit", "time_point", "condition", "source"};
  int rc = MN_OK, col[8];
  for (int j = 0; j < 8; j++) MN_TRY(mn_csv_require(c, cols[j], &col[j], err));
  v->targets = mn_calloc((size_t)c->nrows + 1, sizeof *v->targets);
  MN_CHECK(v->targets, err, MN_ENOMEM, "", "out of memory for the targets");
  for (int r = 0; r < c->nrows; r++) {
    mn_target *t = &v->targets[v->ntargets++];
    const char *const *f = (const char *const *)c->rows[r];
    copy(t->id, sizeof t->id, f[col[0]]);
    t->role = -1;
    for (int k = 0; k < NROLES; k++)
      if (!strcmp(f[col[1]], role_names[k])) t->role = k;
    MN_CHECK(t->role >= 0, err, MN_EINPUT, "",
             "%s:%d: role '%s' of %s; allowed calibration, validation, input-check, acceptance",
             c->name, c->lineno[r], f[col[1]], t->id);
    for (int q = 0; q < r; q++)
      MN_CHECK(strcmp(v->targets[q].id, t->id), err, MN_EINPUT, "", "%s:%d: target %s given twice",
               c->name, c->lineno[r], t->id);
    copy(t->quantity, sizeof t->quantity, f[col[2]]);
    copy(t->value, sizeof t->value, f[col[3]]);
    copy(t->unit, sizeof t->unit, f[col[4]]);
    copy(t->time_point, sizeof t->time_point, f[col[5]]);
    copy(t->condition, sizeof t->condition, f[col[6]]);
    copy(t->source, sizeof t->source, f[col[7]]);
    t->first = -1;
    t->verdict = MN_VERDICT_NOT_EVALUATED;
  }
cleanup:
  return rc;
}

/* The likelihood columns: likelihood (empty, normal, interval, binomial, check), l1, l2, and the
 * optional l3 (normal and interval: the observation model's reading error, an SD). Only
 * model rows of calibration targets enter the likelihood and only acceptance targets are checks:
 * a validation target is never fitted. */
static int parse_likelihood(const mn_csv *c, int r, const int *col, mn_target_eval *e, int role,
                            mn_error *err) {
  static const char *const names[5] = {"", "normal", "interval", "binomial", "check"};
  int rc = MN_OK, line = c->lineno[r];
  const char *lk = c->rows[r][col[17]];
  e->lik = -1;
  for (int k = 0; k < 5; k++)
    if (!strcmp(lk, names[k])) e->lik = k;
  MN_CHECK(e->lik >= 0, err, MN_EINPUT, "",
           "%s:%d: likelihood '%s'; allowed normal, interval, binomial, check or empty", c->name,
           line, lk);
  int c3 = mn_csv_col(c, "l3");
  if (c3 >= 0) MN_TRY(number_or(c, r, c3, 0, &e->l3, err));
  MN_CHECK(e->l3 == 0 || (e->l3 > 0 && isfinite(e->l3) &&
                          (e->lik == MN_LIK_NORMAL || e->lik == MN_LIK_INTERVAL)),
           err, MN_EINPUT, "",
           "%s:%d: l3 (the reading error's SD) must be >= 0 and is allowed with the normal and "
           "interval likelihoods only",
           c->name, line);
  if (e->lik == MN_LIK_NONE) return MN_OK;
  MN_CHECK(e->kind == MN_EVAL_MODEL, err, MN_EINPUT, "", "%s:%d: a likelihood needs evaluate model",
           c->name, line);
  MN_CHECK((e->lik == MN_LIK_CHECK) == (role == MN_TARGET_ACCEPTANCE) &&
               (e->lik == MN_LIK_CHECK || role == MN_TARGET_CALIBRATION),
           err, MN_EINPUT, "",
           "%s:%d: likelihood %s for a %s target: calibration targets take normal, interval or "
           "binomial, acceptance targets check, the others none",
           c->name, line, lk, role_names[role]);
  MN_TRY(number_or(c, r, col[18], NAN, &e->l1, err));
  MN_TRY(number_or(c, r, col[19], NAN, &e->l2, err));
  if (e->lik == MN_LIK_NORMAL || e->lik == MN_LIK_INTERVAL)
    MN_CHECK(e->l2 > 0 && (e->lik == MN_LIK_INTERVAL || isfinite(e->l1)), err, MN_EINPUT, "",
             "%s:%d: %s likelihood needs l1 (the mean) and l2 > 0 (its SD)", c->name, line, lk);
  if (e->lik == MN_LIK_BINOMIAL)
    MN_CHECK(e->l2 >= 1 && e->l1 >= 0 && e->l1 <= e->l2 && e->l1 == floor(e->l1) &&
                 e->l2 == floor(e->l2),
             err, MN_EINPUT, "", "%s:%d: binomial likelihood needs l1 events of l2 patients",
             c->name, line);
  if (e->lik == MN_LIK_INTERVAL || e->lik == MN_LIK_CHECK)
    MN_CHECK(isfinite(e->lo) || isfinite(e->hi), err, MN_EINPUT, "",
             "%s:%d: %s likelihood needs lo or hi", c->name, line, lk);
cleanup:
  return rc;
}

static int parse_row(const mn_csv *c, int r, const int *col, mn_validation *v, mn_error *err) {
  int rc = MN_OK, line = c->lineno[r];
  const char *const *f = (const char *const *)c->rows[r];
  mn_target_eval *e = &v->rows[v->nrows];
  memset(e, 0, sizeof *e);
  e->target = -1;
  for (int t = 0; t < v->ntargets; t++)
    if (!strcmp(v->targets[t].id, f[col[0]])) e->target = t;
  MN_CHECK(e->target >= 0, err, MN_EINPUT, "", "%s:%d: '%s' is not a target of data/targets.csv",
           c->name, line, f[col[0]]);
  static const char *const kinds[3] = {"model", "input", "none"};
  e->kind = -1;
  for (int k = 0; k < 3; k++)
    if (!strcmp(f[col[1]], kinds[k])) e->kind = k;
  MN_CHECK(e->kind >= 0, err, MN_EINPUT, "", "%s:%d: evaluate '%s'; allowed model, input, none",
           c->name, line, f[col[1]]);
  mn_target *t = &v->targets[e->target];
  MN_CHECK(t->first < 0 || t->first + t->count == v->nrows, err, MN_EINPUT, "",
           "%s:%d: the rows of %s must be adjacent", c->name, line, t->id);
  if (t->first < 0) t->first = v->nrows;
  t->count++;
  v->nrows++;
  copy(e->note, sizeof e->note, f[col[16]]);
  if (e->kind == MN_EVAL_NONE) {
    e->verdict = MN_VERDICT_NOT_EVALUATED;
    MN_CHECK(e->note[0], err, MN_EINPUT, "", "%s:%d: a row without evaluation needs a note",
             c->name, line);
    return MN_OK;
  }
  copy(e->quantity, sizeof e->quantity, f[col[11]]);
  MN_CHECK(mn_target_quantity_known(e->quantity, e->kind), err, MN_EINPUT, "",
           "%s:%d: quantity '%s' is not known for evaluate %s (see mnsim validate --quantities)",
           c->name, line, e->quantity, kinds[e->kind]);
  static const char *const rules[3] = {"in", "covers", "report"};
  e->rule = -1;
  for (int k = 0; k < 3; k++)
    if (!strcmp(f[col[13]], rules[k])) e->rule = k;
  MN_CHECK(e->rule >= 0, err, MN_EINPUT, "", "%s:%d: rule '%s'; allowed in, covers, report",
           c->name, line, f[col[13]]);
  MN_TRY(number_or(c, r, col[14], -INFINITY, &e->lo, err));
  MN_TRY(number_or(c, r, col[15], INFINITY, &e->hi, err));
  /* a row reported, not judged, has no range to be judged by, and only a validation target
   * may go unjudged: what is fitted or must hold always gets a verdict */
  MN_CHECK(e->rule != MN_RULE_REPORT ||
               (t->role == MN_TARGET_VALIDATION && isinf(e->lo) && isinf(e->hi) && !f[col[17]][0]),
           err, MN_EINPUT, "",
           "%s:%d: rule report is for validation targets only, with lo, hi and likelihood empty",
           c->name, line);
  MN_TRY(number_or(c, r, col[12], 0, &e->arg, err));
  MN_CHECK(e->lo <= e->hi, err, MN_EINPUT, "", "%s:%d: lo > hi", c->name, line);
  MN_TRY(parse_likelihood(c, r, col, e, t->role, err));
  copy(e->skin.region, sizeof e->skin.region, f[col[2]][0] ? f[col[2]] : "cheek");
  e->skin.age_y = 40;
  e->skin.sex = !strcmp(f[col[3]], "male") ? MN_SEX_MALE : MN_SEX_FEMALE;
  e->skin.fitzpatrick = 3;
  if (f[col[4]][0]) {
    double fz;
    MN_TRY(mn_csv_double(c, r, col[4], &fz, err));
    e->skin.fitzpatrick = (int)fz;
  }
  copy(e->dev.model, sizeof e->dev.model, f[col[5]]);
  if (e->kind == MN_EVAL_MODEL) {
    double s;
    MN_TRY(mn_csv_double(c, r, col[6], &e->dev.depth_mm, err));
    MN_TRY(mn_csv_double(c, r, col[7], &e->density_cm2, err));
    MN_TRY(mn_csv_double(c, r, col[8], &s, err));
    MN_TRY(mn_csv_double(c, r, col[9], &e->interval_day, err));
    MN_TRY(mn_csv_double(c, r, col[10], &e->days, err));
    e->sessions = (int)s;
    MN_CHECK(e->sessions >= 1 && e->sessions <= MN_MAX_SESSIONS &&
                 e->days > (e->sessions - 1) * e->interval_day && e->density_cm2 > 0,
             err, MN_EINPUT, "", "%s:%d: sessions, interval, days or density out of range", c->name,
             line);
  }
cleanup:
  return rc;
}

int mn_validation_parse(const char *targets, size_t tlen, const char *models, size_t mlen,
                        mn_validation *v, mn_error *err) {
  static const char *const cols[20] = {
      "id",          "evaluate", "region",       "sex",        "fitzpatrick", "device", "depth_mm",
      "density_cm2", "sessions", "interval_day", "days",       "quantity",    "arg",    "rule",
      "lo",          "hi",       "note",         "likelihood", "l1",          "l2"};
  int rc = MN_OK, col[20];
  mn_csv tc, mc;
  memset(v, 0, sizeof *v);
  memset(&tc, 0, sizeof tc);
  memset(&mc, 0, sizeof mc);
  MN_TRY(mn_csv_parse(targets, tlen, "data/targets.csv", &tc, err));
  MN_TRY(mn_csv_parse(models, mlen, "data/target_models.csv", &mc, err));
  MN_TRY(parse_targets(&tc, v, err));
  for (int j = 0; j < 20; j++) MN_TRY(mn_csv_require(&mc, cols[j], &col[j], err));
  v->rows = mn_calloc((size_t)mc.nrows + 1, sizeof *v->rows);
  MN_CHECK(v->rows, err, MN_ENOMEM, "", "out of memory for the target rows");
  for (int r = 0; r < mc.nrows; r++) MN_TRY(parse_row(&mc, r, col, v, err));
  for (int t = 0; t < v->ntargets; t++)
    MN_CHECK(v->targets[t].count > 0, err, MN_EINPUT, "",
             "data/target_models.csv: target %s has no row (evaluate none with a note if mnsim "
             "cannot compute it)",
             v->targets[t].id);
cleanup:
  mn_csv_fini(&tc);
  mn_csv_fini(&mc);
  if (rc) mn_validation_fini(v);
  return rc;
}

int mn_validation_load(mn_validation *v, mn_error *err) {
  return mn_validation_parse(mn__data_targets_csv, mn__data_targets_csv_len,
                             mn__data_target_models_csv, mn__data_target_models_csv_len, v, err);
}

/* The expected Goodman-Baron grade's change for a scar of type @p type and depth @p d0 whose
 * skin gained the papillary collagen fraction @p gain. */
static double gb_change(const mn_model_params *m, int type, double d0, double gain) {
  return mn_outcome_goodman_baron(d0 * (1 - mn_outcome_depth_loss(m, type, gain))) -
         mn_outcome_goodman_baron(d0);
}

/* A row's quantity from the course's outcome @p o with parameters @p m. The clinical scales read
 * the papillary collagen gain at the row's last day (docs/design/observation-v2.md). */
static double quantity_of(const mn_target_eval *r, const mn_outcome *o, const mn_model_params *m) {
  const char *q = r->quantity;
  double gain = o->collagen_end_pct[0] / 100;
  if (!strcmp(q, "mature_ratio_90_180")) return o->mature_pct[0][1] / o->mature_pct[0][2];
  if (!strcmp(q, "mature_ratio_180_365")) return o->mature_pct[0][2] / o->mature_pct[0][3];
  if (!strcmp(q, "collagen_ratio_90_180")) return o->collagen_pct[0][1] / o->collagen_pct[0][2];
  if (!strcmp(q, "collagen_ratio_180_365")) return o->collagen_pct[0][2] / o->collagen_pct[0][3];
  if (!strcmp(q, "pih_pct")) return 100 * o->pih_risk;
  if (!strcmp(q, "fill_pct")) /* the share of depth mixed acne scars lose (a score's change) */
    return 100 * mn_outcome_depth_loss_mix(m, gain);
  if (!strcmp(q, "gb_grade_change")) /* rolling scars of depth arg (um) */
    return gb_change(m, MN_LESION_ROLLING, r->arg, gain);
  if (!strcmp(q, "gb_grade_change_mix")) { /* mixed scars of mean grade arg */
    static const int types[3] = {MN_LESION_ICEPICK, MN_LESION_BOXCAR, MN_LESION_ROLLING};
    double d0 = mn_outcome_goodman_baron_depth(r->arg), c = 0;
    for (int k = 0; k < 3; k++) c += mn_outcome_scar_mix[k] * gb_change(m, types[k], d0, gain);
    return c;
  }
  if (!strcmp(q, "lemperle_change")) { /* wrinkles of depth arg (um) */
    double d = r->arg * (1 - mn_outcome_depth_loss(m, MN_LESION_WRINKLE, gain));
    return mn_outcome_lemperle(d) - mn_outcome_lemperle(r->arg);
  }
  return mn_outcome_scalar(o, scalar_index(q));
}

int mn_target_same_protocol(const mn_target_eval *a, const mn_target_eval *b) {
  return !strcmp(a->skin.region, b->skin.region) && a->skin.sex == b->skin.sex &&
         a->skin.age_y == b->skin.age_y && a->skin.fitzpatrick == b->skin.fitzpatrick &&
         !strcmp(a->dev.model, b->dev.model) && a->dev.depth_mm == b->dev.depth_mm &&
         a->density_cm2 == b->density_cm2 && a->sessions == b->sessions &&
         a->interval_day == b->interval_day && a->days == b->days;
}

double mn_target_eval_model(const mn_target_eval *r, const mn_model_params *m,
                            const mn_skin_atlas *atlas, const mn_device_catalogue *cat) {
  int zero = 0;
  double v;
  mn_target_eval_rows(r, &zero, 1, m, atlas, cat, &v);
  return v;
}

/* Rows idx[0..n) of one protocol for parameter set m, as course mode @p mode (lumped, or a 3D
 * unit cell with the case file's grid and solver defaults). */
static void eval_rows_mode(const mn_target_eval *rows, const int *idx, int n,
                           const mn_model_params *m, const mn_skin_atlas *atlas,
                           const mn_device_catalogue *cat, int mode, uint64_t seed, double *x) {
  const mn_target_eval *r = &rows[idx[0]];
  mn_error e = {0};
  mn_skin sk;
  mn_device dev;
  mn_course *c = NULL;
  for (int i = 0; i < n; i++) x[i] = NAN;
  memset(&dev, 0, sizeof dev);
  if (mn_skin_build(atlas, &r->skin, &sk, &e) || mn_device_init(&dev, cat, &r->dev, &e))
    goto cleanup;
  mn_course_params p;
  mn_course_params_default(&p);
  mn_grid_params gp;
  mn_solver_params sp;
  size_t ng, ns;
  const mn_config_desc *gt = mn_grid_param_table(&ng), *st = mn_solver_param_table(&ns);
  mn_config_defaults(gt, ng, &gp);
  mn_config_defaults(st, ns, &sp);
  p.mode = mode;
  p.grid = &gp;
  p.solver = &sp;
  p.supersample = 4; /* the case file's default */
  p.seed = seed;
  p.model = m;
  p.fitzpatrick = r->skin.fitzpatrick;
  p.skin = &sk;
  p.dev = &dev;
  p.density_cm2 = r->density_cm2;
  p.depth_mm = r->dev.depth_mm;
  p.sessions = r->sessions;
  p.interval_day = r->interval_day;
  p.days = r->days;
  mn_outcome o;
  if (mn_course_create(&p, &c, &e) == MN_OK && mn_course_run(c, &e) == MN_OK &&
      mn_course_outcome(c, &o, &e) == MN_OK)
    for (int i = 0; i < n; i++) x[i] = quantity_of(&rows[idx[i]], &o, m);
cleanup:
  mn_course_destroy(c);
  mn_device_fini(&dev);
}

void mn_target_eval_rows(const mn_target_eval *rows, const int *idx, int n,
                         const mn_model_params *m, const mn_skin_atlas *atlas,
                         const mn_device_catalogue *cat, double *x) {
  eval_rows_mode(rows, idx, n, m, atlas, cat, MN_COURSE_LUMPED, 1, x);
}

double mn_target_eval_model_3d(const mn_target_eval *r, const mn_model_params *m,
                               const mn_skin_atlas *atlas, const mn_device_catalogue *cat,
                               uint64_t seed) {
  int zero = 0;
  double v;
  eval_rows_mode(r, &zero, 1, m, atlas, cat, MN_COURSE_UNIT_CELL, seed, &v);
  return v;
}

/* inputs: one value; depth_ratio also a band (the class's range) */
static int eval_input(mn_target_eval *r, const mn_skin_atlas *atlas, const mn_device_catalogue *cat,
                      mn_error *err) {
  int rc = MN_OK;
  const char *q = r->quantity;
  r->q05 = r->q95 = NAN;
  if (!strcmp(q, "dermis_um") || !strcmp(q, "epidermis_um")) {
    mn_skin sk;
    MN_TRY(mn_skin_build(atlas, &r->skin, &sk, err));
    r->nominal = !strcmp(q, "dermis_um")
                     ? sk.thickness_um[MN_LAYER_PD] + sk.thickness_um[MN_LAYER_RD]
                     : sk.thickness_um[MN_LAYER_VE];
  } else {
    mn_device dev;
    mn_device_params dp = r->dev;
    memset(&dev, 0, sizeof dev);
    dp.depth_mm = 0; /* the catalogue's default */
    const mn_device_spec *spec;
    MN_TRY(mn_device_catalogue_find(cat, dp.model, &spec, err));
    dp.depth_mm = spec->depth_mm_max; /* any valid depth: inputs do not depend on it */
    MN_TRY(mn_device_init(&dev, cat, &dp, err));
    if (!strcmp(q, "pen_rate"))
      r->nominal = dev.spec.needles * dev.rate_hz;
    else if (!strcmp(q, "roller_density")) {
      mn_pass_params pp;
      size_t n;
      const mn_config_desc *tab = mn_pass_param_table(&n);
      mn_config_defaults(tab, n, &pp);
      r->nominal = r->arg * mn_device_pass_density_cm2(&dev, &pp);
    } else {
      r->nominal = dev.cls.depth_ratio;
      r->q05 = dev.cls.ratio_min, r->q95 = dev.cls.ratio_max;
    }
    mn_device_fini(&dev);
  }
  r->median = r->nominal;
  if (!isfinite(r->q05)) r->q05 = r->q95 = r->nominal;
cleanup:
  return rc;
}

typedef struct job {
  const mn_target_eval *r;
  const mn_skin_atlas *atlas;
  const mn_device_catalogue *cat;
  const mn_model_params *draws; /* the 3D check's draws (NULL: the nominal run) */
} job;

static int eval_draw(const mn_model_params *m, void *user, double *values, mn_error *err) {
  const job *j = user;
  values[0] = mn_target_eval_model(j->r, m, j->atlas, j->cat);
  return isfinite(values[0]) ? MN_OK : MN_ERR(err, MN_ENUMERIC, "", "run failed");
}

/* the 3D check: values[0] the 3D unit cell's, values[1] the lumped twin's. A unit cell's later
 * sessions land at one random place each (the seed's), one sample of the channels' relative
 * places, which the lumped twin averages (tests/agreement): the nominal run takes seed 1 and
 * draw i seed i + 2, so that the draws' band and median average over the places too. */
static int eval_draw_3d(const mn_model_params *m, void *user, double *values, mn_error *err) {
  const job *j = user;
  uint64_t seed = j->draws ? (uint64_t)(m - j->draws) + 2 : 1;
  values[0] = mn_target_eval_model_3d(j->r, m, j->atlas, j->cat, seed);
  values[1] = mn_target_eval_model(j->r, m, j->atlas, j->cat);
  return isfinite(values[0]) && isfinite(values[1]) ? MN_OK
                                                    : MN_ERR(err, MN_ENUMERIC, "", "run failed");
}

/* Row r's model evaluation: the nominal run and the draws' band, and for the 3D check the
 * lumped twin beside each run. @p val has room for 2 kept values. */
static void eval_model_row(mn_target_eval *r, const mn_param_set *ps, const mn_model_params *set,
                           int kept, int dropped, int model3d, int threads, job *j, double *val) {
  r->lumped_median = r->diff_median = r->diff_max = NAN;
  if (!model3d) {
    r->nominal = mn_target_eval_model(r, &ps->p, j->atlas, j->cat);
    r->median = r->nominal, r->q05 = r->q95 = NAN;
    if (kept > 0) {
      mn_course_eval_draws(set, kept, 1, eval_draw, j, threads, val, &r->failed, NULL);
      double q[3];
      mn_quantiles(val, kept, q);
      r->q05 = q[0], r->median = q[1], r->q95 = q[2];
      r->kept = kept - r->failed, r->dropped = dropped;
    }
    return;
  }
  double nom[2];
  mn_error e = {0};
  (void)eval_draw_3d(&ps->p, j, nom, &e);
  r->nominal = r->median = nom[0], r->q05 = r->q95 = NAN;
  double *d3 = val, *dl = val + kept + 1, *df = val + 2 * (kept + 1);
  int n = 0;
  if (kept > 0) {
    double *pair = val + 3 * (kept + 1); /* room for 2 kept */
    job jd = *j;                         /* the draws' seeds from their place in set */
    jd.draws = set;
    mn_course_eval_draws(set, kept, 2, eval_draw_3d, &jd, threads, pair, &r->failed, NULL);
    for (int i = 0; i < kept; i++) d3[i] = pair[2 * i], dl[i] = pair[2 * i + 1];
    double q[3];
    mn_quantiles(d3, kept, q);
    r->q05 = q[0], r->median = q[1], r->q95 = q[2];
    mn_quantiles(dl, kept, q);
    r->lumped_median = q[1];
    r->kept = kept - r->failed, r->dropped = dropped;
    for (int i = 0; i < kept; i++) /* the quantiles sorted d3 and dl: take the pairs again */
      if (isfinite(pair[2 * i]) && isfinite(pair[2 * i + 1]))
        df[n++] = pair[2 * i] - pair[2 * i + 1];
  } else
    r->lumped_median = nom[1];
  if (isfinite(nom[0]) && isfinite(nom[1])) df[n++] = nom[0] - nom[1];
  double worst = NAN;
  for (int i = 0; i < n; i++)
    if (!(fabs(df[i]) <= fabs(worst))) worst = df[i];
  r->diff_max = worst;
  if (n > 0) {
    double q[3];
    mn_quantiles(df, n, q);
    r->diff_median = q[1];
  }
}

/* Target @p t is asked for: its role (only_role -1: any) and v->only_id ("" any). */
static int selected(const mn_validation *v, int t, int only_role) {
  const mn_target *tg = &v->targets[t];
  return (only_role < 0 || (int)tg->role == only_role) &&
         (!v->only_id[0] || !strcmp(tg->id, v->only_id));
}

int mn_validation_run(mn_validation *v, const mn_param_set *ps, int source, int draws,
                      uint64_t seed, int threads, int only_role, mn_error *err) {
  int rc = MN_OK;
  mn_skin_atlas *atlas = NULL;
  mn_device_catalogue *cat = NULL;
  mn_model_params *set = NULL;
  double *val = NULL;
  int kept = 0, dropped = 0;
  MN_TRY(mn_skin_atlas_create(&atlas, err));
  MN_TRY(mn_device_catalogue_create(&cat, err));
  /* the values: a draw's (twice: 3D and lumped), their differences and the pairs */
  val = mn_malloc_array((size_t)(5 * (draws + 1)), sizeof *val);
  MN_CHECK(val, err, MN_ENOMEM, "", "out of memory for %d draws", draws);
  if (draws > 0) {
    set = mn_malloc_array((size_t)draws, sizeof *set);
    MN_CHECK(set, err, MN_ENOMEM, "", "out of memory for %d draws", draws);
    MN_TRY(mn_ensemble(ps, source, draws, seed, set, &kept, &dropped, err));
  }
  for (int i = 0; i < v->nrows; i++) {
    mn_target_eval *r = &v->rows[i];
    if (mn_dist_stopped()) { /* checked before each row: the draws of the last one were skipped */
      rc = mn_stop_error(err, "evaluating the targets");
      goto cleanup;
    }
    if (!selected(v, r->target, only_role)) continue;
    if (r->kind == MN_EVAL_NONE) continue;
    if (r->kind == MN_EVAL_INPUT) {
      MN_TRY(eval_input(r, atlas, cat, err));
    } else {
      job j = {r, atlas, cat, NULL};
      eval_model_row(r, ps, set, kept, dropped, v->model3d, threads, &j, val);
    }
    if (r->rule == MN_RULE_REPORT) {
      r->verdict = MN_VERDICT_NOT_JUDGED;
      if (v->progress) mn_progress_update(v->progress, (i + 1.0) / v->nrows);
      continue;
    }
    int ok = r->rule == MN_RULE_IN ? r->median >= r->lo && r->median <= r->hi
                                   : r->hi >= r->q05 && r->lo <= r->q95;
    /* what was fitted, and what must hold, passes at the nominal values too */
    int role = v->targets[r->target].role;
    if (r->kind == MN_EVAL_MODEL && r->rule == MN_RULE_IN &&
        (role == MN_TARGET_CALIBRATION || role == MN_TARGET_ACCEPTANCE))
      ok = ok && r->nominal >= r->lo && r->nominal <= r->hi;
    r->verdict = isfinite(r->median) && ok ? MN_VERDICT_PASS : MN_VERDICT_FAIL;
    if (v->progress) mn_progress_update(v->progress, (i + 1.0) / v->nrows);
  }
  for (int t = 0; t < v->ntargets; t++) {
    mn_target *tg = &v->targets[t];
    int any = 0, bad = 0, shown = 0;
    for (int i = tg->first; i < tg->first + tg->count; i++) {
      if (v->rows[i].kind == MN_EVAL_NONE) continue;
      if (!selected(v, t, only_role)) continue;
      if (v->rows[i].rule == MN_RULE_REPORT) {
        shown = 1;
        continue;
      }
      any = 1;
      bad |= v->rows[i].verdict != MN_VERDICT_PASS;
    }
    tg->verdict = any     ? (bad ? MN_VERDICT_FAIL : MN_VERDICT_PASS)
                  : shown ? MN_VERDICT_NOT_JUDGED
                          : MN_VERDICT_NOT_EVALUATED;
  }
  if (mn_dist_stopped()) rc = mn_stop_error(err, "evaluating the targets");
cleanup:
  mn_free(set);
  mn_free(val);
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  return rc;
}
