/* Unit tests of case-file parsing: values, defaults, positions, suggestions, lists, the
 * generated default file, and the output writers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mnsim/io.h"

static mn_case *parse_ok(const char *text) {
  mn_case *c = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_case_parse(text, strlen(text), "t.yaml", &c, &e), MN_OK, "%s:%d:%d: %s", e.file,
               e.line, e.col, e.msg);
  return c;
}

static mn_error parse_bad(const char *text, int code) {
  mn_case *c = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_case_parse(text, strlen(text), "t.yaml", &c, &e), code, "%s", e.msg);
  cr_assert_null(c);
  return e;
}

Test(io, values_defaults_and_lists) {
  mn_case *c = parse_ok(
      "seed: 7\n"
      "skin: {region: nose, age_y: 33, sex: male, fitzpatrick: 5}\n"
      "device:\n  model: roller-192\n  depth_mm: 1.5\n"
      "treatment:\n"
      "  outline_mm: [[0, 0], [30, 0], [30, 20]]\n"
      "  passes:\n    - direction: vertical\n    - {direction: angle, angle_deg: 30, overlap: "
      "0.2}\n");
  cr_assert_eq(c->seed, 7);
  cr_assert_eq(c->treatment.seed, 7);
  cr_assert_str_eq(c->skin.region, "nose");
  cr_assert_eq(c->skin.sex, MN_SEX_MALE);
  cr_assert_eq(c->skin.fitzpatrick, 5);
  cr_assert_str_eq(c->device.model, "roller-192");
  cr_assert_eq(c->treatment.n_outline, 3);
  cr_assert_float_eq(c->treatment.outline_mm[2][1], 20, 0);
  cr_assert_eq(c->treatment.n_passes, 2);
  cr_assert_eq(c->treatment.passes[0].direction, MN_DIR_VERTICAL);
  cr_assert_float_eq(c->treatment.passes[0].speed_mm_per_s, 20, 0, "default filled in");
  cr_assert_float_eq(c->treatment.passes[1].angle_deg, 30, 0);
  mn_case_destroy(c);
  c = parse_ok(
      "skin:\n  lesions:\n    - {type: icepick, width_mm: 1, depth_mm: 0.5}\n    - type: "
      "wrinkle\n");
  cr_assert_eq(c->n_lesions, 2);
  cr_assert_eq(c->lesions[1].type, MN_LESION_WRINKLE);
  cr_assert_float_eq(c->lesions[1].length_mm, 20, 0);
  cr_assert_eq(c->treatment.n_outline, 4, "default 20 x 20 mm rectangle");
  cr_assert_float_eq(c->treatment.outline_mm[0][0], -10, 0);
  mn_case_destroy(c);
}

Test(io, positioned_errors_and_suggestions) {
  mn_error e = parse_bad("device:\n  model: pen-12\n  depth_mn: 1.0\n", MN_EINPUT);
  cr_assert_eq(e.line, 3);
  cr_assert_eq(e.col, 3);
  cr_assert_str_eq(e.msg,
                   "unknown key 'device.depth_mn'; did you mean 'depth_mm'? (known here: "
                   "model, depth_mm, stroke_rate_hz, depth_ratio)");
  e = parse_bad("device:\n  depth_mm: 9\n", MN_ERANGE);
  cr_assert_eq(e.line, 2);
  cr_assert_eq(e.col, 13);
  cr_assert_str_eq(e.msg, "device.depth_mm = 9 is outside [0.05, 3.5] mm");
  e = parse_bad("skin:\n  age_y: [1, 2]\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "must be a single value, not a list"), "%s", e.msg);
  e = parse_bad("seed: 1\nseed: 2\n", MN_EINPUT);
  cr_assert_str_eq(e.msg, "key 'seed' is given twice (first on line 1)");
  e = parse_bad("skin: {region: cheek\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "YAML syntax error"), "%s", e.msg);
  cr_assert_gt(e.line, 0);
  e = parse_bad("", MN_EINPUT);
  cr_assert(strstr(e.msg, "empty"), "%s", e.msg);
  e = parse_bad("seed: 1\n---\nseed: 2\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "one YAML document"), "%s", e.msg);
  e = parse_bad("treatment:\n  width_mm: 10\n  outline_mm: [[0,0],[1,0],[1,1]]\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "contradict"), "%s", e.msg);
  e = parse_bad("treatment:\n  outline_mm: [[0,0],[1,0],[1]]\n", MN_EINPUT);
  cr_assert_str_eq(e.msg, "treatment.outline_mm[2] must be a point [x, y] in mm");
  cr_assert_eq(e.line, 2);
  e = parse_bad("treatment:\n  passes: []\n", MN_EINPUT);
  e = parse_bad("skin:\n  region:\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "has no value"), "%s", e.msg);
  e = parse_bad("[1, 2]\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "not a list"), "%s", e.msg);
  e = parse_bad("\x01\x02junk\xff\n", MN_EINPUT);
  cr_assert(strstr(e.msg, "YAML syntax error"), "%s", e.msg);
}

Test(io, locate_maps_library_keys_to_positions) {
  mn_case *c = parse_ok("skin:\n  region: cheak\n  lesions:\n    - {type: boxcar, depth_mm: 2}\n");
  mn_error e = {0};
  MN_ERR(&e, MN_EINPUT, "skin.region", "bad region");
  mn_case_locate(c, &e);
  cr_assert_eq(e.line, 2);
  cr_assert_eq(e.col, 11);
  mn_error_clear(&e);
  MN_ERR(&e, MN_ERANGE, "skin.lesions[0].depth_mm", "too deep");
  mn_case_locate(c, &e);
  cr_assert_eq(e.line, 4);
  mn_error_clear(&e);
  MN_ERR(&e, MN_ERANGE, "device.depth_mm", "not in the file");
  mn_case_locate(c, &e);
  cr_assert_eq(e.line, 0, "no position for a key the file does not have");
  cr_assert_str_eq(e.file, "t.yaml");
  mn_case_destroy(c);
}

Test(io, generated_defaults_parse_back) {
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  mn_case_write_defaults(fp);
  fclose(fp);
  mn_case *c = parse_ok(buf);
  cr_assert_eq(c->n_lesions, 1);
  cr_assert_eq(c->treatment.n_passes, 1);
  cr_assert_str_eq(c->skin.region, "cheek");
  mn_case_destroy(c);
  free(buf);
  fp = open_memstream(&buf, &len);
  mn_case_write_reference_md(fp);
  fclose(fp);
  cr_assert(strstr(buf, "| `depth_mm` |") && strstr(buf, "`treatment.passes[]`"));
  free(buf);
}

Test(io, read_missing_file) {
  mn_case *c;
  mn_error e = {0};
  cr_assert_eq(mn_case_read("/nonexistent/case.yaml", &c, &e), MN_EINPUT);
  mn_error e2 = {0};
  cr_assert_eq(mn_case_read("/tmp", &c, &e2), MN_EINPUT, "a directory is not a case file");
  cr_assert(strstr(e2.msg, "Is a directory"), "%s", e2.msg);
  char buf[300];
  mn_error_format(&e, buf, sizeof buf, 0);
  cr_assert_str_eq(buf, "/nonexistent/case.yaml: cannot open case file: No such file or directory");
}

/* A case whose override names no model parameter (the parser refuses one, so the name is
 * changed after parsing): the status comes back with err == NULL, and with an err it is
 * located at the override's key. */
Test(io, apply_overrides_unknown_parameter_null_err) {
  mn_case *c = parse_ok("model:\n  k_P: 1.5\n");
  cr_assert_eq(c->n_overrides, 1);
  snprintf(c->overrides[0].name, sizeof c->overrides[0].name, "%s", "no_such_param");
  mn_param_set ps;
  cr_assert_eq(mn_param_set_load_default(&ps, NULL), MN_OK);
  cr_assert_eq(mn_case_apply_overrides(c, &ps, NULL), MN_EINPUT);
  mn_error e = {0};
  cr_assert_eq(mn_case_apply_overrides(c, &ps, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "model.no_such_param");
  cr_assert_eq(e.line, 2);
  cr_assert(strstr(e.msg, "'no_such_param' is not a model parameter"), "%s", e.msg);
  mn_case_destroy(c);
}
