/* mnsim io: YAML case files (table-driven, positioned errors, nearest-key suggestions) and the
 * machine-readable outputs (CSV, JSON), all written atomically. Only io/ and report/ touch files.
 * Uses libyaml and Jansson. */
#ifndef MNSIM_IO_H
#define MNSIM_IO_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_OUTCOME) || defined(MN__BUILDING_LUMPED) ||                               \
    defined(MN__BUILDING_COURSE) || defined(MN__BUILDING_INFER) || defined(MN__BUILDING_PLAN)
#error "mnsim/io.h is a later pipeline stage than the module being built"
#endif

#include <stdio.h>

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/grid.h"
#include "mnsim/healing.h"
#include "mnsim/course.h"
#include "mnsim/infer.h"
#include "mnsim/lumped.h"
#include "mnsim/outcome.h"
#include "mnsim/plan.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MN_MAX_LESIONS = 1000, MN_MAX_SNAPSHOTS = 64, MN_MAX_OVERRIDES = 64 };

typedef enum { MN_PREC_FLOAT32 = 0, MN_PREC_FLOAT64 = 1 } mn_precision;

/** Settings of `mnsim simulate` (YAML section `simulate`). */
typedef struct mn_simulate_params {
  int mode;               /**< mn_course_mode */
  double density_per_cm2; /**< unit cell: punctures per cm2; 0 = the passes' geometric density */
  double days;            /**< simulated days after the first session */
  int sessions;           /**< number of sessions */
  double interval_day;    /**< days between sessions */
  double sample_hours;    /**< time-series sampling in the week after each session */
  double checkpoint_min;  /**< wall-clock minutes between checkpoints; 0 = on signal only */
  int supersample;        /**< lateral samples per cell side when rasterising channels */
  int precision;          /**< mn_precision of fields.h5 */
  int uq_draws;           /**< parameter draws of the lumped twin for the bands; 0 = none */
  int uq_ensemble;        /**< mn_ensemble_source */
  double snapshot_days[MN_MAX_SNAPSHOTS]; /**< days of the 3D snapshots in fields.h5 */
  int n_snapshots;
} mn_simulate_params;
const mn_config_desc *mn_simulate_param_table(size_t *n);

/** A model-parameter override from the case file (section `model`). */
typedef struct mn_override {
  char name[24];
  double value;
} mn_override;

/** Where a key of the case file was written (for positioned errors). */
typedef struct mn_case_loc {
  char key[160];
  int line, col;
} mn_case_loc;

/** A parsed case file: plain parameter structs for each module plus key positions. */
typedef struct mn_case {
  char file[256];        /**< name used in messages */
  char description[200]; /**< free text (key `description`) */
  uint64_t seed;         /**< RNG seed (key `seed`) */
  mn_skin_params skin;   /**< section `skin` */
  mn_lesion *lesions;    /**< `skin.lesions`, owned */
  int n_lesions;
  mn_device_params device;    /**< section `device` */
  mn_treatment treatment;     /**< section `treatment` (outline and passes); its seed = seed */
  double width_mm, height_mm; /**< rectangle outline when `outline_mm` is absent */
  mn_simulate_params sim;     /**< section `simulate` */
  mn_grid_params grid;        /**< section `grid` */
  mn_solver_params solver;    /**< section `solver` */
  mn_sun sun;                 /**< section `sun`: UV after the sessions */
  mn_override overrides[MN_MAX_OVERRIDES]; /**< section `model` */
  int n_overrides;
  mn_case_loc *locs; /**< key positions, owned */
  int n_locs, cap_locs;
  char *text;      /**< the bytes parsed (mn_case_read; NULL after mn_case_parse), owned */
  size_t text_len; /**< their number */
} mn_case;

/** Read and parse case file @p path, keeping the bytes read in c->text (a pipe can be read only
 *  once: `mnsim simulate` saves these bytes with its run). Errors carry file, line, column and
 *  key path; syntax and type errors and unreadable files are MN_EINPUT, out-of-range values
 *  MN_ERANGE. When several keys are wrong, @p err holds the last (in file order) and each earlier
 *  one goes to mn_log at MN_LOG_ERROR (up to 20 in all); the patient file reads the same way. */
int mn_case_read(const char *path, mn_case **out, mn_error *err);
/** Parse case text @p text of @p len bytes; @p name is used in messages. */
int mn_case_parse(const char *text, size_t len, const char *name, mn_case **out, mn_error *err);
void mn_case_destroy(mn_case *c);
/** Give @p err the file position of its key (or of the nearest enclosing key) in case @p c. */
void mn_case_locate(const mn_case *c, mn_error *err);
/** Check what needs the anatomy: build @p skin and check every lesion against it. */
int mn_case_check_skin(const mn_case *c, const mn_skin_atlas *atlas, mn_skin *skin, mn_error *err);

/** Apply the case's model overrides to @p ps (errors located in the case file). */
int mn_case_apply_overrides(const mn_case *c, mn_param_set *ps, mn_error *err);

