/* One treatment course: the schedules, the channel groups, the unit cell or patch on the 3D grid
 * or the lumped twin's input, the time loop's events (sessions, samples) and steps, and the
 * outcome with its bands. The CLI owns the loop's progress, snapshots, checkpoints and signals;
 * this file owns everything that decides what is simulated. Stage: course. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "course_impl.h"

/* Events at a time closer than this to an event's day count as due (days). */
static const double EPS_DAY = 1e-9;

static const mn_config_desc sun_table[] = {
    {"uvi", MN_CONFIG_DOUBLE, "", 5, 0, 16, NULL, NULL, offsetof(mn_sun, uvi), sizeof(double),
     "UV index around noon on the days after the sessions (0 = no sun; 3 moderate, 6 high, 8 very "
     "high)"},
    {"outdoor_hours", MN_CONFIG_DOUBLE, "h", 1, 0, 12, NULL, NULL, offsetof(mn_sun, outdoor_hours),
     sizeof(double), "hours outdoors per day around noon"},
    {"adherence", MN_CONFIG_DOUBLE, "", 0.9, 0, 1, NULL, NULL, offsetof(mn_sun, adherence),
     sizeof(double), "share of that time protected by shade, hat or sunscreen"},
    {"protection_factor", MN_CONFIG_DOUBLE, "", 10, 1, 100, NULL, NULL,
     offsetof(mn_sun, protection_factor), sizeof(double),
     "dose divisor while protected (sunscreen as applied, shade) [E]"},
};

const mn_config_desc *mn_sun_param_table(size_t *n) {
  *n = sizeof sun_table / sizeof sun_table[0];
  return sun_table;
}

double mn_sun_dose(const mn_sun *s, double *free) {
  double u = 0.9 * s->uvi * s->outdoor_hours; /* SED per UV-index hour: a definition */
  if (free) *free = u;
  if (!(u > 0)) return 0;
  double pf = s->protection_factor >= 1 ? s->protection_factor : 1;
  return u * ((1 - s->adherence) + s->adherence / pf);
}

void mn_course_params_default(mn_course_params *p) {
  memset(p, 0, sizeof *p);
  mn_config_defaults(sun_table, sizeof sun_table / sizeof sun_table[0], &p->sun);
  p->mode = MN_COURSE_UNIT_CELL;
  p->fitzpatrick = 3;
  p->sessions = 1;
  p->interval_day = 42;
  p->days = 180;
  p->sample_hours = 1;
  p->supersample = 3;
}

void mn_course_destroy(mn_course *c) {
  if (!c) return;
  mn_timeseries_fini(&c->ts);
  mn_free(c->samples);
  mn_solver_destroy(c->s);
  mn_grid_destroy(c->g);
  mn_puncture_set_destroy(c->first);
  mn_free(c);
}

/* ---- schedules ------------------------------------------------------------------------------ */

/* Session days, and a refusal of a last session at or after the end. */
static int session_schedule(mn_course *c, mn_error *err) {
  const mn_course_params *p = &c->p;
  if (p->sessions < 1 || p->sessions > MN_MAX_SESSIONS)
    return MN_ERR(err, MN_ERANGE, "simulate.sessions", "simulate.sessions = %d is outside [1, %d]",
                  p->sessions, MN_MAX_SESSIONS);
  c->t_end = p->days;
  for (int s = 0; s < p->sessions; s++) c->session_day[s] = s * p->interval_day;
  if (c->session_day[p->sessions - 1] >= c->t_end)
    return MN_ERR(err, MN_EINPUT, "simulate.days",
                  "simulate.days = %g ends before session %d (day %g); raise simulate.days or "
                  "lower simulate.sessions / simulate.interval_day",
                  p->days, p->sessions, c->session_day[p->sessions - 1]);
  return MN_OK;
}

int mn__course_sample_days(const double *session_day, int sessions, double t_end,
                           double sample_hours, double **out, int *n, mn_error *err) {
  int cap = 2;
  for (int s = 0; s < sessions; s++) cap += (int)(7 * 24 / sample_hours) + 2;
  cap += (int)t_end + 2;
  double *v = mn_malloc_array((size_t)cap, sizeof *v);
  *out = v, *n = 0;
  if (!v) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the sample schedule");
  int k = 0;
  double h = sample_hours / 24.0;
  for (int s = 0; s < sessions; s++) {
    double t0 = session_day[s], t1 = s + 1 < sessions ? session_day[s + 1] : t_end;
    for (int i = 0;; i++) { /* i * h rather than a running sum: exact, repeatable times */
      double t = t0 + i * h;
      if (t > fmin(t0 + 7, t1) + 1e-9 || t > t_end + 1e-9) break;
      if (t < t1 - 1e-9 || t1 >= t_end) v[k++] = t;
    }
    for (int d = 8; t0 + d < t1 - 1e-9 && t0 + d <= t_end + 1e-9; d++) v[k++] = t0 + d;
  }
  if (v[k - 1] < t_end - 1e-9) v[k++] = t_end;
  *n = k;
  return MN_OK;
}

