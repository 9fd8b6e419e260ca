/* The affine-invariant ensemble sampler (Goodman & Weare 2010, Commun Appl Math Comput Sci 5:65,
 * the "stretch move"; the same algorithm as emcee, Foreman-Mackey et al. 2013 PASP 125:306),
 * optionally mixed with the differential-evolution move (ter Braak 2006, Stat Comput 16:239;
 * in its ensemble form as emcee's DEMove, Nelson et al. 2014 ApJS 210:11), and
 * its diagnostics: split R-hat (Gelman et al. 2013, Bayesian Data Analysis 3rd ed. 11.4, over
 * interleaved groups of walkers) and the integrated autocorrelation time with Sokal's automatic
 * window (Sokal 1997; emcee's estimator, the autocorrelation function averaged over the walkers).
 *
 * Determinism: every random number of a half-step is drawn in one sequence before the batch of
 * proposals is evaluated, so the chain depends on the seed only, not on how the batch is spread
 * over threads or processes. Stage: infer. */
#include <math.h>
#include <string.h>

#include "mnsim/infer.h"

void mn_mcmc_chain_fini(mn_mcmc_chain *c) {
  if (!c) return;
  mn_free(c->x);
  mn_free(c->lp);
  memset(c, 0, sizeof *c);
}

/* The proposals of walkers [k0, k0 + h) stretched towards partners of the other half, into y;
 * z and the acceptance uniforms into zz and uu. */
static void propose(const mn_mcmc_chain *c, const double *cur, int k0, int o0, int h, mn_rng *rng,
                    double a, double *y, double *zz, double *uu) {
  int d = c->d;
  for (int i = 0; i < h; i++) {
    int j = o0 + (int)(mn_rng_uniform(rng) * h);
    if (j >= o0 + h) j = o0 + h - 1;
    double u = mn_rng_uniform(rng), z = ((a - 1) * u + 1) * ((a - 1) * u + 1) / a;
    zz[i] = z;
    uu[i] = mn_rng_uniform(rng);
    const double *xk = cur + (size_t)(k0 + i) * (size_t)d, *xj = cur + (size_t)j * (size_t)d;
    for (int q = 0; q < d; q++) y[(size_t)i * (size_t)d + (size_t)q] = xj[q] + z * (xk[q] - xj[q]);
  }
}

/* The differential-evolution proposals of walkers [k0, k0 + h): x_k + gamma (x_i - x_j) + e
 * with i != j two walkers of the other half, gamma = 2.38 / sqrt(2 d) (the optimal random-walk
 * scale for a Gaussian target; ter Braak 2006) or 1 in one proposal in ten (a jump between
 * modes), e ~ N(0, 1e-5^2) per coordinate so that the moves stay ergodic. Symmetric: zz = 1. */
static void propose_de(const mn_mcmc_chain *c, const double *cur, int k0, int o0, int h,
                       mn_rng *rng, double *y, double *zz, double *uu) {
  int d = c->d;
  double g0 = 2.38 / sqrt(2.0 * d);
  for (int i = 0; i < h; i++) {
    int a = (int)(mn_rng_uniform(rng) * h), b = (int)(mn_rng_uniform(rng) * (h - 1));
    if (a >= h) a = h - 1;
    if (b >= h - 1) b = h - 2;
    if (b >= a) b++; /* b uniform over the other half without a */
    double g = mn_rng_uniform(rng) < 0.1 ? 1.0 : g0;
    zz[i] = 1;
    uu[i] = mn_rng_uniform(rng);
    const double *xk = cur + (size_t)(k0 + i) * (size_t)d;
    const double *xa = cur + (size_t)(o0 + a) * (size_t)d, *xb = cur + (size_t)(o0 + b) * (size_t)d;
    for (int q = 0; q < d; q++)
      y[(size_t)i * (size_t)d + (size_t)q] =
          xk[q] + g * (xa[q] - xb[q]) + 1e-5 * mn_rng_normal(rng);
  }
}

