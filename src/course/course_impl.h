/* Private state of a treatment course, shared by the files of src/course. */
#ifndef MN_COURSE_IMPL_H
#define MN_COURSE_IMPL_H

#include "mnsim/course.h"

struct mn_course {
  mn_course_params p; /* as given; its pointers are borrowed */
  mn_lumped_params lp;
  double session_day[MN_MAX_SESSIONS];
  double t_end;
  double *samples; /* [nsamples] sample days, owned */
  int nsamples;
  int n_groups; /* channel groups: passes of one effective depth */
  mn_lumped_group group[MN_LUMPED_MAX_GROUPS];
  double density;     /* punctures per cm2 per session (patch: measured on the first session) */
  double uv, uv_free; /* the daily UV dose the run uses and the unprotected one, SED/day */
  /* 3D modes */
  mn_grid_params grid;    /* the caller's settings with dx adjusted to whole cells */
  mn_grid *g;             /* owned */
  mn_solver *s;           /* owned */
  mn_puncture_set *first; /* patch: the first session's punctures until they are applied */
  /* lumped mode */
  mn_lumped_geometry geo;
  int lumped_done;
  /* the run */
  mn_timeseries ts;
  int next_session, next_sample;
};

/* The 3D grid and solver of a unit-cell or patch course (src/course/cell3d.c). */
int mn__course_create_3d(mn_course *c, mn_error *err);
/* Rasterise session @p k's channels a window of planes at a time and apply them. */
int mn__course_apply_session(mn_course *c, int k, mn_error *err);
/* The observables' input: parameters @p m, the sessions, the channels' epidermal gaps, UV. */
void mn__course_outcome_input(const mn_course *c, const mn_model_params *m, mn_outcome_input *in);
/* The lumped twin's input for this course with parameters @p m and the course's samples. */
void mn__course_lumped_input(const mn_course *c, const mn_model_params *m, mn_lumped_input *in);
/* Sample days: every @p sample_hours for a week after each session, then daily, and the end.
 * *out is owned by the caller. */
int mn__course_sample_days(const double *session_day, int sessions, double t_end,
                           double sample_hours, double **out, int *n, mn_error *err);

#endif /* MN_COURSE_IMPL_H */
