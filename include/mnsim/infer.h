/* mnsim infer: inference over the model - the parameter ensembles behind every band (Latin
 * hypercube over the prior ranges, the posterior of data/posterior.csv), the calibration and
 * validation targets (data/targets.csv) with how each is evaluated (data/target_models.csv:
 * a lumped course's median and 90 % band for the target's protocol, or an input of the atlas or
 * the catalogue, against the published value and range), and the calibration of the parameters
 * tagged C. Pipeline: after course (uses core, skin, device, healing, outcome, course). */
#ifndef MNSIM_INFER_H
#define MNSIM_INFER_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_LUMPED) || defined(MN__BUILDING_OUTCOME) || defined(MN__BUILDING_COURSE)
#error "mnsim/infer.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/course.h"
#include "mnsim/device.h"
#include "mnsim/healing.h"
#include "mnsim/outcome.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Ensembles: the parameter draws behind every uncertainty band. */

/** How one parameter is drawn. Split distributions with the table's value as the median: half
 *  of the draws between min and the value, half between the value and max, uniform on each
 *  side, or log-uniform when min > 0 and max >= 3 min (rates and scales whose range spans a
 *  factor). Fixed when min == max. */
typedef enum mn_uq_dist { MN_UQ_FIXED, MN_UQ_UNIFORM, MN_UQ_LOG_UNIFORM } mn_uq_dist;
/** How parameter @p p is drawn (from its min, value and max as above). */
mn_uq_dist mn_uq_distribution(const mn_param_info *p);

/** Draw @p n parameter sets by Latin hypercube sampling (seeded; one stratum per draw in every
 *  sampled dimension), each parameter per mn_uq_distribution; overridden parameters
 *  (mn_param_set_set) stay fixed. Draws with loop gain G >= 1 (or F_max <= 1) are dropped
 *  (models.md 7.6). @p out (room for n, the caller's) receives the kept draws, *kept their
 *  count, *dropped the rest. Deterministic for a seed.
 *  @return MN_OK; MN_ERANGE for @p n < 1; MN_ENOMEM. */
int mn_uq_sample(const mn_param_set *ps, int n, uint64_t seed, mn_model_params *out, int *kept,
                 int *dropped, mn_error *err);

/** The posterior ensemble (data/posterior.csv, written by `mnsim calibrate`): Latin-hypercube
 *  draws of the calibrated ranges, weighted by their agreement with the calibration targets
 *  (Gaussian in units of each target's half-range) and resampled. Values of the parameters that
 *  vary; the others keep the parameter set's value.
 *  Owns names and v: mn_posterior_fini. */
typedef struct mn_posterior {
  int n, ncols;         /**< draws, parameters per draw */
  char (*names)[24];    /**< [ncols] parameter names (mn_model_param_names) */
  double *v;            /**< [n][ncols] */
  int tried, kept;      /**< Latin-hypercube draws tried and kept (G < 1) */
  double ess;           /**< effective sample size of the weights */
  char fingerprint[17]; /**< mn_param_fingerprint of the parameters it was drawn from */
} mn_posterior;
/** The posterior compiled in; refused when data/healing_params.csv or data/calibration.csv
 *  changed since it was drawn. @p po is overwritten (free with mn_posterior_fini; zeroed on
 *  failure). @return MN_OK; MN_EINPUT for a malformed or stale table; MN_ENOMEM. */
int mn_posterior_load(mn_posterior *po, mn_error *err);
/** Parse a posterior table (@p len bytes; @p name for messages): a "# fingerprint HEX tried N
 *  kept N ess X" comment line, columns named after model parameters, values >= 0, at least one
 *  draw. The fingerprint is not checked. Same ownership and errors as mn_posterior_load. */
int mn_posterior_parse(const char *csv, size_t len, const char *name, mn_posterior *po,
                       mn_error *err);
/** Free the posterior's arrays and zero it. @p po must not be NULL. */
void mn_posterior_fini(mn_posterior *po);

/** Where the draws of an uncertainty band come from. Config key: simulate.uq_ensemble. */
typedef enum { MN_ENSEMBLE_POSTERIOR = 0, MN_ENSEMBLE_PRIOR = 1 } mn_ensemble_source;
/** @p n parameter sets for uncertainty bands: the first n posterior draws (at most its size;
 *  *kept says how many) with @p ps's values for every parameter that is fixed there or
 *  overridden (mn_param_set_set), or n Latin-hypercube draws of @p ps (seed @p seed). Draws with
 *  G >= 1 are dropped and counted in *dropped (a posterior draw only through an override). Any
 *  @p source other than MN_ENSEMBLE_PRIOR means the posterior. @p out: room for n, the caller's.
 *  @return MN_OK; the errors of mn_posterior_load or mn_uq_sample. */
