/* Statistics of a puncture set: density, coverage (Monte-Carlo over the outline), channel overlap
 * and nearest-neighbour spacing (cell hash), depth reached per layer, bleeding endpoint, and the
 * density map. Pipeline: device; `mnsim device` reports them (device.json, device.csv), the
 * planner's report draws the density map. Reference: docs/device-model.md "Statistics". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device_impl.h"

/* 200,000 points inside the outline give the coverage a standard error of at most 0.0011; the
 * spacing figures are estimates from at most 100,000 punctures (a 4.5 M-puncture case went from
 * 191 s to 3.6 s with the sample and the fine hash). */
enum { COVERAGE_SAMPLES = 200000, SPACING_SAMPLES = 100000 };

/* Uniform cell hash over the punctures' bounding box: order[] lists punctures cell by cell,
 * start[c]..start[c+1] is cell c's range. Indices are 32-bit: the puncture limit (5e7) is far
 * below 2^32. */
typedef struct hash {
  double x0, y0, cell;
  int nx, ny;
  uint32_t *start, *order;
} hash;

static void hash_fini(hash *h) {
  mn_free(h->start);
  mn_free(h->order);
  h->start = h->order = NULL;
}

/* Cell of (x, y); returns 0 when it lies outside the grid (a sample point off the punctures'
 * bounding box), with the indices still set. */
static int cell_of(const hash *h, double x, double y, int *ix, int *iy) {
  *ix = (int)floor((x - h->x0) / h->cell);
  *iy = (int)floor((y - h->y0) / h->cell);
  return *ix >= 0 && *iy >= 0 && *ix < h->nx && *iy < h->ny;
}

/* A counting sort by cell: counts into start[c + 1], prefix sums, then each puncture placed at
 * its cell's next free slot, so each cell keeps its punctures in set order. The box is widened
 * by 1e-6 mm so that the largest coordinate still falls in the last cell. The caller passes
 * min_cell = r_max / 4, which bounds a coverage search to 4 rings of cells. */
static int hash_build(hash *h, const mn_puncture_set *s, double min_cell, mn_error *err) {
  memset(h, 0, sizeof *h);
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (size_t i = 0; i < s->n; i++) {
    xmin = fmin(xmin, s->x_mm[i]), xmax = fmax(xmax, s->x_mm[i]);
    ymin = fmin(ymin, s->y_mm[i]), ymax = fmax(ymax, s->y_mm[i]);
  }
  double w = xmax - xmin + 1e-6, hgt = ymax - ymin + 1e-6;
  /* about one puncture per cell; searches widen to the channel radius in rings of cells */
  h->cell = fmax(min_cell, sqrt(w * hgt / (double)s->n));
  h->nx = (int)(w / h->cell) + 1;
  h->ny = (int)(hgt / h->cell) + 1;
  h->x0 = xmin;
  h->y0 = ymin;
  size_t nc = (size_t)h->nx * (size_t)h->ny;
  h->start = mn_calloc(nc + 1, sizeof *h->start);
  h->order = mn_malloc_array(s->n, sizeof *h->order);
  if (!h->start || !h->order) {
    hash_fini(h);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory indexing %zu punctures", s->n);
  }
  int ix, iy;
  for (size_t i = 0; i < s->n; i++) {
    cell_of(h, s->x_mm[i], s->y_mm[i], &ix, &iy);
    h->start[(size_t)iy * h->nx + ix + 1]++;
  }
  for (size_t c = 0; c < nc; c++) h->start[c + 1] += h->start[c];
  uint32_t *fill = mn_malloc_array(nc, sizeof *fill);
  if (!fill) {
    hash_fini(h);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory indexing %zu punctures", s->n);
  }
  memcpy(fill, h->start, nc * sizeof *fill);
  for (size_t i = 0; i < s->n; i++) {
    cell_of(h, s->x_mm[i], s->y_mm[i], &ix, &iy);
    h->order[fill[(size_t)iy * h->nx + ix]++] = (uint32_t)i;
  }
  mn_free(fill);
  return MN_OK;
}

