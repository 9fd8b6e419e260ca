/* mnsim lumped: the well-mixed ODE twin of the healing model (research/models.md 8). Per layer
 * (viable epidermis, papillary and reticular dermis) a near zone around the punctures and a far
 * zone, the same reaction terms as the 3D model (mn_reaction_pl), exchange rates from puncture
 * spacing and diffusivity; 66 stiff ODEs integrated with SUNDIALS CVODE (BDF).
 * Stage 6 (uses core, skin, device, healing, outcome's time series). */
#ifndef MNSIM_LUMPED_H
#define MNSIM_LUMPED_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) || \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING)
#error "mnsim/lumped.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/healing.h"
#include "mnsim/outcome.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MN_LUMPED_LAYERS = 3, MN_LUMPED_ZONES = 2, MN_LUMPED_MAX_SLABS = 16 };

/** The treatment as the lumped model sees it. */
typedef struct mn_lumped_input {
  const mn_model_params *m;
  int fitz; /**< Fitzpatrick type 1-6 */
  const mn_skin *skin;
  const mn_device *dev; /**< needle profile for the channel volume per layer */
  double density_cm2;   /**< channels per cm2 per session */
  double depth_um;      /**< effective channel depth */
  int sessions;
  double session_day[MN_MAX_SESSIONS];
  double t_end;          /**< last day */
  const double *samples; /**< sample days (increasing, within [0, t_end]) */
  int nsamples;
} mn_lumped_input;

/** Numerical settings. */
typedef struct mn_lumped_params {
  double slab_um;   /**< thickest slab: layers are cut into slabs of at most this (um) */
  double rn_factor; /**< near-zone radius r_n = min(b, a + rn_factor L), L = sqrt(D_P / k_P) */
  double rtol, atol;
} mn_lumped_params;
/** Defaults: rn_factor as fitted against the 3D model (docs/model.md), rtol 1e-5, atol 1e-8. */
void mn_lumped_params_default(mn_lumped_params *p);

/** Geometry derived from the input (for reports and tests). */
typedef struct mn_lumped_geometry {
  double b_um;                       /**< radius of the cell around one channel, 1 / sqrt(pi n) */
  double a_um;                       /**< channel radius (area-equivalent over the channel) */
  double rn_um;                      /**< near-zone radius */
  double phi;                        /**< near-zone volume fraction */
  int slabs;                         /**< slabs the three layers were cut into */
  double f_inj[MN_LUMPED_MAX_SLABS]; /**< injured volume fraction per slab and session */
  int bleeding;                      /**< channels reach the subpapillary plexus */
  long steps;                        /**< CVODE steps taken */
} mn_lumped_geometry;

/** Run the lumped model and append one sample per input sample day to @p ts (which must have
 *  room for them). Layer means are phi u_near + (1 - phi) u_far; SC gets the epidermal d. */
int mn_lumped_run(const mn_lumped_input *in, const mn_lumped_params *lp, mn_timeseries *ts,
                  mn_lumped_geometry *geo, mn_error *err);

/** Sample days for a lumped run: every @p sample_hours for a week after each session, then
 *  daily, and @p t_end. Returns the count written (at most @p cap). */
int mn_lumped_samples(const double *session_day, int sessions, double t_end, double sample_hours,
                      double *out, int cap);

/** Run the lumped model on its standard sample schedule (hourly for a week after each session,
 *  then daily) and compute the outcome. @p ts may be NULL; otherwise it receives the series (it
 *  is initialised here; the caller finalises it). */
