/* Case files: YAML read with libyaml's document API and walked against the modules' descriptor
 * tables. Every error names the file, line, column and key path; unknown keys get the nearest
 * valid key. Stage: io. Reference: STYLE.md "Configuration" (Redis config.c, Lua luaL_where). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "io_impl.h"

/* Top-level scalar keys of a case file. */
static const mn_param_desc case_table[] = {
    {"seed", MN_PARAM_SEED, "", 1, 0, 0, NULL, NULL, offsetof(mn_case, seed), sizeof(uint64_t),
     "random seed: the same seed and inputs give identical outputs"},
    {"description", MN_PARAM_STRING, "", 0, 0, 0, NULL, "", offsetof(mn_case, description),
     sizeof(((mn_case *)0)->description), "free text shown in reports"},
};
static const mn_param_desc treatment_table[] = {
    {"width_mm", MN_PARAM_DOUBLE, "mm", 20, 0.1, 500, NULL, NULL, offsetof(mn_case, width_mm),
     sizeof(double), "width of a rectangular region centred on the origin (without outline_mm)"},
    {"height_mm", MN_PARAM_DOUBLE, "mm", 20, 0.1, 500, NULL, NULL, offsetof(mn_case, height_mm),
     sizeof(double), "height of the rectangular region (without outline_mm)"},
};
static const char *const mode_names[] = {"unit_cell", "patch", "lumped", NULL};
static const char *const precision_names[] = {"float32", "float64", NULL};
static const mn_param_desc simulate_table[] = {
    {"mode", MN_PARAM_ENUM, "", MN_SIM_UNIT_CELL, 0, 2, mode_names, NULL,
     offsetof(mn_simulate_params, mode), sizeof(int),
     "unit_cell: one channel in a periodic cell at the treatment's density; patch: the "
     "treatment's punctures over its region (periodic patch); lumped: the ODE twin (near and "
     "far zone per layer, milliseconds)"},
    {"density_per_cm2", MN_PARAM_DOUBLE, "1/cm2", 0, 0, 20000, NULL, NULL,
     offsetof(mn_simulate_params, density_per_cm2), sizeof(double),
     "unit cell: punctures per cm2; 0 = the passes' geometric density"},
    {"days", MN_PARAM_DOUBLE, "day", 180, 0.01, 3650, NULL, NULL,
     offsetof(mn_simulate_params, days), sizeof(double), "simulated days after the first session"},
    {"sessions", MN_PARAM_INT, "", 1, 1, MN_MAX_SESSIONS, NULL, NULL,
     offsetof(mn_simulate_params, sessions), sizeof(int), "number of sessions"},
    {"interval_day", MN_PARAM_DOUBLE, "day", 42, 1, 365, NULL, NULL,
     offsetof(mn_simulate_params, interval_day), sizeof(double), "days between sessions"},
    {"sample_hours", MN_PARAM_DOUBLE, "h", 1, 0.05, 24, NULL, NULL,
     offsetof(mn_simulate_params, sample_hours), sizeof(double),
     "time-series sampling in the week after each session (daily afterwards)"},
    {"checkpoint_min", MN_PARAM_DOUBLE, "min", 10, 0, 1440, NULL, NULL,
     offsetof(mn_simulate_params, checkpoint_min), sizeof(double),
     "wall-clock minutes between checkpoints; 0 = only when interrupted"},
    {"supersample", MN_PARAM_INT, "", 4, 1, 16, NULL, NULL,
     offsetof(mn_simulate_params, supersample), sizeof(int),
     "lateral samples per cell side when rasterising channels"},
    {"precision", MN_PARAM_ENUM, "", MN_PREC_FLOAT32, 0, 1, precision_names, NULL,
     offsetof(mn_simulate_params, precision), sizeof(int), "storage of fields.h5"},
    {"uq_draws", MN_PARAM_INT, "", 200, 0, 5000, NULL, NULL, offsetof(mn_simulate_params, uq_draws),
     sizeof(int),
     "Latin-hypercube draws of the parameter ranges for the outcome bands (lumped twin, seeded "
     "by `seed`); 0 = nominal values only"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const mn_param_desc *mn_simulate_param_table(size_t *n) {
  *n = COUNT(simulate_table);
  return simulate_table;
}

const mn_param_desc *mn__case_table(size_t *n) {
  *n = COUNT(case_table);
  return case_table;
}
const mn_param_desc *mn__treatment_table(size_t *n) {
  *n = COUNT(treatment_table);
  return treatment_table;
}

typedef struct ctx {
  yaml_document_t *doc;
  mn_case *c;
  mn_error *err;
} ctx;

/* ---- positions ---------------------------------------------------------------------------- */

static int add_loc(mn_case *c, const char *key, const yaml_node_t *n) {
  if (c->n_locs == c->cap_locs) {
    int cap = c->cap_locs ? 2 * c->cap_locs : 64;
    mn_case_loc *l = mn_realloc_array(c->locs, (size_t)cap, sizeof *l);
    if (!l) return -1;
    c->locs = l;
    c->cap_locs = cap;
  }
  mn_case_loc *l = &c->locs[c->n_locs++];
  snprintf(l->key, sizeof l->key, "%s", key);
  l->line = (int)n->start_mark.line + 1;
  l->col = (int)n->start_mark.column + 1;
  return 0;
}

void mn_case_locate(const mn_case *c, mn_error *err) {
  if (!err || !c) return;
  mn_error_set_position(err, c->file, 0, 0);
  const mn_case_loc *best = NULL;
  size_t best_len = 0;
  for (int i = 0; i < c->n_locs; i++) {
    size_t n = strlen(c->locs[i].key);
    const char *k = err->key;
    int prefix = strncmp(k, c->locs[i].key, n) == 0 && (k[n] == '\0' || k[n] == '.' || k[n] == '[');
    if (prefix && n >= best_len) best = &c->locs[i], best_len = n;
  }
  if (best) mn_error_set_position(err, c->file, best->line, best->col);
}

/* Fail at node @p n: record the error and its position. */
static int fail_at(ctx *x, const yaml_node_t *n, int code, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_at(ctx *x, const yaml_node_t *n, int code, const char *key, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  MN_ERR(x->err, code, key, "%s", msg);
  if (n)
    mn_error_set_position(x->err, x->c->file, (int)n->start_mark.line + 1,
                          (int)n->start_mark.column + 1);
  return code;
}

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
    case YAML_SCALAR_NODE:
      return "a single value";
    case YAML_SEQUENCE_NODE:
      return "a list";
    case YAML_MAPPING_NODE:
      return "a section of keys";
    default:
      return "empty";
  }
}

static const char *scalar(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

static int is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *s = scalar(n);
  return !*s || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

/* ---- table-driven mappings ------------------------------------------------------------------ */

/* A key outside the table that the caller handles (a list or subsection). */
typedef int (*extra_fn)(ctx *x, const char *path, const yaml_node_t *val, void *obj);
typedef struct extra_key {
  const char *key;
  extra_fn fn;
} extra_key;

static int unknown_key(ctx *x, const yaml_node_t *kn, const char *path, const char *key,
                       const mn_param_desc *tab, size_t n, const extra_key *extra, size_t ne) {
  const char *cands[64];
  size_t m = 0;
  for (size_t i = 0; i < n && m < 64; i++) cands[m++] = tab[i].key;
  for (size_t i = 0; i < ne && m < 64; i++) cands[m++] = extra[i].key;
  const char *near = mn_nearest(key, cands, m);
  char full[200], known[600];
  snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
  size_t used = 0;
  for (size_t i = 0; i < m && used < sizeof known; i++)
    used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", cands[i]);
  if (near)
    return fail_at(x, kn, MN_EINPUT, full, "unknown key '%s'; did you mean '%s'? (known here: %s)",
                   full, near, known);
  return fail_at(x, kn, MN_EINPUT, full, "unknown key '%s' (known here: %s)", full, known);
}

static int scalar_value(ctx *x, const mn_param_desc *d, const yaml_node_t *v, const char *full,
                        void *obj) {
  char allowed[256];
  mn_param_allowed(d, allowed, sizeof allowed);
  if (v->type != YAML_SCALAR_NODE)
    return fail_at(x, v, MN_EINPUT, full, "%s must be a single value, not %s (allowed: %s)", full,
                   kind_name(v), allowed);
  if (is_null(v))
    return fail_at(x, v, MN_EINPUT, full, "%s has no value (allowed: %s)", full, allowed);
  int rc = mn_param_parse(d, scalar(v), obj, full, x->err);
  if (rc)
    mn_error_set_position(x->err, x->c->file, (int)v->start_mark.line + 1,
                          (int)v->start_mark.column + 1);
  return rc;
}

static int walk_map(ctx *x, const yaml_node_t *map, const char *path, const mn_param_desc *tab,
                    size_t n, void *obj, const extra_key *extra, size_t ne) {
  if (map->type != YAML_MAPPING_NODE)
    return fail_at(x, map, MN_EINPUT, path, "%s must be a section of 'key: value' lines, not %s",
                   *path ? path : "the case file", kind_name(map));
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
    if (k->type != YAML_SCALAR_NODE)
      return fail_at(x, k, MN_EINPUT, path, "a key in %s must be a plain name, not %s",
                     *path ? path : "the case file", kind_name(k));
    const char *key = scalar(k);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++)
      if (strcmp(scalar(yaml_document_get_node(x->doc, q->key)), key) == 0) {
        yaml_node_t *first = yaml_document_get_node(x->doc, q->key);
        return fail_at(x, k, MN_EINPUT, key, "key '%s%s%s' is given twice (first on line %d)", path,
                       *path ? "." : "", key, (int)first->start_mark.line + 1);
      }
    char full[200];
    snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (add_loc(x->c, full, v) != 0)
      return fail_at(x, k, MN_ENOMEM, full, "out of memory reading %s", full);
    const mn_param_desc *d = mn_param_find(tab, n, key);
    int rc = MN_OK, found = d != NULL;
    if (d) rc = scalar_value(x, d, v, full, obj);
    for (size_t e = 0; !found && e < ne; e++)
      if (strcmp(extra[e].key, key) == 0) found = 1, rc = extra[e].fn(x, full, v, obj);
    if (!found) return unknown_key(x, k, path, key, tab, n, extra, ne);
    if (rc) return rc;
  }
  return MN_OK;
}