/* Is (x, y) inside some channel's surface disc? Channel centres within rmax_mm of the point lie
 * in the block of cells R = ceil(rmax / cell) around the point's cell. Ring r visits only the
 * border cells of the (2r + 1)^2 block, so each cell is visited once. */
static int covered(const hash *h, const mn_puncture_set *s, double x, double y, double rmax) {
  int ix = (int)floor((x - h->x0) / h->cell), iy = (int)floor((y - h->y0) / h->cell);
  int R = (int)ceil(rmax / h->cell);
  for (int ring = 0; ring <= R; ring++) /* inside out: dense patterns answer at once */
    for (int j = iy - ring; j <= iy + ring; j++) {
      if (j < 0 || j >= h->ny) continue;
      for (int i = ix - ring; i <= ix + ring; i++) {
        if (i < 0 || i >= h->nx || (abs(i - ix) != ring && abs(j - iy) != ring)) continue;
        size_t c = (size_t)j * h->nx + i;
        for (uint32_t k = h->start[c]; k < h->start[c + 1]; k++) {
          uint32_t q = h->order[k];
          double dx = x - s->x_mm[q], dy = y - s->y_mm[q], r = 1e-3 * s->radius_um[q];
          if (dx * dx + dy * dy < r * r) return 1;
        }
      }
    }
  return 0;
}

/* Monte-Carlo coverage: uniform points in the outline's bounding box, kept when inside; for thin
 * outlines up to 20x more points are drawn so that the estimate rests on enough samples. The
 * fraction of the kept points inside some channel's surface disc estimates the covered fraction
 * of the outline, with the binomial standard error sqrt(p (1 - p) / N). The points come from
 * their own stream of the treatment seed, so the estimate is reproducible. */
static void coverage(const mn_treatment *t, const hash *h, const mn_puncture_set *s, double rmax,
                     mn_device_stats *st) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int i = 0; i < t->n_outline; i++) {
    xmin = fmin(xmin, t->outline_mm[i][0]), xmax = fmax(xmax, t->outline_mm[i][0]);
    ymin = fmin(ymin, t->outline_mm[i][1]), ymax = fmax(ymax, t->outline_mm[i][1]);
  }
  mn_rng rng;
  mn_rng_init(&rng, t->seed, 0x636f766572ULL); /* "cover": its own stream */
  long inside = 0, hit = 0;
  for (long k = 0; k < 20L * COVERAGE_SAMPLES && inside < COVERAGE_SAMPLES; k++) {
    double x = xmin + (xmax - xmin) * mn_rng_uniform(&rng);
    double y = ymin + (ymax - ymin) * mn_rng_uniform(&rng);
    if (!mn_treatment_contains(t, x, y)) continue;
    inside++;
    hit += s->n ? covered(h, s, x, y, rmax) : 0;
  }
  st->coverage = inside ? (double)hit / inside : 0;
  st->coverage_se = inside ? sqrt(st->coverage * (1 - st->coverage) / inside) : 0;
}

/* Nearest neighbour of puncture q by growing rings of cells; also flags an overlapping channel
 * (centres closer than the sum of the two radii). The rings may grow to the whole hash, so an
 * isolated puncture still finds its neighbour. */
