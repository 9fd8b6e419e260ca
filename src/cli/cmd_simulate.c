/* `mnsim simulate CASE.yaml -o DIR`: the healing model on the 3D grid for the case's treatment,
 * either on a periodic unit cell around one channel or on a periodic patch of the treatment's
 * punctures. Owns the time loop: sessions, time-series samples, 3D snapshots, progress,
 * checkpoints every N minutes, SIGINT/SIGTERM, --resume. */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) {
  got_signal = sig;
}

static void help(void) {
  printf(
      "usage: mnsim simulate CASE.yaml [-o DIR] [--threads N] [--seed N] [--json] [-q] [-v]\n"
      "       mnsim simulate --resume DIR [--threads N] [-q] [-v]\n\n"
      "Run the healing model (inflammation, growth factor, fibroblasts, collagen III/I,\n"
      "elastin, redness, pigment) on the 3D tissue grid after the case's treatment sessions.\n"
      "simulate.mode unit_cell: one channel in a periodic cell at the treatment's density\n"
      "(seconds); patch: the treatment's punctures over its region (minutes).\n\n"
      "options:\n"
      "  -o, --output DIR   result directory (default: ./<case name>-simulate)\n"
      "      --resume DIR   continue an interrupted run from its last checkpoint\n"
      "      --threads N    OpenMP threads (default: solver.threads, else all cores)\n"
      "      --seed N       override the case file's seed\n"
      "      --days D       override simulate.days (a quick look at the first days)\n"
      "      --json         print outcome.json on stdout instead of the summary\n"
      "  -q, --quiet        errors only;  -v, --verbose  more detail\n"
      "  -h, --help         this text\n\n"
      "files: timeseries.csv (layer means over time), outcome.json (observables),\n"
      "fields.h5 + fields.xdmf (3D snapshots for ParaView/VisIt). A checkpoint is written every\n"
      "simulate.checkpoint_min minutes and on SIGINT/SIGTERM; --resume continues "
      "bit-identically.\n");
}

typedef struct sim {
  cli_opts o;
  char dir[4096], run[4200];
  mn_case *cs;
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_skin skin;
  mn_device dev;
  mn_param_set ps;
  mn_grid *g;
  mn_solver *s;
  mn_timeseries ts;
  mn_outcome out;
  mn_run_state rs;
  mn_lumped_geometry geo; /* lumped mode */
  mn_uq_summary uq;
  int have_uq;
  double density, t_end, *samples, session_day[MN_MAX_SESSIONS];
  int nsamples;
  double wall0;
  double days; /* --days override, 0 = none */
} sim;

static void sim_fini(sim *m) {
  mn_timeseries_fini(&m->ts);
  mn_free(m->samples);
  mn_solver_destroy(m->s);
  mn_grid_destroy(m->g);
  mn_device_fini(&m->dev);
  mn_device_catalogue_destroy(m->cat);
  mn_skin_atlas_destroy(m->atlas);
  mn_case_destroy(m->cs);
}

/* Bounding box of the outline. */
static void bbox(const mn_treatment *t, double b[4]) {
  b[0] = b[2] = INFINITY, b[1] = b[3] = -INFINITY;
  for (int i = 0; i < t->n_outline; i++) {
    b[0] = fmin(b[0], t->outline_mm[i][0]), b[1] = fmax(b[1], t->outline_mm[i][0]);
    b[2] = fmin(b[2], t->outline_mm[i][1]), b[3] = fmax(b[3], t->outline_mm[i][1]);
  }
}

static long phys_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? pages * size : -1;
}

