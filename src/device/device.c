/* Resolved devices: settings checked against the catalogue entry, the needle pattern of the head
 * in its own frame, the effective depth (nominal x class ratio), the channel radius from the
 * needle taper and the geometric density of a pass. Pipeline: device, after skin; punctures.c
 * presses the pattern, course and plan use depths and densities.
 * Reference: docs/device-model.md ("Devices", "Depth and channel radius"). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "device_impl.h"

/* Keys of the case file's `device` section. depth_ratio's table range [0, 1] admits the 0 that
 * means "the class's value"; check_settings narrows a set ratio to [0.1, 1]. */
static const mn_config_desc device_table[] = {
    {"model", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "pen-12", offsetof(mn_device_params, model),
     sizeof(((mn_device_params *)0)->model), "catalogue id (see `mnsim device --list`)"},
    {"depth_mm", MN_CONFIG_DOUBLE, "mm", 1.0, 0.05, 3.5, NULL, NULL,
     offsetof(mn_device_params, depth_mm), sizeof(double),
     "nominal needle depth setting (rollers, stamps: needle length); within the device's range"},
    {"stroke_rate_hz", MN_CONFIG_DOUBLE, "1/s", 0, 0, 300, NULL, NULL,
     offsetof(mn_device_params, stroke_rate_hz), sizeof(double),
     "pen stroke rate; 0 = the cartridge's default; pens only"},
    {"depth_ratio", MN_CONFIG_DOUBLE, "", 0, 0, 1, NULL, NULL,
     offsetof(mn_device_params, depth_ratio), sizeof(double),
     "effective/nominal depth override in [0.1, 1]; 0 = the device class's sourced value"},
};

const mn_config_desc *mn_device_param_table(size_t *n) {
  *n = sizeof device_table / sizeof device_table[0];
  return device_table;
}

static const char *const dir_names[] = {"horizontal",   "vertical", "diagonal",
                                        "antidiagonal", "angle",    NULL};

/* Keys of one entry of `treatment.passes`. */
static const mn_config_desc pass_table[] = {
    {"direction", MN_CONFIG_ENUM, "", MN_DIR_HORIZONTAL, 0, 4, dir_names, NULL,
     offsetof(mn_pass_params, direction), sizeof(int),
     "stroke direction: horizontal (0 deg), vertical (90), diagonal (45), antidiagonal (135) or "
     "angle"},
    {"angle_deg", MN_CONFIG_DOUBLE, "deg", 0, -180, 180, NULL, NULL,
     offsetof(mn_pass_params, angle_deg), sizeof(double), "stroke angle when direction = angle"},
    {"speed_mm_per_s", MN_CONFIG_DOUBLE, "mm/s", 20, 1, 200, NULL, NULL,
     offsetof(mn_pass_params, speed_mm_per_s), sizeof(double),
     "hand speed along a stroke (no published value; 5-20 mm/s is our estimate)"},
    {"spacing_mm", MN_CONFIG_DOUBLE, "mm", 0, 0, 50, NULL, NULL,
     offsetof(mn_pass_params, spacing_mm), sizeof(double),
     "distance between neighbouring strokes; 0 = footprint width x (1 - overlap)"},
    {"overlap", MN_CONFIG_DOUBLE, "", 0, 0, 0.9, NULL, NULL, offsetof(mn_pass_params, overlap),
     sizeof(double), "fraction of the footprint shared by neighbouring strokes (and stamp steps)"},
    {"jitter_mm", MN_CONFIG_DOUBLE, "mm", 0.3, 0, 10, NULL, NULL,
     offsetof(mn_pass_params, jitter_mm), sizeof(double),
     "SD of the hand's position error per stamp (pens, stamps) or per stroke (rollers) [E]"},
    {"depth_mm", MN_CONFIG_DOUBLE, "mm", 0, 0, 3.5, NULL, NULL, offsetof(mn_pass_params, depth_mm),
     sizeof(double), "depth setting for this pass; 0 = device.depth_mm"},
};

const mn_config_desc *mn_pass_param_table(size_t *n) {
  *n = sizeof pass_table / sizeof pass_table[0];
  return pass_table;
}

/* Hexagonal lattice points sorted by distance from the origin (ties by angle, so the pattern is
 * deterministic); the n nearest form a disc cartridge. Distances closer than 1e-9 mm count as
 * ties, so rounding cannot reorder points of one lattice shell. */
typedef struct hex_pt {
  double x, y, r, a;
} hex_pt;

static int hex_cmp(const void *pa, const void *pb) {
  const hex_pt *a = pa, *b = pb;
  if (fabs(a->r - b->r) > 1e-9) return a->r < b->r ? -1 : 1;
  return (a->a > b->a) - (a->a < b->a);
}

/* The n points of a hexagonal lattice of spacing @p pitch nearest the head's centre. Candidates:
 * the (2k + 1)^2 points i a1 + j a2 with |i|, |j| <= k, a1 = (1, 0) pitch and
 * a2 = (1/2, sqrt(3)/2) pitch, a rhombus whose inscribed disc has radius k pitch sqrt(3)/2. With
 * k = ceil(sqrt(n)) + 2 that disc is wider than the one holding n lattice points (radius about
 * 0.53 sqrt(n) pitch), so the n nearest points are all among the candidates. */
