/* Small text utilities: strict number parsing for configuration values (the whole text, finite,
 * decimal only), the edit distance and the nearest-name suggestions behind every "did you mean"
 * message. Pipeline: core; used by descriptors, the CSV tables, io and the CLI. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/core.h"

uint64_t mn_fnv1a64(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/* Levenshtein distance by the two-row dynamic programme: O(la lb) time, two rows of ints on the
 * stack, which is why names longer than 64 characters are not compared. Case is ignored (ASCII),
 * so "Cheek" and "cheek" are 0 apart. */
int mn_edit_distance(const char *a, const char *b) {
  enum { CAP = 64 };
  size_t la = strlen(a), lb = strlen(b);
  if (la > CAP || lb > CAP) return 255;
  int prev[CAP + 1], cur[CAP + 1];
  for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int sub =
          prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, (lb + 1) * sizeof *prev);
  }
  return prev[lb] > 255 ? 255 : prev[lb];
}

/* A suggestion must be close relative to the word's length: a third of its letters, at least 2,
 * and fewer edits than the word has letters (so "ab" never suggests "xy"). A word of three or
 * more letters that begins a candidate counts as 2 edits at most. Ties go to the first
 * candidate. */
const char *mn_nearest(const char *word, const char *const *cands, size_t n) {
  const char *best = NULL;
  int best_d = 1 << 20;
  size_t lw = strlen(word);
  for (size_t i = 0; i < n; i++) {
    if (!cands[i]) continue;
    int d = mn_edit_distance(word, cands[i]);
    /* a word that starts a candidate ("fore" -> "forehead") counts as close */
    if (lw >= 3 && strncmp(word, cands[i], lw) == 0) d = d < 2 ? d : 2;
    if (d < best_d) {
      best_d = d;
      best = cands[i];
    }
  }
  int limit = (int)(lw / 3);
  if (limit < 2) limit = 2;
  if (!best || best_d > limit || (size_t)best_d >= lw) return NULL;
  return best;
}

static const char *skip_blank(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* strtod alone would take hex floats, "inf", "nan" and trailing junk; a case file must hold plain
 * decimal numbers. A decimal number has no x, n or i, so those letters rule the rest out (e and
 * E stay for exponents). Underflow to a tiny or zero value is accepted; overflow is refused. */
int mn_parse_double(const char *s, double *out) {
  s = skip_blank(s);
  if (!*s) return -1;
  for (const char *c = s; *c; c++) /* decimal only: no hex floats, inf or nan */
    if (*c == 'x' || *c == 'X' || *c == 'n' || *c == 'N' || *c == 'i' || *c == 'I') return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || (errno == ERANGE && fabs(v) > 1.0)) return -1; /* overflow; underflow gives 0 */
  end = (char *)skip_blank(end);
  if (*end || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int mn_parse_long(const char *s, long *out) {
  s = skip_blank(s);
  if (!*s) return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || errno == ERANGE) return -1;
  end = (char *)skip_blank(end);
  if (*end) return -1;
  *out = v;
  return 0;
}

/* Digits only, no sign: strtoull would take "-1" and wrap it to 2^64 - 1. Overflow is checked
 * before each step, so the whole range up to 18446744073709551615 is accepted. */
int mn_parse_u64(const char *s, uint64_t *out) {
  s = skip_blank(s);
  uint64_t v = 0;
  if (!*s) return -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  if (*skip_blank(s)) return -1;
  *out = v;
  return 0;
}

void mn_format_double(char *buf, size_t size, double v, int sig) {
  snprintf(buf, size, "%.*g", sig, v);
}

const char *mn_version(void) {
  return MNSIM_VERSION;
}
