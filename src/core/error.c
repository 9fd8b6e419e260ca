/* Status codes and the mn_error record: what failed (code, message, key path), where in the
 * input (file:line:col) and where in mnsim (C file, line and function, shown with -v).
 * Pipeline: core; every fallible function of every module reports through it.
 * Reference: libuv uv-common.c (one status list, UV_ERRNO_MAP), Lua lauxlib.c luaL_where. */
#include <stdio.h>
#include <string.h>

#include "mnsim/core.h"

/* Names and texts generated from the one list MN_STATUS_MAP, indexed by code (the list numbers
 * its codes 0, 1, 2... without gaps), so codes, names and texts cannot drift apart. */
static const char *const status_names[] = {
#define MN__NAME(name, value, text) "MN_" #name,
    MN_STATUS_MAP(MN__NAME)
#undef MN__NAME
};

static const char *const status_texts[] = {
#define MN__TEXT(name, value, text) text,
    MN_STATUS_MAP(MN__TEXT)
#undef MN__TEXT
};

const char *mn_status_name(int code) {
  if (code < 0 || code >= MN_STATUS_COUNT) return "MN_UNKNOWN";
  return status_names[code];
}

const char *mn_status_text(int code) {
  if (code < 0 || code >= MN_STATUS_COUNT) return "unknown status";
  return status_texts[code];
}

int mn_status_is_user_error(int code) {
  return code == MN_EUSAGE || code == MN_EINPUT || code == MN_ERANGE;
}

void mn_error_clear(mn_error *err) {
  if (err) memset(err, 0, sizeof *err);
}

/* Copy with truncation; snprintf keeps GCC's -Wformat-truncation quiet for fixed buffers. */
static void copy_str(char *dst, size_t size, const char *src) {
  if (!src) src = "";
  size_t n = strlen(src);
  if (n >= size) n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Shorten @p s (NUL-terminated, in a buffer of at least strlen + 1 bytes) to fit @p size bytes
 * by cutting the middle of its longest words - paths, in practice - to "...", each keeping 16
 * characters at either end, so that the short words (the reason, strerror's text) survive
 * whole. What still does not fit is cut at the end. */
static void elide(char *s, size_t size) {
  enum { KEEP = 16 };
  size_t len = strlen(s);
  while (len >= size) {
    size_t best = 0, best_len = 0; /* the longest run without blanks */
    for (size_t i = 0; i < len;) {
      size_t j = i;
      while (j < len && s[j] != ' ') j++;
      if (j - i > best_len) best = i, best_len = j - i;
      i = j + 1;
    }
    if (best_len <= 2 * KEEP + 3) break;
    size_t r = len - (size - 1) + 3; /* characters to take out, for "..." in their place */
    if (r > best_len - 2 * KEEP) r = best_len - 2 * KEEP;
    size_t from = best + (best_len - r) / 2; /* centred in the word */
    memcpy(s + from, "...", 3);
    memmove(s + from + 3, s + from + r, len - (from + r) + 1);
    len = len - r + 3;
  }
  if (len >= size) s[size - 1] = '\0';
}

/* The first error wins: the raise site nearest the cause sets the message, and a caller that
 * raises again on the way out cannot overwrite it. The source position strings are static
 * (__FILE__, __func__): stored, not copied. A message longer than the record's 640 bytes (long
 * paths) keeps its reason: the paths are cut in the middle (elide). */
int mn__error_set(mn_error *err, int code, const char *key, const char *src_file, int src_line,
                  const char *src_func, const char *fmt, ...) {
  if (!err || err->code != MN_OK) return code;
  err->code = code;
  char big[20000]; /* four paths of PATH_MAX and the words around them */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(big, sizeof big, fmt, ap);
  va_end(ap);
  elide(big, sizeof err->msg);
  copy_str(err->msg, sizeof err->msg, big);
  copy_str(err->key, sizeof err->key, key);
  err->src_file = src_file;
  err->src_line = src_line;
  err->src_func = src_func;
  return code;
}

void mn_error_set_position(mn_error *err, const char *file, int line, int col) {
  if (!err) return;
  if (file && !err->file[0]) copy_str(err->file, sizeof err->file, file);
  if (line > 0 && err->line == 0) {
    err->line = line;
    err->col = col;
  }
}

/* The Lua-style prefix takes as much of the position as is known: "file:line:col: ",
 * "file:line: " or "file: ". */
size_t mn_error_format(const mn_error *err, char *buf, size_t size, int verbose) {
  char pos[320] = "";
  if (err->file[0] && err->line > 0 && err->col > 0)
    snprintf(pos, sizeof pos, "%s:%d:%d: ", err->file, err->line, err->col);
  else if (err->file[0] && err->line > 0)
    snprintf(pos, sizeof pos, "%s:%d: ", err->file, err->line);
  else if (err->file[0])
    snprintf(pos, sizeof pos, "%s: ", err->file);
  const char *msg = err->msg[0] ? err->msg : mn_status_text(err->code);
  int n;
  if (verbose && err->src_file)
    n = snprintf(buf, size, "%s%s [%s %s:%d %s]", pos, msg, mn_status_name(err->code),
                 err->src_file, err->src_line, err->src_func ? err->src_func : "?");
  else
    n = snprintf(buf, size, "%s%s", pos, msg);
  return n < 0 ? 0 : (size_t)n;
}
