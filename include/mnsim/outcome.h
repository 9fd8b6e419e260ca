/* mnsim outcome: observables of a healing run from its time series of layer means - redness
 * index and resolution day, inflammatory peaks, barrier closure, collagen change per layer, type
 * III fraction, elastin change, thickening, PIH risk and sun avoidance - and their bands over
 * parameter draws. research/models.md 7.8. Pipeline: after healing (uses core, skin, grid,
 * healing); a sibling of lumped, which it does not use. */
#ifndef MNSIM_OUTCOME_H
#define MNSIM_OUTCOME_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_LUMPED)
#error "mnsim/outcome.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/grid.h"
#include "mnsim/healing.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Baseline type III share of dermal collagen (normal dermis is 80-85 % type I) [R]. */
#define MN_TYPE3_BASELINE 0.15

/** Observables of one run. Times are days; changes are percent of the baseline. Plain data;
 *  NaN for a day the run did not reach. */
typedef struct mn_outcome {
  int n_sessions;
  double session_day[MN_MAX_SESSIONS];
  double redness_threshold;              /**< V_vis x s_vis(Fitzpatrick type) */
  double redness_peak, redness_peak_day; /**< largest R(t) and when */
  double redness_days[MN_MAX_SESSIONS];  /**< visible redness after each session */
  double barrier_days[MN_MAX_SESSIONS];  /**< barrier open: the channels' epidermal gap area
                                              above f_det of its value at the session */
  double peak[3], peak_day[3];           /**< P, N, M in the papillary dermis */
  double collagen_pct[2][4];        /**< PD, RD (C1 + C3) at 30, 90, 180, 365 days after the first
                                         session, % (NaN past the end) */
  double collagen_end_pct[2];       /**< PD, RD at the end */
  double mature_pct[2][4];          /**< type I (C1) alone, PD, RD, at 30, 90, 180, 365 d */
  double type3_end[2];              /**< (C3 + f3 C1) / (C3 + C1) at the end, PD, RD */
  double elastin_end_pct[2];        /**< PD, RD at the end (low confidence) */
  double thickness_um[3];           /**< dermal thickness change at 30, 90, 180 days, um */
  double thickness_end_um;          /**< ... and at the end: psi sum_l h_l dC_l */
  double epidermis_end_pct;         /**< viable-epidermis thickening (keratinocyte excess K) at the
                                        end, % */
  double elasticity_end_pct;        /**< dermal small-strain stiffness change at the end, % */
  double mel_peak;                  /**< peak melanogenic activation (viable epidermis) */
  double pih_risk;                  /**< PIH probability from mel_peak (log-normal; uncalibrated) */
  double sun_days[MN_MAX_SESSIONS]; /**< sun avoidance after each session: until the barrier
                                         is closed and unprotected sun would add less than 1
                                         point of PIH risk */
  double t_end;                     /**< day of the series' last sample */
} mn_outcome;

/** The outcome's scalar observables by index (for uncertainty bands, tables and fits). */
enum {
  MN_OQ_REDNESS_PEAK,
  MN_OQ_REDNESS_DAYS_FIRST,
  MN_OQ_REDNESS_DAYS_MAX,
  MN_OQ_BARRIER_HOURS_FIRST,
  MN_OQ_PEAK_P,
  MN_OQ_PEAK_N,
  MN_OQ_PEAK_M,
  MN_OQ_COLLAGEN_PD_30,
  MN_OQ_COLLAGEN_PD_90,
  MN_OQ_COLLAGEN_PD_180,
  MN_OQ_COLLAGEN_PD_END,
  MN_OQ_COLLAGEN_RD_180,
  MN_OQ_COLLAGEN_RD_END,
  MN_OQ_MATURE_PD_90,
  MN_OQ_MATURE_PD_180,
  MN_OQ_MATURE_PD_365,
  MN_OQ_TYPE3_PD_END,
  MN_OQ_ELASTIN_PD_END,
  MN_OQ_THICKNESS_180,
  MN_OQ_THICKNESS_END,
  MN_OQ_PIH_RISK,
  MN_OQ_SUN_DAYS_MAX,
  MN_OQ_COLLAGEN_PD_365,
  MN_OQ_EPIDERMIS_END,
  MN_OQ_ELASTICITY_END,
  MN_OQ_COUNT
};
/** Name of scalar @p i (e.g. "redness_days_first"); "?" out of range. Static string. */
const char *mn_outcome_scalar_name(int i);
/** Unit of scalar @p i ("day", "%", "um", "1" ...); "" out of range. Static string. */
const char *mn_outcome_scalar_unit(int i);
/** One-line description of scalar @p i; "" out of range. Static string. */
const char *mn_outcome_scalar_help(int i);
/** Value of scalar @p i of @p o, in the unit mn_outcome_scalar_unit gives (NaN when the run did
 *  not reach its day, or for an index out of range). */
double mn_outcome_scalar(const mn_outcome *o, int i);

/** Median and 90 % band of every outcome scalar over parameter draws: band[k] = {q05, q50, q95}
 *  of scalar k (MN_OQ_*), NaN where no draw gave a finite value. */
