/* Device catalogue: pens, rollers and stamps with their needle geometry, and each class's
 * penetration model (effective/nominal depth ratio, its range and puncture-to-puncture CV), read
 * from data/devices.csv and data/device_classes.csv (compiled in) or from user tables.
 * Pipeline: device; mn_device_init resolves settings against it. Sources: every row names its
 * own (FDA 510(k) records, Schwarz & Laaff 2011, ...). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "device_impl.h"

static const char *const class_names[] = {"pen", "roller", "stamp", NULL};
static const char *const layout_names[] = {"grid", "ring", "disc", "drum", NULL};

const char *mn_device_class_name(int c) {
  return c >= 0 && c < MN_DEVICE_CLASS_COUNT ? class_names[c] : "?";
}
const char *mn_layout_name(int l) {
  return l >= 0 && l <= MN_LAYOUT_DRUM ? layout_names[l] : "?";
}

/* Index of @p s in a NULL-terminated name list, any case; -1 when absent. */
static int name_index(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++)
    if (strcasecmp(names[i], s) == 0) return i;
  return -1;
}

void mn_device_catalogue_destroy(mn_device_catalogue *c) {
  if (!c) return;
  mn_free(c->specs);
  mn_free(c->ids);
  mn_free(c);
}

size_t mn_device_catalogue_count(const mn_device_catalogue *c) {
  return c->n;
}
const mn_device_spec *mn_device_catalogue_get(const mn_device_catalogue *c, size_t i) {
  return i < c->n ? &c->specs[i] : NULL;
}
const mn_device_class_info *mn_device_catalogue_class(const mn_device_catalogue *c, int cls) {
  return cls >= 0 && cls < MN_DEVICE_CLASS_COUNT ? &c->classes[cls] : NULL;
}

/* Ids match in any case. The unknown-id message lists the known ids, cut at 1024 characters. */
int mn_device_catalogue_find(const mn_device_catalogue *c, const char *id,
                             const mn_device_spec **out, mn_error *err) {
  for (size_t i = 0; i < c->n; i++)
    if (strcasecmp(c->specs[i].id, id) == 0) return *out = &c->specs[i], MN_OK;
  *out = NULL;
  const char *near = mn_nearest(id, c->ids, c->n);
  char list[1024];
  size_t used = 0;
  for (size_t i = 0; i < c->n && used < sizeof list; i++)
    used +=
        (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", c->specs[i].id);
  if (near)
    return MN_ERR(err, MN_EINPUT, "device.model",
                  "device.model = '%s' is not in the catalogue; did you mean '%s'? (known: %s)", id,
                  near, list);
  return MN_ERR(err, MN_EINPUT, "device.model",
                "device.model = '%s' is not in the catalogue (known: %s)", id, list);
}

/* Numeric column reader: an empty cell is 0. */
static int num(const mn_csv *t, int r, const char *col, double *v, mn_error *err) {
  int j, rc = mn_csv_require(t, col, &j, err);
  if (rc) return rc;
  if (!t->rows[r][j][0]) return *v = 0, MN_OK;
  return mn_csv_double(t, r, j, v, err);
}

/* A count column: an integer in [0, 100000] (an empty cell is 0). Read as a double and checked
 * before the conversion: an out-of-range count converted to int was undefined behaviour (a
 * fuzzing find). */
static int count(const mn_csv *t, int r, const char *col, int *out, mn_error *err) {
  double v;
  int rc = num(t, r, col, &v, err);
  if (rc) return rc;
  if (!(v >= 0 && v <= 100000 && v == floor(v)))
    return MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: column '%s' = %g must be a whole number in [0, 100000]", t->name,
                  t->lineno[r], col, v);
  *out = (int)v;
  return MN_OK;
}

/* A text column into @p dst; a cell too long for it is an error rather than cut, so that an id or
 * a source is never stored mangled. */
static int text(const mn_csv *t, int r, const char *col, char *dst, size_t size, mn_error *err) {
  int j, rc = mn_csv_require(t, col, &j, err);
  if (rc) return rc;
  if (strlen(t->rows[r][j]) >= size)
    return MN_ERR(err, MN_EINPUT, "", "%s:%d: column '%s' is longer than %zu characters", t->name,
                  t->lineno[r], col, size - 1);
  snprintf(dst, size, "%s", t->rows[r][j]);
  return MN_OK;
}

/* Consistency of one entry: counts match the layout, ranges are ordered and positive. The first
 * rule that fails is reported; rows x cols is compared as a double so the product cannot
 * overflow. */
