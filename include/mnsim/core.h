/* mnsim core: status codes and errors, logging, memory, the seeded RNG, progress reporting,
 * atomic output files, configuration descriptors and small text utilities.
 * Every other module builds on this one; it depends on nothing but libc and libm.
 * Style references: libuv UV_ERRNO_MAP (status list), Lua luaL_where (positioned messages),
 * SQLite malloc.c (one allocator with fault injection), Redis rdbSave (temp + rename). */
#ifndef MNSIM_CORE_H
#define MNSIM_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes. One list yields the enum, the names and the default texts. */
#define MN_STATUS_MAP(X)              \
  X(OK, 0, "success")                 \
  X(EUSAGE, 1, "bad usage")           \
  X(EINPUT, 2, "malformed input")     \
  X(ERANGE, 3, "value out of range")  \
  X(EIO, 4, "input/output error")     \
  X(ENOMEM, 5, "out of memory")       \
  X(ENUMERIC, 6, "numerical failure") \
  X(EINTERNAL, 7, "internal error")

/** Status returned by every fallible mnsim function; 0 is success. */
typedef enum {
#define MN__STATUS_ENUM(name, value, text) MN_##name = value,
  MN_STATUS_MAP(MN__STATUS_ENUM)
#undef MN__STATUS_ENUM
      MN_STATUS_COUNT
} mn_status;

/** Symbolic name of a status ("MN_ERANGE"); "MN_UNKNOWN" for values outside the list. */
const char *mn_status_name(int code);
/** Default one-line text of a status ("value out of range"). */
const char *mn_status_text(int code);
/** 1 when a status means the user's input was wrong (usage, input, range): CLI exit code 2. */
int mn_status_is_user_error(int code);

/* ---------------------------------------------------------------------------------------------
 * Errors: a caller-owned record of what failed and where. */

/** Error record. Zero-initialise or call mn_error_clear() before use. */
typedef struct mn_error {
  int code;             /**< mn_status; MN_OK when nothing failed */
  char msg[640];        /**< complete message without position prefix */
  char file[256];       /**< input file the problem is in, "" if none */
  int line, col;        /**< 1-based input position, 0 when unknown */
  char key[160];        /**< key path of the offending setting ("device.depth_mm"), "" if none */
  const char *src_file; /**< raise site in mnsim's sources (shown with -v) */
  int src_line;
  const char *src_func;
} mn_error;

/** Reset @p err to "no error". NULL-safe. */
void mn_error_clear(mn_error *err);

/** Record an error (used through MN_ERR). Keeps the first error: a second call on an error that
 *  is already set only returns @p code. @return @p code. NULL @p err is allowed. */
