/* Unit tests of the device module: catalogue, settings checks, outline geometry, and the
 * puncture generator against its closed forms (stamp count, pen n f / (v w), roller N / (pi D W),
 * random-pattern coverage 1 - exp(-density x area)), reproducibility and fault injection. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <string.h>

#include "mnsim/device.h"

static mn_device_catalogue *cat;
static mn_skin_atlas *atlas;
static mn_skin skin;

static void setup(void) {
  mn_error e = {0};
  cr_assert_eq(mn_device_catalogue_create(&cat, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(mn_skin_atlas_create(&atlas, &e), MN_OK, "%s", e.msg);
  mn_skin_params p = {.region = "cheek", .age_y = 40, .sex = MN_SEX_FEMALE, .fitzpatrick = 3};
  cr_assert_eq(mn_skin_build(atlas, &p, &skin, &e), MN_OK, "%s", e.msg);
}
static void teardown(void) {
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
}

static mn_device make_device(const char *model, double depth, double rate) {
  mn_device_params p = {.depth_mm = depth, .stroke_rate_hz = rate};
  snprintf(p.model, sizeof p.model, "%s", model);
  mn_device d;
  mn_error e = {0};
  cr_assert_eq(mn_device_init(&d, cat, &p, &e), MN_OK, "%s", e.msg);
  return d;
}

static mn_treatment rect(double w, double h, int passes, uint64_t seed) {
  mn_treatment t = {.n_outline = 4, .n_passes = passes, .seed = seed};
  double pts[4][2] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
  memcpy(t.outline_mm, pts, sizeof pts);
  for (int i = 0; i < passes; i++)
    t.passes[i] = (mn_pass_params){.direction = MN_DIR_HORIZONTAL, .speed_mm_per_s = 20};
  return t;
}

static mn_puncture_set *generate(const mn_device *d, const mn_treatment *t) {
  mn_puncture_set *s = NULL;
  mn_error e = {0};
  cr_assert_eq(mn_device_punctures(d, t, &s, &e), MN_OK, "%s", e.msg);
  return s;
}

/* Punctures per cm2 inside the window [x0, x1] x [y0, y1]. */
static double window_density(const mn_puncture_set *s, double x0, double x1, double y0, double y1) {
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++)
    k += s->x_mm[i] >= x0 && s->x_mm[i] < x1 && s->y_mm[i] >= y0 && s->y_mm[i] < y1;
  return 100.0 * (double)k / ((x1 - x0) * (y1 - y0));
}

Test(device, catalogue_entries_are_sourced_and_consistent, .init = setup, .fini = teardown) {
  size_t n = mn_device_catalogue_count(cat);
  int pens = 0, rollers = 0, stamps = 0;
  for (size_t i = 0; i < n; i++) {
    const mn_device_spec *s = mn_device_catalogue_get(cat, i);
    cr_assert(s->source[0] && s->tag[0], "%s", s->id);
    pens += s->cls == MN_DEVICE_PEN, rollers += s->cls == MN_DEVICE_ROLLER;
    stamps += s->cls == MN_DEVICE_STAMP;
  }
  cr_assert(pens >= 4 && rollers >= 2 && stamps >= 1);
  const mn_device_spec *s;
  mn_error e = {0};
  cr_assert_eq(mn_device_catalogue_find(cat, "roller-192", &s, &e), MN_OK);
  cr_assert_eq(s->needles, 192);
  cr_assert_eq(mn_device_catalogue_find(cat, "roler-192", &s, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "did you mean 'roller-192'?"), "%s", e.msg);
  for (int c = 0; c < MN_DEVICE_CLASS_COUNT; c++) {
    const mn_device_class_info *ci = mn_device_catalogue_class(cat, c);
    cr_assert(ci->ratio_min <= ci->depth_ratio && ci->depth_ratio <= ci->ratio_max);
    cr_assert(ci->source[0]);
  }
  /* CT11: effective/nominal depth between the rat roller (0.20) and ex vivo pen (~1.0) */
  cr_assert_float_eq(mn_device_catalogue_class(cat, MN_DEVICE_ROLLER)->ratio_min, 0.2, 1e-12);
  cr_assert_float_eq(mn_device_catalogue_class(cat, MN_DEVICE_PEN)->ratio_max, 1.0, 1e-12);
}

