/* Calibration: the posterior of chosen parameters tagged C given the calibration targets that
 * mnsim can compute (data/target_models.csv), every other parameter at its prior value.
 *
 * Prior: uniform on each parameter's range, on a log scale where the range spans a factor of 3
 * or more (the sampler's coordinates map each range to [0, 1]); zero where the loop gain
 * G >= 1 (models.md 7.6) or where an acceptance check fails (the seed's statements: they must
 * hold, they are not data to fit). Likelihood: the product over calibration rows of their
 * published spread (mn_target_loglik: normal for a mean with its standard error, a flat interval
 * with Gaussian edges, binomial for k events of n patients). Sampler: the ensemble of
 * src/infer/mcmc.c, differential-evolution moves in CALIB_DE of the half-steps and stretch moves
 * in the others, in logit coordinates (batch_logpost_u). The shipped nominal values are the
 * posterior medians when they pass every calibration row and acceptance check, else the MAP (the
 * best draw, polished by Nelder-Mead), which passes every calibration target by construction of
 * the pass ranges (the 95 % range of each likelihood) when the data can be met at all.
 * Stage: infer. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/infer.h"

/* The fraction of half-steps with a differential-evolution move. On a 9-parameter test density
 * shaped like the posterior (a flat direction, correlations -0.84 and 0.7, a 0.5 % wide
 * direction, a mode on a prior bound, a banana, a hard cut), in logit coordinates, 32 walkers,
 * 20000 steps, three seeds: the worst autocorrelation time was 279-281 steps with stretch moves
 * only, 158-163 with half DE, 120-138 with 0.8 DE, 124-132 with 0.9 DE, 146-278 with DE only
 * (472 with stretch moves on the bounded [0, 1] coordinates). */
#define CALIB_DE 0.8

const char *const mn_calib_fitted[MN_CALIB_FITTED] = {"k_d_epi",   "K_V",      "V_vis",   "a_d",
                                                      "q_F",       "C_set",    "v_close", "pih_m50",
                                                      "pih_sigma", "kap_fill", "rho_box"};

void mn_calib_opts_default(mn_calib_opts *o) {
  memset(o, 0, sizeof *o);
  o->walkers = 32, o->steps = 14000, o->burn = 500, o->thin = 30, o->max_evals = 400, o->seed = 1;
}

void mn_calibration_fini(mn_calibration *c) {
  if (!c) return;
  mn_mcmc_chain_fini(&c->chain);
  memset(c, 0, sizeof *c);
}

double mn_target_loglik(const mn_target_eval *r, double x) {
  if (r->lik == MN_LIK_NONE) return 0;
  if (!isfinite(x)) return -INFINITY;
  switch (r->lik) {
    case MN_LIK_NORMAL: {
      double z = (x - r->l1) / hypot(r->l2, r->l3);
      return -0.5 * z * z;
    }
    case MN_LIK_INTERVAL: {
      double out = x < r->lo ? r->lo - x : x > r->hi ? x - r->hi : 0;
      double sd = hypot(r->l2, r->l3);
      return -0.5 * (out / sd) * (out / sd);
    }
    case MN_LIK_BINOMIAL: {
      double p = fmin(1 - 1e-12, fmax(1e-12, x / 100));
      return r->l1 * log(p) + (r->l2 - r->l1) * log(1 - p);
    }
    case MN_LIK_CHECK:
      return x >= r->lo && x <= r->hi ? 0 : -INFINITY;
    default:
      return 0;
  }
}

typedef struct fit {
  const mn_validation *v;
  const mn_param_set *prior;
  const mn_skin_atlas *atlas;
  const mn_device_catalogue *cat;
  int n, idx[MN_CALIB_MAX]; /* prior->info index of each fitted parameter */
  int rows[256], nrows;     /* rows in the likelihood or checks, grouped by protocol */
  int group[257], ngroups;  /* rows[group[g] .. group[g + 1]) share one course */
  int group_check[256];     /* 1 for a group of acceptance checks */
  int *pending;             /* [cap] points whose courses are still to run */
  int threads;
  long evals;
  long evals_step;   /* evals after the last whole step of the sampler (what a checkpoint holds) */
  double *x;         /* [batch][nrows] the rows' values */
  double *zb;        /* [batch][n] the sampler's points mapped to [0, 1] */
  double *jac, *flb; /* [batch] their log Jacobians, their shifted floors */
  int cap;           /* points x has room for */
} fit;

/* the sampler's coordinates: the prior range mapped to [0, 1], on a log scale where the bands
 * draw log-uniformly (mn_uq_distribution) */
static int log_scale(const mn_param_info *p) {
  return mn_uq_distribution(p) == MN_UQ_LOG_UNIFORM;
}
static double to_value(const mn_param_info *p, double z) {
  return log_scale(p) ? p->min * exp(z * log(p->max / p->min)) : p->min + z * (p->max - p->min);
}
static double to_z(const mn_param_info *p, double v) {
  if (!(p->max > p->min)) return 0.5;
  return log_scale(p) ? log(v / p->min) / log(p->max / p->min) : (v - p->min) / (p->max - p->min);
}

