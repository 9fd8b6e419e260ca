/* Unit tests of the skin module: the shipped atlas, region aliases and suggestions, age and sex
 * adjustment, layer lookup, atlas validation, lesion profiles and checks. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "mnsim/skin.h"

static mn_skin_atlas *atlas;
static void setup(void) {
  mn_error e = {0};
  cr_assert_eq(mn_skin_atlas_create(&atlas, &e), MN_OK, "%s", e.msg);
}
static void teardown(void) {
  mn_skin_atlas_destroy(atlas);
}

static mn_skin_params params(const char *region, double age, int sex) {
  mn_skin_params p = {.age_y = age, .sex = sex, .fitzpatrick = 3};
  snprintf(p.region, sizeof p.region, "%s", region);
  return p;
}

Test(skin, every_region_builds_with_ordered_layers, .init = setup, .fini = teardown) {
  const char *required[] = {"forehead", "cheek", "nose", "perioral", "periorbital", "chin", "neck"};
  for (size_t i = 0; i < 7; i++) {
    int found = 0;
    for (size_t k = 0; k < mn_skin_atlas_region_count(atlas); k++)
      found |= !strcmp(mn_skin_atlas_region_name(atlas, k), required[i]);
    cr_assert(found, "region %s missing", required[i]);
  }
  for (size_t k = 0; k < mn_skin_atlas_region_count(atlas); k++)
    for (int sex = 0; sex < 2; sex++) {
      mn_skin_params p = params(mn_skin_atlas_region_name(atlas, k), 40, sex);
      mn_skin s;
      mn_error e = {0};
      cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_OK, "%s", e.msg);
      cr_assert_float_eq(s.top_um[0], 0, 0);
      for (int l = 0; l < MN_LAYER_HYPO; l++) {
        cr_assert(s.thickness_um[l] > 0, "%s layer %d", s.region, l);
        cr_assert_float_eq(s.top_um[l + 1], s.top_um[l] + s.thickness_um[l], 1e-9);
        cr_assert(s.source[l][0] && s.tag[l][0]);
        cr_assert(s.range_um[l][0] <= s.thickness_um[l] && s.thickness_um[l] <= s.range_um[l][1]);
      }
      /* plausibility against the histology range of Chopra 2015: facial dermis 0.76-1.97 mm
       * (HFUS gives thinner dermis, so allow down to 0.55 mm), epidermis 30-130 um */
      double dermis = s.thickness_um[MN_LAYER_PD] + s.thickness_um[MN_LAYER_RD];
      cr_assert(dermis > 550 && dermis < 1970, "%s dermis %.0f", s.region, dermis);
      cr_assert(s.thickness_um[MN_LAYER_SC] >= 8 && s.thickness_um[MN_LAYER_SC] <= 25);
      cr_assert(s.thickness_um[MN_LAYER_VE] >= 25 && s.thickness_um[MN_LAYER_VE] <= 130);
    }
}

Test(skin, sex_and_age_adjustments, .init = setup, .fini = teardown) {
  mn_skin f, m, old, young;
  mn_error e = {0};
  mn_skin_params p = params("forehead", 40, MN_SEX_FEMALE);
  cr_assert_eq(mn_skin_build(atlas, &p, &f, &e), MN_OK);
  p.sex = MN_SEX_MALE;
  cr_assert_eq(mn_skin_build(atlas, &p, &m, &e), MN_OK);
  /* Meng 2022: male forehead dermis 1.17 vs female 0.86 mm */
  cr_assert_gt(m.top_um[MN_LAYER_HYPO], f.top_um[MN_LAYER_HYPO]);
  p.age_y = 70;
  cr_assert_eq(mn_skin_build(atlas, &p, &old, &e), MN_OK);
  p.age_y = 20;
  cr_assert_eq(mn_skin_build(atlas, &p, &young, &e), MN_OK);
  cr_assert_lt(old.thickness_um[MN_LAYER_RD], young.thickness_um[MN_LAYER_RD]);
  /* -6 %/decade for men's forehead dermis at reference age 40: 30 years -> factor 0.82 */
  cr_assert_float_eq(old.age_factor[MN_LAYER_RD], 1 - 0.06 * 3, 1e-12);
  cr_assert_float_eq(old.thickness_um[MN_LAYER_SC], m.thickness_um[MN_LAYER_SC], 1e-9);
}

