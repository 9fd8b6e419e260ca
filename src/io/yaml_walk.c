/* The YAML walker shared by the case and patient files: libyaml's document API walked against
 * descriptor tables; every error names the file, line, column and key path, unknown keys get the
 * nearest valid key. Pipeline: io; case.c and patient.c supply the tables and the handlers of
 * their lists and subsections. References: Redis config.c static_configs[] (table-driven keys),
 * Lua lauxlib.c luaL_where (positioned messages). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "io_impl.h"

/* Error positions come two ways. A failure at a node while walking takes that node's position
 * (mn__y_fail; scalar_value for values the descriptor refuses). A failure found later (outline
 * checks, skin and lesion checks, the plan request's checks) has only a key path: every key's
 * position is recorded as it is read (mn__y_add_loc), and mn__y_locate places the error at the
 * longest recorded key that starts its key path. libyaml's marks are 0-based; ours 1-based. The
 * first position set on an error is kept, so a coarse fallback never replaces a precise one. */

/* ---- positions ---------------------------------------------------------------------------- */

/* Record key path @p key at the position of node @p n (a key's value, so that a range error
 * points at the value). Returns -1 when the list cannot grow. */
int mn__y_add_loc(mn_yctx *x, const char *key, const yaml_node_t *n) {
  if (*x->n_locs == *x->cap_locs) {
    int cap = *x->cap_locs ? 2 * *x->cap_locs : 64;
    mn_case_loc *l = mn_realloc_array(*x->locs, (size_t)cap, sizeof *l);
    if (!l) return -1;
    *x->locs = l;
    *x->cap_locs = cap;
  }
  mn_case_loc *l = &(*x->locs)[(*x->n_locs)++];
  snprintf(l->key, sizeof l->key, "%s", key);
  l->line = (int)n->start_mark.line + 1;
  l->col = (int)n->start_mark.column + 1;
  return 0;
}

/* A recorded key matches when it is the error's key or a prefix of it ending at '.' or '[':
 * "treatment.passes[1].depth_mm" falls back to "treatment.passes[1]" when the file left depth_mm
 * at its default, then to "treatment.passes". Among equal lengths the later record wins. The
 * file name is set even when no key matches. */
void mn__y_locate(const char *file, const mn_case_loc *locs, int n_locs, mn_error *err) {
  if (!err) return;
  mn_error_set_position(err, file, 0, 0);
  const mn_case_loc *best = NULL;
  size_t best_len = 0;
  for (int i = 0; i < n_locs; i++) {
    size_t n = strlen(locs[i].key);
    const char *k = err->key;
    int prefix = strncmp(k, locs[i].key, n) == 0 && (k[n] == '\0' || k[n] == '.' || k[n] == '[');
    if (prefix && n >= best_len) best = &locs[i], best_len = n;
  }
  if (best) mn_error_set_position(err, file, best->line, best->col);
}

/* Fail at node @p n: record the error and its position. */
int mn__y_fail(mn_yctx *x, const yaml_node_t *n, int code, const char *key, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  MN_ERR(x->err, code, key, "%s", msg);
  if (n)
    mn_error_set_position(x->err, x->file, (int)n->start_mark.line + 1,
                          (int)n->start_mark.column + 1);
  return code;
}

const char *mn__y_kind(const yaml_node_t *n) {
  switch (n->type) {
    case YAML_SCALAR_NODE:
      return "a single value";
    case YAML_SEQUENCE_NODE:
      return "a list";
    case YAML_MAPPING_NODE:
      return "a section of keys";
    default:
      return "empty";
  }
}

