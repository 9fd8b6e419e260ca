/* Logging through a program-installed handler; the library itself never writes to a stream.
 * Stage: core. */
#include <stdio.h>

#include "mnsim/core.h"

static mn_log_fn log_fn;
static void *log_user;
static int log_level = MN_LOG_WARN;

void mn_log_set_handler(mn_log_fn fn, void *user) {
  log_fn = fn;
  log_user = user;
}

void mn_log_set_level(int level) {
  log_level = level;
}
int mn_log_get_level(void) {
  return log_level;
}

void mn_log(int level, const char *fmt, ...) {
  if (!log_fn || level > log_level) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_fn(level, msg, log_user);
}