/* ---- lists ------------------------------------------------------------------------------ */

static int need_list(ctx *x, const char *path, const yaml_node_t *v, int max, int *count) {
  if (v->type != YAML_SEQUENCE_NODE)
    return fail_at(x, v, MN_EINPUT, path, "%s must be a list (lines starting with '- '), not %s",
                   path, kind_name(v));
  long n = v->data.sequence.items.top - v->data.sequence.items.start;
  if (n > max)
    return fail_at(x, v, MN_ERANGE, path, "%s has %ld entries; at most %d are allowed", path, n,
                   max);
  *count = (int)n;
  return MN_OK;
}

/* Items of a list of sections, each parsed against @p tab into items + i * stride after its
 * defaults are set. */
static int walk_items(ctx *x, const char *path, const yaml_node_t *v, const mn_param_desc *tab,
                      size_t nt, void *items, size_t stride, int n) {
  for (int i = 0; i < n; i++) {
    yaml_node_t *item = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    if (add_loc(x->c, ip, item) != 0) return fail_at(x, item, MN_ENOMEM, ip, "out of memory");
    void *obj = (char *)items + (size_t)i * stride;
    mn_param_defaults(tab, nt, obj);
    int rc = walk_map(x, item, ip, tab, nt, obj, NULL, 0);
    if (rc) return rc;
  }
  return MN_OK;
}