/* Time-series sample days: every sample_hours for a week after each session, then daily. */
static int build_samples(sim *m, mn_error *err) {
  const mn_simulate_params *p = &m->cs->sim;
  int cap = 2;
  for (int s = 0; s < p->sessions; s++) cap += (int)(7 * 24 / p->sample_hours) + 2;
  cap += (int)m->t_end + 2;
  m->samples = mn_malloc_array((size_t)cap, sizeof *m->samples);
  if (!m->samples) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the sample schedule");
  int n = 0;
  for (int s = 0; s < p->sessions; s++) {
    double t0 = m->session_day[s], t1 = s + 1 < p->sessions ? m->session_day[s + 1] : m->t_end;
    double h = p->sample_hours / 24.0;
    for (int k = 0;; k++) { /* k * h rather than a running sum: exact, repeatable times */
      double t = t0 + k * h;
      if (t > fmin(t0 + 7, t1) + 1e-9 || t > m->t_end + 1e-9) break;
      if (t < t1 - 1e-9 || t1 >= m->t_end) m->samples[n++] = t;
    }
    for (int d = 8; t0 + d < t1 - 1e-9 && t0 + d <= m->t_end + 1e-9; d++) m->samples[n++] = t0 + d;
  }
  if (m->samples[n - 1] < m->t_end - 1e-9) m->samples[n++] = m->t_end;
  m->nsamples = n;
  return mn_timeseries_init(&m->ts, n, err);
}

/* Everything that follows from the case alone: anatomy, device, parameters, grid, solver. */
static int setup(sim *m, const char *case_path, int have_seed, uint64_t seed, int threads,
                 mn_error *err) {
  int rc = MN_OK;
  MN_TRY(mn_case_read(case_path, &m->cs, err));
  if (m->days > 0) m->cs->sim.days = m->days;
  if (have_seed) m->cs->seed = m->cs->treatment.seed = seed;
  if (threads > 0) m->cs->solver.threads = threads;
  const mn_simulate_params *p = &m->cs->sim;
  MN_TRY(mn_skin_atlas_create(&m->atlas, err));
  MN_TRY(mn_device_catalogue_create(&m->cat, err));
  MN_TRY(mn_case_check_skin(m->cs, m->atlas, &m->skin, err));
  if ((rc = mn_device_init(&m->dev, m->cat, &m->cs->device, err))) goto located;
  if ((rc = mn_treatment_check(&m->cs->treatment, err))) goto located;
  MN_TRY(mn_param_set_load_default(&m->ps, err));
  MN_TRY(mn_case_apply_overrides(m->cs, &m->ps, err));
  m->t_end = p->days;
  for (int s = 0; s < p->sessions; s++) m->session_day[s] = s * p->interval_day;
  if (m->session_day[p->sessions - 1] >= m->t_end) {
    rc = MN_ERR(err, MN_EINPUT, "simulate.days",
                "simulate.days = %g ends before session %d (day %g); raise simulate.days or lower "
                "simulate.sessions / simulate.interval_day",
                p->days, p->sessions, m->session_day[p->sessions - 1]);
    goto located;
  }
  double x0 = 0, y0 = 0, w, h;
  if (p->mode == MN_SIM_LUMPED) {
    for (int i = 0; i < m->cs->treatment.n_passes; i++)
      m->density += mn_device_pass_density_cm2(&m->dev, &m->cs->treatment.passes[i]);
    if (p->density_per_cm2 > 0) m->density = p->density_per_cm2;
    if (m->cs->n_lesions)
      mn_log(MN_LOG_INFO, "simulate.mode lumped: lesion fill from the mean dermal thickening");
    MN_TRY(build_samples(m, err));
    return MN_OK;
  }
  if (p->mode == MN_SIM_UNIT_CELL) {
    /* all passes of a session: their channels together (the loop used to stop after the
     * first pass, simulating a third of a three-pass session) */
    for (int i = 0; i < m->cs->treatment.n_passes; i++)
      m->density += mn_device_pass_density_cm2(&m->dev, &m->cs->treatment.passes[i]);
    if (p->density_per_cm2 > 0) m->density = p->density_per_cm2;
    w = h = 10.0 / sqrt(m->density);
    if (m->cs->n_lesions) mn_log(MN_LOG_WARN, "simulate.mode unit_cell ignores skin.lesions");
  } else {
    double b[4];
    bbox(&m->cs->treatment, b);
    x0 = b[0], y0 = b[2], w = b[1] - b[0], h = b[3] - b[2];
  }
  if (p->mode == MN_SIM_UNIT_CELL && 1000.0 * w / m->cs->grid.dx_um < 2.5) {
    rc = MN_ERR(err, MN_ERANGE, "grid.dx_um",
                "the unit cell at %.0f punctures/cm2 is %.1f um wide; grid.dx_um = %g gives fewer "
                "than 3 cells across it: use grid.dx_um <= %.1f",
                m->density, 1000.0 * w, m->cs->grid.dx_um, 1000.0 * w / 3);
    goto located;
  }
  /* dx adjusted by at most half a cell so that the domain's width is a whole number of cells:
   * a unit cell then has exactly the area of one puncture at the treatment's density */
  double nxr = fmax(1.0, round(1000.0 * w / m->cs->grid.dx_um));
  m->cs->grid.dx_um = 1000.0 * w / nxr;
  double need = mn_grid_bytes_estimate(&m->cs->grid, &m->skin, w, h, MN_NSPECIES + 3);
  long have = phys_bytes();
  if (have > 0 && need > 0.8 * (double)have) {
    rc = MN_ERR(err, MN_ERANGE, "grid.dx_um",
                "a %.1f x %.1f mm domain at grid.dx_um = %g needs about %.1f GB; this machine has "
                "%.1f GB: raise grid.dx_um or simulate a smaller region",
                w, h, m->cs->grid.dx_um, need / 1e9, (double)have / 1e9);
    goto located;
  }
  if ((rc = mn_grid_create(&m->cs->grid, &m->skin, p->mode == MN_SIM_PATCH ? m->cs->lesions : NULL,
                           p->mode == MN_SIM_PATCH ? m->cs->n_lesions : 0, x0, y0, w, h, &m->g,
                           err)))
    goto located;
  if ((rc = mn_solver_create(&m->cs->solver, m->g, &m->ps.p, m->cs->skin.fitzpatrick, &m->s, err)))
    goto located;
  MN_TRY(build_samples(m, err));
  return MN_OK;
located:
  mn_case_locate(m->cs, err);
cleanup:
  return rc;
}

