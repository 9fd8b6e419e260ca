/* Anatomy atlas: layer thicknesses (SC, VE, PD, RD) by face region and sex with age trends, read
 * from data/skin_layers.csv and data/regions.csv (compiled in) or from user tables.
 * Pipeline: skin, after core; mn_skin_build (skin.c) resolves one patient's layers from it.
 * Sources: each row of data/skin_layers.csv cites its own (Meng 2022 HFUS, Chopra 2015 ...). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "skin_impl.h"

void mn_skin_atlas_destroy(mn_skin_atlas *a) {
  if (!a) return;
  mn_free(a->rows);
  mn_free(a->regions);
  mn_free(a->names);
  mn_free(a);
}

size_t mn_skin_atlas_region_count(const mn_skin_atlas *a) {
  return a->n_regions;
}
const char *mn_skin_atlas_region_name(const mn_skin_atlas *a, size_t i) {
  return i < a->n_regions ? a->regions[i].name : NULL;
}
const char *mn_skin_atlas_region_doc(const mn_skin_atlas *a, size_t i) {
  return i < a->n_regions ? a->regions[i].doc : NULL;
}

/* The region table: canonical name (non-empty, < 32 characters), ';'-separated aliases and a
 * doc line, the latter two cut to their buffers. a->names lists the names, NULL-terminated, for
 * suggestions. On failure the partial arrays stay in @p a for the caller to destroy. */
static int parse_regions(mn_skin_atlas *a, const mn_csv *c, mn_error *err) {
  int rc = MN_OK, cn, ca, cd;
  MN_TRY(mn_csv_require(c, "region", &cn, err));
  MN_TRY(mn_csv_require(c, "aliases", &ca, err));
  MN_TRY(mn_csv_require(c, "doc", &cd, err));
  a->regions = mn_calloc((size_t)c->nrows, sizeof *a->regions);
  a->names = mn_calloc((size_t)c->nrows + 1, sizeof *a->names);
  MN_CHECK(a->regions && a->names, err, MN_ENOMEM, "", "out of memory loading %s", c->name);
  for (int r = 0; r < c->nrows; r++) {
    atlas_region *g = &a->regions[r];
    const char *name = c->rows[r][cn];
    MN_CHECK(*name && strlen(name) < sizeof g->name, err, MN_EINPUT, "",
             "%s:%d: region name '%s' is empty or too long", c->name, c->lineno[r], name);
    snprintf(g->name, sizeof g->name, "%s", name);
    snprintf(g->aliases, sizeof g->aliases, "%s", c->rows[r][ca]);
    snprintf(g->doc, sizeof g->doc, "%s", c->rows[r][cd]);
    a->names[r] = g->name;
  }
  a->n_regions = (size_t)c->nrows;
cleanup:
  return rc;
}

static int known_region(const mn_skin_atlas *a, const char *name) {
  for (size_t i = 0; i < a->n_regions; i++)
    if (strcmp(a->regions[i].name, name) == 0) return 1;
  return 0;
}

/* Column indices of data/skin_layers.csv. */
typedef struct layer_cols {
  int region, sex, layer, t, sd, min, max, age, change, tag, source;
} layer_cols;

/* One row of the layer table into @p w: region (a known one, or * for any), sex (female, male
 * or *), layer SC/VE/PD/RD, thickness in (0, 5000) um with an optional SD and [min, max] (an
 * empty cell: the thickness itself), an optional age trend (with a reference age, the
 * fractional change per decade is required, within +-50 %), tag, and a source, which is
 * required. Every message names the table and line. */
static int parse_layer_row(const mn_skin_atlas *a, const mn_csv *c, const layer_cols *k, int r,
                           atlas_row *w, mn_error *err) {
  int rc = MN_OK;
  const char *region = c->rows[r][k->region], *sex = c->rows[r][k->sex];
  const char *layer = c->rows[r][k->layer];
  int line = c->lineno[r];
  MN_CHECK(strcmp(region, "*") == 0 || known_region(a, region), err, MN_EINPUT, "",
           "%s:%d: region '%s' is not in the region table", c->name, line, region);
  snprintf(w->region, sizeof w->region, "%s", region);
  if (strcmp(sex, "*") == 0)
    w->sex = -1;
  else if (strcasecmp(sex, "female") == 0)
    w->sex = MN_SEX_FEMALE;
  else if (strcasecmp(sex, "male") == 0)
    w->sex = MN_SEX_MALE;
  else {
    rc =
        MN_ERR(err, MN_EINPUT, "", "%s:%d: sex '%s' must be female, male or *", c->name, line, sex);
    goto cleanup;
  }
  w->layer = -1;
  for (int j = 0; j < ROW_LAYERS; j++)
    if (strcmp(layer, mn_layer_name(j)) == 0) w->layer = j;
  MN_CHECK(w->layer >= 0, err, MN_EINPUT, "", "%s:%d: layer '%s' must be SC, VE, PD or RD", c->name,
           line, layer);
  MN_TRY(mn_csv_double(c, r, k->t, &w->thickness_um, err));
  MN_CHECK(w->thickness_um > 0 && w->thickness_um < 5000, err, MN_EINPUT, "",
           "%s:%d: thickness_um = %g is outside (0, 5000)", c->name, line, w->thickness_um);
  w->sd_um = 0;
  if (c->rows[r][k->sd][0]) MN_TRY(mn_csv_double(c, r, k->sd, &w->sd_um, err));
  w->min_um = w->max_um = w->thickness_um;
  if (c->rows[r][k->min][0]) MN_TRY(mn_csv_double(c, r, k->min, &w->min_um, err));
  if (c->rows[r][k->max][0]) MN_TRY(mn_csv_double(c, r, k->max, &w->max_um, err));
  MN_CHECK(w->min_um <= w->thickness_um && w->thickness_um <= w->max_um, err, MN_EINPUT, "",
           "%s:%d: thickness_um = %g is not within [min_um, max_um] = [%g, %g]", c->name, line,
           w->thickness_um, w->min_um, w->max_um);
  w->ref_age_y = NAN;
  w->change_per_decade = 0;
  if (c->rows[r][k->age][0]) {
    MN_TRY(mn_csv_double(c, r, k->age, &w->ref_age_y, err));
    MN_TRY(mn_csv_double(c, r, k->change, &w->change_per_decade, err));
    MN_CHECK(fabs(w->change_per_decade) < 0.5, err, MN_EINPUT, "",
             "%s:%d: change_per_decade = %g is outside (-0.5, 0.5)", c->name, line,
             w->change_per_decade);
  }
  snprintf(w->tag, sizeof w->tag, "%s", c->rows[r][k->tag]);
  snprintf(w->source, sizeof w->source, "%s", c->rows[r][k->source]);
  MN_CHECK(w->source[0], err, MN_EINPUT, "", "%s:%d: every row needs a source", c->name, line);
cleanup:
  return rc;
}

