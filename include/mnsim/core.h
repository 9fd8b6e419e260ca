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
  X(EINTERNAL, 7, "internal error")   \
  X(ESTOPPED, 8, "stopped by a signal")

/** Status returned by every fallible mnsim function; 0 is success. */
typedef enum {
#define MN__STATUS_ENUM(name, value, text) MN_##name = value,
  MN_STATUS_MAP(MN__STATUS_ENUM)
#undef MN__STATUS_ENUM
      MN_STATUS_COUNT
} mn_status;

/** Symbolic name of a status ("MN_ERANGE"); "MN_UNKNOWN" for values outside the list.
 *  @return a static string, never NULL. */
const char *mn_status_name(int code);
/** Default one-line text of a status ("value out of range"); "unknown status" outside the list.
 *  @return a static string, never NULL. */
const char *mn_status_text(int code);
/** 1 when a status means the user's input was wrong (MN_EUSAGE, MN_EINPUT, MN_ERANGE: CLI exit
 *  code 2), else 0. */
int mn_status_is_user_error(int code);

/* ---------------------------------------------------------------------------------------------
 * Errors: a caller-owned record of what failed and where. */

/** Error record, owned by the caller (usually on the stack). Zero-initialise or call
 *  mn_error_clear() before use; every function that takes an `mn_error *err` accepts NULL (no
 *  record is kept) and only the first error raised into a record is kept. */
typedef struct mn_error {
  int code;             /**< mn_status; MN_OK when nothing failed */
  char msg[640];        /**< complete message without position prefix */
  char file[256];       /**< input file the problem is in, "" if none */
  int line, col;        /**< 1-based input position, 0 when unknown */
  char key[160];        /**< key path of the offending setting ("device.depth_mm"), "" if none */
  const char *src_file; /**< raise site in mnsim's sources (shown with -v); static string */
  int src_line;
  const char *src_func;
} mn_error;

/** Reset @p err to "no error". NULL-safe. */
void mn_error_clear(mn_error *err);

/** Record an error (used through MN_ERR). Keeps the first error: a second call on an error that
 *  is already set only returns @p code. @return @p code. NULL @p err is allowed. */
