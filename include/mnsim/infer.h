/* mnsim infer: inference over the model - the parameter ensembles behind every band (Latin
 * hypercube over the prior ranges, the posterior of data/posterior.csv), the calibration and
 * validation targets (data/targets.csv) with how each is evaluated (data/target_models.csv:
 * a lumped course's median and 90 % band for the target's protocol, or an input of the atlas or
 * the catalogue, against the published value and range), the ensemble sampler, and the
 * calibration (the posterior) of the parameters tagged C. Pipeline: after course (uses core, skin,
 * device, healing, outcome, course). */
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

/** The value of parameter @p p at quantile @p u in [0, 1] of its distribution
 *  (mn_uq_distribution, split at the table's value: u = 0.5 gives the value). */
double mn_uq_value(const mn_param_info *p, double u);

/** Draw @p n parameter sets by Latin hypercube sampling (seeded; one stratum per draw in every
 *  sampled dimension), each parameter per mn_uq_distribution; overridden parameters
 *  (mn_param_set_set) stay fixed. Draws with loop gain G >= 1 (or F_max <= 1) are dropped
 *  (models.md 7.6). @p out (room for n, the caller's) receives the kept draws, *kept their
 *  count, *dropped the rest. Deterministic for a seed.
 *  @return MN_OK; MN_ERANGE for @p n < 1; MN_ENOMEM. */
int mn_uq_sample(const mn_param_set *ps, int n, uint64_t seed, mn_model_params *out, int *kept,
                 int *dropped, mn_error *err);

/** The posterior ensemble (data/posterior.csv, written by `mnsim calibrate`): ensemble-sampler
 *  draws of the calibrated parameters given the calibration targets (every other parameter at
 *  its table value). Values of the parameters that vary; the others keep the parameter set's
 *  value. Owns names and v: mn_posterior_fini. */
typedef struct mn_posterior {
  int n, ncols;         /**< draws, parameters per draw */
  char (*names)[24];    /**< [ncols] parameter names (mn_model_param_names) */
  double *v;            /**< [n][ncols] */
  int tried, kept;      /**< draws after the burn-in, draws in the table */
  double ess;           /**< the smallest effective sample size of the chain */
  char fingerprint[17]; /**< mn_param_fingerprint of the parameters it was drawn from */
  int walkers; /**< the chain's walkers (its "all N walkers" comment), 0 when not given: with
                    them each row's place in the chain is known (mn_posterior_row_step) */
} mn_posterior;
/** The kept step of the chain (0 .. n / walkers - 1, in the chain's order) that row @p row of
 *  @p po comes from: mn_posterior_text writes the kept steps in a spread order, step
 *  j at row block i = j x stride mod steps (mn_posterior_stride), each block all walkers in
 *  order. -1 when the table does not say its walkers or @p row is out of range. */
int mn_posterior_row_step(const mn_posterior *po, int row);
/** The spread order's stride for @p steps kept steps: about 0.618 steps, coprime with steps. */
int mn_posterior_stride(int steps);
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
/** The posterior part of mn_ensemble from an already loaded table @p po (borrowed): for a
 *  caller that also needs the table's other fields (its ESS) and so loads it once. Never fails. */
void mn_ensemble_posterior(const mn_param_set *ps, const mn_posterior *po, int n,
                           mn_model_params *out, int *kept, int *dropped);

/* ---------------------------------------------------------------------------------------------
 * Global sensitivity (src/infer/sobol.c). */

/** Evaluate @p n parameter sets into @p y ([n][nout]; NaN for a run that fails). The callee
 *  may run them in parallel. */
typedef void (*mn_sobol_fn)(int n, const mn_model_params *sets, double *y, void *user);

/** Sobol indices of every parameter that varies in the set (not overridden, min < max) for
 *  nout outputs: [nout][k] arrays, the 95 % bootstrap intervals [nout][k][2]. Owns every array:
 *  mn_sobol_fini. */
