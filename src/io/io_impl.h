/* Private to the io module: the case file's own descriptor tables (case.c) and the YAML walker
 * (yaml_walk.c) that case.c and patient.c share. */
#ifndef MNSIM_IO_IMPL_H
#define MNSIM_IO_IMPL_H

#include <yaml.h>

#include "mnsim/io.h"

/* Descriptor tables of the case file's own keys (top level; treatment rectangle). */
const mn_config_desc *mn__case_table(size_t *n);
const mn_config_desc *mn__treatment_table(size_t *n);

/* ---- the YAML walker (yaml_walk.c), shared by case files and patient files ---------------- */

/* The state of one parse. locs records the position of every key read, so that an error found
 * after the walk (a cross-key check, a range that needs the atlas) can still be placed on its
 * line through mn__y_locate. */
typedef struct mn_yctx {
  yaml_document_t *doc;
  const char *file;   /* name in messages */
  const char *what;   /* "the case file", "the patient file" */
  mn_case_loc **locs; /* key positions, grown as keys are read */
  int *n_locs, *cap_locs;
  void *user; /* the object being filled */
  mn_error *err;
  /* the problems of a file are reported together (issue 18): a key's error is held here while
   * the walk goes on; the next one logs it (mn_log, error level) and takes its place; the parse
   * returns the last one */
  mn_error held;
  int n_held;
} mn_yctx;

/* A key outside the table that the caller handles (a list or subsection). */
typedef int (*mn__y_extra_fn)(mn_yctx *x, const char *path, const yaml_node_t *val, void *obj);
typedef struct mn__y_extra {
  const char *key;
  mn__y_extra_fn fn;
} mn__y_extra;

int mn__y_add_loc(mn_yctx *x, const char *key, const yaml_node_t *n);
/* the position of err's key (or of the nearest enclosing key) */
void mn__y_locate(const char *file, const mn_case_loc *locs, int n_locs, mn_error *err);
/* record an error at node @p n (may be NULL) and return @p code */
int mn__y_fail(mn_yctx *x, const yaml_node_t *n, int code, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
const char *mn__y_kind(const yaml_node_t *n);
const char *mn__y_scalar(const yaml_node_t *n);
int mn__y_is_null(const yaml_node_t *n);
/* a mapping against @p tab (scalars) and @p extra (handlers) into @p obj */
int mn__y_walk_map(mn_yctx *x, const yaml_node_t *map, const char *path, const mn_config_desc *tab,
                   size_t n, void *obj, const mn__y_extra *extra, size_t ne);
/* @p v must be a list of at most @p max entries; its length in *count */
int mn__y_need_list(mn_yctx *x, const char *path, const yaml_node_t *v, int max, int *count);
/* a list of sections, each parsed against @p tab into items + i * stride after its defaults */
int mn__y_walk_items(mn_yctx *x, const char *path, const yaml_node_t *v, const mn_config_desc *tab,
                     size_t nt, void *items, size_t stride, int n);
int mn__y_syntax_error(mn_yctx *x, const yaml_parser_t *ps, const char *text, size_t len);
/* refuse deep nesting before libyaml's (quadratic) loader runs */
int mn__y_check_depth(mn_yctx *x, const char *text, size_t len);
/* parse one YAML document of @p text and hand its root to @p root_fn (NULL root: empty file);
 * a second document is an error */
int mn__y_parse(mn_yctx *x, const char *text, size_t len,
                int (*root_fn)(mn_yctx *x, const yaml_node_t *root));
/* read a whole file (at most 1 MiB) for a parser: MN_EINPUT when it cannot be opened or read */
int mn__y_read_file(const char *path, const char *what, char **buf, size_t *len, mn_error *err);

#endif