/* the model parameters at sampler point z (NULL-free: z inside [0, 1]^n) */
static mn_model_params point_params(const fit *f, const double *z) {
  mn_model_params m = f->prior->p;
  for (int k = 0; k < f->n; k++) {
    const mn_param_info *p = &f->prior->info[f->idx[k]];
    *mn_model_param_ref(&m, p->name) = to_value(p, z[k]);
  }
  return m;
}

static int inside(const fit *f, const double *z) {
  for (int k = 0; k < f->n; k++)
    if (!(z[k] >= 0 && z[k] <= 1)) return 0;
  return 1;
}

/* The rows' values of group g at point zp into xv (NaN outside the prior or where G >= 1). */
static void eval_group(const fit *f, const double *zp, int g, double *xv) {
  int a = f->group[g], b = f->group[g + 1];
  mn_model_params m;
  if (inside(f, zp) && (m = point_params(f, zp), mn_model_loop_gain(&m) < 1))
    mn_target_eval_rows(f->v->rows, f->rows + a, b - a, &m, f->atlas, f->cat, xv + a);
  else
    for (int i = a; i < b; i++) xv[i] = NAN;
}

/* Evaluate the groups of class `checks` (0: the likelihood's, 1: the acceptance checks') of the
 * points with pending[pt] set, in parallel over points and groups: this rank's block of the
 * points (mn_dist_block) over its threads, then every rank's values shared (mn_dist_share). */
static void eval_class(fit *f, int npts, const double *z, const int *pending, int checks) {
  int nt = mn_threads(f->threads), ng = f->ngroups, lo, hi;
  (void)nt;
  mn_dist_block(npts, &lo, &hi);
  int nq = (hi - lo) * ng;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt)
#endif
  for (int q = 0; q < nq; q++) {
    int pt = lo + q / ng, g = q % ng;
    if (!pending[pt] || f->group_check[g] != checks || mn_stop_requested()) continue;
    eval_group(f, z + (size_t)pt * (size_t)f->n, g, f->x + (size_t)pt * (size_t)f->nrows);
  }
  mn_error err = {0};
  if (mn_dist_share(f->x, npts, f->nrows, &err)) {
    mn_log(MN_LOG_ERROR, "%s", err.msg);
    mn_dist_abort(3);
  }
}

/* The log posterior of a batch of points (mn_mcmc_batch_fn): first the likelihood's courses of
 * every point, then the acceptance checks' courses of the points that can still be accepted
 * (log likelihood above the floor: the checks only ever lower the posterior to zero); the sums
 * in a fixed order. */
static void batch_logpost(int npts, int d, const double *z, const double *floor, double *lp,
                          void *user) {
  fit *f = user;
  (void)d;
  f->evals += npts;
  for (int pt = 0; pt < npts; pt++) f->pending[pt] = inside(f, z + (size_t)pt * (size_t)f->n);
  eval_class(f, npts, z, f->pending, 0);
  for (int pt = 0; pt < npts; pt++) {
    double s = 0;
    const double *xv = f->x + (size_t)pt * (size_t)f->nrows;
    for (int i = 0; i < f->nrows; i++) {
      const mn_target_eval *r = &f->v->rows[f->rows[i]];
      if (r->lik != MN_LIK_CHECK) s += mn_target_loglik(r, xv[i]);
    }
    lp[pt] = f->pending[pt] && !isnan(s) ? s : -INFINITY;
    f->pending[pt] = isfinite(lp[pt]) && (!floor || lp[pt] > floor[pt]);
    if (!f->pending[pt] && isfinite(lp[pt]) && floor) lp[pt] = -INFINITY; /* rejected anyway */
  }
  eval_class(f, npts, z, f->pending, 1);
  for (int pt = 0; pt < npts; pt++) {
    if (!f->pending[pt]) continue;
    const double *xv = f->x + (size_t)pt * (size_t)f->nrows;
    for (int i = 0; i < f->nrows; i++) {
      const mn_target_eval *r = &f->v->rows[f->rows[i]];
      if (r->lik == MN_LIK_CHECK) lp[pt] += mn_target_loglik(r, xv[i]);
    }
  }
}

/* The sampler's coordinates: u = logit z, unbounded, so that neither move proposes outside the
 * prior and the posterior near a prior bound is smooth (a uniform prior on z is the logistic
 * density on u: log z + log(1 - z), the Jacobian). The log posterior in u (mn_mcmc_batch_fn):
 * batch_logpost at z plus the Jacobian (the floor shifted by it). */
static double logistic(double u) {
  return 1 / (1 + exp(-u));
}
static double logit(double z) {
  return log(z / (1 - z));
}
static void batch_logpost_u(int npts, int d, const double *u, const double *floor, double *lp,
                            void *user) {
  fit *f = user;
  double *fl = floor ? f->flb : NULL; /* the floors shifted by the Jacobians */
  for (int pt = 0; pt < npts; pt++) {
    double jac = 0;
    for (int k = 0; k < d; k++) {
      double z = logistic(u[(size_t)pt * (size_t)d + (size_t)k]);
      f->zb[(size_t)pt * (size_t)d + (size_t)k] = z;
      jac += log(z) + log1p(-z);
    }
    f->jac[pt] = jac;
    if (fl) fl[pt] = floor[pt] - jac;
  }
  batch_logpost(npts, d, f->zb, fl, lp, f);
  for (int pt = 0; pt < npts; pt++) lp[pt] += f->jac[pt];
}

