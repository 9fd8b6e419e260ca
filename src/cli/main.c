/* mnsim: git-style entry point. Dispatches `mnsim <command> [options]`; exit codes 0 ok,
 * 1 runtime failure, 2 bad usage or bad input. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* the commands whose ensembles run over MPI ranks (mn_dist) */
static int over_ranks(const char *cmd) {
  return !strcmp(cmd, "calibrate") || !strcmp(cmd, "sensitivity") || !strcmp(cmd, "validate");
}

static const struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"device", cmd_device, "punctures of a device and hand passes: density, coverage, depth"},
    {"simulate", cmd_simulate, "healing model on the 3D tissue grid: redness, collagen, ..."},
    {"plan", cmd_plan, "candidacy, protocol, calendar for a patient (the main command)"},
    {"calibrate", cmd_calibrate,
     "posterior of the parameters tagged C given the calibration targets"},
    {"sensitivity", cmd_sensitivity, "Sobol indices: which parameters move the planner's outcomes"},
    {"validate", cmd_validate, "model against the published calibration and validation targets"},
    {"skin", cmd_skin, "layered anatomy of a face region for a patient"},
    {"config", cmd_config, "annotated default case file or the configuration reference"},
};

static void usage(FILE *fp) {
  fprintf(fp,
          "usage: mnsim <command> [options]\n"
          "       mnsim --version | --help\n\n"
          "mnsim simulates micro-needling: device -> punctures -> skin response.\n"
          "It informs a clinician's decision and does not replace it.\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(fp, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf(fp, "  %-11s %s\n", "version", "print the version and the build id checkpoints record");
  fprintf(fp,
          "\n`mnsim <command> --help` describes each command. Exit status: 0 ok, 1 runtime "
          "failure, 2 bad usage or input.\n");
}

static int dispatch(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (argc > 2 && strcmp(cmd, "help") == 0) {
      char help_flag[] = "--help";
      char *sub[] = {argv[2], help_flag, NULL};
      for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, argv[2])) return commands[i].run(2, sub);
    }
    usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    /* the build as checkpoints record it: "mnsim VERSION ID" */
    const char *id = strrchr(mn_build_id(), ' ');
    printf("mnsim %s (build %s)\n", mn_version(), id ? id + 1 : "?");
    return EXIT_OK;
  }
  cli_signals_install();
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(commands[i].name, cmd)) {
      int code = commands[i].run(argc - 1, argv + 1);
      if (code == EXIT_OK && mn_stop_requested()) { /* the signal came after the last check */
        fprintf(stderr, "mnsim: %s: stopped by a signal after its results were written\n", cmd);
        code = cli_stop_status();
      }
      return code;
    }
  const char *names[sizeof commands / sizeof commands[0] + 1];
  size_t n = 0;
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) names[n++] = commands[i].name;
  names[n++] = "version";
  const char *near = mn_nearest(cmd, names, n);
  if (near)
    fprintf(stderr, "mnsim: '%s' is not a command; did you mean '%s'? (see mnsim --help)\n", cmd,
            near);
  else
    fprintf(stderr, "mnsim: '%s' is not a command (see mnsim --help)\n", cmd);
  return EXIT_USAGE;
}

/* Under mpirun every rank runs the same command on its share of each ensemble batch; rank 0
 * alone prints and writes (the others' stdout and stderr go to /dev/null: they compute the same
 * values, and a failure on one rank aborts all of them). */
int main(int argc, char **argv) {
  mn_error err = {0};
  if (mn_dist_init(&argc, &argv, &err)) {
    fprintf(stderr, "mnsim: %s\n", err.msg);
    return EXIT_USAGE;
  }
  if (mn_dist_size() > 1) {
    if (argc < 2 || !over_ranks(argv[1])) {
      if (mn_dist_rank() == 0)
        fprintf(stderr,
                "mnsim: '%s' does not run over MPI ranks (mpirun started %d); calibrate, "
                "sensitivity and validate do: start it without mpirun\n",
                argc < 2 ? "" : argv[1], mn_dist_size());
      mn_dist_finalize();
      return EXIT_USAGE;
    }
    if (mn_dist_rank() > 0 &&
        (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))) {
      mn_dist_abort(EXIT_RUNTIME);
      return EXIT_RUNTIME;
    }
  }
#ifdef MNSIM_TEST_HOOKS
  mn_test_hooks_from_env(); /* the test binary mnsim-hooks only */
#endif
  int rc = dispatch(argc, argv);
  mn_dist_finalize();
  return rc;
}
