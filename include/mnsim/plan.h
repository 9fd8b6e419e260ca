/* mnsim plan: candidacy screening, the protocol search, the aftercare calendar and the data of
 * the report's computed figures. A patient (age, sex, Fitzpatrick type, conditions, medications,
 * recent procedures), regions with their concerns and goals, and constraints -> a verdict with
 * every reason, and per region the needle depth, passes, number of sessions and interval that
 * reach the goal with the required probability over the parameter draws, with the least
 * downtime. Pipeline: after course and infer (uses core, skin, device, healing, outcome, course,
 * infer); io and report render its results. */
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

/** The one rule behind every sun-avoidance figure of a plan: the whole days after a session that
 *  cover the longer of the visible-redness window and the model's sun window (open barrier,
 *  UV-driven pigment), each at its 95th percentile over the parameter draws (the skin that is
 *  red or open is kept out of the sun). */
#define MN_PLAN_SUN_RULE                                                                         \
  "whole days covering the longer of visible redness and the model's sun window (open barrier, " \
  "UV-driven pigment), each at its 95th percentile over the draws"

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
  char region[32];    /**< atlas region */
  int concern;        /**< mn_concern */
  int severity;       /**< mn_severity */
  int scar_type;      /**< mn_lesion_type for acne scars (icepick, boxcar, rolling), -1 otherwise */
  double defect_mm;   /**< depth of the wrinkle or scar; 0 = the indication's default */
  double residual_mm; /**< fill goals: the depth the lesion is to reach; 0 = the indication's */
  double goal_pct;    /**< target improvement; 0 = derived (fill) or the indication's default */
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
  char device[32];       /**< catalogue id of the pen used */
  int draws;             /**< parameter draws of the search (>= 200 for the report) */
  double max_mcse;       /**< largest Monte Carlo standard error of a goal's probability: each
                              region's final course is rerun with the draws it needs, up to every
                              posterior draw; 0: no rerun (patient-file key max_mcse, default 0.01) */
  double patient_spread; /**< sigma_b of the patient factor (docs/plan.md "A probability for a
                              patient"): 0 = the posterior of data/between_patient.csv; > 0 (up
                              to 1.5) that sigma_b; -1 = none: every patient responds as the
                              population mean (patient-file key patient_spread) */
  int all_draws;         /**< 1: every yes-or-no question of the search runs all its draws at
                              once instead of in stages that stop when the answer is clear
                              (docs/plan.md "Draws in stages"); the same plan, more runs */
  int exact;             /**< 1: no emulator: every probability from every draw's own course
                              (docs/plan.md "The emulator"); the default 0 emulates where it pays */
  int from_day0;         /**< 1: every course runs from day 0, none from the state a shorter
                              course of its setting held (docs/plan.md "Courses share their
                              beginnings"): the same plan, more work; a check */
  int emulator_constant; /**< tests only: the emulator predicts a constant (the control variate
                              must still give an unbiased probability, with a larger error) */
  uint64_t seed;
  int threads;    /**< 0 = all cores */
  char today[16]; /**< YYYY-MM-DD: the day the plan is made (the library never reads the
                       clock); the start when constraints.earliest_start is empty */
  mn_sun sun;     /**< the patient's sun after the sessions (patient-file section `sun`) */
} mn_plan_request;

/** Check a request's values against each other (contradictory constraints, a scar type for a
 *  concern that is not a scar, a repeated region) and its dates (YYYY-MM-DD; today may be empty
 *  here, mn_plan_make needs it when earliest_start is empty). @return MN_OK, or MN_EINPUT /
 *  MN_ERANGE with the key ("constraints.finish_by") and the reason. */
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
/** "condition", "medication", "procedure", "patient"; "?" out of range. */
const char *mn_rule_kind_name(int k);

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

/** The candidacy rules: an opaque table (create/destroy); a rule pointer it hands out stays
 *  valid until the table is destroyed. */
typedef struct mn_candidacy_rules mn_candidacy_rules;

/** The rules compiled in (data/candidacy.csv). @param[out] out owned by the caller
 *  (mn_candidacy_rules_destroy). @return MN_OK, MN_EINPUT for a malformed table, MN_ENOMEM. */
int mn_candidacy_rules_create(mn_candidacy_rules **out, mn_error *err);
/** Rules from CSV text @p csv of @p len bytes (the columns of data/candidacy.csv); @p name is
 *  used in messages ("file:line: ..."). @return as mn_candidacy_rules_create. */
int mn_candidacy_rules_parse(const char *csv, size_t len, const char *name,
                             mn_candidacy_rules **out, mn_error *err);
