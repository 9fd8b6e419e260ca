/* Shared CLI helpers: error printing with exit codes, the log handler, common options, the
 * SIGINT/SIGTERM handler. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const cli_opts *o, const mn_error *err) {
  char buf[1200];
  mn_error_format(err, buf, sizeof buf, o && o->verbose);
  if (err->code == MN_ESTOPPED) {
    fprintf(stderr, "mnsim: %s; no result file was written or replaced\n", buf);
    return cli_stop_status();
  }
  fprintf(stderr, "mnsim: %s\n", buf);
  return mn_status_is_user_error(err->code) ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_progress_mode(const cli_opts *o, int lines) {
  if (mn_dist_rank() != 0) return MN_PROGRESS_OFF;
  if (lines) return MN_PROGRESS_LINES;
  return !o->quiet && isatty(fileno(stderr)) ? MN_PROGRESS_BAR : MN_PROGRESS_OFF;
}

int cli_stop_status(void) {
  int sig = mn_stop_requested();
  return 128 + (sig > 0 ? sig : SIGINT);
}

/* The first SIGINT or SIGTERM asks the loops to stop (they poll mn_stop_requested() at least
 * once a second, then every cleanup path runs and the temporaries go with them); a second one
 * does not wait: it removes the temporaries in flight and dies of the signal. */
static void on_signal(int sig) {
  if (mn_stop_requested()) {
    mn_ofile_unlink_all();
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  mn_stop_request(sig);
}

void cli_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocking read returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int cli_write_blob(FILE *fp, const void *ctx, mn_error *err) {
  const cli_blob *b = ctx;
  return fwrite(b->text, 1, b->len, fp) == b->len ? MN_OK : MN_ERR(err, MN_EIO, "", "write failed");
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "mnsim %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see mnsim %s --help)\n", cmd);
  return EXIT_USAGE;
}

static void log_to_stderr(int level, const char *msg, void *user) {
  (void)user;
  static const char *const names[] = {"error", "warning", "info", "debug"};
  if (level <= MN_LOG_ERROR) /* as cli_fail prints the error that ends a command */
    fprintf(stderr, "mnsim: %s\n", msg);
  else
    fprintf(stderr, "mnsim: %s: %s\n", names[level > 3 ? 3 : level], msg);
}

void cli_log_setup(const cli_opts *o) {
  mn_log_set_handler(log_to_stderr, NULL);
  mn_log_set_level(o->quiet ? MN_LOG_ERROR : MN_LOG_WARN + o->verbose);
}

void cli_stem(const char *path, char *buf, size_t size) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(buf, size, "%s", b);
  char *dot = strrchr(buf, '.');
  if (dot && dot != buf) *dot = '\0';
}
