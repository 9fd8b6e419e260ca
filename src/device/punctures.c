/* Punctures of a treatment: each pass lays parallel strokes over the outline; a pen stamps its
 * needle pattern at its stroke rate along the stroke, a roller's needle circles touch down at
 * their circumferential spacing, a stamp is pressed at footprint steps. Hand jitter and depth
 * variation come from the seeded RNG, one stream per pass. Pipeline: device; the set feeds the
 * statistics, injury (through course) and punctures.csv. Reference: docs/device-model.md. */
#include <math.h>
#include <string.h>

#include "device_impl.h"

/* A line meets an n-gon's edges at most n times: at most n / 2 inside segments per stroke. */
enum { MAX_SEGMENTS = MN_MAX_OUTLINE / 2 + 1 };
/* 5e7 punctures: 1.25 GB of records plus the statistics' index, and a puncture list of about
 * 1.7 GB; beyond that the command would not finish in a reasonable time on a workstation. */
static const double MAX_PUNCTURES = 5e7;

void mn_puncture_set_destroy(mn_puncture_set *s) {
  if (!s) return;
  mn_free(s->x_mm);
  mn_free(s->y_mm);
  mn_free(s->depth_um);
  mn_free(s->radius_um);
  mn_free(s->pass);
  mn_free(s);
}

/* Grow the five arrays to @p cap. Each array keeps its new block as soon as its realloc
 * succeeds (the old block is gone by then), and s->cap is raised only when all succeeded, so on
 * failure the set stays valid at its old capacity and mn_puncture_set_destroy frees it all. */
static int reserve(mn_puncture_set *s, size_t cap) {
  if (cap <= s->cap) return 0;
  double *x = mn_realloc_array(s->x_mm, cap, sizeof *x);
  if (x) s->x_mm = x;
  double *y = mn_realloc_array(s->y_mm, cap, sizeof *y);
  if (y) s->y_mm = y;
  float *dp = mn_realloc_array(s->depth_um, cap, sizeof *dp);
  if (dp) s->depth_um = dp;
  float *r = mn_realloc_array(s->radius_um, cap, sizeof *r);
  if (r) s->radius_um = r;
  uint8_t *p = mn_realloc_array(s->pass, cap, sizeof *p);
  if (p) s->pass = p;
  if (!x || !y || !dp || !r || !p) return -1;
  s->cap = cap;
  return 0;
}

/* Generation state of one pass. */
typedef struct gen {
  const mn_device *d;
  mn_puncture_set *s;
  mn_rng rng;
  double u[2], nrm[2]; /* stroke direction and its normal */
  double depth_um;     /* mean effective depth of this pass */
  double depth_max_um; /* nominal depth: no channel is deeper */
  int pass;
  int oom;
} gen;

/* Record one puncture at (x, y) in the treatment frame: depth z = depth (1 + cv N(0, 1)) with
 * the class's cv, clamped to [0.1 depth, nominal depth] (docs/device-model.md "Depth and channel
 * radius"), and the channel's surface radius at that depth. When the arrays cannot grow, g->oom
 * is set and the loops of the pass stop. */
static void push(gen *g, double x, double y) {
  mn_puncture_set *s = g->s;
  if (s->n == s->cap && reserve(s, s->cap ? 2 * s->cap : 4096) != 0) {
    g->oom = 1;
    return;
  }
  double dz = g->depth_um * (1.0 + g->d->cls.depth_cv * mn_rng_normal(&g->rng));
  if (dz > g->depth_max_um) dz = g->depth_max_um;
  if (dz < 0.1 * g->depth_um) dz = 0.1 * g->depth_um;
  s->x_mm[s->n] = x;
  s->y_mm[s->n] = y;
  s->depth_um[s->n] = (float)dz;
  s->radius_um[s->n] = (float)mn_device_channel_radius_um(g->d, dz, 0.0);
  s->pass[s->n] = (uint8_t)g->pass;
  s->n++;
}

/* Press the head's needle pattern with its centre at c (head frame: along u, across nrm). */
static void press(gen *g, double cx, double cy) {
  const mn_device *d = g->d;
  for (int q = 0; q < d->n_offsets && !g->oom; q++) {
    double a = d->offsets_mm[q][0], b = d->offsets_mm[q][1];
    push(g, cx + a * g->u[0] + b * g->nrm[0], cy + a * g->u[1] + b * g->nrm[1]);
  }
}