static int on_lesions(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = need_list(x, path, v, MN_MAX_LESIONS, &n);
  if (rc) return rc;
  mn_case *c = x->c;
  size_t nt;
  const mn_param_desc *tab = mn_lesion_param_table(&nt);
  mn_free(c->lesions);
  c->lesions = mn_calloc((size_t)n + 1, sizeof *c->lesions);
  c->n_lesions = 0;
  if (!c->lesions) return fail_at(x, v, MN_ENOMEM, path, "out of memory reading %s", path);
  rc = walk_items(x, path, v, tab, nt, c->lesions, sizeof *c->lesions, n);
  if (rc == MN_OK) c->n_lesions = n;
  return rc;
}

static int on_passes(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = need_list(x, path, v, MN_MAX_PASSES, &n);
  if (rc) return rc;
  if (n == 0) return fail_at(x, v, MN_EINPUT, path, "%s is empty; list at least one pass", path);
  size_t nt;
  const mn_param_desc *tab = mn_pass_param_table(&nt);
  mn_treatment *t = &x->c->treatment;
  rc = walk_items(x, path, v, tab, nt, t->passes, sizeof t->passes[0], n);
  if (rc == MN_OK) t->n_passes = n;
  return rc;
}

static int on_outline(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = need_list(x, path, v, MN_MAX_OUTLINE, &n);
  if (rc) return rc;
  mn_treatment *t = &x->c->treatment;
  for (int i = 0; i < n; i++) {
    yaml_node_t *pt = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    if (add_loc(x->c, ip, pt) != 0) return fail_at(x, pt, MN_ENOMEM, ip, "out of memory");
    if (pt->type != YAML_SEQUENCE_NODE ||
        pt->data.sequence.items.top - pt->data.sequence.items.start != 2)
      return fail_at(x, pt, MN_EINPUT, ip, "%s must be a point [x, y] in mm", ip);
    for (int k = 0; k < 2; k++) {
      yaml_node_t *s = yaml_document_get_node(x->doc, pt->data.sequence.items.start[k]);
      double val;
      if (s->type != YAML_SCALAR_NODE || mn_parse_double(scalar(s), &val) != 0)
        return fail_at(x, s, MN_EINPUT, ip, "%s: coordinate '%s' is not a finite number (mm)", ip,
                       s->type == YAML_SCALAR_NODE ? scalar(s) : kind_name(s));
      t->outline_mm[i][k] = val;
    }
  }
  if (n < 3)
    return fail_at(x, v, MN_EINPUT, path, "%s has %d points; a polygon needs 3 to %d", path, n,
                   MN_MAX_OUTLINE);
  t->n_outline = n;
  return MN_OK;
}

