/* The spread of the treatment response between patients (docs/calibration.md "Between
 * patients"; the research and the derivations: docs/design/between-patient.md). Patient i's
 * response is the population mean's times b_i ~ LogNormal(-sigma_b^2 / 2, sigma_b): E[b] = 1, so
 * the calibrated parameters keep predicting the population mean and their posterior stays valid,
 * and the response's coefficient of variation is sqrt(exp(sigma_b^2) - 1) whatever they are. Each
 * published spread therefore informs sigma_b alone, through a 1-D grid posterior (flat prior on
 * (0, MN_SPREAD_SIGMA_MAX]); the items' posteriors are mixed with equal weights, because the items
 * disagree beyond their sampling error (wrinkles against scars) and which one speaks for a given
 * patient is itself uncertain. Stage: infer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/infer.h"

extern const char mn__data_between_patient_csv[];
extern const size_t mn__data_between_patient_csv_len;

/* the grid of the study's mean improvement (a fraction), integrated out of a categories item
 * with a flat prior on (0, 1] */
#define MU_GRID 400

static double grid_sigma(int j) {
  return MN_SPREAD_SIGMA_MAX * (j + 1) / MN_SPREAD_GRID;
}

/* Log likelihood of an SD of a change, s from n patients around the mean change m, for sigma:
 * (n - 1) s^2 / V ~ chi^2(n - 1), V = m^2 (exp(sigma^2) - 1) (rater noise fixed at 0, which
 * gives every part of the spread to the patients: the cautious side for a planner). */
static double loglik_sd(double s, double m, int n, double sigma) {
  double V = m * m * expm1(sigma * sigma);
  if (!(V > 0)) return -INFINITY;
  double k = n - 1;
  return -0.5 * k * log(V) - 0.5 * k * s * s / V;
}

/* Log likelihood of responder counts between cut points for sigma: each patient improves by
 * mu b, so P(mu b < c) = Phi((ln(c / mu) + sigma^2 / 2) / sigma); mu integrated out on its grid
 * (flat on (0, 1]). */
static double loglik_categories(const double *cut, int ncut, const int *count, double sigma) {
  double acc = 0, lmax = -INFINITY, l[MU_GRID];
  for (int u = 0; u < MU_GRID; u++) {
    double mu = (u + 0.5) / MU_GRID, below = 0, ll = 0;
    for (int k = 0; k <= ncut; k++) {
      double F = k < ncut ? mn_normal_cdf((log(cut[k] / mu) + 0.5 * sigma * sigma) / sigma) : 1;
      double pk = F - below;
      below = F;
      if (count[k] > 0) ll += count[k] * (pk > 0 ? log(pk) : -INFINITY);
    }
    l[u] = ll;
    if (ll > lmax) lmax = ll;
  }
  if (!isfinite(lmax)) return -INFINITY;
  for (int u = 0; u < MU_GRID; u++) acc += exp(l[u] - lmax);
  return lmax + log(acc / MU_GRID);
}

/* Quantile @p u of a grid distribution (masses w at sigma_j): linear between grid points. */
static double grid_quantile(const double *w, int n, double u) {
  double cum = 0;
  for (int j = 0; j < n; j++) {
    double next = cum + w[j];
    if (next >= u && w[j] > 0) {
      double f = (u - cum) / w[j], lo = j > 0 ? grid_sigma(j - 1) : 0;
      return lo + f * (grid_sigma(j) - lo);
    }
    cum = next;
  }
  return grid_sigma(n - 1);
}

static void grid_bands(const double *w, int n, double q[3]) {
  static const double u[3] = {0.05, 0.5, 0.95};
  for (int k = 0; k < 3; k++) q[k] = grid_quantile(w, n, u[k]);
}

/* Parse '|'-separated numbers of field @p f (row @p r, column @p col) into v[0..max). */
static int list_of(const mn_csv *t, int r, int col, double *v, int max, int *n, mn_error *err) {
  const char *s = t->rows[r][col];
  *n = 0;
  while (*s) {
    char *end;
    double x = strtod(s, &end);
    if (end == s || !isfinite(x) || (*end && *end != '|') || *n >= max)
      return MN_ERR(err, MN_EINPUT, "",
                    "%s:%d: column %s = '%s': up to %d numbers separated by '|'", t->name,
                    t->lineno[r], t->header[col], t->rows[r][col], max);
    v[(*n)++] = x;
    s = *end ? end + 1 : end;
  }
  return MN_OK;
}