/* ---- channel groups --------------------------------------------------------------------------
 * The channels of a session grouped by effective depth: passes set to the same depth form one
 * group, whose density is the sum of theirs (in pass order). */

static void add_group(mn_course *c, double density, double depth_um) {
  for (int i = 0; i < c->n_groups; i++)
    if (c->group[i].depth_um == depth_um) {
      c->group[i].density_cm2 += density;
      return;
    }
  c->group[c->n_groups++] = (mn_lumped_group){density, depth_um};
}

/* Scale the groups' densities to a total of @p total (an override or a measured density). */
static void scale_groups(mn_course *c, double total) {
  if (c->n_groups == 1) {
    c->group[0].density_cm2 = total;
  } else {
    double sum = 0;
    for (int i = 0; i < c->n_groups; i++) sum += c->group[i].density_cm2;
    for (int i = 0; i < c->n_groups; i++) c->group[i].density_cm2 *= total / sum;
  }
  c->density = total;
}

static int channel_groups(mn_course *c, mn_error *err) {
  const mn_course_params *p = &c->p;
  const mn_treatment *t = p->treatment;
  if (!t) {
    if (!(p->density_cm2 > 0) || !(p->depth_mm > 0))
      return MN_ERR(err, MN_EINPUT, "",
                    "a course without passes needs a density (> 0, got %g) and a depth (> 0, got "
                    "%g mm)",
                    p->density_cm2, p->depth_mm);
    add_group(c, p->density_cm2, mn_device_depth_um(p->dev, p->depth_mm));
    c->density = p->density_cm2;
    return MN_OK;
  }
  int rc = mn_device_check_passes(p->dev, t, err);
  if (rc) return rc;
  double total = 0;
  for (int i = 0; i < t->n_passes; i++) {
    double n = mn_device_pass_density_cm2(p->dev, &t->passes[i]);
    double depth = mn_device_pass_depth_um(p->dev, &t->passes[i]);
    if (c->n_groups == MN_LUMPED_MAX_GROUPS && !(c->group[c->n_groups - 1].depth_um == depth))
      return MN_ERR(err, MN_EINPUT, "treatment.passes",
                    "treatment.passes: at most %d different pass depths in one course",
                    MN_LUMPED_MAX_GROUPS);
    total += n;
    add_group(c, n, depth);
  }
  c->density = total;
  if (p->density_cm2 > 0) scale_groups(c, p->density_cm2);
  if (p->mode == MN_COURSE_UNIT_CELL && c->n_groups > 1)
    return MN_ERR(err, MN_EINPUT, "treatment.passes",
                  "simulate.mode unit_cell simulates one channel depth, but the passes reach %.0f "
                  "and %.0f um: use simulate.mode patch or lumped, or one depth_mm for every pass",
                  c->group[0].depth_um, c->group[1].depth_um);
  return MN_OK;
}

double mn_course_depth_um(const mn_course *c) {
  double d = 0;
  for (int i = 0; i < c->n_groups; i++) d = fmax(d, c->group[i].depth_um);
  return d;
}

/* ---- create --------------------------------------------------------------------------------- */

static int check_params(const mn_course_params *p, mn_error *err) {
  if (!p->model || !p->skin || !p->dev)
    return MN_ERR(err, MN_EUSAGE, "", "a course needs model parameters, a skin and a device");
  if (p->mode < MN_COURSE_UNIT_CELL || p->mode > MN_COURSE_LUMPED)
    return MN_ERR(err, MN_EUSAGE, "simulate.mode", "simulate.mode %d is not a course mode",
                  p->mode);
  if (p->mode != MN_COURSE_LUMPED && (!p->grid || !p->solver))
    return MN_ERR(err, MN_EUSAGE, "", "a 3D course needs grid and solver settings");
  if (p->mode == MN_COURSE_PATCH && !p->treatment)
    return MN_ERR(err, MN_EUSAGE, "simulate.mode", "a patch course needs the treatment's passes");
  if (!(p->sample_hours > 0))
    return MN_ERR(err, MN_ERANGE, "simulate.sample_hours", "simulate.sample_hours = %g must be > 0",
                  p->sample_hours);
  return MN_OK;
}

