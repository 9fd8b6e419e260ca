/* Private to the plan module. */
#ifndef MNSIM_PLAN_IMPL_H
#define MNSIM_PLAN_IMPL_H

#include <stddef.h>

#include "mnsim/plan.h"

struct mn_candidacy_rules {
  mn_candidacy_rule rule[MN_PLAN_MAX_RULES];
  int n;
};

struct mn_indications {
  mn_indication ind[MN_CONCERN_COUNT * 3];
  int n;
  mn_region_depth region[32];
  int nregions;
  double interval_pref_weeks[2]; /* the clinic interval (seed: 6-8 weeks) */
  char interval_source[200];
};

extern const char mn__data_candidacy_csv[];
extern const size_t mn__data_candidacy_csv_len;
extern const char mn__data_indications_csv[];
extern const size_t mn__data_indications_csv_len;
extern const char mn__data_region_depths_csv[];
extern const size_t mn__data_region_depths_csv_len;

/* ---- the planner's numbers --------------------------------------------------------------- */

#define MN__REVIEW_DAYS 182.5 /* the 6-month review after the last session */
#define MN__WEEK 7.0
#define MN__PASS_DENSITY 300.0 /* punctures per cm2 per pass */
/* CVODE's relative tolerance for the planner's runs: 1e-4 instead of 1e-5 changes redness and
 * collagen by less than 0.5 % (test plan/planner_tolerance) and saves about a fifth of the time */
#define MN__PLAN_RTOL 1e-4
/* The PIH precaution (rule R44, Fitzpatrick IV-VI): the search prefers settings whose PIH risk
 * per course stays, at the 95th percentile over the draws, at or below the highest incidence
 * published for micro-needling in darker skin, 5 of 30 Fitzpatrick IV-V patients after 5 roller
 * sessions (Dogra 2014, target CT08c, one of the three the PIH model is calibrated on). An
 * assumption of ours [E], not a published limit: a plan should not be predicted, even at its
 * pessimistic end, to cause PIH more often than the trial observed (docs/plan.md). */
#define MN__PIH_CAP_PCT (100.0 * 5.0 / 30.0)
/* The search's yes-or-no questions (does this setting reach the goal?) take their draws in
 * stages: MN__STAGE_DRAWS first, then twice as many each time up to the search's draws, and
 * stop as soon as the probability's band of MN__STAGE_Z standard errors lies wholly on one side
 * of the required probability (docs/plan.md "Draws in stages"). A "yes" is then confirmed on
 * every draw of the search before it is used; only an early "no" stands on fewer draws. */
#define MN__STAGE_DRAWS 50
#define MN__STAGE_Z 3.0
#define MN__PIH_TRIES 4 /* gentler settings run with the draws at most */

/* ---- a setting's course per draw (response.c) --------------------------------------------- */

/* A course (k sessions, interval days apart) of one setting over nd draws. */
typedef struct mn__response {
  int nd;           /* draws (draw 0: the nominal parameters) */
  int k;            /* sessions */
  double interval;  /* days between sessions */
  double *goal;     /* [nd] the goal quantity at the review (fill % or papillary collagen %) */
  double *collagen; /* [nd] papillary collagen change at the review, % */
  double *dh;       /* [nd] dermal thickening at the review, um */
  double *year;     /* [nd][MN_PLAN_YEAR_SAMPLES] papillary collagen change, days 0-365, % */
  double *week;     /* [nd][MN_PLAN_WEEK_SAMPLES] redness R(t) hourly after the first session */
  double *red, *bar, *sun, *pih; /* [nd] first session's windows (days); PIH risk (%) */
  double thr;                    /* redness visibility threshold of draw 0 */
  int *ok;                       /* [nd] run finished */
} mn__response;

/* A needle setting the search considers. */
typedef struct mn__candidate {
  double depth_mm;
  int passes;
  double density;
  int allowed;        /* its nominal redness is within max_downtime_days */
  double red_nominal; /* redness days */
  double pih_nominal; /* PIH risk of one session on the nominal parameters, % */
  int pih_tried;      /* already run with the draws for the PIH precaution */
  double strength;    /* nominal response to one session, unclamped: the papillary collagen
                         change at its review, which every goal rises with (observation model
                         v2: the fill reads it too) */
} mn__candidate;

/* What the search of one region shares between its steps. */
typedef struct mn__region_ctx {
  const mn_plan_request *req;
  const mn_device_catalogue *cat;
  const mn_indications *ind;
  mn_plan_region *pr;
  const mn_model_params *draws;      /* [nd]: the nominal parameters first */
  const mn_candidacy_rule *pih_rule; /* the matched precaution that caps the PIH risk, or NULL */
  int nd;                            /* draws of the search (the request's draws and the nominal) */
  int nd_pool; /* draws available to the final course (every posterior draw and the nominal) */
  double ess;  /* the posterior table's effective sample size (its chain's smallest) */
  const mn_spread *spread; /* the response's spread between patients */
  int evaluations;
} mn__region_ctx;

void mn__response_free(mn__response *r);
/* The course of @p k sessions @p interval days apart of setting @p c for the first @p nd draws,
 * into @p r (owned by the caller: mn__response_free). MN_EINTERNAL when every run failed. */
int mn__response_run(mn__region_ctx *x, const mn__candidate *c, int k, double interval, int nd,
                     mn__response *r, mn_error *err);
/* Draws r->nd .. nd - 1 added to @p r, a response of setting @p c for its first r->nd draws:
 * the same rows as mn__response_run of nd draws (each draw's run depends on its own parameters
 * only). On failure @p r is freed. */
int mn__response_extend(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                        mn_error *err);
/* Share of the finished draws whose goal quantity (the population mean's) reaches @p goal. */
double mn__response_population(const mn__response *r, double goal);
/* The probability that a patient reaches the region's goal: over the finished draws, the mean
 * of each draw's P(b >= b*), b the patient factor of x->spread and b* the factor whose response
 * reaches the goal (docs/plan.md "A probability for a patient"). *var (if not NULL): the
 * variance of those per-draw probabilities with two pseudo-draws 0 and 1 added (Laplace), for
 * the Monte Carlo error; *n (if not NULL): the finished draws. */
double mn__response_probability(const mn__region_ctx *x, const mn__response *r, double *var,
                                int *n);
/* Day of the review of @p k sessions @p interval days apart: 6 months after the last. */
double mn__review_day(int k, double interval);
/* The region's goal quantity for parameters @p m from the papillary collagen change (%): for
 * fill goals the share of its defect's depth lost (mn_outcome_depth_loss by scar type, the mix
 * when none is given; wrinkles), the collagen change otherwise. */
double mn__goal_value(const mn_plan_region *pr, const mn_model_params *m, double collagen);
/* Linear interpolation of a sampled quantity @p x of series @p ts at day @p t. */
double mn__series_at(const mn_timeseries *ts, const double *x, double t);

/* ---- the calendar (calendar.c) ------------------------------------------------------------ */

/* The aftercare calendar of @p p (sessions, redness and sun windows, review) into p->events. */
int mn__plan_calendar(mn_plan *p, mn_error *err);

#endif