int mn__error_set(mn_error *err, int code, const char *key, const char *src_file, int src_line,
                  const char *src_func, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/** Attach an input position to an error that has none yet. @p file may be NULL. */
void mn_error_set_position(mn_error *err, const char *file, int line, int col);

/** Format "file:line:col: message" (fields that are unknown are left out). With @p verbose the
 *  raise site is appended as " [src/x.c:12 func]". @return the length that was needed. */
size_t mn_error_format(const mn_error *err, char *buf, size_t size, int verbose);

#define MN_ERR(err, code, key, ...) \
  mn__error_set((err), (code), (key), __FILE__, __LINE__, __func__, __VA_ARGS__)

/** Check @p cond; on failure record the error, set local `rc` and jump to `cleanup`. */
#define MN_CHECK(cond, err, code, key, ...)           \
  do {                                                \
    if (!(cond)) {                                    \
      rc = MN_ERR((err), (code), (key), __VA_ARGS__); \
      goto cleanup;                                   \
    }                                                 \
  } while (0)

/** Evaluate a call returning a status; on failure set local `rc` and jump to `cleanup`. */
#define MN_TRY(expr)                          \
  do {                                        \
    if ((rc = (expr)) != MN_OK) goto cleanup; \
  } while (0)

/* ---------------------------------------------------------------------------------------------
 * Logging. The library never prints: messages go to a handler the program installs. */
typedef enum { MN_LOG_ERROR = 0, MN_LOG_WARN = 1, MN_LOG_INFO = 2, MN_LOG_DEBUG = 3 } mn_log_level;
typedef void (*mn_log_fn)(int level, const char *msg, void *user);

/** Install the process-wide log handler (NULL: drop messages) and its user pointer. */
void mn_log_set_handler(mn_log_fn fn, void *user);
/** Messages above @p level are dropped before formatting. Default MN_LOG_WARN. */
void mn_log_set_level(int level);
int mn_log_get_level(void);
void mn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------------------------------
 * Memory. All heap memory goes through these: sizes are overflow-checked and counted, and a test
 * hook can make the Nth allocation fail. */
void *mn_malloc(size_t size);
void *mn_calloc(size_t count, size_t size);
/** malloc(count * size) that fails (NULL) on overflow. */
void *mn_malloc_array(size_t count, size_t size);
/** count * size bytes aligned to a 64-byte cache line (NULL on overflow or failure), not
 *  initialised (pages are only committed when touched); free with mn_free. */
void *mn_malloc_aligned(size_t count, size_t size);
/** mn_malloc_aligned, zeroed. */
void *mn_calloc_aligned(size_t count, size_t size);
/** realloc to count * size bytes; NULL on overflow or failure, leaving @p p valid. */
void *mn_realloc_array(void *p, size_t count, size_t size);
void mn_free(void *p);
char *mn_strdup(const char *s);
/** Number of live blocks (allocations minus frees). */
long mn_alloc_live(void);
/** Test hook: the @p n-th allocation from now fails (1 = the next one); 0 disables. */
void mn_alloc_fail_at(long n);
/** Allocations made so far (for fault-injection loops). */
long mn_alloc_count(void);

/* ---------------------------------------------------------------------------------------------
 * Random numbers: xoshiro256** seeded through splitmix64. Same seed and stream give the same
 * sequence on every platform; independent streams for independent parts of a run. */
typedef struct mn_rng {
  uint64_t s[4];
} mn_rng;

/** Seed @p r from (@p seed, @p stream); distinct streams give uncorrelated sequences. */
void mn_rng_init(mn_rng *r, uint64_t seed, uint64_t stream);
uint64_t mn_rng_u64(mn_rng *r);
/** Uniform double in [0, 1) with 53 random bits. */
double mn_rng_uniform(mn_rng *r);
/** Standard normal deviate (Marsaglia polar method, no cached state). */
double mn_rng_normal(mn_rng *r);

/* ---------------------------------------------------------------------------------------------
 * Progress bar with ETA on a stream, drawn only when enabled (the CLI enables it when stderr is
 * a terminal and -q is not given). */
typedef struct mn_progress {
  FILE *fp;
  int enabled;
  double t_start, t_last;
  double last_frac;
  char label[40];
} mn_progress;

void mn_progress_init(mn_progress *p, FILE *fp, const char *label, int enabled);
/** Report completion fraction @p frac in [0, 1]; redraws at most 10 times a second. */
void mn_progress_update(mn_progress *p, double frac);
/** Draw 100 % and end the line. */
void mn_progress_finish(mn_progress *p);
/** Format one progress line ("label [=====>    ]  42%  ETA 0:13") into @p buf. */
void mn_progress_format(char *buf, size_t size, const char *label, double frac, double elapsed_s);
/** Monotonic wall clock in seconds. */
double mn_wall_time(void);

/* ---------------------------------------------------------------------------------------------
 * Atomic output files: written under a temporary name in the destination directory, flushed to
 * disk and renamed over the destination only when complete. */
typedef struct mn_ofile {
  FILE *fp;        /**< stream to write to (NULL once committed or aborted) */
  char path[4096]; /**< final path */
  char tmp[4096];  /**< temporary path */
} mn_ofile;

/** Create the temporary file for @p path. @return MN_OK or MN_EIO (message names both paths). */
int mn_ofile_open(mn_ofile *f, const char *path, mn_error *err);
/** Flush, fsync, close and rename the temporary onto the final path; fsync the directory. On
 *  failure the temporary is removed and the destination left as it was. */
int mn_ofile_commit(mn_ofile *f, mn_error *err);
/** Close the stream but keep the temporary, so that a library that writes files by name can
 *  write to f->tmp; mn_ofile_commit() then syncs and renames it. */
void mn_ofile_detach(mn_ofile *f);
/** Close and remove the temporary; the destination is untouched. NULL-safe, idempotent. */
void mn_ofile_abort(mn_ofile *f);
/** Register / forget a temporary file of another writer for mn_ofile_unlink_all(). */
void mn_ofile_track(const char *tmp);
void mn_ofile_untrack(const char *tmp);
/** Remove every temporary that is open right now; async-signal-safe, for signal handlers. */
void mn_ofile_unlink_all(void);
/** Create directory @p dir and its parents (mode 0777 & ~umask). */
int mn_mkdir_p(const char *dir, mn_error *err);
/** Write @p len bytes of @p data atomically to @p path. */
int mn_write_file_atomic(const char *path, const void *data, size_t len, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Configuration descriptors: one table per module drives parsing, range checks, suggestions,
 * defaults, --help and the generated docs. */
typedef enum {
  MN_CONFIG_DOUBLE,
  MN_CONFIG_INT,
  MN_CONFIG_BOOL,
  MN_CONFIG_ENUM,   /**< stored as int index into names[] */
  MN_CONFIG_STRING, /**< char array of `size` bytes */
  MN_CONFIG_SEED    /**< uint64_t */
} mn_config_type;

typedef struct mn_config_desc {
  const char *key; /**< YAML key == struct field name */
  mn_config_type type;
  const char *unit;         /**< "mm", "1/s", "" for dimensionless */
  double def;               /**< default (numeric types, enum index, bool 0/1) */
  double min, max;          /**< closed range for numeric types */
  const char *const *names; /**< enum names, NULL-terminated */
  const char *def_str;      /**< default of a string */
  size_t offset;            /**< offsetof field in the parameter struct */
  size_t size;              /**< sizeof field (strings: capacity incl. NUL) */
  const char *doc;          /**< one line for --help and docs */
} mn_config_desc;

/** Write every default of @p tab into @p obj. */
void mn_config_defaults(const mn_config_desc *tab, size_t n, void *obj);
/** Find @p key in @p tab; NULL if absent. */
const mn_config_desc *mn_config_find(const mn_config_desc *tab, size_t n, const char *key);
/** Parse scalar @p text into the field @p d of @p obj, with type and range checks. @p path is the
 *  full key path used in messages ("device.depth_mm"). */
int mn_config_parse(const mn_config_desc *d, const char *text, void *obj, const char *path,
                    mn_error *err);
/** Range-check every field of @p obj (for library users who fill structs directly). @p prefix is
 *  prepended to keys in messages ("device"). */
int mn_config_check(const mn_config_desc *tab, size_t n, const void *obj, const char *prefix,
                    mn_error *err);
/** Describe the allowed values of @p d into @p buf ("[0.25, 3] mm", "one of: a, b"). */
void mn_config_allowed(const mn_config_desc *d, char *buf, size_t size);
/** Format the value of field @p d in @p obj ("1.5", "female"). */
void mn_config_format_value(const mn_config_desc *d, const void *obj, char *buf, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Text utilities. */

/** Levenshtein distance between two strings (case-sensitive), capped at 255. */
int mn_edit_distance(const char *a, const char *b);
/** The candidate closest to @p word, or NULL when none is close enough to be a likely typo. */
const char *mn_nearest(const char *word, const char *const *cands, size_t n);
/** Parse a finite double that fills the whole of @p s (after trimming blanks). 0 on success. */
int mn_parse_double(const char *s, double *out);
/** Parse a decimal integer that fills the whole of @p s. 0 on success. */
int mn_parse_long(const char *s, long *out);
/** Parse an unsigned 64-bit decimal integer that fills the whole of @p s. 0 on success. */
int mn_parse_u64(const char *s, uint64_t *out);
/** Format a double with up to @p sig significant digits, shortest form ("0.25", "1e-06"). */
void mn_format_double(char *buf, size_t size, double v, int sig);

/* CSV tables held in memory (data tables compiled into the library, or user files). */
typedef struct mn_csv {
  char *buf;     /**< owned copy of the text, split in place */
  char ***rows;  /**< rows[i][j], NUL-terminated fields */
  int *nfields;  /**< fields per row */
  int *lineno;   /**< source line of each row */
  int nrows;     /**< data rows (header excluded) */
  char **header; /**< column names */
  int ncols;
  char name[256]; /**< for messages: file name */
} mn_csv;

/** Parse CSV text (RFC 4180 quotes; lines starting with '#' and blank lines skipped; the first
 *  remaining line is the header). Every row must have ncols fields. */
int mn_csv_parse(const char *text, size_t len, const char *name, mn_csv *out, mn_error *err);
void mn_csv_fini(mn_csv *c);
/** Column index of @p name, or -1. */
int mn_csv_col(const mn_csv *c, const char *name);
/** Require column @p name; on absence an MN_EINPUT error naming the table. */
int mn_csv_require(const mn_csv *c, const char *name, int *col, mn_error *err);
/** Read a finite double from row @p r, column @p col; an error names table, line and column. */
int mn_csv_double(const mn_csv *c, int r, int col, double *out, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Statistics. */

/** 5 %, 50 % and 95 % quantiles (linear interpolation between order statistics) of the finite
 *  values among v[0..n-1] into @p q; NaN when there are none. Reorders @p v in place. */
void mn_quantiles(double *v, int n, double q[3]);

/* ---------------------------------------------------------------------------------------------
 * Calendar dates: days since 1970-01-01, proleptic Gregorian. The library never asks the clock
 * what day it is: "today" comes from the caller. */

/** Days since 1970-01-01 of the date @p ymd ("YYYY-MM-DD", years 1900-2200).
 *  @return the day number, or -1 when @p ymd is NULL, malformed or not a calendar date. */
long mn_date_days(const char *ymd);
/** Write the date @p days after 1970-01-01 as "YYYY-MM-DD" into @p out (years clamped to
 *  0000-9999). */
void mn_date_format(long days, char out[16]);

/** mnsim version string ("0.1.0"). */
const char *mn_version(void);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_CORE_H */
