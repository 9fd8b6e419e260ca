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

/** The patient's sun: the daily erythemal dose is 0.9 SED per UV-index hour (1 UVI = 25 mW/m2
 *  erythemally weighted, 1 SED = 100 J/m2) times the outdoor hours, reduced by protection in the
 *  share @p adherence of the time: u = 0.9 uvi hours ((1 - a) + a / pf) SED/day. Config keys:
 *  sun.<field>. */
typedef struct mn_sun {
  double uvi;               /**< UV index around noon on the days after the sessions */
  double outdoor_hours;     /**< hours outdoors per day around noon */
  double adherence;         /**< share of that time protected (shade, hat, sunscreen), 0-1 */
  double protection_factor; /**< dose divisor when protected */
} mn_sun;
/** Descriptor table of mn_sun (keys, units, defaults, ranges). */
const mn_config_desc *mn_sun_param_table(size_t *n);
/** Daily dose (SED/day) of @p s, and without protection into *free (may be NULL). */
double mn_sun_dose(const mn_sun *s, double *free);

/** What is done, to whom, and how it is computed. Every pointer is borrowed: it points into
 *  tables the caller owns, which must outlive the course (grid, solver and lumped are copied by
 *  mn_course_create and need only last the call). Keys in error messages are the case
 *  file's (`simulate.days`, `grid.dx_um`, `treatment.passes[1].depth_mm`); the config key of
 *  each field is given where it has one. */
typedef struct mn_course_params {
  int mode;                     /**< mn_course_mode; config key simulate.mode */
  const mn_model_params *model; /**< healing parameters */
  int fitzpatrick;              /**< skin type 1-6; config key skin.fitzpatrick */
  const mn_skin *skin;          /**< the anatomy of the treated region */
  const mn_device *dev;         /**< the resolved device (its depth_mm is the default depth) */
  /** passes and outline; NULL: one group of channels at @p depth_mm and @p density_cm2 (then
   *  density_cm2 > 0 is required, and patch mode is not available) */
  const mn_treatment *treatment;
  const mn_lesion *lesions; /**< patch mode: carved into the grid as dermal deficits */
  int n_lesions;
  /** punctures per cm2 per session; > 0 overrides the passes' density (not in patch mode, where
   *  the first session's punctures set it). Config key simulate.density_per_cm2 */
  double density_cm2;
  double depth_mm;     /**< without a treatment: nominal needle depth of every channel, mm */
  int sessions;        /**< 1 to MN_MAX_SESSIONS; config key simulate.sessions */
  double interval_day; /**< days between sessions; config key simulate.interval_day */
  double days;         /**< simulated days after the first session; config key simulate.days */
  double sample_hours; /**< time-series sampling in the week after each session (hours, > 0);
                            config key simulate.sample_hours */
  /** punctures (in place of the treatment's own seed) and later sessions' channel positions;
   *  config key `seed` */
  uint64_t seed;
  const mn_grid_params *grid;     /**< 3D modes: the grid (dx is adjusted to whole cells);
                                       config section `grid` */
  const mn_solver_params *solver; /**< 3D modes: the solver; config section `solver` */
  int supersample; /**< 3D modes: lateral samples per cell side of a channel (1-16); config key
                        simulate.supersample */
  const mn_lumped_params *lumped; /**< lumped mode and bands: NULL = mn_lumped_params_default */
  mn_sun sun;                     /**< the patient's sun after the sessions */
  /** lumped mode: NULL, or what a course of these settings and parameters with fewer sessions
   *  held (@p hold; a distinct object): the run starts at its day, its samples before that day
   *  are taken as they are. Only the sample days and the state's size are checked: that the
   *  rest is the same is the caller's to ensure */
  const struct mn_course_hold *resume;
  /** lumped mode: NULL, or where to keep this course's state at the day its next session would
   *  be (sessions x interval_day, when before the end) and its samples before that day, for a
   *  longer course to resume from. The integrator stops at that day, as the longer course's does
   *  for its session: the results move within the solver's tolerance against a run without */
  struct mn_course_hold *hold;
} mn_course_params;

/** A lumped course's state at the day of a session it does not give, and its samples before
 *  that day (mn_course_params.hold, .resume). Owned arrays: mn_course_hold_fini. */