Test(device, settings_are_checked_against_the_entry, .init = setup, .fini = teardown) {
  mn_device d;
  mn_error e = {0};
  mn_device_params p = {.model = "pen-12", .depth_mm = 3.0};
  cr_assert_eq(mn_device_init(&d, cat, &p, &e), MN_ERANGE);
  cr_assert_str_eq(e.msg, "device.depth_mm = 3 is outside the range of pen-12 [0.25, 2.5] mm");
  mn_error_clear(&e);
  p = (mn_device_params){.model = "pen-12", .depth_mm = 1, .stroke_rate_hz = 200};
  cr_assert_eq(mn_device_init(&d, cat, &p, &e), MN_ERANGE);
  cr_assert_str_eq(e.key, "device.stroke_rate_hz");
  mn_error_clear(&e);
  p = (mn_device_params){.model = "roller-192", .depth_mm = 1, .stroke_rate_hz = 100};
  cr_assert_eq(mn_device_init(&d, cat, &p, &e), MN_EINPUT);
  cr_assert_str_eq(
      e.msg, "device.stroke_rate_hz = 100 is for pens; roller-192 is a roller (remove the key)");
  mn_error_clear(&e);
  p = (mn_device_params){.model = "pen-12", .depth_mm = 1, .depth_ratio = 0.05};
  cr_assert_eq(mn_device_init(&d, cat, &p, &e), MN_ERANGE);
}

Test(device, channel_radius_follows_the_taper, .init = setup, .fini = teardown) {
  mn_device d = make_device("pen-12", 1.0, 0); /* 0.25 mm needle, 0.5 mm taper, 4 um tip */
  cr_assert_float_eq(mn_device_channel_radius_um(&d, 900, 900), 0, 1e-12);
  cr_assert_float_eq(mn_device_channel_radius_um(&d, 900, 650), 4 + (125 - 4) * 0.5, 1e-9);
  cr_assert_float_eq(mn_device_channel_radius_um(&d, 900, 0), 125, 1e-9);
  cr_assert_float_eq(mn_device_channel_radius_um(&d, 100, 0), 4 + 121 * 0.2, 1e-9);
  mn_device_fini(&d);
}

Test(device, outline_geometry, .init = setup, .fini = teardown) {
  mn_treatment t = rect(10, 5, 1, 1);
  cr_assert_float_eq(mn_treatment_area_cm2(&t), 0.5, 1e-12);
  cr_assert(mn_treatment_contains(&t, 5, 2.5) && !mn_treatment_contains(&t, 11, 2));
  /* L-shape: 20 x 20 minus the 10 x 10 upper-right quarter */
  mn_treatment l = {.n_outline = 6, .n_passes = 1, .seed = 3};
  double pts[6][2] = {{0, 0}, {20, 0}, {20, 10}, {10, 10}, {10, 20}, {0, 20}};
  memcpy(l.outline_mm, pts, sizeof pts);
  l.passes[0] = (mn_pass_params){.direction = MN_DIR_HORIZONTAL, .speed_mm_per_s = 20};
  mn_error e = {0};
  cr_assert_eq(mn_treatment_check(&l, &e), MN_OK);
  cr_assert_float_eq(mn_treatment_area_cm2(&l), 3.0, 1e-12);
  cr_assert(!mn_treatment_contains(&l, 15, 15) && mn_treatment_contains(&l, 5, 15));
  /* a bow tie crosses itself */
  mn_treatment b = l;
  double bow[4][2] = {{0, 0}, {10, 10}, {10, 0}, {0, 10}};
  b.n_outline = 4;
  memcpy(b.outline_mm, bow, sizeof bow);
  cr_assert_eq(mn_treatment_check(&b, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "crosses itself"), "%s", e.msg);
  mn_error_clear(&e);
  b.n_outline = 2;
  cr_assert_eq(mn_treatment_check(&b, &e), MN_EINPUT);
}