static double nearest(const hash *h, const mn_puncture_set *s, size_t q, double rmax,
                      int *overlap) {
  int ix, iy;
  cell_of(h, s->x_mm[q], s->y_mm[q], &ix, &iy);
  double best2 = INFINITY, rq = 1e-3 * s->radius_um[q];
  int maxring = h->nx > h->ny ? h->nx : h->ny;
  *overlap = 0;
  for (int ring = 0; ring <= maxring; ring++) {
    for (int j = iy - ring; j <= iy + ring; j++) {
      if (j < 0 || j >= h->ny) continue;
      for (int i = ix - ring; i <= ix + ring; i++) {
        if (i < 0 || i >= h->nx || (abs(i - ix) != ring && abs(j - iy) != ring)) continue;
        size_t c = (size_t)j * h->nx + i;
        for (uint32_t k = h->start[c]; k < h->start[c + 1]; k++) {
          uint32_t o = h->order[k];
          if (o == q) continue;
          double dx = s->x_mm[o] - s->x_mm[q], dy = s->y_mm[o] - s->y_mm[q], d2 = dx * dx + dy * dy;
          double rs = rq + 1e-3 * s->radius_um[o];
          if (d2 < rs * rs) *overlap = 1;
          if (d2 < best2) best2 = d2;
        }
      }
    }
    /* every point beyond this ring is farther than ring * cell: stop once that is past the
     * nearest neighbour and past any channel that could touch this one */
    double reach = ring * h->cell;
    if (best2 < reach * reach && (*overlap || reach >= rq + rmax)) break;
  }
  return sqrt(best2);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Nearest-neighbour distances and overlap over all punctures, or over a seeded random sample of
 * SPACING_SAMPLES of them when there are more (these are estimates either way). The sample is
 * drawn with replacement. Median and 5th percentile are order statistics (nn[m / 2],
 * nn[m / 20]), not interpolated. Distances in um. */
static int spacing(const hash *h, const mn_puncture_set *s, double rmax, uint64_t seed,
                   mn_device_stats *st, mn_error *err) {
  if (s->n < 2) return MN_OK;
  size_t m = s->n > SPACING_SAMPLES ? SPACING_SAMPLES : s->n;
  float *nn = mn_malloc_array(m, sizeof *nn);
  if (!nn) return MN_ERR(err, MN_ENOMEM, "", "out of memory for nearest-neighbour distances");
  mn_rng rng;
  mn_rng_init(&rng, seed, 0x6e6e); /* "nn": its own stream */
  size_t over = 0;
  double sum = 0;
  for (size_t k = 0; k < m; k++) {
    size_t q = m == s->n ? k : (size_t)(mn_rng_uniform(&rng) * (double)s->n);
    int ov;
    nn[k] = (float)(1000.0 * nearest(h, s, q, rmax, &ov));
    over += (size_t)ov;
    sum += nn[k];
  }
  qsort(nn, m, sizeof *nn, cmp_float);
  st->spacing_sampled = m;
  st->nn_mean_um = sum / (double)m;
  st->nn_median_um = nn[m / 2];
  st->nn_p05_um = nn[m / 20];
  st->overlap_fraction = (double)over / (double)m;
  mn_free(nn);
  return MN_OK;
}

/* Depth figures in one pass over the set: mean and SD from the sums (the variance clamped at 0
 * against rounding), the layer each channel ends in, the bleeding endpoint (a channel reaching
 * the plexus), and reach_fraction[l], the channels ending in layer l or deeper, summed from the
 * deepest layer up. The depth band rescales the mean from the ratio in use to the ends of the
 * class's range. An empty set gives zeros. */
static void depth_stats(const mn_device *d, const mn_skin *sk, const mn_puncture_set *s,
                        mn_device_stats *st) {
  double sum = 0, sum2 = 0, area = 0, rsum = 0;
  size_t layer[MN_LAYER_COUNT] = {0}, bleed = 0;
  st->plexus_depth_um = mn_skin_plexus_depth_um(sk);
  st->depth_min_um = s->n ? INFINITY : 0;
  st->depth_max_um = 0;
  for (size_t i = 0; i < s->n; i++) {
    double z = s->depth_um[i], r = s->radius_um[i];
    sum += z, sum2 += z * z, rsum += r, area += M_PI * r * r;
    st->depth_min_um = fmin(st->depth_min_um, z);
    st->depth_max_um = fmax(st->depth_max_um, z);
    layer[mn_skin_layer_at(sk, z)]++;
    bleed += z >= st->plexus_depth_um;
  }
  double n = s->n ? (double)s->n : 1;
  st->depth_mean_um = sum / n;
  st->depth_sd_um = sqrt(fmax(0, sum2 / n - st->depth_mean_um * st->depth_mean_um));
  /* the class's ratio range; a user-set ratio has no tabulated range */
  int fixed = d->params.depth_ratio > 0;
  st->depth_lo_um = st->depth_mean_um * (fixed ? 1 : d->cls.ratio_min / d->depth_ratio);
  st->depth_hi_um = st->depth_mean_um * (fixed ? 1 : d->cls.ratio_max / d->depth_ratio);
  st->mean_channel_area_um2 = area / n;
  st->surface_radius_mean_um = rsum / n;
  st->bleeding_fraction = bleed / n;
  double below = 0;
  for (int l = MN_LAYER_COUNT - 1; l >= 0; l--) {
    st->layer_fraction[l] = layer[l] / n;
    below += st->layer_fraction[l];
    st->reach_fraction[l] = below;
  }
}

/* CV of the density over map cells whose four corners lie inside the outline (for a convex
 * outline: the cells wholly inside), so that edge cells, partly outside, do not inflate it. */
static void map_cv(const mn_treatment *t, const mn_density_map *m, mn_device_stats *st) {
  double sum = 0, sum2 = 0;
  long k = 0;
  for (int j = 0; j < m->ny; j++)
    for (int i = 0; i < m->nx; i++) {
      double x = m->x0_mm + i * m->cell_mm, y = m->y0_mm + j * m->cell_mm, c = m->cell_mm;
      if (!mn_treatment_contains(t, x, y) || !mn_treatment_contains(t, x + c, y) ||
          !mn_treatment_contains(t, x, y + c) || !mn_treatment_contains(t, x + c, y + c))
        continue;
      double v = m->per_cm2[(size_t)j * m->nx + i];
      sum += v, sum2 += v * v, k++;
    }
  double mean = k ? sum / k : 0;
  st->density_map_cv = mean > 0 ? sqrt(fmax(0, sum2 / k - mean * mean)) / mean : 0;
}

/* r_max, the largest surface radius, bounds the searches: a channel covers only points within
 * r_max of its centre, and channel q touches another only when their centres are closer than
 * r_q + r_max. coverage_poisson is 1 - exp(-rho a) with rho per cm2 and a in um2 (1e-8 cm2 per
 * um2): the coverage of a random pattern of that density. */
int mn_device_stats_compute(const mn_device *d, const mn_treatment *t, const mn_skin *sk,
                            const mn_puncture_set *s, mn_device_stats *st, mn_error *err) {
  int rc = MN_OK;
  hash h = {0};
  mn_density_map m = {0};
  memset(st, 0, sizeof *st);
  st->count = s->n;
  st->area_cm2 = mn_treatment_area_cm2(t);
  size_t in_pass[MN_MAX_PASSES] = {0};
  float rmax_um = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (mn_treatment_contains(t, s->x_mm[i], s->y_mm[i])) st->count_inside++, in_pass[s->pass[i]]++;
    rmax_um = s->radius_um[i] > rmax_um ? s->radius_um[i] : rmax_um;
  }
  st->density_cm2 = st->count_inside / st->area_cm2;
  for (int p = 0; p < t->n_passes; p++) {
    st->density_pass_cm2[p] = in_pass[p] / st->area_cm2;
    st->expected_pass_cm2[p] = mn_device_pass_density_cm2(d, &t->passes[p]);
  }
  st->rate_per_s = d->spec.cls == MN_DEVICE_PEN ? d->spec.needles * d->rate_hz : 0;
  st->duration_s = s->duration_s;
  st->path_mm = s->path_mm;
  depth_stats(d, sk, s, st);
  st->coverage_poisson = 1.0 - exp(-st->density_cm2 * 1e-8 * st->mean_channel_area_um2);
  double eps = d->cls.lumen_ratio;
  st->lumen_fraction = 1.0 - exp(-st->density_cm2 * 1e-8 * eps * eps * st->mean_channel_area_um2);
  if (s->n) {
    MN_TRY(hash_build(&h, s, 0.25e-3 * rmax_um, err));
    MN_TRY(spacing(&h, s, 1e-3 * rmax_um, t->seed, st, err));
  }
  coverage(t, &h, s, 1e-3 * rmax_um, st);
  MN_TRY(mn_density_map_build(t, s, 0, &m, err));
  map_cv(t, &m, st);
cleanup:
  hash_fini(&h);
  mn_density_map_fini(&m);
  return rc;
}