static double logpost1(fit *f, const double *z) {
  double lp;
  batch_logpost(1, f->n, z, NULL, &lp, f);
  return lp;
}

/* Nelder-Mead on -log posterior in the sampler's coordinates, standard coefficients, from z;
 * at most max_evals evaluations. Returns the best log posterior; z receives its point. */
static double nelder_mead(fit *f, double *z, int max_evals, double step) {
  enum { M = MN_CALIB_MAX + 1 };
  int n = f->n;
  double s[M][MN_CALIB_MAX], fs[M], c[MN_CALIB_MAX], xr[MN_CALIB_MAX], xe[MN_CALIB_MAX];
#define OBJ(p) (-logpost1(f, (p)))
  for (int i = 0; i <= n; i++) {
    memcpy(s[i], z, sizeof(double) * (size_t)n);
    if (i) s[i][i - 1] += s[i][i - 1] > 1 - step - 0.05 ? -step : step;
    fs[i] = OBJ(s[i]);
  }
  long start = f->evals;
  while (f->evals - start < max_evals && !mn_dist_stopped()) {
    for (int i = 1; i <= n; i++) /* sort (insertion) */
      for (int j = i; j > 0 && fs[j] < fs[j - 1]; j--) {
        double t = fs[j];
        fs[j] = fs[j - 1], fs[j - 1] = t;
        for (int k = 0; k < n; k++) t = s[j][k], s[j][k] = s[j - 1][k], s[j - 1][k] = t;
      }
    double spread = 0;
    for (int i = 1; i <= n; i++)
      for (int k = 0; k < n; k++) spread = fmax(spread, fabs(s[i][k] - s[0][k]));
    if (spread < 1e-5 || (isfinite(fs[n]) && fs[n] - fs[0] < 1e-8)) break;
    for (int k = 0; k < n; k++) {
      c[k] = 0;
      for (int i = 0; i < n; i++) c[k] += s[i][k] / n;
    }
    for (int k = 0; k < n; k++) xr[k] = c[k] + (c[k] - s[n][k]);
    double fr = OBJ(xr);
    if (fr < fs[0]) {
      for (int k = 0; k < n; k++) xe[k] = c[k] + 2 * (c[k] - s[n][k]);
      double fe = OBJ(xe);
      if (fe < fr)
        memcpy(s[n], xe, sizeof(double) * (size_t)n), fs[n] = fe;
      else
        memcpy(s[n], xr, sizeof(double) * (size_t)n), fs[n] = fr;
    } else if (fr < fs[n - 1]) {
      memcpy(s[n], xr, sizeof(double) * (size_t)n), fs[n] = fr;
    } else {
      int outside = fr < fs[n];
      for (int k = 0; k < n; k++)
        xe[k] = outside ? c[k] + 0.5 * (xr[k] - c[k]) : c[k] + 0.5 * (s[n][k] - c[k]);
      double fc = OBJ(xe);
      if (fc < (outside ? fr : fs[n])) {
        memcpy(s[n], xe, sizeof(double) * (size_t)n), fs[n] = fc;
      } else { /* shrink towards the best */
        for (int i = 1; i <= n; i++) {
          for (int k = 0; k < n; k++) s[i][k] = s[0][k] + 0.5 * (s[i][k] - s[0][k]);
          fs[i] = OBJ(s[i]);
        }
      }
    }
  }
#undef OBJ
  int best = 0;
  for (int i = 1; i <= n; i++)
    if (fs[i] < fs[best]) best = i;
  memcpy(z, s[best], sizeof(double) * (size_t)n);
  return -fs[best];
}

/* What evaluating a target needs: the targets, the anatomy atlas and the device catalogue (the
 * caller releases them, also on failure). */
static int load_inputs(mn_validation *v, mn_skin_atlas **atlas, mn_device_catalogue **cat,
                       mn_error *err) {
  int rc = mn_validation_load(v, err);
  if (rc == MN_OK) rc = mn_skin_atlas_create(atlas, err);
  if (rc == MN_OK) rc = mn_device_catalogue_create(cat, err);
  return rc;
}

/* The model rows of the likelihood and of the acceptance checks (at most 256), grouped so that
 * rows sharing a protocol are adjacent (one course each group). */
static void select_rows(fit *f) {
  const mn_validation *v = f->v;
  int used[256] = {0}, cand[256], nc = 0;
  for (int i = 0; i < v->nrows && nc < 256; i++)
    if (v->rows[i].kind == MN_EVAL_MODEL && v->rows[i].lik != MN_LIK_NONE) cand[nc++] = i;
  f->nrows = f->ngroups = 0;
  for (int a = 0; a < nc; a++) {
    if (used[a]) continue;
    int check = v->rows[cand[a]].lik == MN_LIK_CHECK;
    f->group_check[f->ngroups] = check;
    f->group[f->ngroups++] = f->nrows;
    for (int b = a; b < nc; b++)
      if (!used[b] && (v->rows[cand[b]].lik == MN_LIK_CHECK) == check &&
          mn_target_same_protocol(&v->rows[cand[a]], &v->rows[cand[b]])) {
        used[b] = 1;
        f->rows[f->nrows++] = cand[b];
      }
  }
  f->group[f->ngroups] = f->nrows;
}

/* Find each of the n fitted parameters in the prior set: it must exist, be tagged C and have a
 * range to fit in. */
