/* mnsim plan: candidacy screening and the protocol search of `mnsim plan` (issue 5). A patient
 * (age, sex, Fitzpatrick type, conditions, medications, recent procedures), regions with their
 * concerns and goals, and constraints -> a verdict with every reason, and per region the needle
 * depth, passes, number of sessions and interval that reach the goal with the required
 * probability over the parameter draws, with the least downtime.
 * Stage 7 (uses core, skin, device, healing, outcome, lumped). */
#ifndef MNSIM_PLAN_H
#define MNSIM_PLAN_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_OUTCOME) || defined(MN__BUILDING_LUMPED) ||                               \
    defined(MN__BUILDING_COURSE) || defined(MN__BUILDING_INFER)
#error "mnsim/plan.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/healing.h"
#include "mnsim/course.h"
#include "mnsim/infer.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  MN_PLAN_MAX_REGIONS = 8,
  MN_PLAN_MAX_ITEMS = 32,            /**< conditions, medications, procedures each */
  MN_PLAN_MAX_RULES = 128,           /**< candidacy rules */
  MN_PLAN_MAX_MATCHES = 64,          /**< rules that apply to one patient */
  MN_PLAN_MAX_SESSIONS = 12,         /**< sessions in a plan */
  MN_PLAN_WEEK_SAMPLES = 7 * 24 + 1, /**< hourly samples of the first week */
  MN_PLAN_YEAR_SAMPLES = 366         /**< daily samples of the first year */
};

/* ---- the request ------------------------------------------------------------------------- */

typedef enum {
  MN_CONCERN_FINE_LINES,
  MN_CONCERN_WRINKLES,
  MN_CONCERN_ACNE_SCARS,
  MN_CONCERN_TEXTURE,
  MN_CONCERN_UNEVEN_TONE,
  MN_CONCERN_COUNT
} mn_concern;
const char *mn_concern_name(int c);

typedef enum { MN_SEVERITY_MILD, MN_SEVERITY_MODERATE, MN_SEVERITY_SEVERE } mn_severity;
const char *mn_severity_name(int s);

/** One region of the face and what to treat there (a `regions` entry of the patient file). */
typedef struct mn_plan_region_req {
  char region[32];  /**< atlas region */
  int concern;      /**< mn_concern */
  int severity;     /**< mn_severity */
  int scar_type;    /**< mn_lesion_type for acne scars (icepick, boxcar, rolling), -1 otherwise */
  double defect_mm; /**< depth of the wrinkle or scar; 0 = the indication's default */
  double goal_pct;  /**< target improvement; 0 = the indication's default */
} mn_plan_region_req;
const mn_config_desc *mn_plan_region_param_table(size_t *n);

/** A medication or procedure with the days since the last dose or the procedure (0 = now). */
typedef struct mn_plan_item {
  char name[64];
  double days_ago;
} mn_plan_item;
const mn_config_desc *mn_plan_item_param_table(size_t *n);

typedef struct mn_plan_patient {
  double age_y;
  int sex;         /**< mn_sex */
  int fitzpatrick; /**< 1-6 */
  char conditions[MN_PLAN_MAX_ITEMS][64];
  int n_conditions;
  mn_plan_item medications[MN_PLAN_MAX_ITEMS];
  int n_medications;
  mn_plan_item procedures[MN_PLAN_MAX_ITEMS];
  int n_procedures;
} mn_plan_patient;
const mn_config_desc *mn_plan_patient_param_table(size_t *n);

typedef struct mn_plan_constraints {
  int max_sessions;          /**< most sessions the patient accepts */
  double max_downtime_days;  /**< visible redness tolerated per session (median), days */
  double min_interval_weeks; /**< shortest interval allowed (>= 4) */
  double max_interval_weeks; /**< longest interval allowed (<= 12) */
  char earliest_start[16];   /**< YYYY-MM-DD; "" = today */
  char finish_by[16];        /**< YYYY-MM-DD of the last session at the latest; "" = none */
  double probability;        /**< required probability of reaching the goal (0.8) */
} mn_plan_constraints;
const mn_config_desc *mn_plan_constraints_param_table(size_t *n);

typedef struct mn_plan_request {
  mn_plan_patient patient;
  mn_plan_region_req regions[MN_PLAN_MAX_REGIONS];
  int n_regions;
  mn_plan_constraints constraints;
  char device[32]; /**< catalogue id of the pen used */
  int draws;       /**< parameter draws (>= 200 for the report) */
  uint64_t seed;
  int threads; /**< 0 = all cores */
} mn_plan_request;

/** Check a request's values against each other (contradictory constraints, a scar type for a
 *  concern that is not a scar): MN_EINPUT with the reason. Dates are checked here too. */
int mn_plan_request_check(const mn_plan_request *r, mn_error *err);

/* ---- candidacy ---------------------------------------------------------------------------- */

typedef enum {
  MN_CAND_PROCEED,
  MN_CAND_PRECAUTIONS,
  MN_CAND_REFER,
  MN_CAND_DO_NOT_TREAT
} mn_candidacy_verdict;
const char *mn_candidacy_verdict_name(int v);

typedef enum {
  MN_RULE_CONDITION,
  MN_RULE_MEDICATION,
  MN_RULE_PROCEDURE,
  MN_RULE_PATIENT
} mn_rule_kind;

typedef struct mn_candidacy_rule {
  char id[8];
  int kind; /**< mn_rule_kind */
  char name[64];
  char aliases[256];  /**< '|'-separated */
  double within_days; /**< medications/procedures: applies within this many days; <0 = always */
  int verdict;        /**< mn_candidacy_verdict (never PROCEED) */
  char precaution[400];
  char reason[800];
  char source[800];
  char evidence[16];
} mn_candidacy_rule;