/** Write an annotated YAML case file with every key, its default, unit, range and doc. */
void mn_case_write_defaults(FILE *fp);
/** Write the configuration reference (markdown tables) generated from the descriptor tables. */
void mn_case_write_reference_md(FILE *fp);

/** A writer fills an open stream; mn_io_write_atomic wraps it in temp-file + rename. */
typedef int (*mn_write_fn)(FILE *fp, const void *ctx, mn_error *err);
int mn_io_write_atomic(const char *path, mn_write_fn fn, const void *ctx, mn_error *err);

/** One file of a result set: written by @p fn from @p ctx, or, with fn NULL, an already complete
 *  file whose path is @p ctx (a const char *), moved into place. */
typedef struct mn_out_item {
  char path[4200];
  mn_write_fn fn;
  const void *ctx;
} mn_out_item;
/** Write a set of files all or nothing: every file goes to its temporary first; only when all
 *  are complete are they renamed into place, otherwise every temporary is removed and the
 *  earlier results stay as they were. */
int mn_io_write_set(const mn_out_item *items, int n, mn_error *err);

/** Everything `mnsim device` reports, for the writers below. */
typedef struct mn_device_result {
  const mn_case *cs;
  const mn_device *dev;
  const mn_skin *skin;
  const mn_puncture_set *set;
  const mn_device_stats *st;
} mn_device_result;

/** Puncture list: x_mm,y_mm,depth_um,radius_um,pass,layer,bleeding. @p ctx: mn_device_result. */
int mn_io_punctures_csv(FILE *fp, const void *ctx, mn_error *err);
/** Summary as quantity,value,unit,note rows. @p ctx: mn_device_result. */
int mn_io_device_summary_csv(FILE *fp, const void *ctx, mn_error *err);
/** Summary as one JSON object (inputs, device, skin, statistics, evidence). */
int mn_io_device_json(FILE *fp, const void *ctx, mn_error *err);
/** Density map as CSV (x_mm,y_mm,punctures_per_cm2,inside). @p ctx: mn_density_map. */
int mn_io_density_map_csv(FILE *fp, const void *ctx, mn_error *err);

/* ---------------------------------------------------------------------------------------------
 * 3D fields (HDF5 + XDMF for ParaView/VisIt) and checkpoints. HDF5 files are written without
 * object timestamps, so the same data gives the same bytes. */

/** Write the state of @p s at day @p day to its own HDF5 file @p path (atomically): group
 *  /day_DDDD.DDD with one [nz][ny][nx] dataset per species (interior cells, float32 or float64,
 *  chunked and deflated). */
int mn_h5_write_snapshot(const char *path, const mn_grid *g, const mn_solver *s, double day,
                         int precision, mn_error *err);
/** Check snapshot file @p path as written by mn_h5_write_snapshot for day @p day on grid @p g:
 *  it opens (present, not truncated), has the day's group and every species at the grid's
 *  size. @return MN_OK or MN_EINPUT naming the file and what is wrong. */
int mn_h5_check_snapshot(const char *path, const mn_grid *g, double day, mn_error *err);
/** Build @p out (atomically): /mesh (x_mm, y_mm node coordinates, z_mm node depths below the
 *  surface, layer codes per cell) and every snapshot group of @p snaps in order. */
int mn_h5_merge(const char *out, const char *const *snaps, int n, const mn_grid *g, mn_error *err);
/** XDMF writer context (see mn_io_xdmf). */
typedef struct mn_xdmf_ctx {
  const char *h5name;
  const mn_grid *g;
  const double *days;
  int n, precision;
} mn_xdmf_ctx;
/** mn_write_fn of the XDMF description; @p ctx: mn_xdmf_ctx. */
int mn_io_xdmf(FILE *fp, const void *ctx, mn_error *err);
/** Write the XDMF 3.0 description of @p h5name (a temporal collection of 3DRectMesh grids with
 *  cell-centred attributes) to @p path (atomically). */
int mn_xdmf_write(const char *path, const char *h5name, const mn_grid *g, const double *days, int n,
                  int precision, mn_error *err);

/** Position of a run in its schedule and what it was started with, saved with each checkpoint:
 *  a resumed run rebuilds the same course from it and refuses a checkpoint of another case,
 *  another build or other model parameters. */
typedef struct mn_run_state {
  int next_session;     /**< sessions applied so far */
  int next_sample;      /**< time-series samples taken so far */
  int next_snapshot;    /**< snapshots written so far */
  uint64_t seed;        /**< the run's seed (a --seed override survives --resume) */
  char case_file[256];  /**< the case file as the user named it */
  double days;          /**< the run's --days override, day; 0 = the case's simulate.days */
  uint64_t case_hash;   /**< 64-bit FNV-1a of the saved case's bytes (mn_fnv1a64) */
  uint64_t params_hash; /**< 64-bit FNV-1a of the run's mn_model_params */
  char build[64];       /**< mn_build_id() of the writer (set by mn_checkpoint_write) */
} mn_run_state;