static int fit_select(fit *f, const char *const *names, mn_error *err) {
  const mn_param_set *prior = f->prior;
  for (int k = 0; k < f->n; k++) {
    f->idx[k] = -1;
    for (int i = 0; i < prior->n; i++)
      if (!strcmp(prior->info[i].name, names[k])) f->idx[k] = i;
    if (f->idx[k] < 0)
      return MN_ERR(err, MN_EINPUT, "", "calibrate: '%s' is not a model parameter", names[k]);
    const mn_param_info *p = &prior->info[f->idx[k]];
    if (p->tag[0] != 'C')
      return MN_ERR(err, MN_EINPUT, "",
                    "calibrate: '%s' is tagged %s; only parameters tagged C are fitted "
                    "(literature rates stay fixed)",
                    names[k], p->tag);
    if (!(p->max > p->min))
      return MN_ERR(err, MN_EINPUT, "", "calibrate: '%s' has no range to fit in", names[k]);
  }
  return MN_OK;
}

/* The walkers' start: uniform draws of the prior (seeded) until every walker has an admissible
 * point (every acceptance check holds, G < 1), at most 100 rounds of a batch per walker; the
 * starts are then spread over the whole admissible region (overdispersed, as split R-hat
 * assumes). */
static int start_walkers(fit *f, const mn_calib_opts *o, double *x0, mn_error *err) {
  int n = f->n, w = o->walkers, have = 0, rc = MN_OK;
  mn_rng rng;
  mn_rng_init(&rng, o->seed, 0x73746172ULL); /* "star" */
  double *y = mn_malloc_array((size_t)w * (size_t)n, sizeof *y);
  double *lp = mn_malloc_array((size_t)w, sizeof *lp);
  MN_CHECK(y && lp, err, MN_ENOMEM, "", "out of memory");
  for (int round = 0; round < 100 && have < w; round++) {
    for (int i = 0; i < w * n; i++) /* inside (0, 1), where the sampler's logit is finite */
      do y[i] = mn_rng_uniform(&rng);
      while (!(y[i] > 0));
    batch_logpost(w, n, y, NULL, lp, f);
    if (mn_dist_stopped()) {
      rc = mn_stop_error(err, "calibrating");
      goto cleanup;
    }
    for (int k = 0; k < w && have < w; k++)
      if (isfinite(lp[k])) memcpy(x0 + (size_t)have++ * n, y + (size_t)k * n, sizeof *y * n);
  }
  MN_CHECK(have == w, err, MN_EINPUT, "",
           "calibrate: %d of %d prior draws lie in the admissible region (every acceptance check "
           "holds, G < 1); widen the priors or check the acceptance targets",
           have, 100 * w);
cleanup:
  mn_free(y);
  mn_free(lp);
  return rc;
}

/* Quantiles, contraction against the uniform prior (variance 1/12 in sampler coordinates) and
 * correlations of the draws after the burn-in. */
static int summarise(fit *f, mn_calibration *out, mn_error *err) {
  const mn_mcmc_chain *c = &out->chain;
  int burn = out->opts.burn, n = f->n;
  size_t m = (size_t)(c->steps - burn) * (size_t)c->walkers;
  double *col = mn_malloc_array(m, sizeof *col);
  if (!col) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  double mean[MN_CALIB_MAX] = {0}, cov[MN_CALIB_MAX][MN_CALIB_MAX] = {{0}};
  const double *base = c->x + (size_t)burn * (size_t)c->walkers * (size_t)n;
  for (size_t i = 0; i < m; i++)
    for (int k = 0; k < n; k++) mean[k] += base[i * (size_t)n + (size_t)k] / (double)m;
  for (size_t i = 0; i < m; i++)
    for (int k = 0; k < n; k++)
      for (int l = 0; l < n; l++)
        cov[k][l] += (base[i * (size_t)n + (size_t)k] - mean[k]) *
                     (base[i * (size_t)n + (size_t)l] - mean[l]) / (double)m;
  for (int k = 0; k < n; k++) {
    const mn_param_info *p = &f->prior->info[f->idx[k]];
    out->contraction[k] = 1 - cov[k][k] * 12;
    for (int l = 0; l < n; l++)
      out->corr[k][l] =
          cov[k][k] > 0 && cov[l][l] > 0 ? cov[k][l] / sqrt(cov[k][k] * cov[l][l]) : 0;
    for (size_t i = 0; i < m; i++) col[i] = base[i * (size_t)n + (size_t)k];
    double q[3];
    mn_quantiles(col, (int)m, q);
    out->lo[k] = to_value(p, q[0]), out->median[k] = to_value(p, q[1]);
    out->hi[k] = to_value(p, q[2]);
  }
  mn_free(col);
  return MN_OK;
}

/* The ids of the targets behind the rows (likelihood, or acceptance checks), in file order. */
static void target_ids(const fit *f, int checks, char *buf, size_t cap) {
  const mn_validation *v = f->v;
  buf[0] = 0;
  for (int t = 0; t < v->ntargets; t++)
    for (int i = 0; i < f->nrows; i++) {
      const mn_target_eval *r = &v->rows[f->rows[i]];
      if (r->target != t || (r->lik == MN_LIK_CHECK) != checks) continue;
      size_t len = strlen(buf);
      snprintf(buf + len, cap - len, "%s%s", len ? " " : "", v->targets[t].id);
      break;
    }
}