/* Every column is required, even the optional ones (their cells may be empty). */
static int parse_layers(mn_skin_atlas *a, const mn_csv *c, mn_error *err) {
  int rc = MN_OK;
  layer_cols k;
  MN_TRY(mn_csv_require(c, "region", &k.region, err));
  MN_TRY(mn_csv_require(c, "sex", &k.sex, err));
  MN_TRY(mn_csv_require(c, "layer", &k.layer, err));
  MN_TRY(mn_csv_require(c, "thickness_um", &k.t, err));
  MN_TRY(mn_csv_require(c, "sd_um", &k.sd, err));
  MN_TRY(mn_csv_require(c, "min_um", &k.min, err));
  MN_TRY(mn_csv_require(c, "max_um", &k.max, err));
  MN_TRY(mn_csv_require(c, "ref_age_y", &k.age, err));
  MN_TRY(mn_csv_require(c, "change_per_decade", &k.change, err));
  MN_TRY(mn_csv_require(c, "tag", &k.tag, err));
  MN_TRY(mn_csv_require(c, "source", &k.source, err));
  a->rows = mn_calloc((size_t)c->nrows, sizeof *a->rows);
  MN_CHECK(a->rows, err, MN_ENOMEM, "", "out of memory loading %s", c->name);
  for (int r = 0; r < c->nrows; r++) MN_TRY(parse_layer_row(a, c, &k, r, &a->rows[r], err));
  a->n_rows = (size_t)c->nrows;
cleanup:
  return rc;
}

/* Regions first, because layer rows must name a known region. The tables are checked as a
 * whole by building every region for both sexes, so a missing row is found at load time, not
 * in the middle of a run. */
int mn_skin_atlas_parse(const char *layers_csv, size_t layers_len, const char *layers_name,
                        const char *regions_csv, size_t regions_len, const char *regions_name,
                        mn_skin_atlas **out, mn_error *err) {
  int rc = MN_OK;
  mn_csv lc = {0}, rcsv = {0};
  mn_skin_atlas *a = mn_calloc(1, sizeof *a);
  *out = NULL;
  MN_CHECK(a, err, MN_ENOMEM, "", "out of memory loading the anatomy atlas");
  MN_TRY(mn_csv_parse(regions_csv, regions_len, regions_name, &rcsv, err));
  MN_TRY(parse_regions(a, &rcsv, err));
  MN_TRY(mn_csv_parse(layers_csv, layers_len, layers_name, &lc, err));
  MN_TRY(parse_layers(a, &lc, err));
  /* every region must resolve every layer for both sexes: check by building each one */
  for (size_t i = 0; i < a->n_regions; i++) {
    for (int sex = 0; sex < 2; sex++) {
      mn_skin_params p = {.age_y = 40, .sex = sex, .fitzpatrick = 3};
      snprintf(p.region, sizeof p.region, "%s", a->regions[i].name);
      mn_skin s;
      MN_TRY(mn_skin_build(a, &p, &s, err));
    }
  }
  mn_csv_fini(&lc);
  mn_csv_fini(&rcsv);
  *out = a;
  return MN_OK;
cleanup:
  mn_csv_fini(&lc);
  mn_csv_fini(&rcsv);
  mn_skin_atlas_destroy(a);
  return rc;
}

int mn_skin_atlas_create(mn_skin_atlas **out, mn_error *err) {
  return mn_skin_atlas_parse(mn__data_skin_layers_csv, mn__data_skin_layers_csv_len,
                             "data/skin_layers.csv", mn__data_regions_csv, mn__data_regions_csv_len,
                             "data/regions.csv", out, err);
}