typedef struct mn_sobol {
  int k, nout, N, boot;
  char (*names)[24];     /**< [k] */
  double *S1, *ST;       /**< first-order and total indices */
  double *S1_ci, *ST_ci; /**< their 2.5 % and 97.5 % bootstrap percentiles */
  double *var;           /**< [nout] output variance */
  int *used;             /**< base rows where all three runs succeeded */
} mn_sobol;

/** Saltelli sampling (A, B and A_B^(i), N base rows: N (k + 2) runs) of the parameters of
 *  @p ps as the bands draw them (mn_uq_value), seed @p seed; the first-order estimator of
 *  Saltelli 2010 and Jansen's total; @p boot bootstrap resamples of the base rows (0: none).
 *  Deterministic for a seed. Under MPI each rank calls @p f on its block of the runs
 *  (mn_dist_block; @p f must give each run's outputs from that run alone) and every rank gets
 *  every result, the same bytes as one process. @p out is overwritten (free with mn_sobol_fini).
 *  @return MN_OK; MN_ERANGE for N < 8, nout < 1 or boot < 0; MN_EINPUT when nothing varies;
 *  MN_ENOMEM; an MPI failure. */
int mn_sobol_run(const mn_param_set *ps, int N, uint64_t seed, int nout, int boot, mn_sobol_fn f,
                 void *user, mn_sobol *out, mn_error *err);
/** Free the arrays and zero @p s. NULL-safe. */
void mn_sobol_fini(mn_sobol *s);

/** The outputs of `mnsim sensitivity`, in its order: the ids of sobol.csv's output column and
 *  short labels for figures. */
enum { MN_SOBOL_NOUT = 6 };
extern const char *const mn_sobol_output_id[MN_SOBOL_NOUT];
extern const char *const mn_sobol_output_label[MN_SOBOL_NOUT];
/** Read a sobol.csv table (`mnsim sensitivity -o DIR` writes DIR/sobol.csv: parameter, output,
 *  S1, S1_lo, S1_hi, ST, ST_lo, ST_hi, rows) into @p out (outputs in mn_sobol_output_id order,
 *  parameters in their first order; var is not in the table and stays 0; N is the largest rows).
 *  @return MN_OK; MN_EINPUT naming the line (an unknown output, a missing or repeated row, a
 *  field that is not a number); MN_ENOMEM. */
int mn_sobol_parse(const char *text, size_t len, const char *name, mn_sobol *out, mn_error *err);
/** The shipped indices: data/sensitivity.csv, `mnsim sensitivity`'s table for its default
 *  scenario (docs/calibration.md, "Global sensitivity"), compiled into the library. */
int mn_sobol_load_shipped(mn_sobol *out, mn_error *err);
/** The largest finite total index of parameter @p k over the outputs (0 when none). */
double mn_sobol_max_st(const mn_sobol *s, int k);
/** Every parameter's index into @p order ([s->k], the caller's), by mn_sobol_max_st descending;
 *  ties keep the parameter order. */
void mn_sobol_rank(const mn_sobol *s, int *order);

/* ---------------------------------------------------------------------------------------------
 * Between patients (src/infer/spread.c; docs/calibration.md "Between patients"). */

enum { MN_SPREAD_GRID = 300, MN_SPREAD_MAX_ITEMS = 8 };
#define MN_SPREAD_SIGMA_MAX 1.5 /**< the flat prior's upper end of sigma_b */

/** One data item's own posterior of sigma_b (5, 50, 95 %). */
typedef struct mn_spread_item {
  char id[16];
  double q[3];
} mn_spread_item;

/** A validation item's check of sigma_b's posterior (role validation in the table: never
 *  fitted). The item gives an SD s of the improvement around its mean m over n patients; under
 *  sigma_b, (n - 1) s^2 / (m^2 (exp(sigma_b^2) - 1)) ~ chi^2(n - 1). p is the posterior
 *  predictive probability that a replicate study's SD falls below the observed one (sigma_b over
 *  the fit items' posterior); the check passes when 0.05 <= p <= 0.95, a tolerance set by the
 *  item's n alone. */
