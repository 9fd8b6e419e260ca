/* `mnsim simulate CASE.yaml -o DIR`: the healing model on the 3D grid for the case's treatment,
 * either on a periodic unit cell around one channel or on a periodic patch of the treatment's
 * punctures. Owns the time loop: sessions, time-series samples, 3D snapshots, progress,
 * checkpoints every N minutes, SIGINT/SIGTERM, --resume. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

typedef struct sim {
  cli_opts common;
  const char *resume; /* --resume DIR */
  int threads;        /* --threads, 0 = solver.threads */
  int progress;       /* --progress: a line per 5 % (logs) */
  int have_seed;      /* --seed given */
  uint64_t seed;
  char dir[4096], run[4200];
  mn_case *cs;
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_skin skin;
  mn_device dev;
  mn_param_set ps;
  mn_course *c;
  mn_outcome out;
  int next_snapshot; /* snapshots written so far */
  mn_outcome_bands bands;
  int have_bands;
  double wall0;
  double days;                     /* --days override, 0 = none */
  uint64_t case_hash, params_hash; /* of the case's bytes and of the model parameters */
  int lock_fd;                     /* the output directory's lock (lock_dir), -1 = none */
  char lock_path[4200];
} sim;

/* The output directory's lock, DIR/.mnsim-lock: an exclusive flock held from before the run
 * directory is looked at until the results are in place, so that two runs (or two resumes)
 * cannot interleave in one directory. The kernel releases it when its owner dies, so a killed
 * run's lock is taken over at once. The file holds the owner's pid for the message and is
 * removed by its owner at the end; one that was removed while we opened it is not ours (the
 * inode check), and we open it again. */
static int lock_dir(sim *m, mn_error *err) {
  snprintf(m->lock_path, sizeof m->lock_path, "%s/.mnsim-lock", m->dir);
  const char *path = m->lock_path;
  for (int tries = 0; tries < 8; tries++) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
      return MN_ERR(err, MN_EIO, "", "cannot create the lock file %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      char pid[24] = "";
      ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
      pid[n > 0 ? n : 0] = '\0';
      pid[strcspn(pid, "\n")] = '\0';
      close(fd);
      if (e == EWOULDBLOCK)
        return MN_ERR(err, MN_EUSAGE, "",
                      "%s is in use by another mnsim run (pid %s, lock %s): wait for it to end or "
                      "choose another -o directory",
                      m->dir, pid[0] ? pid : "unknown", path);
      return MN_ERR(err, MN_EIO, "", "cannot lock %s: %s", path, strerror(e));
    }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      char pid[24];
      int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
      if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        mn_log(MN_LOG_WARN, "cannot write the pid to %s", path);
      m->lock_fd = fd;
      return MN_OK;
    }
    close(fd);
  }
  return MN_ERR(err, MN_EIO, "", "cannot lock %s: it keeps being replaced", path);
}

/* Remove the lock file, then release it (see lock_dir). */
static void unlock_dir(sim *m) {
  if (m->lock_fd < 0) return;
  unlink(m->lock_path);
  close(m->lock_fd);
  m->lock_fd = -1;
}

static void sim_fini(sim *m) {
  unlock_dir(m);
  mn_course_destroy(m->c);
  mn_device_fini(&m->dev);
  mn_device_catalogue_destroy(m->cat);
  mn_skin_atlas_destroy(m->atlas);
  mn_case_destroy(m->cs);
}

/* The case's course: every setting comes from the case file (its pointers stay valid while the
 * case, the skin, the device and the parameters live in @p m). */
static void course_params(const sim *m, mn_course_params *p) {
  const mn_case *cs = m->cs;
  mn_course_params_default(p);
  p->mode = cs->sim.mode;
  p->model = &m->ps.p;
  p->fitzpatrick = cs->skin.fitzpatrick;
  p->skin = &m->skin;
  p->dev = &m->dev;
  p->treatment = &cs->treatment;
  p->lesions = cs->lesions;
  p->n_lesions = cs->n_lesions;
  p->density_cm2 = cs->sim.density_per_cm2;
  p->sessions = cs->sim.sessions;
  p->interval_day = cs->sim.interval_day;
  p->days = cs->sim.days;
  p->sample_hours = cs->sim.sample_hours;
  p->seed = cs->seed;
  p->grid = &cs->grid;
  p->solver = &cs->solver;
  p->supersample = cs->sim.supersample;
  p->sun = cs->sun;
}

/* Everything that follows from the case alone: anatomy, device, parameters and the course.
 * @p seed: the run's seed (the case's, a --seed override, or a resumed run's). */