int mn_mcmc_run(int d, const double *x0, const mn_mcmc_opts *o, mn_mcmc_batch_fn f, void *user,
                mn_mcmc_chain *c, mn_error *err) {
  int rc = MN_OK, w = o->walkers, h = o->walkers / 2;
  memset(c, 0, sizeof *c);
  double *cur = NULL, *lpc = NULL, *y = NULL, *lpy = NULL, *zz = NULL, *uu = NULL, *fl = NULL;
  MN_CHECK(d >= 1 && w >= 2 * d && w >= 4 && w % 2 == 0 && o->steps >= 1 && o->a > 1 &&
               o->de >= 0 && o->de <= 1,
           err, MN_ERANGE, "",
           "mcmc: walkers must be even, at least 4 and at least twice the %d dimensions (got %d), "
           "steps >= 1, stretch scale a > 1, DE fraction in [0, 1]",
           d, w);
  c->d = d, c->walkers = w, c->steps = o->steps;
  c->x = mn_malloc_array((size_t)o->steps * (size_t)w * (size_t)d, sizeof *c->x);
  c->lp = mn_malloc_array((size_t)o->steps * (size_t)w, sizeof *c->lp);
  cur = mn_malloc_array((size_t)w * (size_t)d, sizeof *cur);
  lpc = mn_malloc_array((size_t)w, sizeof *lpc);
  y = mn_malloc_array((size_t)h * (size_t)d, sizeof *y);
  lpy = mn_malloc_array((size_t)h, sizeof *lpy);
  zz = mn_malloc_array((size_t)h, sizeof *zz);
  uu = mn_malloc_array((size_t)h, sizeof *uu);
  fl = mn_malloc_array((size_t)h, sizeof *fl);
  MN_CHECK(c->x && c->lp && cur && lpc && y && lpy && zz && uu && fl, err, MN_ENOMEM, "",
           "out of memory for a chain of %d steps x %d walkers", o->steps, w);
  mn_rng rng;
  int s0 = 0;
  const mn_mcmc_state *rs = o->resume;
  if (rs) { /* the chain so far, and the walkers where its last step left them */
    MN_CHECK(
        rs->done >= 1 && rs->done <= o->steps && rs->accepted >= 0 && rs->accepted <= rs->proposed,
        err, MN_EINPUT, "", "mcmc: a resumed state must hold 1 to %d whole steps", o->steps);
    s0 = rs->done;
    memcpy(c->x, rs->x, sizeof *c->x * (size_t)s0 * (size_t)w * (size_t)d);
    memcpy(c->lp, rs->lp, sizeof *c->lp * (size_t)s0 * (size_t)w);
    memcpy(cur, c->x + (size_t)(s0 - 1) * (size_t)w * (size_t)d,
           sizeof *cur * (size_t)w * (size_t)d);
    memcpy(lpc, c->lp + (size_t)(s0 - 1) * (size_t)w, sizeof *lpc * (size_t)w);
    for (int k = 0; k < w; k++)
      MN_CHECK(isfinite(lpc[k]), err, MN_EINPUT, "",
               "mcmc: walker %d of the resumed state is where the posterior is zero", k);
    rng = rs->rng;
    c->accepted = rs->accepted, c->proposed = rs->proposed;
  } else {
    memcpy(cur, x0, sizeof *cur * (size_t)w * (size_t)d);
    f(w, d, cur, NULL, lpc, user);
    if (mn_dist_stopped()) { /* the batch skipped its points: their values mean nothing */
      rc = mn_stop_error(err, "sampling the posterior");
      goto cleanup;
    }
    for (int k = 0; k < w; k++)
      MN_CHECK(isfinite(lpc[k]), err, MN_EINPUT, "",
               "mcmc: walker %d starts where the posterior is zero", k);
    mn_rng_init(&rng, o->seed, 0x6d636d63ULL); /* "mcmc" */
  }
  /* the state after the last whole step, which a stop saves */
  mn_mcmc_state at = {s0, c->x, c->lp, rng, c->accepted, c->proposed};
  for (int s = s0; s < o->steps; s++) {
    for (int half = 0; half < 2; half++) {
      int k0 = half ? h : 0, o0 = half ? 0 : h;
      if (o->de > 0 && mn_rng_uniform(&rng) < o->de)
        propose_de(c, cur, k0, o0, h, &rng, y, zz, uu);
      else
        propose(c, cur, k0, o0, h, &rng, o->a, y, zz, uu);
      /* accepted when log u < (d - 1) log z + lp(y) - lp(x): lp(y) above the floor */
      for (int i = 0; i < h; i++) fl[i] = log(uu[i]) - (d - 1) * log(zz[i]) + lpc[k0 + i];
      f(h, d, y, fl, lpy, user);
      if (mn_dist_stopped()) {
        if (o->save && at.done > 0 && o->save(&at, 1, o->save_user, err)) {
          rc = MN_EIO;
          goto cleanup;
        }
        rc = mn_stop_error(err, "sampling the posterior");
        goto cleanup;
      }
      for (int i = 0; i < h; i++) {
        c->proposed++;
        if (isfinite(lpy[i]) && lpy[i] > fl[i]) {
          memcpy(cur + (size_t)(k0 + i) * (size_t)d, y + (size_t)i * (size_t)d,
                 sizeof *cur * (size_t)d);
          lpc[k0 + i] = lpy[i];
          c->accepted++;
        }
      }
    }
    memcpy(c->x + (size_t)s * (size_t)w * (size_t)d, cur, sizeof *cur * (size_t)w * (size_t)d);
    memcpy(c->lp + (size_t)s * (size_t)w, lpc, sizeof *lpc * (size_t)w);
    at = (mn_mcmc_state){s + 1, c->x, c->lp, rng, c->accepted, c->proposed};
    if (o->save && o->save(&at, 0, o->save_user, err)) {
      rc = MN_EIO;
      goto cleanup;
    }
    if (o->progress) o->progress(s + 1, o->steps, o->progress_user);
  }
cleanup:
  mn_free(cur);
  mn_free(lpc);
  mn_free(y);
  mn_free(lpy);
  mn_free(zz);
  mn_free(uu);
  mn_free(fl);
  if (rc) mn_mcmc_chain_fini(c);
  return rc;
}

