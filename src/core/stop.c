/* Stop requests from signals, polled by every long loop, and the thread count of every parallel
 * loop, capped. Pipeline: core; the CLI's signal handler sets the request, course, plan and
 * infer poll it. Reference: Redis server.c (a handler that only sets a flag, the loops check it).
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/core.h"

/* Set by a signal handler, read by every thread: a lock-free atomic (safe in a handler, and no
 * data race between the OpenMP threads that poll it), never cleared by the loops themselves, so
 * that every level of a nested loop sees the same request. */
static atomic_int stop_sig;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free to be set in a handler");

void mn_stop_request(int sig) {
  atomic_store_explicit(&stop_sig, sig > 0 ? sig : 1, memory_order_relaxed);
}

int mn_stop_requested(void) {
  return atomic_load_explicit(&stop_sig, memory_order_relaxed);
}

void mn_stop_clear(void) {
  atomic_store_explicit(&stop_sig, 0, memory_order_relaxed);
}

int mn_stop_error(mn_error *err, const char *what) {
  int sig = mn_stop_requested();
  const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
  return MN_ERR(err, MN_ESTOPPED, "", "stopped by %s while %s", name, what);
}

int mn_threads(int requested) {
  int n = requested;
#ifdef _OPENMP
  if (n <= 0) n = omp_get_max_threads();
#endif
  if (n < 1) n = 1;
  return n > MN_MAX_THREADS ? MN_MAX_THREADS : n;
}

mn_test_hooks mn_test_hook;

void mn_test_hooks_from_env(void) {
  const char *s = getenv("MNSIM_TEST_FAIL_RENAME");
  mn_test_hook.fail_rename = s ? atoi(s) : 0;
  s = getenv("MNSIM_TEST_POISON_DAY");
  mn_test_hook.poison_day = s ? atof(s) : 0;
  s = getenv("MNSIM_TEST_KILL_AFTER_RENAME");
  mn_test_hook.kill_after_rename = s ? atoi(s) : 0;
  s = getenv("MNSIM_TEST_STOP_STEP");
  mn_test_hook.stop_after_step = s ? atoi(s) : 0;
  s = getenv("MNSIM_TEST_STOP_DAY");
  mn_test_hook.stop_day = s ? atof(s) : 0;
}
