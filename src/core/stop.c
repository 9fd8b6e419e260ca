/* Stop requests from signals, polled by every long loop, and the thread count of every parallel
 * loop, capped. Pipeline: core; the CLI's signal handler sets the request, course, plan and
 * infer poll it. Reference: Redis server.c (a handler that only sets a flag, the loops check it).
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/core.h"

/* Set by a signal handler, read by every thread: sig_atomic_t and volatile, never cleared by
 * the loops themselves, so that every level of a nested loop sees the same request. */
static volatile sig_atomic_t stop_sig;

void mn_stop_request(int sig) {
  stop_sig = sig > 0 ? sig : 1;
}

int mn_stop_requested(void) {
  return stop_sig;
}

void mn_stop_clear(void) {
  stop_sig = 0;
}

int mn_stop_error(mn_error *err, const char *what) {
  int sig = stop_sig;
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
