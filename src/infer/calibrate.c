/* Calibration: fit chosen parameters tagged C to the calibration targets that mnsim can
 * compute (data/target_models.csv rows of calibration targets with evaluate = model), every other
 * parameter fixed at its prior value. Misfit of one row: ((x - centre) / half-width)^2 for a
 * closed range, the relative shortfall squared for an open one; a target's misfit is the mean
 * over its rows; the total is the sum over targets. Nelder-Mead (deterministic) in coordinates
 * that map each prior range to [0, 1] (log scale where the range spans a factor of 3 or more).
 * The calibrated range of a parameter is where the total misfit, the others held at the fit,
 * stays within 1 of the optimum (one target moved from its centre to its range edge).
 * Stage: infer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/infer.h"

typedef struct fit {
  const mn_validation *v;
  const mn_param_set *prior;
  const mn_skin_atlas *atlas;
  const mn_device_catalogue *cat;
  int n, idx[MN_CALIB_MAX]; /* prior->info index of each fitted parameter */
  int rows[256], nrows;     /* calibration model rows */
  int threads, evals;
  double *x;            /* per row values of the last evaluation */
  mn_model_params *ens; /* ensemble stage: fixed draws of the other parameters */
  int nd;               /* their count; 0 = the nominal stage */
  double *ex;           /* [nrows][nd] */
} fit;

static int log_scale(const mn_param_info *p) {
  return p->min > 0 && p->max >= 3 * p->min;
}
static double to_value(const mn_param_info *p, double z) {
  z = fmin(1, fmax(0, z));
  return log_scale(p) ? p->min * exp(z * log(p->max / p->min)) : p->min + z * (p->max - p->min);
}
static double to_z(const mn_param_info *p, double v) {
  if (!(p->max > p->min)) return 0.5;
  return log_scale(p) ? log(v / p->min) / log(p->max / p->min) : (v - p->min) / (p->max - p->min);
}

/* extra weight of the distance outside a range, plus 1 per failing row: a fit that passes every
 * row beats one that sits nearer the centres but fails one */
#define HINGE 10.0

static double row_misfit(const mn_target_eval *r, double x) {
  if (!isfinite(x)) return 1e6;
  if (isfinite(r->lo) && isfinite(r->hi)) {
    double c = 0.5 * (r->lo + r->hi), h = 0.5 * (r->hi - r->lo);
    if (h <= 0) h = fmax(fabs(c) * 0.05, 1e-9);
    /* outside the range less a 20 % margin (`mnsim validate` judges the median of the posterior
     * ensemble, which also varies the fitted parameters and moves the median a little) */
    double out = fmax(0, fabs(x - c) - 0.8 * h);
    return ((x - c) * (x - c) + HINGE * out * out) / (h * h) + (out > 0 ? 1 : 0);
  }
  if (isfinite(r->lo) && x < r->lo) {
    double s = fmax(fabs(r->lo), 1e-9);
    return (4 + HINGE) * (r->lo - x) * (r->lo - x) / (s * s) + 1;
  }
  if (isfinite(r->hi) && x > r->hi) {
    double s = fmax(fabs(r->hi), 1e-9);
    return (4 + HINGE) * (x - r->hi) * (x - r->hi) / (s * s) + 1;
  }
  return 0;
}

static double misfit(fit *f, const double *z) {
  mn_model_params m = f->prior->p;
  for (int k = 0; k < f->n; k++) {
    const mn_param_info *p = &f->prior->info[f->idx[k]];
    *mn_model_param_ref(&m, p->name) = to_value(p, z[k]);
  }
  f->evals++;
  if (!(mn_model_loop_gain(&m) < 1)) return 1e9;
  int nt = f->threads;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#endif
  (void)nt;
  if (f->nd == 0) {
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt)
#endif
    for (int i = 0; i < f->nrows; i++)
      f->x[i] = mn_target_eval_model(&f->v->rows[f->rows[i]], &m, f->atlas, f->cat);
  } else { /* the median over the draws, the fitted parameters at their trial values */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt)
