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

/* One item's posterior masses on the grid into w (normalised). */
static int item_posterior(const mn_csv *t, int r, const int *c, double *w, mn_error *err) {
  int rc = MN_OK;
  double nn;
  MN_TRY(mn_csv_double(t, r, c[1], &nn, err));
  MN_CHECK(nn >= 2 && nn <= 1e6 && nn == floor(nn), err, MN_EINPUT, "",
           "%s:%d: n = %g must be a count of at least 2 patients", t->name, t->lineno[r], nn);
  int n = (int)nn;
  const char *kind = t->rows[r][c[0]];
  double ll[MN_SPREAD_GRID], lmax = -INFINITY;
  if (!strcmp(kind, "sd_change")) {
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
    return MN_ERR(err, MN_EINPUT, "", "%s:%d: kind = '%s': allowed sd_change, categories", t->name,
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

int mn_spread_parse(const char *text, size_t len, const char *name, mn_spread *out, mn_error *err) {
  static const char *const cols[8] = {"kind", "n", "mean", "lo", "hi", "level", "cuts", "counts"};
  int rc = MN_OK, c[8], c_id;
  mn_csv t;
  memset(out, 0, sizeof *out);
  MN_TRY(mn_csv_parse(text, len, name, &t, err));
  MN_TRY(mn_csv_require(&t, "id", &c_id, err));
  for (int k = 0; k < 8; k++) MN_TRY(mn_csv_require(&t, cols[k], &c[k], err));
  MN_CHECK(t.nrows >= 1 && t.nrows <= MN_SPREAD_MAX_ITEMS, err, MN_EINPUT, "",
           "%s: %d items: allowed 1 to %d", t.name, t.nrows, MN_SPREAD_MAX_ITEMS);
  out->n = MN_SPREAD_GRID;
  for (int j = 0; j < MN_SPREAD_GRID; j++) out->sigma[j] = grid_sigma(j);
  for (int r = 0; r < t.nrows; r++) {
    double w[MN_SPREAD_GRID];
    MN_TRY(item_posterior(&t, r, c, w, err));
    mn_spread_item *it = &out->item[r];
    snprintf(it->id, sizeof it->id, "%s", t.rows[r][c_id]);
    grid_bands(w, MN_SPREAD_GRID, it->q);
    for (int j = 0; j < MN_SPREAD_GRID; j++) out->w[j] += w[j] / t.nrows;
  }
  out->nitems = t.nrows;
  grid_bands(out->w, MN_SPREAD_GRID, out->q);
  snprintf(out->label, sizeof out->label, "posterior from %.60s (%d items, equal mixture)", t.name,
           t.nrows);
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