/* The log likelihood (without the checks) at point z; *passes: every row (likelihood and
 * checks) within its pass range [lo, hi]. */
static double loglik_at(fit *f, const double *z, int *passes) {
  double lp, s = 0;
  batch_logpost(1, f->n, z, NULL, &lp, f);
  *passes = isfinite(lp);
  for (int i = 0; i < f->nrows; i++) {
    const mn_target_eval *r = &f->v->rows[f->rows[i]];
    if (r->lik != MN_LIK_CHECK) s += mn_target_loglik(r, f->x[i]);
    *passes = *passes && f->x[i] >= r->lo && f->x[i] <= r->hi;
  }
  return s;
}

/* The per-batch buffers of the fit for batches of up to w points; 0 when out of memory (the
 * ones allocated are freed by fit_free). */
static int fit_alloc(fit *f, int w) {
  f->cap = w > 1 ? w : 1;
  f->x = mn_malloc_array((size_t)f->cap * (size_t)f->nrows, sizeof *f->x);
  f->pending = mn_malloc_array((size_t)f->cap, sizeof *f->pending);
  f->zb = mn_malloc_array((size_t)f->cap * (size_t)f->n, sizeof *f->zb);
  f->jac = mn_malloc_array((size_t)f->cap, sizeof *f->jac);
  f->flb = mn_malloc_array((size_t)f->cap, sizeof *f->flb);
  return f->x && f->pending && f->zb && f->jac && f->flb;
}

static void fit_free(fit *f) {
  mn_free(f->x);
  mn_free(f->pending);
  mn_free(f->zb);
  mn_free(f->jac);
  mn_free(f->flb);
}

/* The nominal values z: the posterior medians when every calibration row and check passes there
 * (a central value also along the directions only the checks bound), else the MAP (the best
 * draw, polished), which fits best. */
static void choose_nominal(fit *f, const mn_calib_opts *o, mn_calibration *out, double *z) {
  const int n = f->n;
  for (int k = 0; k < n; k++) z[k] = to_z(&f->prior->info[f->idx[k]], out->median[k]);
  out->loglik = loglik_at(f, z, &out->nominal_passes);
  out->nominal_is_median = out->nominal_passes;
  if (out->nominal_is_median) return;
  const mn_mcmc_chain *c = &out->chain;
  size_t best = 0, tot = (size_t)c->steps * (size_t)c->walkers;
  for (size_t i = 1; i < tot; i++)
    if (c->lp[i] > c->lp[best]) best = i;
  memcpy(z, c->x + best * (size_t)n, sizeof(double) * (size_t)n);
  nelder_mead(f, z, o->max_evals, 0.02);
  out->loglik = loglik_at(f, z, &out->nominal_passes);
}

/* ---- the chain's checkpoint (docs/formats.md, "Calibration checkpoint") ----------------------
 * Binary, native byte order (a checkpoint is tied to its build anyway):
 *   "MNCALCK1", u64 identity, i32 d, walkers, steps, done, u64 rng[4], i64 accepted, proposed,
 *   evals, f64 x[done][walkers][d], f64 lp[done][walkers], u64 FNV-1a of every byte before it.
 * The identity hashes everything the chain and the tables depend on: the build, the fitted
 * parameters with their priors (value, range), every other parameter's value, and the options. */

typedef struct ckpt_ctx {
  fit *f;
  const mn_calib_opts *o;
  uint64_t id;
  double last; /* wall time of the last write (or of the start) */
} ckpt_ctx;

static uint64_t run_identity(const fit *f, const mn_calib_opts *o) {
  uint64_t h = mn_fnv1a64(MN_FNV1A64_INIT, "mnsim calibrate 1", 17);
  const char *b = mn_build_id();
  h = mn_fnv1a64(h, b, strlen(b));
  h = mn_fnv1a64(h, &f->prior->p, sizeof f->prior->p);
  for (int k = 0; k < f->n; k++) {
    const mn_param_info *p = &f->prior->info[f->idx[k]];
    double r[3] = {p->value, p->min, p->max};
    h = mn_fnv1a64(h, p->name, strlen(p->name) + 1);
    h = mn_fnv1a64(h, r, sizeof r);
  }
  long long opt[7] = {o->walkers,   o->steps,           o->burn, o->thin,
                      o->max_evals, (long long)o->seed, f->n};
  return mn_fnv1a64(h, opt, sizeof opt);
}

static int ckpt_write(const ckpt_ctx *cx, const mn_mcmc_state *st, mn_error *err) {
  const fit *f = cx->f;
  const int w = cx->o->walkers, d = f->n;
  const size_t nx = (size_t)st->done * (size_t)w * (size_t)d, nl = (size_t)st->done * (size_t)w;
  int32_t dims[4] = {d, w, cx->o->steps, st->done};
  int64_t cnt[3] = {st->accepted, st->proposed, f->evals_step};
  mn_ofile of;
  int rc = mn_ofile_open(&of, cx->o->checkpoint, err);
  if (rc) return rc;
  uint64_t h = MN_FNV1A64_INIT;
  int ok = 1;
#define PUT(p, sz) (ok = ok && fwrite((p), 1, (sz), of.fp) == (sz), h = mn_fnv1a64(h, (p), (sz)))
  PUT("MNCALCK1", 8);
  PUT(&cx->id, sizeof cx->id);
  PUT(dims, sizeof dims);
  PUT(st->rng.s, sizeof st->rng.s);
  PUT(cnt, sizeof cnt);
  PUT(st->x, nx * sizeof *st->x);
  PUT(st->lp, nl * sizeof *st->lp);
#undef PUT
  ok = ok && fwrite(&h, sizeof h, 1, of.fp) == 1;
  if (!ok) {
    mn_ofile_abort(&of);
    return MN_ERR(err, MN_EIO, "", "cannot write the checkpoint %s (disk full?)",
                  cx->o->checkpoint);
  }
  return mn_ofile_commit(&of, err);
}