static int setup(sim *m, const char *case_path, int have_seed, uint64_t seed, int threads,
                 mn_error *err) {
  int rc = MN_OK;
  MN_TRY(mn_case_read(case_path, &m->cs, err));
  m->case_hash = mn_fnv1a64(MN_FNV1A64_INIT, m->cs->text, m->cs->text_len);
  if (m->days > 0) m->cs->sim.days = m->days;
  if (have_seed) m->cs->seed = m->cs->treatment.seed = seed;
  if (threads > 0) m->cs->solver.threads = threads;
  MN_TRY(mn_skin_atlas_create(&m->atlas, err));
  MN_TRY(mn_device_catalogue_create(&m->cat, err));
  MN_TRY(mn_case_check_skin(m->cs, m->atlas, &m->skin, err));
  if ((rc = mn_device_init(&m->dev, m->cat, &m->cs->device, err))) goto located;
  MN_TRY(mn_param_set_load_default(&m->ps, err));
  MN_TRY(mn_case_apply_overrides(m->cs, &m->ps, err));
  m->params_hash = mn_fnv1a64(MN_FNV1A64_INIT, &m->ps.p, sizeof m->ps.p);
  mn_course_params p;
  course_params(m, &p);
  if ((rc = mn_course_create(&p, &m->c, err))) goto located;
  return MN_OK;
located:
  mn_case_locate(m->cs, err);
cleanup:
  return rc;
}

static void snap_path(const sim *m, int i, char *buf, size_t n) {
  snprintf(buf, n, "%s/snap_%03d.h5", m->run, i);
}

static int checkpoint(sim *m, mn_error *err) {
  char p[4300];
  snprintf(p, sizeof p, "%s/checkpoint.h5", m->run);
  mn_course_position pos;
  mn_course_get_position(m->c, &pos);
  mn_run_state rs = {.next_session = pos.next_session,
                     .next_sample = pos.next_sample,
                     .next_snapshot = m->next_snapshot,
                     .seed = m->cs->seed,
                     .days = m->days,
                     .case_hash = m->case_hash,
                     .params_hash = m->params_hash};
  snprintf(rs.case_file, sizeof rs.case_file, "%s", m->cs->file);
  return mn_checkpoint_write(p, mn_course_grid(m->c), mn_course_solver(m->c), &rs,
                             mn_course_series(m->c), err);
}

/* Test hook (mnsim-hooks only, mn_test_hook.poison_day): a NaN in the state once the run passes
 * that day. */
static void poison(sim *m, double *poison_day) {
  if (!(*poison_day > 0) || mn_course_time(m->c) < *poison_day) return;
  const mn_grid *g = mn_course_grid(m->c);
  mn_solver_field(mn_course_solver(m->c), MN_SP_P)[mn_grid_at(g, g->nx / 2, g->ny / 2, g->nz / 2)] =
      NAN;
  *poison_day = 0;
}

/* The snapshot due now, if any: written to the run directory. 1 when one was written. */
static int snapshot(sim *m, int *wrote, mn_error *err) {
  const mn_simulate_params *p = &m->cs->sim;
  *wrote = 0;
  if (m->next_snapshot >= p->n_snapshots ||
      mn_course_time(m->c) < p->snapshot_days[m->next_snapshot] - 1e-9)
    return MN_OK;
  char sp[4300];
  snap_path(m, m->next_snapshot, sp, sizeof sp);
  int rc = mn_h5_write_snapshot(sp, mn_course_grid(m->c), mn_course_solver(m->c),
                                p->snapshot_days[m->next_snapshot], p->precision, err);
  if (rc == MN_OK) m->next_snapshot++, *wrote = 1;
  return rc;
}

/* The time loop: at each time the course's events (sessions, samples), then a snapshot, then a
 * step; a checkpoint every simulate.checkpoint_min and on SIGINT/SIGTERM (then -1). */
