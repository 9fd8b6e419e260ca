/* Global sensitivity: Sobol first-order and total indices by Saltelli sampling (Saltelli et al.
 * 2010, Comput Phys Commun 181:259, "Variance based sensitivity analysis of model output": the
 * radial scheme A, B and A_B^(i), the first-order estimator of their Table 2 (b), and Jansen's
 * total-effect estimator (f), with the mean and variance of the pooled f(A) and f(B); f(B) is
 * centred in the first-order sum, which keeps its expectation and cuts its variance), and
 * percentile bootstrap intervals over the N base rows (Archer et al. 1997). Parameters are drawn as
 * the uncertainty bands draw them (mn_uq_value: split uniform or log-uniform around the table's
 * value). A run that fails (NaN, for instance loop gain G >= 1) removes its base row from the
 * estimators of that parameter and output. Stage: infer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/infer.h"

void mn_sobol_fini(mn_sobol *s) {
  if (!s) return;
  mn_free(s->names);
  mn_free(s->S1);
  mn_free(s->ST);
  mn_free(s->S1_ci);
  mn_free(s->ST_ci);
  mn_free(s->var);
  mn_free(s->used);
  memset(s, 0, sizeof *s);
}

/* The estimators of parameter i, output o over the rows rows[0..n): first order and total. */
static void estimate(const double *ya, const double *yb, const double *yab, int nout, int o,
                     const int *rows, int n, const double mv[2], double *s1, double *st) {
  double var = mv[1];
  double a = 0, b = 0;
  int m = 0;
  for (int q = 0; q < n; q++) {
    int j = rows[q];
    double fa = ya[(size_t)j * nout + o], fb = yb[(size_t)j * nout + o];
    double fab = yab[(size_t)j * nout + o];
    if (!(isfinite(fa) && isfinite(fb) && isfinite(fab))) continue;
    a += (fb - mv[0]) * (fab - fa); /* centred: the same expectation, a smaller variance */
    b += (fa - fab) * (fa - fab);
    m++;
  }
  *s1 = m && var > 0 ? a / m / var : NAN;
  *st = m && var > 0 ? 0.5 * b / m / var : NAN;
}

/* The mean and variance of the pooled finite f(A) and f(B) of output o over rows[0..n) into mv. */
static void pooled(const double *ya, const double *yb, int nout, int o, const int *rows, int n,
                   double mv[2]) {
  double s = 0, ss = 0;
  int m = 0;
  for (int q = 0; q < n; q++)
    for (int h = 0; h < 2; h++) {
      double y = (h ? yb : ya)[(size_t)rows[q] * nout + o];
      if (!isfinite(y)) continue;
      s += y, ss += y * y, m++;
    }
  mv[0] = m ? s / m : NAN;
  mv[1] = m >= 2 ? (ss - m * mv[0] * mv[0]) / (m - 1) : NAN;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* 2.5 % and 97.5 % of the finite values of v[0..n) (sorted in place) into ci. */
static void percentile95(double *v, int n, double ci[2]) {
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) v[m++] = v[i];
  if (!m) {
    ci[0] = ci[1] = NAN;
    return;
  }
  qsort(v, (size_t)m, sizeof *v, cmp_double);
  ci[0] = v[(int)floor(0.025 * (m - 1))];
  ci[1] = v[(int)ceil(0.975 * (m - 1))];
}

/* The parameter sets of the design: A (N), B (N), then A_B^(i) for each varied parameter. */
static int design(const mn_param_set *ps, const int *vary, int k, int N, uint64_t seed,
                  mn_model_params *sets, mn_error *err) {
  double *ua = mn_malloc_array((size_t)N * (size_t)k, sizeof *ua);
  double *ub = mn_malloc_array((size_t)N * (size_t)k, sizeof *ub);
  if (!ua || !ub) {
    mn_free(ua);
    mn_free(ub);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the Sobol design");
  }
  mn_rng r;
  mn_rng_init(&r, seed, 0x736f626fULL); /* "sobo" */
  for (size_t i = 0; i < (size_t)N * (size_t)k; i++) ua[i] = mn_rng_uniform(&r);
  for (size_t i = 0; i < (size_t)N * (size_t)k; i++) ub[i] = mn_rng_uniform(&r);
  for (int blk = 0; blk < k + 2; blk++)
    for (int j = 0; j < N; j++) {
      mn_model_params p = ps->p;
      for (int q = 0; q < k; q++) {
        /* block 0: A; block 1: B; block 2 + i: A with column i from B */
        const double *u = (blk == 1 || blk == 2 + q) ? ub : ua;
        const mn_param_info *in = &ps->info[vary[q]];
        *mn_model_param_ref(&p, in->name) = mn_uq_value(in, u[(size_t)j * k + q]);
      }
      sets[(size_t)blk * N + j] = p;
    }
  mn_free(ua);
  mn_free(ub);
  return MN_OK;
}

