/* libFuzzer targets for every parser of mnsim: case files (YAML, then the checks that follow
 * parsing), CSV tables, the anatomy atlas, the device catalogue, the model parameters and the
 * checkpoints of `mnsim simulate`.
 * One source, one target per -DFUZZ_<NAME>; tests/fuzz/replay.c replays the saved corpora in
 * every ctest run. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mnsim/mnsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(FUZZ_CASE)
/* A parsed case then goes through the anatomy, lesion, device and outline checks, and through
 * puncture generation and statistics when the result stays small. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mn_skin_atlas *atlas;
  static mn_device_catalogue *cat;
  mn_error e = {0};
  if (!atlas && (mn_skin_atlas_create(&atlas, &e) || mn_device_catalogue_create(&cat, &e)))
    return 0;
  mn_case *c = NULL;
  if (mn_case_parse((const char *)data, size, "fuzz.yaml", &c, &e) != MN_OK) return 0;
  mn_skin sk;
  mn_device d;
  if (mn_case_check_skin(c, atlas, &sk, &e) == MN_OK &&
      mn_device_init(&d, cat, &c->device, &e) == MN_OK) {
    double expect = 0;
    for (int i = 0; i < c->treatment.n_passes; i++)
      expect += mn_device_pass_density_cm2(&d, &c->treatment.passes[i]);
    expect *= mn_treatment_area_cm2(&c->treatment) + 1;
    mn_puncture_set *s = NULL;
    if (expect < 2e4 && mn_device_punctures(&d, &c->treatment, &s, &e) == MN_OK && s->n < 2000) {
      mn_device_stats st; /* statistics sample 200k points: only for small sets, for speed */
      mn_device_stats_compute(&d, &c->treatment, &sk, s, &st, &e);
    }
    mn_puncture_set_destroy(s);
    mn_device_fini(&d);
  }
  mn_case_destroy(c);
  return 0;
}
#elif defined(FUZZ_CSV)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mn_csv c;
  mn_error e = {0};
  if (mn_csv_parse((const char *)data, size, "fuzz.csv", &c, &e) == MN_OK) {
    double v;
    for (int r = 0; r < c.nrows; r++)
      for (int j = 0; j < c.ncols; j++) mn_csv_double(&c, r, j, &v, &e);
    mn_csv_fini(&c);
  }
  return 0;
}
#elif defined(FUZZ_ATLAS)
extern const char mn__data_regions_csv[];
extern const size_t mn__data_regions_csv_len;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mn_skin_atlas *a = NULL;
  mn_error e = {0};
  if (mn_skin_atlas_parse((const char *)data, size, "fuzz.csv", mn__data_regions_csv,
                          mn__data_regions_csv_len, "regions.csv", &a, &e) == MN_OK) {
    mn_skin_params p = {.region = "cheek", .age_y = 70, .sex = 1, .fitzpatrick = 6};
    mn_skin s;
    mn_skin_build(a, &p, &s, &e);
  }
  mn_skin_atlas_destroy(a);
  return 0;
}
#elif defined(FUZZ_CATALOGUE)
extern const char mn__data_device_classes_csv[];
extern const size_t mn__data_device_classes_csv_len;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mn_device_catalogue *c = NULL;
  mn_error e = {0};
  if (mn_device_catalogue_parse((const char *)data, size, "fuzz.csv", mn__data_device_classes_csv,
                                mn__data_device_classes_csv_len, "classes.csv", &c, &e) == MN_OK)
    for (size_t i = 0; i < mn_device_catalogue_count(c); i++) {
      const mn_device_spec *s = mn_device_catalogue_get(c, i);
      mn_device_params p = {.depth_mm = s->depth_mm_max > 0.05 ? s->depth_mm_max : 0.05};
      snprintf(p.model, sizeof p.model, "%s", s->id);
      mn_device d;
      if (mn_device_init(&d, c, &p, &e) == MN_OK) mn_device_fini(&d);
      mn_error_clear(&e);
    }
  mn_device_catalogue_destroy(c);
  return 0;
}
#elif defined(FUZZ_PARAMS)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mn_param_set ps;
  mn_error e = {0};
  if (mn_param_set_parse((const char *)data, size, "fuzz.csv", &ps, &e) == MN_OK)
    mn_model_check(&ps.p, &e);
  return 0;
}
#elif defined(FUZZ_PATIENT)
/* A patient file, then the candidacy screening of its names against the shipped rules (the
 * protocol search itself runs the model: not fuzzed). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mn_candidacy_rules *rules; /* loaded once, kept for the process's life */
  static int loaded;
  mn_error e = {0};
  if (!loaded) loaded = mn_candidacy_rules_create(&rules, &e) == MN_OK;
  mn_patient_file *pf = NULL;
  if (mn_patient_file_parse((const char *)data, size, "fuzz.yaml", &pf, &e) == MN_OK) {
    static mn_candidacy c;
    mn_error e2 = {0};
    if (loaded && mn_candidacy_screen(rules, &pf->req.patient, &c, &e2) != MN_OK)
      mn_patient_file_locate(pf, &e2);
    mn_patient_file_destroy(pf);
  }
  return 0;
}
#elif defined(FUZZ_RULES)
/* The planner's tables: candidacy rules, the posterior ensemble and the between-patient items
 * (the same CSV reader). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mn_candidacy_rules *r = NULL;
  mn_error e = {0};
  if (mn_candidacy_rules_parse((const char *)data, size, "fuzz.csv", &r, &e) == MN_OK)
    mn_candidacy_rules_destroy(r);
  mn_posterior po;
  mn_error e2 = {0};
  if (mn_posterior_parse((const char *)data, size, "fuzz.csv", &po, &e2) == MN_OK)
    mn_posterior_fini(&po);
  mn_spread sp;
  mn_error e3 = {0};
  (void)mn_spread_parse((const char *)data, size, "fuzz.csv", &sp, &e3);
  return 0;
}
#elif defined(FUZZ_CHECKPOINT)
/* The checkpoint reader of `mnsim simulate --resume`. A raw-byte HDF5 image would fuzz HDF5's own
 * parser; this target fuzzes what mnsim trusts instead: a checkpoint written by
 * mn_checkpoint_write for a tiny unit cell, with any header value, run position, sample count,
 * field value or series value the input gives (a valid checksum: only the range checks stand in
 * the way), then edited behind the writer's back (attributes and datasets removed, retyped or
 * rewritten: the checksum or the reader's field checks must catch it). What the reader accepts
 * must position the course and take a step without a crash.
 * Input: 2 bytes of flags, 8 bytes per flag set (the value of that item), then 2-byte edits. */