static int loop(sim *m, mn_error *err) {
  const mn_simulate_params *p = &m->cs->sim;
  mn_progress bar;
  mn_progress_init(&bar, stderr, "simulate", cli_progress_mode(&m->common, m->progress));
  double last_ckpt = mn_wall_time(), t_end = mn_course_end_day(m->c);
  double poison_day = mn_test_hook.poison_day, stop_day = mn_test_hook.stop_day;
  int rc = MN_OK, wrote;
  for (;;) {
    MN_TRY(mn_course_events(m->c, err));
    MN_TRY(snapshot(m, &wrote, err));
    if (wrote) continue;
    if (mn_course_done(m->c)) break;
    double stop = m->next_snapshot < p->n_snapshots ? p->snapshot_days[m->next_snapshot] : INFINITY;
    mn_step_info info;
    poison(m, &poison_day);
    MN_TRY(mn_course_step(m->c, stop, &info, err));
    mn_progress_update(&bar, info.t_day / t_end);
    if (stop_day > 0 && info.t_day >= stop_day) mn_stop_request(SIGTERM), stop_day = 0;
    if (mn_stop_requested()) {
      mn_progress_stop(&bar);
      MN_TRY(checkpoint(m, err));
      return -1;
    }
    if (p->checkpoint_min > 0 && mn_wall_time() - last_ckpt > 60 * p->checkpoint_min) {
      MN_TRY(checkpoint(m, err));
      last_ckpt = mn_wall_time();
    }
  }
  mn_progress_finish(&bar);
cleanup:
  if (rc) mn_progress_stop(&bar);
  return rc;
}

/* One outcome scalar as the summary shows it: with bands, the posterior median and its 5-95 %
 * band over the draws first ("m [a to b]"), then, with -v, the nominal run's value ("; nominal
 * run x"); without bands (uq_draws: 0) the nominal run's value alone. */
static void show(const sim *m, int k, double nominal, const char *fmt, double scale) {
  const double *b = m->have_bands ? m->bands.band[k] : NULL;
  if (!b || !isfinite(b[1])) {
    printf(fmt, scale * nominal);
    return;
  }
  printf(fmt, scale * b[1]);
  printf(" [");
  printf(fmt, scale * b[0]);
  printf(" to ");
  printf(fmt, scale * b[2]);
  printf("]");
  if (m->common.verbose) {
    printf(" (nominal run ");
    printf(fmt, scale * nominal);
    printf(")");
  }
}

/* with -v (or without bands): the nominal run's value per session */
static void per_session(const sim *m, const double *v, int n, const char *what) {
  if (m->have_bands && !m->common.verbose) return;
  printf("; nominal run %s", what);
  for (int s = 0; s < n; s++) printf("%s %.1f d", s ? "," : "", v[s]);
}

/* The summary's head: the model, its grid or zones, and what the values are. */
static void print_setup(const sim *m) {
  const mn_outcome *o = &m->out;
  const mn_grid *g = mn_course_grid(m->c);
  const mn_lumped_geometry *geo = mn_course_lumped_geometry(m->c);
  double density = mn_course_density_cm2(m->c);
  static const char *const model[3] = {"periodic unit cell", "periodic patch", "lumped twin"};
  printf("mnsim simulate: %s\n", m->cs->file);
  printf("  model      %s, %d session%s every %g days, %g days; %s %s, depth %.2f mm\n",
         model[m->cs->sim.mode], o->n_sessions, o->n_sessions > 1 ? "s" : "",
         m->cs->sim.interval_day, mn_course_end_day(m->c), m->dev.spec.id, m->skin.region,
         m->dev.params.depth_mm);
  if (g)
    printf(
        "  grid       %d x %d x %d cells (dx %g um, %.2f x %.2f mm, %.0f um deep), %.0f "
        "punctures/cm2; fields %.1f MB\n",
        g->nx, g->ny, g->nz, g->dx_um, 1e-3 * g->dx_um * g->nx, 1e-3 * g->dx_um * g->ny,
        g->zf_um[g->nz], density, 1e-6 * (double)g->ncell * MN_NSPECIES * sizeof(float));
  else
    printf(
        "  zones      %.0f punctures/cm2: cell radius %.0f um, near zone %.0f um (%.1f %% of "
        "the area), %d slabs\n",
        density, geo->b_um, geo->rn_um, 100 * geo->phi, geo->slabs);
  if (m->have_bands)
    printf(
        "  values     median [5th to 95th percentile] of the lumped twin over %d %s draws (%d "
        "dropped\n             as unstable)%s\n",
        m->bands.kept, m->bands.source == MN_ENSEMBLE_PRIOR ? "prior" : "posterior",
        m->bands.dropped,
        m->common.verbose ? "; in parentheses the nominal run (the table's values, the "
                            "3D model\n             where it ran)"
        : g               ? "; the 3D run at the nominal values: outcome.json, -v"
                          : "; the nominal run: outcome.json, -v");
  else
    printf("  values     the nominal run (the table's parameter values; uq_draws: 0, no bands)\n");
}