/* value of parameter q of walker k at step s */
static double at(const mn_mcmc_chain *c, int s, int k, int q) {
  return c->x[((size_t)s * (size_t)c->walkers + (size_t)k) * (size_t)c->d + (size_t)q];
}

/* Split R-hat of parameter q over steps [burn, steps). The walkers of one ensemble are not
 * independent chains and each walker alone is too short for R-hat to settle, so the walkers are
 * dealt into RHAT_GROUPS interleaved groups (walker k into group k mod RHAT_GROUPS, which mixes
 * the two halves of the stretch move) and each group's pooled draws of each half of the run form
 * one chain: 2 x RHAT_GROUPS chains. The walkers start spread over the prior's admissible region,
 * so a group that has not forgotten its start shows as a large R-hat. */
enum { RHAT_GROUPS = 4 };
static double split_rhat(const mn_mcmc_chain *c, int burn, int q) {
  int half = (c->steps - burn) / 2, g = c->walkers < RHAT_GROUPS ? c->walkers : RHAT_GROUPS;
  int m = 2 * g;
  if (half < 2) return NAN;
  double means[2 * RHAT_GROUPS], vars[2 * RHAT_GROUPS];
  for (int grp = 0; grp < g; grp++)
    for (int part = 0; part < 2; part++) {
      int s0 = burn + part * half;
      double mu = 0, v = 0;
      long cnt = 0;
      for (int k = grp; k < c->walkers; k += g)
        for (int s = s0; s < s0 + half; s++) mu += at(c, s, k, q), cnt++;
      mu /= (double)cnt;
      for (int k = grp; k < c->walkers; k += g)
        for (int s = s0; s < s0 + half; s++) v += (at(c, s, k, q) - mu) * (at(c, s, k, q) - mu);
      means[2 * grp + part] = mu;
      vars[2 * grp + part] = v / (double)(cnt - 1);
    }
  /* Gelman-Rubin with chains of (nearly) equal length n: W the mean within-chain variance, B/n
   * the variance of the chain means */
  double n = (double)half * ((double)c->walkers / g), mean_all = 0, W = 0, B_n = 0;
  for (int i = 0; i < m; i++) mean_all += means[i] / m, W += vars[i] / m;
  for (int i = 0; i < m; i++) B_n += (means[i] - mean_all) * (means[i] - mean_all) / (m - 1);
  if (!(W > 0)) return B_n > 0 ? INFINITY : 1;
  return sqrt(((n - 1) / n * W + B_n) / W);
}