const char *mn__y_scalar(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

/* YAML's null: an empty plain scalar, "~" or "null". A quoted "" is a value, not a null. */
int mn__y_is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *s = mn__y_scalar(n);
  return !*s || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

/* ---- table-driven mappings ------------------------------------------------------------------ */

/* "unknown key" at the key's node, with the nearest known key when one is close and the list of
 * the keys valid in this section (the table's, then the handlers'; at most 64). */
static int unknown_key(mn_yctx *x, const yaml_node_t *kn, const char *path, const char *key,
                       const mn_config_desc *tab, size_t n, const mn__y_extra *extra, size_t ne) {
  const char *cands[64];
  size_t m = 0;
  for (size_t i = 0; i < n && m < 64; i++) cands[m++] = tab[i].key;
  for (size_t i = 0; i < ne && m < 64; i++) cands[m++] = extra[i].key;
  const char *near = mn_nearest(key, cands, m);
  char full[200], known[600];
  snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
  size_t used = 0;
  for (size_t i = 0; i < m && used < sizeof known; i++)
    used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", cands[i]);
  if (near)
    return mn__y_fail(x, kn, MN_EINPUT, full,
                      "unknown key '%s'; did you mean '%s'? (known here: %s)", full, near, known);
  return mn__y_fail(x, kn, MN_EINPUT, full, "unknown key '%s' (known here: %s)", full, known);
}

/* A table key's value: a single, non-null scalar, parsed and range-checked by its descriptor.
 * mn_config_parse knows nothing of YAML, so its errors get the value's position here. */
static int scalar_value(mn_yctx *x, const mn_config_desc *d, const yaml_node_t *v, const char *full,
                        void *obj) {
  char allowed[256];
  mn_config_allowed(d, allowed, sizeof allowed);
  if (v->type != YAML_SCALAR_NODE)
    return mn__y_fail(x, v, MN_EINPUT, full, "%s must be a single value, not %s (allowed: %s)",
                      full, mn__y_kind(v), allowed);
  if (mn__y_is_null(v))
    return mn__y_fail(x, v, MN_EINPUT, full, "%s has no value (allowed: %s)", full, allowed);
  int rc = mn_config_parse(d, mn__y_scalar(v), obj, full, x->err);
  if (rc)
    mn_error_set_position(x->err, x->file, (int)v->start_mark.line + 1,
                          (int)v->start_mark.column + 1);
  return rc;
}

/* A key's error is held (x->held) and the walk goes on to the next key, so that a file's
 * problems come out together, in file order: the one held before is logged. Only input errors are
 * held, at most 20; the field keeps its default meanwhile. Returns MN_OK when the error is held,
 * else @p rc. */
static void log_held(const mn_yctx *x) {
  char buf[1200];
  mn_error_format(&x->held, buf, sizeof buf, 0);
  mn_log(MN_LOG_ERROR, "%s", buf);
}

static int hold(mn_yctx *x, int rc) {
  if (rc == MN_OK || !x->err || !mn_status_is_user_error(rc) || x->n_held >= 20) return rc;
  if (x->n_held > 0) log_held(x);
  x->held = *x->err;
  x->n_held++;
  mn_error_clear(x->err);
  return MN_OK;
}

/* Keys must be plain scalars. libyaml keeps both copies of a repeated key, so duplicates are
 * refused here (a quadratic scan; sections have a handful of keys), naming the first one's
 * line. Each key's position is recorded before its value is parsed; the key is looked up in the
 * table first, then among the handlers of lists and subsections. The first failure ends the
 * walk. */
int mn__y_walk_map(mn_yctx *x, const yaml_node_t *map, const char *path, const mn_config_desc *tab,
                   size_t n, void *obj, const mn__y_extra *extra, size_t ne) {
  char top[64];
  snprintf(top, sizeof top, "the %s", x->what);
  if (map->type != YAML_MAPPING_NODE)
    return mn__y_fail(x, map, MN_EINPUT, path, "%s must be a section of 'key: value' lines, not %s",
                      *path ? path : top, mn__y_kind(map));
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
    if (k->type != YAML_SCALAR_NODE)
      return mn__y_fail(x, k, MN_EINPUT, path, "a key in %s must be a plain name, not %s",
                        *path ? path : top, mn__y_kind(k));
    const char *key = mn__y_scalar(k);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++)
      if (strcmp(mn__y_scalar(yaml_document_get_node(x->doc, q->key)), key) == 0) {
        yaml_node_t *first = yaml_document_get_node(x->doc, q->key);
        int rc = mn__y_fail(x, k, MN_EINPUT, key, "key '%s%s%s' is given twice (first on line %d)",
                            path, *path ? "." : "", key, (int)first->start_mark.line + 1);
        if (hold(x, rc)) return rc;
        goto next_key;
      }
    char full[200];
    snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (mn__y_add_loc(x, full, v) != 0)
      return mn__y_fail(x, k, MN_ENOMEM, full, "out of memory reading %s", full);
    const mn_config_desc *d = mn_config_find(tab, n, key);
    int rc = MN_OK, found = d != NULL;
    if (d) rc = scalar_value(x, d, v, full, obj);
    for (size_t e = 0; !found && e < ne; e++)
      if (strcmp(extra[e].key, key) == 0) found = 1, rc = extra[e].fn(x, full, v, obj);
    if (!found) rc = unknown_key(x, k, path, key, tab, n, extra, ne);
    if (hold(x, rc)) return rc;
  next_key:;
  }
  return MN_OK;
}

