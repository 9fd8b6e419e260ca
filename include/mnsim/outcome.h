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
  double barrier_days[MN_MAX_SESSIONS];  /**< epidermal damage below 10 % of its session value */
  double peak[3], peak_day[3];           /**< P, N, M in the papillary dermis */
  double collagen_pct[2][3];             /**< PD, RD at 30, 90, 180 days after the first session */
  double collagen_end_pct[2];            /**< PD, RD at the end */
  double mature_pct[2][4];               /**< type I (C1) alone, PD, RD, at 30, 90, 180, 365 d */
  double type3_end[2];                   /**< (C3 + f3 C1) / (C3 + C1) at the end, PD, RD */
  double elastin_end_pct[2];             /**< PD, RD at the end (low confidence) */
  double thickness_um[3];                /**< dermal thickness change at 30, 90, 180 days, um */
  double thickness_end_um;               /**< ... and at the end: psi sum_l h_l dC_l */
  double mel_peak;                       /**< peak melanogenic activation (viable epidermis) */
  double pih_risk;                       /**< PIH probability from mel_peak (uncalibrated) */
  double sun_days[MN_MAX_SESSIONS];      /**< sun avoidance after each session: until P in the
                                              epidermis is below P_th and the epidermal damage is
                                              below 10 % of its value at the session */
  double t_end;                          /**< day of the series' last sample */
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

/** Fraction (percent) of a lesion of depth @p depth_um filled by a dermal thickening of
 *  @p dh_um; 100 % at most, negative for a thinning, 0 when @p depth_um <= 0. */
double mn_outcome_fill_pct(double dh_um, double depth_um);

/** Compute the observables of @p ts for parameters @p m, skin @p sk (dermal thicknesses),
 *  Fitzpatrick type @p fitz (outside 1-6: visibility factor 1) and the session days
 *  @p sessions[0..n-1] (copied). @p out is zeroed first.
 *  @return MN_OK; MN_EINPUT for fewer than two samples or @p n outside [1, MN_MAX_SESSIONS];
 *  MN_ENOMEM. */
int mn_outcome_compute(const mn_timeseries *ts, const mn_model_params *m, const mn_skin *sk,
                       int fitz, const double *sessions, int n, mn_outcome *out, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_OUTCOME_H */