int mn_lumped_outcome(const mn_lumped_input *in, const mn_lumped_params *lp, const mn_skin *sk,
                      mn_outcome *out, mn_timeseries *ts, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Uncertainty (issue 4): Latin-hypercube draws over the tabulated parameter ranges. */

/** How one parameter is drawn. Split distributions with the table's value as the median: half
 *  of the draws between min and the value, half between the value and max, uniform on each
 *  side, or log-uniform when min > 0 and max >= 3 min (rates and scales whose range spans a
 *  factor). Fixed when min == max. */
typedef enum mn_uq_dist { MN_UQ_FIXED, MN_UQ_UNIFORM, MN_UQ_LOG_UNIFORM } mn_uq_dist;
mn_uq_dist mn_uq_distribution(const mn_param_info *p);

/** Draw @p n parameter sets by Latin hypercube sampling (seeded; one stratum per draw in every
 *  sampled dimension), each parameter per mn_uq_distribution. Draws with loop gain G >= 1 are
 *  dropped (models.md 7.6). @p out (room for n) receives the kept draws, *kept their count,
 *  *dropped the rest. Deterministic for a seed. */
int mn_uq_sample(const mn_param_set *ps, int n, uint64_t seed, mn_model_params *out, int *kept,
                 int *dropped, mn_error *err);

/** The posterior ensemble (data/posterior.csv, written by `mnsim calibrate`): Latin-hypercube
 *  draws of the calibrated ranges, weighted by their agreement with the calibration targets
 *  (Gaussian in units of each target's half-range) and resampled. Values of the parameters that
 *  vary; the others keep the parameter set's value. */
typedef struct mn_posterior {
  int n, ncols;         /**< draws, parameters per draw */
  char (*names)[24];    /**< [ncols] */
  double *v;            /**< [n][ncols] */
  int tried, kept;      /**< Latin-hypercube draws tried and kept (G < 1) */
  double ess;           /**< effective sample size of the weights */
  char fingerprint[17]; /**< mn_param_fingerprint of the parameters it was drawn from */
} mn_posterior;
/** The posterior compiled in; refused when data/healing_params.csv or data/calibration.csv
 *  changed since it was drawn. */
int mn_posterior_load(mn_posterior *po, mn_error *err);
int mn_posterior_parse(const char *csv, size_t len, const char *name, mn_posterior *po,
                       mn_error *err);
void mn_posterior_fini(mn_posterior *po);

/** Where the draws of an uncertainty band come from. */
typedef enum { MN_ENSEMBLE_POSTERIOR = 0, MN_ENSEMBLE_PRIOR = 1 } mn_ensemble_source;
/** @p n parameter sets for uncertainty bands: the first n posterior draws (at most its size;
 *  *kept says how many) with @p ps's values for every parameter that is fixed there or
 *  overridden (mn_param_set_set), or n Latin-hypercube draws of @p ps (seed @p seed; draws
 *  with G >= 1 dropped, counted in *dropped). */
int mn_ensemble(const mn_param_set *ps, int source, int n, uint64_t seed, mn_model_params *out,
                int *kept, int *dropped, mn_error *err);

/** 5 %, 50 % and 95 % quantiles (linear interpolation between order statistics) of the finite
 *  values among v[0..n-1]; NaN when there are none. Sorts v in place. */
void mn_quantiles(double *v, int n, double q[3]);

/** Evaluate @p eval on each of the @p n parameter sets, @p threads at a time (0: OpenMP's
 *  default); values[i * nv + k] gets value k of draw i. @p eval must be thread-safe. A draw
 *  whose evaluation fails gets NaN values and counts in *failed. */
typedef int (*mn_uq_eval)(const mn_model_params *m, void *user, double *values, mn_error *err);
int mn_uq_evaluate(const mn_model_params *draws, int n, int nv, mn_uq_eval eval, void *user,
                   int threads, double *values, int *failed);

/** Median and 90 % band of every outcome scalar (MN_OQ_*) of the lumped model for @p in over
 *  @p draws draws of mn_ensemble(@p source): band[k] = {q05, q50, q95}. */
typedef struct mn_uq_summary {
  int draws, kept, dropped, failed;
  int source; /**< mn_ensemble_source */
  uint64_t seed;
  double band[MN_OQ_COUNT][3];
} mn_uq_summary;
int mn_uq_outcome(const mn_lumped_input *in, const mn_lumped_params *lp, const mn_skin *sk,
                  const mn_param_set *ps, int source, int draws, uint64_t seed, int threads,
                  mn_uq_summary *sum, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_LUMPED_H */