/* ---- lists ------------------------------------------------------------------------------ */

int mn__y_need_list(mn_yctx *x, const char *path, const yaml_node_t *v, int max, int *count) {
  if (v->type != YAML_SEQUENCE_NODE)
    return mn__y_fail(x, v, MN_EINPUT, path, "%s must be a list (lines starting with '- '), not %s",
                      path, mn__y_kind(v));
  long n = v->data.sequence.items.top - v->data.sequence.items.start;
  if (n > max)
    return mn__y_fail(x, v, MN_ERANGE, path, "%s has %ld entries; at most %d are allowed", path, n,
                      max);
  *count = (int)n;
  return MN_OK;
}

/* Items of a list of sections, each parsed against @p tab into items + i * stride after its
 * defaults are set. */
int mn__y_walk_items(mn_yctx *x, const char *path, const yaml_node_t *v, const mn_config_desc *tab,
                     size_t nt, void *items, size_t stride, int n) {
  for (int i = 0; i < n; i++) {
    yaml_node_t *item = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
    char ip[64];
    snprintf(ip, sizeof ip, "%s[%d]", path, i);
    if (mn__y_add_loc(x, ip, item) != 0) return mn__y_fail(x, item, MN_ENOMEM, ip, "out of memory");
    void *obj = (char *)items + (size_t)i * stride;
    mn_config_defaults(tab, nt, obj);
    int rc = mn__y_walk_map(x, item, ip, tab, nt, obj, NULL, 0);
    if (rc) return rc;
  }
  return MN_OK;
}

/* libyaml's problem text at its problem mark; with a context ("while parsing a block mapping")
 * the message also gives the line where that construct started. */
int mn__y_syntax_error(mn_yctx *x, const yaml_parser_t *ps, const char *text, size_t len) {
  int line = (int)ps->problem_mark.line + 1, col = (int)ps->problem_mark.column + 1;
  if (ps->error == YAML_READER_ERROR) { /* no mark for bad bytes: line and column of the offset */
    line = 1, col = 1;
    for (size_t i = 0; i < ps->problem_offset && i < len; i++) {
      unsigned char c = (unsigned char)text[i];
      if (c == '\n')
        line++, col = 1;
      else if ((c & 0xC0) != 0x80)
        col++; /* columns count characters, not UTF-8 bytes */
    }
  }
  if (ps->error == YAML_MEMORY_ERROR)
    return MN_ERR(x->err, MN_ENOMEM, "", "out of memory reading the %s", x->what);
  if (ps->context)
    MN_ERR(x->err, MN_EINPUT, "", "YAML syntax error: %s %s (the construct started on line %d)",
           ps->problem ? ps->problem : "error", ps->context, (int)ps->context_mark.line + 1);
  else
    MN_ERR(x->err, MN_EINPUT, "", "YAML syntax error: %s", ps->problem ? ps->problem : "error");
  mn_error_set_position(x->err, x->file, line, col);
  return MN_EINPUT;
}

/* libyaml's loader is quadratic in nesting depth: scan the events first and refuse deep nesting
 * (a case or patient file needs four levels) before building the document. */
