/* Treatment region: the polygon outline in mm (treatment frame) - area, inside test, validation,
 * and the clipping of stroke lines to the outline. Pipeline: device; punctures.c lays strokes
 * with it, stats.c and the density map test points against it. References: the shoelace
 * formula; W. R. Franklin's pnpoly crossing test (even-odd rule). */
#include <math.h>
#include <stdlib.h>

#include "device_impl.h"

/* Shoelace formula, 1/2 |sum x_i y_{i+1} - x_{i+1} y_i|, in mm2 / 100 = cm2; either orientation. */
double mn_treatment_area_cm2(const mn_treatment *t) {
  double a = 0;
  for (int i = 0, n = t->n_outline; i < n; i++) {
    const double *p = t->outline_mm[i], *q = t->outline_mm[(i + 1) % n];
    a += p[0] * q[1] - q[0] * p[1];
  }
  return fabs(0.5 * a) / 100.0;
}

/* Franklin's pnpoly: count the edges that a ray from (x, y) towards +x crosses; odd = inside.
 * The half-open test (a[1] > y) != (b[1] > y) counts a vertex on the ray once and skips
 * horizontal edges, and it guards the division. A point exactly on an edge may fall either
 * way. */
int mn_treatment_contains(const mn_treatment *t, double x, double y) {
  int in = 0;
  for (int i = 0, j = t->n_outline - 1; i < t->n_outline; j = i++) {
    const double *a = t->outline_mm[i], *b = t->outline_mm[j];
    if ((a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0]) in = !in;
  }
  return in;
}