Test(device, stamp_of_n_needles_gives_exactly_n_punctures, .init = setup, .fini = teardown) {
  mn_device d = make_device("stamp-35", 1.0, 0); /* 5 x 7 at 1.5 mm: 7.5 along, 10.5 across */
  mn_treatment t = rect(7.5, 10.5, 1, 9);
  t.passes[0].jitter_mm = 0.5;
  mn_puncture_set *s = generate(&d, &t);
  cr_assert_eq(s->n, 35);
  mn_puncture_set_destroy(s);
  t = rect(3 * 7.5, 2 * 10.5, 1, 9); /* tiles 3 x 2 presses */
  s = generate(&d, &t);
  cr_assert_eq(s->n, 6 * 35);
  cr_assert_eq(s->pass_count[0], 6 * 35);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

/* Pen density per pass: n f / (v w) in the interior, for several rates, speeds and cartridges. */
typedef struct pen_case {
  char model[24];
  double rate, speed;
} pen_case;

ParameterizedTestParameters(device, pen_density_matches_n_f_over_v_w) {
  static pen_case cases[] = {{"pen-12", 110, 20},         {"pen-12", 60, 10},
                             {"pen-exceed-6", 150, 40},   {"pen-rejuvapen-12", 120, 25},
                             {"pen-dermapen-11", 90, 15}, {"pen-36", 100, 50}};
  return cr_make_param_array(pen_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(pen_case *c, device, pen_density_matches_n_f_over_v_w, .init = setup,
                  .fini = teardown) {
  mn_device d = make_device(c->model, 1.0, c->rate);
  mn_treatment t = rect(60, 60, 1, 11);
  t.passes[0].speed_mm_per_s = c->speed;
  t.passes[0].jitter_mm = 0.3;
  mn_puncture_set *s = generate(&d, &t);
  /* swath from the catalogue row, independently of the code: grid cols x pitch, else the field
   * diameter */
  const mn_device_spec *sp = &d.spec;
  double swath = sp->layout == MN_LAYOUT_GRID ? sp->cols * sp->pitch_mm : sp->footprint_mm;
  double expect = 100.0 * sp->needles * c->rate / (c->speed * swath);
  cr_assert_float_eq(mn_device_pass_density_cm2(&d, &t.passes[0]), expect, 1e-9 * expect);
  double got = window_density(s, 10, 50, 10, 50);
  cr_assert(fabs(got / expect - 1) < 0.03, "%s: %.1f vs n f/(v w) = %.1f per cm2", c->model, got,
            expect);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

Test(device, roller_density_and_doddaballapur_check, .init = setup, .fini = teardown) {
  mn_device d = make_device("roller-192", 1.5, 0);
  mn_treatment t = rect(60, 60, 15, 5);
  static const int dirs[3] = {MN_DIR_VERTICAL, MN_DIR_HORIZONTAL, MN_DIR_DIAGONAL};
  for (int i = 0; i < 15; i++) t.passes[i].direction = dirs[i % 3];
  mn_puncture_set *s = generate(&d, &t);
  /* 192 / (pi x 2 cm x 2 cm) = 15.28 per cm2 per full roll */
  double per_pass = 192.0 / (M_PI * 2.0 * 2.0);
  cr_assert_float_eq(mn_device_pass_density_cm2(&d, &t.passes[0]), per_pass, 1e-9);
  double got = window_density(s, 10, 50, 10, 50);
  cr_assert(fabs(got / (15 * per_pass) - 1) < 0.05, "%.1f vs %.1f", got, 15 * per_pass);
  /* CT01 (Doddaballapur 2009): rolling 15 times gives about 250 holes/cm2; tolerance 20 % */
  cr_assert(fabs(got / 250.0 - 1) < 0.20, "%.1f per cm2", got);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

Test(device, exceed_pen_puncture_rate_ct02, .init = setup, .fini = teardown) {
  /* CT02 (FDA 510(k) K182407): 6 needles x 100-150 Hz = 600-900 punctures per second */
  for (double f = 100; f <= 150; f += 50) {
    mn_device d = make_device("pen-exceed-6", 1.0, f);
    mn_treatment t = rect(10, 10, 1, 1);
    mn_puncture_set *s = generate(&d, &t);
    mn_device_stats st;
    mn_error e = {0};
    cr_assert_eq(mn_device_stats_compute(&d, &t, &skin, s, &st, &e), MN_OK, "%s", e.msg);
    cr_assert_float_eq(st.rate_per_s, 6 * f, 1e-9);
    mn_puncture_set_destroy(s);
    mn_device_fini(&d);
  }
}

Test(device, random_pattern_coverage_is_one_minus_exp, .init = setup, .fini = teardown) {
  /* a slow-moving hand with jitter far above the stamp spacing scatters punctures at random */
  mn_device d = make_device("pen-12", 0.5, 60);
  mn_treatment t = rect(60, 60, 2, 21);
  for (int i = 0; i < 2; i++) {
    t.passes[i].speed_mm_per_s = 30;
    t.passes[i].jitter_mm = 4;
  }
  t.passes[1].direction = MN_DIR_VERTICAL;
  mn_puncture_set *s = generate(&d, &t);
  mn_device_stats st;
  mn_error e = {0};
  cr_assert_eq(mn_device_stats_compute(&d, &t, &skin, s, &st, &e), MN_OK, "%s", e.msg);
  double expect = 1 - exp(-st.density_cm2 * 1e-8 * st.mean_channel_area_um2);
  cr_assert(expect > 0.2 && expect < 0.8, "%g: choose a density where the test is sensitive",
            expect);
  cr_assert_float_eq(st.coverage, expect, 0.015, "coverage %.4f (se %.4f) vs %.4f", st.coverage,
                     st.coverage_se, expect);
  cr_assert_float_eq(st.coverage_poisson, expect, 1e-12);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

Test(device, same_seed_identical_other_seed_different, .init = setup, .fini = teardown) {
  mn_device d = make_device("pen-12", 1.0, 0);
  mn_treatment t = rect(20, 20, 2, 77);
  t.passes[0].jitter_mm = t.passes[1].jitter_mm = 0.3;
  t.passes[1].direction = MN_DIR_DIAGONAL;
  mn_puncture_set *a = generate(&d, &t), *b = generate(&d, &t);
  cr_assert_eq(a->n, b->n);
  cr_assert(!memcmp(a->x_mm, b->x_mm, a->n * sizeof(double)));
  cr_assert(!memcmp(a->y_mm, b->y_mm, a->n * sizeof(double)));
  cr_assert(!memcmp(a->depth_um, b->depth_um, a->n * sizeof(float)));
  t.seed = 78;
  mn_puncture_set *c = generate(&d, &t);
  cr_assert(c->n != a->n || memcmp(a->x_mm, c->x_mm, a->n * sizeof(double)) != 0);
  mn_puncture_set_destroy(a);
  mn_puncture_set_destroy(b);
  mn_puncture_set_destroy(c);
  mn_device_fini(&d);
}

Test(device, depth_layers_and_bleeding_endpoint, .init = setup, .fini = teardown) {
  mn_device_stats st;
  mn_error e = {0};
  mn_treatment t = rect(20, 20, 1, 4);
  mn_device d = make_device("pen-12", 0.25, 0);
  mn_puncture_set *s = generate(&d, &t);
  cr_assert_eq(mn_device_stats_compute(&d, &t, &skin, s, &st, &e), MN_OK, "%s", e.msg);
  cr_assert_float_eq(st.depth_mean_um, 225, 3); /* 0.25 mm x 0.9 */
  cr_assert_float_eq(st.depth_lo_um / st.depth_mean_um, 0.77 / 0.9, 1e-9);
  cr_assert_lt(st.bleeding_fraction, 0.01, "225 um stays above the plexus at %.0f um",
               st.plexus_depth_um);
  cr_assert_float_eq(st.reach_fraction[MN_LAYER_PD], 1.0, 1e-12);
  double sum = 0;
  for (int l = 0; l < MN_LAYER_COUNT; l++) sum += st.layer_fraction[l];
  cr_assert_float_eq(sum, 1.0, 1e-12);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
  d = make_device("pen-12", 1.5, 0);
  s = generate(&d, &t);
  cr_assert_eq(mn_device_stats_compute(&d, &t, &skin, s, &st, &e), MN_OK, "%s", e.msg);
  cr_assert_float_eq(st.bleeding_fraction, 1.0, 1e-12);
  cr_assert_gt(st.reach_fraction[MN_LAYER_HYPO], 0.9, "1.35 mm passes a 1.07 mm cheek dermis");
  cr_assert_leq(st.depth_max_um, 1500.0f);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

Test(device, concave_outline_density, .init = setup, .fini = teardown) {
  mn_device d = make_device("pen-12", 1.0, 0);
  mn_treatment l = {.n_outline = 6, .n_passes = 2, .seed = 3};
  double pts[6][2] = {{0, 0}, {40, 0}, {40, 20}, {20, 20}, {20, 40}, {0, 40}};
  memcpy(l.outline_mm, pts, sizeof pts);
  l.passes[0] = (mn_pass_params){.direction = MN_DIR_HORIZONTAL, .speed_mm_per_s = 20};
  l.passes[1] = (mn_pass_params){.direction = MN_DIR_VERTICAL, .speed_mm_per_s = 20};
  mn_puncture_set *s = generate(&d, &l);
  double expect = mn_device_pass_density_cm2(&d, &l.passes[0]);
  cr_assert_float_eq(window_density(s, 25, 35, 25, 35), 0, 0, "the cut-out corner is untouched");
  double got = window_density(s, 4, 16, 4, 36);
  cr_assert(fabs(got / (2 * expect) - 1) < 0.05, "%.0f vs %.0f", got, 2 * expect);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

Test(device, pass_checks_and_size_limit, .init = setup, .fini = teardown) {
  mn_device d = make_device("pen-12", 1.0, 0);
  mn_treatment t = rect(20, 20, 1, 1);
  mn_puncture_set *s = NULL;
  mn_error e = {0};
  t.passes[0].depth_mm = 2.8;
  cr_assert_eq(mn_device_punctures(&d, &t, &s, &e), MN_ERANGE);
  cr_assert_str_eq(e.key, "treatment.passes[0].depth_mm");
  mn_error_clear(&e);
  t.passes[0].depth_mm = 0;
  t.passes[0].angle_deg = 30;
  cr_assert_eq(mn_device_punctures(&d, &t, &s, &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "direction is not 'angle'"), "%s", e.msg);
  mn_error_clear(&e);
  t = rect(500, 500, 32, 1);
  for (int i = 0; i < 32; i++) t.passes[i].speed_mm_per_s = 1;
  cr_assert_eq(mn_device_punctures(&d, &t, &s, &e), MN_ERANGE);
  cr_assert(strstr(e.msg, "punctures") && strstr(e.msg, "GB"), "%s", e.msg);
  cr_assert_null(s);
  mn_device_fini(&d);
}

Test(device, density_map_counts_every_inside_puncture, .init = setup, .fini = teardown) {
  mn_device d = make_device("pen-12", 1.0, 0);
  mn_treatment t = rect(30, 20, 1, 8);
  mn_puncture_set *s = generate(&d, &t);
  mn_density_map m;
  mn_error e = {0};
  cr_assert_eq(mn_density_map_build(&t, s, 1.0, &m, &e), MN_OK);
  cr_assert_eq(m.nx, 30);
  cr_assert_eq(m.ny, 20);
  double total = 0;
  for (int k = 0; k < m.nx * m.ny; k++) total += m.per_cm2[k] / 100.0; /* 1 mm2 cells */
  size_t inside = 0;
  for (size_t i = 0; i < s->n; i++)
    inside += s->x_mm[i] >= 0 && s->x_mm[i] < 30 && s->y_mm[i] >= 0 && s->y_mm[i] < 20;
  cr_assert_float_eq(total, (double)inside, 1e-6);
  mn_density_map_fini(&m);
  mn_puncture_set_destroy(s);
  mn_device_fini(&d);
}

Test(device, every_allocation_failure_is_reported_and_freed) {
  /* fail each allocation of the create/generate/statistics paths in turn: the status is ENOMEM
   * (or OK once the failure point is past the path) and nothing leaks */
  long base = mn_alloc_live();
  int reached_ok = 0;
  for (long k = 1; k < 400 && !reached_ok; k++) {
    mn_error e = {0};
    mn_device_catalogue *c = NULL;
    mn_skin_atlas *a = NULL;
    mn_device d = {0};
    mn_puncture_set *s = NULL;
    mn_skin sk;
    mn_device_stats st;
    long c0 = mn_alloc_count();
    mn_alloc_fail_at(k);
    int rc = mn_device_catalogue_create(&c, &e);
    if (!rc) rc = mn_skin_atlas_create(&a, &e);
    mn_skin_params sp = {.region = "nose", .age_y = 30, .sex = 1, .fitzpatrick = 2};
    if (!rc) rc = mn_skin_build(a, &sp, &sk, &e);
    mn_device_params p = {.model = "pen-dermapen-11", .depth_mm = 0.5};
    if (!rc) rc = mn_device_init(&d, c, &p, &e);
    mn_treatment t = rect(5, 5, 1, 2);
    if (!rc) rc = mn_device_punctures(&d, &t, &s, &e);
    if (!rc) rc = mn_device_stats_compute(&d, &t, &sk, s, &st, &e);
    mn_alloc_fail_at(0);
    long used = mn_alloc_count() - c0;
    cr_assert(rc == MN_OK || rc == MN_ENOMEM, "k=%ld rc=%d %s", k, rc, e.msg);
    /* OK only past the path: a run that succeeds although allocation k failed swallowed it */
    cr_assert(rc != MN_OK || k > used, "k=%ld: OK although allocation %ld of %ld failed", k, k,
              used);
    reached_ok = rc == MN_OK;
    mn_puncture_set_destroy(s);
    mn_device_fini(&d);
    mn_skin_atlas_destroy(a);
    mn_device_catalogue_destroy(c);
    cr_assert_eq(mn_alloc_live(), base, "k=%ld leaked %ld blocks", k, mn_alloc_live() - base);
  }
  cr_assert(reached_ok, "the path needs fewer than 400 allocations");
}