double mn_sobol_max_st(const mn_sobol *s, int k) {
  double m = 0;
  for (int o = 0; o < s->nout; o++) {
    double v = s->ST[(size_t)o * s->k + k];
    if (isfinite(v) && v > m) m = v;
  }
  return m;
}

void mn_sobol_rank(const mn_sobol *s, int *order) {
  for (int i = 0; i < s->k; i++) { /* insertion: stable, ties keep the parameter order */
    int j = i;
    double v = mn_sobol_max_st(s, i);
    for (; j > 0 && mn_sobol_max_st(s, order[j - 1]) < v; j--) order[j] = order[j - 1];
    order[j] = i;
  }
}

/* The indices of every parameter and output over all base rows, into out. */
static void indices(const double *y, int N, int k, int nout, const int *rows, mn_sobol *out) {
  const double *ya = y, *yb = y + (size_t)N * nout;
  for (int o = 0; o < nout; o++) {
    double mv[2];
    pooled(ya, yb, nout, o, rows, N, mv);
    out->var[o] = mv[1];
    for (int q = 0; q < k; q++) {
      const double *yab = y + (size_t)(2 + q) * N * nout;
      size_t at = (size_t)o * k + q;
      estimate(ya, yb, yab, nout, o, rows, N, mv, &out->S1[at], &out->ST[at]);
      int used = 0;
      for (int j = 0; j < N; j++)
        used += isfinite(ya[(size_t)j * nout + o]) && isfinite(yb[(size_t)j * nout + o]) &&
                isfinite(yab[(size_t)j * nout + o]);
      out->used[at] = used;
    }
  }
}

/* The 95 % bootstrap intervals: the same boot resamples of the base rows for every parameter and
 * output (seeded); tmp1, tmp2 room for boot values each. */
static int bootstrap(const double *y, int N, int k, int nout, int boot, uint64_t seed, double *tmp1,
                     double *tmp2, mn_sobol *out, mn_error *err) {
  const double *ya = y, *yb = y + (size_t)N * nout;
  mn_rng r;
  mn_rng_init(&r, seed, 0x626f6f74ULL); /* "boot" */
  int *bs = boot > 0 ? mn_malloc_array((size_t)boot * (size_t)N, sizeof *bs) : NULL;
  if (boot > 0 && !bs) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the bootstrap");
  for (size_t i = 0; i < (size_t)boot * (size_t)N; i++) bs[i] = (int)(mn_rng_u64(&r) % (uint64_t)N);
  for (int o = 0; o < nout; o++)
    for (int q = 0; q < k; q++) {
      const double *yab = y + (size_t)(2 + q) * N * nout;
      size_t at = (size_t)o * k + q;
      for (int b = 0; b < boot; b++) {
        const int *rb = bs + (size_t)b * N;
        double mv[2];
        pooled(ya, yb, nout, o, rb, N, mv);
        estimate(ya, yb, yab, nout, o, rb, N, mv, &tmp1[b], &tmp2[b]);
      }
      if (boot > 0) {
        percentile95(tmp1, boot, out->S1_ci + 2 * at);
        percentile95(tmp2, boot, out->ST_ci + 2 * at);
      } else {
        out->S1_ci[2 * at] = out->S1_ci[2 * at + 1] = NAN;
        out->ST_ci[2 * at] = out->ST_ci[2 * at + 1] = NAN;
      }
    }
  mn_free(bs);
  return MN_OK;
}