/* mn_mcmc_opts.save: after a whole step (or at a stop, force) write when checkpoint_min has
 * passed; rank 0 alone writes. A test hook stops the run after a chosen step. */
static int ckpt_save(const mn_mcmc_state *st, int force, void *user, mn_error *err) {
  ckpt_ctx *cx = user;
  if (!force) cx->f->evals_step = cx->f->evals;
  double now = mn_wall_time();
  if (force || now - cx->last >= 60 * cx->o->checkpoint_min || st->done == cx->o->steps) {
    int rc = mn_dist_rank() == 0 ? ckpt_write(cx, st, err) : MN_OK;
    if (rc) return rc;
    cx->last = now;
  }
  if (!force && mn_test_hook.stop_after_step == st->done) mn_stop_request(2 /* SIGINT */);
  return MN_OK;
}

/* Read the checkpoint into st (x and lp allocated: the caller frees them). @return MN_OK,
 * MN_EIO when it cannot be read, MN_EINPUT when it is damaged or belongs to another run. */
static int ckpt_read(const ckpt_ctx *cx, FILE *fp, mn_mcmc_state *st, long *evals, mn_error *err) {
  const char *path = cx->o->checkpoint;
  const int w = cx->o->walkers, d = cx->f->n;
  char magic[8];
  uint64_t id, h = MN_FNV1A64_INIT, sum;
  int32_t dims[4];
  int64_t cnt[3];
  memset(st, 0, sizeof *st);
#define GET(p, sz) (fread((p), 1, (sz), fp) == (sz) ? (h = mn_fnv1a64(h, (p), (sz)), 1) : 0)
  if (!(GET(magic, 8) && !memcmp(magic, "MNCALCK1", 8)))
    return MN_ERR(err, MN_EINPUT, "", "%s is not a calibration checkpoint of mnsim", path);
  if (!(GET(&id, sizeof id) && GET(dims, sizeof dims) && GET(st->rng.s, sizeof st->rng.s) &&
        GET(cnt, sizeof cnt)))
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s is truncated", path);
  if (id != cx->id || dims[0] != d || dims[1] != w || dims[2] != cx->o->steps)
    return MN_ERR(err, MN_EINPUT, "",
                  "checkpoint %s belongs to another calibration (other parameters, priors, "
                  "options or build): remove it, or give another --checkpoint file",
                  path);
  if (!(dims[3] >= 1 && dims[3] <= dims[2] && cnt[0] >= 0 && cnt[0] <= cnt[1] && cnt[2] >= 0))
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s is damaged (its counts are out of range)",
                  path);
  st->done = dims[3], st->accepted = cnt[0], st->proposed = cnt[1];
  *evals = cnt[2];
  const size_t nx = (size_t)st->done * (size_t)w * (size_t)d, nl = (size_t)st->done * (size_t)w;
  double *x = mn_malloc_array(nx, sizeof *x), *lp = mn_malloc_array(nl, sizeof *lp);
  st->x = x, st->lp = lp;
  if (!x || !lp) return MN_ERR(err, MN_ENOMEM, "", "out of memory reading checkpoint %s", path);
  int whole = GET(x, nx * sizeof *x) && GET(lp, nl * sizeof *lp);
#undef GET
  if (!whole || fread(&sum, sizeof sum, 1, fp) != 1 || fgetc(fp) != EOF)
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s is truncated or has trailing bytes", path);
  if (sum != h) return MN_ERR(err, MN_EINPUT, "", "checkpoint %s is damaged (checksum)", path);
  for (size_t i = 0; i < nx; i++)
    if (!isfinite(x[i]))
      return MN_ERR(err, MN_EINPUT, "", "checkpoint %s is damaged (a walker is not finite)", path);
  for (size_t i = 0; i < nl; i++)
    if (!isfinite(lp[i]))
      return MN_ERR(err, MN_EINPUT, "", "checkpoint %s is damaged (a log posterior is not finite)",
                    path);
  return MN_OK;
}

/* The chain's tables: the diagnostics, the names and priors, the posterior summary and the
 * nominal values (z: the prior's point in, the nominal one out, sampler coordinates). */