static int check_spec(const mn_csv *t, int r, const mn_device_spec *s, mn_error *err) {
  int line = t->lineno[r];
  const char *why = NULL;
  if (s->needles < 1 || s->needles > 100000)
    why = "needles must be in [1, 100000]";
  else if ((s->layout == MN_LAYOUT_GRID || s->layout == MN_LAYOUT_DRUM) &&
           (double)s->rows * s->cols != s->needles)
    why = "rows x cols must equal needles";
  else if (s->layout == MN_LAYOUT_DRUM &&
           (s->cls != MN_DEVICE_ROLLER || s->drum_diameter_mm <= 0 || s->drum_width_mm <= 0))
    why = "a drum layout needs class roller and a positive drum diameter and width";
  else if (s->cls == MN_DEVICE_ROLLER && s->layout != MN_LAYOUT_DRUM)
    why = "rollers need layout drum";
  else if ((s->layout == MN_LAYOUT_GRID || s->layout == MN_LAYOUT_DISC) && s->pitch_mm <= 0)
    why = "pitch_mm must be positive";
  else if ((s->layout == MN_LAYOUT_RING || s->layout == MN_LAYOUT_DISC) && s->footprint_mm <= 0)
    why = "footprint_mm must be positive";
  else if (s->cls == MN_DEVICE_PEN &&
           !(s->rate_hz_min > 0 && s->rate_hz_min <= s->rate_hz_default &&
             s->rate_hz_default <= s->rate_hz_max))
    why = "a pen needs 0 < rate_hz_min <= rate_hz_default <= rate_hz_max";
  else if (!(s->depth_mm_min >= 0 && s->depth_mm_min <= s->depth_mm_max && s->depth_mm_max <= 5))
    why = "need 0 <= depth_mm_min <= depth_mm_max <= 5";
  else if (!(s->needle_diameter_mm > 0 && s->tip_length_mm > 0 && s->tip_radius_um > 0 &&
             s->tip_radius_um < 500 * s->needle_diameter_mm))
    why =
        "needle diameter, tip length and tip radius must be positive, tip radius below the shaft's";
  else if (!s->source[0])
    why = "every entry needs a source";
  if (why) return MN_ERR(err, MN_EINPUT, "", "%s:%d: device '%s': %s", t->name, line, s->id, why);
  return MN_OK;
}

/* One entry from row @p r. Columns are looked up by name for each cell: the tables are small,
 * and a missing column is reported by name. Empty numeric cells are 0 and left to check_spec. */
static int parse_spec(const mn_csv *t, int r, mn_device_spec *s, mn_error *err) {
  int rc = MN_OK;
  char cls[16], layout[16];
  MN_TRY(text(t, r, "id", s->id, sizeof s->id, err));
  MN_TRY(text(t, r, "name", s->name, sizeof s->name, err));
  MN_TRY(text(t, r, "class", cls, sizeof cls, err));
  MN_TRY(text(t, r, "layout", layout, sizeof layout, err));
  s->cls = name_index(class_names, cls);
  s->layout = name_index(layout_names, layout);
  MN_CHECK(s->cls >= 0, err, MN_EINPUT, "", "%s:%d: class '%s' must be pen, roller or stamp",
           t->name, t->lineno[r], cls);
  MN_CHECK(s->layout >= 0, err, MN_EINPUT, "",
           "%s:%d: layout '%s' must be grid, ring, disc or drum", t->name, t->lineno[r], layout);
  MN_TRY(count(t, r, "needles", &s->needles, err));
  MN_TRY(count(t, r, "rows", &s->rows, err));
  MN_TRY(count(t, r, "cols", &s->cols, err));
  MN_TRY(num(t, r, "pitch_mm", &s->pitch_mm, err));
  MN_TRY(num(t, r, "footprint_mm", &s->footprint_mm, err));
  MN_TRY(num(t, r, "drum_diameter_mm", &s->drum_diameter_mm, err));
  MN_TRY(num(t, r, "drum_width_mm", &s->drum_width_mm, err));
  MN_TRY(num(t, r, "rate_hz_min", &s->rate_hz_min, err));
  MN_TRY(num(t, r, "rate_hz_max", &s->rate_hz_max, err));
  MN_TRY(num(t, r, "rate_hz_default", &s->rate_hz_default, err));
  MN_TRY(num(t, r, "depth_mm_min", &s->depth_mm_min, err));
  MN_TRY(num(t, r, "depth_mm_max", &s->depth_mm_max, err));
  MN_TRY(num(t, r, "needle_diameter_mm", &s->needle_diameter_mm, err));
  MN_TRY(num(t, r, "tip_length_mm", &s->tip_length_mm, err));
  MN_TRY(num(t, r, "tip_radius_um", &s->tip_radius_um, err));
  MN_TRY(text(t, r, "tag", s->tag, sizeof s->tag, err));
  MN_TRY(text(t, r, "source", s->source, sizeof s->source, err));
  MN_TRY(check_spec(t, r, s, err));
cleanup:
  return rc;
}