static void print_summary(const sim *m, long steps, double wall) {
  const mn_outcome *o = &m->out;
  const mn_grid *g = mn_course_grid(m->c);
  print_setup(m);
  printf("  redness    visible (R > %.2f) ", o->redness_threshold);
  show(m, MN_OQ_REDNESS_DAYS_FIRST, o->redness_days[0], "%.1f", 1);
  printf(" d after the first session");
  per_session(m, o->redness_days, o->n_sessions, "after each session");
  printf("\n  barrier    channels open (epidermal gap) ");
  show(m, MN_OQ_BARRIER_HOURS_FIRST, 24 * o->barrier_days[0], "%.0f", 1);
  printf(" h after the first session");
  per_session(m, o->barrier_days, o->n_sessions, "after each session");
  printf("\n");
  if (!m->have_bands || m->common.verbose)
    printf(
        "  peaks (PD) nominal run: R %.2f at day %.2f, P %.2f at %.2f d, N %.2f at %.2f d, "
        "M %.2f at %.2f d\n",
        o->redness_peak, o->redness_peak_day, o->peak[0], o->peak_day[0], o->peak[1],
        o->peak_day[1], o->peak[2], o->peak_day[2]);
  static const char *const lay[2] = {"papillary", "reticular"};
  static const int at[3] = {30, 90, 180};
  for (int l = 0; l < 2; l++) {
    printf("  collagen   %-9s ", lay[l]);
    show(m, l ? MN_OQ_COLLAGEN_RD_END : MN_OQ_COLLAGEN_PD_END, o->collagen_end_pct[l], "%+.1f", 1);
    printf(" %% at day %g", o->t_end);
    if (!m->have_bands || m->common.verbose) {
      printf("; nominal run");
      for (int q = 0; q < 3; q++)
        if (isfinite(o->collagen_pct[l][q]))
          printf(" %+.2f %% at %d d,", o->collagen_pct[l][q], at[q]);
      printf(" type III %.1f %%", 100 * o->type3_end[l]);
    }
    printf("\n");
  }
  printf("  thickness  dermis ");
  show(m, MN_OQ_THICKNESS_END, o->thickness_end_um, "%+.0f", 1);
  printf(" um at the end (psi is an estimate)\n  epidermis  ");
  show(m, MN_OQ_EPIDERMIS_END, o->epidermis_end_pct, "%+.1f", 1);
  printf(" %% at the end; dermal stiffness ");
  show(m, MN_OQ_ELASTICITY_END, o->elasticity_end_pct, "%+.1f", 1);
  printf(" %% (low confidence)\n  sun        PIH risk ");
  show(m, MN_OQ_PIH_RISK, o->pih_risk, "%.0f", 100);
  printf(" %% (calibrated on three trials: wide uncertainty); avoid sun");
  for (int s = 0; s < o->n_sessions; s++) printf("%s %.1f d", s ? "," : "", o->sun_days[s]);
  printf(" after each session (nominal run)\n");
  printf("  evidence   see outcome.json 'evidence' and 'uncertainty'; docs/validation.md\n");
  printf("  run        %ld steps in %.2f s\n", steps, wall);
  if (g)
    printf("  outputs    %s/timeseries.csv outcome.json fields.h5 fields.xdmf\n", m->dir);
  else
    printf("  outputs    %s/timeseries.csv outcome.json\n", m->dir);
}

/* Median and 90 % band of the outcome over the parameter draws, from the lumped twin. */
static int uncertainty(sim *m, mn_error *err) {
  const mn_simulate_params *p = &m->cs->sim;
  if (p->uq_draws <= 0) return MN_OK;
  int rc = MN_OK;
  mn_outcome_bands *b = &m->bands;
  double t0 = mn_wall_time();
  mn_model_params *draws = mn_malloc_array((size_t)p->uq_draws, sizeof *draws);
  MN_CHECK(draws, err, MN_ENOMEM, "", "out of memory for %d draws", p->uq_draws);
  memset(b, 0, sizeof *b);
  b->draws = p->uq_draws, b->seed = m->cs->seed, b->source = p->uq_ensemble;
  MN_TRY(mn_ensemble(&m->ps, p->uq_ensemble, p->uq_draws, m->cs->seed, draws, &b->kept, &b->dropped,
                     err));
  mn_progress bar;
  mn_progress_init(&bar, stderr, "draws", cli_progress_mode(&m->common, m->progress));
  rc = mn_course_bands(m->c, draws, b->kept, m->cs->solver.threads, b, &bar, err);
  if (rc == MN_OK)
    mn_progress_finish(&bar);
  else
    mn_progress_stop(&bar);
  if (rc) goto cleanup;
  m->have_bands = 1;
  mn_log(MN_LOG_INFO, "uncertainty: %d draws (%d dropped with G >= 1, %d failed) in %.2f s",
         b->draws, b->dropped, b->failed, mn_wall_time() - t0);
cleanup:
  mn_free(draws);
  return rc;
}