static int disc_offsets(mn_device *d, int n, double pitch, mn_error *err) {
  int k = (int)ceil(sqrt((double)n)) + 2, m = (2 * k + 1) * (2 * k + 1);
  hex_pt *pts = mn_malloc_array((size_t)m, sizeof *pts);
  if (!pts) return MN_ERR(err, MN_ENOMEM, "", "out of memory building a needle pattern");
  int c = 0;
  for (int j = -k; j <= k; j++)
    for (int i = -k; i <= k; i++) {
      double x = pitch * (i + 0.5 * j), y = pitch * (sqrt(3.0) / 2.0) * j;
      pts[c++] = (hex_pt){x, y, hypot(x, y), atan2(y, x)};
    }
  qsort(pts, (size_t)c, sizeof *pts, hex_cmp);
  for (int q = 0; q < n; q++) {
    d->offsets_mm[q][0] = pts[q].x;
    d->offsets_mm[q][1] = pts[q].y;
  }
  mn_free(pts);
  return MN_OK;
}

/* Needle positions in the head frame ([0] along the stroke, [1] across), centred on the head,
 * and the head's swath (across the stroke) and step (along it). Grid: rows along the stroke, so
 * swath = cols pitch and step = rows pitch. Ring: needles evenly on a circle whose outer needle
 * edges reach the footprint (radius (footprint - d) / 2). Drums keep no offsets: punctures.c
 * walks their needle circles itself, with swath = drum width and step = circumference. */
static int build_offsets(mn_device *d, mn_error *err) {
  const mn_device_spec *s = &d->spec;
  if (s->layout == MN_LAYOUT_DRUM) {
    d->swath_mm = s->drum_width_mm;
    d->step_mm = M_PI * s->drum_diameter_mm;
    return MN_OK;
  }
  d->n_offsets = s->needles;
  d->offsets_mm = mn_malloc_array((size_t)s->needles, sizeof *d->offsets_mm);
  if (!d->offsets_mm) return MN_ERR(err, MN_ENOMEM, "", "out of memory building a needle pattern");
  switch (s->layout) {
    case MN_LAYOUT_GRID:
      for (int i = 0; i < s->rows; i++)
        for (int j = 0; j < s->cols; j++) {
          d->offsets_mm[i * s->cols + j][0] = (i - 0.5 * (s->rows - 1)) * s->pitch_mm;
          d->offsets_mm[i * s->cols + j][1] = (j - 0.5 * (s->cols - 1)) * s->pitch_mm;
        }
      d->swath_mm = s->cols * s->pitch_mm;
      d->step_mm = s->rows * s->pitch_mm;
      return MN_OK;
    case MN_LAYOUT_RING: {
      double r = 0.5 * (s->footprint_mm - s->needle_diameter_mm);
      for (int q = 0; q < s->needles; q++) {
        d->offsets_mm[q][0] = r * cos(2 * M_PI * q / s->needles);
        d->offsets_mm[q][1] = r * sin(2 * M_PI * q / s->needles);
      }
      d->swath_mm = d->step_mm = s->footprint_mm;
      return MN_OK;
    }
    default:
      d->swath_mm = d->step_mm = s->footprint_mm;
      return disc_offsets(d, s->needles, s->pitch_mm, err);
  }
}

void mn_device_fini(mn_device *d) {
  if (!d) return;
  mn_free(d->offsets_mm);
  d->offsets_mm = NULL;
  d->n_offsets = 0;
}

/* Settings against the entry: depth within the entry's range (never below the table's 0.05 mm),
 * stroke rate only for pens and within the cartridge's range, ratio override within [0.1, 1].
 * Sets the rate and ratio in use (d->rate_hz, d->depth_ratio). */
static int check_settings(mn_device *d, mn_error *err) {
  const mn_device_spec *s = &d->spec;
  const mn_device_params *p = &d->params;
  double lo = s->depth_mm_min > 0.05 ? s->depth_mm_min : 0.05;
  if (p->depth_mm < lo || p->depth_mm > s->depth_mm_max)
    return MN_ERR(err, MN_ERANGE, "device.depth_mm",
                  "device.depth_mm = %g is outside the range of %s [%g, %g] mm", p->depth_mm, s->id,
                  lo, s->depth_mm_max);
  if (s->cls != MN_DEVICE_PEN && p->stroke_rate_hz != 0)
    return MN_ERR(err, MN_EINPUT, "device.stroke_rate_hz",
                  "device.stroke_rate_hz = %g is for pens; %s is a %s (remove the key)",
                  p->stroke_rate_hz, s->id, mn_device_class_name(s->cls));
  d->rate_hz = p->stroke_rate_hz > 0 ? p->stroke_rate_hz : s->rate_hz_default;
  if (s->cls == MN_DEVICE_PEN && (d->rate_hz < s->rate_hz_min || d->rate_hz > s->rate_hz_max))
    return MN_ERR(err, MN_ERANGE, "device.stroke_rate_hz",
                  "device.stroke_rate_hz = %g is outside the range of %s [%g, %g] 1/s", d->rate_hz,
                  s->id, s->rate_hz_min, s->rate_hz_max);
  if (p->depth_ratio != 0 && (p->depth_ratio < 0.1 || p->depth_ratio > 1))
    return MN_ERR(err, MN_ERANGE, "device.depth_ratio",
                  "device.depth_ratio = %g is outside [0.1, 1] (0 = the %s class value %g)",
                  p->depth_ratio, mn_device_class_name(s->cls), d->cls.depth_ratio);
  d->depth_ratio = p->depth_ratio > 0 ? p->depth_ratio : d->cls.depth_ratio;
  return MN_OK;
}