static int on_snapshots(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  int n = 0, rc = need_list(x, path, v, MN_MAX_SNAPSHOTS, &n);
  if (rc) return rc;
  mn_simulate_params *sim = &x->c->sim;
  for (int i = 0; i < n; i++) {
    yaml_node_t *it = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    double d;
    if (it->type != YAML_SCALAR_NODE || mn_parse_double(scalar(it), &d) != 0 || d < 0 || d > 3650)
      return fail_at(x, it, MN_EINPUT, ip, "%s must be a day in [0, 3650]", ip);
    if (i > 0 && d <= sim->snapshot_days[i - 1])
      return fail_at(x, it, MN_EINPUT, ip, "%s = %g: snapshot days must increase", ip, d);
    sim->snapshot_days[i] = d;
  }
  sim->n_snapshots = n;
  return MN_OK;
}

static int on_simulate(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  static const extra_key extra[] = {{"snapshot_days", on_snapshots}};
  return walk_map(x, v, path, simulate_table, COUNT(simulate_table), &x->c->sim, extra,
                  COUNT(extra));
}

static int on_grid(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_param_desc *tab = mn_grid_param_table(&nt);
  return walk_map(x, v, path, tab, nt, &x->c->grid, NULL, 0);
}

static int on_solver(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_param_desc *tab = mn_solver_param_table(&nt);
  return walk_map(x, v, path, tab, nt, &x->c->solver, NULL, 0);
}