/* Remove the run directory's state once the results are in place. */
static void remove_run_state(const sim *m) {
  char path[4300];
  for (int i = 0; i < m->cs->sim.n_snapshots; i++) snap_path(m, i, path, sizeof path), unlink(path);
  static const char *const state[] = {"checkpoint.h5", "case.yaml"};
  for (int i = 0; i < 2; i++) snprintf(path, sizeof path, "%s/%s", m->run, state[i]), unlink(path);
  rmdir(m->run);
}

/* The result files of a 3D run, all or none: fields.h5 is built in the run directory from the
 * snapshots first; then the four results are put in place together. */
static int write_3d(sim *m, const mn_sim_result *r, mn_error *err) {
  int rc = MN_OK;
  const mn_simulate_params *p = &m->cs->sim;
  char snaps[MN_MAX_SNAPSHOTS][4300], h5[4300];
  const char *sp[MN_MAX_SNAPSHOTS];
  for (int i = 0; i < p->n_snapshots; i++)
    snap_path(m, i, snaps[i], sizeof snaps[i]), sp[i] = snaps[i];
  snprintf(h5, sizeof h5, "%s/fields.h5", m->run);
  MN_TRY(mn_h5_merge(h5, sp, p->n_snapshots, r->grid, err));
  mn_xdmf_ctx xc = {"fields.h5", r->grid, p->snapshot_days, p->n_snapshots, p->precision};
  mn_out_item items[] = {{"", mn_io_timeseries_csv, r},
                         {"", mn_io_outcome_json, r},
                         {"", mn_io_xdmf, &xc},
                         {"", NULL, h5}};
  static const char *const names[] = {"timeseries.csv", "outcome.json", "fields.xdmf", "fields.h5"};
  for (int i = 0; i < 4; i++)
    snprintf(items[i].path, sizeof items[i].path, "%s/%s", m->dir, names[i]);
  MN_TRY(mn_io_write_set(items, 4, err));
  remove_run_state(m);
cleanup:
  return rc;
}

/* The result files of a lumped run: the series and the outcome, no fields, no run state. */
static int write_lumped(const sim *m, const mn_sim_result *r, mn_error *err) {
  mn_out_item li[] = {{"", mn_io_timeseries_csv, r}, {"", mn_io_outcome_json, r}};
  snprintf(li[0].path, sizeof li[0].path, "%s/timeseries.csv", m->dir);
  snprintf(li[1].path, sizeof li[1].path, "%s/outcome.json", m->dir);
  return mn_io_write_set(li, 2, err);
}

/* Outputs at the end: outcome and bands, the result files, then the summary. */
static int finish(sim *m, mn_error *err) {
  int rc = MN_OK;
  double *lesion_dh = NULL; /* patch runs: the local thickening over each carved lesion */
  const mn_simulate_params *p = &m->cs->sim;
  MN_TRY(mn_course_outcome(m->c, &m->out, err));
  MN_TRY(uncertainty(m, err));
  long steps = mn_course_steps(m->c);
  double wall = mn_wall_time() - m->wall0;
  if (p->mode == MN_COURSE_PATCH && m->cs->n_lesions) {
    int n = m->cs->n_lesions; /* the thickening, then the papillary collagen gain */
    lesion_dh = mn_malloc_array(2 * (size_t)n, sizeof *lesion_dh);
    MN_CHECK(lesion_dh, err, MN_ENOMEM, "", "out of memory");
    for (int i = 0; i < n; i++)
      lesion_dh[i] = mn_course_lesion_dh_um(m->c, i),
      lesion_dh[n + i] = mn_course_lesion_gain(m->c, i);
  }
  mn_sim_result r = {m->cs,
                     &m->skin,
                     &m->dev,
                     mn_course_grid(m->c),
                     &m->ps,
                     mn_course_series(m->c),
                     &m->out,
                     mn_course_density_cm2(m->c),
                     lesion_dh,
                     lesion_dh ? lesion_dh + m->cs->n_lesions : NULL,
                     steps,
                     wall,
                     m->have_bands ? &m->bands : NULL,
                     mn_course_lumped_geometry(m->c)};
  MN_TRY(p->mode == MN_COURSE_LUMPED ? write_lumped(m, &r, err) : write_3d(m, &r, err));
  if (m->common.json)
    rc = mn_io_outcome_json(stdout, &r, err);
  else if (!m->common.quiet)
    print_summary(m, steps, wall);
cleanup:
  mn_free(lesion_dh);
  return rc;
}

