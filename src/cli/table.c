/* Text tables of the CLI (`mnsim validate`, `mnsim plan --rules`): columns fitted to the output's
 * width, long cells wrapped onto continuation lines instead of cut. The width: COLUMNS when set,
 * else the terminal's (TIOCGWINSZ) when stdout is one, else 80. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

int cli_term_width(void) {
  const char *c = getenv("COLUMNS");
  long v;
  if (c && !mn_parse_long(c, &v) && v >= 40 && v <= 1000) return (int)v;
  struct winsize ws;
  if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
    return ws.ws_col;
  return 80;
}

/* Shrink the widest column above its minimum, one character at a time, until the row fits in
 * @p width with the last column at least at its minimum; the last column takes what is left. */
void cli_table_fit(cli_col *cols, int n, int width) {
  int used = 0;
  for (int i = 0; i < n - 1; i++) used += cols[i].width + 1;
  while (used + cols[n - 1].min > width) {
    int w = -1;
    for (int i = 0; i < n - 1; i++)
      if (cols[i].width > cols[i].min && (w < 0 || cols[i].width > cols[w].width)) w = i;
    if (w < 0) break; /* every column at its minimum: the line is longer than the width */
    cols[w].width--, used--;
  }
  cols[n - 1].width = width - used > cols[n - 1].min ? width - used : cols[n - 1].min;
}

/* The next line of a cell of @p width from *s: up to the last space (or '_', '|', after which a
 * name may break) that fits, else @p width characters; *s moves past it and its blanks. */
static int next_piece(const char **s, int width, const char **piece) {
  while (**s == ' ') (*s)++;
  *piece = *s;
  int len = (int)strlen(*s);
  if (len <= width) {
    *s += len;
    return len;
  }
  int cut = -1;
  for (int i = width; i > 0 && cut < 0; i--)
    if ((*s)[i] == ' ') cut = i; /* the space itself is dropped */
  for (int i = width - 1; i > 0 && cut < 0; i--)
    if ((*s)[i] == '_' || (*s)[i] == '|' || (*s)[i] == '-') cut = i + 1; /* kept on this line */
  if (cut < 0) cut = width;
  *s += cut;
  return cut;
}

void cli_table_row(const cli_col *cols, int n, const char *const *cells) {
  const char *at[CLI_TABLE_MAX_COLS];
  int more;
  for (int i = 0; i < n && i < CLI_TABLE_MAX_COLS; i++) at[i] = cells[i] ? cells[i] : "";
  do { /* one printed line per pass, at least one */
    char line[4096];
    size_t len = 0;
    more = 0;
    for (int i = 0; i < n && i < CLI_TABLE_MAX_COLS; i++) {
      const char *p;
      int k = next_piece(&at[i], cols[i].width, &p);
      int pad = i < n - 1 ? cols[i].width - k : 0;
      len += (size_t)snprintf(line + len, len < sizeof line ? sizeof line - len : 0, "%.*s%*s%s", k,
                              p, pad, "", i < n - 1 ? " " : "");
      if (len >= sizeof line) len = sizeof line - 1;
      while (*at[i] == ' ') at[i]++;
      more |= *at[i] != 0;
    }
    while (len > 0 && line[len - 1] == ' ') len--; /* no trailing blanks */
    printf("%.*s\n", (int)len, line);
  } while (more);
}