/* Planes injured at a time: the session's damage fields span this many planes, not the grid
 * (for the 5 mm patch 2 MB instead of 18 MB, 9 % of the solver's fields; docs/performance.md). */
enum { INJURY_PLANES = 4 };

/* The injury of session @p k: one central channel (unit cell) or the treatment's punctures,
 * generated with a seed of their own per session (patch), rasterised and applied a window of
 * planes at a time (each cell's value is the same as in one pass over the grid). */
static int apply_session(sim *m, int k, mn_error *err) {
  int rc = MN_OK, unit = m->cs->sim.mode == MN_SIM_UNIT_CELL, channels = 0, bleeding = 0;
  mn_puncture_set *set = NULL;
  double x = 0, y = 0, depth = 0;
  if (unit) {
    /* the first channel at the centre; later sessions land at seeded random places in the cell,
     * as a new pass does relative to the last one (periodic wrap) */
    double w = 1e-3 * m->g->dx_um * m->g->nx;
    x = 0.5 * w, y = 0.5 * w, depth = 1000.0 * m->dev.params.depth_mm * m->dev.depth_ratio;
    if (k > 0) {
      mn_rng r;
      mn_rng_init(&r, m->cs->seed, 0x73657373ULL + (uint64_t)k); /* "sess" + k */
      x = w * mn_rng_uniform(&r), y = w * mn_rng_uniform(&r);
    }
  } else {
    mn_treatment t = m->cs->treatment;
    t.seed = m->cs->seed + 0x9E3779B97F4A7C15ULL * (uint64_t)k;
    MN_TRY(mn_device_punctures(&m->dev, &t, &set, err));
    if (k == 0) { /* punctures inside the region per cm2 */
      size_t in = 0;
      for (size_t i = 0; i < set->n; i++)
        in += mn_treatment_contains(&t, set->x_mm[i], set->y_mm[i]);
      m->density = (double)in / mn_treatment_area_cm2(&t);
    }
  }
  for (int k0 = 0; k0 < m->g->nz && rc == MN_OK; k0 += INJURY_PLANES) {
    int k1 = k0 + INJURY_PLANES < m->g->nz ? k0 + INJURY_PLANES : m->g->nz;
    mn_injury inj;
    MN_TRY(mn_injury_init_planes(m->g, k0, k1, &inj, err));
    if (unit)
      mn_injury_add_channel(m->g, &m->skin, &m->dev, x, y, depth, m->cs->sim.supersample, &inj);
    else
      rc = mn_injury_rasterize(m->g, &m->skin, &m->dev, set, m->cs->lesions, m->cs->n_lesions,
                               m->cs->sim.supersample, &inj, err);
    if (rc == MN_OK) mn_solver_apply_injury(m->s, &inj);
    channels = inj.channels, bleeding = inj.bleeding;
    mn_injury_fini(&inj);
  }
  if (rc == MN_OK)
    mn_log(MN_LOG_INFO, "session %d at day %g: %d channels (%d bleeding)", k + 1, m->session_day[k],
           channels, bleeding);
cleanup:
  mn_puncture_set_destroy(set);
  return rc;
}