int mn_course_create(const mn_course_params *p, mn_course **out, mn_error *err) {
  int rc = MN_OK;
  *out = NULL;
  MN_TRY(check_params(p, err));
  mn_course *c = mn_calloc(1, sizeof *c);
  MN_CHECK(c, err, MN_ENOMEM, "", "out of memory for a course");
  c->p = *p;
  c->uv = mn_sun_dose(&p->sun, &c->uv_free);
  if (p->lumped)
    c->lp = *p->lumped;
  else
    mn_lumped_params_default(&c->lp);
  if ((rc = channel_groups(c, err)) || (rc = session_schedule(c, err)) ||
      (rc = p->mode == MN_COURSE_LUMPED ? MN_OK : mn__course_create_3d(c, err)) ||
      (rc = mn__course_sample_days(c->session_day, p->sessions, c->t_end, p->sample_hours,
                                   &c->samples, &c->nsamples, err)) ||
      (rc = mn_timeseries_init(&c->ts, c->nsamples, err))) {
    mn_course_destroy(c);
    return rc;
  }
  if (p->mode == MN_COURSE_UNIT_CELL && p->n_lesions)
    mn_log(MN_LOG_WARN, "simulate.mode unit_cell ignores skin.lesions");
  if (p->mode == MN_COURSE_LUMPED && p->n_lesions)
    mn_log(MN_LOG_INFO, "simulate.mode lumped: lesion fill from the mean dermal thickening");
  *out = c;
cleanup:
  return rc;
}

/* ---- the lumped twin ----------------------------------------------------------------------- */

void mn__course_lumped_input(const mn_course *c, const mn_model_params *m, mn_lumped_input *in) {
  memset(in, 0, sizeof *in);
  in->m = m;
  in->fitz = c->p.fitzpatrick;
  in->skin = c->p.skin;
  in->dev = c->p.dev;
  in->n_groups = c->n_groups;
  memcpy(in->group, c->group, sizeof c->group);
  in->sessions = c->p.sessions;
  memcpy(in->session_day, c->session_day, sizeof in->session_day);
  in->t_end = c->t_end;
  in->samples = c->samples;
  in->nsamples = c->nsamples;
  in->uv = c->uv;
}

void mn__course_outcome_input(const mn_course *c, const mn_model_params *m, mn_outcome_input *in) {
  memset(in, 0, sizeof *in);
  in->m = m;
  in->skin = c->p.skin;
  in->fitzpatrick = c->p.fitzpatrick;
  in->session_day = c->session_day;
  in->sessions = c->p.sessions;
  in->uv_run = c->uv, in->uv_free = c->uv_free;
  /* each group's gap over the device's depth spread (3-point Gauss-Hermite): the lumen radius
   * at the epidermis-dermis junction */
  static const double x[3] = {-1.7320508075688772, 0, 1.7320508075688772};
  static const double w[3] = {1.0 / 6, 2.0 / 3, 1.0 / 6};
  double dej = c->p.skin->top_um[MN_LAYER_PD], cv = c->p.dev->cls.depth_cv;
  for (int g = 0; g < c->n_groups && in->n_gaps + 3 <= MN_OUTCOME_MAX_GAPS; g++)
    for (int q = 0; q < 3; q++) {
      double depth = c->group[g].depth_um * (1 + cv * x[q]);
      double a = depth > dej
                     ? c->p.dev->cls.lumen_ratio * mn_device_channel_radius_um(c->p.dev, depth, dej)
                     : 0;
      in->gap_um[in->n_gaps] = a, in->gap_weight[in->n_gaps++] = c->group[g].density_cm2 * w[q];
    }
}

/* ---- the time loop -------------------------------------------------------------------------- */

static int record(mn_course *c, mn_error *err) {
  double mean[MN_LAYER_HYPO][MN_NSPECIES];
  mn_solver_layer_means(c->s, mean);
  int rc = mn_timeseries_add(&c->ts, mn_solver_time(c->s), c->next_session,
                             mean[MN_LAYER_PD][MN_SP_V], mean, err);
  if (rc == MN_OK) c->next_sample++;
  return rc;
}