/* Integrated autocorrelation time of parameter q over steps [burn, steps): the walkers' mean
 * normalised autocorrelation rho(t), tau(M) = 1 + 2 sum_{t<=M} rho(t), M the smallest window
 * with M >= 5 tau(M). */
static double autocorr_time(const mn_mcmc_chain *c, int burn, int q) {
  int n = c->steps - burn, w = c->walkers;
  if (n < 4) return NAN;
  double tau = 1, c0 = 0;
  /* per-walker means and variances */
  double mu[1024], var[1024];
  if (w > 1024) return NAN;
  for (int k = 0; k < w; k++) {
    double m = 0, v = 0;
    for (int s = burn; s < c->steps; s++) m += at(c, s, k, q);
    m /= n;
    for (int s = burn; s < c->steps; s++) v += (at(c, s, k, q) - m) * (at(c, s, k, q) - m);
    mu[k] = m, var[k] = v / n;
    c0 += var[k];
  }
  if (!(c0 > 0)) return 1;
  for (int t = 1; t < n; t++) {
    double rho = 0;
    for (int k = 0; k < w; k++) {
      if (!(var[k] > 0)) continue;
      double acc = 0;
      for (int s = burn; s + t < c->steps; s++)
        acc += (at(c, s, k, q) - mu[k]) * (at(c, s + t, k, q) - mu[k]);
      rho += acc / n / var[k];
    }
    tau += 2 * rho / w;
    if (t >= 5 * tau) return tau;
  }
  return tau; /* the window never closed: the chain is too short for this estimate */
}

int mn_mcmc_diagnose(const mn_mcmc_chain *c, int burn, mn_mcmc_diag *dg, mn_error *err) {
  memset(dg, 0, sizeof *dg);
  if (!(burn >= 0 && c->steps - burn >= 8 && c->d <= MN_CALIB_MAX && c->walkers <= 1024))
    return MN_ERR(err, MN_ERANGE, "",
                  "mcmc: the diagnostics need at least 8 steps after a burn-in of %d (chain of %d "
                  "steps), at most %d parameters and 1024 walkers",
                  burn, c->steps, MN_CALIB_MAX);
  int n = c->steps - burn;
  dg->acceptance = c->proposed ? (double)c->accepted / (double)c->proposed : 0;
  dg->rhat_max = 0, dg->ess_min = INFINITY, dg->tau_max = 0;
  for (int q = 0; q < c->d; q++) {
    dg->rhat[q] = split_rhat(c, burn, q);
    dg->tau[q] = autocorr_time(c, burn, q);
    dg->tau_converged[q] = n >= 50 * dg->tau[q];
    dg->ess[q] = (double)c->walkers * n / dg->tau[q];
    dg->rhat_max = fmax(dg->rhat_max, dg->rhat[q]);
    dg->ess_min = fmin(dg->ess_min, dg->ess[q]);
    dg->tau_max = fmax(dg->tau_max, dg->tau[q]);
  }
  return MN_OK;
}
