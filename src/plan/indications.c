/* Indications (data/indications.csv) and the deepest setting per region (data/region_depths.csv)
 * for the protocol search. Stage: plan. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnsim/plan.h"
#include "plan_impl.h"

static const char *const concern_names[] = {"fine_lines", "wrinkles",    "acne_scars",
                                            "texture",    "uneven_tone", NULL};
static const char *const severity_names[] = {"mild", "moderate", "severe", NULL};
static const char *const quantity_names[] = {"fill", "collagen", "none", NULL};

const char *mn_concern_name(int c) {
  return c >= 0 && c < MN_CONCERN_COUNT ? concern_names[c] : "?";
}
const char *mn_severity_name(int s) {
  return s >= 0 && s < 3 ? severity_names[s] : "?";
}

static int lookup(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++)
    if (!strcmp(names[i], s)) return i;
  return -1;
}

static int parse_indications(mn_indications *ind, mn_error *err) {
  static const char *const cols[11] = {
      "concern",      "severity", "defect_mm",         "residual_mm", "goal_pct", "depth_min_mm",
      "depth_max_mm", "quantity", "protocol_sessions", "source",      "evidence"};
  int rc = MN_OK, col[11];
  mn_csv c;
  MN_TRY(mn_csv_parse(mn__data_indications_csv, mn__data_indications_csv_len,
                      "data/indications.csv", &c, err));
  for (int j = 0; j < 11; j++)
    if ((rc = mn_csv_require(&c, cols[j], &col[j], err))) goto done;
  for (int r = 0; r < c.nrows && rc == MN_OK; r++) {
    if (ind->n == (int)(sizeof ind->ind / sizeof ind->ind[0])) {
      rc = MN_ERR(err, MN_EINPUT, "", "data/indications.csv: too many rows");
      break;
    }
    mn_indication *x = &ind->ind[ind->n];
    memset(x, 0, sizeof *x);
    x->concern = lookup(concern_names, c.rows[r][col[0]]);
    x->severity = lookup(severity_names, c.rows[r][col[1]]);
    x->quantity = lookup(quantity_names, c.rows[r][col[7]]);
    double ps = 0;
    if (x->concern < 0 || x->severity < 0 || x->quantity < 0) {
      rc = MN_ERR(err, MN_EINPUT, "",
                  "data/indications.csv:%d: unknown concern, severity or quantity", c.lineno[r]);
      break;
    }
    if ((rc = mn_csv_double(&c, r, col[2], &x->defect_mm, err)) ||
        (rc = mn_csv_double(&c, r, col[3], &x->residual_mm, err)) ||
        (rc = mn_csv_double(&c, r, col[4], &x->goal_pct, err)) ||
        (rc = mn_csv_double(&c, r, col[5], &x->depth_min_mm, err)) ||
        (rc = mn_csv_double(&c, r, col[6], &x->depth_max_mm, err)) ||
        (rc = mn_csv_double(&c, r, col[8], &ps, err)))
      break;
    x->protocol_sessions = (int)ps;
    snprintf(x->source, sizeof x->source, "%s", c.rows[r][col[9]]);
    snprintf(x->evidence, sizeof x->evidence, "%s", c.rows[r][col[10]]);
    if (!(x->depth_min_mm > 0 && x->depth_min_mm <= x->depth_max_mm) ||
        (x->quantity == MN_GOAL_FILL &&
         !(x->defect_mm > 0 && x->residual_mm > 0 && x->goal_pct > 0 && x->goal_pct < 100)) ||
        (x->quantity == MN_GOAL_COLLAGEN && !(x->goal_pct > 0)) ||
        (x->quantity == MN_GOAL_NONE && !(ps >= 1 && ps <= MN_PLAN_MAX_SESSIONS))) {
      rc = MN_ERR(err, MN_EINPUT, "", "data/indications.csv:%d: inconsistent values", c.lineno[r]);
      break;
    }
    if (mn_indication_find(ind, x->concern, x->severity)) {
      rc = MN_ERR(err, MN_EINPUT, "", "data/indications.csv:%d: %s/%s given twice", c.lineno[r],
                  concern_names[x->concern], severity_names[x->severity]);
      break;
    }
    ind->n++;
  }
  for (int k = 0; rc == MN_OK && k < MN_CONCERN_COUNT; k++)
    for (int s = 0; s < 3; s++)
      if (!mn_indication_find(ind, k, s)) {
        rc = MN_ERR(err, MN_EINPUT, "", "data/indications.csv: no row for %s/%s", concern_names[k],
                    severity_names[s]);
        break;
      }
done:
  mn_csv_fini(&c);
cleanup:
  return rc;
}

static int parse_regions(mn_indications *ind, mn_error *err) {
  int rc = MN_OK, col[3];
  mn_csv c;
  MN_TRY(mn_csv_parse(mn__data_region_depths_csv, mn__data_region_depths_csv_len,
                      "data/region_depths.csv", &c, err));
  if ((rc = mn_csv_require(&c, "region", &col[0], err)) ||
      (rc = mn_csv_require(&c, "max_mm", &col[1], err)) ||
      (rc = mn_csv_require(&c, "source", &col[2], err)))
    goto done;
  for (int r = 0; r < c.nrows && rc == MN_OK; r++) {
    if (ind->nregions == (int)(sizeof ind->region / sizeof ind->region[0])) break;
    mn_region_depth *x = &ind->region[ind->nregions];
    snprintf(x->region, sizeof x->region, "%s", c.rows[r][col[0]]);
    snprintf(x->source, sizeof x->source, "%s", c.rows[r][col[2]]);
    if ((rc = mn_csv_double(&c, r, col[1], &x->max_mm, err))) break;
    if (!(x->max_mm > 0 && x->max_mm <= 3)) {
      rc = MN_ERR(err, MN_EINPUT, "", "data/region_depths.csv:%d: max_mm in (0, 3]", c.lineno[r]);
      break;
    }
    ind->nregions++;
  }
done:
  mn_csv_fini(&c);
cleanup:
  return rc;
}

int mn_indications_create(mn_indications **out, mn_error *err) {
  int rc;
  *out = NULL;
  mn_indications *ind = mn_calloc(1, sizeof *ind);
  if (!ind) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the indications");
  /* the clinic interval: "2-3 sessions, 6-8 weeks apart" (a clinic's statement in the seed, SEED3
   * in data/targets.csv; also a clinic's claim for Dermapen 4, plasticna-kirurgija.si) */
  ind->interval_pref_weeks[0] = 6, ind->interval_pref_weeks[1] = 8;
  snprintf(ind->interval_source, sizeof ind->interval_source,
           "clinic protocol: sessions 6-8 weeks apart (clinic's claim: seed statement SEED3; "
           "plasticna-kirurgija.si, Dermapen 4)");
  if ((rc = parse_indications(ind, err)) || (rc = parse_regions(ind, err))) {
    mn_free(ind);
    return rc;
  }
  *out = ind;
  return MN_OK;
}

void mn_indications_destroy(mn_indications *ind) {
  mn_free(ind);
}

const mn_region_depth *mn_indications_region_depth(const mn_indications *ind, const char *region) {
  for (int i = 0; i < ind->nregions; i++)
    if (!strcmp(ind->region[i].region, region)) return &ind->region[i];
  return NULL;
}

void mn_indications_interval_pref(const mn_indications *ind, double w[2]) {
  w[0] = ind->interval_pref_weeks[0], w[1] = ind->interval_pref_weeks[1];
}

const mn_indication *mn_indication_find(const mn_indications *ind, int concern, int severity) {
  for (int i = 0; i < ind->n; i++)
    if (ind->ind[i].concern == concern && ind->ind[i].severity == severity) return &ind->ind[i];
  return NULL;
}