void mn_density_map_fini(mn_density_map *m) {
  if (!m) return;
  mn_free(m->per_cm2);
  mn_free(m->inside);
  memset(m, 0, sizeof *m);
}

/* Counts over square cells on the outline's bounding box, scaled to punctures per cm2. Punctures
 * outside the box (jitter, overhanging heads) are not counted; a cell is "inside" when its
 * centre is inside the outline. @p cell_mm <= 0 picks the cell size from the count. */
int mn_density_map_build(const mn_treatment *t, const mn_puncture_set *s, double cell_mm,
                         mn_density_map *m, mn_error *err) {
  memset(m, 0, sizeof *m);
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int i = 0; i < t->n_outline; i++) {
    xmin = fmin(xmin, t->outline_mm[i][0]), xmax = fmax(xmax, t->outline_mm[i][0]);
    ymin = fmin(ymin, t->outline_mm[i][1]), ymax = fmax(ymax, t->outline_mm[i][1]);
  }
  /* about 30 punctures per cell, 20 to 120 cells along the longer side, cells >= 0.05 mm */
  if (!(cell_mm > 0)) {
    double ext = fmax(xmax - xmin, ymax - ymin), area = mn_treatment_area_cm2(t) * 100.0;
    cell_mm = s->n ? sqrt(30.0 * area / (double)s->n) : ext / 20.0;
    cell_mm = fmin(fmax(cell_mm, fmax(0.05, ext / 120.0)), ext / 20.0);
  }
  if (!((xmax - xmin) / cell_mm < 4096 && (ymax - ymin) / cell_mm < 4096))
    return MN_ERR(err, MN_ERANGE, "", "density map cell %g mm gives more than 4096 cells a side",
                  cell_mm);
  m->cell_mm = cell_mm;
  m->x0_mm = xmin;
  m->y0_mm = ymin;
  m->nx = (int)ceil((xmax - xmin) / cell_mm - 1e-9);
  m->ny = (int)ceil((ymax - ymin) / cell_mm - 1e-9);
  if (m->nx < 1) m->nx = 1;
  if (m->ny < 1) m->ny = 1;
  size_t nc = (size_t)m->nx * (size_t)m->ny;
  m->per_cm2 = mn_calloc(nc, sizeof *m->per_cm2);
  m->inside = mn_calloc(nc, sizeof *m->inside);
  if (!m->per_cm2 || !m->inside) {
    mn_density_map_fini(m);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the density map");
  }
  double per = 100.0 / (cell_mm * cell_mm); /* one puncture in a cell, per cm2 */
  for (size_t i = 0; i < s->n; i++) {
    int ix = (int)floor((s->x_mm[i] - xmin) / cell_mm),
        iy = (int)floor((s->y_mm[i] - ymin) / cell_mm);
    if (ix >= 0 && iy >= 0 && ix < m->nx && iy < m->ny) m->per_cm2[(size_t)iy * m->nx + ix] += per;
  }
  for (int j = 0; j < m->ny; j++)
    for (int i = 0; i < m->nx; i++)
      m->inside[(size_t)j * m->nx + i] =
          (uint8_t)mn_treatment_contains(t, xmin + (i + 0.5) * cell_mm, ymin + (j + 0.5) * cell_mm);
  return MN_OK;
}