typedef struct mn_outcome_bands {
  int draws;   /**< draws asked for */
  int kept;    /**< draws evaluated (the rest were dropped as unstable, G >= 1) */
  int dropped; /**< draws dropped before evaluation */
  int failed;  /**< evaluated draws whose run failed (NaN, left out of the quantiles) */
  int source;  /**< where the draws came from (mn_ensemble_source of infer) */
  /** seed of the draws (prior ensemble) */
  uint64_t seed;
  double band[MN_OQ_COUNT][3];
} mn_outcome_bands;

/** Dermal thickening (um) over the mask of lesion @p l on the 3D grid now: the mean over the
 *  lesion's columns of psi sum_k dz_k (C1 + C3 - 1) over its dermal cells; 0 when the lesion
 *  covers no column. @p s must be a solver on @p g. */
double mn_outcome_lesion_dh_um(const mn_grid *g, const mn_solver *s, const mn_model_params *m,
                               const mn_lesion *l);

/** Papillary collagen gain (C1 + C3 - 1, a fraction) over the mask of lesion @p l on the 3D grid
 *  now: the dz-weighted mean over the papillary cells of the lesion's columns; over the grid's
 *  papillary cells when those columns hold none (a lesion carved through the papillary dermis,
 *  or one that covers no column); 0 without papillary cells. @p s must be a solver on @p g. */
double mn_outcome_lesion_gain(const mn_grid *g, const mn_solver *s, const mn_lesion *l);

/* ---- clinical scales (docs/model.md "Clinical scales"; docs/design/observation-v2.md) --------
 * A lesion loses the share phi = 1 - exp(-kap_fill rho_type G+) of its depth, G the papillary
 * collagen gain of the skin it lies in at the day of the reading; the residual depth is
 * D (1 - phi). rho: wrinkles 1, boxcar rho_box, rolling 0.79 rho_box, icepick 0.125 rho_box. */

/** The share (0-1) of a lesion's depth lost: type @p type (mn_lesion_type), papillary collagen
 *  gain @p gain (a fraction; a loss counts as none). */
double mn_outcome_depth_loss(const mn_model_params *m, int type, double gain);
/** The mix of acne scars of no given type (Jacob 2001's shares, normalised [D from R]): icepick,
 *  boxcar, rolling. */
extern const double mn_outcome_scar_mix[3];
/** mn_outcome_depth_loss averaged over the scar mix. */
double mn_outcome_depth_loss_mix(const mn_model_params *m, double gain);
/** Expected Goodman-Baron qualitative grade (1-4) of a scar of residual depth @p depth_um: an
 *  ordinal probit, P(grade <= k) = Phi((ln theta_k - ln D) / 0.35), thresholds 50, 150 and
 *  500 um (macular, mild, moderate; Jacob 2001 depth classes, Goodman & Baron 2006) [E]. */
double mn_outcome_goodman_baron(double depth_um);
/** The depth (um) whose expected Goodman-Baron grade (mn_outcome_goodman_baron) is @p grade:
 *  0 for a grade of 1 or less, infinity for 4 or more. */
double mn_outcome_goodman_baron_depth(double grade);
/** Lemperle wrinkle grade (0-5) of a wrinkle of depth @p depth_um: 1 + log2(D / 200 um),
 *  clamped; grade 1 below 0.2 mm (Lemperle 2001, as quoted) [V, secondary], one grade per
 *  doubling of depth [E]. */
double mn_outcome_lemperle(double depth_um);

enum { MN_OUTCOME_MAX_GAPS = 64 };

/** What the observables need besides the series (pointers borrowed for the call). */
typedef struct mn_outcome_input {
  const mn_model_params *m;
  const mn_skin *skin;
  int fitzpatrick;           /**< 1-6 */
  const double *session_day; /**< [sessions] days from the first */
  int sessions;
  /** the channels' epidermal gaps (barrier closure, docs/model.md "Barrier"): gap radius at the
   *  epidermis-dermis junction (um) and its weight (channels per cm2 with that gap) */
  int n_gaps;
  double gap_um[MN_OUTCOME_MAX_GAPS], gap_weight[MN_OUTCOME_MAX_GAPS];
  double uv_run;  /**< daily UV dose the run used, SED/day */
  double uv_free; /**< the dose without sun protection, SED/day (sun-avoidance window) */
} mn_outcome_input;

/** Compute the observables of @p ts for @p in. Barrier: per session the last time the gaps'
 *  open area sum w a(t)^2 exceeds f_det of its value at the session, each gap closing from its
 *  wall after m_FT t0_close at v_close / m_FT. Sun window: the longer of the barrier and the time
 *  after which unprotected sun (uv_free) would raise the PIH probability by less than 0.01.
 *  @return MN_OK; MN_EINPUT for a series of fewer than two samples or a session count outside
 *  1-MN_MAX_SESSIONS; MN_ENOMEM. */
int mn_outcome_compute(const mn_timeseries *ts, const mn_outcome_input *in, mn_outcome *out,
                       mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_OUTCOME_H */
