/* Logging through a handler the program installs: the library never writes to a stream; without
 * a handler messages are dropped. Pipeline: core; used by every module for warnings and
 * progress notes, shown by the CLI (-q, -v). The level and handler are process-wide. */
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

/* Messages are filtered before they are formatted, so a dropped debug line costs a comparison;
 * longer messages are cut at 1023 characters. */
void mn_log(int level, const char *fmt, ...) {
  if (!log_fn || level > log_level) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_fn(level, msg, log_user);
}