static int tabulate(fit *f, const mn_calib_opts *o, mn_calibration *out, double *z, mn_error *err) {
  const mn_param_set *prior = f->prior;
  const int n = f->n, w = o->walkers;
  int rc = MN_OK;
  /* the chain in [0, 1] coordinates from here on (diagnostics, quantiles, the posterior table) */
  for (size_t i = 0; i < (size_t)o->steps * (size_t)w * (size_t)n; i++)
    out->chain.x[i] = logistic(out->chain.x[i]);
  MN_TRY(mn_mcmc_diagnose(&out->chain, o->burn, &out->diag, err));
  out->n = n;
  for (int k = 0; k < n; k++) {
    const mn_param_info *p = &prior->info[f->idx[k]];
    snprintf(out->name[k], sizeof out->name[k], "%s", p->name);
    out->prior[k] = p->value, out->prior_min[k] = p->min, out->prior_max[k] = p->max;
  }
  MN_TRY(summarise(f, out, err));
  choose_nominal(f, o, out, z);
  if (mn_dist_stopped()) {
    rc = mn_stop_error(err, "calibrating");
    goto cleanup;
  }
  for (int k = 0; k < n; k++) {
    out->value[k] = to_value(&prior->info[f->idx[k]], z[k]);
    /* the table's range holds its value (a MAP at a prior bound) */
    out->lo[k] = fmin(out->lo[k], out->value[k]), out->hi[k] = fmax(out->hi[k], out->value[k]);
  }
cleanup:
  return rc;
}

/* A chain to continue? With a checkpoint file: its state into *resume and the steps it holds
 * into *from (0 when the file does not exist yet); the evaluations so far into cx->f. */
static int ckpt_resume(ckpt_ctx *cx, mn_mcmc_state *resume, int *from, mn_error *err) {
  cx->id = run_identity(cx->f, cx->o);
  FILE *fp = fopen(cx->o->checkpoint, "rb");
  if (!fp)
    return errno == ENOENT ? MN_OK
                           : MN_ERR(err, MN_EIO, "", "cannot read the checkpoint %s: %s",
                                    cx->o->checkpoint, strerror(errno));
  long ev = 0;
  int rc = ckpt_read(cx, fp, resume, &ev, err);
  fclose(fp);
  if (rc) return rc;
  cx->f->evals = cx->f->evals_step = ev; /* the evaluations before the stop, the start's included */
  *from = resume->done;
  return MN_OK;
}

int mn_calibrate(const mn_param_set *prior, const char *const *names, int n, const mn_calib_opts *o,
                 mn_calibration *out, mn_error *err) {
  int rc = MN_OK;
  fit f;
  mn_validation v;
  mn_skin_atlas *atlas = NULL;
  mn_device_catalogue *cat = NULL;
  double *x0 = NULL;
  mn_mcmc_state resume;
  memset(&resume, 0, sizeof resume);
  memset(&f, 0, sizeof f);
  memset(&v, 0, sizeof v);
  memset(out, 0, sizeof *out);
  out->opts = *o;
  if (n < 1 || n > MN_CALIB_MAX)
    return MN_ERR(err, MN_EINPUT, "", "calibrate: 1 to %d parameters, not %d", MN_CALIB_MAX, n);
  MN_CHECK(o->burn >= 0 && o->steps - o->burn >= 8 && o->thin >= 1, err, MN_ERANGE, "",
           "calibrate: need at least 8 steps after the burn-in (steps %d, burn-in %d) and thin "
           ">= 1",
           o->steps, o->burn);
  MN_CHECK(o->walkers >= 2 * n && o->walkers % 2 == 0, err, MN_ERANGE, "",
           "calibrate: walkers must be even and at least twice the %d dimensions (got %d)", n,
           o->walkers);
  MN_TRY(load_inputs(&v, &atlas, &cat, err));
  f.v = &v, f.prior = prior, f.atlas = atlas, f.cat = cat, f.n = n, f.threads = o->threads;
  MN_TRY(fit_select(&f, names, err));
  select_rows(&f);
  target_ids(&f, 0, out->targets, sizeof out->targets);
  target_ids(&f, 1, out->checks, sizeof out->checks);
  MN_CHECK(out->targets[0], err, MN_EINPUT, "", "calibrate: no calibration target can be computed");
  int w = o->walkers;
  x0 = mn_malloc_array((size_t)w * (size_t)n, sizeof *x0);
  MN_CHECK(fit_alloc(&f, w) && x0, err, MN_ENOMEM, "", "out of memory");
  double z[MN_CALIB_MAX];
  for (int k = 0; k < n; k++) z[k] = to_z(&prior->info[f.idx[k]], prior->info[f.idx[k]].value);
  int ignored;
  out->loglik0 = loglik_at(&f, z, &ignored);
  ckpt_ctx cx = {&f, o, 0, mn_wall_time()};
  if (o->checkpoint) MN_TRY(ckpt_resume(&cx, &resume, &out->resumed_from, err));
  if (!out->resumed_from) {
    MN_TRY(start_walkers(&f, o, x0, err));
    for (int i = 0; i < w * n; i++) x0[i] = logit(x0[i]);
  }
  mn_mcmc_opts mo = {.walkers = w,
                     .steps = o->steps,
                     .a = 2.0,
                     .seed = o->seed,
                     .progress = o->progress,
                     .progress_user = o->progress_user,
                     .de = CALIB_DE};
  if (o->checkpoint) mo.save = ckpt_save, mo.save_user = &cx;
  if (out->resumed_from) mo.resume = &resume;
  MN_TRY(mn_mcmc_run(n, x0, &mo, batch_logpost_u, &f, &out->chain, err));
  MN_TRY(tabulate(&f, o, out, z, err));
  out->evals = (int)f.evals;
cleanup:
  mn_free((double *)resume.x);
  mn_free((double *)resume.lp);
  fit_free(&f);
  mn_free(x0);
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  mn_validation_fini(&v);
  if (rc) mn_calibration_fini(out);
  return rc;
}

