/* Case files of `mnsim device` and `mnsim simulate`: YAML walked against the modules' descriptor
 * tables (yaml_walk.c) into an mn_case, then the treatment region settled and checked. Every
 * error names the file, line, column and key path; unknown keys get the nearest valid key.
 * Pipeline: io; the case's sections feed skin, device, grid, the solver and course.
 * Reference: docs/config.md (generated from the tables below and the modules'). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "io_impl.h"

/* The case being filled: the walker's user pointer. Handlers ignore their obj argument and fill
 * the case through it. */
#define CASE(x) ((mn_case *)(x)->user)

void mn_case_locate(const mn_case *c, mn_error *err) {
  if (c) mn__y_locate(c->file, c->locs, c->n_locs, err);
}

/* Top-level scalar keys of a case file. */
static const mn_config_desc case_table[] = {
    {"seed", MN_CONFIG_SEED, "", 1, 0, 0, NULL, NULL, offsetof(mn_case, seed), sizeof(uint64_t),
     "random seed: the same seed and inputs give identical outputs"},
    {"description", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", offsetof(mn_case, description),
     sizeof(((mn_case *)0)->description), "free text shown in reports"},
};
/* The rectangle form of treatment.outline_mm (finish_outline builds the polygon). */
static const mn_config_desc treatment_table[] = {
    {"width_mm", MN_CONFIG_DOUBLE, "mm", 20, 0.1, 500, NULL, NULL, offsetof(mn_case, width_mm),
     sizeof(double), "width of a rectangular region centred on the origin (without outline_mm)"},
    {"height_mm", MN_CONFIG_DOUBLE, "mm", 20, 0.1, 500, NULL, NULL, offsetof(mn_case, height_mm),
     sizeof(double), "height of the rectangular region (without outline_mm)"},
};
/* Keys of the `simulate` section (mn_simulate_params, io's own struct). */
static const char *const mode_names[] = {"unit_cell", "patch", "lumped", NULL};
static const char *const precision_names[] = {"float32", "float64", NULL};
static const char *const ensemble_names[] = {"posterior", "prior", NULL};
static const mn_config_desc simulate_table[] = {
    {"mode", MN_CONFIG_ENUM, "", MN_COURSE_UNIT_CELL, 0, 2, mode_names, NULL,
     offsetof(mn_simulate_params, mode), sizeof(int),
     "unit_cell: one channel in a periodic cell at the treatment's density; patch: the "
     "treatment's punctures over its region (periodic patch); lumped: the ODE twin (near and "
     "far zone per layer, milliseconds)"},
    {"density_per_cm2", MN_CONFIG_DOUBLE, "1/cm2", 0, 0, 20000, NULL, NULL,
     offsetof(mn_simulate_params, density_per_cm2), sizeof(double),
     "unit cell: punctures per cm2; 0 = the passes' geometric density"},
    {"days", MN_CONFIG_DOUBLE, "day", 180, 0.01, 3650, NULL, NULL,
     offsetof(mn_simulate_params, days), sizeof(double), "simulated days after the first session"},
    {"sessions", MN_CONFIG_INT, "", 1, 1, MN_MAX_SESSIONS, NULL, NULL,
     offsetof(mn_simulate_params, sessions), sizeof(int), "number of sessions"},
    {"interval_day", MN_CONFIG_DOUBLE, "day", 42, 1, 365, NULL, NULL,
     offsetof(mn_simulate_params, interval_day), sizeof(double), "days between sessions"},
    {"sample_hours", MN_CONFIG_DOUBLE, "h", 1, 0.05, 24, NULL, NULL,
     offsetof(mn_simulate_params, sample_hours), sizeof(double),
     "time-series sampling in the week after each session (daily afterwards)"},
    {"checkpoint_min", MN_CONFIG_DOUBLE, "min", 10, 0, 1440, NULL, NULL,
     offsetof(mn_simulate_params, checkpoint_min), sizeof(double),
     "wall-clock minutes between checkpoints; 0 = only when interrupted"},
    {"supersample", MN_CONFIG_INT, "", 4, 1, 16, NULL, NULL,
     offsetof(mn_simulate_params, supersample), sizeof(int),
     "lateral samples per cell side when rasterising channels"},
    {"precision", MN_CONFIG_ENUM, "", MN_PREC_FLOAT32, 0, 1, precision_names, NULL,
     offsetof(mn_simulate_params, precision), sizeof(int), "storage of fields.h5"},
    {"uq_draws", MN_CONFIG_INT, "", 200, 0, 5000, NULL, NULL,
     offsetof(mn_simulate_params, uq_draws), sizeof(int),
     "parameter draws for the outcome bands (lumped twin): the first N of the posterior "
     "ensemble (400 draws), or N Latin-hypercube draws with uq_ensemble: prior; 0 = nominal "
     "values only"},
    {"uq_ensemble", MN_CONFIG_ENUM, "", MN_ENSEMBLE_POSTERIOR, 0, 1, ensemble_names, NULL,
     offsetof(mn_simulate_params, uq_ensemble), sizeof(int),
     "posterior (draws weighted by the calibration targets, data/posterior.csv) or prior "
     "(Latin-hypercube draws of the calibrated ranges, seeded by `seed`)"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const mn_config_desc *mn_simulate_param_table(size_t *n) {
  *n = COUNT(simulate_table);
  return simulate_table;
}

const mn_config_desc *mn__case_table(size_t *n) {
  *n = COUNT(case_table);
  return case_table;
}
const mn_config_desc *mn__treatment_table(size_t *n) {
  *n = COUNT(treatment_table);
  return treatment_table;
}

/* skin.lesions: a list of sections, each from the lesion table's defaults. n_lesions is set only
 * once every entry has parsed. */
static int on_lesions(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = mn__y_need_list(x, path, v, MN_MAX_LESIONS, &n);
  if (rc) return rc;
  mn_case *c = CASE(x);
  size_t nt;
  const mn_config_desc *tab = mn_lesion_param_table(&nt);
  mn_free(c->lesions);
  c->lesions = mn_calloc((size_t)n + 1, sizeof *c->lesions);
  c->n_lesions = 0;
  if (!c->lesions) return mn__y_fail(x, v, MN_ENOMEM, path, "out of memory reading %s", path);
  rc = mn__y_walk_items(x, path, v, tab, nt, c->lesions, sizeof *c->lesions, n);
  if (rc == MN_OK) c->n_lesions = n;
  return rc;
}

/* treatment.passes: replaces the default single pass; an empty list is refused. */
static int on_passes(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = mn__y_need_list(x, path, v, MN_MAX_PASSES, &n);
  if (rc) return rc;
  if (n == 0) return mn__y_fail(x, v, MN_EINPUT, path, "%s is empty; list at least one pass", path);
  size_t nt;
  const mn_config_desc *tab = mn_pass_param_table(&nt);
  mn_treatment *t = &CASE(x)->treatment;
  rc = mn__y_walk_items(x, path, v, tab, nt, t->passes, sizeof t->passes[0], n);
  if (rc == MN_OK) t->n_passes = n;
  return rc;
}

/* treatment.outline_mm: a list of [x, y] points in mm. Only the shape of the list is checked
 * here; ranges, area and self-intersection are mn_treatment_check's, in finish_outline. */
static int on_outline(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = mn__y_need_list(x, path, v, MN_MAX_OUTLINE, &n);
  if (rc) return rc;
  mn_treatment *t = &CASE(x)->treatment;
  for (int i = 0; i < n; i++) {
    yaml_node_t *pt = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    if (mn__y_add_loc(x, ip, pt) != 0) return mn__y_fail(x, pt, MN_ENOMEM, ip, "out of memory");
    if (pt->type != YAML_SEQUENCE_NODE ||
        pt->data.sequence.items.top - pt->data.sequence.items.start != 2)
      return mn__y_fail(x, pt, MN_EINPUT, ip, "%s must be a point [x, y] in mm", ip);
    for (int k = 0; k < 2; k++) {
      yaml_node_t *s = yaml_document_get_node(x->doc, pt->data.sequence.items.start[k]);
      double val;
      if (s->type != YAML_SCALAR_NODE || mn_parse_double(mn__y_scalar(s), &val) != 0)
        return mn__y_fail(x, s, MN_EINPUT, ip, "%s: coordinate '%s' is not a finite number (mm)",
                          ip, s->type == YAML_SCALAR_NODE ? mn__y_scalar(s) : mn__y_kind(s));
      t->outline_mm[i][k] = val;
    }
  }
  if (n < 3)
    return mn__y_fail(x, v, MN_EINPUT, path, "%s has %d points; a polygon needs 3 to %d", path, n,
                      MN_MAX_OUTLINE);
  t->n_outline = n;
  return MN_OK;
}

/* simulate.snapshot_days: strictly increasing days in [0, 3650], the order in which the run takes
 * them (its run state keeps the index of the next one). */
static int on_snapshots(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = mn__y_need_list(x, path, v, MN_MAX_SNAPSHOTS, &n);
  if (rc) return rc;
  mn_simulate_params *sim = &CASE(x)->sim;
  for (int i = 0; i < n; i++) {
    yaml_node_t *it = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    double d;
    if (it->type != YAML_SCALAR_NODE || mn_parse_double(mn__y_scalar(it), &d) != 0 || d < 0 ||
        d > 3650)
      return mn__y_fail(x, it, MN_EINPUT, ip, "%s must be a day in [0, 3650]", ip);
    if (i > 0 && d <= sim->snapshot_days[i - 1])
      return mn__y_fail(x, it, MN_EINPUT, ip, "%s = %g: snapshot days must increase", ip, d);
    sim->snapshot_days[i] = d;
  }
  sim->n_snapshots = n;
  return MN_OK;
}

static int on_simulate(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  static const mn__y_extra extra[] = {{"snapshot_days", on_snapshots}};
  return mn__y_walk_map(x, v, path, simulate_table, COUNT(simulate_table), &CASE(x)->sim, extra,
                        COUNT(extra));
}

static int on_grid(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_grid_param_table(&nt);
  return mn__y_walk_map(x, v, path, tab, nt, &CASE(x)->grid, NULL, 0);
}

static int on_solver(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_solver_param_table(&nt);
  return mn__y_walk_map(x, v, path, tab, nt, &CASE(x)->solver, NULL, 0);
}

static int on_sun(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_sun_param_table(&nt);
  return mn__y_walk_map(x, v, path, tab, nt, &CASE(x)->sun, NULL, 0);
}

/* Model-parameter overrides: any key of data/healing_params.csv with a non-negative value. The
 * name is checked now (mn_model_param_ref is asked for the field of a scratch struct, only to
 * know that it exists); the value's range is checked against the parameter set later, by
 * mn_case_apply_overrides. Positions are recorded as "model.<name>" for that later check. */
static int on_model(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  if (v->type != YAML_MAPPING_NODE)
    return mn__y_fail(x, v, MN_EINPUT, path, "%s must be a section of 'parameter: value' lines",
                      path);
  mn_model_params probe;
  for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(x->doc, p->key),
                *val = yaml_document_get_node(x->doc, p->value);
    const char *key = k->type == YAML_SCALAR_NODE ? mn__y_scalar(k) : "";
    char full[200];
    snprintf(full, sizeof full, "%s.%s", path, key);
    if (!mn_model_param_ref(&probe, key)) {
      size_t n;
      const char *const *names = mn_model_param_names(&n);
      const char *near = mn_nearest(key, names, n);
      return mn__y_fail(x, k, MN_EINPUT, full,
                        "%s is not a model parameter%s%s%s (see data/healing_params.csv)", full,
                        near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    double d;
    if (val->type != YAML_SCALAR_NODE || mn_parse_double(mn__y_scalar(val), &d) != 0 || d < 0)
      return mn__y_fail(x, val, MN_EINPUT, full, "%s must be a finite, non-negative number", full);
    mn_error pe = {0}; /* what the equations cannot take (K_V: 0 divides by zero) */
    if (mn_model_param_check(key, d, &pe)) return mn__y_fail(x, val, MN_ERANGE, full, "%s", pe.msg);
    if (CASE(x)->n_overrides >= MN_MAX_OVERRIDES)
      return mn__y_fail(x, k, MN_ERANGE, full, "at most %d model overrides", MN_MAX_OVERRIDES);
    for (int i = 0; i < CASE(x)->n_overrides; i++)
      if (!strcmp(CASE(x)->overrides[i].name, key))
        return mn__y_fail(x, k, MN_EINPUT, full, "%s is given twice", full);
    mn_override *o = &CASE(x)->overrides[CASE(x)->n_overrides++];
    snprintf(o->name, sizeof o->name, "%s", key);
    o->value = d;
    if (mn__y_add_loc(x, full, val) != 0) return mn__y_fail(x, k, MN_ENOMEM, full, "out of memory");
  }
  return MN_OK;
}

/* The parameter set words its own range error; its key is replaced by "model.<name>" so that
 * mn_case_locate can place it on the override's line. */
int mn_case_apply_overrides(const mn_case *c, mn_param_set *ps, mn_error *err) {
  for (int i = 0; i < c->n_overrides; i++) {
    int rc = mn_param_set_set(ps, c->overrides[i].name, c->overrides[i].value, err);
    if (rc) {
      if (!err) return rc; /* err may be NULL: nothing to locate */
      char key[64];
      snprintf(key, sizeof key, "model.%s", c->overrides[i].name);
      snprintf(err->key, sizeof err->key, "%s", key);
      mn_case_locate(c, err);
      return rc;
    }
  }
  return MN_OK;
}

static int on_skin(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_skin_param_table(&nt);
  static const mn__y_extra extra[] = {{"lesions", on_lesions}};
  return mn__y_walk_map(x, v, path, tab, nt, &CASE(x)->skin, extra, COUNT(extra));
}

static int on_device(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_device_param_table(&nt);
  return mn__y_walk_map(x, v, path, tab, nt, &CASE(x)->device, NULL, 0);
}

static int on_treatment(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  static const mn__y_extra extra[] = {{"outline_mm", on_outline}, {"passes", on_passes}};
  return mn__y_walk_map(x, v, path, treatment_table, COUNT(treatment_table), CASE(x), extra,
                        COUNT(extra));
}

/* ---- entry points --------------------------------------------------------------------- */

/* A case is read in three steps: the defaults of every section (set_defaults), the walk over the
 * file (parse_root), then the treatment region settled and checked (finish_outline). The skin
 * and lesions are checked later, once the atlas is loaded (mn_case_check_skin), and model
 * overrides once the parameter set exists (mn_case_apply_overrides); both place their errors
 * through the key positions the walk recorded. */

/* Every section at its table's defaults before the walk, so that a key the file leaves out keeps
 * its default. One pass and the snapshot days (1, 3, 7, 30, 90, 180) have no table. */
static void set_defaults(mn_case *c) {
  size_t n;
  const mn_config_desc *t;
  mn_config_defaults(case_table, COUNT(case_table), c);
  mn_config_defaults(treatment_table, COUNT(treatment_table), c);
  t = mn_skin_param_table(&n);
  mn_config_defaults(t, n, &c->skin);
  t = mn_device_param_table(&n);
  mn_config_defaults(t, n, &c->device);
  t = mn_pass_param_table(&n);
  mn_config_defaults(t, n, &c->treatment.passes[0]);
  c->treatment.n_passes = 1;
  mn_config_defaults(simulate_table, COUNT(simulate_table), &c->sim);
  t = mn_sun_param_table(&n);
  mn_config_defaults(t, n, &c->sun);
  static const double snaps[] = {1, 3, 7, 30, 90, 180};
  memcpy(c->sim.snapshot_days, snaps, sizeof snaps);
  c->sim.n_snapshots = COUNT(snaps);
  t = mn_grid_param_table(&n);
  mn_config_defaults(t, n, &c->grid);
  t = mn_solver_param_table(&n);
  mn_config_defaults(t, n, &c->solver);
}

/* Rectangle outline from width/height, refusing both forms at once. width_mm and height_mm always
 * hold a value (their defaults), so whether the file gave them is read from the recorded key
 * positions. Then the whole treatment is checked, with the case's seed. */
static int finish_outline(mn_yctx *x) {
  mn_case *c = CASE(x);
  mn_treatment *t = &c->treatment;
  int has_rect = 0;
  for (int i = 0; i < c->n_locs; i++)
    if (!strcmp(c->locs[i].key, "treatment.width_mm") ||
        !strcmp(c->locs[i].key, "treatment.height_mm"))
      has_rect = 1;
  if (t->n_outline > 0 && has_rect) {
    MN_ERR(x->err, MN_EINPUT, "treatment.outline_mm",
           "treatment.outline_mm and treatment.width_mm/height_mm contradict each other: give the "
           "region either as an outline or as a rectangle");
    mn_case_locate(c, x->err);
    return x->err ? x->err->code : MN_EINPUT;
  }
  if (t->n_outline == 0) {
    double w = 0.5 * c->width_mm, h = 0.5 * c->height_mm;
    double pts[4][2] = {{-w, -h}, {w, -h}, {w, h}, {-w, h}};
    memcpy(t->outline_mm, pts, sizeof pts);
    t->n_outline = 4;
  }
  t->seed = c->seed;
  int rc = mn_treatment_check(t, x->err);
  if (rc) mn_case_locate(c, x->err);
  return rc;
}

/* The top level: the case table's scalars and one handler per section. */
static int parse_root(mn_yctx *x, const yaml_node_t *root) {
  if (!root)
    return mn__y_fail(x, NULL, MN_EINPUT, "",
                      "the case file is empty (see `mnsim config --defaults`)");
  static const mn__y_extra extra[] = {
      {"skin", on_skin},         {"device", on_device}, {"treatment", on_treatment},
      {"simulate", on_simulate}, {"grid", on_grid},     {"solver", on_solver},
      {"sun", on_sun},           {"model", on_model}};
  return mn__y_walk_map(x, root, "", case_table, COUNT(case_table), CASE(x), extra, COUNT(extra));
}

/* Any error recorded in @p err fails the parse, even one a path recorded without returning it.
 * Without a position, an error is placed at the file itself. */
int mn_case_parse(const char *text, size_t len, const char *name, mn_case **out, mn_error *err) {
  *out = NULL;
  mn_case *c = mn_calloc(1, sizeof *c);
  if (!c) return MN_ERR(err, MN_ENOMEM, "", "out of memory reading %s", name);
  snprintf(c->file, sizeof c->file, "%s", name);
  set_defaults(c);
  mn_yctx x = {.file = c->file,
               .what = "case file",
               .locs = &c->locs,
               .n_locs = &c->n_locs,
               .cap_locs = &c->cap_locs,
               .user = c,
               .err = err};
  int rc = mn__y_parse(&x, text, len, parse_root);
  if (rc == MN_OK) rc = finish_outline(&x);
  if (rc == MN_OK && err && err->code) rc = err->code;
  if (rc) {
    if (err) mn_error_set_position(err, c->file, 0, 0);
    mn_case_destroy(c);
    return rc;
  }
  *out = c;
  return MN_OK;
}

int mn_case_read(const char *path, mn_case **out, mn_error *err) {
  *out = NULL;
  char *buf = NULL;
  size_t n = 0;
  int rc = mn__y_read_file(path, "case file", &buf, &n, err);
  if (rc == MN_OK) rc = mn_case_parse(buf, n, path, out, err);
  if (rc) {
    mn_error_set_position(err, path, 0, 0);
    mn_free(buf);
    return rc;
  }
  /* a copy of the size read: the reading buffer (1 MiB) is freed as before, which keeps the
   * allocator's later choices, and so the solver's field layout and speed, as they were */
  char *text = mn_malloc(n + 1);
  if (!text) {
    mn_free(buf);
    mn_case_destroy(*out);
    *out = NULL;
    return MN_ERR(err, MN_ENOMEM, "", "out of memory keeping the case file %s", path);
  }
  memcpy(text, buf, n);
  text[n] = '\0';
  mn_free(buf);
  (*out)->text = text, (*out)->text_len = n;
  return MN_OK;
}

void mn_case_destroy(mn_case *c) {
  if (!c) return;
  mn_free(c->lesions);
  mn_free(c->locs);
  mn_free(c->text);
  mn_free(c);
}

/* The skin and lesion checks need the atlas, so they run after parsing; their errors carry key
 * paths that mn_case_locate turns into lines. */
int mn_case_check_skin(const mn_case *c, const mn_skin_atlas *atlas, mn_skin *skin, mn_error *err) {
  int rc = mn_skin_build(atlas, &c->skin, skin, err);
  for (int i = 0; rc == MN_OK && i < c->n_lesions; i++) {
    char path[64];
    snprintf(path, sizeof path, "skin.lesions[%d]", i);
    rc = mn_lesion_check(&c->lesions[i], skin, path, err);
  }
  if (rc) mn_case_locate(c, err);
  return rc;
}