int mn_sobol_run(const mn_param_set *ps, int N, uint64_t seed, int nout, int boot, mn_sobol_fn f,
                 void *user, mn_sobol *out, mn_error *err) {
  int rc = MN_OK, k = 0, *vary = NULL, *rows = NULL;
  mn_model_params *sets = NULL;
  double *y = NULL, *tmp1 = NULL, *tmp2 = NULL;
  memset(out, 0, sizeof *out);
  MN_CHECK(N >= 8 && nout >= 1 && boot >= 0, err, MN_ERANGE, "",
           "sobol: N >= 8 base rows and at least one output (N %d, outputs %d)", N, nout);
  vary = mn_malloc_array((size_t)ps->n, sizeof *vary);
  MN_CHECK(vary, err, MN_ENOMEM, "", "out of memory");
  for (int i = 0; i < ps->n; i++)
    if (!ps->info[i].overridden && ps->info[i].max > ps->info[i].min) vary[k++] = i;
  MN_CHECK(k >= 1, err, MN_EINPUT, "", "sobol: no parameter varies (every range is a point)");
  size_t nsets = (size_t)(k + 2) * (size_t)N;
  sets = mn_malloc_array(nsets, sizeof *sets);
  y = mn_malloc_array(nsets * (size_t)nout, sizeof *y);
  out->names = mn_malloc_array((size_t)k, sizeof *out->names);
  out->S1 = mn_malloc_array((size_t)nout * k, sizeof *out->S1);
  out->ST = mn_malloc_array((size_t)nout * k, sizeof *out->ST);
  out->S1_ci = mn_malloc_array((size_t)nout * k * 2, sizeof *out->S1_ci);
  out->ST_ci = mn_malloc_array((size_t)nout * k * 2, sizeof *out->ST_ci);
  out->var = mn_malloc_array((size_t)nout, sizeof *out->var);
  out->used = mn_malloc_array((size_t)nout * k, sizeof *out->used);
  rows = mn_malloc_array((size_t)N, sizeof *rows);
  tmp1 = mn_malloc_array((size_t)(boot > 0 ? boot : 1), sizeof *tmp1);
  tmp2 = mn_malloc_array((size_t)(boot > 0 ? boot : 1), sizeof *tmp2);
  MN_CHECK(sets && y && out->names && out->S1 && out->ST && out->S1_ci && out->ST_ci && out->var &&
               out->used && rows && tmp1 && tmp2,
           err, MN_ENOMEM, "", "out of memory for %zu Sobol runs", nsets);
  out->k = k, out->nout = nout, out->N = N, out->boot = boot;
  for (int q = 0; q < k; q++)
    snprintf(out->names[q], sizeof out->names[q], "%s", ps->info[vary[q]].name);
  MN_TRY(design(ps, vary, k, N, seed, sets, err));
  { /* this rank's block of the runs, then every rank's shared (one process: all of them) */
    int lo, hi;
    mn_dist_block((int)nsets, &lo, &hi);
    if (hi > lo) f(hi - lo, sets + lo, y + (size_t)lo * (size_t)nout, user);
  }
  MN_TRY(mn_dist_share(y, (int)nsets, nout, err));
  if (mn_dist_stopped()) { /* the runs not started are missing: no indices */
    rc = mn_stop_error(err, "running the Sobol design");
    goto cleanup;
  }
  for (int j = 0; j < N; j++) rows[j] = j;
  indices(y, N, k, nout, rows, out);
  MN_TRY(bootstrap(y, N, k, nout, boot, seed, tmp1, tmp2, out, err));
cleanup:
  mn_free(vary);
  mn_free(sets);
  mn_free(y);
  mn_free(rows);
  mn_free(tmp1);
  mn_free(tmp2);
  if (rc) mn_sobol_fini(out);
  return rc;
}

/* ---- the shipped indices ------------------------------------------------------------------- */

extern const char mn__data_sensitivity_csv[];
extern const size_t mn__data_sensitivity_csv_len;

const char *const mn_sobol_output_id[MN_SOBOL_NOUT] = {"redness_days_first", "barrier_hours_first",
                                                       "collagen_PD_end",    "fill_pct",
                                                       "gb_grade_change",    "pih_pct"};
const char *const mn_sobol_output_label[MN_SOBOL_NOUT] = {
    "redness days", "barrier hours", "collagen %", "scar fill %", "G-B grade", "PIH risk %"};

/* Index of parameter @p name in names[0..k), or -1. */
static int find_name(char (*names)[24], int k, const char *name) {
  for (int i = 0; i < k; i++)
    if (!strcmp(names[i], name)) return i;
  return -1;
}

