/* libFuzzer targets for every parser of mnsim: case files (YAML, then the checks that follow
 * parsing), CSV tables, the anatomy atlas, the device catalogue and the model parameters.
 * One source, one target per -DFUZZ_<NAME>; tests/fuzz/replay.c replays the saved corpora in
 * every ctest run. */
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
/* The planner's tables: candidacy rules and the posterior ensemble (the same CSV reader). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mn_candidacy_rules *r = NULL;
  mn_error e = {0};
  if (mn_candidacy_rules_parse((const char *)data, size, "fuzz.csv", &r, &e) == MN_OK)
    mn_candidacy_rules_destroy(r);
  mn_posterior po;
  mn_error e2 = {0};
  if (mn_posterior_parse((const char *)data, size, "fuzz.csv", &po, &e2) == MN_OK)
    mn_posterior_fini(&po);
  return 0;
}
#else
#error \
    "define one of FUZZ_CASE, FUZZ_CSV, FUZZ_ATLAS, FUZZ_CATALOGUE, FUZZ_PARAMS, FUZZ_PATIENT, FUZZ_RULES"
#endif