typedef struct mn_course_hold {
  mn_lumped_hold lumped; /**< lumped.t_day 0: nothing held */
  mn_timeseries ts;      /**< the samples before lumped.t_day */
} mn_course_hold;
/** Free the arrays of @p h and clear it (NULL-safe). */
void mn_course_hold_fini(mn_course_hold *h);

/** Fill @p p with the defaults of a course: unit cell, Fitzpatrick type 3, one session (42
 *  days apart when there are more), 180 days, hourly samples, supersample 3 (the case file's
 *  default is 4), no pointers set (model, skin and dev must be set before mn_course_create). */
void mn_course_params_default(mn_course_params *p);

/** A treatment course. Opaque; mn_course_create / mn_course_destroy. One thread drives it
 *  (mn_course_bands threads internally). */
typedef struct mn_course mn_course;

/** Create a course: the schedules, the channel groups (passes of one effective depth), and in a
 *  3D mode the grid and the solver at the healthy baseline at day 0 (patch mode also generates
 *  the first session's punctures, for the density). Nothing is simulated yet.
 *  @param[in] p the course; borrowed pointers must outlive the course
 *  @param[out] out the new course (owned by the caller: mn_course_destroy), NULL on failure
 *  @return MN_OK; MN_EUSAGE when model, skin or dev is NULL, the mode is unknown, a 3D mode
 *  lacks grid or solver, or patch mode lacks a treatment; MN_EINPUT or MN_ERANGE naming the
 *  case-file key for a course that cannot be computed (a session after the end, a cell narrower
 *  than 3 cells, a pass depth outside the device's range, mixed pass depths in a unit cell, a
 *  domain larger than the memory); MN_ENOMEM. */
int mn_course_create(const mn_course_params *p, mn_course **out, mn_error *err);
/** Free a course and everything it owns. NULL-safe. */
void mn_course_destroy(mn_course *c);

/** Apply every event due at the current time, in order: the sessions' injuries, then the time
 *  series samples. The lumped mode has no events of its own (mn_course_step runs it whole).
 *  @return MN_OK; MN_ENOMEM, MN_EINPUT or MN_ERANGE from the punctures of a patch session;
 *  MN_EINTERNAL if the series is full. */
int mn_course_events(mn_course *c, mn_error *err);
/** One step: in a 3D mode one adaptive solver step that ends at the next event, at @p t_stop or
 *  at the end, whichever comes first (a @p t_stop already reached is ignored; call
 *  mn_course_events before each step); in lumped mode
 *  the whole course (a no-op once it has run). @p info (may be NULL) receives what the step did.
 *  @return MN_OK; MN_ENUMERIC when the state turns NaN or negative (the message names voxel,
 *  species and day) or CVODE fails; MN_EINTERNAL in a 3D mode when there is nothing to step to
 *  (the course is done, or events due now were not applied); the errors of mn_lumped_run. */
int mn_course_step(mn_course *c, double t_stop, mn_step_info *info, mn_error *err);
/** 1 when the course has reached its last day and applied every event, else 0. */
int mn_course_done(const mn_course *c);
/** Run the course to its end: events and steps until mn_course_done. @return MN_OK, or the
 *  first error of mn_course_events or mn_course_step (the course stops there). */
int mn_course_run(mn_course *c, mn_error *err);

/** The observables of the series so far (mn_outcome_compute with the course's parameters).
 *  @return MN_OK; MN_EINPUT before two samples are taken; MN_ENOMEM. */
int mn_course_outcome(const mn_course *c, mn_outcome *out, mn_error *err);
/** Median and 90 % band of every outcome scalar over @p n parameter draws @p draws: the lumped
 *  twin of this course (hourly samples) for each draw, @p threads at a time (0: OpenMP's
 *  default). Fills band, kept (= n) and failed of @p b; draws, dropped, source and seed are the
 *  caller's to set. @p draws (n of them, e.g. from mn_ensemble) is only read during the call.
 *  @p prog (borrowed, may be NULL): the draws' progress, as mn_course_eval_draws.
 *  @return MN_OK (a failed draw is counted, not an error); MN_ENOMEM. */