/* A mean|SD pair of field (row @p r, column @p col): a positive mean and a non-negative SD. */
static int mean_sd_of(const mn_csv *t, int r, int col, double *mean, double *sd, mn_error *err) {
  double v[2];
  int n, rc = list_of(t, r, col, v, 2, &n, err);
  if (rc) return rc;
  if (n != 2 || !(v[0] > 0) || !(v[1] >= 0))
    return MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: column %s = '%s': the score's mean|SD, a positive mean and an SD >= 0",
                  t->name, t->lineno[r], t->header[col], t->rows[r][col]);
  *mean = v[0], *sd = v[1];
  return MN_OK;
}

/* The improvement f = 1 - after / before of a before_after item, f independent of the
 * baseline: E[after] = E[before] (1 - E f), E[after^2] = E[before^2] E[(1 - f)^2]; its mean @p m
 * and SD @p s. */
static int before_after(const mn_csv *t, int r, const int *c, double *m, double *s, mn_error *err) {
  double mb, sb, ma, sa;
  int rc = mean_sd_of(t, r, c[8], &mb, &sb, err);
  if (!rc) rc = mean_sd_of(t, r, c[9], &ma, &sa, err);
  if (rc) return rc;
  double keep = ma / mb, second = (ma * ma + sa * sa) / (mb * mb + sb * sb);
  double var = second - keep * keep;
  if (!(keep < 1) || !(var > 0))
    return MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: before %s and after %s imply no improvement with a spread (mean "
                  "improvement %.3g, variance %.3g): the score must fall and its SD allow it",
                  t->name, t->lineno[r], t->rows[r][c[8]], t->rows[r][c[9]], 1 - keep, var);
  *m = 1 - keep, *s = sqrt(var);
  return MN_OK;
}

/* One item's posterior masses on the grid into w (normalised); for an item of an SD (sd_change,
 * before_after) its SD @p sd_out around the mean @p mean_out (NaN for categories). */