Test(skin, aliases_and_suggestions, .init = setup, .fini = teardown) {
  mn_skin s;
  mn_error e = {0};
  mn_skin_params p = params("Zygoma", 40, 0);
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_OK);
  cr_assert_str_eq(s.region, "cheek");
  p = params("eyelid", 40, 0);
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_OK);
  cr_assert_str_eq(s.region, "periorbital");
  p = params("forhead", 40, 0);
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_EINPUT);
  cr_assert_str_eq(e.key, "skin.region");
  cr_assert(strstr(e.msg, "did you mean 'forehead'?"), "%s", e.msg);
  mn_error_clear(&e);
  p = params("cheek", 12, 0);
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_ERANGE);
  cr_assert_str_eq(e.msg, "skin.age_y = 12 is outside [16, 100] years");
}

Test(skin, layer_lookup_and_plexus, .init = setup, .fini = teardown) {
  mn_skin s;
  mn_error e = {0};
  mn_skin_params p = params("cheek", 40, 0);
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_OK);
  cr_assert_eq(mn_skin_layer_at(&s, 0), MN_LAYER_SC);
  cr_assert_eq(mn_skin_layer_at(&s, s.top_um[MN_LAYER_VE] + 1), MN_LAYER_VE);
  cr_assert_eq(mn_skin_layer_at(&s, s.top_um[MN_LAYER_PD]), MN_LAYER_PD);
  cr_assert_eq(mn_skin_layer_at(&s, s.top_um[MN_LAYER_RD] + 5), MN_LAYER_RD);
  cr_assert_eq(mn_skin_layer_at(&s, 5000), MN_LAYER_HYPO);
  cr_assert_float_eq(mn_skin_plexus_depth_um(&s), s.top_um[MN_LAYER_RD], 0);
  /* Sorrell & Caplan 2004: the subpapillary plexus lies about 300-400 um deep; allow 200-420 */
  cr_assert(s.top_um[MN_LAYER_RD] > 200 && s.top_um[MN_LAYER_RD] < 420);
}

Test(skin, atlas_validation_messages) {
  const char *regions = "region,aliases,doc\ncheek,,c\n";
  const char *hdr =
      "region,sex,layer,thickness_um,sd_um,min_um,max_um,ref_age_y,change_per_decade,tag,source\n";
  struct {
    const char *rows, *msg;
  } cases[] = {
      {"cheek,female,XX,10,1,,,,,V,s\n", "layers.csv:2: layer 'XX' must be SC, VE, PD or RD"},
      {"elbow,female,SC,10,1,,,,,V,s\n", "layers.csv:2: region 'elbow' is not in the region table"},
      {"cheek,other,SC,10,1,,,,,V,s\n", "layers.csv:2: sex 'other' must be female, male or *"},
      {"cheek,*,SC,-3,1,,,,,V,s\n", "layers.csv:2: thickness_um = -3 is outside (0, 5000)"},
      {"cheek,*,SC,10,1,,,,,V,\n", "layers.csv:2: every row needs a source"},
      {"cheek,*,SC,10,1,12,20,,,V,s\n",
       "layers.csv:2: thickness_um = 10 is not within [min_um, max_um] = [12, 20]"},
      {"cheek,*,SC,10,1,,,,,V,s\n", "the anatomy table has no VE row for cheek (female)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", hdr, cases[i].rows);
    mn_skin_atlas *a = NULL;
    mn_error e = {0};
    cr_assert_eq(mn_skin_atlas_parse(text, strlen(text), "layers.csv", regions, strlen(regions),
                                     "regions.csv", &a, &e),
                 MN_EINPUT);
    cr_assert_null(a);
    cr_assert_str_eq(e.msg, cases[i].msg);
  }
}

Test(skin, lesion_profiles) {
  mn_lesion l = {.type = MN_LESION_ICEPICK, .x_mm = 1, .y_mm = 2, .width_mm = 1.0, .depth_mm = 0.6};
  cr_assert_float_eq(mn_lesion_deficit_um(&l, 1, 2), 600, 1e-9);
  cr_assert_float_eq(mn_lesion_deficit_um(&l, 1.25, 2), 300, 1e-9); /* V: linear */
  cr_assert_float_eq(mn_lesion_deficit_um(&l, 1.5, 2), 0, 1e-9);
  l.type = MN_LESION_BOXCAR;
  cr_assert_float_eq(mn_lesion_deficit_um(&l, 1.4, 2), 600, 1e-9);        /* U: flat base */
  cr_assert_float_eq(mn_lesion_deficit_um(&l, 1 + 0.4625, 2), 300, 1e-9); /* steep wall */
  l.type = MN_LESION_ROLLING;
  cr_assert_float_eq(mn_lesion_deficit_um(&l, 1.25, 2), 300, 1e-9); /* cos^2(pi/4) = 1/2 */
  /* symmetric under rotation about the centre */
  for (int k = 0; k < 8; k++) {
    double a = k * M_PI / 4;
    cr_assert_float_eq(mn_lesion_deficit_um(&l, 1 + 0.3 * cos(a), 2 + 0.3 * sin(a)),
                       mn_lesion_deficit_um(&l, 1.3, 2), 1e-9);
  }
  mn_lesion w = {
      .type = MN_LESION_WRINKLE, .width_mm = 1, .depth_mm = 0.2, .length_mm = 10, .angle_deg = 90};
  cr_assert_float_eq(mn_lesion_deficit_um(&w, 0, 4.9), 200, 1e-9); /* along the furrow */
  cr_assert_float_eq(mn_lesion_deficit_um(&w, 0.25, 0), 100, 1e-9);
  cr_assert_float_eq(mn_lesion_deficit_um(&w, 0, 5.6), 0, 1e-9); /* past the round cap */
  char buf[160];
  l.type = MN_LESION_BOXCAR;
  mn_lesion_describe(&l, buf, sizeof buf);
  cr_assert(strstr(buf, "deep (> 0.5 mm)") && strstr(buf, "outside the usual 1.5-4 mm"), "%s", buf);
}