static void snap_path(const sim *m, int i, char *buf, size_t n) {
  snprintf(buf, n, "%s/snap_%03d.h5", m->run, i);
}

static int record(sim *m, mn_error *err) {
  double mean[MN_LAYER_HYPO][MN_NSPECIES];
  mn_solver_layer_means(m->s, mean);
  int rc = mn_timeseries_add(&m->ts, mn_solver_time(m->s), m->rs.next_session,
                             mean[MN_LAYER_PD][MN_SP_V], mean, err);
  if (rc == MN_OK) m->rs.next_sample++;
  return rc;
}

static int checkpoint(sim *m, mn_error *err) {
  char p[4300];
  snprintf(p, sizeof p, "%s/checkpoint.h5", m->run);
  return mn_checkpoint_write(p, m->g, m->s, &m->rs, &m->ts, err);
}

/* The time loop. Events at a time are handled in the order session, sample, snapshot. */
static int loop(sim *m, mn_error *err) {
  const mn_simulate_params *p = &m->cs->sim;
  mn_progress bar;
  mn_progress_init(&bar, stderr, "simulate", isatty(2) && !m->o.quiet);
  double last_ckpt = mn_wall_time(), eps = 1e-9;
  const char *poison = getenv("MNSIM_TEST_POISON_DAY");
  double poison_day = poison ? atof(poison) : 0;
  int rc = MN_OK;
  for (;;) {
    double t = mn_solver_time(m->s);
    if (m->rs.next_session < p->sessions && t >= m->session_day[m->rs.next_session] - eps) {
      MN_TRY(apply_session(m, m->rs.next_session, err));
      m->rs.next_session++;
      continue;
    }
    if (m->rs.next_sample < m->nsamples && t >= m->samples[m->rs.next_sample] - eps) {
      MN_TRY(record(m, err));
      continue;
    }
    if (m->rs.next_snapshot < p->n_snapshots && t >= p->snapshot_days[m->rs.next_snapshot] - eps) {
      char sp[4300];
      snap_path(m, m->rs.next_snapshot, sp, sizeof sp);
      MN_TRY(mn_h5_write_snapshot(sp, m->g, m->s, p->snapshot_days[m->rs.next_snapshot],
                                  p->precision, err));
      m->rs.next_snapshot++;
      continue;
    }
    if (t >= m->t_end - eps) break;
    double stop = m->t_end;
    if (m->rs.next_session < p->sessions) stop = fmin(stop, m->session_day[m->rs.next_session]);
    if (m->rs.next_sample < m->nsamples) stop = fmin(stop, m->samples[m->rs.next_sample]);
    if (m->rs.next_snapshot < p->n_snapshots)
      stop = fmin(stop, p->snapshot_days[m->rs.next_snapshot]);
    mn_step_info info;
    if (poison_day > 0 && t >= poison_day) { /* test hook MNSIM_TEST_POISON_DAY: a bad value */
      mn_solver_field(m->s, MN_SP_P)[mn_grid_at(m->g, m->g->nx / 2, m->g->ny / 2, m->g->nz / 2)] =
          NAN;
      poison_day = 0;
    }
    MN_TRY(mn_solver_step(m->s, stop, &info, err));
    mn_progress_update(&bar, info.t_day / m->t_end);
    if (got_signal) {
      MN_TRY(checkpoint(m, err));
      mn_progress_finish(&bar);
      return -1;
    }
    if (p->checkpoint_min > 0 && mn_wall_time() - last_ckpt > 60 * p->checkpoint_min) {
      MN_TRY(checkpoint(m, err));
      last_ckpt = mn_wall_time();
    }
  }
  mn_progress_finish(&bar);
cleanup:
  return rc;
}