/* Model-parameter overrides: any key of data/healing_params.csv with a non-negative value. */
static int on_model(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  if (v->type != YAML_MAPPING_NODE)
    return fail_at(x, v, MN_EINPUT, path, "%s must be a section of 'parameter: value' lines", path);
  mn_model_params probe;
  for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(x->doc, p->key),
                *val = yaml_document_get_node(x->doc, p->value);
    const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "";
    char full[200];
    snprintf(full, sizeof full, "%s.%s", path, key);
    if (!mn_model_param_ref(&probe, key)) {
      size_t n;
      const char *const *names = mn_model_param_names(&n);
      const char *near = mn_nearest(key, names, n);
      return fail_at(x, k, MN_EINPUT, full,
                     "%s is not a model parameter%s%s%s (see data/healing_params.csv)", full,
                     near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    double d;
    if (val->type != YAML_SCALAR_NODE || mn_parse_double(scalar(val), &d) != 0 || d < 0)
      return fail_at(x, val, MN_EINPUT, full, "%s must be a finite, non-negative number", full);
    if (x->c->n_overrides >= MN_MAX_OVERRIDES)
      return fail_at(x, k, MN_ERANGE, full, "at most %d model overrides", MN_MAX_OVERRIDES);
    for (int i = 0; i < x->c->n_overrides; i++)
      if (!strcmp(x->c->overrides[i].name, key))
        return fail_at(x, k, MN_EINPUT, full, "%s is given twice", full);
    mn_override *o = &x->c->overrides[x->c->n_overrides++];
    snprintf(o->name, sizeof o->name, "%s", key);
    o->value = d;
    if (add_loc(x->c, full, val) != 0) return fail_at(x, k, MN_ENOMEM, full, "out of memory");
  }
  return MN_OK;
}

int mn_case_apply_overrides(const mn_case *c, mn_param_set *ps, mn_error *err) {
  for (int i = 0; i < c->n_overrides; i++) {
    int rc = mn_param_set_set(ps, c->overrides[i].name, c->overrides[i].value, err);
    if (rc) {
      char key[64];
      snprintf(key, sizeof key, "model.%s", c->overrides[i].name);
      snprintf(err->key, sizeof err->key, "%s", key);
      mn_case_locate(c, err);
      return rc;
    }
  }
  return MN_OK;
}

static int on_skin(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_param_desc *tab = mn_skin_param_table(&nt);
  static const extra_key extra[] = {{"lesions", on_lesions}};
  return walk_map(x, v, path, tab, nt, &x->c->skin, extra, COUNT(extra));
}

static int on_device(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_param_desc *tab = mn_device_param_table(&nt);
  return walk_map(x, v, path, tab, nt, &x->c->device, NULL, 0);
}

static int on_treatment(ctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  static const extra_key extra[] = {{"outline_mm", on_outline}, {"passes", on_passes}};
  return walk_map(x, v, path, treatment_table, COUNT(treatment_table), x->c, extra, COUNT(extra));
}

/* ---- entry points --------------------------------------------------------------------- */

static void set_defaults(mn_case *c) {
  size_t n;
  const mn_param_desc *t;
  mn_param_defaults(case_table, COUNT(case_table), c);
  mn_param_defaults(treatment_table, COUNT(treatment_table), c);
  t = mn_skin_param_table(&n);
  mn_param_defaults(t, n, &c->skin);
  t = mn_device_param_table(&n);
  mn_param_defaults(t, n, &c->device);
  t = mn_pass_param_table(&n);
  mn_param_defaults(t, n, &c->treatment.passes[0]);
  c->treatment.n_passes = 1;
  mn_param_defaults(simulate_table, COUNT(simulate_table), &c->sim);
  static const double snaps[] = {1, 3, 7, 30, 90, 180};
  memcpy(c->sim.snapshot_days, snaps, sizeof snaps);
  c->sim.n_snapshots = COUNT(snaps);
  t = mn_grid_param_table(&n);
  mn_param_defaults(t, n, &c->grid);
  t = mn_solver_param_table(&n);
  mn_param_defaults(t, n, &c->solver);
}

/* Rectangle outline from width/height, refusing both forms at once. */
static int finish_outline(ctx *x) {
  mn_case *c = x->c;
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

static int syntax_error(ctx *x, const yaml_parser_t *ps) {
  int line = (int)ps->problem_mark.line + 1, col = (int)ps->problem_mark.column + 1;
  if (ps->error == YAML_MEMORY_ERROR)
    return MN_ERR(x->err, MN_ENOMEM, "", "out of memory reading the case file");
  if (ps->context)
    MN_ERR(x->err, MN_EINPUT, "", "YAML syntax error: %s %s (the construct started on line %d)",
           ps->problem ? ps->problem : "error", ps->context, (int)ps->context_mark.line + 1);
  else
    MN_ERR(x->err, MN_EINPUT, "", "YAML syntax error: %s", ps->problem ? ps->problem : "error");
  mn_error_set_position(x->err, x->c->file, line, col);
  return MN_EINPUT;
}

static int parse_document(ctx *x, yaml_parser_t *ps) {
  yaml_node_t *root = yaml_document_get_root_node(x->doc);
  if (!root)
    return fail_at(x, NULL, MN_EINPUT, "",
                   "the case file is empty (see `mnsim config --defaults`)");
  static const extra_key extra[] = {{"skin", on_skin},           {"device", on_device},
                                    {"treatment", on_treatment}, {"simulate", on_simulate},
                                    {"grid", on_grid},           {"solver", on_solver},
                                    {"model", on_model}};
  int rc = walk_map(x, root, "", case_table, COUNT(case_table), x->c, extra, COUNT(extra));
  if (rc) return rc;
  yaml_document_t next;
  if (!yaml_parser_load(ps, &next)) return syntax_error(x, ps);
  int more = yaml_document_get_root_node(&next) != NULL;
  int line = (int)next.start_mark.line + 1;
  yaml_document_delete(&next);
  if (more) {
    MN_ERR(x->err, MN_EINPUT, "", "a case file holds one YAML document; a second one starts here");
    mn_error_set_position(x->err, x->c->file, line, 1);
    return MN_EINPUT;
  }
  return finish_outline(x);
}

/* libyaml's loader is quadratic in nesting depth: scan the events first and refuse deep nesting
 * (a case file needs four levels) before building the document. */
static int check_depth(ctx *x, const char *text, size_t len) {
  enum { MAX_DEPTH = 32 };
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps)) return MN_ERR(x->err, MN_ENOMEM, "", "out of memory");
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  int depth = 0, rc = MN_OK;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&ps, &ev)) break; /* syntax errors are reported by the loader */
    yaml_event_type_t t = ev.type;
    int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
    yaml_event_delete(&ev);
    if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) depth++;
    if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) depth--;
    if (depth > MAX_DEPTH) {
      MN_ERR(x->err, MN_EINPUT, "", "nesting deeper than %d levels; a case file needs four",
             MAX_DEPTH);
      mn_error_set_position(x->err, x->c->file, line, col);
      rc = MN_EINPUT;
      break;
    }
    if (t == YAML_STREAM_END_EVENT) break;
  }
  yaml_parser_delete(&ps);
  return rc;
}

