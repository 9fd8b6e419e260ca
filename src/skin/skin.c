/* Patient anatomy: resolve a region (name or alias), pick the most specific atlas row of each
 * layer for the patient's sex, apply the age trend and stack the layers; layer lookup by depth;
 * Fitzpatrick types. Pipeline: skin; the resolved mn_skin feeds device statistics, grid, injury
 * and course. Reference: data/skin_layers.csv (sourced rows), Fitzpatrick 1988. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "skin_impl.h"

static const char *const layer_names[] = {"SC", "VE", "PD", "RD", "HYPO"};
static const char *const layer_long[] = {"stratum corneum", "viable epidermis", "papillary dermis",
                                         "reticular dermis", "hypodermis"};
static const char *const sex_names[] = {"female", "male", NULL};

const char *mn_layer_name(int l) {
  return l >= 0 && l < MN_LAYER_COUNT ? layer_names[l] : "?";
}
const char *mn_layer_long_name(int l) {
  return l >= 0 && l < MN_LAYER_COUNT ? layer_long[l] : "?";
}

static const mn_config_desc skin_table[] = {
    {"region", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "cheek", offsetof(mn_skin_params, region),
     sizeof(((mn_skin_params *)0)->region),
     "face region (forehead, cheek, nose, perioral, periorbital, chin, neck; see `mnsim skin "
     "--list`)"},
    {"age_y", MN_CONFIG_DOUBLE, "years", 40, 16, 100, NULL, NULL, offsetof(mn_skin_params, age_y),
     sizeof(double), "patient age"},
    {"sex", MN_CONFIG_ENUM, "", MN_SEX_FEMALE, 0, 1, sex_names, NULL, offsetof(mn_skin_params, sex),
     sizeof(int), "sex, for the sex-specific anatomy rows"},
    {"fitzpatrick", MN_CONFIG_INT, "", 3, 1, 6, NULL, NULL, offsetof(mn_skin_params, fitzpatrick),
     sizeof(int), "Fitzpatrick skin type 1-6 (I-VI)"},
};

const mn_config_desc *mn_skin_param_table(size_t *n) {
  *n = sizeof skin_table / sizeof skin_table[0];
  return skin_table;
}

/* Find the canonical region for @p name: a region name or one of its ';'-separated aliases,
 * case-insensitively (aliases compared whole, spaces included). Returns the index or -1. */
static int find_region(const mn_skin_atlas *a, const char *name) {
  for (size_t i = 0; i < a->n_regions; i++) {
    if (strcasecmp(a->regions[i].name, name) == 0) return (int)i;
    char buf[sizeof a->regions[i].aliases];
    snprintf(buf, sizeof buf, "%s", a->regions[i].aliases);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
      if (strcasecmp(tok, name) == 0) return (int)i;
  }
  return -1;
}

/* Most specific row for (region, sex, layer): exact, then any sex, then any region. The score
 * weighs the region twice the sex, so a row for this region and any sex beats a row for any
 * region and this sex; among rows of equal score the first in the table wins. */
static const atlas_row *pick_row(const mn_skin_atlas *a, const char *region, int sex, int layer) {
  const atlas_row *best = NULL;
  int best_score = -1;
  for (size_t i = 0; i < a->n_rows; i++) {
    const atlas_row *w = &a->rows[i];
    if (w->layer != layer) continue;
    int reg_ok = strcmp(w->region, region) == 0, reg_any = strcmp(w->region, "*") == 0;
    int sex_ok = w->sex == sex, sex_any = w->sex < 0;
    if (!(reg_ok || reg_any) || !(sex_ok || sex_any)) continue;
    int score = 2 * reg_ok + sex_ok;
    if (score > best_score) best = w, best_score = score;
  }
  return best;
}

/* The row's linear age trend, 1 + c (age - ref) / 10 with c the fractional change per decade
 * (data/skin_layers.csv), clamped to [0.5, 1.5] so that the trend cannot be extrapolated to
 * implausible thicknesses at the ends of the age range (16 to 100 years). 1 without a trend. */