/** Save everything needed to continue a run bit-identically (atomically), with a checksum over
 *  all of it. @return MN_OK or MN_EIO naming the file and the system's reason (a full disk). */
int mn_checkpoint_write(const char *path, const mn_grid *g, const mn_solver *s,
                        const mn_run_state *rs, const mn_timeseries *ts, mn_error *err);
/** Read only the run state of checkpoint @p path (its schedule position, seed, options, hashes
 *  and case file): what a resumed run needs before it builds its course. Every value is range
 *  checked; the checksum is verified by mn_checkpoint_read. @return MN_OK or MN_EINPUT naming
 *  the file and the field. */
int mn_checkpoint_read_state(const char *path, mn_run_state *rs, mn_error *err);
/** Restore a checkpoint into a solver built from the same case: MN_EINPUT naming the file and
 *  the field if the grid does not match, a value is missing or out of range (non-finite
 *  fields, t_day, run_state, samples beyond ts->cap) or the checksum does not match. On failure
 *  the solver's fields and @p ts may be partly overwritten. */
int mn_checkpoint_read(const char *path, const mn_grid *g, mn_solver *s, mn_run_state *rs,
                       mn_timeseries *ts, mn_error *err);

/** Context of the result writers of `mnsim simulate`. */
typedef struct mn_sim_result {
  const mn_case *cs;
  const mn_skin *skin;
  const mn_device *dev;
  const mn_grid *grid; /**< NULL for the lumped model */
  const mn_param_set *params;
  const mn_timeseries *ts;
  const mn_outcome *out;
  double density_cm2;               /**< punctures per cm2 simulated */
  const double *lesion_dh_um;       /**< [cs->n_lesions] thickening over each lesion, or NULL */
  const double *lesion_gain;        /**< [cs->n_lesions] papillary collagen gain over each
                                         lesion (a fraction), or NULL */
  long steps;                       /**< time steps taken */
  double wall_s;                    /**< wall time of the run */
  const mn_outcome_bands *uq;       /**< bands of the outcome scalars, or NULL */
  const mn_lumped_geometry *lumped; /**< lumped model: its geometry, else NULL */
} mn_sim_result;
/** timeseries.csv: t_day, session, redness, then <layer>_<species> for every species of every
 *  layer where it lives. @p ctx: mn_sim_result. */
int mn_io_timeseries_csv(FILE *fp, const void *ctx, mn_error *err);
/** outcome.json: inputs, grid, observables with their evidence. @p ctx: mn_sim_result. */
int mn_io_outcome_json(FILE *fp, const void *ctx, mn_error *err);

/* ---- patient files (`mnsim plan`) ------------------------------------------------------- */

/** A parsed patient file: the plan request plus key positions for messages. */
typedef struct mn_patient_file {
  char file[256];
  char description[200];
  mn_plan_request req;
  mn_case_loc *locs;
  int n_locs, cap_locs;
} mn_patient_file;

/** Read and parse a patient file (YAML; see `mnsim plan --template`). Errors carry file, line,
 *  column and key path. Names of conditions, medications and procedures are checked by
 *  mn_candidacy_screen, regions by mn_plan_make: locate those errors with
 *  mn_patient_file_locate. */
int mn_patient_file_read(const char *path, mn_patient_file **out, mn_error *err);
int mn_patient_file_parse(const char *text, size_t len, const char *name, mn_patient_file **out,
                          mn_error *err);
/** A patient file with every key at its default and no region (to be filled by a program, as
 *  `mnsim plan` does from its flags; check it with mn_plan_request_check). @p name is used in
 *  messages. @param[out] out owned by the caller (mn_patient_file_destroy). @return MN_OK or
 *  MN_ENOMEM. */
int mn_patient_file_create(const char *name, mn_patient_file **out, mn_error *err);
/** Free a patient file. NULL-safe. */
void mn_patient_file_destroy(mn_patient_file *p);
void mn_patient_file_locate(const mn_patient_file *p, mn_error *err);

/** What the plan writers render: borrowed for the call. */
typedef struct mn_plan_output {
  const mn_patient_file *pf;
  const mn_plan *plan;
  const char *command;    /**< the command line, for the record */
  long long created_unix; /**< when the files are made (seconds since 1970, UTC): the
                               calendar's DTSTAMP; the library never reads the clock */
} mn_plan_output;
/** plan.json: the request, the screening, the plan with its bands. An mn_write_fn; @p ctx:
 *  mn_plan_output. @return MN_OK, MN_EINTERNAL, MN_EIO. */
int mn_io_plan_json(FILE *fp, const void *ctx, mn_error *err);
/** plan.ics (RFC 5545, libical): the plan's calendar (mn_plan.events) as all-day events. An
 *  mn_write_fn; @p ctx: mn_plan_output. @return MN_OK, MN_EINTERNAL, MN_EIO. */
int mn_io_plan_ics(FILE *fp, const void *ctx, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_IO_H */
