/* Lesions as local dermal deficits: atrophic acne scars by Jacob et al. 2001 (icepick V-shaped,
 * boxcar U-shaped with vertical edges, rolling M-shaped undulations) and linear wrinkles.
 * Pipeline: skin; grid carves them into the layer map, injury starts channels at the sunken
 * surface. Widths and depths: Jacob CI, Dover JS, Kaminer MS, J Am Acad Dermatol 2001;45:109-117,
 * as tabulated by Fabbrocini et al. 2010 Dermatol Res Pract 893080 Table 1. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "skin_impl.h"

static const char *const type_names[] = {"icepick", "boxcar", "rolling", "wrinkle", NULL};

const char *mn_lesion_type_name(int t) {
  return t >= 0 && t < MN_LESION_TYPE_COUNT ? type_names[t] : "?";
}

/* Keys of one entry of skin.lesions[]; positions in the treatment frame, like the outline. */
static const mn_config_desc lesion_table[] = {
    {"type", MN_CONFIG_ENUM, "", MN_LESION_BOXCAR, 0, 3, type_names, NULL,
     offsetof(mn_lesion, type), sizeof(int), "icepick, boxcar, rolling (Jacob 2001) or wrinkle"},
    {"x_mm", MN_CONFIG_DOUBLE, "mm", 0, -500, 500, NULL, NULL, offsetof(mn_lesion, x_mm),
     sizeof(double), "centre, treatment frame"},
    {"y_mm", MN_CONFIG_DOUBLE, "mm", 0, -500, 500, NULL, NULL, offsetof(mn_lesion, y_mm),
     sizeof(double), "centre, treatment frame"},
    {"width_mm", MN_CONFIG_DOUBLE, "mm", 2.5, 0.05, 20, NULL, NULL, offsetof(mn_lesion, width_mm),
     sizeof(double), "scar diameter or wrinkle furrow width"},
    {"depth_mm", MN_CONFIG_DOUBLE, "mm", 0.3, 0.01, 3, NULL, NULL, offsetof(mn_lesion, depth_mm),
     sizeof(double), "deficit depth below the surrounding surface"},
    {"length_mm", MN_CONFIG_DOUBLE, "mm", 20, 0.5, 200, NULL, NULL, offsetof(mn_lesion, length_mm),
     sizeof(double), "wrinkle length (scars: unused)"},
    {"angle_deg", MN_CONFIG_DOUBLE, "deg", 0, -180, 180, NULL, NULL, offsetof(mn_lesion, angle_deg),
     sizeof(double), "wrinkle direction from the x axis"},
};

const mn_config_desc *mn_lesion_param_table(size_t *n) {
  *n = sizeof lesion_table / sizeof lesion_table[0];
  return lesion_table;
}

/* Beyond the table's ranges, two checks that need the skin or the type: a dermal deficit must
 * lie within the patient's dermis (PD + RD), and an icepick scar may be at most 3 mm wide
 * (Jacob: < 2 mm; mn_lesion_describe flags 2-3 mm as unusual). */
int mn_lesion_check(const mn_lesion *l, const mn_skin *s, const char *path, mn_error *err) {
  size_t n;
  const mn_config_desc *tab = mn_lesion_param_table(&n);
  int rc = mn_config_check(tab, n, l, path, err);
  if (rc) return rc;
  double dermis_mm = (s->thickness_um[MN_LAYER_PD] + s->thickness_um[MN_LAYER_RD]) / 1000.0;
  char key[200];
  snprintf(key, sizeof key, "%s.depth_mm", path);
  if (l->depth_mm > dermis_mm)
    return MN_ERR(err, MN_ERANGE, key,
                  "%s = %g is deeper than the %s dermis (%.2f mm); a dermal deficit must lie "
                  "within [0.01, %.2f] mm",
                  key, l->depth_mm, s->region, dermis_mm, dermis_mm);
  snprintf(key, sizeof key, "%s.width_mm", path);
  if (l->type == MN_LESION_ICEPICK && l->width_mm > 3.0)
    return MN_ERR(err, MN_ERANGE, key,
                  "%s = %g is outside [0.05, 3] mm for an icepick scar (icepick scars are "
                  "narrower than 2 mm, Jacob 2001): describe wider scars as boxcar or rolling",
                  key, l->width_mm);
  return MN_OK;
}

