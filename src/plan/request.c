/* The plan request: the patient file's tables (keys, units, ranges, docs) and the checks of a
 * request's values against each other. Stage: plan. */
#include <string.h>

#include "plan_impl.h"

static const char *const concern_list[] = {"fine_lines", "wrinkles",    "acne_scars",
                                           "texture",    "uneven_tone", NULL};
static const char *const severity_list[] = {"mild", "moderate", "severe", NULL};
static const char *const scar_list[] = {"none", "icepick", "boxcar", "rolling", NULL};
static const char *const sex_list[] = {"female", "male", NULL};

#define RF(f) offsetof(mn_plan_region_req, f), sizeof(((mn_plan_region_req *)0)->f)
static const mn_config_desc region_table[] = {
    {"region", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "cheek", RF(region),
     "face region (see `mnsim skin --list`)"},
    {"concern", MN_CONFIG_ENUM, "", 0, 0, 4, concern_list, NULL, RF(concern),
     "what to treat: fine_lines, wrinkles, acne_scars, texture or uneven_tone"},
    {"severity", MN_CONFIG_ENUM, "", 1, 0, 2, severity_list, NULL, RF(severity),
     "mild, moderate or severe (sets the default defect depth and goal)"},
    {"scar_type", MN_CONFIG_ENUM, "", 0, 0, 3, scar_list, NULL, RF(scar_type),
     "acne scars: icepick, boxcar or rolling (icepick responds least)"},
    {"defect_mm", MN_CONFIG_DOUBLE, "mm", 0, 0, 3, NULL, NULL, RF(defect_mm),
     "depth of the wrinkle or scar; 0 = the indication's default (data/indications.csv)"},
    {"residual_mm", MN_CONFIG_DOUBLE, "mm", 0, 0, 3, NULL, NULL, RF(residual_mm),
     "depth the wrinkle or scar is to reach (the fill goal asks for 1 - residual / defect of its "
     "depth, at least the indication's floor); 0 = the indication's (Goodman-Baron mild, Lemperle "
     "grade 1)"},
    {"goal_pct", MN_CONFIG_DOUBLE, "%", 0, 0, 100, NULL, NULL, RF(goal_pct),
     "target improvement (share of the defect's depth filled, or collagen gain for texture); "
     "0 = derived from residual_mm (fill) or the indication's default; overrides residual_mm"},
};
#define IF(f) offsetof(mn_plan_item, f), sizeof(((mn_plan_item *)0)->f)
static const mn_config_desc item_table[] = {
    {"name", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", IF(name),
     "medication or procedure (data/candidacy.csv names and aliases)"},
    {"days_ago", MN_CONFIG_DOUBLE, "days", 0, 0, 36500, NULL, NULL, IF(days_ago),
     "days since the last dose or the procedure (0 = now, ongoing)"},
};
#define PF(f) offsetof(mn_plan_patient, f), sizeof(((mn_plan_patient *)0)->f)
static const mn_config_desc patient_table[] = {
    {"age_y", MN_CONFIG_DOUBLE, "years", 40, 12, 100, NULL, NULL, PF(age_y), "age"},
    {"sex", MN_CONFIG_ENUM, "", 0, 0, 1, sex_list, NULL, PF(sex), "female or male (anatomy)"},
    {"fitzpatrick", MN_CONFIG_INT, "", 3, 1, 6, NULL, NULL, PF(fitzpatrick),
     "Fitzpatrick skin type 1-6"},
};
#define CF(f) offsetof(mn_plan_constraints, f), sizeof(((mn_plan_constraints *)0)->f)
static const mn_config_desc constraints_table[] = {
    {"max_sessions", MN_CONFIG_INT, "", 6, 1, MN_PLAN_MAX_SESSIONS, NULL, NULL, CF(max_sessions),
     "most sessions the patient accepts"},
    {"max_downtime_days", MN_CONFIG_DOUBLE, "days", 7, 0.5, 30, NULL, NULL, CF(max_downtime_days),
     "visible redness tolerated after each session (model median)"},
    {"min_interval_weeks", MN_CONFIG_DOUBLE, "weeks", 4, 4, 12, NULL, NULL, CF(min_interval_weeks),
     "shortest interval between sessions"},
    {"max_interval_weeks", MN_CONFIG_DOUBLE, "weeks", 12, 4, 12, NULL, NULL, CF(max_interval_weeks),
     "longest interval between sessions"},
    {"earliest_start", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", CF(earliest_start),
     "first possible session date YYYY-MM-DD (default: today)"},
    {"finish_by", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "", CF(finish_by),
     "last session at the latest, YYYY-MM-DD (default: none)"},
    {"probability", MN_CONFIG_DOUBLE, "", 0.8, 0.5, 0.99, NULL, NULL, CF(probability),
     "required probability of reaching the goal over the parameter draws"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
const mn_config_desc *mn_plan_region_param_table(size_t *n) {
  *n = COUNT(region_table);
  return region_table;
}
const mn_config_desc *mn_plan_item_param_table(size_t *n) {
  *n = COUNT(item_table);
  return item_table;
}
const mn_config_desc *mn_plan_patient_param_table(size_t *n) {
  *n = COUNT(patient_table);
  return patient_table;
}
const mn_config_desc *mn_plan_constraints_param_table(size_t *n) {
  *n = COUNT(constraints_table);
  return constraints_table;
}

int mn_plan_request_check(const mn_plan_request *r, mn_error *err) {
  const mn_plan_constraints *c = &r->constraints;
  if (r->n_regions < 1)
    return MN_ERR(err, MN_EINPUT, "regions", "regions: list at least one region to treat");
  if (c->min_interval_weeks > c->max_interval_weeks)
    return MN_ERR(err, MN_EINPUT, "constraints.min_interval_weeks",
                  "constraints.min_interval_weeks = %g is longer than max_interval_weeks = %g: no "
                  "interval satisfies both",
                  c->min_interval_weeks, c->max_interval_weeks);
  if (r->today[0] && mn_date_days(r->today) < 0)
    return MN_ERR(err, MN_EINPUT, "today", "today = '%s' is not a date YYYY-MM-DD", r->today);
  long s = c->earliest_start[0] ? mn_date_days(c->earliest_start) : 0;
  if (s < 0)
    return MN_ERR(err, MN_EINPUT, "constraints.earliest_start",
                  "constraints.earliest_start = '%s' is not a date YYYY-MM-DD", c->earliest_start);
  if (c->finish_by[0]) {
    long f = mn_date_days(c->finish_by);
    if (f < 0)
      return MN_ERR(err, MN_EINPUT, "constraints.finish_by",
                    "constraints.finish_by = '%s' is not a date YYYY-MM-DD", c->finish_by);
    if (c->earliest_start[0] && f < s)
      return MN_ERR(err, MN_EINPUT, "constraints.finish_by",
                    "constraints.finish_by = %s is before earliest_start = %s", c->finish_by,
                    c->earliest_start);
  }
  for (int i = 0; i < r->n_regions; i++) {
    const mn_plan_region_req *q = &r->regions[i];
    char key[48];
    snprintf(key, sizeof key, "regions[%d].scar_type", i);
    if (q->concern != MN_CONCERN_ACNE_SCARS && q->scar_type > 0)
      return MN_ERR(err, MN_EINPUT, key, "%s = %s is for acne_scars, not %s", key,
                    scar_list[q->scar_type], mn_concern_name(q->concern));
    snprintf(key, sizeof key, "regions[%d].residual_mm", i);
    if (q->residual_mm > 0 &&
        (q->concern == MN_CONCERN_TEXTURE || q->concern == MN_CONCERN_UNEVEN_TONE))
      return MN_ERR(err, MN_EINPUT, key,
                    "%s = %g is for fine_lines, wrinkles and acne_scars (a depth to reach), not %s",
                    key, q->residual_mm, mn_concern_name(q->concern));
    snprintf(key, sizeof key, "regions[%d]", i);
    for (int j = 0; j < i; j++)
      if (!strcmp(r->regions[j].region, q->region) && r->regions[j].concern == q->concern)
        return MN_ERR(err, MN_EINPUT, key,
                      "%s repeats regions[%d] (%s, %s): give each region and concern once", key, j,
                      q->region, mn_concern_name(q->concern));
  }
  if (!(r->max_mcse >= 0 && r->max_mcse <= 0.1))
    return MN_ERR(err, MN_ERANGE, "max_mcse", "max_mcse = %g: allowed 0 (no rerun) to 0.1",
                  r->max_mcse);
  if (!(r->patient_spread == -1 || (r->patient_spread >= 0 && r->patient_spread <= 1.5)))
    return MN_ERR(err, MN_ERANGE, "patient_spread",
                  "patient_spread = %g: allowed 0 (the posterior of data/between_patient.csv), a "
                  "sigma_b up to 1.5, or -1 (none: the population mean)",
                  r->patient_spread);
  if (r->draws < 0 || r->draws > 5000)
    return MN_ERR(err, MN_ERANGE, "draws", "draws = %d: allowed 0 (nominal only) to 5000",
                  r->draws);
  return MN_OK;
}
