/* mnsim: git-style entry point. Dispatches `mnsim <command> [options]`; exit codes 0 ok,
 * 1 runtime failure, 2 bad usage or bad input. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
  fprintf(fp, "  %-11s %s\n", "version", "print the version");
  fprintf(fp,
          "\n`mnsim <command> --help` describes each command. Exit status: 0 ok, 1 runtime "
          "failure, 2 bad usage or input.\n");
}

int main(int argc, char **argv) {
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
    printf("mnsim %s\n", mn_version());
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