/* " [median m, a-b]" (over the draws) for scalar k, or nothing without bands */
static void band_scaled(const sim *m, int k, const char *fmt, double scale) {
  if (!m->have_uq) return;
  const double *b = m->uq.band[k];
  if (!isfinite(b[0])) return;
  printf(" [median ");
  printf(fmt, scale * b[1]);
  printf(", ");
  printf(fmt, scale * b[0]);
  printf(" to ");
  printf(fmt, scale * b[2]);
  printf("]");
}
static void band(const sim *m, int k, const char *fmt) {
  band_scaled(m, k, fmt, 1);
}

static void print_summary(const sim *m, long steps, double wall) {
  const mn_outcome *o = &m->out;
  const mn_grid *g = m->g;
  static const char *const model[3] = {"periodic unit cell", "periodic patch", "lumped twin"};
  printf("mnsim simulate: %s\n", m->cs->file);
  printf("  model      %s, %d session%s every %g days, %g days; %s %s, depth %.2f mm\n",
         model[m->cs->sim.mode], o->n_sessions, o->n_sessions > 1 ? "s" : "",
         m->cs->sim.interval_day, m->t_end, m->dev.spec.id, m->skin.region, m->dev.params.depth_mm);
  if (g)
    printf(
        "  grid       %d x %d x %d cells (dx %g um, %.2f x %.2f mm, %.0f um deep), %.0f "
        "punctures/cm2; fields %.1f MB\n",
        g->nx, g->ny, g->nz, g->dx_um, 1e-3 * g->dx_um * g->nx, 1e-3 * g->dx_um * g->ny,
        g->zf_um[g->nz], m->density, 1e-6 * (double)g->ncell * MN_NSPECIES * sizeof(double));
  else
    printf(
        "  zones      %.0f punctures/cm2: cell radius %.0f um, near zone %.0f um (%.1f %% of "
        "the area), %d slabs\n",
        m->density, m->geo.b_um, m->geo.rn_um, 100 * m->geo.phi, m->geo.slabs);
  if (m->have_uq)
    printf(
        "  values     the run with the table's parameter values; in brackets the median and the\n"
        "             5th-95th percentiles of the lumped twin over %d %s draws (%d dropped as\n"
        "             unstable): the two differ where the response is skewed "
        "(docs/calibration.md)\n",
        m->uq.kept, m->uq.source == MN_ENSEMBLE_PRIOR ? "prior" : "posterior", m->uq.dropped);
  printf("  redness    peak R %.2f at day %.2f; visible (R > %.2f)", o->redness_peak,
         o->redness_peak_day, o->redness_threshold);
  for (int s = 0; s < o->n_sessions; s++) printf("%s %.1f d", s ? "," : "", o->redness_days[s]);
  printf(" after each session");
  band(m, MN_OQ_REDNESS_DAYS_FIRST, "%.1f");
  printf("\n  barrier    epidermal damage below 10 %%:");
  for (int s = 0; s < o->n_sessions; s++) printf("%s %.1f d", s ? "," : "", o->barrier_days[s]);
  band(m, MN_OQ_BARRIER_HOURS_FIRST, "%.0f h");
  printf("\n  peaks (PD) P %.2f at %.2f d, N %.2f at %.2f d, M %.2f at %.2f d\n", o->peak[0],
         o->peak_day[0], o->peak[1], o->peak_day[1], o->peak[2], o->peak_day[2]);
  static const char *const lay[2] = {"papillary", "reticular"};
  static const int at[3] = {30, 90, 180};
  for (int l = 0; l < 2; l++) {
    printf("  collagen   %-9s", lay[l]);
    for (int q = 0; q < 3; q++)
      if (isfinite(o->collagen_pct[l][q]))
        printf(" %+.2f %% at %d d,", o->collagen_pct[l][q], at[q]);
    printf(" %+.2f %% at day %g", o->collagen_end_pct[l], o->t_end);
    band(m, l ? MN_OQ_COLLAGEN_RD_END : MN_OQ_COLLAGEN_PD_END, "%+.1f");
    printf("; type III %.1f %%\n", 100 * o->type3_end[l]);
  }
  printf("  thickness  dermis %+.1f um at the end", o->thickness_end_um);
  band(m, MN_OQ_THICKNESS_END, "%+.0f");
  printf(" (psi is an estimate)\n  sun        avoid sun");
  for (int s = 0; s < o->n_sessions; s++) printf("%s %.1f d", s ? "," : "", o->sun_days[s]);
  printf(" after each session; PIH risk %.0f %%", 100 * o->pih_risk);
  band_scaled(m, MN_OQ_PIH_RISK, "%.0f %%", 100);
  printf(" (uncalibrated)\n");
  printf("  evidence   see outcome.json 'evidence' and 'uncertainty'; docs/validation.md\n");
  printf("  run        %ld steps in %.2f s\n", steps, wall);
  if (g)
    printf("  outputs    %s/timeseries.csv outcome.json fields.h5 fields.xdmf\n", m->dir);
  else
    printf("  outputs    %s/timeseries.csv outcome.json\n", m->dir);
}