int mn_course_events(mn_course *c, mn_error *err) {
  int rc = MN_OK;
  if (c->p.mode == MN_COURSE_LUMPED) return MN_OK;
  double t = mn_solver_time(c->s);
  while (c->next_session < c->p.sessions && t >= c->session_day[c->next_session] - EPS_DAY) {
    MN_TRY(mn__course_apply_session(c, c->next_session, err));
    c->next_session++;
  }
  while (c->next_sample < c->nsamples && t >= c->samples[c->next_sample] - EPS_DAY)
    MN_TRY(record(c, err));
cleanup:
  return rc;
}

int mn_course_done(const mn_course *c) {
  if (c->p.mode == MN_COURSE_LUMPED) return c->lumped_done;
  return c->next_session >= c->p.sessions && c->next_sample >= c->nsamples &&
         mn_solver_time(c->s) >= c->t_end - EPS_DAY;
}

void mn_course_hold_fini(mn_course_hold *h) {
  if (!h) return;
  mn_lumped_hold_fini(&h->lumped);
  mn_timeseries_fini(&h->ts);
}

/* The samples of the held course before its day, which must be this course's first ones. */
static int resume_samples(mn_course *c, const mn_course_hold *h, mn_error *err) {
  int n = 0;
  while (n < h->ts.n && h->ts.t[n] < h->lumped.t_day) n++; /* exactly, as mn_lumped_run skips */
  /* the same days, and none of this course's left between them and the held day */
  for (int i = 0; i <= n; i++)
    if (i < n ? i >= c->nsamples || h->ts.t[i] != c->samples[i]
              : i < c->nsamples && c->samples[i] < h->lumped.t_day)
      return MN_ERR(err, MN_EINPUT, "",
                    "the held course's samples before day %g are not this course's (sample %d "
                    "differs: the courses differ before that day)",
                    h->lumped.t_day, i);
  c->ts.n = 0;
  return mn_timeseries_append(&c->ts, &h->ts, n, err);
}

/* This course's samples before the held day into the hold. */
static int hold_samples(const mn_course *c, mn_course_hold *h, mn_error *err) {
  int n = 0;
  while (n < c->ts.n && c->ts.t[n] < h->lumped.t_day) n++;
  if (h->ts.cap < n) {
    mn_timeseries_fini(&h->ts);
    int rc = mn_timeseries_init(&h->ts, n, err);
    if (rc) return rc;
  }
  h->ts.n = 0;
  return mn_timeseries_append(&h->ts, &c->ts, n, err);
}

static int run_lumped(mn_course *c, mn_step_info *info, mn_error *err) {
  mn_lumped_input in;
  mn__course_lumped_input(c, c->p.model, &in);
  int rc = MN_OK;
  if (c->p.hold && (const mn_course_hold *)c->p.hold == c->p.resume)
    return MN_ERR(err, MN_EINPUT, "", "a course cannot hold into the state it resumes from");
  if (c->p.hold) c->p.hold->lumped.t_day = 0;
  if (c->p.resume) {
    MN_TRY(resume_samples(c, c->p.resume, err));
    in.resume = &c->p.resume->lumped;
  }
  double next = c->p.sessions * c->p.interval_day; /* the day of a next session */
  if (c->p.hold && c->p.sessions < MN_MAX_SESSIONS && c->p.interval_day > 0 &&
      next < c->t_end - EPS_DAY)
    in.hold = &c->p.hold->lumped, in.hold_day = next;
  MN_TRY(mn_lumped_run(&in, &c->lp, &c->ts, &c->geo, err));
  if (in.hold && in.hold->t_day > 0 && (rc = hold_samples(c, c->p.hold, err)))
    c->p.hold->lumped.t_day = 0;
  if (rc) return rc;
  c->lumped_done = 1;
  c->next_session = c->p.sessions, c->next_sample = c->nsamples;
  if (info) *info = (mn_step_info){.t_day = c->t_end, .dt_day = c->t_end};
cleanup:
  return rc;
}

int mn_course_step(mn_course *c, double t_stop, mn_step_info *info, mn_error *err) {
  if (c->p.mode == MN_COURSE_LUMPED) return c->lumped_done ? MN_OK : run_lumped(c, info, err);
  double stop = c->t_end;
  if (t_stop > mn_solver_time(c->s) + EPS_DAY) stop = fmin(stop, t_stop);
  if (c->next_session < c->p.sessions) stop = fmin(stop, c->session_day[c->next_session]);
  if (c->next_sample < c->nsamples) stop = fmin(stop, c->samples[c->next_sample]);
  mn_step_info own;
  return mn_solver_step(c->s, stop, info ? info : &own, err);
}

