/* Patient files of `mnsim plan`: YAML walked with the shared descriptor-table walker
 * (yaml_walk.c) into an mn_plan_request (patient, regions, constraints) and the file's own keys;
 * the request is then checked and its errors placed on their lines. Pipeline: io; the request
 * goes to plan. Reference: docs/plan.md "Input: the patient file". */
#include <string.h>
#include <yaml.h>

#include "io_impl.h"

#define PF(x) ((mn_patient_file *)(x)->user)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Offset and size of a field of the file (TF) or of its request (RQ), for the table below. */
#define TF(f) offsetof(mn_patient_file, f), sizeof(((mn_patient_file *)0)->f)
#define RQ(f) offsetof(mn_patient_file, req.f), sizeof(((mn_patient_file *)0)->req.f)
/* The file's own top-level keys: description belongs to the file, the rest to the request. */
static const mn_config_desc top_table[] = {
    {"description", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", TF(description),
     "free text shown in the report"},
    {"device", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "pen-12", RQ(device),
     "the pen (`mnsim device --list`)"},
    {"draws", MN_CONFIG_INT, "", 200, 0, 5000, NULL, NULL, RQ(draws),
     "parameter draws for the uncertainty (200 or more for a report)"},
    {"seed", MN_CONFIG_SEED, "", 1, 0, 0, NULL, NULL, RQ(seed), "seed of the parameter draws"},
    {"max_mcse", MN_CONFIG_DOUBLE, "", 0.01, 0, 0.1, NULL, NULL, RQ(max_mcse),
     "largest Monte Carlo standard error of a goal's probability: each region's final course is "
     "rerun with the draws this needs, up to every posterior draw (0: the search's draws only)"},
    {"patient_spread", MN_CONFIG_DOUBLE, "", 0, -1, 1.5, NULL, NULL, RQ(patient_spread),
     "sigma_b of the response's spread between patients: 0 = the posterior of "
     "data/between_patient.csv; a value up to 1.5 fixes it; -1 = none (the probability is then "
     "that the population mean reaches the goal)"},
};

/* patient.conditions: a list of names. Whether a name is known is checked when the plan screens
 * the patient against data/candidacy.csv (key "patient.conditions[i]"). */
static int on_conditions(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  mn_plan_patient *p = &PF(x)->req.patient;
  int n = 0, rc = mn__y_need_list(x, path, v, MN_PLAN_MAX_ITEMS, &n);
  if (rc) return rc;
  for (int i = 0; i < n; i++) {
    yaml_node_t *it = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    if (mn__y_add_loc(x, ip, it)) return mn__y_fail(x, it, MN_ENOMEM, ip, "out of memory");
    if (it->type != YAML_SCALAR_NODE || mn__y_is_null(it) ||
        strlen(mn__y_scalar(it)) >= sizeof p->conditions[0])
      return mn__y_fail(x, it, MN_EINPUT, ip, "%s must be a condition's name (data/candidacy.csv)",
                        ip);
    snprintf(p->conditions[i], sizeof p->conditions[i], "%s", mn__y_scalar(it));
  }
  p->n_conditions = n;
  return MN_OK;
}

/* medications and procedures: {name, days_ago} or a bare name (= now, days_ago at its default).
 * Each entry starts from the item table's defaults; a section without a name is refused. */
static int items(mn_yctx *x, const char *path, const yaml_node_t *v, mn_plan_item *out,
                 int *count) {
  int n = 0, rc = mn__y_need_list(x, path, v, MN_PLAN_MAX_ITEMS, &n);
  if (rc) return rc;
  size_t nt;
  const mn_config_desc *tab = mn_plan_item_param_table(&nt);
  for (int i = 0; i < n; i++) {
    yaml_node_t *it = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    if (mn__y_add_loc(x, ip, it)) return mn__y_fail(x, it, MN_ENOMEM, ip, "out of memory");
    mn_config_defaults(tab, nt, &out[i]);
    if (it->type == YAML_SCALAR_NODE && !mn__y_is_null(it)) {
      if (strlen(mn__y_scalar(it)) >= sizeof out[i].name)
        return mn__y_fail(x, it, MN_EINPUT, ip, "%s: name too long", ip);
      snprintf(out[i].name, sizeof out[i].name, "%s", mn__y_scalar(it));
      continue;
    }
    if ((rc = mn__y_walk_map(x, it, ip, tab, nt, &out[i], NULL, 0))) return rc;
    if (!out[i].name[0]) return mn__y_fail(x, it, MN_EINPUT, ip, "%s needs a name", ip);
  }
  *count = n;
  return MN_OK;
}

static int on_medications(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  mn_plan_patient *p = &PF(x)->req.patient;
  return items(x, path, v, p->medications, &p->n_medications);
}

static int on_procedures(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  mn_plan_patient *p = &PF(x)->req.patient;
  return items(x, path, v, p->procedures, &p->n_procedures);
}

static int on_patient(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_plan_patient_param_table(&nt);
  static const mn__y_extra extra[] = {{"conditions", on_conditions},
                                      {"medications", on_medications},
                                      {"procedures", on_procedures}};
  return mn__y_walk_map(x, v, path, tab, nt, &PF(x)->req.patient, extra, COUNT(extra));
}

