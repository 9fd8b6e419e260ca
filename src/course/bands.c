/* Uncertainty bands of a course: the lumped twin of the course for each parameter draw, in
 * parallel, and the 5 / 50 / 95 % quantiles of every outcome scalar. Stage: course. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "course_impl.h"

void mn_course_eval_draws(const mn_model_params *draws, int n, int nv, mn_course_draw_fn fn,
                          void *user, int threads, double *values, int *failed, mn_progress *prog) {
  /* this rank's block of the draws (all of them in one process), each draw's values followed by
   * its failure flag, then every rank's block shared */
  int lo, hi, bad = 0, done = 0;
  threads = mn_threads(threads);
  size_t w = (size_t)nv + 1;
  mn_dist_block(n, &lo, &hi);
  double *buf = mn_dist_size() > 1 ? mn_malloc_array((size_t)n * w, sizeof *buf) : NULL;
  if (mn_dist_size() > 1 && !buf) {
    mn_log(MN_LOG_ERROR, "out of memory for %d draws", n);
    mn_dist_abort(1);
  }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads) reduction(+ : bad)
#endif
  for (int i = lo; i < hi; i++) {
    mn_error e = {0};
    double *v = values + (size_t)i * (size_t)nv;
    /* a stop request skips the draws not yet started (an OpenMP loop cannot break) */
    int rc = mn_stop_requested() ? MN_ESTOPPED : fn(&draws[i], user, v, &e);
    if (rc != MN_OK) {
      for (int k = 0; k < nv; k++) v[k] = NAN;
      bad++;
    }
    if (buf) {
      memcpy(buf + (size_t)i * w, v, sizeof *v * (size_t)nv);
      buf[(size_t)i * w + (size_t)nv] = rc != MN_OK;
    }
    if (prog) {
      int d;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
      d = ++done;
#ifdef _OPENMP
      if (omp_get_thread_num() == 0)
#endif
        mn_progress_update(prog, (double)d / (hi - lo));
    }
  }
  (void)threads;
  if (buf) {
    mn_error e = {0};
    if (mn_dist_share(buf, n, (int)w, &e)) {
      mn_log(MN_LOG_ERROR, "%s", e.msg);
      mn_dist_abort(1);
    }
    bad = 0;
    for (int i = 0; i < n; i++) {
      memcpy(values + (size_t)i * (size_t)nv, buf + (size_t)i * w, sizeof *values * (size_t)nv);
      bad += buf[(size_t)i * w + (size_t)nv] != 0;
    }
    mn_free(buf);
  }
  *failed = bad;
}

/* One draw: the course's lumped twin with hourly samples over the course's days. */
static int eval_outcome(const mn_model_params *m, void *user, double *values, mn_error *err) {
  const mn_course *c = user;
  int rc = MN_OK, n = 0;
  double *samples = NULL;
  mn_timeseries ts;
  memset(&ts, 0, sizeof ts);
  mn_lumped_input in;
  mn__course_lumped_input(c, m, &in);
  MN_TRY(mn__course_sample_days(c->session_day, c->p.sessions, c->t_end, 1.0, &samples, &n, err));
  in.samples = samples, in.nsamples = n;
  MN_TRY(mn_timeseries_init(&ts, n, err));
  MN_TRY(mn_lumped_run(&in, &c->lp, &ts, NULL, err));
  mn_outcome o;
  mn_outcome_input oin;
  mn__course_outcome_input(c, m, &oin);
  MN_TRY(mn_outcome_compute(&ts, &oin, &o, err));
  for (int k = 0; k < MN_OQ_COUNT; k++) values[k] = mn_outcome_scalar(&o, k);
cleanup:
  mn_timeseries_fini(&ts);
  mn_free(samples);
  return rc;
}

int mn_course_bands(const mn_course *c, const mn_model_params *draws, int n, int threads,
                    mn_outcome_bands *b, mn_progress *prog, mn_error *err) {
  int rc = MN_OK;
  double *val = mn_malloc_array((size_t)n * MN_OQ_COUNT, sizeof *val);
  double *col = mn_malloc_array((size_t)n, sizeof *col);
  MN_CHECK(val && col, err, MN_ENOMEM, "", "out of memory for %d draws", n);
  b->kept = n;
  mn_course_eval_draws(draws, n, MN_OQ_COUNT, eval_outcome, (void *)c, threads, val, &b->failed,
                       prog);
  if (mn_dist_stopped()) {
    rc = mn_stop_error(err, "running the uncertainty draws");
    goto cleanup;
  }
  for (int k = 0; k < MN_OQ_COUNT; k++) {
    for (int i = 0; i < n; i++) col[i] = val[(size_t)i * MN_OQ_COUNT + k];
    mn_quantiles(col, n, b->band[k]);
  }
cleanup:
  mn_free(val);
  mn_free(col);
  return rc;
}