static int item_posterior(const mn_csv *t, int r, const int *c, double *w, double *mean_out,
                          double *sd_out, mn_error *err) {
  int rc = MN_OK;
  double nn;
  MN_TRY(mn_csv_double(t, r, c[1], &nn, err));
  MN_CHECK(nn >= 2 && nn <= 1e6 && nn == floor(nn), err, MN_EINPUT, "",
           "%s:%d: n = %g must be a count of at least 2 patients", t->name, t->lineno[r], nn);
  int n = (int)nn;
  const char *kind = t->rows[r][c[0]];
  double ll[MN_SPREAD_GRID], lmax = -INFINITY;
  *mean_out = *sd_out = NAN;
  if (!strcmp(kind, "before_after")) {
    double m = NAN, sd = NAN;
    MN_CHECK(n >= 4, err, MN_EINPUT, "", "%s:%d: before_after needs n >= 4", t->name, t->lineno[r]);
    MN_TRY(before_after(t, r, c, &m, &sd, err));
    *mean_out = m, *sd_out = sd;
    for (int j = 0; j < MN_SPREAD_GRID; j++) ll[j] = loglik_sd(sd, m, n, grid_sigma(j));
  } else if (!strcmp(kind, "sd_change")) {
    double m, lo, hi, level;
    MN_TRY(mn_csv_double(t, r, c[2], &m, err));
    MN_TRY(mn_csv_double(t, r, c[3], &lo, err));
    MN_TRY(mn_csv_double(t, r, c[4], &hi, err));
    MN_TRY(mn_csv_double(t, r, c[5], &level, err));
    MN_CHECK(m != 0 && lo < m && m < hi && level > 0.5 && level < 1 && n >= 4, err, MN_EINPUT, "",
             "%s:%d: sd_change needs a mean change inside its interval (lo < mean < hi), a level "
             "in (0.5, 1) and n >= 4",
             t->name, t->lineno[r]);
    /* the SD of the change from the interval's half width and the t quantile */
    double s = 0.5 * (hi - lo) * sqrt(n) / mn_student_t_quantile(0.5 + 0.5 * level, n - 1);
    *mean_out = fabs(m), *sd_out = s;
    for (int j = 0; j < MN_SPREAD_GRID; j++) ll[j] = loglik_sd(s, fabs(m), n, grid_sigma(j));
  } else if (!strcmp(kind, "categories")) {
    double cut[8], cnt[9];
    int ncut, ncnt, count[9], total = 0;
    MN_TRY(list_of(t, r, c[6], cut, 8, &ncut, err));
    MN_TRY(list_of(t, r, c[7], cnt, 9, &ncnt, err));
    MN_CHECK(ncut >= 1 && ncnt == ncut + 1, err, MN_EINPUT, "",
             "%s:%d: categories need one count more than cut points (%d cut points, %d counts)",
             t->name, t->lineno[r], ncut, ncnt);
    for (int k = 0; k < ncut; k++)
      MN_CHECK(cut[k] > 0 && (k == 0 || cut[k] > cut[k - 1]), err, MN_EINPUT, "",
               "%s:%d: cut points must be increasing fractions above 0", t->name, t->lineno[r]);
    for (int k = 0; k < ncnt; k++) {
      MN_CHECK(cnt[k] >= 0 && cnt[k] == floor(cnt[k]) && cnt[k] <= nn, err, MN_EINPUT, "",
               "%s:%d: counts must be whole numbers of patients", t->name, t->lineno[r]);
      count[k] = (int)cnt[k];
      total += count[k];
    }
    MN_CHECK(total == n, err, MN_EINPUT, "", "%s:%d: the counts add up to %d, not n = %d", t->name,
             t->lineno[r], total, n);
    for (int j = 0; j < MN_SPREAD_GRID; j++)
      ll[j] = loglik_categories(cut, ncut, count, grid_sigma(j));
  } else {
    return MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: kind = '%s': allowed sd_change, categories, before_after", t->name,
                  t->lineno[r], kind);
  }
  for (int j = 0; j < MN_SPREAD_GRID; j++)
    if (ll[j] > lmax) lmax = ll[j];
  MN_CHECK(isfinite(lmax), err, MN_EINPUT, "", "%s:%d: no sigma_b in (0, %g] explains these data",
           t->name, t->lineno[r], MN_SPREAD_SIGMA_MAX);
  double sum = 0;
  for (int j = 0; j < MN_SPREAD_GRID; j++) sum += w[j] = exp(ll[j] - lmax);
  for (int j = 0; j < MN_SPREAD_GRID; j++) w[j] /= sum;
cleanup:
  return rc;
}

/* Check validation item @p k (its SD sd around mean m over n patients) against the posterior
 * masses @p w: the posterior predictive P(replicate SD < observed), the chi-square law of
 * loglik_sd integrated over sigma_b. */
static void check_item(mn_spread_check *k, const double *w) {
  double p = 0, x = (k->n - 1) * k->sd * k->sd;
  for (int j = 0; j < MN_SPREAD_GRID; j++) {
    if (!(w[j] > 0)) continue;
    double V = k->mean * k->mean * expm1(grid_sigma(j) * grid_sigma(j));
    p += w[j] * mn_gamma_p(0.5 * (k->n - 1), 0.5 * x / V);
  }
  k->p = p;
  k->pass = p >= 0.05 && p <= 0.95;
}