/** Free the table. NULL-safe. */
void mn_candidacy_rules_destroy(mn_candidacy_rules *r);
/** Number of rules. */
int mn_candidacy_rules_count(const mn_candidacy_rules *r);
/** Rule @p i (0 <= i < count), borrowed from the table; NULL out of range. */
const mn_candidacy_rule *mn_candidacy_rules_get(const mn_candidacy_rules *r, int i);

/** Resolve a name the user typed (a name or an alias of a rule of @p kind) to its rule (*out,
 *  borrowed from @p r), or fail with MN_EINPUT naming the nearest known name. @p key is the
 *  patient file's key path for the message ("patient.conditions[0]"). */
int mn_candidacy_lookup(const mn_candidacy_rules *r, int kind, const char *name, const char *key,
                        const mn_candidacy_rule **out, mn_error *err);

/** A condition, medication or procedure of the patient file that no rule names: free text the
 *  clinician checks at the consultation (mnsim has no rule for it). */
typedef struct mn_candidacy_unruled {
  int kind;         /**< mn_rule_kind: condition, medication or procedure */
  char name[64];    /**< as given */
  double days_ago;  /**< medications and procedures; 0 for conditions */
  char nearest[64]; /**< a rule's name this one is a likely typo of (edit distance), "" if none */
  int held;         /**< 1: a likely typo of a refer or do-not-treat rule: the verdict is at
                         least refer until a clinician confirms the name (a misspelt
                         contraindication must not pass as "no rule") */
} mn_candidacy_unruled;

/** The screening of one patient. The rules it points to are borrowed from the table that
 *  screened it, which must outlive it. */
typedef struct mn_candidacy {
  int verdict; /**< the strictest of the matches; PROCEED when none */
  const mn_candidacy_rule *match[MN_PLAN_MAX_MATCHES]; /**< borrowed from the rules */
  char detail[MN_PLAN_MAX_MATCHES][200]; /**< why it matched ("isotretinoin 90 days ago") */
  /** days from the screening's day to the first day match i no longer applies: a rule with
   *  within_days for a dose or procedure in the past lapses on day floor(within_days -
   *  days_ago) + 1; -1 for a match that lasts (no window, or days_ago 0: still taken) */
  double until_day[MN_PLAN_MAX_MATCHES];
  int n;
  int verdict_later; /**< the strictest verdict once every time-limited match has lapsed */
  double wait_days;  /**< days until the last time-limited refer / do-not-treat match lapses;
                          0 when none applies */
  mn_candidacy_unruled unruled[3 * MN_PLAN_MAX_ITEMS]; /**< entries no rule names */
  int n_unruled;
} mn_candidacy;

/** Screen patient @p p against @p r: every matching rule with why it matched, the strictest
 *  verdict, when time-limited matches lapse, and the entries no rule names (accepted as free
 *  text, with the nearest known name when it is a likely typo; a likely typo of a refer or
 *  do-not-treat rule holds the verdict at refer at least). @return MN_OK. */
int mn_candidacy_screen(const mn_candidacy_rules *r, const mn_plan_patient *p, mn_candidacy *out,
                        mn_error *err);

/* ---- indications (data/indications.csv, data/region_depths.csv) -------------------------- */

typedef enum { MN_GOAL_FILL, MN_GOAL_COLLAGEN, MN_GOAL_NONE } mn_goal_quantity;

