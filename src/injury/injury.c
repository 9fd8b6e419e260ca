/* Rasterising needle channels into voxel damage fractions: a session's displaced field d_inj,
 * its lumen d_lum (the needle's profile scaled by the device class's lumen_ratio: what stays open
 * after the tissue recoils) and the lumen's bleeding part d_bleed, a window of planes at a time.
 * Pipeline: injury, after grid; course applies the fields to the healing solver. Reference:
 * docs/model.md "Injury" (model v2); research/models.md 7.4. */
#include <math.h>
#include <string.h>

#include "mnsim/injury.h"

/* Method. For each lateral sub-sample point of a cell at distance r from the channel axis, the
 * channel covers the depth interval from the local surface down to depth - h(r), where h(r) is
 * the distance from the tip at which the needle's radius reaches r (taper: r(h) = r_t +
 * (R - r_t) min(1, h / L_t)); the overlap of that interval with each cell's [z_top, z_bottom] is
 * exact. Fractions of overlapping channels combine as 1 - (1 - a)(1 - b): the union of two
 * fractions placed independently in the cell. */

/* The window's fields are float, to save memory (a damage fraction needs no more), and cover
 * whole planes with their halo and padding, so an interior cell's value sits at its grid index
 * minus out->base. Windowing keeps the damage fields at a few planes instead of the whole grid;
 * each cell still gets exactly the value a whole-grid pass would give (tests/verify). */
int mn_injury_init_planes(const mn_grid *g, int k0, int k1, mn_injury *out, mn_error *err) {
  memset(out, 0, sizeof *out);
  if (k0 < 0 || k1 > g->nz || k0 >= k1)
    return MN_ERR(err, MN_ERANGE, "",
                  "injury planes [%d, %d) are empty or outside the grid's [0, %d)", k0, k1, g->nz);
  /* interior cell (i, j, k) of the window sits at (k - k0) sz + j sy + i < (k1 - k0) sz */
  size_t n = (size_t)(k1 - k0) * g->sz;
  out->base = mn_grid_at(g, 0, 0, k0), out->k0 = k0, out->k1 = k1;
  out->d_inj = mn_calloc(n, sizeof(float));
  out->d_lum = mn_calloc(n, sizeof(float));
  out->d_bleed = mn_calloc(n, sizeof(float));
  if (!out->d_inj || !out->d_lum || !out->d_bleed) {
    mn_injury_fini(out);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the injury fields");
  }
  return MN_OK;
}

int mn_injury_init(const mn_grid *g, mn_injury *out, mn_error *err) {
  return mn_injury_init_planes(g, 0, g->nz, out, err);
}

void mn_injury_fini(mn_injury *inj) {
  if (!inj) return;
  mn_free(inj->d_inj);
  mn_free(inj->d_lum);
  mn_free(inj->d_bleed);
  inj->d_inj = inj->d_lum = inj->d_bleed = NULL;
}

/* Distance from the tip at which the needle's radius reaches r (um); -1 if never (r at or beyond
 * the shaft radius R). The inverse of mn_device_channel_radius_um's taper: 0 within the tip
 * radius, then linear along the cone, h = L_t (r - r_t) / (R - r_t). */
static double taper_height(const mn_device *dev, double r) {
  double R = 500.0 * dev->spec.needle_diameter_mm, rt = dev->spec.tip_radius_um;
  double L = 1000.0 * dev->spec.tip_length_mm;
  if (r >= R) return -1;
  if (r <= rt) return 0;
  return L * (r - rt) / (R - rt);
}

/* How far the surface has sunk at (x, y): the deepest lesion there, as grid.c carves it. */
static double surface_deficit(const mn_lesion *les, int nl, double x, double y) {
  double def = 0;
  for (int q = 0; q < nl; q++) def = fmax(def, mn_lesion_deficit_um(&les[q], x, y));
  return def;
}

/* 1 - (1 - a)(1 - b) into a float field: the union of fractions placed independently. */
static void combine(float *v, double frac) {
  *v = (float)(1 - (1 - (double)*v) * (1 - frac));
}

/* Add the channel at (x, y) of depth @p depth below the local surface @p def to the fields.
 *
 * The cells of the square of half-width R (the shaft radius) around the axis are visited; each
 * is split into S x S lateral sub-points of weight 1 / S^2. At a sub-point at distance r the
 * needle reaches from the surface, z = def, down to z = def + depth - h(r), and the cell's
 * fraction gains the overlap of that interval with its [ztop, zbot] over its height: exact in
 * z, a midpoint rule laterally. The surface depth def is the one at the axis, for every cell of
 * the channel. With periodic laterals the square wraps: sub-point positions use the unwrapped
 * indices (ii, jj) and the value lands in the periodic image (i, j); a square wider than the
 * domain reaches a cell once per image, which is the next channel of the periodic pattern.
 * The lumen is the same profile scaled by eps = lumen_ratio: a sub-point at distance r is in the
 * lumen where the needle's radius is >= r / eps. Void cells (above a sunken surface) take no
 * damage. d_bleed gets the lumen fraction in dermal cells (PD, RD) from bleeding channels only.
 * volume_um3 and lumen_um3 sum the channels' volumes in the window, overlaps counted twice.
 *
 * channels and bleeding count every call, inside the window or not, so each window reports
 * the session's totals. (x_mm, y_mm) in the treatment frame; depth, def and all else in um. */