typedef struct mn_spread_check {
  char id[16];
  char source[96]; /**< the table's source, cut to fit */
  int n;           /**< patients */
  double mean, sd; /**< the improvement's mean and SD as derived from the item */
  double cv;       /**< sd / mean */
  double sigma;    /**< the log-SD of that CV: sqrt(ln(1 + cv^2)) */
  double q[3];     /**< the item's own posterior of sigma_b (5, 50, 95 %) */
  double p;        /**< posterior predictive P(SD of a replicate < the observed SD) */
  int pass;        /**< 0.05 <= p <= 0.95 */
} mn_spread_check;

/** The spread of the treatment response between patients. Patient i's response (the dermal
 *  thickening and the collagen gain of the whole course) is the population mean's times
 *  b_i ~ LogNormal(-sigma_b^2 / 2, sigma_b), so E[b] = 1: the calibrated parameters keep
 *  predicting the population mean. sigma_b is a grid distribution: the posterior of the data
 *  items (mn_spread_parse), or one point (mn_spread_fixed). Plain data. */
typedef struct mn_spread {
  int n;                                    /**< grid points (1 for a fixed sigma_b) */
  double sigma[MN_SPREAD_GRID];             /**< sigma_b at each point */
  double w[MN_SPREAD_GRID];                 /**< its probability mass (sums to 1) */
  double q[3];                              /**< 5, 50 and 95 % quantiles of sigma_b */
  mn_spread_item item[MN_SPREAD_MAX_ITEMS]; /**< each fit item's own posterior */
  int nitems;
  mn_spread_check check[MN_SPREAD_MAX_ITEMS]; /**< the validation items against the posterior */
  int nchecks;
  char label[128]; /**< where it comes from ("posterior from data/between_patient.csv ...",
                        "fixed", "none") */
} mn_spread;

/** The posterior of sigma_b from a table with data/between_patient.csv's columns (id, role,
 *  kind, n, mean, lo, hi, level, cuts, counts, before, after; kind sd_change: the mean change
 *  and its confidence interval of level `level`; kind categories: patient counts between cut
 *  points of the fractional improvement, the study's mean integrated out; kind before_after: the
 *  score's mean|SD before and after, the improvement f taken as independent of the baseline):
 *  each fit item's grid posterior under a flat prior on (0, MN_SPREAD_SIGMA_MAX], mixed with
 *  equal weights; each validation item (sd_change or before_after) checked against the mixture
 *  (mn_spread_check). At least one fit item.
 *  @return MN_OK; MN_EINPUT naming the line and column; MN_ENOMEM. */
int mn_spread_parse(const char *text, size_t len, const char *name, mn_spread *out, mn_error *err);
/** The shipped posterior: data/between_patient.csv, compiled into the library. */
int mn_spread_load_shipped(mn_spread *out, mn_error *err);
/** A point mass at @p sigma (<= 0: no spread: every patient responds as the mean). */
void mn_spread_fixed(mn_spread *out, double sigma);
/** P(b_i >= @p b) for a patient, sigma_b integrated over @p s: the probability that a patient's
 *  response reaches @p b times the population mean (1 for b <= 0). */
double mn_spread_survival(const mn_spread *s, double b);

/* ---------------------------------------------------------------------------------------------
 * Targets and validation. */

/** What a target is for: fitting (calibration), checking (validation), or checking an input
 *  table, or a statement that must hold under the posterior (column `role`: calibration,
 *  validation, input-check, acceptance). */