#endif
    for (int q = 0; q < f->nrows * f->nd; q++) {
      int i = q / f->nd, d = q % f->nd;
      mn_model_params md = f->ens[d];
      for (int k = 0; k < f->n; k++) {
        const char *name = f->prior->info[f->idx[k]].name;
        *mn_model_param_ref(&md, name) = *mn_model_param_ref(&m, name);
      }
      f->ex[q] = mn_target_eval_model(&f->v->rows[f->rows[i]], &md, f->atlas, f->cat);
    }
    for (int i = 0; i < f->nrows; i++) {
      double q3[3];
      mn_quantiles(f->ex + (size_t)i * f->nd, f->nd, q3);
      f->x[i] = q3[1];
    }
  }
  double total = 0;
  for (int t = 0; t < f->v->ntargets; t++) {
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < f->nrows; i++) {
      const mn_target_eval *r = &f->v->rows[f->rows[i]];
      if (r->target != t) continue;
      sum += row_misfit(r, f->x[i]);
      cnt++;
    }
    if (cnt) total += sum / cnt;
  }
  return total;
}

/* Nelder-Mead on [0, 1]^n (points clamped), standard coefficients. */
static double nelder_mead(fit *f, double *z, int max_evals, double step) {
  enum { M = MN_CALIB_MAX + 1 };
  int n = f->n;
  double s[M][MN_CALIB_MAX], fs[M], c[MN_CALIB_MAX], xr[MN_CALIB_MAX], xe[MN_CALIB_MAX];
  for (int i = 0; i <= n; i++) {
    memcpy(s[i], z, sizeof(double) * (size_t)n);
    if (i) s[i][i - 1] += s[i][i - 1] > 1 - step - 0.05 ? -step : step;
    fs[i] = misfit(f, s[i]);
  }
  int start = f->evals;
  while (f->evals - start < max_evals) {
    for (int i = 1; i <= n; i++) /* sort by misfit (insertion) */
      for (int j = i; j > 0 && fs[j] < fs[j - 1]; j--) {
        double t = fs[j];
        fs[j] = fs[j - 1], fs[j - 1] = t;
        for (int k = 0; k < n; k++) t = s[j][k], s[j][k] = s[j - 1][k], s[j - 1][k] = t;
      }
    double spread = 0;
    for (int i = 1; i <= n; i++)
      for (int k = 0; k < n; k++) spread = fmax(spread, fabs(s[i][k] - s[0][k]));
    if (spread < 1e-4 || fs[n] - fs[0] < 1e-7) break;
    for (int k = 0; k < n; k++) {
      c[k] = 0;
      for (int i = 0; i < n; i++) c[k] += s[i][k] / n;
    }
    for (int k = 0; k < n; k++) xr[k] = fmin(1, fmax(0, c[k] + (c[k] - s[n][k])));
    double fr = misfit(f, xr);
    if (fr < fs[0]) {
      for (int k = 0; k < n; k++) xe[k] = fmin(1, fmax(0, c[k] + 2 * (c[k] - s[n][k])));
      double fe = misfit(f, xe);
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
      double fc = misfit(f, xe);
      if (fc < (outside ? fr : fs[n])) {
        memcpy(s[n], xe, sizeof(double) * (size_t)n), fs[n] = fc;
      } else { /* shrink towards the best */
        for (int i = 1; i <= n; i++) {
          for (int k = 0; k < n; k++) s[i][k] = s[0][k] + 0.5 * (s[i][k] - s[0][k]);
          fs[i] = misfit(f, s[i]);
        }
      }
    }
  }
  int best = 0;
  for (int i = 1; i <= n; i++)
    if (fs[i] < fs[best]) best = i;
  memcpy(z, s[best], sizeof(double) * (size_t)n);
  return fs[best];
}