/* z of (a - o) x (b - o): > 0 when o, a, b turn counter-clockwise, 0 when collinear. */
static double cross(const double *o, const double *a, const double *b) {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/* Proper intersection of segments ab and cd (shared endpoints of neighbouring edges excluded):
 * each segment's ends lie strictly on opposite sides of the other. Touching and collinear
 * overlaps do not count. */
static int segments_cross(const double *a, const double *b, const double *c, const double *d) {
  double d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

/* Collinear segments ab and cd that share a stretch of positive length (an outline that doubles
 * back on itself, or is traced twice): both ends of one on the other's line, and their
 * projections on ab overlapping by more than a point. */
static int segments_overlap(const double *a, const double *b, const double *c, const double *d) {
  if (cross(a, b, c) != 0 || cross(a, b, d) != 0) return 0;
  double ux = b[0] - a[0], uy = b[1] - a[1], len2 = ux * ux + uy * uy;
  if (len2 == 0) return 0;
  double tc = ((c[0] - a[0]) * ux + (c[1] - a[1]) * uy) / len2;
  double td = ((d[0] - a[0]) * ux + (d[1] - a[1]) * uy) / len2;
  double lo = fmax(0, fmin(tc, td)), hi = fmin(1, fmax(tc, td));
  return hi - lo > 1e-12;
}

/* A point listed twice, other than a closing point equal to the first or a repeated neighbour:
 * the outline touches or retraces itself, which the crossing test cannot see. */
static int repeated_point(const mn_treatment *t, int *pi, int *pj) {
  int n = t->n_outline;
  for (int i = 0; i < n; i++)
    for (int j = i + 2; j < n; j++) {
      if (i == 0 && j == n - 1) continue;
      const double *a = t->outline_mm[i], *b = t->outline_mm[j];
      if (a[0] == b[0] && a[1] == b[1]) return *pi = i, *pj = j, 1;
    }
  return 0;
}

/* Self-intersection by testing every pair of non-adjacent edges, O(n^2) for at most 256
 * vertices. The smallest area, 1e-4 cm2, is 0.01 mm2. */
int mn_treatment_check(const mn_treatment *t, mn_error *err) {
  int n = t->n_outline;
  if (n < 3 || n > MN_MAX_OUTLINE)
    return MN_ERR(err, MN_EINPUT, "treatment.outline_mm",
                  "treatment.outline_mm has %d points; a polygon needs 3 to %d", n, MN_MAX_OUTLINE);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 2; k++)
      if (!isfinite(t->outline_mm[i][k]) || fabs(t->outline_mm[i][k]) > 500) {
        char key[64];
        snprintf(key, sizeof key, "treatment.outline_mm[%d]", i);
        return MN_ERR(err, MN_ERANGE, key, "%s = (%g, %g) is outside [-500, 500] mm", key,
                      t->outline_mm[i][0], t->outline_mm[i][1]);
      }
  int pi, pj;
  if (repeated_point(t, &pi, &pj))
    return MN_ERR(err, MN_EINPUT, "treatment.outline_mm",
                  "treatment.outline_mm lists the point (%g, %g) twice (points %d and %d): the "
                  "outline touches or retraces itself; list each point once, in order around the "
                  "region",
                  t->outline_mm[pi][0], t->outline_mm[pi][1], pi, pj);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (segments_overlap(t->outline_mm[i], t->outline_mm[(i + 1) % n], t->outline_mm[j],
                           t->outline_mm[(j + 1) % n]))
        return MN_ERR(err, MN_EINPUT, "treatment.outline_mm",
                      "treatment.outline_mm runs back over itself (edges %d-%d and %d-%d overlap); "
                      "list the points in order around the region",
                      i, (i + 1) % n, j, (j + 1) % n);
  for (int i = 0; i < n; i++)
    for (int j = i + 2; j < n; j++) {
      if (i == 0 && j == n - 1) continue; /* neighbours through the closing edge */
      if (segments_cross(t->outline_mm[i], t->outline_mm[(i + 1) % n], t->outline_mm[j],
                         t->outline_mm[(j + 1) % n]))
        return MN_ERR(err, MN_EINPUT, "treatment.outline_mm",
                      "treatment.outline_mm crosses itself (edge %d-%d meets edge %d-%d); list the "
                      "points in order around the region",
                      i, (i + 1) % n, j, (j + 1) % n);
    }
  double area = mn_treatment_area_cm2(t);
  if (!(area >= 1e-4))
    return MN_ERR(err, MN_EINPUT, "treatment.outline_mm",
                  "treatment.outline_mm encloses %g cm2; the region must be at least 0.01 mm2",
                  area);
  for (int p = 0; p < t->n_passes; p++) {
    const mn_pass_params *q = &t->passes[p];
    if (q->direction == MN_DIR_ANGLE || q->angle_deg == 0) continue;
    char key[64];
    snprintf(key, sizeof key, "treatment.passes[%d].angle_deg", p);
    return MN_ERR(err, MN_EINPUT, key,
                  "%s = %g is set but direction is not 'angle'; set direction: angle or remove "
                  "angle_deg",
                  key, q->angle_deg);
  }
  if (t->n_passes < 1 || t->n_passes > MN_MAX_PASSES)
    return MN_ERR(err, MN_EINPUT, "treatment.passes",
                  "treatment.passes has %d passes; allowed 1 to %d", t->n_passes, MN_MAX_PASSES);
  return MN_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Each edge that the line crosses gives one parameter t: the edge ends' signed distances from
 * the line (normal (-u_y, u_x)) have opposite signs, and the crossing interpolates between them.
 * Sorted, consecutive pairs of t bound the inside segments (even-odd rule). A line meets an
 * n-gon at most n times, so ts[] cannot overflow once the outline has been checked. */
int mn__clip_line(const mn_treatment *t, const double p[2], const double u[2], mn__segment *seg,
                  int cap) {
  double ts[MN_MAX_OUTLINE];
  int m = 0, n = t->n_outline;
  double nx = -u[1], ny = u[0];
  for (int i = 0; i < n; i++) {
    const double *a = t->outline_mm[i], *b = t->outline_mm[(i + 1) % n];
    double da = (a[0] - p[0]) * nx + (a[1] - p[1]) * ny;
    double db = (b[0] - p[0]) * nx + (b[1] - p[1]) * ny;
    if ((da >= 0) == (db >= 0)) continue; /* half-open rule: a vertex on the line counts once */
    double s = da / (da - db);
    double x = a[0] + s * (b[0] - a[0]), y = a[1] + s * (b[1] - a[1]);
    ts[m++] = (x - p[0]) * u[0] + (y - p[1]) * u[1];
  }
  qsort(ts, (size_t)m, sizeof ts[0], cmp_double);
  int k = 0;
  for (int i = 0; i + 1 < m && k < cap; i += 2) seg[k++] = (mn__segment){ts[i], ts[i + 1]};
  return k;
}