#define SO(f) offsetof(sim, f)
static const cli_option options[] = {
    CLI_OUTPUT(sim, "result directory (default: ./<case name>-simulate)"),
    {"resume", 0, CLI_STRING, "DIR", 0, 0, SO(resume), 0, NULL,
     "continue an interrupted run from its last checkpoint"},
    {"threads", 0, CLI_INT, "N", 1, 256, SO(threads), 0, NULL,
     "OpenMP threads (default: solver.threads, else all cores)"},
    {"seed", 0, CLI_U64, "N", 0, 0, SO(seed), SO(have_seed), NULL, "override the case file's seed"},
    {"days", 0, CLI_DOUBLE, "D", 0.01, 3650, SO(days), 0, NULL,
     "override simulate.days (a quick look at the first days)"},
    CLI_JSON(sim, "print outcome.json on stdout instead of the summary"),
    CLI_PROGRESS(sim),
    CLI_QUIET(sim),
};
#define NOPT (sizeof options / sizeof options[0])

static void help(void) {
  printf(
      "usage: mnsim simulate CASE.yaml [-o DIR] [--threads N] [--seed N] [--json] [--progress]\n"
      "                      [-q] [-v]\n"
      "       mnsim simulate --resume DIR [--threads N] [--progress] [-q] [-v]\n\n"
      "Run the healing model (inflammation, growth factor, fibroblasts, collagen III/I,\n"
      "elastin, redness, pigment) on the 3D tissue grid after the case's treatment sessions.\n"
      "simulate.mode unit_cell: one channel in a periodic cell at the treatment's density\n"
      "(seconds); patch: the treatment's punctures over its region (minutes).\n\n");
  cli_print_options(options, NOPT);
  printf(
      "\nfiles: timeseries.csv (layer means over time), outcome.json (observables),\n"
      "fields.h5 + fields.xdmf (3D snapshots for ParaView/VisIt). A checkpoint is written every\n"
      "simulate.checkpoint_min minutes and on SIGINT/SIGTERM; --resume continues "
      "bit-identically.\n");
}

/* Remove the temporaries a killed run left in @p dir: ".<result>.XXXXXX" files of ours. */
static void remove_stale(const char *dir) {
  static const char *const ours[] = {"timeseries.csv", "outcome.json", "fields.xdmf", "fields.h5",
                                     "checkpoint.h5",  "case.yaml",    "snap_"};
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    size_t len = strlen(n);
    if (n[0] != '.' || len < 9 || n[len - 7] != '.') continue;
    int mine = 0;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
      mine |= strncmp(n + 1, ours[i], strlen(ours[i])) == 0;
    if (!mine) continue;
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir, n);
    unlink(path);
  }
  closedir(d);
}

/* A new run: the run directory with the case's bytes as parsed (a case read from a pipe cannot
 * be read twice) and a first checkpoint, so that a run killed at any moment from here on can be
 * resumed. */
static int start_run(sim *m, mn_error *err) {
  int rc = MN_OK;
  char path[4300];
  struct stat st;
  snprintf(path, sizeof path, "%s/checkpoint.h5", m->run);
  if (stat(path, &st) == 0)
    return MN_ERR(err, MN_EUSAGE, "",
                  "%s holds an interrupted run: continue it with `mnsim simulate --resume %s` "
                  "or remove %s",
                  m->dir, m->dir, m->run);
  MN_TRY(mn_mkdir_p(m->run, err));
  snprintf(path, sizeof path, "%s/case.yaml", m->run);
  MN_TRY(mn_write_file_atomic(path, m->cs->text, m->cs->text_len, err));
  MN_TRY(checkpoint(m, err));
cleanup:
  return rc;
}

/* Snapshots beyond the end of the course are dropped. */
static void trim_snapshots(sim *m) {
  int n = 0;
  while (n < m->cs->sim.n_snapshots &&
         m->cs->sim.snapshot_days[n] <= mn_course_end_day(m->c) + 1e-9)
    n++;
  m->cs->sim.n_snapshots = n;
}

/* What --resume DIR finds: an interrupted run, or a plain statement of what is there instead.
 * Called with the directory's lock held, so that a run ending meanwhile is seen ended. */