/* One stroke segment from base + t0 u to base + t1 u, walked forward, or backward when @p back
 * (the serpentine return of the hand): the hand path runs from t1 to t0.
 *   pen:    a press every dl = v / f mm of hand travel from a uniform random phase in [0, dl),
 *           each press shifted by a normal jitter of SD jitter_mm in x and in y;
 *   stamp:  ceil(len / step) presses step = step_mm (1 - overlap) apart, centred on the
 *           segment, jitter per press;
 *   roller: the drum's cols needle circles, W / cols apart across the stroke, each touching
 *           down every pi D / rows along it; one lateral jitter and one random phase per
 *           segment, odd circles staggered by half a spacing.
 * The random draws follow the hand's path, so the serpentine direction is part of the result. */
static void stroke(gen *g, const mn_pass_params *p, const double base[2], double t0, double t1,
                   int back) {
  const mn_device *d = g->d;
  double sd = p->jitter_mm, len = t1 - t0;
  /* position along the segment of hand travel a: forward t0 + a, backward t1 - a */
#define AT(a) (back ? t1 - (a) : t0 + (a))
  if (d->spec.cls == MN_DEVICE_PEN) {
    double dl = p->speed_mm_per_s / d->rate_hz; /* hand travel between strokes */
    for (double a = dl * mn_rng_uniform(&g->rng); a <= len && !g->oom; a += dl) {
      double jx = sd * mn_rng_normal(&g->rng), jy = sd * mn_rng_normal(&g->rng), t = AT(a);
      press(g, base[0] + t * g->u[0] + jx, base[1] + t * g->u[1] + jy);
    }
  } else if (d->spec.cls == MN_DEVICE_STAMP) {
    double step = d->step_mm * (1.0 - p->overlap);
    int n = (int)ceil(len / step - 1e-9);
    double lead = 0.5 * (len - (n - 1) * step); /* centre the presses on the segment */
    for (int j = 0; j < n && !g->oom; j++) {
      double jx = sd * mn_rng_normal(&g->rng), jy = sd * mn_rng_normal(&g->rng);
      double t = AT(lead + j * step);
      press(g, base[0] + t * g->u[0] + jx, base[1] + t * g->u[1] + jy);
    }
  } else { /* roller: each needle circle touches down every circumference / rows */
    int rows = d->spec.rows, cols = d->spec.cols;
    double pitch = d->step_mm / rows, lat = sd * mn_rng_normal(&g->rng);
    double phase = pitch * mn_rng_uniform(&g->rng), w = d->spec.drum_width_mm / cols;
    for (int j = 0; j < cols && !g->oom; j++) {
      double c = (j - 0.5 * (cols - 1)) * w + lat;
      double off = fmod(phase + (j & 1) * 0.5 * pitch, pitch); /* neighbouring circles staggered */
      for (double a = off; a <= len && !g->oom; a += pitch) {
        double t = AT(a);
        push(g, base[0] + t * g->u[0] + c * g->nrm[0], base[1] + t * g->u[1] + c * g->nrm[1]);
      }
    }
  }
#undef AT
}

/* Lay the strokes of pass @p pi: lines spaced s along the normal, centred on the outline's extent,
 * clipped to the outline, walked in alternating directions (serpentine). The outline spans
 * [smin, smax] along the normal nrm; ceil((smax - smin) / s) lines (at least one) are centred on
 * it, line k passing through (first + k s) nrm. Hand path and time add up the clipped segments
 * only: the hand's moves between strokes are not counted. */
static void run_pass(gen *g, const mn_treatment *t, int pi) {
  const mn_pass_params *p = &t->passes[pi];
  mn__pass_direction(p, g->u);
  g->nrm[0] = -g->u[1];
  g->nrm[1] = g->u[0];
  double smin = INFINITY, smax = -INFINITY;
  for (int i = 0; i < t->n_outline; i++) {
    double s = t->outline_mm[i][0] * g->nrm[0] + t->outline_mm[i][1] * g->nrm[1];
    smin = fmin(smin, s);
    smax = fmax(smax, s);
  }
  double sp = mn_device_stroke_spacing_mm(g->d, p);
  int lines = (int)ceil((smax - smin) / sp - 1e-9);
  if (lines < 1) lines = 1;
  double first = 0.5 * (smin + smax) - 0.5 * (lines - 1) * sp;
  for (int k = 0; k < lines && !g->oom; k++) {
    double base[2] = {(first + k * sp) * g->nrm[0], (first + k * sp) * g->nrm[1]};
    mn__segment seg[MAX_SEGMENTS];
    int ns = mn__clip_line(t, base, g->u, seg, MAX_SEGMENTS), back = k & 1;
    for (int r = 0; r < ns && !g->oom; r++) {
      int q = back ? ns - 1 - r : r; /* odd strokes run the other way, segments in reverse */
      stroke(g, p, base, seg[q].t0, seg[q].t1, back);
      g->s->path_mm += seg[q].t1 - seg[q].t0;
      g->s->duration_s += (seg[q].t1 - seg[q].t0) / p->speed_mm_per_s;
    }
  }
}