Test(skin, lesion_checks_against_dermis, .init = setup, .fini = teardown) {
  mn_skin s;
  mn_error e = {0};
  mn_skin_params p = params("periorbital", 40, 0);
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_OK);
  mn_lesion l = {.type = MN_LESION_BOXCAR, .width_mm = 2, .depth_mm = 1.5, .length_mm = 20};
  cr_assert_eq(mn_lesion_check(&l, &s, "skin.lesions[0]", &e), MN_ERANGE);
  cr_assert_str_eq(e.key, "skin.lesions[0].depth_mm");
  cr_assert(strstr(e.msg, "deeper than the periorbital dermis"), "%s", e.msg);
  mn_error_clear(&e);
  l = (mn_lesion){.type = MN_LESION_ICEPICK, .width_mm = 4, .depth_mm = 0.3, .length_mm = 20};
  cr_assert_eq(mn_lesion_check(&l, &s, "skin.lesions[1]", &e), MN_ERANGE);
  cr_assert_str_eq(e.key, "skin.lesions[1].width_mm");
  mn_error_clear(&e);
  l.width_mm = 1;
  cr_assert_eq(mn_lesion_check(&l, &s, "skin.lesions[1]", &e), MN_OK);
}

Test(skin, fitzpatrick_names) {
  cr_assert_str_eq(mn_fitzpatrick_name(4), "IV");
  cr_assert_str_eq(mn_fitzpatrick_doc(1), "always burns, never tans");
  cr_assert_str_eq(mn_fitzpatrick_name(7), "?");
}

/* Input checks from ../shared/data/targets.csv against the anatomy table (reference age 40). The
 * table adds the ultrasound entry echo back to the dermis (data/skin_layers.csv), so its dermis
 * lies between the ultrasound value (CT03) and cadaver histology (CT04). */
static double dermis_mm(const char *region, int sex) {
  mn_skin_params p = params(region, 40, sex);
  mn_skin s;
  mn_error e = {0};
  cr_assert_eq(mn_skin_build(atlas, &p, &s, &e), MN_OK, "%s", e.msg);
  return (s.thickness_um[MN_LAYER_PD] + s.thickness_um[MN_LAYER_RD]) / 1000.0;
}

Test(skin, input_checks_ct03_ct04, .init = setup, .fini = teardown) {
  /* CT03a, b, d: Meng 2022 HFUS dermis, within one SD */
  cr_assert_float_eq(dermis_mm("forehead", MN_SEX_FEMALE), 0.86, 0.16);
  cr_assert_float_eq(dermis_mm("cheek", MN_SEX_FEMALE), 0.87, 0.35);
  cr_assert_float_eq(dermis_mm("forehead", MN_SEX_MALE), 1.17, 0.28);
  /* CT03c (eyelid, HFUS 0.58 +/- 0.11 mm) and CT04b (upper medial eyelid, histology 0.759 mm):
   * the periorbital dermis must lie between the two methods' bounds */
  for (int sex = 0; sex < 2; sex++) {
    double d = dermis_mm("periorbital", sex);
    cr_assert(d >= 0.58 - 0.11 && d <= 0.759 * 1.15, "periorbital dermis %.3f mm", d);
  }
  /* CT04a/b: every facial dermis within the histological range 759-1969 um, +/- 15 % */
  for (size_t k = 0; k < mn_skin_atlas_region_count(atlas); k++)
    for (int sex = 0; sex < 2; sex++) {
      double d = dermis_mm(mn_skin_atlas_region_name(atlas, k), sex);
      cr_assert(d >= 0.759 * 0.85 && d <= 1.969 * 1.15, "%s dermis %.3f mm",
                mn_skin_atlas_region_name(atlas, k), d);
    }
}