int mn_case_parse(const char *text, size_t len, const char *name, mn_case **out, mn_error *err) {
  *out = NULL;
  mn_case *c = mn_calloc(1, sizeof *c);
  if (!c) return MN_ERR(err, MN_ENOMEM, "", "out of memory reading %s", name);
  snprintf(c->file, sizeof c->file, "%s", name);
  set_defaults(c);
  ctx x = {.c = c, .err = err};
  yaml_parser_t ps;
  yaml_document_t doc;
  int rc;
  if (!yaml_parser_initialize(&ps)) {
    mn_case_destroy(c);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory reading %s", name);
  }
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  if ((rc = check_depth(&x, text, len)) != MN_OK) {
    yaml_parser_delete(&ps);
    mn_case_destroy(c);
    return rc;
  }
  if (!yaml_parser_load(&ps, &doc)) {
    rc = syntax_error(&x, &ps);
  } else {
    x.doc = &doc;
    rc = parse_document(&x, &ps);
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&ps);
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
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    int e = errno;
    /* the user named a file that cannot be opened: bad input (exit 2), not a runtime failure */
    MN_ERR(err, MN_EINPUT, "", "cannot open case file: %s", strerror(e));
    mn_error_set_position(err, path, 0, 0);
    return MN_EINPUT;
  }
  enum { LIMIT = 1 << 20 }; /* case files are a few kB */
  char *buf = mn_malloc(LIMIT + 1);
  size_t n = buf ? fread(buf, 1, LIMIT + 1, fp) : 0;
  int bad = ferror(fp), e = errno;
  fclose(fp);
  int rc;
  if (!buf)
    rc = MN_ERR(err, MN_ENOMEM, "", "out of memory reading the case file");
  else if (bad)
    rc = MN_ERR(err, MN_EINPUT, "", "cannot read case file: %s", strerror(e));
  else if (n > LIMIT)
    rc = MN_ERR(err, MN_EINPUT, "", "case file is larger than 16 MiB");
  else
    rc = mn_case_parse(buf, n, path, out, err);
  if (rc) mn_error_set_position(err, path, 0, 0);
  mn_free(buf);
  return rc;
}

void mn_case_destroy(mn_case *c) {
  if (!c) return;
  mn_free(c->lesions);
  mn_free(c->locs);
  mn_free(c);
}

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
