/* The bar figure of Sobol indices of `mnsim sensitivity` (PLplot, cairo, SVG in memory): for the
 * parameters with the largest total indices, one bar per output. Pipeline: report. */
#include <math.h>
#include <plplot.h>
#include <string.h>

#include "mnsim/report.h"
#include "report_impl.h"

typedef struct sobol_fig {
  const mn_sobol *s;
  const char *const *outputs;
  int top, order[64];
} sobol_fig;

static const int series_colour[6] = {1, 2, 3, 4, 6, 11};

static void rect(double x0, double x1, double y0, double y1) {
  PLFLT x[4] = {x0, x1, x1, x0}, y[4] = {y0, y0, y1, y1};
  plfill(4, x, y);
}

static void draw(const void *ctx) {
  const sobol_fig *f = ctx;
  const mn_sobol *s = f->s;
  int n = f->top, no = s->nout < 6 ? s->nout : 6;
  double ymax = 0.05;
  for (int i = 0; i < n; i++) ymax = fmax(ymax, mn_sobol_max_st(s, f->order[i]));
  plvpor(0.09, 0.76, 0.27, 0.92);
  plwind(0, n, 0, fmin(1.05, 1.1 * ymax));
  plcol0(15);
  plbox("bc", 0, 0, "bcnstv", 0, 0);
  pllab("", "Sobol index (bar: total; inner bar: first order)",
        "Which parameters move the outputs");
  double w = 0.8 / no;
  for (int i = 0; i < n; i++) {
    int k = f->order[i];
    for (int o = 0; o < no; o++) {
      double st = s->ST[(size_t)o * s->k + k], s1 = s->S1[(size_t)o * s->k + k];
      double x0 = i + 0.1 + o * w;
      plcol0(series_colour[o]);
      if (isfinite(st) && st > 0) rect(x0, x0 + w, 0, st);
      plcol0(15);
      if (isfinite(s1) && s1 > 0) rect(x0 + 0.3 * w, x0 + 0.7 * w, 0, s1);
    }
    plcol0(15);
    plmtex("bv", 0.5, (i + 0.5) / n, 1.0, s->names[k]); /* vertical, ending at the axis */
  }
  PLINT opt[6], col[6], pat[6], tcol[6];
  PLFLT scale[6], bw[6];
  const char *text[6];
  for (int o = 0; o < no; o++) {
    opt[o] = PL_LEGEND_COLOR_BOX, col[o] = series_colour[o], pat[o] = 0, tcol[o] = 15;
    scale[o] = 1.0, bw[o] = 1.0, text[o] = f->outputs[o];
  }
  PLFLT lw, lh;
  pllegend(&lw, &lh, PL_LEGEND_BACKGROUND, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0, 0.05,
           0, 0, 1, 0, 0, no, opt, 1.0, 0.8, 2.0, 1.0, tcol, text, col, pat, scale, bw, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL);
}

int mn_report_sobol_svg(const mn_sobol *s, const char *const *outputs, int top, char **svg,
                        size_t *len, mn_error *err) {
  sobol_fig f = {s, outputs, top < 1 ? 1 : top > 64 ? 64 : top, {0}};
  if (f.top > s->k) f.top = s->k;
  int *all = mn_malloc_array((size_t)s->k, sizeof *all);
  if (!all) return MN_ERR(err, MN_ENOMEM, "", "out of memory for a figure");
  mn_sobol_rank(s, all);
  memcpy(f.order, all, sizeof *all * (size_t)f.top);
  mn_free(all);
  return mn__render_svg(draw, &f, 1000, 520, svg, len, err);
}
