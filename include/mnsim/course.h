/* mnsim course: one treatment course as a library object - the driver of the pipeline device ->
 * punctures -> injury -> healing (3D solver or lumped twin) -> time series -> outcome. It owns,
 * once: the session and sample schedules, the effective depth of every pass (asked from device),
 * the unit cell or patch geometry, the injury windows, the lumped twin's input, the outcome and
 * its bands over parameter draws. Commands and pages only parse, call it and render.
 * Style: GSL's gsl_odeiv2_driver and SUNDIALS' integrator memory (create / advance / destroy).
 * Pipeline: after healing, lumped and outcome; used by infer, plan and the CLI. */
#ifndef MNSIM_COURSE_H
#define MNSIM_COURSE_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_LUMPED) || defined(MN__BUILDING_OUTCOME)
#error "mnsim/course.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/grid.h"
#include "mnsim/healing.h"
#include "mnsim/lumped.h"
#include "mnsim/outcome.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a course is computed. The values are those of the case-file key `simulate.mode`. */
typedef enum {
  MN_COURSE_UNIT_CELL = 0, /**< 3D: one channel in a periodic cell at the treatment's density */
  MN_COURSE_PATCH = 1,     /**< 3D: the treatment's punctures over its outline (periodic patch) */
  MN_COURSE_LUMPED = 2     /**< the lumped twin (near and far zone per layer slab) */
} mn_course_mode;

/** What is done, to whom, and how it is computed. Every pointer is borrowed: what it points to
 *  must outlive the course. Keys in error messages are the case file's (`simulate.days`,
 *  `grid.dx_um`, `treatment.passes[1].depth_mm`). */
typedef struct mn_course_params {
  int mode;                     /**< mn_course_mode */
  const mn_model_params *model; /**< healing parameters */
  int fitzpatrick;              /**< skin type 1-6 */
  const mn_skin *skin;          /**< the anatomy of the treated region */
  const mn_device *dev;         /**< the resolved device (its depth_mm is the default depth) */
  /** passes and outline; NULL: one group of channels at @p depth_mm and @p density_cm2 (then
   *  density_cm2 > 0 is required, and patch mode is not available) */
  const mn_treatment *treatment;
  const mn_lesion *lesions; /**< patch mode: carved into the grid as dermal deficits */
  int n_lesions;
  double density_cm2;  /**< punctures per cm2 per session; > 0 overrides the passes' density */
  double depth_mm;     /**< without a treatment: nominal needle depth of every channel */
  int sessions;        /**< 1 to MN_MAX_SESSIONS */
  double interval_day; /**< days between sessions */
  double days;         /**< simulated days after the first session */
  double sample_hours; /**< time-series sampling in the week after each session */
  uint64_t seed;       /**< punctures and later sessions' channel positions */
  const mn_grid_params *grid;     /**< 3D modes: the grid (dx is adjusted to whole cells) */
  const mn_solver_params *solver; /**< 3D modes: the solver */
  int supersample;                /**< 3D modes: lateral samples per cell side of a channel */
  const mn_lumped_params *lumped; /**< lumped mode and bands: NULL = mn_lumped_params_default */
} mn_course_params;

/** Fill @p p with the defaults of a course: unit cell, one session, 180 days, hourly samples,
 *  supersample 3, no pointers set (model, skin and dev must be set before mn_course_create). */
void mn_course_params_default(mn_course_params *p);

typedef struct mn_course mn_course;

/** Create a course: the schedules, the channel groups (passes of one effective depth), and in a
 *  3D mode the grid and the solver at the healthy baseline at day 0 (patch mode also generates
 *  the first session's punctures, for the density). Nothing is simulated yet.
 *  @param[in] p the course; borrowed pointers must outlive the course
 *  @param[out] out the new course (owned by the caller: mn_course_destroy), NULL on failure
 *  @return MN_OK; MN_EINPUT or MN_ERANGE naming the case-file key for a course that cannot be
 *  computed (a session after the end, a cell narrower than 3 cells, a pass depth outside the
 *  device's range, mixed pass depths in a unit cell, a domain larger than the memory);
 *  MN_ENOMEM. */
int mn_course_create(const mn_course_params *p, mn_course **out, mn_error *err);
/** Free a course and everything it owns. NULL-safe. */
void mn_course_destroy(mn_course *c);

/** Apply every event due at the current time, in order: the sessions' injuries, then the time
 *  series samples. The lumped mode has no events of its own (mn_course_step runs it whole).
 *  @return MN_OK; MN_ENOMEM or MN_EINPUT from the punctures of a patch session. */