/* The case's treatment as the lumped twin sees it. */
static void lumped_input(const sim *m, mn_lumped_input *in) {
  memset(in, 0, sizeof *in);
  in->m = &m->ps.p;
  in->fitz = m->cs->skin.fitzpatrick;
  in->skin = &m->skin;
  in->dev = &m->dev;
  in->density_cm2 = m->density;
  in->depth_um = 1000.0 * m->dev.params.depth_mm * m->dev.depth_ratio;
  in->sessions = m->cs->sim.sessions;
  memcpy(in->session_day, m->session_day, sizeof in->session_day);
  in->t_end = m->t_end;
  in->samples = m->samples;
  in->nsamples = m->nsamples;
}

/* Median and 90 % band of the outcome over the parameter ranges, from the lumped twin. */
static int uncertainty(sim *m, mn_error *err) {
  const mn_simulate_params *p = &m->cs->sim;
  if (p->uq_draws <= 0) return MN_OK;
  mn_lumped_input in;
  mn_lumped_params lp;
  lumped_input(m, &in);
  mn_lumped_params_default(&lp);
  double t0 = mn_wall_time();
  int rc = mn_uq_outcome(&in, &lp, &m->skin, &m->ps, p->uq_ensemble, p->uq_draws, m->cs->seed,
                         m->cs->solver.threads, &m->uq, err);
  if (rc == MN_OK) {
    m->have_uq = 1;
    mn_log(MN_LOG_INFO, "uncertainty: %d draws (%d dropped with G >= 1, %d failed) in %.2f s",
           m->uq.draws, m->uq.dropped, m->uq.failed, mn_wall_time() - t0);
  }
  return rc;
}