/* ---- the calibration table and the posterior ensemble --------------------------------------- */

/* the shortest %g form that reads back as the same double (the stale-prior check compares
 * exactly) */
static const char *exact(double v, char buf[32]) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, 32, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return buf;
}

int mn_calibration_text(const mn_calibration *c, char **text, size_t *len, mn_error *err) {
  enum { CAP = 1 << 16 };
  char *buf = mn_malloc(CAP);
  *text = NULL, *len = 0;
  if (!buf) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  const mn_calib_opts *o = &c->opts;
  int n = snprintf(
      buf, CAP,
      "# Calibrated parameters: written by `mnsim calibrate -o data/calibration.csv` (do not "
      "edit); docs/calibration.md.\n"
      "# value: the nominal value, the posterior %s; min, max: the posterior's 5 %% and 95 %%\n"
      "# quantiles (widened to hold the value). Every calibration target %s there.\n"
      "# log likelihood %.4g at the prior values, %.4g at the nominal values; ensemble sampler %d "
      "walkers x "
      "%d steps (burn-in %d, seed %llu), %d evaluations;\n"
      "# split R-hat <= %.4f, ESS >= %.0f, autocorrelation time <= %.1f steps, acceptance %.3f\n"
      "name,value,min,max,prior_value,prior_min,prior_max,targets\n",
      c->nominal_is_median ? "median" : "MAP (the medians fail a target)",
      c->nominal_passes ? "passes" : "does NOT pass", c->loglik0, c->loglik, c->chain.walkers,
      c->chain.steps, o->burn, (unsigned long long)o->seed, c->evals, c->diag.rhat_max,
      c->diag.ess_min, c->diag.tau_max, c->diag.acceptance);
  for (int k = 0; k < c->n && n < CAP; k++) {
    char b0[32], b1[32], b2[32];
    n += snprintf(buf + n, (size_t)(CAP - n), "%s,%.6g,%.4g,%.4g,%s,%s,%s,%s\n", c->name[k],
                  c->value[k], c->lo[k], c->hi[k], exact(c->prior[k], b0),
                  exact(c->prior_min[k], b1), exact(c->prior_max[k], b2), c->targets);
  }
  if (n >= CAP) {
    mn_free(buf);
    return MN_ERR(err, MN_EINTERNAL, "", "calibration table too long");
  }
  *text = buf, *len = (size_t)n;
  return MN_OK;
}

/* the sampler coordinate z of parameter k mapped back to its value */
static double chain_value(const mn_calibration *c, int k, double z) {
  mn_param_info p;
  memset(&p, 0, sizeof p);
  p.min = c->prior_min[k], p.max = c->prior_max[k];
  return to_value(&p, z);
}

int mn_posterior_text(const mn_calibration *c, const char *fingerprint, char **text, size_t *len,
                      int *draws, mn_error *err) {
  const mn_mcmc_chain *ch = &c->chain;
  const mn_calib_opts *o = &c->opts;
  int steps = 0;
  for (int s = o->burn; s < ch->steps; s += o->thin) steps++;
  int nd = steps * ch->walkers;
  size_t cap = (size_t)(nd + 8) * (size_t)(c->n + 1) * 16 + 4096;
  char *buf = mn_malloc(cap);
  *text = NULL, *len = 0, *draws = 0;
  if (!buf) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  size_t n = (size_t)snprintf(
      buf, cap,
      "# Posterior ensemble: written by `mnsim calibrate` (do not edit); docs/calibration.md.\n"
      "# Ensemble-sampler draws of the calibrated parameters (every other parameter at its "
      "table\n"
      "# value): one step in %d after a burn-in of %d (in a spread order), all %d walkers;\n"
      "# split R-hat <= %.4f.\n"
      "# fingerprint %s tried %d kept %d ess %.1f\n",
      o->thin, o->burn, ch->walkers, c->diag.rhat_max, fingerprint,
      (ch->steps - o->burn) * ch->walkers, nd, c->diag.ess_min);
  for (int k = 0; k < c->n; k++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? "," : "", c->name[k]);
  n += (size_t)snprintf(buf + n, cap - n, "\n");
  /* the kept steps in a spread order (step j at position i = j x stride mod steps), so that the
   * first draws, which a small ensemble uses, come from the whole run */
  int stride = mn_posterior_stride(steps);
  for (int i = 0; i < steps && n < cap; i++)
    for (int w = 0, s = o->burn + (int)((long)i * stride % steps) * o->thin;
         w < ch->walkers && n < cap; w++) {
      const double *z = ch->x + ((size_t)s * (size_t)ch->walkers + (size_t)w) * (size_t)ch->d;
      for (int k = 0; k < c->n && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%.6g", k ? "," : "", chain_value(c, k, z[k]));
      if (n < cap) n += (size_t)snprintf(buf + n, cap - n, "\n");
    }
  if (n >= cap) {
    mn_free(buf);
    return MN_ERR(err, MN_EINTERNAL, "", "posterior table too long");
  }
  *text = buf, *len = n, *draws = nd;
  return MN_OK;
}