static int check_resumable(const sim *m, mn_error *err) {
  struct stat st;
  char path[4300];
  snprintf(path, sizeof path, "%s/checkpoint.h5", m->run);
  if (stat(path, &st) == 0) return MN_OK;
  snprintf(path, sizeof path, "%s/outcome.json", m->dir);
  if (stat(path, &st) == 0)
    return MN_ERR(err, MN_EUSAGE, "",
                  "%s holds a finished run (outcome.json, and no interrupted run in %s): nothing "
                  "to resume",
                  m->dir, m->run);
  if (stat(m->run, &st) == 0)
    return MN_ERR(err, MN_EUSAGE, "",
                  "%s holds a run stopped before its first checkpoint (no %s/checkpoint.h5): "
                  "start it again with `mnsim simulate -o %s CASE.yaml`",
                  m->dir, m->run, m->dir);
  return MN_ERR(err, MN_EUSAGE, "",
                "%s is not an interrupted mnsim run (no %s/checkpoint.h5): nothing to resume",
                m->dir, m->run);
}

/* The checkpoint must be this build's, for this case (the saved case's bytes, unchanged) and
 * these model parameters: a resumed run of anything else would mix two runs. */
static int check_origin(const sim *m, const char *ckpt, const char *case_path,
                        const mn_run_state *rs, mn_error *err) {
  if (m->case_hash != rs->case_hash)
    return MN_ERR(err, MN_EINPUT, "",
                  "%s does not match checkpoint %s (case hash %016llx, the checkpoint's %016llx): "
                  "the saved case was edited or the checkpoint is another run's",
                  case_path, ckpt, (unsigned long long)m->case_hash,
                  (unsigned long long)rs->case_hash);
  if (m->params_hash != rs->params_hash)
    return MN_ERR(err, MN_EINPUT, "",
                  "checkpoint %s was written with other model parameters (hash %016llx; this "
                  "build's %016llx): finish the run with the build that started it, or start it "
                  "again",
                  ckpt, (unsigned long long)rs->params_hash, (unsigned long long)m->params_hash);
  return MN_OK;
}

/* The snapshots written before the checkpoint must all be there and whole (a resumed run would
 * otherwise fail only at its end). The first missing or damaged one comes back in *bad (-1:
 * none) with the reason in @p why. */
static int check_snapshots(sim *m, const char *ckpt, int written, int *bad, char *why,
                           size_t why_size, mn_error *err) {
  *bad = -1;
  if (written > m->cs->sim.n_snapshots)
    return MN_ERR(err, MN_EINPUT, "",
                  "checkpoint %s: run_state next snapshot = %d is outside [0, %d] (the case's "
                  "snapshots)",
                  ckpt, written, m->cs->sim.n_snapshots);
  for (int i = 0; i < written; i++) {
    char sp[4300];
    snap_path(m, i, sp, sizeof sp);
    mn_error e = {0};
    if (mn_h5_check_snapshot(sp, mn_course_grid(m->c), m->cs->sim.snapshot_days[i], &e)) {
      *bad = i;
      snprintf(why, why_size, "%s", e.msg);
      break;
    }
  }
  return MN_OK;
}

/* A resumed run: the saved run state, the course from the saved case with the run's seed and
 * --days, its origin and its snapshots checked, then the saved state. */