int mn_ensemble(const mn_param_set *ps, int source, int n, uint64_t seed, mn_model_params *out,
                int *kept, int *dropped, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Targets and validation. */

/** What a target is for: fitting (calibration), checking (validation), or checking an input
 *  table (column `role`: calibration, validation, input-check). */
typedef enum { MN_TARGET_CALIBRATION, MN_TARGET_VALIDATION, MN_TARGET_INPUT } mn_target_role;
/** How a row is evaluated: a lumped course, an atlas or catalogue input, or not at all. */
typedef enum { MN_EVAL_MODEL, MN_EVAL_INPUT, MN_EVAL_NONE } mn_eval_kind;
/** Pass rule: the median within [lo, hi] (in), or the 90 % band overlapping it (covers). */
typedef enum { MN_RULE_IN, MN_RULE_COVERS } mn_rule;
/** Result of a row or a target. */
typedef enum { MN_VERDICT_PASS, MN_VERDICT_FAIL, MN_VERDICT_NOT_EVALUATED } mn_verdict;

/** One published target (a row of data/targets.csv). Plain data; texts as published. */
typedef struct mn_target {
  char id[16];
  int role; /**< mn_target_role */
  char quantity[160], value[64], unit[48], time_point[96], condition[400], source[400];
  int first, count; /**< its evaluation rows in mn_validation.rows */
  int verdict;      /**< mn_verdict: pass when every evaluated row passes */
} mn_target;

/** One evaluation (a row of data/target_models.csv) and its result. Plain data. */
typedef struct mn_target_eval {
  int target;           /**< index into mn_validation.targets */
  int kind;             /**< mn_eval_kind */
  mn_skin_params skin;  /**< the patient (age 40) */
  mn_device_params dev; /**< the device and its depth (mm) */
  /** protocol (per cm2, days); arg: the quantity's argument (fill_pct: lesion depth, um;
   *  roller_density: passes); lo, hi: the published range (+-inf where open) */
  double density_cm2, interval_day, days, arg, lo, hi;
  int sessions, rule; /**< rule: mn_rule */
  char quantity[40], note[240];
  /* result */
  double nominal, median, q05, q95; /**< nominal run, and the draws' median and 90 % band */
  int kept, dropped, failed;        /**< draws evaluated (failed ones excluded), dropped, failed */
  int verdict;                      /**< mn_verdict */
} mn_target_eval;

/** The targets and their evaluation rows. Owns both arrays: mn_validation_fini. */
typedef struct mn_validation {
  mn_target *targets;
  int ntargets;
  mn_target_eval *rows;
  int nrows;
} mn_validation;

/** Load the shipped targets and their evaluations; each evaluation must name a known target and
 *  a known quantity, and every target must have at least one row. @p v is overwritten (free with
 *  mn_validation_fini; zeroed on failure). @return MN_OK; MN_EINPUT naming file and line;
 *  MN_ENOMEM. */
int mn_validation_load(mn_validation *v, mn_error *err);
/** Load from CSV texts (tests): @p targets (@p tlen bytes) as data/targets.csv, @p models
 *  (@p mlen bytes) as data/target_models.csv, the names used in messages. As mn_validation_load. */
int mn_validation_parse(const char *targets, size_t tlen, const char *models, size_t mlen,
                        mn_validation *v, mn_error *err);
/** Free the arrays and zero @p v. NULL-safe. */
void mn_validation_fini(mn_validation *v);

/** Evaluate every row (model rows: nominal run plus @p draws draws of mn_ensemble(@p source,
 *  seed @p seed), @p threads at a time) and every target's verdict, into @p v. @p only_role: -1
 *  all, else only targets of that role. A model run that fails gives NaN and a FAIL verdict, not
 *  an error. @return MN_OK; MN_ENOMEM; the errors of mn_ensemble, and of mn_skin_build or
 *  mn_device_init for an input row. */
int mn_validation_run(mn_validation *v, const mn_param_set *ps, int source, int draws,
                      uint64_t seed, int threads, int only_role, mn_error *err);

/** Evaluate one model row for parameter set @p m: the row's quantity (NaN when the skin, the
 *  device or the run fails; the error is dropped). @p atlas and @p cat are borrowed for the
 *  call. Thread-safe. */
double mn_target_eval_model(const mn_target_eval *r, const mn_model_params *m,
                            const mn_skin_atlas *atlas, const mn_device_catalogue *cat);

/** 1 when @p q is a quantity a row of kind @p kind (mn_eval_kind) may ask for: outcome scalars
 *  and derived ones for model rows, atlas and catalogue inputs for input rows, anything for
 *  rows without evaluation; else 0. */
int mn_target_quantity_known(const char *q, int kind);

/* ---------------------------------------------------------------------------------------------
 * Calibration: fit parameters tagged C to the calibration targets (src/infer/calibrate.c). */
/** Most parameters one calibration fits. */
enum { MN_CALIB_MAX = 16 };
/** Result of mn_calibrate. Plain data; values in each parameter's unit. */
typedef struct mn_calibration {
  int n; /**< fitted parameters */
  char name[MN_CALIB_MAX][24];
  double prior[MN_CALIB_MAX], prior_min[MN_CALIB_MAX], prior_max[MN_CALIB_MAX];
  double value[MN_CALIB_MAX];                /**< fitted value */
  double lo[MN_CALIB_MAX], hi[MN_CALIB_MAX]; /**< calibrated range */
  double misfit0, misfit;                    /**< total misfit at the prior and at the fit */
  double misfit_nominal;                     /**< after the nominal stage; 0 if ens_draws = 0 */
  int ens_draws;                             /**< draws of the ensemble stage (kept) */
  int evals;                                 /**< misfit evaluations */
  char targets[512];                         /**< ids of the targets used */
} mn_calibration;

/** Fit parameters @p names (each tagged C) of the prior set @p prior to the calibration
 *  targets: first the nominal model (at most @p max_evals misfit evaluations), then, when
 *  @p ens_draws > 0, the median over @p ens_draws Latin-hypercube draws (seed @p ens_seed) of
 *  the other parameters (at most @p ens_evals evaluations). Runs @p threads lumped courses at a
 *  time (0: OpenMP's default). Deterministic. @p out is zeroed first.
 *  @return MN_OK; MN_EINPUT for @p n outside [1, MN_CALIB_MAX], an unknown name, a parameter not
 *  tagged C or without a range, or no computable calibration target; MN_ENOMEM; the errors of
 *  loading the shipped tables. */
int mn_calibrate(const mn_param_set *prior, const char *const *names, int n, int max_evals,
                 int ens_draws, uint64_t ens_seed, int ens_evals, int threads, mn_calibration *out,
                 mn_error *err);

/** The calibration table (data/calibration.csv) for @p c.
 *  @param[out] text NUL-terminated text, owned by the caller (free with mn_free); NULL on failure
 *  @param[out] len its length without the NUL
 *  @return MN_OK; MN_ENOMEM; MN_EINTERNAL when the table exceeds 64 KiB. */
int mn_calibration_text(const mn_calibration *c, char **text, size_t *len, mn_error *err);

/** Figures of a posterior build: draws tried, kept (G < 1), distinct after resampling, and the
 *  effective sample size of the weights. */
typedef struct mn_posterior_stats {
  int tried, kept, distinct;
  double ess;
} mn_posterior_stats;
/** The posterior ensemble (data/posterior.csv): @p n_try Latin-hypercube draws of the calibrated
 *  set @p cal (seed @p seed), weighted by exp(-1/2 sum over calibration targets of the mean z^2
 *  of its rows), z the model's distance from the published range's centre in half-ranges, and
 *  resampled (systematic) to @p n_out draws. @p fingerprint (mn_param_fingerprint of the prior
 *  and the calibration behind @p cal) is recorded. @p threads lumped courses run at a time.
 *  @param[out] st the figures of the build
 *  @param[out] text NUL-terminated table, owned by the caller (mn_free); NULL on failure
 *  @param[out] len its length without the NUL
 *  @return MN_OK; MN_ERANGE for @p n_try or @p n_out < 1; MN_ENUMERIC when every draw has
 *  G >= 1; MN_ENOMEM; MN_EINTERNAL when the table outgrows its buffer; the errors of loading
 *  the shipped tables. */
int mn_posterior_build(const mn_param_set *cal, int n_try, uint64_t seed, int n_out, int threads,
                       const char *fingerprint, mn_posterior_stats *st, char **text, size_t *len,
                       mn_error *err);

/** "calibration", "validation", "input-check"; "?" out of range. Static string. */
const char *mn_target_role_name(int role);
/** "pass", "FAIL", "not evaluated"; "?" out of range. Static string. */
const char *mn_verdict_name(int v);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_INFER_H */