/* Distance from (x, y) to the lesion's axis: the centre for scars, the centre segment for
 * wrinkles (round-capped). */
static double axis_distance(const mn_lesion *l, double x, double y) {
  double dx = x - l->x_mm, dy = y - l->y_mm;
  if (l->type != MN_LESION_WRINKLE) return hypot(dx, dy);
  double a = l->angle_deg * M_PI / 180.0, ux = cos(a), uy = sin(a);
  double t = dx * ux + dy * uy, half = 0.5 * l->length_mm;
  if (t > half) t = half;
  if (t < -half) t = -half;
  return hypot(dx - t * ux, dy - t * uy);
}

/* Profiles, r = distance from the axis, a = half width, D = depth:
 *   icepick (V):   D (1 - r/a)
 *   boxcar (U):    D, falling linearly to 0 over the outer 15 % of the radius (near-vertical walls)
 *   rolling (M):   D cos^2(pi r / (2a)), a smooth undulation
 *   wrinkle:       D (1 - r/a) across the furrow, a V-shaped crease */
double mn_lesion_deficit_um(const mn_lesion *l, double x_mm, double y_mm) {
  double a = 0.5 * l->width_mm, r = axis_distance(l, x_mm, y_mm);
  if (!(a > 0) || r >= a) return 0.0;
  double D = 1000.0 * l->depth_mm, q = r / a;
  switch (l->type) {
    case MN_LESION_ICEPICK:
    case MN_LESION_WRINKLE:
      return D * (1.0 - q);
    case MN_LESION_BOXCAR:
      return q <= 0.85 ? D : D * (1.0 - q) / 0.15;
    case MN_LESION_ROLLING: {
      double c = cos(0.5 * M_PI * q);
      return D * c * c;
    }
  }
  return 0.0;
}

/* One line for reports, with a note when a scar's width is outside the range Jacob 2001 gives
 * for its type (icepick < 2 mm, boxcar 1.5-4 mm, rolling > 4-5 mm). */
void mn_lesion_describe(const mn_lesion *l, char *buf, size_t size) {
  const char *note = "";
  switch (l->type) {
    case MN_LESION_ICEPICK:
      if (l->width_mm >= 2.0) note = "; wider than the usual < 2 mm";
      snprintf(buf, size, "icepick scar, %.2f mm wide, %.2f mm deep (V-shaped)%s", l->width_mm,
               l->depth_mm, note);
      break;
    case MN_LESION_BOXCAR:
      if (l->width_mm < 1.5 || l->width_mm > 4.0) note = "; outside the usual 1.5-4 mm";
      snprintf(buf, size, "boxcar scar, %s (%s), %.2f mm wide, %.2f mm deep%s",
               l->depth_mm > 0.5 ? "deep" : "shallow",
               l->depth_mm > 0.5 ? "> 0.5 mm" : "0.1-0.5 mm", l->width_mm, l->depth_mm, note);
      break;
    case MN_LESION_ROLLING:
      if (l->width_mm < 4.0) note = "; narrower than the usual > 4-5 mm";
      snprintf(buf, size, "rolling scar, %.2f mm wide, %.2f mm deep (M-shaped)%s", l->width_mm,
               l->depth_mm, note);
      break;
    default:
      snprintf(buf, size, "wrinkle, %.1f mm long, %.2f mm wide, %.2f mm deep at %.0f deg",
               l->length_mm, l->width_mm, l->depth_mm, l->angle_deg);
  }
}