static double age_factor(const atlas_row *w, double age_y) {
  if (isnan(w->ref_age_y)) return 1.0;
  double f = 1.0 + w->change_per_decade * (age_y - w->ref_age_y) / 10.0;
  return f < 0.5 ? 0.5 : (f > 1.5 ? 1.5 : f);
}

/* The unknown-region message: the nearest name, if any is close, and the known names (the list
 * is cut at 512 characters). */
static int region_error(const mn_skin_atlas *a, const char *name, mn_error *err) {
  const char *near = mn_nearest(name, a->names, a->n_regions);
  char list[512];
  size_t used = 0;
  for (size_t i = 0; i < a->n_regions && used < sizeof list; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                             a->regions[i].name);
  if (near)
    return MN_ERR(err, MN_EINPUT, "skin.region",
                  "skin.region = '%s' is not a known region; did you mean '%s'? (known: %s)", name,
                  near, list);
  return MN_ERR(err, MN_EINPUT, "skin.region",
                "skin.region = '%s' is not a known region (known: %s)", name, list);
}

/* The SD and the [min, max] range scale with the same age factor as the thickness. The
 * hypodermis has no row: its thickness stays 0 and top_um[HYPO] is the bottom of the dermis,
 * where the grid ends. */
int mn_skin_build(const mn_skin_atlas *a, const mn_skin_params *p, mn_skin *out, mn_error *err) {
  int rc = MN_OK;
  size_t nt;
  const mn_config_desc *tab = mn_skin_param_table(&nt);
  memset(out, 0, sizeof *out);
  MN_TRY(mn_config_check(tab, nt, p, "skin", err));
  int ri = find_region(a, p->region);
  if (ri < 0) return region_error(a, p->region, err);
  out->params = *p;
  snprintf(out->region, sizeof out->region, "%s", a->regions[ri].name);
  for (int l = 0; l < ROW_LAYERS; l++) {
    const atlas_row *w = pick_row(a, out->region, p->sex, l);
    MN_CHECK(w, err, MN_EINPUT, "skin.region", "the anatomy table has no %s row for %s (%s)",
             mn_layer_name(l), out->region, sex_names[p->sex]);
    out->age_factor[l] = age_factor(w, p->age_y);
    out->thickness_um[l] = w->thickness_um * out->age_factor[l];
    out->sd_um[l] = w->sd_um * out->age_factor[l];
    out->range_um[l][0] = w->min_um * out->age_factor[l];
    out->range_um[l][1] = w->max_um * out->age_factor[l];
    snprintf(out->tag[l], sizeof out->tag[l], "%s", w->tag);
    snprintf(out->source[l], sizeof out->source[l], "%s", w->source);
  }
  out->top_um[0] = 0;
  for (int l = 1; l < MN_LAYER_COUNT; l++)
    out->top_um[l] = out->top_um[l - 1] + out->thickness_um[l - 1];
cleanup:
  return rc;
}

/* The deepest layer whose top lies at or above the depth, so a boundary belongs to the deeper
 * layer. */
int mn_skin_layer_at(const mn_skin *s, double depth_um) {
  for (int l = MN_LAYER_COUNT - 1; l > 0; l--)
    if (depth_um >= s->top_um[l]) return l;
  return MN_LAYER_SC;
}

/* The subpapillary plexus lies at the papillary/reticular boundary (Sorrell & Caplan 2004). */
double mn_skin_plexus_depth_um(const mn_skin *s) {
  return s->top_um[MN_LAYER_RD];
}

/* Fitzpatrick TB. The validity and practicality of sun-reactive skin types I through VI.
 * Arch Dermatol 1988;124:869-871 [R]. */
static const char *const fitz_names[] = {"I", "II", "III", "IV", "V", "VI"};
static const char *const fitz_docs[] = {"always burns, never tans",
                                        "usually burns, tans minimally",
                                        "sometimes burns mildly, tans uniformly",
                                        "burns minimally, always tans well",
                                        "very rarely burns, tans very easily",
                                        "never burns, deeply pigmented"};

const char *mn_fitzpatrick_name(int t) {
  return t >= 1 && t <= 6 ? fitz_names[t - 1] : "?";
}
const char *mn_fitzpatrick_doc(int t) {
  return t >= 1 && t <= 6 ? fitz_docs[t - 1] : "?";
}
