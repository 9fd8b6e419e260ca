/* The mnsim program: shared helpers of the subcommands. Includes only public headers. */
#ifndef MNSIM_CLI_H
#define MNSIM_CLI_H

#include "mnsim/mnsim.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Options shared by every command. */
typedef struct cli_opts {
  int quiet;          /* -q: errors only */
  int verbose;        /* -v: info and raise sites; -vv debug */
  int json;           /* --json: machine output on stdout */
  const char *outdir; /* -o DIR */
} cli_opts;

/* Print @p err as "mnsim: file:line:col: message" and return the exit code for its status. */
int cli_fail(const cli_opts *o, const mn_error *err);
/* Print a usage error for @p cmd and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Install the log handler for the chosen verbosity. */
void cli_log_setup(const cli_opts *o);
/* Parse one common option; returns 1 if consumed. */
int cli_common_option(int opt, const char *arg, cli_opts *o);
/* Base name of @p path without directory and extension, into @p buf. */
void cli_stem(const char *path, char *buf, size_t size);

int cmd_device(int argc, char **argv);
int cmd_skin(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_plan(int argc, char **argv);

#endif