typedef enum {
  MN_TARGET_CALIBRATION,
  MN_TARGET_VALIDATION,
  MN_TARGET_INPUT,
  MN_TARGET_ACCEPTANCE /**< a statement (the seed's) that must hold under the posterior */
} mn_target_role;
/** How a row is evaluated: a lumped course, an atlas or catalogue input, or not at all. */
typedef enum { MN_EVAL_MODEL, MN_EVAL_INPUT, MN_EVAL_NONE } mn_eval_kind;
/** How a row enters the calibration: not at all; normal (l1 mean, l2 SD of the published mean);
 *  interval (flat on [lo, hi], Gaussian edges of SD l2); binomial (l1 events of l2 patients,
 *  the quantity a percentage); check (an acceptance check: the posterior is zero where the
 *  row's value leaves [lo, hi]). */
typedef enum { MN_LIK_NONE, MN_LIK_NORMAL, MN_LIK_INTERVAL, MN_LIK_BINOMIAL, MN_LIK_CHECK } mn_lik;
/** Pass rule: the median within [lo, hi] (in), or the 90 % band overlapping it (covers); or
 *  report (validation targets without a published spread: the model value is shown, never
 *  judged, and counted apart). */
typedef enum { MN_RULE_IN, MN_RULE_COVERS, MN_RULE_REPORT } mn_rule;
/** Result of a row or a target. */
typedef enum {
  MN_VERDICT_PASS,
  MN_VERDICT_FAIL,
  MN_VERDICT_NOT_EVALUATED,
  MN_VERDICT_NOT_JUDGED /**< evaluated under the rule report: shown, not judged */
} mn_verdict;

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
  int lik;            /**< mn_lik */
  double l1, l2;      /**< the likelihood's numbers (see mn_lik) */
  /** normal and interval: the observation model's own reading error (an SD in the target's
   *  unit, 0 = none), added to l2 in quadrature (optional column l3) */
  double l3;
  char quantity[40], note[240];
  /* result */
  double nominal, median, q05, q95; /**< nominal run, and the draws' median and 90 % band */
  int kept, dropped, failed;        /**< draws evaluated (failed ones excluded), dropped, failed */
  int verdict;                      /**< mn_verdict */
  /** the 3D check (mn_validation.model3d): the lumped twin's median over the same draws, and
   *  3D minus lumped per draw (nominal run included): its median and largest magnitude (signed),
   *  in the quantity's unit; NaN otherwise */
  double lumped_median, diff_median, diff_max;
} mn_target_eval;

