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

/* ---- the per-question emulator (emulator.c; docs/design/planner-emulator.md) ------------- */

#define MN__EMU_MAX 8 /* active parameters at most; with more, every draw runs */
#define MN__EMU_P (1 + MN__EMU_MAX + MN__EMU_MAX * (MN__EMU_MAX + 1) / 2)
#define MN__EMU_TRAIN 2    /* exact courses per coefficient that fit the emulator */
#define MN__EMU_CORRECT 32 /* first exact courses of the correction (doubled while needed) */
#define MN__EMU_SHARE                                                     \
  2 /* emulate only when the draws are at least this many times the first \
       courses (148 draws with five parameters) */
/* A region's first emulator is reused for a later question, scaled to its nominal course, when
 * it explains at least this share of the collagen change's variance over the first correction
 * courses; else the question fits its own (an assumption of ours, tuned to row (f)'s run count:
 * below it the correction's variance grows faster than a fit costs) */
#define MN__EMU_REUSE_R2 0.9

/* The parameters an emulator reads: those that vary over the draws and move the course. */
typedef struct mn__emu_space {
  int m;                   /* 0: no emulator (every draw runs) */
  int constant;            /* req->emulator_constant: the fit keeps its intercept only */
  size_t off[MN__EMU_MAX]; /* offsets in mn_model_params */
  char name[MN__EMU_MAX][24];
  double mu[MN__EMU_MAX], sd[MN__EMU_MAX]; /* of the logarithms over the pool's draws */
} mn__emu_space;

/* One question's emulator: quadratic coefficients for the collagen change and the thickening. */
typedef struct mn__emu_model {
  int p; /* coefficients (0: none fitted) */
  double bc[MN__EMU_P], bh[MN__EMU_P];
} mn__emu_model;

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
  /* emulated (emulator.c): draws [0, n_exact) ran (ok says which finished), [0, n_train) of
   * them fitted the emulator, [n_train, n_exact) correct it; every draw has its predictions
   * c_hat, h_hat. Not emulated: n_exact = nd. Bands and curves read the finished rows only. */
  int emulated, n_exact, n_train;
  mn__emu_model emu;
  double *c_hat, *h_hat; /* [nd] predicted collagen change (%) and thickening (um) */
  /* [nd][4] per population flag (mn__response_prob): the collagen change a draw's probability
   * was last computed for and that probability, for its course (0, 1) and its prediction (2, 3);
   * NAN: none. The probabilities are asked again as courses are added; only new rows compute */
  double *memo[2];
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

/* What the exact courses of one setting and interval held for the longer courses of the same
 * draws (response.c). Every planner course holds its state at the day a next session would be
 * (mn_course_params.hold), as the longer course stops there for that session, so the courses of
 * a setting share their beginnings bit for bit: a course of k sessions starts from the state
 * after the most sessions below k that some course of its draw held. */
typedef struct mn__draw_holds {
  mn_timeseries ts;                        /* the samples before the latest held day */
  mn_lumped_hold *h[MN_PLAN_MAX_SESSIONS]; /* h[j]: after j sessions, at day j I (NULL: none) */
  int m[MN_PLAN_MAX_SESSIONS];             /* samples before h[j]'s day */
} mn__draw_holds;
/* Draws whose courses are kept: a kept course costs its samples before the held day, about
 * 90 kB per session (the hourly week after each), so a search over every posterior draw (--exact,
 * or the final course of many draws) keeps the first ones only; the others run from day 0. About
 * 250 MB at most (eleven sessions), 50-100 MB for the four to six sessions of a usual search. */
#define MN__HOLD_DRAWS 256
typedef struct mn__holds {
  const mn_model_params *draws; /* the setting, interval and draws they are for */
  double depth_mm, density, interval;
  int passes;
  mn__draw_holds *d[MN__HOLD_DRAWS]; /* per draw, NULL until a course of it is kept */
} mn__holds;
void mn__holds_fini(mn__holds *h);

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
  const int *chain_step; /* [nd_pool]: draw d's kept step in the chain (-1: the nominal), NULL
                            when unknown; with chain_walkers the chain a draw quantity forms */
  int chain_walkers;
  const mn_spread *spread; /* the response's spread between patients */
  mn__holds *holds;        /* NULL: every course from day 0 (the request's from_day0 too) */
  int evaluations;
  int resumed;         /* of them, courses started from a held state */
  mn__emu_space space; /* what an emulator reads (m = 0: none) */
  mn__emu_model ref;   /* the region's first fitted emulator, which later questions reuse scaled
                          to their own nominal course (has_ref) */
  double ref_c, ref_h; /* its prediction on the nominal parameters */
  int has_ref;
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
/* A course of @p nd draws whose goal quantities come from an emulator where that pays
 * (x->space.m > 0, nd at least MN__EMU_SHARE times the first exact courses, not req->exact).
 * The region's first such course fits its own emulator on its first courses (x->ref); later
 * ones run the nominal and MN__EMU_CORRECT more draws and reuse it, scaled by the ratio of their
 * nominal course to its prediction there (the draws respond alike to every course: a guess the
 * correction tests, and mn__response_refine fits afresh once as many courses as a fit needs have
 * run). Else every draw runs (mn__response_run). */
