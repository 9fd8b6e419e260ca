/* The figures of the calibration (docs/calibration.md, `mnsim calibrate --plot`): each
 * calibrated parameter's posterior against its prior, and the posterior correlations. Both in the
 * sampler's coordinates: each prior range mapped to [0, 1], on a log scale where it spans a
 * factor of 3 or more, so that the uniform prior is flat at density 1. Pipeline: report. */
#include <math.h>
#include <plplot.h>
#include <string.h>

#include "mnsim/report.h"
#include "report_impl.h"

enum { BINS = 20, MAXP = 16 };

typedef struct post_fig {
  int n, draws;
  char names[MAXP][24];
  double lo[MAXP], hi[MAXP]; /* the prior range */
  int logs[MAXP];
  double *z; /* [draws][n] sampler coordinates */
  double corr[MAXP][MAXP];
} post_fig;

static double to_z(const post_fig *f, int k, double v) {
  if (!(f->hi[k] > f->lo[k])) return 0.5;
  return f->logs[k] ? log(v / f->lo[k]) / log(f->hi[k] / f->lo[k])
                    : (v - f->lo[k]) / (f->hi[k] - f->lo[k]);
}

static void draw_marginals(const void *ctx) {
  const post_fig *f = ctx;
  int cols = 3, rows = (f->n + cols - 1) / cols;
  for (int k = 0; k < f->n; k++) {
    int r = k / cols, c = k % cols;
    double x0 = 0.06 + c * 0.32, y1 = 0.95 - r * (0.9 / rows);
    plvpor(x0, x0 + 0.26, y1 - 0.9 / rows + 0.09, y1 - 0.03);
    double h[BINS] = {0}, hmax = 1.2;
    for (int d = 0; d < f->draws; d++) {
      int b = (int)(f->z[(size_t)d * f->n + k] * BINS);
      if (b >= 0 && b < BINS) h[b] += (double)BINS / f->draws; /* density */
    }
    for (int b = 0; b < BINS; b++) hmax = fmax(hmax, 1.1 * h[b]);
    plwind(0, 1, 0, hmax);
    plcol0(1);
    for (int b = 0; b < BINS; b++) {
      PLFLT x[4] = {(double)b / BINS, (b + 1.0) / BINS, (b + 1.0) / BINS, (double)b / BINS};
      PLFLT y[4] = {0, 0, h[b], h[b]};
      if (h[b] > 0) plfill(4, x, y);
    }
    plcol0(2);
    pllsty(2);
    PLFLT px[2] = {0, 1}, py[2] = {1, 1};
    plline(2, px, py); /* the prior */
    pllsty(1);
    plcol0(15);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    char a[32], b[32];
    snprintf(a, sizeof a, "%.3g", f->lo[k]);
    snprintf(b, sizeof b, "%.3g", f->hi[k]);
    plmtex("b", 1.2, 0, 0, a);
    plmtex("b", 1.2, 1, 1, b);
    char title[48];
    snprintf(title, sizeof title, "%s%s", f->names[k], f->logs[k] ? " (log scale)" : "");
    plmtex("t", 0.5, 0.5, 0.5, title);
  }
}

static void draw_corr(const void *ctx) {
  const post_fig *f = ctx;
  int n = f->n;
  plvpor(0.16, 0.86, 0.16, 0.92);
  plwind(0, n, 0, n);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double c = f->corr[i][j];
      /* blue (negative) - white - red (positive) */
      int rr = c > 0 ? 255 : (int)(255 * (1 + c)), bb = c < 0 ? 255 : (int)(255 * (1 - c));
      int gg = (int)(255 * (1 - fabs(c)));
      plscol0(12, rr, gg, bb);
      plcol0(12);
      PLFLT x[4] = {j, j + 1, j + 1, j}, y[4] = {n - i - 1, n - i - 1, n - i, n - i};
      plfill(4, x, y);
      plcol0(15);
      char t[16];
      snprintf(t, sizeof t, "%.2f", c);
      plptex(j + 0.5, n - i - 0.6, 1, 0, 0.5, t);
    }
  plcol0(15);
  plbox("bc", 0, 0, "bc", 0, 0);
  for (int i = 0; i < n; i++) {
    plmtex("lv", 0.5, (n - i - 0.5) / n, 1, f->names[i]);
    plmtex("bv", 0.5, (i + 0.5) / n, 1.0, f->names[i]);
  }
  pllab("", "", "Posterior correlations (sampler coordinates)");
}

int mn_report_posterior_svgs(const mn_posterior *po, const mn_param_set *prior, char *svg[2],
                             size_t len[2], mn_error *err) {
  post_fig f;
  memset(&f, 0, sizeof f);
  svg[0] = svg[1] = NULL, len[0] = len[1] = 0;
  if (po->ncols > MAXP)
    return MN_ERR(err, MN_ERANGE, "", "posterior figure: at most %d parameters", MAXP);
  f.n = po->ncols, f.draws = po->n;
  for (int k = 0; k < f.n; k++) {
    snprintf(f.names[k], sizeof f.names[k], "%s", po->names[k]);
    for (int i = 0; i < prior->n; i++)
      if (!strcmp(prior->info[i].name, po->names[k])) {
        f.lo[k] = prior->info[i].min, f.hi[k] = prior->info[i].max;
        f.logs[k] = mn_uq_distribution(&prior->info[i]) == MN_UQ_LOG_UNIFORM;
      }
  }
  f.z = mn_malloc_array((size_t)f.draws * (size_t)f.n, sizeof *f.z);
  if (!f.z) return MN_ERR(err, MN_ENOMEM, "", "out of memory for a figure");
  double mean[MAXP] = {0}, cov[MAXP][MAXP] = {{0}};
  for (int d = 0; d < f.draws; d++)
    for (int k = 0; k < f.n; k++) {
      f.z[(size_t)d * f.n + k] = to_z(&f, k, po->v[(size_t)d * po->ncols + k]);
      mean[k] += f.z[(size_t)d * f.n + k] / f.draws;
    }
  for (int d = 0; d < f.draws; d++)
    for (int i = 0; i < f.n; i++)
      for (int j = 0; j < f.n; j++)
        cov[i][j] += (f.z[(size_t)d * f.n + i] - mean[i]) * (f.z[(size_t)d * f.n + j] - mean[j]);
  for (int i = 0; i < f.n; i++)
    for (int j = 0; j < f.n; j++)
      f.corr[i][j] = cov[i][i] > 0 && cov[j][j] > 0 ? cov[i][j] / sqrt(cov[i][i] * cov[j][j]) : 0;
  int rows = (f.n + 2) / 3;
  int rc = mn__render_svg(draw_marginals, &f, 1000, 240 * rows, &svg[0], &len[0], err);
  if (!rc) rc = mn__render_svg(draw_corr, &f, 760, 700, &svg[1], &len[1], err);
  mn_free(f.z);
  return rc;
}