static int resume_run(sim *m, int threads, mn_error *err) {
  int rc = MN_OK;
  char path[4300], ckpt[4300], build[64];
  mn_run_state rs;
  MN_TRY(check_resumable(m, err));
  remove_stale(m->dir);
  remove_stale(m->run);
  snprintf(path, sizeof path, "%s/case.yaml", m->run);
  snprintf(ckpt, sizeof ckpt, "%s/checkpoint.h5", m->run);
  MN_TRY(mn_checkpoint_read_state(ckpt, &rs, err));
  snprintf(build, sizeof build, "%s", mn_build_id());
  MN_CHECK(strcmp(rs.build, build) == 0, err, MN_EINPUT, "",
           "checkpoint %s was written by %s; this is %s: finish the run with that build, or start "
           "it again",
           ckpt, rs.build, build);
  m->days = rs.days;
  MN_TRY(setup(m, path, 1, rs.seed, threads, err));
  MN_TRY(check_origin(m, ckpt, path, &rs, err));
  if (rs.case_file[0]) snprintf(m->cs->file, sizeof m->cs->file, "%s", rs.case_file);
  trim_snapshots(m);
  int bad;
  char why[1024];
  MN_TRY(check_snapshots(m, ckpt, rs.next_snapshot, &bad, why, sizeof why, err));
  if (bad >= 0) {
    /* a past state cannot be recovered from the checkpoint's later one, but the run is
     * deterministic (saved case, seed and --days; 1 and 2 threads bit-identical): replaying it
     * from day 0 rebuilds every snapshot, and the checkpoints it writes replace this one */
    mn_log(MN_LOG_WARN,
           "%s: %s; the snapshot of day %g cannot be rebuilt from the checkpoint's later state: "
           "replaying the run from day 0 (same case, seed and --days, so the same results)",
           m->dir, why, m->cs->sim.snapshot_days[bad]);
    m->next_snapshot = 0;
    goto cleanup;
  }
  MN_TRY(mn_checkpoint_read(ckpt, mn_course_grid(m->c), mn_course_solver(m->c), &rs,
                            mn_course_series_mut(m->c), err));
  mn_course_position pos = {rs.next_session, rs.next_sample};
  if ((rc = mn_course_set_position(m->c, &pos, err))) {
    mn_error_set_position(err, ckpt, 0, 0);
    goto cleanup;
  }
  double t = mn_course_time(m->c), *sd = m->cs->sim.snapshot_days;
  int k = rs.next_snapshot;
  MN_CHECK((k == 0 || sd[k - 1] <= t + 1e-9) && (k == m->cs->sim.n_snapshots || sd[k] >= t - 1e-9),
           err, MN_EINPUT, "", "checkpoint %s: %d snapshots written does not match day %g", ckpt, k,
           t);
  m->next_snapshot = k;
  mn_log(MN_LOG_INFO, "resuming at day %g", t);
cleanup:
  return rc;
}

static int run_sim(sim *m, const char *case_path, const char *resume, int have_seed, uint64_t seed,
                   int threads, mn_error *err) {
  int rc = MN_OK;
  struct stat st;
  snprintf(m->run, sizeof m->run, "%s/.mnsim-run", m->dir);
  if (resume) {
    MN_CHECK(stat(m->dir, &st) == 0 && S_ISDIR(st.st_mode), err, MN_EUSAGE, "",
             "--resume %s: no such directory", m->dir);
    MN_TRY(lock_dir(m, err));
    MN_TRY(resume_run(m, threads, err));
  } else {
    MN_TRY(setup(m, case_path, have_seed, seed, threads, err));
    MN_TRY(mn_mkdir_p(m->dir, err));
    MN_TRY(lock_dir(m, err));
    remove_stale(m->dir); /* a killed run's temporaries: it is dead, we hold the lock */
    if (m->cs->sim.mode == MN_COURSE_LUMPED) { /* milliseconds: no checkpoints */
      MN_TRY(mn_course_run(m->c, err));
      return finish(m, err);
    }
    trim_snapshots(m);
    MN_TRY(start_run(m, err));
  }
  rc = loop(m, err);
  if (rc == 0) rc = finish(m, err);
cleanup:
  return rc;
}

int cmd_simulate(int argc, char **argv) {
  sim m;
  memset(&m, 0, sizeof m);
  m.lock_fd = -1;
  int first = 0,
      code = cli_parse("simulate", options, NOPT, help, argc, argv, &m, &m.common, &first);
  if (code >= 0) return code;
  const char *case_path = NULL, *resume = m.resume;
  if (resume) {
    if (first != argc || m.common.outdir || m.have_seed || m.days > 0)
      return cli_usage_error("simulate", "--resume DIR takes no case file, -o, --seed or --days");
    snprintf(m.dir, sizeof m.dir, "%s", resume);
  } else {
    if (first != argc - 1)
      return cli_usage_error("simulate", first >= argc ? "a case file is required"
                                                       : "exactly one case file is expected");
    case_path = argv[first];
    if (m.common.outdir)
      snprintf(m.dir, sizeof m.dir, "%s", m.common.outdir);
    else {
      char stem[256];
      cli_stem(case_path, stem, sizeof stem);
      snprintf(m.dir, sizeof m.dir, "%s-simulate", stem);
    }
  }
  m.wall0 = mn_wall_time();
  mn_error err = {0};
  int rc = run_sim(&m, case_path, resume, m.have_seed, m.seed, m.threads, &err);
  code = EXIT_OK;
  if (rc < 0) {
    fprintf(stderr,
            "mnsim: interrupted at day %.3f; checkpoint written. Continue with: mnsim simulate "
            "--resume %s\n",
            mn_course_time(m.c), m.dir);
    code = cli_stop_status();
  } else if (rc) {
    code = cli_fail(&m.common, &err);
  }
  sim_fini(&m);
  return code;
}