typedef struct mn_indication {
  int concern, severity;
  double defect_mm;   /**< default defect depth (fill goals) */
  double residual_mm; /**< fill goals: the residual depth to reach (the scale's
                           threshold: Goodman-Baron mild, Lemperle grade 1) */
  double goal_pct;    /**< fill goals: the smallest improvement asked (a floor); collagen goals: the
                           target gain */
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

/** The indications table and the deepest setting per region: opaque (create/destroy); the
 *  indications it hands out stay valid until it is destroyed. */
typedef struct mn_indications mn_indications;

/** The tables compiled in (data/indications.csv, data/region_depths.csv). @param[out] out owned
 *  by the caller (mn_indications_destroy). @return MN_OK, MN_EINPUT, MN_ENOMEM. */
int mn_indications_create(mn_indications **out, mn_error *err);
/** Free the tables. NULL-safe. */
void mn_indications_destroy(mn_indications *ind);
/** The indication of @p concern and @p severity (borrowed), or NULL when the table has none. */
const mn_indication *mn_indication_find(const mn_indications *ind, int concern, int severity);
/** The maker's chart row of @p region (borrowed), or NULL when the chart has none. */
const mn_region_depth *mn_indications_region_depth(const mn_indications *ind, const char *region);
/** The clinic's usual interval between sessions, weeks: w[0] to w[1] (seed: 6-8 weeks). A
 *  scheduling preference among intervals that reach the goal equally, not a model result. */
void mn_indications_interval_pref(const mn_indications *ind, double w[2]);

/* ---- the plan ----------------------------------------------------------------------------- */

/** The curves behind the report's redness and collagen figures of one region: q05, median and
 *  q95 over the draws of the redness index over the first week after one session (hourly) and of
 *  the course's papillary collagen change over the first year (daily, %). */
typedef struct mn_plan_curves {
  double week_t[MN_PLAN_WEEK_SAMPLES], week_red[3][MN_PLAN_WEEK_SAMPLES];
  double year_t[MN_PLAN_YEAR_SAMPLES], year_gain[3][MN_PLAN_YEAR_SAMPLES];
  int nweek, nyear;
} mn_plan_curves;

/** The plan of one region. */
typedef struct mn_plan_region {
  mn_plan_region_req req;
  const mn_indication *ind; /**< borrowed from the indications table the plan was made with */
  mn_skin skin;
  double defect_mm, residual_mm, goal_pct; /**< as used: fill goals ask for the share
                                                1 - residual / defect of the depth, at least the
                                                indication's floor, unless goal_pct is given */
  int quantity;                            /**< mn_goal_quantity */
  double depth_mm;                         /**< needle setting */
  double depth_cap_mm;                     /**< the deepest allowed here (chart, anatomy) */
  char depth_reason[400];                  /**< what bounded the depth */
  char precaution[400]; /**< the candidacy precaution that constrained this region's search and
                             how (R44: PIH risk cap), "" when none applies */
  char binding[300];    /**< when the goal is not reached: the constraint that binds and the
                             smallest change that reaches it ("" when reached) */
  int passes;
  double density_cm2; /**< punctures per cm2 per session */
  int sessions;       /**< sessions for this region (treated in the first `sessions` visits) */
  int reached;        /**< goal reached with the required probability */
  double probability; /**< that a patient reaches the goal with `sessions` sessions: over
                           the draws and the patient factor (req.patient_spread) */
  double probability_population;      /**< that the population mean reaches it: the share of the
                                           draws whose predicted mean outcome does */
  double probability_population_mcse; /**< its Monte Carlo standard error (as probability_mcse's) */
  double probability_mcse;  /**< its Monte Carlo standard error over the n usable draws and the
                                 posterior table's own (its ESS E, N draws): sqrt(p (1 - p)
                                 (1 / n + 1 / E - 1 / N)), p = (hits + 1) / (n + 2), for
                                 0/1 draws; with the emulator's correction's part added
                                 (docs/plan.md "The emulator") */
  double outcome[3];        /**< q05, median, q95 of the goal quantity at the review */
  double redness_days[3];   /**< per session: q05, median, q95 */
  double redness_threshold; /**< visibility threshold of the redness index (nominal) */
  double barrier_days[3];
  double sun_days[3];     /**< the model's sun window per session (barrier and UV drive) */
  double sun_window_days; /**< THE sun-avoidance window of the plan's outputs (summary,
                               report, calendar, plan.json): MN_PLAN_SUN_RULE */
  double pih_pct[3];      /**< PIH risk per course (uncalibrated, flagged) */
  double collagen_pd[3];  /**< papillary collagen change at the review, % */
  mn_plan_curves *curves; /**< the figures' curves, owned by the plan (mn_plan_fini) */
  int draws_kept;         /**< parameter sets behind the probability (the nominal and the
                               posterior draws of the final course) */
  double probability_ess; /**< the effective sample size of the per-draw probabilities along the
                               posterior chain when the final course covers every posterior
                               draw (then the Monte Carlo error's table term), NAN otherwise */
  int draws_exact;        /**< of those, the ones whose whole course ran: the bands and curves,
                               and the emulator's fit and correction (= draws_kept when nothing
                               was emulated) */
} mn_plan_region;

/** An entry of the aftercare calendar: days since 1970-01-01, @p to exclusive. */
typedef enum {
  MN_EVENT_SESSION,
  MN_EVENT_REDNESS,
  MN_EVENT_SUN,
  MN_EVENT_REVIEW
} mn_plan_event_kind;
typedef struct mn_plan_event {
  int kind;      /**< mn_plan_event_kind */
  int session;   /**< 0-based session it follows (-1 for the review) */
  long from, to; /**< first day and the day after the last */
  double days;   /**< the window's length from the model (redness, sun), days; 0 otherwise */
  int busy;      /**< an appointment (session, review) rather than a window */
  char uid[64];  /**< stable identifier ("mnsim-2027-01-11-sun-1@mnsim") */
  char summary[96];
  char text[512]; /**< what the patient reads */
} mn_plan_event;

/** A treatment plan: a result struct filled by mn_plan_make and freed by mn_plan_fini. It owns
 *  its curves and its calendar; its rule and indication pointers are borrowed from the tables
 *  it was made with, which must outlive it. */
typedef struct mn_plan {
  mn_candidacy cand;
  int treat; /**< 0 when the verdict is refer or do not treat */
  mn_plan_region region[MN_PLAN_MAX_REGIONS];
  int n_regions;
  int sessions; /**< visits */
  double interval_days;
  double interval_best_days;  /**< the model's best interval (the clinic's may be chosen) */
  char interval_reason[1024]; /**< which rule chose interval_days, and the allowed limits */
  double session_day[MN_PLAN_MAX_SESSIONS]; /**< from the start */
  double review_day;                        /**< 6 months after the last session */
  int reached;                              /**< every region reaches its goal */
  char start[16];                           /**< YYYY-MM-DD of the first session */
  char allowed_from[16];  /**< YYYY-MM-DD: the first day the time-limited refer / do-not-treat
                               matches allow (today + cand.wait_days; the start is not earlier);
                               "" when none applies or the plan treats no one */
  int evaluations;        /**< lumped runs */
  int resumed;            /**< of those, courses that started from a shorter one's held state */
  int draws_used;         /**< posterior draws behind the probabilities and bands (the most of
                               any region's final course) */
  double spread_q[3];     /**< sigma_b of the patient factor used: 5, 50, 95 % (0 for none) */
  char spread_label[128]; /**< where it comes from (mn_spread.label) */
  char note[1200];        /**< what bound the plan (unreachable goals, constraints) */
  mn_plan_event *events;  /**< the aftercare calendar in date order, owned */
  int n_events;
} mn_plan;

/** Screen and search: the whole plan for @p req (req->today must be set when
 *  constraints.earliest_start is empty). An unreachable goal is not an error (reached = 0 and
 *  the best plan within the constraints). The tables are borrowed for the call and, through the
 *  plan's pointers, for the plan's life.
 *  @param[out] out filled; free with mn_plan_fini (also after a failure).
 *  @return MN_OK; MN_EINPUT or MN_ERANGE for a request that cannot be planned (the key names
 *  the patient file's entry); MN_ENOMEM; MN_EINTERNAL when every model run failed. */
int mn_plan_make(const mn_plan_request *req, const mn_skin_atlas *atlas,
                 const mn_device_catalogue *cat, const mn_param_set *ps,
                 const mn_candidacy_rules *rules, const mn_indications *ind, mn_plan *out,
                 mn_error *err);
/** Free what a plan owns (curves, calendar) and clear it. NULL-safe. */
void mn_plan_fini(mn_plan *p);

/* ---- the data behind the report's computed figures ---------------------------------------- */

/** A vertical cross-section through one channel of a 3D unit cell: two fields at two days. */
typedef struct mn_plan_section {
  int nx, nz;
  double dx_um;         /**< lateral cell size */
  double *zf_um;        /**< [nz + 1] face depths below the surface, owned */
  uint8_t *layer;       /**< [nz] skin layer (MN_LAYER_*) of each row, owned */
  double *value[2];     /**< [nz][nx] (x fastest) field values, owned */
  double t_day[2];      /**< the days they were taken */
  const char *label[2]; /**< what each field is, e.g. "damage D" */
  const char *unit[2];  /**< its unit, for the colour bar, e.g. "0-1" */
} mn_plan_section;

/** What report.html draws besides the plan itself, computed before it is written. */
typedef struct mn_plan_figures {
  mn_treatment patch; /**< the first region's passes on a 10 x 10 mm patch */
  mn_density_map map; /**< their punctures per cm2, 1 mm cells (owned) */
  int has_section;
  mn_plan_section section; /**< virtual histology of the first region's setting (owned) */
} mn_plan_figures;

/** The figures' data for plan @p p of request @p req: the density map of one session of the
 *  first region's setting, and with @p section the virtual histology (a 3D unit cell run to day
 *  1 through mn_course: the damage at 0.05 day and the neutrophils at day 1).
 *  @param[out] out free with mn_plan_figures_fini (also after a failure).
 *  @return MN_OK, MN_ENOMEM, or an error of the device or the course. */
int mn_plan_figures_make(const mn_plan *p, const mn_plan_request *req,
                         const mn_device_catalogue *cat, const mn_param_set *ps, int section,
                         mn_plan_figures *out, mn_error *err);
/** Free what @p f owns. NULL-safe. */
void mn_plan_figures_fini(mn_plan_figures *f);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_PLAN_H */