int mn__error_set(mn_error *err, int code, const char *key, const char *src_file, int src_line,
                  const char *src_func, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/** Attach an input position to an error that has none yet: @p file only when err->file is
 *  empty, @p line and @p col only when err->line is 0 and @p line > 0. NULL-safe; @p file may be
 *  NULL. The strings are copied (truncated to the record's buffers). */
void mn_error_set_position(mn_error *err, const char *file, int line, int col);

/** Format "file:line:col: message" into @p buf (fields that are unknown are left out; the status
 *  text stands in for an empty message). With @p verbose and a known raise site,
 *  " [MN_ERANGE src/x.c:12 func]" is appended. @p err must not be NULL.
 *  @return the length that was needed (as snprintf: the output is cut at @p size - 1). */
size_t mn_error_format(const mn_error *err, char *buf, size_t size, int verbose);

/** Record error @p code with key path @p key (may be "") and a printf-style message at the
 *  current source position. @return @p code. */
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

/** Log levels, most severe first. */
typedef enum { MN_LOG_ERROR = 0, MN_LOG_WARN = 1, MN_LOG_INFO = 2, MN_LOG_DEBUG = 3 } mn_log_level;
/** Log handler: @p msg (formatted, at most 1023 characters) is valid only during the call. It
 *  may be called from any thread that logs. */
typedef void (*mn_log_fn)(int level, const char *msg, void *user);

/** Install the process-wide log handler (NULL: drop messages) and its user pointer, which is
 *  passed back unchanged. Not synchronised: set it before starting threads that log. */
void mn_log_set_handler(mn_log_fn fn, void *user);
/** Messages above @p level are dropped before formatting. Default MN_LOG_WARN. */
void mn_log_set_level(int level);
/** The current log level (mn_log_level). */
int mn_log_get_level(void);
/** Format a message (printf-style, cut at 1023 characters) and pass it to the handler; nothing
 *  happens without a handler or when @p level is above the current level. */
void mn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------------------------------
 * Memory. All heap memory goes through these: sizes are overflow-checked and counted, and a test
 * hook can make the Nth allocation fail. Every block is owned by the caller and freed with
 * mn_free; a request of 0 bytes gives a valid 1-byte block. */

/** malloc(@p size). @return the block (not initialised), or NULL on failure. */
void *mn_malloc(size_t size);
/** calloc(@p count, @p size): zeroed. @return the block, or NULL on overflow or failure. */
void *mn_calloc(size_t count, size_t size);
/** malloc(count * size) that fails (NULL) on overflow. */
void *mn_malloc_array(size_t count, size_t size);
/** count * size bytes aligned to a 64-byte cache line (NULL on overflow or failure), not
 *  initialised (pages are only committed when touched); free with mn_free. */
void *mn_malloc_aligned(size_t count, size_t size);
/** mn_malloc_aligned, zeroed. */
void *mn_calloc_aligned(size_t count, size_t size);
/** realloc to count * size bytes (@p p NULL: a new block); NULL on overflow or failure, leaving
 *  @p p valid. On success @p p must no longer be used. */
void *mn_realloc_array(void *p, size_t count, size_t size);
/** Free a block of the functions above. NULL-safe. */
void mn_free(void *p);
/** Copy of the string @p s (not NULL), to be freed with mn_free; NULL on failure. */
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

/** Generator state; plain data owned by the caller (one per thread: the functions below are not
 *  synchronised). */
typedef struct mn_rng {
  uint64_t s[4];
} mn_rng;

/** Seed @p r from (@p seed, @p stream); distinct streams give uncorrelated sequences. */
void mn_rng_init(mn_rng *r, uint64_t seed, uint64_t stream);
/** Next 64 random bits. */
uint64_t mn_rng_u64(mn_rng *r);
/** Uniform double in [0, 1) with 53 random bits. */
double mn_rng_uniform(mn_rng *r);
/** Standard normal deviate (Marsaglia polar method, no cached state). */
double mn_rng_normal(mn_rng *r);

/* ---------------------------------------------------------------------------------------------
 * Ensembles across processes (src/core/dist.c): MPI ranks when the process was started by a
 * launcher (mpirun) and mnsim was built with MPI; otherwise one rank of one. An ensemble loop
 * evaluates its block of a batch (mn_dist_block) and then shares it (mn_dist_share): every rank
 * then holds the whole batch, in the same bytes as one process would have computed. */

/** Initialise MPI when a launcher started the process (else nothing). Call once from main.
 *  @return MN_OK; MN_EINTERNAL when MPI fails to start; MN_EINPUT when mpirun started more
 *  than one rank of a build without MPI. */
int mn_dist_init(int *argc, char ***argv, mn_error *err);
/** Finalise MPI if mn_dist_init started it. */
void mn_dist_finalize(void);
/** Abort every rank with @p code (a failure on one rank must not leave the others waiting in a
 *  collective); nothing without MPI. */
void mn_dist_abort(int code);
/** This process's rank (0 without MPI) and the number of ranks (1 without MPI). */
int mn_dist_rank(void);
int mn_dist_size(void);
/** This rank's block [@p lo, @p hi) of @p n items (contiguous blocks in rank order, sizes
 *  differing by at most one). */
void mn_dist_block(int n, int *lo, int *hi);
/** Share a batch: @p x holds @p n items of @p len doubles; each rank has filled its block
 *  (mn_dist_block); afterwards every rank holds every item. Collective: every rank calls it with
 *  the same n and len. It first agrees on the stop request: when any rank's is set, every
 *  rank's is, mn_dist_stopped() says so and the batch is not shared (its values mean nothing).
 *  @return MN_OK; MN_ENOMEM; MN_ERANGE when n x len exceeds INT_MAX; MN_EINTERNAL when MPI
 *  fails. */
int mn_dist_share(double *x, int n, int len, mn_error *err);
/** The stop request as every rank agreed on it at the last mn_dist_share (one process: the
 *  request itself). Where an ensemble loop decides to stop, it asks this, not
 *  mn_stop_requested(), so that every rank leaves at the same collective. */
int mn_dist_stopped(void);

/* ---------------------------------------------------------------------------------------------
 * Progress bar with ETA on a stream, drawn only when enabled (the CLI enables it when stderr is
 * a terminal and -q is not given). */

/** Progress bar state, owned by the caller (mn_progress_init; nothing to free). */
typedef struct mn_progress {
  FILE *fp;               /**< borrowed stream; must stay open until mn_progress_finish */
  int enabled;            /**< MN_PROGRESS_* */
  double t_start, t_last; /**< wall-clock seconds (mn_wall_time) */
  double last_frac;
  char label[40];
} mn_progress;

/** How progress is shown: not at all, a bar redrawn in place (a terminal), or a line per 5 %
 *  (logs). */
enum { MN_PROGRESS_OFF = 0, MN_PROGRESS_BAR = 1, MN_PROGRESS_LINES = 2 };
/** Start progress on @p fp (borrowed) labelled @p label (copied, cut at 39 characters;
 *  NULL = ""), shown as @p mode says (MN_PROGRESS_*; nothing when @p fp is NULL). */
void mn_progress_init(mn_progress *p, FILE *fp, const char *label, int mode);
/** Report completion fraction @p frac in [0, 1]; a bar redraws at most 10 times a second, lines
 *  come at each multiple of 5 %. */
void mn_progress_update(mn_progress *p, double frac);
/** Draw 100 % (with the total time) and end the line; disabled afterwards. */
void mn_progress_finish(mn_progress *p);
/** A run that failed or was stopped: end a bar's line where it stands (so that a message starts
 *  on its own line), draw nothing more; disabled afterwards. */
void mn_progress_stop(mn_progress *p);
/** Format one progress line ("label [=====>    ]  42%  ETA 0:13") into @p buf; @p frac is
 *  clamped to [0, 1], @p elapsed_s is in seconds. */
void mn_progress_format(char *buf, size_t size, const char *label, double frac, double elapsed_s);
/** Monotonic wall clock in seconds. */
double mn_wall_time(void);

/* ---------------------------------------------------------------------------------------------
 * Stop requests and thread counts. A signal handler asks every long loop to stop
 * (mn_stop_request); the loops poll mn_stop_requested() once per unit of work (a draw, a step),
 * including inside OpenMP loops, which skip the rest of their iterations, and return MN_ESTOPPED.
 * Every temporary file is removed on the way out by the usual cleanup paths. */

/** Ask every long loop to stop; @p sig is the signal's number (> 0). Async-signal-safe. */
void mn_stop_request(int sig);
/** @return the signal number of a pending stop request, or 0. Cheap: a volatile read. */
int mn_stop_requested(void);
/** Forget a stop request (tests). */
void mn_stop_clear(void);
/** Record MN_ESTOPPED in @p err ("stopped by SIGINT while <what>"). @return MN_ESTOPPED. */
int mn_stop_error(mn_error *err, const char *what);

/** Fault injection for the test suite. Every field is 0 (off) in the shipped `mnsim`: only the
 *  test binary `mnsim-hooks` (tests/CMakeLists.txt, main.c built with MNSIM_TEST_HOOKS) fills
 *  them, from MNSIM_TEST_FAIL_RENAME, MNSIM_TEST_POISON_DAY, MNSIM_TEST_KILL_AFTER_RENAME,
 *  MNSIM_TEST_STOP_STEP and MNSIM_TEST_STOP_DAY, through mn_test_hooks_from_env;
 *  a user's environment never reaches a production run. */
typedef struct mn_test_hooks {
  int fail_rename;       /**< the Nth rename of a result set fails with EIO (1-based; 0 off) */
  double poison_day;     /**< simulate: a NaN in the state once the run passes this day (0 off) */
  int kill_after_rename; /**< SIGKILL right after the Nth rename of a result set (0 off) */
  int stop_after_step;   /**< calibrate: a stop request (as SIGINT) after the sampler's Nth step */
  double stop_day;       /**< simulate: a stop request (as SIGTERM) once the run passes this day */
} mn_test_hooks;
/** The hooks in force (all 0 unless mn_test_hooks_from_env ran). */
extern mn_test_hooks mn_test_hook;
/** Read the hooks from the environment; called only by the test binary's main. */
void mn_test_hooks_from_env(void);

/** Most threads any parallel loop uses: OMP_NUM_THREADS=100000 must not size 100000 workspaces
 *  nor start that many threads. */
#define MN_MAX_THREADS 256
/** The threads a parallel loop should use: @p requested when > 0, else OpenMP's default
 *  (OMP_NUM_THREADS or the cores); at least 1 and at most MN_MAX_THREADS. */
int mn_threads(int requested);

/* ---------------------------------------------------------------------------------------------
 * Atomic output files: written under a temporary name in the destination directory, flushed to
 * disk and renamed over the destination only when complete. */

/** An output file being written; caller-owned storage. Every mn_ofile_open that succeeds must
 *  end in mn_ofile_commit or mn_ofile_abort. */
typedef struct mn_ofile {
  FILE *fp;        /**< stream to write to (NULL once committed or aborted) */
  char path[4096]; /**< final path */
  char tmp[4096];  /**< temporary path */
  int synced;      /**< mn_ofile_sync done: the temporary is complete on disk */
} mn_ofile;

/** Create the temporary file for @p path (in the same directory) and register it with
 *  mn_ofile_track. @return MN_OK; MN_EIO when the path is too long or the temporary cannot be
 *  created (the message names both paths). */
int mn_ofile_open(mn_ofile *f, const char *path, mn_error *err);
/** Flush, fsync, close and rename the temporary onto the final path; fsync the directory. On
 *  failure the temporary is removed and the destination left as it was.
 *  @return MN_OK; MN_EIO (the message names both paths); MN_EINTERNAL when @p f was already
 *  committed or aborted. */
int mn_ofile_commit(mn_ofile *f, mn_error *err);
/** Flush, fsync and close the temporary without renaming it (mn_ofile_commit renames it later):
 *  a set of files is made durable before the first of them is renamed. A detached temporary is
 *  reopened to sync it; a second call does nothing. On failure the temporary is removed.
 *  @return MN_OK; MN_EIO (the message names both paths). */
int mn_ofile_sync(mn_ofile *f, mn_error *err);
/** fsync the directory holding @p path, making renames in it durable (best effort: some file
 *  systems refuse fsync on a directory). */
void mn_fsync_dir(const char *path);
/** Close the stream but keep the temporary, so that a library that writes files by name can
 *  write to f->tmp; mn_ofile_commit() then syncs and renames it. */
void mn_ofile_detach(mn_ofile *f);
/** Close and remove the temporary; the destination is untouched. NULL-safe, idempotent. */
void mn_ofile_abort(mn_ofile *f);
/** Register a temporary file of another writer for mn_ofile_unlink_all() (the path is copied;
 *  at most 64 are tracked at once, more are silently not tracked). */
void mn_ofile_track(const char *tmp);
/** Forget a temporary registered with mn_ofile_track. */
void mn_ofile_untrack(const char *tmp);
/** The journal of a result set being put in place (src/core/journal.c): a set whose writer is
 *  killed between its renames is rolled back by the next process that writes into the
 *  directory. */
typedef struct mn_journal {
  int fd;
  char path[4300];
} mn_journal;
/** Create and sync ".mnsim-set-PID.journal" in @p dir for @p n files (targets and backups in
 *  @p dir, backup "" for a new target; owner NULL or the path a moved-in file came from).
 *  @return 0; -1 when no journal can be kept (j->fd < 0; the calls below are then no-ops). */
int mn_journal_begin(mn_journal *j, const char *dir, int n, const char *const *target,
                     const char *const *backup, const char *const *owner);
/** Record that file @p i was renamed into place (synced). */
void mn_journal_done(mn_journal *j, int i);
/** Record that every file is in place (synced). */
void mn_journal_complete(mn_journal *j);
/** Close and remove the journal. */
void mn_journal_end(mn_journal *j);
/** Roll back (or, when complete, clean up after) every journal in @p dir whose writer no longer
 *  exists; logs a warning for each. Called by mn_ofile_sweep's once-per-directory pass. */
void mn_journal_recover(const char *dir);

/** Remove the temporaries in @p dir whose writer process no longer exists (a run killed with
 *  SIGKILL): ".<name>.mnsim-PID.XXXXXX" and "mnsim-<kind>-PID-XXXXXX" with no process PID. A
 *  live writer's temporaries and every other file are left alone. mn_ofile_open and
 *  mn_tmp_template call it once per directory and process. */
void mn_ofile_sweep(const char *dir);
/** Remove every temporary that is open right now; async-signal-safe, for signal handlers. */
void mn_ofile_unlink_all(void);
/** A mkstemp template "<dir>/<prefix>-PID-XXXXXX" into @p buf: dir is $TMPDIR when it is an
 *  absolute path of plain characters (letters, digits, / . _ -) under 256 bytes, else /tmp.
 *  The first call sweeps dir (mn_ofile_sweep). */
void mn_tmp_template(char *buf, size_t size, const char *prefix);
/** Create directory @p dir and its parents (mode 0777 & ~umask); an existing directory is fine.
 *  @return MN_OK; MN_EIO when a directory cannot be created or @p dir names a non-directory. */
int mn_mkdir_p(const char *dir, mn_error *err);
/** Write @p len bytes of @p data atomically to @p path (mn_ofile_open, write, commit).
 *  @return MN_OK or MN_EIO. */
int mn_write_file_atomic(const char *path, const void *data, size_t len, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Configuration descriptors: one table per module drives parsing, range checks, suggestions,
 * defaults, --help and the generated docs. */

/** Type of a configuration field, which fixes its C type in the parameter struct. */
typedef enum {
  MN_CONFIG_DOUBLE, /**< double */
  MN_CONFIG_INT,    /**< int */
  MN_CONFIG_BOOL,   /**< int, 0 or 1 */
  MN_CONFIG_ENUM,   /**< stored as int index into names[] */
  MN_CONFIG_STRING, /**< char array of `size` bytes */
  MN_CONFIG_SEED    /**< uint64_t */
} mn_config_type;

/** One configuration key: where it lives in a parameter struct, its unit, default and range.
 *  Tables are static data of each module (the *_param_table functions); never freed. */
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

/** Write every default of the @p n entries of @p tab into the struct @p obj. Never fails. */
void mn_config_defaults(const mn_config_desc *tab, size_t n, void *obj);
/** Find @p key (exact, case-sensitive) in @p tab; NULL if absent. The result points into @p tab. */
const mn_config_desc *mn_config_find(const mn_config_desc *tab, size_t n, const char *key);
/** Parse scalar @p text into the field @p d of @p obj, with type and range checks (booleans:
 *  true/false, yes/no, on/off, 1/0; enum names case-insensitive). @p path is the full key path
 *  used in messages ("device.depth_mm"). The field is unchanged on failure.
 *  @return MN_OK; MN_EINPUT for text of the wrong type, an unknown enum name (with the nearest
 *  one), a string too long or empty where a default exists; MN_ERANGE for a number outside
 *  [min, max]. */
int mn_config_parse(const mn_config_desc *d, const char *text, void *obj, const char *path,
                    mn_error *err);
/** Range-check every field of @p obj (for library users who fill structs directly). @p prefix is
 *  prepended to keys in messages ("device"; NULL or "" for none). Seeds are not checked.
 *  @return MN_OK, or MN_ERANGE for the first field out of range. */
int mn_config_check(const mn_config_desc *tab, size_t n, const void *obj, const char *prefix,
                    mn_error *err);
/** Describe the allowed values of @p d into @p buf ("[0.25, 3] mm", "one of: a, b"). */
void mn_config_allowed(const mn_config_desc *d, char *buf, size_t size);
/** Format the value of field @p d in @p obj ("1.5", "female"; "?" for an invalid enum index). */
void mn_config_format_value(const mn_config_desc *d, const void *obj, char *buf, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Text utilities. */

/** Levenshtein distance between two strings, ignoring ASCII case; 255 when either is longer
 *  than 64 characters or the distance exceeds 255. */
int mn_edit_distance(const char *a, const char *b);
/** The candidate closest to @p word, or NULL when none is close enough to be a likely typo (NULL
 *  entries of @p cands are skipped). @return a pointer into @p cands. */
const char *mn_nearest(const char *word, const char *const *cands, size_t n);
/** Offset basis of 64-bit FNV-1a: the start value of mn_fnv1a64. */
#define MN_FNV1A64_INIT 14695981039346656037ull
/** 64-bit FNV-1a of @p n bytes at @p p, continuing from @p h (MN_FNV1A64_INIT to start): the
 *  fingerprints of run state (checkpoints, saved cases). Not a cryptographic hash. */
uint64_t mn_fnv1a64(uint64_t h, const void *p, size_t n);
/** Parse a finite decimal double that fills the whole of @p s (after trimming blanks; no hex,
 *  inf or nan). 0 on success, -1 otherwise (@p out untouched). */
int mn_parse_double(const char *s, double *out);
/** Parse a decimal integer that fills the whole of @p s. 0 on success, -1 otherwise. */
int mn_parse_long(const char *s, long *out);
/** Parse an unsigned 64-bit decimal integer (no sign) that fills the whole of @p s. 0 on
 *  success, -1 otherwise (including overflow). */
int mn_parse_u64(const char *s, uint64_t *out);
/** Format a double with up to @p sig significant digits ("%.*g": "0.25", "1e-06"). */
void mn_format_double(char *buf, size_t size, double v, int sig);

/** CSV table held in memory (data tables compiled into the library, or user files). Owns all
 *  its memory: free with mn_csv_fini; every field pointer points into `buf`. */
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
 *  remaining line is the header). Every row must have ncols fields, at most 64.
 *  @param[in] text @p len bytes, copied (need not be NUL-terminated)
 *  @param[in] name used in messages (NULL: "table")
 *  @param[out] out the table (free with mn_csv_fini); zeroed on failure
 *  @return MN_OK; MN_EINPUT (NUL byte, unterminated quote, wrong field count, no header);
 *  MN_ENOMEM. */
int mn_csv_parse(const char *text, size_t len, const char *name, mn_csv *out, mn_error *err);
/** Free the table's memory and zero it. NULL-safe. */
void mn_csv_fini(mn_csv *c);
/** Column index of @p name (exact match), or -1. */
int mn_csv_col(const mn_csv *c, const char *name);
/** Require column @p name; on absence an MN_EINPUT error naming the table. */
int mn_csv_require(const mn_csv *c, const char *name, int *col, mn_error *err);
/** Read a finite double from row @p r, column @p col (both must be in range); MN_EINPUT naming
 *  table, line and column when the field is not a finite number. */
int mn_csv_double(const mn_csv *c, int r, int col, double *out, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Statistics. */

/** 5 %, 50 % and 95 % quantiles (linear interpolation between order statistics) of the finite
 *  values among v[0..n-1] into @p q; NaN when there are none. Overwrites @p v: its finite values
 *  end up sorted at the front. */
void mn_quantiles(double *v, int n, double q[3]);
/** Standard normal distribution function Phi(x) (through erfc: accurate in both tails). */
double mn_normal_cdf(double x);
/** Its inverse: the x with Phi(x) = @p p, 0 < p < 1 (bisection on mn_normal_cdf to adjacent
 *  doubles: as accurate as erfc); -inf / +inf at 0 / 1, NaN outside [0, 1]. */
double mn_normal_quantile(double p);
/** Quantile of Student's t with @p nu >= 3 degrees of freedom at @p p (0 < p < 1): the
 *  Cornish-Fisher expansion to nu^-4 (Abramowitz & Stegun 26.7.5), relative error below 1e-4 at
 *  nu >= 10 for p in 0.005-0.995 (t(0.995, 47) = 2.6846); NaN out of range. */
double mn_student_t_quantile(double p, double nu);
/** Regularised lower incomplete gamma function P(@p a, @p x) = gamma(a, x) / Gamma(a), a > 0,
 *  x >= 0 (series below x = a + 1, Lentz's continued fraction above; absolute error near 1e-14);
 *  the chi-square distribution function with k degrees of freedom is P(k / 2, x / 2). NaN out of
 *  range. */
double mn_gamma_p(double a, double x);

/* ---------------------------------------------------------------------------------------------
 * Calendar dates: days since 1970-01-01, proleptic Gregorian. The library never asks the clock
 * what day it is: "today" comes from the caller. */

/** Days since 1970-01-01 of the date @p ymd ("YYYY-MM-DD", years 1900-2200).
 *  @return the day number, or -1 when @p ymd is NULL, malformed or not a calendar date. */
long mn_date_days(const char *ymd);
/** Write the date @p days after 1970-01-01 as "YYYY-MM-DD" into @p out (years clamped to
 *  0000-9999). */
void mn_date_format(long days, char out[16]);

/** mnsim version string ("0.1.0"); static. */
const char *mn_version(void);
/** The build string a checkpoint records and a resume must match: "mnsim <version> <id>", id
 *  the first 16 hex digits of the linker's GNU build id of the code (src/core/buildid.c); any
 *  change of code, compiler or flags changes it. Static, thread-safe. */
const char *mn_build_id(void);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_CORE_H */