#include <hdf5.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct fz {
  const uint8_t *p;
  size_t n;
} fz;

static uint64_t take8(fz *z) {
  uint64_t v = 0;
  for (int i = 0; i < 8 && z->n; i++, z->p++, z->n--) v |= (uint64_t)*z->p << (8 * i);
  return v;
}
static double as_double(uint64_t v) {
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

static struct {
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_case *cs;
  mn_skin skin;
  mn_device dev;
  mn_param_set ps;
  mn_course *c;
  float *init[MN_NSPECIES]; /* the fields at day 0 */
  size_t len;
  char path[64];
} fx;

static const char CASE[] =
    "seed: 1\nskin: {region: cheek, age_y: 35, fitzpatrick: 2}\n"
    "device: {model: pen-12, depth_mm: 0.5}\ntreatment: {passes: [{speed_mm_per_s: 60}]}\n"
    "simulate: {mode: unit_cell, days: 4, sessions: 2, interval_day: 2, sample_hours: 12}\n"
    "grid: {dx_um: 40, dz_epi_um: 20, dz_pd_um: 40, dz_rd_um: 80}\nsolver: {threads: 1}\n";

static int fixture(void) {
  mn_error e = {0};
  if (mn_skin_atlas_create(&fx.atlas, &e) || mn_device_catalogue_create(&fx.cat, &e) ||
      mn_case_parse(CASE, sizeof CASE - 1, "fuzz.yaml", &fx.cs, &e) ||
      mn_case_check_skin(fx.cs, fx.atlas, &fx.skin, &e) ||
      mn_device_init(&fx.dev, fx.cat, &fx.cs->device, &e) || mn_param_set_load_default(&fx.ps, &e))
    goto fail;
  mn_course_params p;
  mn_course_params_default(&p);
  p.mode = fx.cs->sim.mode, p.model = &fx.ps.p, p.skin = &fx.skin, p.dev = &fx.dev;
  p.treatment = &fx.cs->treatment, p.sessions = fx.cs->sim.sessions;
  p.interval_day = fx.cs->sim.interval_day, p.days = fx.cs->sim.days;
  p.sample_hours = fx.cs->sim.sample_hours, p.grid = &fx.cs->grid, p.solver = &fx.cs->solver;
  if (mn_course_create(&p, &fx.c, &e)) goto fail;
  const mn_grid *g = mn_course_grid(fx.c);
  fx.len = g->ncell;
  for (int q = 0; q < MN_NSPECIES; q++) {
    fx.init[q] = malloc(fx.len * sizeof(float));
    memcpy(fx.init[q], mn_solver_field(mn_course_solver(fx.c), q), fx.len * sizeof(float));
  }
  snprintf(fx.path, sizeof fx.path, "/tmp/mnsim-fuzz-ckpt-%ld.h5", (long)getpid());
  return 0;
fail:
  fprintf(stderr, "fuzz_checkpoint: fixture: %s\n", e.msg);
  abort();
}

/* Edits behind the writer's back: remove, retype or rewrite one item. */
static void edit(fz *z) {
  static const char *const attrs[] = {"t_day",       "dt_day", "u_uv",      "frozen", "steps",
                                      "samples",     "seed",   "case_file", "days",   "case_hash",
                                      "params_hash", "build",  "checksum"};
  static const char *const sets[] = {"grid_dims",  "run_state", "ts_t",
                                     "ts_session", "ts_mean",   "P"};
  hid_t f = H5Fopen(fx.path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return;
  while (z->n >= 2) {
    int op = z->p[0] % 4, i = z->p[1];
    z->p += 2, z->n -= 2;
    const char *a = attrs[i % (int)(sizeof attrs / sizeof attrs[0])];
    hid_t sp = H5Screate(H5S_SCALAR), t = op == 2 ? H5Tcopy(H5T_C_S1) : H5T_NATIVE_DOUBLE;
    if (op == 0) {
      H5Ldelete(f, sets[i % (int)(sizeof sets / sizeof sets[0])], H5P_DEFAULT);
    } else {
      H5Adelete(f, a);
      double v = op == 3 ? as_double(take8(z)) : 0;
      hid_t at = op == 1 ? -1 : H5Acreate2(f, a, t, sp, H5P_DEFAULT, H5P_DEFAULT);
      if (at >= 0) H5Awrite(at, t, op == 2 ? (const void *)"x" : (const void *)&v), H5Aclose(at);
    }
    if (op == 2) H5Tclose(t);
    H5Sclose(sp);
  }
  H5Fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fx.c) fixture();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  fz z = {data, size};
  unsigned flags = size >= 2 ? data[0] | (unsigned)data[1] << 8 : 0;
  z.p += size >= 2 ? 2 : size, z.n -= size >= 2 ? 2 : size;
  mn_course *c = fx.c;
  mn_solver *s = mn_course_solver(c);
  const mn_grid *g = mn_course_grid(c);
  mn_timeseries *ts = mn_course_series_mut(c);
  for (int q = 0; q < MN_NSPECIES; q++)
    memcpy(mn_solver_field(s, q), fx.init[q], fx.len * sizeof(float));
  /* a valid position at day 0, then what the input overrides */
  mn_solver_scalars sc = {0, 1e-3, 0, 0, 0};
  mn_run_state rs = {.seed = 1};
  ts->n = 0;
  uint64_t v[15] = {0}; /* flag 15: the edits */
  for (int b = 0; b < 15; b++)
    if (flags >> b & 1) v[b] = take8(&z);
  if (flags & 1) sc.t_day = as_double(v[0]);
  if (flags & 2) sc.dt_day = as_double(v[1]);
  if (flags & 4) sc.u_uv = as_double(v[2]);
  if (flags & 8) sc.frozen = (int)v[3];
  if (flags & 16) sc.steps = (long)v[4];
  if (flags & 32) rs.next_session = (int)v[5];
  if (flags & 64) rs.next_snapshot = (int)v[6];
  if (flags & 128) rs.days = as_double(v[7]);
  if (flags & 256) rs.case_hash = v[8];
  if (flags & 512) rs.params_hash = v[9];
  if (flags & 1024) ts->n = (int)(v[10] % (uint64_t)(ts->cap + 1));
  rs.next_sample = flags & 2048 ? (int)v[11] : ts->n;
  for (int i = 0; i < ts->n; i++) { /* increasing sample days up to t_day, valid by default */
    ts->t[i] = i * 0.5, ts->session[i] = 0, ts->redness[i] = 0;
    for (int k = 0; k < MN_LAYER_HYPO * MN_NSPECIES; k++)
      ts->mean[i * MN_LAYER_HYPO * MN_NSPECIES + k] = 1;
  }
  if (ts->n && (flags & 4096)) ts->t[ts->n - 1] = as_double(v[12]);
  if (flags & 8192) { /* the fields are float32: a double beyond its range is stored as infinity */
    double x = as_double(v[13]);
    mn_solver_field(s, 0)[mn_grid_at(g, 1, 1, 1)] =
        isnan(x) || fabs(x) <= FLT_MAX ? (float)x : (float)copysign(INFINITY, x);
  }
  if (ts->n && (flags & 16384)) ts->session[0] = (int)v[14];
  mn_solver_set_scalars(s, &sc);
  mn_error e = {0};
  if (mn_checkpoint_write(fx.path, g, s, &rs, ts, &e) != MN_OK) return 0;
  if (flags & 32768) edit(&z);
  mn_run_state got;
  mn_error e1 = {0}, e2 = {0}, e3 = {0};
  if (mn_checkpoint_read_state(fx.path, &got, &e1) == MN_OK &&
      mn_checkpoint_read(fx.path, g, s, &got, ts, &e2) == MN_OK) {
    mn_course_position pos = {got.next_session, got.next_sample};
    if (mn_course_set_position(c, &pos, &e3) == MN_OK && mn_course_events(c, &e3) == MN_OK &&
        !mn_course_done(c))
      mn_course_step(c, INFINITY, NULL, &e3);
  }
  if (getenv("FUZZ_VERBOSE")) /* which check stopped it: for checking the seeds */
    fprintf(stderr, "state: %s | read: %s | course: %s\n", e1.msg, e2.msg, e3.msg);
  unlink(fx.path);
  return 0;
}
#else
#error \
    "define one of FUZZ_CASE, FUZZ_CSV, FUZZ_ATLAS, FUZZ_CATALOGUE, FUZZ_PARAMS, FUZZ_PATIENT, FUZZ_RULES, FUZZ_CHECKPOINT"
#endif
