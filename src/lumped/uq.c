/* Uncertainty of the outcomes (issue 4, MODEL.md section 6): Latin-hypercube draws over the
 * tabulated parameter ranges, draws with loop gain G >= 1 dropped, the lumped model run on each
 * draw in parallel, and the median and 90 % band of every outcome scalar. Stage: lumped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/lumped.h"

mn_uq_dist mn_uq_distribution(const mn_param_info *p) {
  if (!(p->max > p->min)) return MN_UQ_FIXED;
  if (p->min > 0 && p->max >= 3 * p->min) return MN_UQ_LOG_UNIFORM;
  return MN_UQ_UNIFORM;
}

int mn_uq_sample(const mn_param_set *ps, int n, uint64_t seed, mn_model_params *out, int *kept,
                 int *dropped, mn_error *err) {
  int rc = MN_OK, *perm = NULL;
  double *u = NULL;
  *kept = *dropped = 0;
  if (n < 1) return MN_ERR(err, MN_ERANGE, "", "uncertainty: %d draws; at least 1 is needed", n);
  perm = mn_malloc_array((size_t)n, sizeof *perm);
  u = mn_malloc_array((size_t)n * (size_t)ps->n, sizeof *u);
  MN_CHECK(perm && u, err, MN_ENOMEM, "", "out of memory for %d draws", n);
  mn_rng r;
  mn_rng_init(&r, seed, 0x6c6873ULL); /* "lhs" */
  for (int j = 0; j < ps->n; j++) {   /* one random permutation of the n strata per dimension */
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int k = (int)(mn_rng_u64(&r) % (uint64_t)(i + 1)), t = perm[i];
      perm[i] = perm[k], perm[k] = t;
    }
    for (int i = 0; i < n; i++) u[(size_t)i * ps->n + j] = (perm[i] + mn_rng_uniform(&r)) / n;
  }
  for (int i = 0; i < n; i++) {
    mn_model_params p = ps->p;
    for (int j = 0; j < ps->n; j++) {
      const mn_param_info *in = &ps->info[j];
      /* split distribution: the table's value is the median, half of the draws fall on each
       * side, uniformly (or log-uniformly) between the value and that side's range end */
      double x = u[(size_t)i * ps->n + j], v = in->value, a = x < 0.5 ? in->min : in->max;
      double w = x < 0.5 ? 1 - 2 * x : 2 * x - 1; /* 0 at the value, 1 at the range end */
      switch (mn_uq_distribution(in)) {
        case MN_UQ_UNIFORM:
          v = in->value + w * (a - in->value);
          break;
        case MN_UQ_LOG_UNIFORM:
          v = in->value > 0 ? in->value * exp(w * log(a / in->value)) : in->value + w * a;
          break;
        case MN_UQ_FIXED:
          break;
      }
      double *slot = mn_model_param_ref(&p, in->name);
      if (slot) *slot = v;
    }
    if (p.F_max <= 1 || !(mn_model_loop_gain(&p) < 1)) {
      (*dropped)++;
      continue;
    }
    out[(*kept)++] = p;
  }
cleanup:
  mn_free(perm);
  mn_free(u);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void mn_quantiles(double *v, int n, double q[3]) {
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) v[m++] = v[i];
  if (m == 0) {
    q[0] = q[1] = q[2] = NAN;
    return;
  }
  qsort(v, (size_t)m, sizeof *v, cmp_double);
  static const double p[3] = {0.05, 0.5, 0.95};
  for (int k = 0; k < 3; k++) {
    double x = p[k] * (m - 1);
    int i = (int)floor(x);
    double f = x - i;
    q[k] = i + 1 < m ? (1 - f) * v[i] + f * v[i + 1] : v[m - 1];
  }
}

int mn_uq_evaluate(const mn_model_params *draws, int n, int nv, mn_uq_eval eval, void *user,
                   int threads, double *values, int *failed) {
  int bad = 0;
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(threads) reduction(+ : bad)
#endif
  for (int i = 0; i < n; i++) {
    mn_error e = {0};
    double *v = values + (size_t)i * (size_t)nv;
    if (eval(&draws[i], user, v, &e) != MN_OK) {
      for (int k = 0; k < nv; k++) v[k] = NAN;
      bad++;
    }
  }
  (void)threads;
  *failed = bad;
  return MN_OK;
}

typedef struct outcome_job {
  const mn_lumped_input *in;
  const mn_lumped_params *lp;
  const mn_skin *sk;
} outcome_job;

static int eval_outcome(const mn_model_params *m, void *user, double *values, mn_error *err) {
  const outcome_job *j = user;
  mn_lumped_input x = *j->in;
  x.m = m;
  mn_outcome o;
  int rc = mn_lumped_outcome(&x, j->lp, j->sk, &o, NULL, err);
  if (rc) return rc;
  for (int k = 0; k < MN_OQ_COUNT; k++) values[k] = mn_outcome_scalar(&o, k);
  return MN_OK;
}

int mn_uq_outcome(const mn_lumped_input *in, const mn_lumped_params *lp, const mn_skin *sk,
                  const mn_param_set *ps, int draws, uint64_t seed, int threads, mn_uq_summary *sum,
                  mn_error *err) {
  int rc = MN_OK;
  memset(sum, 0, sizeof *sum);
  sum->draws = draws;
  sum->seed = seed;
  mn_model_params *set = mn_malloc_array((size_t)draws, sizeof *set);
  double *val = mn_malloc_array((size_t)draws * MN_OQ_COUNT, sizeof *val);
  double *col = mn_malloc_array((size_t)draws, sizeof *col);
  MN_CHECK(set && val && col, err, MN_ENOMEM, "", "out of memory for %d draws", draws);
  MN_TRY(mn_uq_sample(ps, draws, seed, set, &sum->kept, &sum->dropped, err));
  outcome_job job = {in, lp, sk};
  mn_uq_evaluate(set, sum->kept, MN_OQ_COUNT, eval_outcome, &job, threads, val, &sum->failed);
  for (int k = 0; k < MN_OQ_COUNT; k++) {
    for (int i = 0; i < sum->kept; i++) col[i] = val[(size_t)i * MN_OQ_COUNT + k];
    mn_quantiles(col, sum->kept, sum->band[k]);
  }
cleanup:
  mn_free(set);
  mn_free(val);
  mn_free(col);
  return rc;
}