int mn_course_run(mn_course *c, mn_error *err) {
  int rc = MN_OK;
  for (;;) {
    MN_TRY(mn_course_events(c, err));
    if (mn_course_done(c)) break;
    MN_TRY(mn_course_step(c, INFINITY, NULL, err));
  }
cleanup:
  return rc;
}

/* ---- results -------------------------------------------------------------------------------- */

int mn_course_outcome(const mn_course *c, mn_outcome *out, mn_error *err) {
  mn_outcome_input in;
  mn__course_outcome_input(c, c->p.model, &in);
  return mn_outcome_compute(&c->ts, &in, out, err);
}

double mn_course_lesion_dh_um(const mn_course *c, int i) {
  if (c->p.mode != MN_COURSE_PATCH || i < 0 || i >= c->p.n_lesions) return NAN;
  return mn_outcome_lesion_dh_um(c->g, c->s, c->p.model, &c->p.lesions[i]);
}

double mn_course_lesion_gain(const mn_course *c, int i) {
  if (c->p.mode != MN_COURSE_PATCH || i < 0 || i >= c->p.n_lesions) return NAN;
  return mn_outcome_lesion_gain(c->g, c->s, &c->p.lesions[i]);
}

/* ---- accessors ------------------------------------------------------------------------------ */

const mn_course_params *mn_course_get_params(const mn_course *c) {
  return &c->p;
}
double mn_course_end_day(const mn_course *c) {
  return c->t_end;
}
double mn_course_session_day(const mn_course *c, int k) {
  return k >= 0 && k < c->p.sessions ? c->session_day[k] : NAN;
}
double mn_course_time(const mn_course *c) {
  if (c->p.mode == MN_COURSE_LUMPED) return c->lumped_done ? c->t_end : 0;
  return mn_solver_time(c->s);
}
double mn_course_density_cm2(const mn_course *c) {
  return c->density;
}
const mn_timeseries *mn_course_series(const mn_course *c) {
  return &c->ts;
}
mn_timeseries *mn_course_series_mut(mn_course *c) {
  return &c->ts;
}
const mn_grid *mn_course_grid(const mn_course *c) {
  return c->g;
}
mn_solver *mn_course_solver(mn_course *c) {
  return c->s;
}
long mn_course_steps(const mn_course *c) {
  return c->p.mode == MN_COURSE_LUMPED ? c->geo.steps : mn_solver_steps(c->s);
}
const mn_lumped_geometry *mn_course_lumped_geometry(const mn_course *c) {
  return c->p.mode == MN_COURSE_LUMPED && c->lumped_done ? &c->geo : NULL;
}
void mn_course_get_position(const mn_course *c, mn_course_position *pos) {
  pos->next_session = c->next_session;
  pos->next_sample = c->next_sample;
}
/* A position restored from a checkpoint must be one the loop can reach: within the schedule,
 * as many samples as recorded, and consistent with the solver's time (events before it done,
 * none after it; the loop never steps over an event). */
int mn_course_set_position(mn_course *c, const mn_course_position *pos, mn_error *err) {
  if (pos->next_session < 0 || pos->next_session > c->p.sessions || pos->next_sample < 0 ||
      pos->next_sample > c->nsamples || pos->next_sample != c->ts.n)
    return MN_ERR(err, MN_EINPUT, "",
                  "run position (session %d of %d, sample %d of %d, %d recorded) is outside the "
                  "course's schedule",
                  pos->next_session, c->p.sessions, pos->next_sample, c->nsamples, c->ts.n);
  if (c->p.mode != MN_COURSE_LUMPED) {
    double t = mn_solver_time(c->s);
    int ks = pos->next_session, kn = pos->next_sample;
    if (!(t >= 0 && t <= c->t_end + EPS_DAY))
      return MN_ERR(err, MN_EINPUT, "", "run time t_day = %g is outside the course's [0, %g]", t,
                    c->t_end);
    if ((ks > 0 && c->session_day[ks - 1] > t + EPS_DAY) ||
        (ks < c->p.sessions && c->session_day[ks] < t - EPS_DAY) ||
        (kn > 0 && c->samples[kn - 1] > t + EPS_DAY) ||
        (kn < c->nsamples && c->samples[kn] < t - EPS_DAY))
      return MN_ERR(err, MN_EINPUT, "",
                    "run position (%d sessions applied, %d samples taken) does not match day %g "
                    "of the course's schedule",
                    ks, kn, t);
  }
  c->next_session = pos->next_session;
  c->next_sample = pos->next_sample;
  return MN_OK;
}
