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
/* Bytes to write whole (text and length, borrowed), and the mn_out_item writer of one: the
 * context is a cli_blob. */
typedef struct cli_blob {
  const char *text;
  size_t len;
} cli_blob;
int cli_write_blob(FILE *fp, const void *ctx, mn_error *err);
/* Install the SIGINT/SIGTERM handler of every command: the first signal is a stop request
 * (mn_stop_request), a second one removes the temporaries and kills the process. */
void cli_signals_install(void);
/* The exit status of a stopped command: 128 + the signal's number (130 SIGINT, 143 SIGTERM). */
int cli_stop_status(void);
/* How a long command shows its progress on stderr: a line per 5 % with --progress (logs), else a
 * bar on a terminal unless -q; nothing on an MPI rank other than 0 (MN_PROGRESS_*). */
int cli_progress_mode(const cli_opts *o, int lines);
/* Print a usage error for @p cmd and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Install the log handler for the chosen verbosity. */
void cli_log_setup(const cli_opts *o);
/* Base name of @p path without directory and extension, into @p buf. */
void cli_stem(const char *path, char *buf, size_t size);

/* ---- text tables (table.c) ------------------------------------------------------------------ */

enum { CLI_TABLE_MAX_COLS = 12 };
/* A column: heading, width (the preferred one, then as fitted) and the narrowest it may get. */
typedef struct cli_col {
  const char *head;
  int width, min;
} cli_col;
/* The output's width: COLUMNS when set (40-1000), else the terminal's when stdout is one, else
 * 80. */
int cli_term_width(void);
/* Fit @p n columns into @p width characters: the widest shrink first, none below its minimum;
 * the last column takes the rest (at least its minimum). */
void cli_table_fit(cli_col *cols, int n, int width);
/* Print one row on stdout: each cell within its column's width, a longer cell wrapped (at a
 * blank, else after '_', '|' or '-', else cut) onto continuation lines; nothing is lost. */
void cli_table_row(const cli_col *cols, int n, const char *const *cells);

/* ---- one option table per command (like the case file's descriptor tables) ----------------
 * Each command lists its options with their kind, range and help; cli_parse parses argv with it
 * (getopt_long underneath), range-checks every value with one message shape, and prints the
 * options section of --help from the same table. */
typedef enum {
  CLI_FLAG,   /* no value: the int field is set to 1 */
  CLI_COUNT,  /* no value: the int field counts the times given (-v -v) */
  CLI_INT,    /* an int field in [min, max] */
  CLI_DOUBLE, /* a double field in [min, max] */
  CLI_U64,    /* a uint64_t field (seeds); *(int *)(opts + set) = 1 when given */
  CLI_STRING, /* a const char * field pointing into argv */
  CLI_CALL,   /* the value goes to call(opts, value); once */
  CLI_LIST    /* as CLI_CALL, repeatable: each value adds an item (plan --region) */
} cli_kind;

typedef struct cli_option {
  const char *name; /* long name without the dashes */
  int letter;       /* short option letter, 0 for none */
  int kind;         /* cli_kind */
  const char *meta; /* the value's name in --help ("N", "DIR"); NULL for flags */
  double min, max;  /* CLI_INT, CLI_DOUBLE */
  size_t offset;    /* the field in the command's option struct */
  size_t set;       /* CLI_U64: offset of an int "given" field; otherwise unused */
  int (*call)(void *opts, const char *value); /* CLI_CALL: 0 or a usage error's exit code */
  const char *help;
} cli_option;

/* The longest path an option takes: the run directory's files go below it within PATH_MAX. */
#define CLI_PATH_MAX 3800

/* The options most commands share: -o DIR, --json, -q, -v; a command's option struct T holds
 * them in a cli_opts field named `common`. -h/--help is every command's without a table entry. */
#define CLI_OUTPUT(T, what) \
  { "output", 'o', CLI_STRING, "DIR", 0, 0, offsetof(T, common.outdir), 0, NULL, what }
#define CLI_JSON(T, what) \
  { "json", 0, CLI_FLAG, NULL, 0, 0, offsetof(T, common.json), 0, NULL, what }
/* --progress into T's int field progress (cli_progress_mode). */
#define CLI_PROGRESS(T)                                                         \
  {                                                                             \
    "progress", 0, CLI_FLAG, NULL, 0, 0, offsetof(T, progress), 0, NULL,        \
        "a progress line every 5 % on stderr (for logs; a terminal gets a bar)" \
  }
#define CLI_QUIET(T)                                                                         \
  {"quiet", 'q', CLI_FLAG, NULL, 0, 0, offsetof(T, common.quiet), 0, NULL, "errors only"}, { \
    "verbose", 'v', CLI_COUNT, NULL, 0, 0, offsetof(T, common.verbose), 0, NULL,             \
        "more detail (-vv: debug); errors show where in mnsim they were raised"              \
  }

/* Parse @p argv (argv[0] is the command's name) with table @p tab into @p opts. @return -1 when
 * the command should go on (*first: the first operand), or an exit code: EXIT_OK after --help
 * (printed with @p help), EXIT_USAGE after a usage error (printed). */
int cli_parse(const char *cmd, const cli_option *tab, size_t n, void (*help)(void), int argc,
              char **argv, void *opts, cli_opts *common, int *first);
/* Long name of the option whose CLI_CALL/CLI_LIST handler is running ("region"), for its
 * messages; "?" outside a handler. */
const char *cli_current_option(void);
/* The options section of --help from @p tab. */
void cli_print_options(const cli_option *tab, size_t n);

int cmd_device(int argc, char **argv);
int cmd_skin(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_sensitivity(int argc, char **argv);
int cmd_plan(int argc, char **argv);

#endif