int mn_course_bands(const mn_course *c, const mn_model_params *draws, int n, int threads,
                    mn_outcome_bands *b, mn_progress *prog, mn_error *err);
/** Dermal thickening (um) over lesion @p i of a patch course now (mn_outcome_lesion_dh_um);
 *  NaN in the other modes or for an index out of range. */
double mn_course_lesion_dh_um(const mn_course *c, int i);
/** Papillary collagen gain (a fraction) over lesion @p i of a patch course now
 *  (mn_outcome_lesion_gain); NaN in the other modes or for an index out of range. */
double mn_course_lesion_gain(const mn_course *c, int i);

/** A function of one parameter draw, for mn_course_eval_draws: writes @p values (its nv
 *  values); must be thread-safe. @return MN_OK, or a status when the draw's run failed. */
typedef int (*mn_course_draw_fn)(const mn_model_params *m, void *user, double *values,
                                 mn_error *err);
/** Evaluate @p fn on each of the @p n draws, @p threads at a time (0: OpenMP's default), into
 *  values[i * nv + k] (room for n * nv, the caller's). A draw whose evaluation fails gets NaN
 *  values and counts in *failed; its error message is dropped. Never fails. Results do not
 *  depend on the thread count. Under MPI each rank evaluates its block of the draws
 *  (mn_dist_block) and every rank gets every value (collective: every rank calls it with the same
 *  n and nv); an MPI failure aborts every rank. @p prog (borrowed, may be NULL) is updated with
 *  the share of this rank's draws done (by one thread; not finished: the caller's). */
void mn_course_eval_draws(const mn_model_params *draws, int n, int nv, mn_course_draw_fn fn,
                          void *user, int threads, double *values, int *failed, mn_progress *prog);

/* ---- what a course holds (borrowed: valid until mn_course_destroy) ------------------------ */

/** The parameters the course was created with (its pointers are still the caller's). */
const mn_course_params *mn_course_get_params(const mn_course *c);
/** Day of the last sample (the end). */
double mn_course_end_day(const mn_course *c);
/** Day of session @p k (0-based) after the first; NaN for @p k out of range. */
double mn_course_session_day(const mn_course *c, int k);
/** Current day: the solver's time (3D), or in lumped mode 0 before and the end after the run. */
double mn_course_time(const mn_course *c);
/** Punctures per cm2 per session: the passes' geometric density, the override, or, in patch
 *  mode, the first session's punctures inside the outline per cm2. */
double mn_course_density_cm2(const mn_course *c);
/** Effective depth (um) of the deepest channel group. */
double mn_course_depth_um(const mn_course *c);
/** The time series so far (it grows as the course runs). */
const mn_timeseries *mn_course_series(const mn_course *c);
/** Writable mn_course_series, to restore a checkpoint's samples (then mn_course_set_position). */
mn_timeseries *mn_course_series_mut(mn_course *c);
/** The grid of a 3D course (NULL in lumped mode). */
const mn_grid *mn_course_grid(const mn_course *c);
/** The solver of a 3D course (NULL in lumped mode), e.g. to restore a checkpoint's state. */
mn_solver *mn_course_solver(mn_course *c);
/** Solver steps or CVODE steps taken (lumped: 0 before the run). */
long mn_course_steps(const mn_course *c);
/** The lumped twin's geometry (lumped mode, after the run; NULL otherwise). */
const mn_lumped_geometry *mn_course_lumped_geometry(const mn_course *c);
/** Sessions applied and samples taken so far: the course's place in its schedule, saved with a
 *  checkpoint and given back by mn_course_set_position when a run resumes. */
typedef struct mn_course_position {
  int next_session; /**< sessions applied */
  int next_sample;  /**< samples taken */
} mn_course_position;
/** The course's place in its schedule. Never fails. */
void mn_course_get_position(const mn_course *c, mn_course_position *pos);
/** Resume at @p pos (after the solver's state and the series were restored from a checkpoint).
 *  @return MN_OK; MN_EINPUT when @p pos is outside the schedule or the series does not hold
 *  exactly pos->next_sample samples. */
int mn_course_set_position(mn_course *c, const mn_course_position *pos, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_COURSE_H */