/** The targets and their evaluation rows. Owns both arrays: mn_validation_fini. */
typedef struct mn_validation {
  mn_target *targets;
  int ntargets;
  mn_target_eval *rows;
  int nrows;
  mn_progress *progress; /**< borrowed, may be NULL: updated by mn_validation_run per row (the
                              caller sets it after loading, and finishes it) */
  /** set by the caller after loading: 1 = the 3D posterior check: model rows run as 3D unit
   *  cells (the case file's grid and solver defaults) for the nominal values and each draw,
   *  and the lumped twin beside them (lumped_median, diff_*); the verdicts are the 3D model's */
  int model3d;
  char only_id[16]; /**< set by the caller: evaluate this target only ("": every target) */
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

/** mn_target_eval_model with a 3D unit cell instead of the lumped twin (the case file's grid and
 *  solver defaults, supersample 4): seconds per run. @p seed places the later sessions' channels
 *  in the cell (the first is at its centre). Thread-safe (the solver's threads inside a parallel
 *  region are OpenMP's nesting rule). */
double mn_target_eval_model_3d(const mn_target_eval *r, const mn_model_params *m,
                               const mn_skin_atlas *atlas, const mn_device_catalogue *cat,
                               uint64_t seed);

/** Evaluate rows @p idx[0..n) of @p rows, which share one protocol (mn_target_same_protocol),
 *  with one lumped course for parameter set @p m: each row's quantity into @p x (NaN when the
 *  run fails). Thread-safe. */
void mn_target_eval_rows(const mn_target_eval *rows, const int *idx, int n,
                         const mn_model_params *m, const mn_skin_atlas *atlas,
                         const mn_device_catalogue *cat, double *x);
/** 1 when model rows @p a and @p b run the same course (patient, device, depth, density,
 *  sessions, interval, days), else 0. */
int mn_target_same_protocol(const mn_target_eval *a, const mn_target_eval *b);

/** 1 when @p q is a quantity a row of kind @p kind (mn_eval_kind) may ask for: outcome scalars
 *  and derived ones for model rows, atlas and catalogue inputs for input rows, anything for
 *  rows without evaluation; else 0. */
int mn_target_quantity_known(const char *q, int kind);

/* ---------------------------------------------------------------------------------------------
 * The ensemble sampler (src/infer/mcmc.c). */

/** Evaluate the log posterior of @p n points (@p x: [n][d]) into @p lp (-INFINITY where the
 *  posterior is zero). The sampler calls it once per half-step with the whole batch, so the
 *  callee may spread the batch over threads or processes. @p floor (NULL: none) gives, per
 *  point, the log posterior below which the point is rejected whatever its value: the callee
 *  may stop evaluating such a point and return -INFINITY (a delayed-acceptance shortcut; the
 *  chain is the same). */
typedef void (*mn_mcmc_batch_fn)(int n, int d, const double *x, const double *floor, double *lp,
                                 void *user);

/** How to sample. walkers: even, at least twice the dimension; a: the stretch scale (2 in
 *  Goodman & Weare); progress (optional) is called after every step; de: the fraction of
 *  half-steps that use the differential-evolution move instead of the stretch move (0: stretch
 *  only, 1: DE only; drawn per half-step from the seeded sequence). */
/** A chain: x [steps][walkers][d], lp [steps][walkers] (the state after each step). Owns x and
 *  lp: mn_mcmc_chain_fini. */
typedef struct mn_mcmc_chain {
  int d, walkers, steps;
  double *x, *lp;
  long accepted, proposed;
} mn_mcmc_chain;

/** A chain's state after a whole step, all a resumed run needs: the first @p done steps of x
 *  ([done][walkers][d]) and lp ([done][walkers]), the sampler's random sequence and counters at
 *  that point. Saved through mn_mcmc_opts.save, given back through mn_mcmc_opts.resume. */
typedef struct mn_mcmc_state {
  int done;
  const double *x, *lp;
  mn_rng rng;
  long accepted, proposed;
} mn_mcmc_state;

/** How to sample. walkers: even, at least twice the dimension; a: the stretch scale (2 in
 *  Goodman & Weare); progress (optional) is called after every step; de: the fraction of
 *  half-steps that use the differential-evolution move instead of the stretch move (0: stretch
 *  only, 1: DE only; drawn per half-step from the seeded sequence).
 *  save (optional) is called after every step with @p force 0, and once with @p force 1 when a
 *  stop is requested, with the last whole step (not before the first); it decides whether to
 *  write and returns 0, or nonzero to end the run with MN_EIO (its message in @p err).
 *  resume (optional): continue the chain from this state instead of starting from x0 (x0 is
 *  then not read); the same options give the same chain as a run that was never stopped. */
typedef struct mn_mcmc_opts {
  int walkers, steps;
  double a;
  uint64_t seed;
  void (*progress)(int step, int steps, void *user);
  void *progress_user;
  double de;
  int (*save)(const mn_mcmc_state *st, int force, void *user, mn_error *err);
  void *save_user;
  const mn_mcmc_state *resume;
} mn_mcmc_opts;

/** Run the affine-invariant ensemble sampler (Goodman & Weare 2010 stretch move, mixed with
 *  the differential-evolution move of ter Braak 2006 in the fraction o->de of half-steps) from the
 *  walkers' start @p x0 ([walkers][d], each with a finite posterior). Deterministic for a seed,
 *  whatever the batch function does with threads. @p c is overwritten (zeroed on failure).
 *  @return MN_OK; MN_ERANGE for bad options; MN_EINPUT when a start has zero posterior;
 *  MN_ENOMEM. */
int mn_mcmc_run(int d, const double *x0, const mn_mcmc_opts *o, mn_mcmc_batch_fn f, void *user,
                mn_mcmc_chain *c, mn_error *err);
/** Free a chain's arrays and zero it. NULL-safe. */
void mn_mcmc_chain_fini(mn_mcmc_chain *c);

/** Most parameters one calibration fits. */
enum { MN_CALIB_MAX = 16 };

/** Diagnostics of a chain after its burn-in: per parameter the split R-hat (the walkers dealt
 *  into 4 interleaved groups, each group's pooled draws of each half of the run a chain), the
 * integrated autocorrelation time in steps (walker-averaged autocorrelation, Sokal's window c = 5),
 * the effective sample size walkers x steps / tau, and whether the chain is longer than 50 tau (the
 * estimate of tau is then reliable); the worst of each and the acceptance fraction. Plain data. */
typedef struct mn_mcmc_diag {
  double rhat[MN_CALIB_MAX], tau[MN_CALIB_MAX], ess[MN_CALIB_MAX];
  int tau_converged[MN_CALIB_MAX];
  double rhat_max, tau_max, ess_min, acceptance;
} mn_mcmc_diag;
/** Diagnose @p c over steps [@p burn, steps). @return MN_OK; MN_ERANGE when fewer than 8 steps
 *  remain, or for more than MN_CALIB_MAX parameters or 1024 walkers. */
int mn_mcmc_diagnose(const mn_mcmc_chain *c, int burn, mn_mcmc_diag *dg, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Calibration: the posterior of the parameters tagged C given the calibration targets
 * (src/infer/calibrate.c). */

/** How to calibrate: the sampler's walkers, steps, burn-in, seed; the thinning of the posterior
 *  table (every thin-th step after the burn-in, all walkers); threads: lumped courses at a time
 *  (0: OpenMP's default); max_evals: Nelder-Mead evaluations polishing the MAP. */
typedef struct mn_calib_opts {
  int walkers, steps, burn, thin, threads, max_evals;
  uint64_t seed;
  void (*progress)(int step, int steps, void *user);
  void *progress_user;
  /** The chain's checkpoint file (NULL: none; docs/formats.md "Calibration checkpoint"): written
   *  (atomically, by rank 0) every checkpoint_min minutes of sampling (0: after every step) and
   *  when a stop is requested; when it exists at the start and belongs to the same calibration
   *  (parameters, their priors, walkers, steps, burn-in, thinning, seed, polish, build), the
   *  chain continues from it and the result is the same as a run never stopped; a file of
   *  another calibration, or a damaged one, is refused (MN_EINPUT). The caller removes it once
   *  the result is safe (`mnsim calibrate`: after the tables are written). */
  const char *checkpoint;
  double checkpoint_min;
} mn_calib_opts;
/** The shipped settings (data/calibration.csv and data/posterior.csv are made with them). */
void mn_calib_opts_default(mn_calib_opts *o);
/** The parameters fitted by default: those tagged C that the computable calibration targets
 *  constrain (docs/calibration.md explains the choice; the other C parameters keep their
 *  prior). */
enum { MN_CALIB_FITTED = 11 };
extern const char *const mn_calib_fitted[MN_CALIB_FITTED];

/** Result of mn_calibrate. Values in each parameter's unit; owns the chain (in the sampler's
 *  coordinates: each prior range mapped to [0, 1], log scale where it spans a factor of 3):
 *  mn_calibration_fini. */
typedef struct mn_calibration {
  int n; /**< fitted parameters */
  char name[MN_CALIB_MAX][24];
  double prior[MN_CALIB_MAX], prior_min[MN_CALIB_MAX], prior_max[MN_CALIB_MAX];
  double value[MN_CALIB_MAX];                /**< the shipped nominal value: the posterior
                                                  median, or the MAP when the medians fail a
                                                  calibration row or check */
  int nominal_is_median;                     /**< 1: value = median; 0: the MAP */
  int nominal_passes;                        /**< every calibration row and check passes there */
  double median[MN_CALIB_MAX];               /**< posterior median */
  double lo[MN_CALIB_MAX], hi[MN_CALIB_MAX]; /**< posterior 5 % and 95 % quantiles, widened to
                                                  hold the MAP */
  double contraction[MN_CALIB_MAX];          /**< 1 - posterior var / prior var (sampler coords) */
  double corr[MN_CALIB_MAX][MN_CALIB_MAX];   /**< posterior correlations (sampler coords) */
  double loglik0, loglik; /**< log likelihood at the prior values, at the nominal values */
  int evals;              /**< model evaluations (sampler and polish) */
  int resumed_from;       /**< steps of the chain read from the checkpoint (0: none) */
  mn_calib_opts opts;
  mn_mcmc_chain chain;
  mn_mcmc_diag diag;
  char targets[512]; /**< ids of the targets in the likelihood */
  char checks[256];  /**< ids of the acceptance checks (the admissible region) */
} mn_calibration;
/** Free the chain and zero @p c. NULL-safe. */
void mn_calibration_fini(mn_calibration *c);

/** The posterior of parameters @p names (each tagged C, with a range) of the prior set @p prior
 *  given the calibration targets' likelihoods (data/target_models.csv), restricted to where
 *  every acceptance check holds and the loop gain G < 1; every other parameter keeps its
 *  prior value. Samples it (mn_mcmc_run), diagnoses the chain and picks the nominal values: the
 *  posterior medians, or the MAP (the best draw, polished by Nelder-Mead) when the medians fail
 *  a calibration row or an acceptance check. Deterministic for the options' seed, whatever the
 * threads.
 *  @p out is overwritten (free with mn_calibration_fini).
 *  @return MN_OK; MN_EINPUT for @p n outside [1, MN_CALIB_MAX], an unknown name, a parameter
 *  not tagged C or without a range, no target in the likelihood, or when no start inside the
 *  admissible region is found; MN_ERANGE for bad sampler options; MN_ENOMEM; the errors of
 *  loading the shipped tables. */
int mn_calibrate(const mn_param_set *prior, const char *const *names, int n, const mn_calib_opts *o,
                 mn_calibration *out, mn_error *err);

/** The calibration table (data/calibration.csv) for @p c.
 *  @param[out] text NUL-terminated text, owned by the caller (free with mn_free); NULL on failure
 *  @param[out] len its length without the NUL
 *  @return MN_OK; MN_ENOMEM; MN_EINTERNAL when the table exceeds 64 KiB. */
int mn_calibration_text(const mn_calibration *c, char **text, size_t *len, mn_error *err);

/** The posterior table (data/posterior.csv) of @p c: every thin-th step after the burn-in, all
 *  walkers, the steps in a spread order (the first draws come from the whole run);
 *  @p fingerprint (mn_param_fingerprint of the prior and the
 *  calibration) is recorded. Same ownership and errors as mn_calibration_text (no size limit).
 *  *draws receives the number of draws written. */
int mn_posterior_text(const mn_calibration *c, const char *fingerprint, char **text, size_t *len,
                      int *draws, mn_error *err);

/** Log likelihood of one evaluation row for model value @p x (0 for a row outside the
 *  likelihood; -INFINITY for an acceptance check that fails or a non-finite @p x). */
double mn_target_loglik(const mn_target_eval *r, double x);

/** "calibration", "validation", "input-check", "acceptance"; "?" out of range. Static
 *  string. */
const char *mn_target_role_name(int role);
/** "pass", "FAIL", "not evaluated"; "?" out of range. Static string. */
const char *mn_verdict_name(int v);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_INFER_H */