static void add_channel(const mn_grid *g, const mn_device *dev, double x_mm, double y_mm,
                        double depth, double def, int bleeds, int S, mn_injury *inj) {
  double R = 500.0 * dev->spec.needle_diameter_mm, dx = g->dx_um, eps = dev->cls.lumen_ratio;
  double xc = 1000.0 * (x_mm - g->x0_mm), yc = 1000.0 * (y_mm - g->y0_mm); /* um, grid frame */
  int i0 = (int)floor((xc - R) / dx), i1 = (int)floor((xc + R) / dx);
  int j0 = (int)floor((yc - R) / dx), j1 = (int)floor((yc + R) / dx);
  int per = g->lateral_bc == MN_BC_PERIODIC;
  double w = 1.0 / (S * S);
  inj->channels++;
  inj->bleeding += bleeds;
  if (g->zf_um[inj->k0] >= def + depth || g->zf_um[inj->k1] <= def) return; /* not in the window */
  for (int jj = j0; jj <= j1; jj++)
    for (int ii = i0; ii <= i1; ii++) {
      int i = ii, j = jj;
      if (per)
        i = ((i % g->nx) + g->nx) % g->nx, j = ((j % g->ny) + g->ny) % g->ny;
      else if (i < 0 || j < 0 || i >= g->nx || j >= g->ny)
        continue;
      for (int k = inj->k0; k < inj->k1; k++) {
        double ztop = g->zf_um[k], zbot = g->zf_um[k + 1], frac = 0, lum = 0;
        if (ztop >= def + depth || zbot <= def) continue;
        for (int b = 0; b < S; b++)
          for (int a = 0; a < S; a++) {
            double px = (ii + (a + 0.5) / S) * dx - xc, py = (jj + (b + 0.5) / S) * dx - yc;
            double r = hypot(px, py), h = taper_height(dev, r), hl = taper_height(dev, r / eps);
            if (h < 0 || h >= depth) continue;
            double lo = fmax(ztop, def), hi = fmin(zbot, def + depth - h);
            if (hi > lo) frac += w * (hi - lo) / (zbot - ztop);
            if (hl < 0 || hl >= depth) continue;
            hi = fmin(zbot, def + depth - hl);
            if (hi > lo) lum += w * (hi - lo) / (zbot - ztop);
          }
        if (frac <= 0) continue;
        size_t c = mn_grid_at(g, i, j, k);
        if (g->cell[c] == MN_CELL_VOID) continue;
        size_t at = c - inj->base;
        combine(inj->d_inj + at, frac);
        combine(inj->d_lum + at, lum);
        inj->volume_um3 += frac * dx * dx * (zbot - ztop);
        inj->lumen_um3 += lum * dx * dx * (zbot - ztop);
        if (bleeds && (g->cell[c] == MN_LAYER_PD || g->cell[c] == MN_LAYER_RD))
          combine(inj->d_bleed + at, lum);
      }
    }
}

/* A channel on the flat skin (no lesion below it), as the unit cell places them. */
void mn_injury_add_channel(const mn_grid *g, const mn_skin *sk, const mn_device *dev, double x_mm,
                           double y_mm, double depth_um, int supersample, mn_injury *inj) {
  int bleeds = depth_um >= mn_skin_plexus_depth_um(sk);
  add_channel(g, dev, x_mm, y_mm, depth_um, 0, bleeds, supersample, inj);
}

/* Every puncture of the set into the window, each from the surface that the lesions leave at
 * its position. */
int mn_injury_rasterize(const mn_grid *g, const mn_skin *sk, const mn_device *dev,
                        const mn_puncture_set *set, const mn_lesion *lesions, int n_lesions,
                        int supersample, mn_injury *out, mn_error *err) {
  if (supersample < 1 || supersample > 16)
    return MN_ERR(err, MN_ERANGE, "", "supersample = %d is outside [1, 16]", supersample);
  double plexus = mn_skin_plexus_depth_um(sk);
  for (size_t n = 0; n < set->n; n++) {
    double x = set->x_mm[n], y = set->y_mm[n], depth = set->depth_um[n];
    /* the channel starts at the local surface, which a lesion lowers; its bleeding is judged
     * against the plexus below that surface */
    double def = surface_deficit(lesions, n_lesions, x, y);
    add_channel(g, dev, x, y, depth, def, depth >= plexus, supersample, out);
  }
  return MN_OK;
}
