/* In-memory CSV tables: the data tables compiled into the library (anatomy, devices, healing
 * parameters, targets, posterior draws, candidacy rules) and user-supplied ones.
 * Pipeline: core; skin, device, healing, infer and plan read their tables through it.
 * Reference: RFC 4180 (quoting), extended with '#' comment lines. */
#include <string.h>

#include "mnsim/core.h"

/* Split one record starting at *pp in place; fields are NUL-terminated and unquoted. Returns the
 * field count, or -1 on an unterminated quote. *line is advanced over the newlines inside quoted
 * fields (the caller counts the one that ends the record); *pp moves past the record's end.
 *
 * In place works because the write pointer w never passes the read pointer p: dropping quotes
 * only shortens a field. A quote opens a quoted field only at the start of a field; anywhere
 * else it is an ordinary character. Quoted fields may hold commas and newlines. Fields past
 * @p max_fields are counted but not stored, so the caller refuses the record by its count
 * without a write past @p fields (a fuzzing find). A record ends at LF, CR LF, a lone CR or
 * the end of the text. */
static int split_record(char **pp, char **fields, int max_fields, int *line) {
  char *p = *pp, *w = p, *start = p; /* start: where the current field begins */
  int n = 0;
  fields[n++] = w;
  for (;;) {
    char c = *p;
    if (c == '"' && w == start) { /* a quote opening a field */
      p++;                        /* quoted field */
      for (;;) {
        if (!*p) return -1;
        if (*p == '"' && p[1] == '"') {
          *w++ = '"';
          p += 2;
        } else if (*p == '"') {
          p++;
          break;
        } else {
          if (*p == '\n') (*line)++;
          *w++ = *p++;
        }
      }
      continue;
    }
    if (c == ',') {
      *w = '\0';
      p++;
      w = start = p;
      if (n < max_fields) fields[n] = w;
      n++;
      continue;
    }
    if (c == '\0' || c == '\n' || c == '\r') {
      *w = '\0';
      if (c == '\r' && p[1] == '\n') p++;
      if (c) p++;
      *pp = p;
      return n;
    }
    *w++ = *p++;
  }
}

void mn_csv_fini(mn_csv *c) {
  if (!c) return;
  if (c->rows)
    for (int i = 0; i < c->nrows; i++) mn_free(c->rows[i]);
  mn_free(c->rows);
  mn_free(c->nfields);
  mn_free(c->lineno);
  mn_free(c->header);
  mn_free(c->buf);
  memset(c, 0, sizeof *c);
}

/* One pass over a private NUL-terminated copy of the text: the first record that is not blank
 * or a comment is the header, every later one a row. All fields point into out->buf; each row
 * is its own array of field pointers, and the row, field-count and line-number arrays grow by
 * doubling. A row's line number is that of its first line (a quoted field may span several).
 * On any failure the partial table is freed and zeroed. */
int mn_csv_parse(const char *text, size_t len, const char *name, mn_csv *out, mn_error *err) {
  enum { MAXF = 160 }; /* the posterior table has a column per varying parameter */
  int rc = MN_OK;
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", name ? name : "table");
  int cap = 0;
  char *fields[MAXF];
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
    text += 3, len -= 3;
  out->buf = mn_malloc(len + 1);
  MN_CHECK(out->buf, err, MN_ENOMEM, "", "out of memory reading %s", out->name);
  memcpy(out->buf, text, len);
  out->buf[len] = '\0';
  MN_CHECK(strlen(out->buf) == len, err, MN_EINPUT, "", "%s: contains a NUL byte", out->name);
  char *p = out->buf;
  int line = 1;
  while (*p) {
    int start = line;
    if (*p == '#' || *p == '\n' || *p == '\r') { /* comment or blank line */
      while (*p && *p != '\n') p++;
      if (*p) p++;
      line++;
      continue;
    }
    int n = split_record(&p, fields, MAXF, &line);
    line++;
    if (n < 0) {
      rc = MN_ERR(err, MN_EINPUT, "", "%s:%d: unterminated quoted field", out->name, start);
      goto cleanup;
    }
    MN_CHECK(n <= MAXF, err, MN_EINPUT, "", "%s:%d: more than %d fields", out->name, start, MAXF);
    if (!out->header) {
      out->header = mn_malloc_array((size_t)n, sizeof(char *));
      MN_CHECK(out->header, err, MN_ENOMEM, "", "out of memory reading %s", out->name);
      memcpy(out->header, fields, (size_t)n * sizeof(char *));
      out->ncols = n;
      continue;
    }
    MN_CHECK(n == out->ncols, err, MN_EINPUT, "", "%s:%d: %d fields, the header has %d", out->name,
             start, n, out->ncols);
    if (out->nrows == cap) {
      int ncap = cap ? 2 * cap : 16;
      char ***r = mn_realloc_array(out->rows, (size_t)ncap, sizeof *r);
      MN_CHECK(r, err, MN_ENOMEM, "", "out of memory reading %s", out->name);
      out->rows = r;
      int *nf = mn_realloc_array(out->nfields, (size_t)ncap, sizeof *nf);
      MN_CHECK(nf, err, MN_ENOMEM, "", "out of memory reading %s", out->name);
      out->nfields = nf;
      int *ln = mn_realloc_array(out->lineno, (size_t)ncap, sizeof *ln);
      MN_CHECK(ln, err, MN_ENOMEM, "", "out of memory reading %s", out->name);
      out->lineno = ln;
      cap = ncap;
    }
    char **row = mn_malloc_array((size_t)n, sizeof(char *));
    MN_CHECK(row, err, MN_ENOMEM, "", "out of memory reading %s", out->name);
    memcpy(row, fields, (size_t)n * sizeof(char *));
    out->rows[out->nrows] = row;
    out->nfields[out->nrows] = n;
    out->lineno[out->nrows] = start;
    out->nrows++;
  }
  MN_CHECK(out->header, err, MN_EINPUT, "", "%s: no header line", out->name);
  return MN_OK;
cleanup:
  mn_csv_fini(out);
  return rc;
}

int mn_csv_col(const mn_csv *c, const char *name) {
  for (int j = 0; j < c->ncols; j++)
    if (strcmp(c->header[j], name) == 0) return j;
  return -1;
}

int mn_csv_require(const mn_csv *c, const char *name, int *col, mn_error *err) {
  *col = mn_csv_col(c, name);
  if (*col < 0) return MN_ERR(err, MN_EINPUT, "", "%s: missing column '%s'", c->name, name);
  return MN_OK;
}

int mn_csv_double(const mn_csv *c, int r, int col, double *out, mn_error *err) {
  if (mn_parse_double(c->rows[r][col], out) != 0)
    return MN_ERR(err, MN_EINPUT, "", "%s:%d: column '%s' = '%s' is not a finite number", c->name,
                  c->lineno[r], c->header[col], c->rows[r][col]);
  return MN_OK;
}