int mn_spread_parse(const char *text, size_t len, const char *name, mn_spread *out, mn_error *err) {
  static const char *const cols[10] = {"kind",  "n",    "mean",   "lo",     "hi",
                                       "level", "cuts", "counts", "before", "after"};
  int rc = MN_OK, c[10], c_id, c_role, c_src, nfit = 0;
  mn_csv t;
  memset(out, 0, sizeof *out);
  MN_TRY(mn_csv_parse(text, len, name, &t, err));
  MN_TRY(mn_csv_require(&t, "id", &c_id, err));
  MN_TRY(mn_csv_require(&t, "role", &c_role, err));
  MN_TRY(mn_csv_require(&t, "source", &c_src, err));
  for (int k = 0; k < 10; k++) MN_TRY(mn_csv_require(&t, cols[k], &c[k], err));
  MN_CHECK(t.nrows >= 1 && t.nrows <= MN_SPREAD_MAX_ITEMS, err, MN_EINPUT, "",
           "%s: %d items: allowed 1 to %d", t.name, t.nrows, MN_SPREAD_MAX_ITEMS);
  for (int r = 0; r < t.nrows; r++) {
    const char *role = t.rows[r][c_role];
    MN_CHECK(!strcmp(role, "fit") || !strcmp(role, "validation"), err, MN_EINPUT, "",
             "%s:%d: role = '%s': allowed fit, validation", t.name, t.lineno[r], role);
    nfit += !strcmp(role, "fit");
  }
  MN_CHECK(nfit >= 1, err, MN_EINPUT, "", "%s: no item with role fit: sigma_b needs one", t.name);
  out->n = MN_SPREAD_GRID;
  for (int j = 0; j < MN_SPREAD_GRID; j++) out->sigma[j] = grid_sigma(j);
  for (int r = 0; r < t.nrows; r++) {
    double w[MN_SPREAD_GRID], m = NAN, sd = NAN;
    MN_TRY(item_posterior(&t, r, c, w, &m, &sd, err));
    if (!strcmp(t.rows[r][c_role], "fit")) {
      mn_spread_item *it = &out->item[out->nitems++];
      snprintf(it->id, sizeof it->id, "%s", t.rows[r][c_id]);
      grid_bands(w, MN_SPREAD_GRID, it->q);
      for (int j = 0; j < MN_SPREAD_GRID; j++) out->w[j] += w[j] / nfit;
      continue;
    }
    MN_CHECK(isfinite(sd), err, MN_EINPUT, "",
             "%s:%d: a validation item needs kind sd_change or before_after (an SD of the "
             "improvement to predict), not %s",
             t.name, t.lineno[r], t.rows[r][c[0]]);
    mn_spread_check *k = &out->check[out->nchecks++];
    snprintf(k->id, sizeof k->id, "%s", t.rows[r][c_id]);
    snprintf(k->source, sizeof k->source, "%s", t.rows[r][c_src]);
    double nn;
    MN_TRY(mn_csv_double(&t, r, c[1], &nn, err));
    k->n = (int)nn, k->mean = m, k->sd = sd, k->cv = sd / m;
    k->sigma = sqrt(log1p(k->cv * k->cv));
    grid_bands(w, MN_SPREAD_GRID, k->q);
  }
  for (int i = 0; i < out->nchecks; i++) check_item(&out->check[i], out->w);
  grid_bands(out->w, MN_SPREAD_GRID, out->q);
  snprintf(out->label, sizeof out->label, "posterior from %.60s (%d items, equal mixture)", t.name,
           nfit);
cleanup:
  mn_csv_fini(&t);
  if (rc) memset(out, 0, sizeof *out);
  return rc;
}

int mn_spread_load_shipped(mn_spread *out, mn_error *err) {
  return mn_spread_parse(mn__data_between_patient_csv, mn__data_between_patient_csv_len,
                         "data/between_patient.csv", out, err);
}

void mn_spread_fixed(mn_spread *out, double sigma) {
  memset(out, 0, sizeof *out);
  out->n = 1;
  out->sigma[0] = sigma > 0 ? sigma : 0;
  out->w[0] = 1;
  out->q[0] = out->q[1] = out->q[2] = out->sigma[0];
  snprintf(out->label, sizeof out->label, "%s",
           sigma > 0 ? "fixed by the request's patient_spread" : "none: patient_spread -1");
}

double mn_spread_survival(const mn_spread *s, double b) {
  if (!(b > 0)) return 1;
  double p = 0, lb = log(b);
  for (int j = 0; j < s->n; j++) {
    if (!(s->w[j] > 0)) continue;
    double sg = s->sigma[j];
    p += s->w[j] * (sg > 0 ? mn_normal_cdf((-lb - 0.5 * sg * sg) / sg) : b <= 1);
  }
  return p;
}