int mn__response_emulate(mn__region_ctx *x, const mn__candidate *c, int k, double interval, int nd,
                         mn__response *r, mn_error *err);
/* Whether a course of @p nd draws is emulated (mn__response_emulate). */
int mn__emulates(const mn__region_ctx *x, int nd);
/* A response @p r made an emulated one of @p nd draws when the emulator pays at nd draws: an
 * exact one gets exact courses up to the emulator's first ones (more when r has more: they all
 * fit or correct it) and the fit; then every draw up to nd its predictions. Unchanged when it
 * does not pay or the fit fails (then r still holds its exact rows). On failure @p r is freed. */
int mn__response_emulate_to(mn__region_ctx *x, const mn__candidate *c, int nd, mn__response *r,
                            mn_error *err);
/* More exact courses of an emulated response: draws up to @p n_exact (at most r->nd); once
 * every draw has run the response is exact. On failure @p r is freed. */
int mn__response_refine(mn__region_ctx *x, const mn__candidate *c, int n_exact, mn__response *r,
                        mn_error *err);
/* The estimate of a probability over a response's draws: the mean p; the variance v_hat of the
 * per-draw probabilities (predicted where emulated) with two pseudo-draws 0 and 1 (Laplace),
 * over n draws; emulated, the variance v_res of the prediction's error over the n_res
 * correction courses (n_res = 0: exact). */
typedef struct mn__prob {
  double p, v_hat, v_res;
  int n, n_res;
  double ess; /* the per-draw probabilities' effective sample size along the posterior chain
                 when r covers every posterior draw and the table says where each comes from
                 (mn_mcmc_diagnose on the thinned chain they form); NAN otherwise. The Monte
                 Carlo error of a mean over the whole table is v / ESS of its own quantity,
                 which may be larger or smaller than the chain's smallest over the parameters */
} mn__prob;
/* The probability that a patient reaches the region's goal (population = 0: the mean over the
 * draws of each draw's P(b >= b*), b the patient factor of x->spread and b* the factor whose
 * response reaches the goal, docs/plan.md "A probability for a patient"), or that the
 * population mean does (population = 1: the share of draws whose goal quantity reaches it).
 * Emulated: the mean of the predicted per-draw probabilities plus the mean of the prediction's
 * error over the correction courses (a control variate, unbiased whatever the emulator's error);
 * a correction whose errors are all equal counts as if one more course erred by the largest
 * error seen (1 for yes-or-no draws), so that the error is never zero. */
void mn__response_prob(const mn__region_ctx *x, mn__response *r, int population, mn__prob *e);
/* The Monte Carlo standard error of @p e against the posterior, @p tv the posterior table's own
 * variance term 1 / ESS - 1 / N for the per-draw probabilities, @p tv_res for the prediction's
 * error: sqrt(v_hat (1 / n + tv) + v_res (1 / n_res + tv_res)). */
double mn__prob_mcse(const mn__prob *e, double tv, double tv_res);
/* emulator.c: coefficients of a quadratic in m parameters; what the emulator reads (one session
 * of setting @p c per varying parameter); a fit over the finished draws [0, n_train) of @p r
 * (1 on success, 0 when too few or collinear); a prediction. */
int mn__emu_coefs(int m);
int mn__emu_space_init(mn__region_ctx *x, const mn__candidate *c, mn_error *err);
int mn__emu_fit(const mn__emu_space *s, const mn_model_params *draws, const mn__response *r,
                int n_train, mn__emu_model *f);
void mn__emu_predict(const mn__emu_space *s, const mn__emu_model *f, const mn_model_params *p,
                     double *collagen, double *dh);
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