/* regions: at least one, each entry from the region table's defaults. */
static int on_regions(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  mn_plan_request *r = &PF(x)->req;
  int n = 0, rc = mn__y_need_list(x, path, v, MN_PLAN_MAX_REGIONS, &n);
  if (rc) return rc;
  if (n == 0)
    return mn__y_fail(x, v, MN_EINPUT, path, "%s is empty; list at least one region", path);
  size_t nt;
  const mn_config_desc *tab = mn_plan_region_param_table(&nt);
  rc = mn__y_walk_items(x, path, v, tab, nt, r->regions, sizeof r->regions[0], n);
  if (rc == MN_OK) r->n_regions = n;
  return rc;
}

static int on_sun(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_sun_param_table(&nt);
  return mn__y_walk_map(x, v, path, tab, nt, &PF(x)->req.sun, NULL, 0);
}

static int on_constraints(mn_yctx *x, const char *path, const yaml_node_t *v, void *obj) {
  (void)obj;
  size_t nt;
  const mn_config_desc *tab = mn_plan_constraints_param_table(&nt);
  return mn__y_walk_map(x, v, path, tab, nt, &PF(x)->req.constraints, NULL, 0);
}

/* The top level; a missing regions list is refused after the walk (a missing key has no node,
 * so the error is placed at the root). */
static int parse_root(mn_yctx *x, const yaml_node_t *root) {
  if (!root)
    return mn__y_fail(x, NULL, MN_EINPUT, "",
                      "the patient file is empty (see `mnsim plan --template`)");
  static const mn__y_extra extra[] = {{"patient", on_patient},
                                      {"regions", on_regions},
                                      {"constraints", on_constraints},
                                      {"sun", on_sun}};
  int rc = mn__y_walk_map(x, root, "", top_table, COUNT(top_table), PF(x), extra, COUNT(extra));
  if (rc == MN_OK && PF(x)->req.n_regions == 0)
    return mn__y_fail(x, root, MN_EINPUT, "regions",
                      "the patient file has no 'regions' list: name at least one region with its "
                      "concern");
  return rc;
}

static void set_defaults(mn_patient_file *p) {
  size_t n;
  const mn_config_desc *t;
  mn_config_defaults(top_table, COUNT(top_table), p);
  t = mn_plan_patient_param_table(&n);
  mn_config_defaults(t, n, &p->req.patient);
  t = mn_plan_constraints_param_table(&n);
  mn_config_defaults(t, n, &p->req.constraints);
  t = mn_sun_param_table(&n);
  mn_config_defaults(t, n, &p->req.sun);
}

void mn_patient_file_locate(const mn_patient_file *p, mn_error *err) {
  if (p) mn__y_locate(p->file, p->locs, p->n_locs, err);
}

/* The request's own checks (dates, intervals, region combinations) have key paths only:
 * mn_patient_file_locate places them on the lines recorded during the walk. */
int mn_patient_file_parse(const char *text, size_t len, const char *name, mn_patient_file **out,
                          mn_error *err) {
  *out = NULL;
  mn_patient_file *p = mn_calloc(1, sizeof *p);
  if (!p) return MN_ERR(err, MN_ENOMEM, "", "out of memory reading %s", name);
  snprintf(p->file, sizeof p->file, "%s", name);
  set_defaults(p);
  mn_yctx x = {.file = p->file,
               .what = "patient file",
               .locs = &p->locs,
               .n_locs = &p->n_locs,
               .cap_locs = &p->cap_locs,
               .user = p,
               .err = err};
  int rc = mn__y_parse(&x, text, len, parse_root);
  if (rc == MN_OK) {
    rc = mn_plan_request_check(&p->req, err);
    if (rc) mn_patient_file_locate(p, err);
  }
  if (rc) {
    mn_patient_file_destroy(p);
    return rc;
  }
  *out = p;
  return MN_OK;
}

int mn_patient_file_read(const char *path, mn_patient_file **out, mn_error *err) {
  *out = NULL;
  char *buf = NULL;
  size_t n = 0;
  int rc = mn__y_read_file(path, "patient file", &buf, &n, err);
  if (rc == MN_OK) rc = mn_patient_file_parse(buf, n, path, out, err);
  if (rc && err && !err->line) mn_error_set_position(err, path, 0, 0);
  mn_free(buf);
  return rc;
}

/* A patient file at its defaults, named @p name in messages: `mnsim plan` without a file, set
 * from its flags. */
int mn_patient_file_create(const char *name, mn_patient_file **out, mn_error *err) {
  *out = mn_calloc(1, sizeof **out);
  if (!*out) return MN_ERR(err, MN_ENOMEM, "", "out of memory for a patient file");
  snprintf((*out)->file, sizeof(*out)->file, "%s", name);
  set_defaults(*out);
  return MN_OK;
}

void mn_patient_file_destroy(mn_patient_file *p) {
  if (!p) return;
  mn_free(p->locs);
  mn_free(p);
}