/* Per-pass checks that need the device: pass ranges, per-pass depth within the device's range,
 * and the size of the result, refused up front when it would not fit in memory. The size is
 * estimated from each pass's geometric density over the area plus 1 cm2 (heads overhang the
 * edge); the message gives about 37 bytes per puncture in memory and 35 per punctures.csv line. */
int mn_device_check_passes(const mn_device *d, const mn_treatment *t, mn_error *err) {
  int rc = mn_treatment_check(t, err);
  if (rc) return rc;
  size_t np;
  const mn_config_desc *tab = mn_pass_param_table(&np);
  double expect = 0, area = mn_treatment_area_cm2(t);
  for (int i = 0; i < t->n_passes; i++) {
    const mn_pass_params *p = &t->passes[i];
    char key[64];
    snprintf(key, sizeof key, "treatment.passes[%d]", i);
    rc = mn_config_check(tab, np, p, key, err);
    if (rc) return rc;
    double lo = d->spec.depth_mm_min > 0.05 ? d->spec.depth_mm_min : 0.05;
    if (p->depth_mm != 0 && (p->depth_mm < lo || p->depth_mm > d->spec.depth_mm_max)) {
      snprintf(key, sizeof key, "treatment.passes[%d].depth_mm", i);
      return MN_ERR(err, MN_ERANGE, key, "%s = %g is outside the range of %s [%g, %g] mm", key,
                    p->depth_mm, d->spec.id, lo, d->spec.depth_mm_max);
    }
    expect += mn_device_pass_density_cm2(d, p) * (area + 1.0);
  }
  if (expect > MAX_PUNCTURES)
    return MN_ERR(err, MN_ERANGE, "treatment.passes",
                  "this treatment would make about %.3g punctures (%.1f GB in memory, %.1f GB as "
                  "punctures.csv); the limit is %.3g: lower the stroke rate, raise the speed or "
                  "spacing, or treat a smaller area",
                  expect, expect * 37 / 1e9, expect * 35 / 1e9, MAX_PUNCTURES);
  return MN_OK;
}

/* Room for 1.1 x the expected count is reserved up front, so that generation rarely grows the
 * arrays. Pass i draws from stream i + 1 of t->seed: editing one pass leaves the random draws of
 * the others unchanged. */
int mn_device_punctures(const mn_device *d, const mn_treatment *t, mn_puncture_set **out,
                        mn_error *err) {
  int rc = MN_OK;
  mn_puncture_set *s = NULL;
  *out = NULL;
  MN_TRY(mn_device_check_passes(d, t, err));
  s = mn_calloc(1, sizeof *s);
  MN_CHECK(s, err, MN_ENOMEM, "", "out of memory for the puncture set");
  double expect = 0, area = mn_treatment_area_cm2(t);
  for (int i = 0; i < t->n_passes; i++) expect += mn_device_pass_density_cm2(d, &t->passes[i]);
  MN_CHECK(reserve(s, (size_t)(1.1 * expect * area) + 1024) == 0, err, MN_ENOMEM, "",
           "out of memory for %.0f punctures", expect * area);
  s->n_passes = t->n_passes;
  for (int i = 0; i < t->n_passes; i++) {
    const mn_pass_params *p = &t->passes[i];
    gen g = {.d = d, .s = s, .pass = i};
    g.depth_um = mn_device_pass_depth_um(d, p);
    g.depth_max_um = 1000.0 * (p->depth_mm > 0 ? p->depth_mm : d->params.depth_mm);
    mn_rng_init(&g.rng, t->seed, (uint64_t)i + 1);
    size_t before = s->n;
    run_pass(&g, t, i);
    MN_CHECK(!g.oom, err, MN_ENOMEM, "", "out of memory after %zu punctures", s->n);
    s->pass_count[i] = s->n - before;
  }
  *out = s;
  return MN_OK;
cleanup:
  mn_puncture_set_destroy(s);
  return rc;
}