int mn_sobol_parse(const char *text, size_t len, const char *name, mn_sobol *out, mn_error *err) {
  int rc = MN_OK, c_par, c_out, c[6], c_rows;
  static const char *const cols[6] = {"S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"};
  mn_csv t;
  memset(out, 0, sizeof *out);
  MN_TRY(mn_csv_parse(text, len, name, &t, err));
  MN_TRY(mn_csv_require(&t, "parameter", &c_par, err));
  MN_TRY(mn_csv_require(&t, "output", &c_out, err));
  MN_TRY(mn_csv_require(&t, "rows", &c_rows, err));
  for (int j = 0; j < 6; j++) MN_TRY(mn_csv_require(&t, cols[j], &c[j], err));
  const int nout = MN_SOBOL_NOUT;
  out->names = mn_malloc_array((size_t)t.nrows + 1, sizeof *out->names);
  MN_CHECK(out->names, err, MN_ENOMEM, "", "out of memory for %s", t.name);
  int k = 0;
  for (int r = 0; r < t.nrows; r++) { /* the parameters, in their first order */
    const char *p = t.rows[r][c_par];
    MN_CHECK(p[0] && strlen(p) < sizeof out->names[0], err, MN_EINPUT, "",
             "%s:%d: parameter '%s' must be a name of 1-23 characters", t.name, t.lineno[r], p);
    if (find_name(out->names, k, p) < 0) snprintf(out->names[k++], sizeof out->names[0], "%s", p);
  }
  MN_CHECK(k >= 1 && t.nrows == k * nout, err, MN_EINPUT, "",
           "%s: %d rows for %d parameters and %d outputs: every parameter needs one row per "
           "output",
           t.name, t.nrows, k, nout);
  size_t n = (size_t)k * (size_t)nout;
  out->S1 = mn_malloc_array(n, sizeof *out->S1);
  out->ST = mn_malloc_array(n, sizeof *out->ST);
  out->S1_ci = mn_malloc_array(2 * n, sizeof *out->S1_ci);
  out->ST_ci = mn_malloc_array(2 * n, sizeof *out->ST_ci);
  out->var = mn_calloc(MN_SOBOL_NOUT, sizeof *out->var); /* not in the table */
  out->used = mn_malloc_array(n, sizeof *out->used);
  MN_CHECK(out->S1 && out->ST && out->S1_ci && out->ST_ci && out->var && out->used, err, MN_ENOMEM,
           "", "out of memory for %s", t.name);
  for (size_t i = 0; i < n; i++) out->used[i] = -1; /* not seen yet */
  out->k = k, out->nout = nout;
  for (int r = 0; r < t.nrows; r++) {
    int o = -1;
    for (int q = 0; q < nout; q++)
      if (!strcmp(t.rows[r][c_out], mn_sobol_output_id[q])) o = q;
    MN_CHECK(o >= 0, err, MN_EINPUT, "",
             "%s:%d: output '%s' is not one of mnsim sensitivity's (redness_days_first, "
             "barrier_hours_first, collagen_PD_end, fill_pct, gb_grade_change, pih_pct)",
             t.name, t.lineno[r], t.rows[r][c_out]);
    size_t at = (size_t)o * (size_t)k + (size_t)find_name(out->names, k, t.rows[r][c_par]);
    MN_CHECK(out->used[at] < 0, err, MN_EINPUT, "", "%s:%d: a second row for %s and %s", t.name,
             t.lineno[r], t.rows[r][c_par], t.rows[r][c_out]);
    double v[6], rows;
    for (int j = 0; j < 6; j++) MN_TRY(mn_csv_double(&t, r, c[j], &v[j], err));
    MN_TRY(mn_csv_double(&t, r, c_rows, &rows, err));
    MN_CHECK(rows >= 0 && rows <= 1e9 && rows == floor(rows), err, MN_EINPUT, "",
             "%s:%d: rows = %g must be a count", t.name, t.lineno[r], rows);
    out->S1[at] = v[0], out->S1_ci[2 * at] = v[1], out->S1_ci[2 * at + 1] = v[2];
    out->ST[at] = v[3], out->ST_ci[2 * at] = v[4], out->ST_ci[2 * at + 1] = v[5];
    out->used[at] = (int)rows;
    out->N = out->N > (int)rows ? out->N : (int)rows;
  }
cleanup:
  mn_csv_fini(&t);
  if (rc) mn_sobol_fini(out);
  return rc;
}

int mn_sobol_load_shipped(mn_sobol *out, mn_error *err) {
  return mn_sobol_parse(mn__data_sensitivity_csv, mn__data_sensitivity_csv_len,
                        "data/sensitivity.csv", out, err);
}
