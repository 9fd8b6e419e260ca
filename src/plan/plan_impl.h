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
/* the single-session runs stop here; later days follow the plateau's slow turnover,
 * g(t) = g(RUN_DAYS) exp(-k_1 (t - RUN_DAYS)) (test plan/plateau_extrapolation) */
#define MN__RUN_DAYS 400

/* ---- the single-session response per draw (response.c) ----------------------------------- */

typedef struct mn__response {
  int nd;           /* draws (0 = the nominal run only) */
  int horizon;      /* days sampled: g[d][0..horizon] */
  double *gain;     /* [nd][horizon + 1] the goal's quantity per day (thickening um or PD %) */
  double *collagen; /* [nd][horizon + 1] papillary collagen change, % */
  double *week;     /* [nd][MN_PLAN_WEEK_SAMPLES] redness R(t) hourly */
  double *red, *bar, *sun, *pih; /* [nd] per session */
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
} mn__candidate;

/* What the search of one region shares between its steps. */
typedef struct mn__region_ctx {
  const mn_plan_request *req;
  const mn_device_catalogue *cat;
  const mn_indications *ind;
  mn_plan_region *pr;
  const mn_model_params *draws; /* [nd]: the nominal parameters first */
  int nd;
  int horizon;
  int evaluations;
} mn__region_ctx;

void mn__response_free(mn__response *r);
/* One session of setting @p c for each of the first @p nd draws: the daily goal quantity and
 * collagen over the horizon, the first week's redness, and the per-session windows. */
int mn__response_run(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                     mn_error *err);
/* k sessions @p interval days apart, at the review: sum_i g(R - i I) of a daily response. */
double mn__superpose(const double *g, int horizon, int k, double interval);
/* The goal quantity of draw @p d's course at the review (fill % or collagen %). */
double mn__course_value(const mn__response *r, int d, int k, double interval, int quantity,
                        double defect_um);
/* The fewest sessions reaching the goal with probability @p p_req at @p interval (kmax + 1 when
 * none); *p_at the probability there (or the best one). */
int mn__sessions_needed(const mn__response *r, const mn_plan_region *pr, double interval, int kmax,
                        double p_req, double *p_at);
/* Linear interpolation of a sampled quantity @p x of series @p ts at day @p t. */
double mn__series_at(const mn_timeseries *ts, const double *x, double t);

/* ---- the calendar (calendar.c) ------------------------------------------------------------ */

/* The aftercare calendar of @p p (sessions, redness and sun windows, review) into p->events. */
int mn__plan_calendar(mn_plan *p, mn_error *err);

#endif