/* Outputs at the end: outcome, time series, merged fields and XDMF; then the run state goes. */
static int finish(sim *m, mn_error *err) {
  int rc = MN_OK;
  double *lesion_dh = NULL; /* patch runs: the local thickening over each carved lesion */
  const mn_simulate_params *p = &m->cs->sim;
  char path[4300];
  MN_TRY(mn_outcome_compute(&m->ts, &m->ps.p, &m->skin, m->cs->skin.fitzpatrick, m->session_day,
                            p->sessions, &m->out, err));
  MN_TRY(uncertainty(m, err));
  long steps = p->mode == MN_SIM_LUMPED ? m->geo.steps : mn_solver_steps(m->s);
  double wall = mn_wall_time() - m->wall0;
  if (p->mode == MN_SIM_PATCH && m->cs->n_lesions) {
    lesion_dh = mn_malloc_array((size_t)m->cs->n_lesions, sizeof *lesion_dh);
    MN_CHECK(lesion_dh, err, MN_ENOMEM, "", "out of memory");
    for (int i = 0; i < m->cs->n_lesions; i++)
      lesion_dh[i] = mn_outcome_lesion_dh_um(m->g, m->s, &m->ps.p, &m->cs->lesions[i]);
  }
  mn_sim_result r = {m->cs,
                     &m->skin,
                     &m->dev,
                     m->g,
                     &m->ps,
                     &m->ts,
                     &m->out,
                     m->density,
                     lesion_dh,
                     steps,
                     wall,
                     m->have_uq ? &m->uq : NULL,
                     p->mode == MN_SIM_LUMPED ? &m->geo : NULL};
  if (p->mode == MN_SIM_LUMPED) { /* two results, no fields, no run state */
    mn_out_item li[] = {{"", mn_io_timeseries_csv, &r}, {"", mn_io_outcome_json, &r}};
    snprintf(li[0].path, sizeof li[0].path, "%s/timeseries.csv", m->dir);
    snprintf(li[1].path, sizeof li[1].path, "%s/outcome.json", m->dir);
    MN_TRY(mn_io_write_set(li, 2, err));
    goto report;
  }
  /* fields.h5 is built in the run directory first; then the four results are put in place
   * together, all or none */
  char snaps[MN_MAX_SNAPSHOTS][4300], h5[4300];
  const char *sp[MN_MAX_SNAPSHOTS];
  for (int i = 0; i < p->n_snapshots; i++)
    snap_path(m, i, snaps[i], sizeof snaps[i]), sp[i] = snaps[i];
  snprintf(h5, sizeof h5, "%s/fields.h5", m->run);
  MN_TRY(mn_h5_merge(h5, sp, p->n_snapshots, m->g, err));
  mn_xdmf_ctx xc = {"fields.h5", m->g, p->snapshot_days, p->n_snapshots, p->precision};
  mn_out_item items[] = {{"", mn_io_timeseries_csv, &r},
                         {"", mn_io_outcome_json, &r},
                         {"", mn_io_xdmf, &xc},
                         {"", NULL, h5}};
  static const char *const names[] = {"timeseries.csv", "outcome.json", "fields.xdmf", "fields.h5"};
  for (int i = 0; i < 4; i++)
    snprintf(items[i].path, sizeof items[i].path, "%s/%s", m->dir, names[i]);
  MN_TRY(mn_io_write_set(items, 4, err));
  for (int i = 0; i < p->n_snapshots; i++) unlink(sp[i]);
  static const char *const state[] = {"checkpoint.h5", "case.yaml"};
  for (int i = 0; i < 2; i++) snprintf(path, sizeof path, "%s/%s", m->run, state[i]), unlink(path);
  rmdir(m->run);
report:
  if (m->o.json)
    rc = mn_io_outcome_json(stdout, &r, err);
  else if (!m->o.quiet)
    print_summary(m, steps, wall);
cleanup:
  mn_free(lesion_dh);
  return rc;
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

static int copy_file(const char *from, const char *to, mn_error *err) {
  FILE *fp = fopen(from, "rb");
  if (!fp) return MN_ERR(err, MN_EINPUT, "", "cannot open %s", from);
  char *buf = mn_malloc(16 << 20);
  size_t n = buf ? fread(buf, 1, 16 << 20, fp) : 0;
  fclose(fp);
  int rc =
      buf ? mn_write_file_atomic(to, buf, n, err) : MN_ERR(err, MN_ENOMEM, "", "out of memory");
  mn_free(buf);
  return rc;
}

static int run_sim(sim *m, const char *case_path, const char *resume, int have_seed, uint64_t seed,
                   int threads, mn_error *err) {
  int rc = MN_OK;
  char path[4300];
  if (!resume) {
    MN_TRY(setup(m, case_path, have_seed, seed, threads, err));
    if (m->cs->sim.mode == MN_SIM_LUMPED) { /* milliseconds: no checkpoints */
      mn_lumped_input in;
      mn_lumped_params lp;
      lumped_input(m, &in);
      mn_lumped_params_default(&lp);
      MN_TRY(mn_mkdir_p(m->dir, err));
      MN_TRY(mn_lumped_run(&in, &lp, &m->ts, &m->geo, err));
      return finish(m, err);
    }
  }
  snprintf(m->run, sizeof m->run, "%s/.mnsim-run", m->dir);
  snprintf(path, sizeof path, "%s/case.yaml", m->run);
  if (resume) {
    remove_stale(m->dir);
    remove_stale(m->run);
    MN_TRY(setup(m, path, 0, 0, threads, err));
    snprintf(path, sizeof path, "%s/checkpoint.h5", m->run);
    MN_TRY(mn_checkpoint_read(path, m->g, m->s, &m->rs, &m->ts, err));
    m->cs->seed = m->cs->treatment.seed = m->rs.seed;
    if (m->rs.case_file[0]) snprintf(m->cs->file, sizeof m->cs->file, "%s", m->rs.case_file);
    mn_log(MN_LOG_INFO, "resuming at day %g", mn_solver_time(m->s));
  } else {
    struct stat st;
    snprintf(path, sizeof path, "%s/checkpoint.h5", m->run);
    if (stat(path, &st) == 0)
      return MN_ERR(err, MN_EUSAGE, "",
                    "%s holds an interrupted run: continue it with `mnsim simulate --resume %s` "
                    "or remove %s",
                    m->dir, m->dir, m->run);
    MN_TRY(mn_mkdir_p(m->run, err));
    snprintf(path, sizeof path, "%s/case.yaml", m->run);
    MN_TRY(copy_file(case_path, path, err));
    m->rs.seed = m->cs->seed;
    snprintf(m->rs.case_file, sizeof m->rs.case_file, "%s", m->cs->file);
    MN_TRY(checkpoint(m, err)); /* a run killed at any moment from here on can be resumed */
  }
  int n = 0; /* snapshots beyond the end are dropped */
  while (n < m->cs->sim.n_snapshots && m->cs->sim.snapshot_days[n] <= m->t_end + 1e-9) n++;
  m->cs->sim.n_snapshots = n;
  rc = loop(m, err);
  if (rc == 0) rc = finish(m, err);
cleanup:
  return rc;
}

int cmd_simulate(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, 0, 'o'},  {"resume", required_argument, 0, 'r'},
      {"threads", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
      {"json", no_argument, 0, 'j'},          {"quiet", no_argument, 0, 'q'},
      {"days", required_argument, 0, 'd'},    {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
  sim m;
  memset(&m, 0, sizeof m);
  const char *resume = NULL;
  int c, threads = 0, have_seed = 0;
  uint64_t seed = 0;
  long v;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:qvh", longopts, NULL)) != -1) {
    if (cli_common_option(c, optarg, &m.o)) continue;
    switch (c) {
      case 'h':
        help();
        return EXIT_OK;
      case 'r':
        resume = optarg;
        break;
      case 't':
        if (mn_parse_long(optarg, &v) != 0 || v < 1 || v > 256)
          return cli_usage_error("simulate", "--threads '%s' must be an integer in [1, 256]",
                                 optarg);
        threads = (int)v;
        break;
      case 'd':
        if (mn_parse_double(optarg, &m.days) != 0 || m.days < 0.01 || m.days > 3650)
          return cli_usage_error("simulate", "--days '%s' must be a number in [0.01, 3650]",
                                 optarg);
        break;
      case 's':
        if (mn_parse_u64(optarg, &seed) != 0)
          return cli_usage_error("simulate", "--seed '%s' must be an integer in [0, 2^64 - 1]",
                                 optarg);
        have_seed = 1;
        break;
      case ':':
        return cli_usage_error("simulate", "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error("simulate", "unknown option '%s'", argv[optind - 1]);
    }
  }
  cli_log_setup(&m.o);
  const char *case_path = NULL;
  if (resume) {
    if (optind != argc || m.o.outdir || have_seed || m.days > 0)
      return cli_usage_error("simulate", "--resume DIR takes no case file, -o, --seed or --days");
    snprintf(m.dir, sizeof m.dir, "%s", resume);
  } else {
    if (optind != argc - 1)
      return cli_usage_error("simulate", optind >= argc ? "a case file is required"
                                                        : "exactly one case file is expected");
    case_path = argv[optind];
    if (m.o.outdir)
      snprintf(m.dir, sizeof m.dir, "%s", m.o.outdir);
    else {
      char stem[256];
      cli_stem(case_path, stem, sizeof stem);
      snprintf(m.dir, sizeof m.dir, "%s-simulate", stem);
    }
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  m.wall0 = mn_wall_time();
  mn_error err = {0};
  int rc = run_sim(&m, case_path, resume, have_seed, seed, threads, &err);
  int code = EXIT_OK;
  if (rc < 0) {
    fprintf(stderr,
            "mnsim: interrupted at day %.3f; checkpoint written. Continue with: mnsim simulate "
            "--resume %s\n",
            mn_solver_time(m.s), m.dir);
    code = 128 + got_signal;
  } else if (rc) {
    code = cli_fail(&m.o, &err);
  }
  sim_fini(&m);
  return code;
}