int mn_device_init_at(mn_device *d, const mn_device_catalogue *c, const char *model,
                      double depth_mm, mn_error *err) {
  mn_device_params p;
  mn_config_defaults(device_table, sizeof device_table / sizeof device_table[0], &p);
  snprintf(p.model, sizeof p.model, "%s", model);
  p.depth_mm = depth_mm;
  return mn_device_init(d, c, &p, err);
}

/* The entry and its class are copied into the device, so the catalogue may go afterwards. The
 * table's ranges are checked before the entry's own (check_settings). */
int mn_device_init(mn_device *d, const mn_device_catalogue *c, const mn_device_params *p,
                   mn_error *err) {
  int rc = MN_OK;
  size_t nt;
  const mn_config_desc *tab = mn_device_param_table(&nt);
  const mn_device_spec *s;
  memset(d, 0, sizeof *d);
  MN_TRY(mn_config_check(tab, nt, p, "device", err));
  MN_TRY(mn_device_catalogue_find(c, p->model, &s, err));
  d->spec = *s;
  d->cls = *mn_device_catalogue_class(c, s->cls);
  d->params = *p;
  MN_TRY(check_settings(d, err));
  MN_TRY(build_offsets(d, err));
  return MN_OK;
cleanup:
  mn_device_fini(d);
  return rc;
}

double mn_device_depth_um(const mn_device *d, double depth_mm) {
  return 1000.0 * depth_mm * d->depth_ratio;
}

double mn_device_pass_depth_um(const mn_device *d, const mn_pass_params *p) {
  return mn_device_depth_um(d, p->depth_mm > 0 ? p->depth_mm : d->params.depth_mm);
}

/* r(h) = r_t + (R - r_t) min(1, h / L_t), h the distance from the tip, R the shaft radius and
 * L_t the taper length: a cone with a rounded tip on a cylindrical shaft. injury.c's
 * taper_height is its inverse. */
double mn_device_channel_radius_um(const mn_device *d, double depth_um, double z_um) {
  double h = depth_um - z_um; /* distance from the needle tip */
  if (h <= 0) return 0;
  double R = 500.0 * d->spec.needle_diameter_mm, rt = d->spec.tip_radius_um;
  double taper = 1000.0 * d->spec.tip_length_mm;
  return rt + (R - rt) * (h < taper ? h / taper : 1.0);
}

double mn_device_stroke_spacing_mm(const mn_device *d, const mn_pass_params *p) {
  return p->spacing_mm > 0 ? p->spacing_mm : d->swath_mm * (1.0 - p->overlap);
}

/* Interior density per pass, strokes s apart (docs/device-model.md "Passes"): a pen presses its
 * n needles every v / f mm of hand travel, n f / (v s); each of a roller's N needles touches once
 * per circumference, N / (pi D s); a stamp presses n needles every step (1 - overlap),
 * n / (step (1 - overlap) s). Per mm2 times 100 gives per cm2. */
double mn_device_pass_density_cm2(const mn_device *d, const mn_pass_params *p) {
  double s = mn_device_stroke_spacing_mm(d, p), per_mm2;
  switch (d->spec.cls) {
    case MN_DEVICE_PEN:
      per_mm2 = d->spec.needles * d->rate_hz / (p->speed_mm_per_s * s);
      break;
    case MN_DEVICE_ROLLER:
      per_mm2 = d->spec.needles / (d->step_mm * s);
      break;
    default:
      per_mm2 = d->spec.needles / (d->step_mm * (1.0 - p->overlap) * s);
      break;
  }
  return 100.0 * per_mm2;
}

void mn__pass_direction(const mn_pass_params *p, double u[2]) {
  static const double deg[] = {0, 90, 45, 135};
  double a = (p->direction == MN_DIR_ANGLE ? p->angle_deg : deg[p->direction]) * M_PI / 180.0;
  u[0] = cos(a);
  u[1] = sin(a);
  if (fabs(u[0]) < 1e-15) u[0] = 0; /* exact axes for 90 degrees */
  if (fabs(u[1]) < 1e-15) u[1] = 0;
}
