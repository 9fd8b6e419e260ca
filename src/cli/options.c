/* The commands' option tables: parsing argv with getopt_long from a table, one message shape for
 * every value out of range, and the options section of --help from the same table. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum { MAX_OPTIONS = 48 };

/* The option whose handler runs (CLI_CALL, CLI_LIST), for its messages. */
static const char *current;

const char *cli_current_option(void) {
  return current ? current : "?";
}

/* getopt_long's value for table entry @p i: its letter, or 256 + i. */
static int code_of(const cli_option *o, size_t i) {
  return o->letter ? o->letter : 256 + (int)i;
}

static int value(const char *cmd, const cli_option *o, const char *arg, void *opts) {
  char *field = (char *)opts + o->offset;
  long v;
  double d;
  uint64_t u;
  switch (o->kind) {
    case CLI_INT:
      if (mn_parse_long(arg, &v) || v < o->min || v > o->max)
        return cli_usage_error(cmd, "--%s '%s' must be an integer in [%g, %g]", o->name, arg,
                               o->min, o->max);
      *(int *)field = (int)v;
      return -1;
    case CLI_DOUBLE:
      if (mn_parse_double(arg, &d) || !(d >= o->min && d <= o->max))
        return cli_usage_error(cmd, "--%s '%s' must be a number in [%g, %g]", o->name, arg, o->min,
                               o->max);
      *(double *)field = d;
      return -1;
    case CLI_U64:
      if (mn_parse_u64(arg, &u))
        return cli_usage_error(cmd, "--%s '%s' must be an integer in [0, 2^64 - 1]", o->name, arg);
      *(uint64_t *)field = u;
      *(int *)((char *)opts + o->set) = 1;
      return -1;
    case CLI_STRING: /* paths: refused whole rather than cut and half created */
      if (o->meta && (!strcmp(o->meta, "DIR") || !strcmp(o->meta, "FILE")) &&
          strlen(arg) > CLI_PATH_MAX)
        return cli_usage_error(cmd, "--%s: the path has %zu characters; at most %d", o->name,
                               strlen(arg), CLI_PATH_MAX);
      *(const char **)field = arg;
      return -1;
    case CLI_CALL:
    case CLI_LIST: {
      current = o->name;
      int rc = o->call(opts, arg);
      current = NULL;
      return rc ? rc : -1;
    }
    case CLI_COUNT:
      (*(int *)field)++;
      return -1;
    default: /* CLI_FLAG */
      *(int *)field = 1;
      return -1;
  }
}

/* getopt_long's tables from ours: the long options and the short option string. */
static void build(const cli_option *tab, size_t n, struct option *lo, char *shorts) {
  char *s = shorts;
  *s++ = ':';
  for (size_t i = 0; i < n; i++) {
    int arg = tab[i].kind == CLI_FLAG || tab[i].kind == CLI_COUNT ? no_argument : required_argument;
    lo[i] = (struct option){tab[i].name, arg, 0, code_of(&tab[i], i)};
    if (tab[i].letter) {
      *s++ = (char)tab[i].letter;
      if (arg == required_argument) *s++ = ':';
    }
  }
  lo[n] = (struct option){"help", no_argument, 0, 'h'};
  lo[n + 1] = (struct option){0, 0, 0, 0};
  *s++ = 'h';
  *s = 0;
}

int cli_parse(const char *cmd, const cli_option *tab, size_t n, void (*help)(void), int argc,
              char **argv, void *opts, cli_opts *common, int *first) {
  struct option lo[MAX_OPTIONS + 2];
  char shorts[2 * MAX_OPTIONS + 3];
  if (n > MAX_OPTIONS) return cli_usage_error(cmd, "internal: too many options");
  build(tab, n, lo, shorts);
  optind = 1;
  opterr = 0;
  int c;
  unsigned char given[MAX_OPTIONS] = {0};
  while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
    if (c == 'h') {
      help();
      return EXIT_OK;
    }
    if (c == ':') return cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
    size_t i = 0;
    while (i < n && code_of(&tab[i], i) != c) i++;
    if (i == n) return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    /* a value given twice is refused: the last one would silently win (or, for a list such as
     * --params, a long run would end in a confusing failure); lists (CLI_LIST) add an item each
     * time, flags and counts harmlessly repeat */
    int k = tab[i].kind;
    if (given[i] && k != CLI_FLAG && k != CLI_COUNT && k != CLI_LIST)
      return cli_usage_error(cmd, "--%s is given twice; give it once", tab[i].name);
    given[i] = 1;
    int rc = value(cmd, &tab[i], optarg, opts);
    if (rc >= 0) return rc;
  }
  *first = optind;
  cli_log_setup(common);
  return -1;
}

void cli_print_options(const cli_option *tab, size_t n) {
  printf("options:\n");
  for (size_t i = 0; i < n; i++) {
    char left[64];
    const cli_option *o = &tab[i];
    int k = o->letter ? snprintf(left, sizeof left, "  -%c, --%s", o->letter, o->name)
                      : snprintf(left, sizeof left, "      --%s", o->name);
    if (o->meta && k > 0) snprintf(left + k, sizeof left - (size_t)k, " %s", o->meta);
    printf("%-26s %s\n", left, o->help);
  }
  printf("%-26s %s\n", "  -h, --help", "this text");
}