typedef struct mn_candidacy_rules {
  mn_candidacy_rule rule[MN_PLAN_MAX_RULES];
  int n;
} mn_candidacy_rules;

/** The rules compiled in (data/candidacy.csv), or parsed from CSV text. */
int mn_candidacy_rules_load(mn_candidacy_rules *r, mn_error *err);
int mn_candidacy_rules_parse(const char *csv, size_t len, const char *name, mn_candidacy_rules *r,
                             mn_error *err);

/** Resolve a name the user typed (a name or an alias of a rule of @p kind) to its rule, or fail
 *  with MN_EINPUT naming the nearest known name. @p key is the case-file path for the message. */
int mn_candidacy_lookup(const mn_candidacy_rules *r, int kind, const char *name, const char *key,
                        const mn_candidacy_rule **out, mn_error *err);

typedef struct mn_candidacy {
  int verdict; /**< the strictest of the matches; PROCEED when none */
  const mn_candidacy_rule *match[MN_PLAN_MAX_MATCHES];
  char detail[MN_PLAN_MAX_MATCHES][200]; /**< why it matched ("isotretinoin 90 days ago") */
  int n;
} mn_candidacy;

/** Screen a patient (names must resolve: mn_candidacy_lookup). */
int mn_candidacy_screen(const mn_candidacy_rules *r, const mn_plan_patient *p, mn_candidacy *out,
                        mn_error *err);

/* ---- indications (data/indications.csv, data/region_depths.csv) -------------------------- */

typedef enum { MN_GOAL_FILL, MN_GOAL_COLLAGEN, MN_GOAL_NONE } mn_goal_quantity;

typedef struct mn_indication {
  int concern, severity;
  double defect_mm;                  /**< default defect depth (fill goals) */
  double goal_pct;                   /**< default target improvement */
  double depth_min_mm, depth_max_mm; /**< needle depth range for the indication */
  int quantity;                      /**< mn_goal_quantity */
  int protocol_sessions;             /**< MN_GOAL_NONE: the clinic protocol's sessions */
  char source[400];
  char evidence[8];
} mn_indication;

typedef struct mn_region_depth {
  char region[32];
  double max_mm; /**< the deepest setting of the maker's chart for the region */
  char source[200];
} mn_region_depth;

typedef struct mn_indications {
  mn_indication ind[MN_CONCERN_COUNT * 3];
  int n;
  mn_region_depth region[32];
  int nregions;
  double interval_pref_weeks[2]; /**< the clinic interval (seed: 6-8 weeks) */
  char interval_source[200];
} mn_indications;

int mn_indications_load(mn_indications *ind, mn_error *err);
const mn_indication *mn_indication_find(const mn_indications *ind, int concern, int severity);

/* ---- the plan ----------------------------------------------------------------------------- */

typedef struct mn_plan_region {
  mn_plan_region_req req;
  const mn_indication *ind;
  mn_skin skin;
  double defect_mm, goal_pct; /**< as used */
  int quantity;               /**< mn_goal_quantity */
  double depth_mm;            /**< needle setting */
  double depth_cap_mm;        /**< the deepest allowed here (chart, anatomy) */
  char depth_reason[400];     /**< what bounded the depth */
  int passes;
  double density_cm2;     /**< punctures per cm2 per session */
  int sessions;           /**< sessions for this region (treated in the first `sessions` visits) */
  int reached;            /**< goal reached with the required probability */
  double probability;     /**< of reaching the goal with `sessions` sessions */
  double outcome[3];      /**< q05, median, q95 of the goal quantity at the review */
  double redness_days[3]; /**< per session: q05, median, q95 */
  double redness_threshold; /**< visibility threshold of the redness index (nominal) */
  double barrier_days[3];
  double sun_days[3];    /**< sun avoidance per session */
  double pih_pct[3];     /**< PIH risk per course (uncalibrated, flagged) */
  double collagen_pd[3]; /**< papillary collagen change at the review, % */
  /* figures: first week after one session (hourly) and the whole course (daily) */
  double week_t[MN_PLAN_WEEK_SAMPLES], week_red[3][MN_PLAN_WEEK_SAMPLES];
  double year_t[MN_PLAN_YEAR_SAMPLES], year_gain[3][MN_PLAN_YEAR_SAMPLES];
  int nweek, nyear;
  int draws_kept;
} mn_plan_region;

typedef struct mn_plan {
  mn_candidacy cand;
  int treat; /**< 0 when the verdict is refer or do not treat */
  mn_plan_region region[MN_PLAN_MAX_REGIONS];
  int n_regions;
  int sessions; /**< visits */
  double interval_days;
  double session_day[MN_PLAN_MAX_SESSIONS]; /**< from the start */
  double review_day;                        /**< 6 months after the last session */
  int reached;                              /**< every region reaches its goal */
  char start[16];                           /**< YYYY-MM-DD of the first session */
  int evaluations;                          /**< lumped runs */
  int draws_used; /**< posterior draws behind the probabilities and bands */
  char note[600]; /**< what bound the plan (unreachable goals, constraints) */
} mn_plan;

/** Screen and search: the whole plan for @p req. An unreachable goal is not an error (reached =
 *  0 and the best plan within the constraints). */
int mn_plan_make(const mn_plan_request *req, const mn_skin_atlas *atlas,
                 const mn_device_catalogue *cat, const mn_param_set *ps,
                 const mn_candidacy_rules *rules, const mn_indications *ind, mn_plan *out,
                 mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_PLAN_H */