int mn__y_check_depth(mn_yctx *x, const char *text, size_t len) {
  enum { MAX_DEPTH = 32 };
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps)) return MN_ERR(x->err, MN_ENOMEM, "", "out of memory");
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  int depth = 0, rc = MN_OK;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&ps, &ev)) break; /* syntax errors are reported by the loader */
    yaml_event_type_t t = ev.type;
    int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
    yaml_event_delete(&ev);
    if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) depth++;
    if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) depth--;
    if (depth > MAX_DEPTH) {
      MN_ERR(x->err, MN_EINPUT, "", "nesting deeper than %d levels; a %s needs four", MAX_DEPTH,
             x->what);
      mn_error_set_position(x->err, x->file, line, col);
      rc = MN_EINPUT;
      break;
    }
    if (t == YAML_STREAM_END_EVENT) break;
  }
  yaml_parser_delete(&ps);
  return rc;
}

/* A scalar with a NUL inside ("pen-12\0junk", from the escape \0) would be cut short by every
 * C string function: refused, at the scalar, with its key path (device.model, regions[1].region;
 * a key that holds one is named by its own text up to the NUL). The depth is already bounded
 * (mn__y_check_depth), so the recursion is too. */
static int nul_walk(mn_yctx *x, yaml_node_t *n, char *path, size_t len, size_t cap) {
  if (!n) return MN_OK;
  if (n->type == YAML_SCALAR_NODE) {
    if (!memchr(n->data.scalar.value, 0, n->data.scalar.length)) return MN_OK;
    return mn__y_fail(x, n, MN_EINPUT, path,
                      "%s: the value holds a NUL character (\\0); values are plain text",
                      len ? path : "the document");
  }
  int rc = MN_OK;
  if (n->type == YAML_SEQUENCE_NODE) {
    int i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         rc == MN_OK && it < n->data.sequence.items.top; it++, i++) {
      snprintf(path + len, cap - len, "[%d]", i);
      rc = nul_walk(x, yaml_document_get_node(x->doc, *it), path, strlen(path), cap);
    }
  } else if (n->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         rc == MN_OK && pr < n->data.mapping.pairs.top; pr++) {
      yaml_node_t *k = yaml_document_get_node(x->doc, pr->key);
      const char *name =
          k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
      snprintf(path + len, cap - len, "%s%s", len ? "." : "", name);
      size_t l2 = strlen(path);
      rc = nul_walk(x, k, path, l2, cap);
      if (rc == MN_OK) rc = nul_walk(x, yaml_document_get_node(x->doc, pr->value), path, l2, cap);
    }
  }
  path[len] = 0;
  return rc;
}

static int check_nul(mn_yctx *x) {
  char path[256] = "";
  return nul_walk(x, yaml_document_get_root_node(x->doc), path, 0, sizeof path);
}

/* The depth check runs first, on its own event parser. After the root has been walked, one more
 * load tells the end of the stream (a document without a root) from a second document, and
 * reports a syntax error in whatever follows the first (such errors were once ignored, and the
 * final checks skipped with them). x->doc is valid only during root_fn. */
int mn__y_parse(mn_yctx *x, const char *text, size_t len,
                int (*root_fn)(mn_yctx *x, const yaml_node_t *root)) {
  yaml_parser_t ps;
  yaml_document_t doc;
  int rc;
  if (!yaml_parser_initialize(&ps))
    return MN_ERR(x->err, MN_ENOMEM, "", "out of memory reading the %s", x->what);
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  if ((rc = mn__y_check_depth(x, text, len)) != MN_OK) {
    yaml_parser_delete(&ps);
    return rc;
  }
  if (!yaml_parser_load(&ps, &doc)) {
    rc = mn__y_syntax_error(x, &ps, text, len);
  } else {
    x->doc = &doc;
    rc = check_nul(x);
    if (rc == MN_OK) rc = root_fn(x, yaml_document_get_root_node(&doc));
    /* the last problem held is the one returned (the others were logged); an input problem
     * root_fn found after its walk (checks across keys, such as a missing list) may follow from
     * a held one and is dropped: those checks run once the keys are right */
    if (x->n_held > 0 && (rc == MN_OK || mn_status_is_user_error(rc))) {
      *x->err = x->held;
      rc = x->held.code;
    } else if (x->n_held > 0) { /* a failure of another kind ended the walk: it comes last */
      log_held(x);
    }
    yaml_document_t next;
    if (rc == MN_OK && !yaml_parser_load(&ps, &next))
      rc = mn__y_syntax_error(x, &ps, text, len);
    else if (rc == MN_OK) {
      int more = yaml_document_get_root_node(&next) != NULL;
      int line = (int)next.start_mark.line + 1;
      yaml_document_delete(&next);
      if (more) {
        MN_ERR(x->err, MN_EINPUT, "", "a %s holds one YAML document; a second one starts here",
               x->what);
        mn_error_set_position(x->err, x->file, line, 1);
        rc = MN_EINPUT;
      }
    }
    x->doc = NULL;
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&ps);
  return rc;
}