/* the end of parameter k's range on side dir (-1, +1): misfit within 1 of the optimum */
static double range_end(fit *f, const double *z, int k, double best, int dir) {
  double zz[MN_CALIB_MAX], in = z[k], out = dir < 0 ? 0 : 1;
  memcpy(zz, z, sizeof(double) * (size_t)f->n);
  zz[k] = out;
  if (misfit(f, zz) <= best + 1) return out;
  for (int it = 0; it < 8; it++) { /* 1/256 of the prior range */
    zz[k] = 0.5 * (in + out);
    if (misfit(f, zz) <= best + 1)
      in = zz[k];
    else
      out = zz[k];
  }
  return in;
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

/* The model rows of the calibration targets (at most 256, in file order): their count. */
static int calibration_rows(const mn_validation *v, int rows[256]) {
  int nrows = 0;
  for (int i = 0; i < v->nrows && nrows < 256; i++)
    if (v->rows[i].kind == MN_EVAL_MODEL &&
        v->targets[v->rows[i].target].role == MN_TARGET_CALIBRATION)
      rows[nrows++] = i;
  return nrows;
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

/* Stage 2: refit z to the median over ens_draws draws of the other parameters (f->ens and
 * f->ex are released by the caller). */
static int fit_ensemble(fit *f, double *z, int ens_draws, uint64_t ens_seed, int ens_evals,
                        double nominal_fit, mn_calibration *out, mn_error *err) {
  f->ens = mn_malloc_array((size_t)ens_draws, sizeof *f->ens);
  f->ex = mn_malloc_array((size_t)ens_draws * (size_t)f->nrows, sizeof *f->ex);
  if (!(f->ens && f->ex)) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the ensemble");
  int dropped;
  int rc = mn_uq_sample(f->prior, ens_draws, ens_seed, f->ens, &f->nd, &dropped, err);
  if (rc != MN_OK) return rc;
  out->ens_draws = f->nd;
  out->misfit_nominal = nominal_fit;
  out->misfit = nelder_mead(f, z, ens_evals, 0.05);
  return MN_OK;
}

/* The fitted values and their calibrated ranges (misfit within 1 of the fit's), the evaluation
 * count and the ids of the targets used, in file order. */
static void fit_report(fit *f, const double *z, mn_calibration *out) {
  double best = misfit(f, z);
  out->n = f->n;
  for (int k = 0; k < f->n; k++) {
    const mn_param_info *p = &f->prior->info[f->idx[k]];
    snprintf(out->name[k], sizeof out->name[k], "%s", p->name);
    out->prior[k] = p->value, out->prior_min[k] = p->min, out->prior_max[k] = p->max;
    out->value[k] = to_value(p, z[k]);
    out->lo[k] = to_value(p, range_end(f, z, k, best, -1));
    out->hi[k] = to_value(p, range_end(f, z, k, best, +1));
  }
  out->evals = f->evals;
  const mn_validation *v = f->v;
  for (int t = 0; t < v->ntargets; t++)
    for (int i = 0; i < f->nrows; i++)
      if (v->rows[f->rows[i]].target == t) {
        size_t len = strlen(out->targets);
        snprintf(out->targets + len, sizeof out->targets - len, "%s%s", len ? " " : "",
                 v->targets[t].id);
        break;
      }
}

int mn_calibrate(const mn_param_set *prior, const char *const *names, int n, int max_evals,
                 int ens_draws, uint64_t ens_seed, int ens_evals, int threads, mn_calibration *out,
                 mn_error *err) {
  int rc = MN_OK;
  fit f;
  mn_validation v;
  mn_skin_atlas *atlas = NULL;
  mn_device_catalogue *cat = NULL;
  memset(&f, 0, sizeof f);
  memset(&v, 0, sizeof v);
  memset(out, 0, sizeof *out);
  if (n < 1 || n > MN_CALIB_MAX)
    return MN_ERR(err, MN_EINPUT, "", "calibrate: 1 to %d parameters, not %d", MN_CALIB_MAX, n);
  MN_TRY(load_inputs(&v, &atlas, &cat, err));
  f.v = &v, f.prior = prior, f.atlas = atlas, f.cat = cat, f.n = n, f.threads = threads;
  MN_TRY(fit_select(&f, names, err));
  f.nrows = calibration_rows(&v, f.rows);
  MN_CHECK(f.nrows > 0, err, MN_EINPUT, "", "calibrate: no calibration target can be computed");
  f.x = mn_malloc_array((size_t)f.nrows, sizeof *f.x);
  MN_CHECK(f.x, err, MN_ENOMEM, "", "out of memory");
  double z[MN_CALIB_MAX];
  for (int k = 0; k < n; k++) {
    const mn_param_info *p = &prior->info[f.idx[k]];
    z[k] = to_z(p, p->value);
  }
  /* stage 1: the nominal model; stage 2: the median over the draws of the other parameters,
   * as `mnsim validate` judges it (dropping draws with G >= 1 shifts the median away from the
   * nominal run) */
  out->misfit0 = misfit(&f, z);
  double nominal_fit = nelder_mead(&f, z, max_evals, 0.2);
  if (ens_draws > 0)
    MN_TRY(fit_ensemble(&f, z, ens_draws, ens_seed, ens_evals, nominal_fit, out, err));
  else
    out->misfit = nominal_fit;
  fit_report(&f, z, out);
cleanup:
  mn_free(f.x);
  mn_free(f.ens);
  mn_free(f.ex);
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  mn_validation_fini(&v);
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
  int n = snprintf(buf, CAP,
                   "# Calibrated parameters: written by `mnsim calibrate -o data/calibration.csv` "
                   "(do not edit).\n# misfit %.4g at the prior, %.4g nominal fit, %.4g median over "
                   "%d draws; %d evaluations; docs/calibration.md\n"
                   "name,value,min,max,prior_value,prior_min,prior_max,targets\n",
                   c->misfit0, c->misfit_nominal, c->misfit, c->ens_draws, c->evals);
  for (int k = 0; k < c->n && n < CAP; k++) {
    char b0[32], b1[32], b2[32];
    n += snprintf(buf + n, (size_t)(CAP - n), "%s,%.4g,%.4g,%.4g,%s,%s,%s,%s\n", c->name[k],
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

/* The posterior's workspace: the calibration rows, the Latin-hypercube draws and their values. */
typedef struct posterior {
  mn_validation v;
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  int rows[256], nrows; /* calibration model rows */
  mn_model_params *d;   /* [n_try] draws, the first kept with G < 1 */
  int kept;
  double *lw; /* [n_try] log-weight, then weight of each kept draw */
  double *x;  /* [kept][nrows] each draw's value of each row */
  int *pick;  /* [n_out] the resampled draws */
} posterior;

static void posterior_fini(posterior *p) {
  mn_free(p->d);
  mn_free(p->lw);
  mn_free(p->x);
  mn_free(p->pick);
  mn_validation_fini(&p->v);
  mn_skin_atlas_destroy(p->atlas);
  mn_device_catalogue_destroy(p->cat);
}

/* Every kept draw's value of every calibration row (parallel over both). */
static void posterior_eval(posterior *p, int threads) {
  int nt = threads, nrows = p->nrows, kept = p->kept;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(nt) collapse(2)
#endif
  for (int k = 0; k < kept; k++)
    for (int i = 0; i < nrows; i++)
      p->x[(size_t)k * (size_t)nrows + (size_t)i] =
          mn_target_eval_model(&p->v.rows[p->rows[i]], &p->d[k], p->atlas, p->cat);
  (void)nt;
}

/* Draw k's misfit: the sum over targets of the mean over its rows of z^2, z the distance from
 * the published range's centre in half-ranges (the range read as +-1 SD; open ranges: the
 * shortfall in half the bound). */
static double draw_misfit(const posterior *p, int k) {
  const mn_validation *v = &p->v;
  int nrows = p->nrows;
  double total = 0;
  for (int t = 0; t < v->ntargets; t++) {
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < nrows; i++) {
      const mn_target_eval *r = &v->rows[p->rows[i]];
      if (r->target != t) continue;
      double xv = p->x[(size_t)k * (size_t)nrows + (size_t)i], z = 0;
      if (!isfinite(xv))
        z = 1e3;
      else if (isfinite(r->lo) && isfinite(r->hi))
        z = (xv - 0.5 * (r->lo + r->hi)) / fmax(0.5 * (r->hi - r->lo), 1e-9);
      else if (isfinite(r->lo) && xv < r->lo)
        z = (r->lo - xv) / fmax(0.5 * fabs(r->lo), 1e-9);
      else if (isfinite(r->hi) && xv > r->hi)
        z = (xv - r->hi) / fmax(0.5 * fabs(r->hi), 1e-9);
      sum += z * z;
      cnt++;
    }
    if (cnt) total += sum / cnt;
  }
  return total;
}

/* The weights exp(-misfit / 2), scaled by the largest, into p->lw; their sum s1 and the sum of
 * their squares s2. A flat kernel inside the range was tried: its weights barely separate the
 * draws (effective sample size 594 of 2325) and the medians of CT14 and SEED2 left their ranges
 * (docs/calibration.md). */
static void posterior_weigh(posterior *p, double *s1, double *s2) {
  double mx = -INFINITY;
  for (int k = 0; k < p->kept; k++) {
    p->lw[k] = -0.5 * draw_misfit(p, k);
    if (p->lw[k] > mx) mx = p->lw[k];
  }
  double a = 0, b = 0;
  for (int k = 0; k < p->kept; k++) {
    p->lw[k] = exp(p->lw[k] - mx); /* now the weight */
    a += p->lw[k], b += p->lw[k] * p->lw[k];
  }
  *s1 = a, *s2 = b;
}

/* Systematic resampling of the kept draws to n_out (p->pick): the number of distinct draws. */
static int posterior_resample(posterior *p, double s1, uint64_t seed, int n_out) {
  mn_rng rng;
  mn_rng_init(&rng, seed, 0x706f7374ULL); /* "post" */
  double u = mn_rng_uniform(&rng) / n_out, acc = 0;
  for (int k = 0, j = 0; k < p->kept && j < n_out; k++) {
    acc += p->lw[k] / s1;
    while (j < n_out && u + (double)j / n_out < acc) p->pick[j++] = k;
    if (k == p->kept - 1)
      while (j < n_out) p->pick[j++] = k; /* rounding at the end */
  }
  int distinct = 0;
  for (int j = 0; j < n_out; j++) distinct += j == 0 || p->pick[j] != p->pick[j - 1];
  return distinct;
}

/* One line of the table: the resampled draw d's value of each parameter that varies (all
 * names when d is NULL: the header). */
static size_t table_line(const mn_param_set *cal, const mn_model_params *d, char *buf, size_t cap) {
  size_t n = 0;
  int first = 1;
  for (int i = 0; i < cal->n; i++)
    if (cal->info[i].max > cal->info[i].min) {
      if (!d) {
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", first ? "" : ",", cal->info[i].name);
      } else {
        const double *val = mn_model_param_ref((mn_model_params *)d, cal->info[i].name);
        n += (size_t)snprintf(buf + n, cap - n, "%s%.6g", first ? "" : ",", val ? *val : 0);
      }
      first = 0;
    }
  n += (size_t)snprintf(buf + n, cap - n, "\n");
  return n;
}

/* The table (data/posterior.csv): the comment header, the names of the parameters that vary,
 * one line per resampled draw. *text is owned by the caller. */
static int posterior_table(const posterior *p, const mn_param_set *cal, int n_try, uint64_t seed,
                           int n_out, const char *fingerprint, const mn_posterior_stats *st,
                           char **text, size_t *len, mn_error *err) {
  size_t cap = (size_t)(n_out + 8) * (size_t)cal->n * 16 + 4096;
  char *buf = mn_malloc(cap);
  if (!buf) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  size_t n = (size_t)snprintf(
      buf, cap,
      "# Posterior ensemble: written by `mnsim calibrate` (do not edit); docs/calibration.md.\n"
      "# %d Latin-hypercube draws of the calibrated ranges (seed %llu), %d with G < 1, weighted "
      "by\n"
      "# their agreement with the calibration targets and resampled to %d (%d distinct).\n"
      "# fingerprint %s tried %d kept %d ess %.1f\n",
      n_try, (unsigned long long)seed, p->kept, n_out, st->distinct, fingerprint, n_try, p->kept,
      st->ess);
  n += table_line(cal, NULL, buf + n, cap - n);
  for (int j = 0; j < n_out && n < cap; j++)
    n += table_line(cal, &p->d[p->pick[j]], buf + n, cap - n);
  if (n >= cap) {
    mn_free(buf);
    return MN_ERR(err, MN_EINTERNAL, "", "posterior table too long");
  }
  *text = buf, *len = n;
  return MN_OK;
}

int mn_posterior_build(const mn_param_set *cal, int n_try, uint64_t seed, int n_out, int threads,
                       const char *fingerprint, mn_posterior_stats *st, char **text, size_t *len,
                       mn_error *err) {
  int rc = MN_OK, dropped = 0;
  posterior p;
  memset(&p, 0, sizeof p);
  memset(st, 0, sizeof *st);
  *text = NULL, *len = 0;
  MN_CHECK(n_try >= 1 && n_out >= 1, err, MN_ERANGE, "", "posterior: draws must be positive");
  MN_TRY(load_inputs(&p.v, &p.atlas, &p.cat, err));
  p.nrows = calibration_rows(&p.v, p.rows);
  p.d = mn_malloc_array((size_t)n_try, sizeof *p.d);
  p.lw = mn_malloc_array((size_t)n_try, sizeof *p.lw);
  p.x = mn_malloc_array((size_t)n_try * (size_t)(p.nrows > 0 ? p.nrows : 1), sizeof *p.x);
  MN_CHECK(p.d && p.lw && p.x, err, MN_ENOMEM, "", "out of memory for %d draws", n_try);
  MN_TRY(mn_uq_sample(cal, n_try, seed, p.d, &p.kept, &dropped, err));
  MN_CHECK(p.kept > 0, err, MN_ENUMERIC, "", "posterior: every draw has loop gain G >= 1");
  posterior_eval(&p, threads);
  double s1, s2;
  posterior_weigh(&p, &s1, &s2);
  st->tried = n_try, st->kept = p.kept, st->ess = s1 * s1 / s2;
  p.pick = mn_malloc_array((size_t)n_out, sizeof *p.pick);
  MN_CHECK(p.pick, err, MN_ENOMEM, "", "out of memory");
  st->distinct = posterior_resample(&p, s1, seed, n_out);
  MN_TRY(posterior_table(&p, cal, n_try, seed, n_out, fingerprint, st, text, len, err));
cleanup:
  posterior_fini(&p);
  return rc;
}