int mn_course_events(mn_course *c, mn_error *err);
/** One step: in a 3D mode one adaptive solver step that ends at the next event, at @p t_stop or
 *  at the end, whichever comes first (a @p t_stop already reached is ignored; call
 *  mn_course_events before each step); in lumped mode
 *  the whole course. @p info (may be NULL) receives what the step did.
 *  @return MN_OK; MN_ENUMERIC when the state turns NaN or negative (the message names voxel,
 *  species and day) or CVODE fails. */
int mn_course_step(mn_course *c, double t_stop, mn_step_info *info, mn_error *err);
/** 1 when the course has reached its last day and applied every event, else 0. */
int mn_course_done(const mn_course *c);
/** Run the course to its end: events and steps until mn_course_done. */
int mn_course_run(mn_course *c, mn_error *err);

/** The observables of the series so far (mn_outcome_compute with the course's parameters). */
int mn_course_outcome(const mn_course *c, mn_outcome *out, mn_error *err);
/** Median and 90 % band of every outcome scalar over @p n parameter draws @p draws: the lumped
 *  twin of this course (hourly samples) for each draw, @p threads at a time (0: OpenMP's
 *  default). Fills band, kept (= n) and failed of @p b; draws, dropped, source and seed are the
 *  caller's to set. @return MN_OK (a failed draw is counted, not an error); MN_ENOMEM. */
int mn_course_bands(const mn_course *c, const mn_model_params *draws, int n, int threads,
                    mn_outcome_bands *b, mn_error *err);
/** Dermal thickening (um) over lesion @p i of a patch course now (mn_outcome_lesion_dh_um);
 *  NaN in the other modes or for an index out of range. */
double mn_course_lesion_dh_um(const mn_course *c, int i);

/** A function of one parameter draw, for mn_course_eval_draws: writes @p values (its nv
 *  values); must be thread-safe. @return MN_OK, or a status when the draw's run failed. */
typedef int (*mn_course_draw_fn)(const mn_model_params *m, void *user, double *values,
                                 mn_error *err);
/** Evaluate @p fn on each of the @p n draws, @p threads at a time (0: OpenMP's default), into
 *  values[i * nv + k]. A draw whose evaluation fails gets NaN values and counts in *failed.
 *  Results do not depend on the thread count. */
void mn_course_eval_draws(const mn_model_params *draws, int n, int nv, mn_course_draw_fn fn,
                          void *user, int threads, double *values, int *failed);

/* ---- what a course holds (borrowed: valid until mn_course_destroy) ------------------------ */

/** The parameters the course was created with (its pointers are still the caller's). */
const mn_course_params *mn_course_get_params(const mn_course *c);
/** Day of the last sample (the end). */
double mn_course_end_day(const mn_course *c);
/** Day of session @p k (0-based) after the first. */
double mn_course_session_day(const mn_course *c, int k);
/** Current day: the solver's time (3D), or the end once the lumped twin has run. */
double mn_course_time(const mn_course *c);
/** Punctures per cm2 per session: the passes' geometric density, the override, or, in patch
 *  mode, the first session's punctures inside the outline per cm2. */
double mn_course_density_cm2(const mn_course *c);
/** Effective depth (um) of the deepest channel group. */
double mn_course_depth_um(const mn_course *c);
/** The time series so far. */
const mn_timeseries *mn_course_series(const mn_course *c);
mn_timeseries *mn_course_series_mut(mn_course *c);
/** The grid and the solver of a 3D course (NULL in lumped mode). */
const mn_grid *mn_course_grid(const mn_course *c);
mn_solver *mn_course_solver(mn_course *c);
/** Solver steps or CVODE steps taken. */
long mn_course_steps(const mn_course *c);
/** The lumped twin's geometry (lumped mode, after the run; NULL otherwise). */
const mn_lumped_geometry *mn_course_lumped_geometry(const mn_course *c);
/** Sessions applied and samples taken so far: the course's place in its schedule, saved with a
 *  checkpoint and given back by mn_course_set_position when a run resumes. */
typedef struct mn_course_position {
  int next_session;
  int next_sample;
} mn_course_position;
void mn_course_get_position(const mn_course *c, mn_course_position *pos);
/** Resume at @p pos (after the solver's state and the series were restored from a checkpoint).
 *  @return MN_EINPUT when @p pos is outside the schedule. */
int mn_course_set_position(mn_course *c, const mn_course_position *pos, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_COURSE_H */