enum {
  READ_LIMIT = 1 << 20, /* case files are a few kB */
  IDLE_LIMIT_S = 5
}; /* a pipe or FIFO silent this long has no writer */

/* A pipe or FIFO (`<(cat case.yaml)`, mkfifo), opened without blocking: read as its data come,
 * until end of file, READ_LIMIT + 1 bytes, IDLE_LIMIT_S seconds without data (a FIFO nobody
 * writes to would otherwise block for ever) or a stop request. @return the bytes read, or -1
 * with errno (ETIME: no data in time; EINTR: stopped). */
static long read_stream(int fd, char *b, size_t cap) {
  size_t n = 0;
  int idle_ms = 0;
  while (n < cap) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 200);
    if (mn_stop_requested()) return errno = EINTR, -1;
    if (r < 0 && errno != EINTR) return -1;
    if (r <= 0) {
      if ((idle_ms += 200) >= 1000 * IDLE_LIMIT_S) return errno = ETIME, -1;
      continue;
    }
    ssize_t k = read(fd, b + n, cap - n);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k < 0) return -1;
    if (k == 0) break;
    n += (size_t)k, idle_ms = 0;
  }
  return (long)n;
}

/* One read of up to READ_LIMIT + 1 bytes tells an over-long file without a stat. The buffer is
 * not NUL-terminated: the parser takes its length. A directory or a device is refused; a pipe or
 * FIFO is read with a time limit. Errors are placed at the file (no line). */
int mn__y_read_file(const char *path, const char *what, char **buf, size_t *len, mn_error *err) {
  *buf = NULL, *len = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc = MN_OK;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    /* the user named a file that cannot be opened: bad input (exit 2), not a runtime failure */
    MN_ERR(err, MN_EINPUT, "", "cannot open %s: %s", what, strerror(e));
    mn_error_set_position(err, path, 0, 0);
    return MN_EINPUT;
  }
  int stream = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
  if (!S_ISREG(st.st_mode) && !stream) {
    close(fd);
    if (S_ISDIR(st.st_mode))
      MN_ERR(err, MN_EINPUT, "", "cannot read %s: %s", what, strerror(EISDIR));
    else
      MN_ERR(err, MN_EINPUT, "", "the %s is a device, not a regular file; give a YAML file", what);
    mn_error_set_position(err, path, 0, 0);
    return MN_EINPUT;
  }
  char *b = mn_malloc(READ_LIMIT + 1);
  long n = -1;
  int e = 0;
  if (b && stream) {
    n = read_stream(fd, b, READ_LIMIT + 1);
  } else if (b) {
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (fp) {
      n = (long)fread(b, 1, READ_LIMIT + 1, fp);
      if (ferror(fp)) n = -1;
      e = errno;
      fclose(fp);
      fd = -1;
    }
  }
  if (n < 0 && !e) e = errno;
  if (fd >= 0) close(fd);
  if (!b)
    rc = MN_ERR(err, MN_ENOMEM, "", "out of memory reading the %s", what);
  else if (n < 0 && e == ETIME)
    rc = MN_ERR(err, MN_EINPUT, "",
                "no data from the %s for %d s (a pipe or FIFO without a writer?); give a YAML "
                "file",
                what, IDLE_LIMIT_S);
  else if (n < 0 && e == EINTR)
    rc = mn_stop_error(err, "reading the input");
  else if (n < 0)
    rc = MN_ERR(err, MN_EINPUT, "", "cannot read %s: %s", what, strerror(e));
  else if (n > READ_LIMIT)
    rc = MN_ERR(err, MN_EINPUT, "", "%s is larger than 1 MiB", what);
  if (rc) {
    mn_error_set_position(err, path, 0, 0);
    mn_free(b);
    return rc;
  }
  *buf = b, *len = (size_t)n;
  return MN_OK;
}