/* The class table: one row per class with 0 < ratio_min <= depth_ratio <= ratio_max <= 1 and
 * depth_cv in [0, 0.5); every class needs a row. A repeated class row replaces the earlier one. */
static int parse_classes(mn_device_catalogue *c, const mn_csv *t, mn_error *err) {
  int rc = MN_OK, seen[MN_DEVICE_CLASS_COUNT] = {0};
  for (int r = 0; r < t->nrows; r++) {
    char cls[16];
    MN_TRY(text(t, r, "class", cls, sizeof cls, err));
    int k = name_index(class_names, cls);
    MN_CHECK(k >= 0, err, MN_EINPUT, "", "%s:%d: class '%s' must be pen, roller or stamp", t->name,
             t->lineno[r], cls);
    mn_device_class_info *ci = &c->classes[k];
    ci->cls = k;
    MN_TRY(num(t, r, "depth_ratio", &ci->depth_ratio, err));
    MN_TRY(num(t, r, "ratio_min", &ci->ratio_min, err));
    MN_TRY(num(t, r, "ratio_max", &ci->ratio_max, err));
    MN_TRY(num(t, r, "depth_cv", &ci->depth_cv, err));
    MN_TRY(num(t, r, "lumen_ratio", &ci->lumen_ratio, err));
    MN_TRY(text(t, r, "tag", ci->tag, sizeof ci->tag, err));
    MN_TRY(text(t, r, "source", ci->source, sizeof ci->source, err));
    MN_CHECK(0 < ci->ratio_min && ci->ratio_min <= ci->depth_ratio &&
                 ci->depth_ratio <= ci->ratio_max && ci->ratio_max <= 1 && ci->depth_cv >= 0 &&
                 ci->depth_cv < 0.5 && ci->lumen_ratio > 0 && ci->lumen_ratio <= 1,
             err, MN_EINPUT, "",
             "%s:%d: need 0 < ratio_min <= depth_ratio <= ratio_max <= 1, depth_cv in [0, 0.5) and "
             "lumen_ratio in (0, 1]",
             t->name, t->lineno[r]);
    seen[k] = 1;
  }
  for (int k = 0; k < MN_DEVICE_CLASS_COUNT; k++)
    MN_CHECK(seen[k], err, MN_EINPUT, "", "%s: no row for class '%s'", t->name, class_names[k]);
cleanup:
  return rc;
}

/* Classes first, then the entries; ids are unique ignoring case, as mn_device_catalogue_find
 * matches them. c->ids lists the ids (NULL-terminated) for suggestions. */
int mn_device_catalogue_parse(const char *devices_csv, size_t devices_len, const char *devices_name,
                              const char *classes_csv, size_t classes_len, const char *classes_name,
                              mn_device_catalogue **out, mn_error *err) {
  int rc = MN_OK;
  mn_csv dt = {0}, ct = {0};
  mn_device_catalogue *c = mn_calloc(1, sizeof *c);
  *out = NULL;
  MN_CHECK(c, err, MN_ENOMEM, "", "out of memory loading the device catalogue");
  MN_TRY(mn_csv_parse(classes_csv, classes_len, classes_name, &ct, err));
  MN_TRY(parse_classes(c, &ct, err));
  MN_TRY(mn_csv_parse(devices_csv, devices_len, devices_name, &dt, err));
  c->specs = mn_calloc((size_t)dt.nrows, sizeof *c->specs);
  c->ids = mn_calloc((size_t)dt.nrows + 1, sizeof *c->ids);
  MN_CHECK(c->specs && c->ids, err, MN_ENOMEM, "", "out of memory loading %s", dt.name);
  for (int r = 0; r < dt.nrows; r++) {
    MN_TRY(parse_spec(&dt, r, &c->specs[r], err));
    for (int q = 0; q < r; q++)
      MN_CHECK(strcasecmp(c->specs[q].id, c->specs[r].id) != 0, err, MN_EINPUT, "",
               "%s:%d: duplicate id '%s'", dt.name, dt.lineno[r], c->specs[r].id);
    c->ids[r] = c->specs[r].id;
  }
  c->n = (size_t)dt.nrows;
  mn_csv_fini(&dt);
  mn_csv_fini(&ct);
  *out = c;
  return MN_OK;
cleanup:
  mn_csv_fini(&dt);
  mn_csv_fini(&ct);
  mn_device_catalogue_destroy(c);
  return rc;
}

int mn_device_catalogue_create(mn_device_catalogue **out, mn_error *err) {
  return mn_device_catalogue_parse(mn__data_devices_csv, mn__data_devices_csv_len,
                                   "data/devices.csv", mn__data_device_classes_csv,
                                   mn__data_device_classes_csv_len, "data/device_classes.csv", out,
                                   err);
}
