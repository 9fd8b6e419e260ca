/* The figures of report.html, drawn with PLplot (cairo) into SVG in memory from data computed
 * before the report is written: the plan's curves and calendar, and mn_plan_figures (density map,
 * virtual histology). Pipeline: report; planreport.c embeds them. Reference: PLplot 5 API. */
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnsim/report.h"
#include "report_impl.h"

/* ---- rendering a figure into memory --------------------------------------------------------- */

/* Colour map 0 of every plan figure: 1-4 the regions, 7-10 the same colours translucent for the
 * bands (band() takes region + 6), 15 text. */
static void colours(void) {
  plscolbg(255, 255, 255);
  plscol0(15, 0, 0, 0);            /* text and axes */
  plscol0(1, 31, 119, 180);        /* region 1 */
  plscol0(2, 214, 39, 40);         /* region 2 */
  plscol0(3, 44, 160, 44);         /* region 3 */
  plscol0(4, 148, 103, 189);       /* region 4 */
  plscol0(5, 190, 190, 190);       /* grid, thresholds */
  plscol0(6, 255, 127, 14);        /* sun */
  plscol0a(7, 31, 119, 180, 0.25); /* bands: the region's colour, translucent */
  plscol0a(8, 214, 39, 40, 0.25);
  plscol0a(9, 44, 160, 44, 0.25);
  plscol0a(10, 148, 103, 189, 0.25);
  plscol0(11, 255, 152, 150); /* redness windows */
}

/* One figure, drawn by @p draw on a PLplot stream of its own, as SVG text: PLplot writes only to
 * files, so it renders into a tracked temporary in /tmp that is read back whole and removed.
 * *out (mn_malloc, *len bytes, not NUL-terminated) belongs to the caller. */
int mn__render_svg(mn__draw_fn draw, const void *ctx, int w, int h, char **out, size_t *len,
                   mn_error *err) {
  *out = NULL, *len = 0;
  char tmp[320];
  mn_tmp_template(tmp, sizeof tmp, "mnsim-fig");
  int fd = mkstemp(tmp);
  if (fd < 0)
    return MN_ERR(err, MN_EIO, "", "cannot create a temporary file %s for a figure: %s", tmp,
                  strerror(errno));
  close(fd);
  mn_ofile_track(tmp);
  PLINT strm, old;
  plgstrm(&old);
  plmkstrm(&strm);
  plsexit(mn__pl_exit_handler);
  plsdev("svgcairo");
  plsfnam(tmp);
  plspage(0, 0, w, h, 0, 0);
  colours();
  plinit();
  pladv(0);
  plschr(0, 0.9);
  draw(ctx);
  plend1();
  plsstrm(old);
  FILE *in = fopen(tmp, "rb");
  int rc = MN_OK;
  if (!in)
    rc = MN_ERR(err, MN_EIO, "", "PLplot wrote no figure");
  else {
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *buf = n > 0 ? mn_malloc((size_t)n) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, in) != (size_t)n) {
      mn_free(buf);
      rc = MN_ERR(err, MN_EIO, "", "cannot read the rendered figure");
    } else
      *out = buf, *len = (size_t)n;
    fclose(in);
  }
  unlink(tmp);
  mn_ofile_untrack(tmp);
  return rc;
}

/* ---- the figures ------------------------------------------------------------------------------
 */

/* The legend's layout: at most three entries a row, as many rows as needed. */
static int legend_columns(int n) {
  return n < 3 ? n : 3;
}
static int legend_rows(int n) {
  return (n + 2) / 3;
}

/* The curves' viewport bottom: room for the axis label and a legend of n entries. */
static double plot_bottom(int n) {
  return 0.18 + 0.06 * legend_rows(n);
}

/* Line style of region i's median: solid for the first four colours, long dashes when the
 * colours repeat (regions 5-8); the threshold's short dashes (style 2) stay distinct. */
static int region_style(int i) {
  return i < 4 ? 1 : 3;
}

/* A 90 % band as one polygon, along hi forwards and lo backwards, in the translucent colour of
 * region colour @p col. Without memory for the polygon the band is left out. */
static void band(int n, const double *t, const double *lo, const double *hi, int col) {
  PLFLT *px = mn_malloc_array((size_t)(2 * n), sizeof *px);
  PLFLT *py = mn_malloc_array((size_t)(2 * n), sizeof *py);
  if (px && py) {
    for (int i = 0; i < n; i++) {
      px[i] = t[i], py[i] = hi[i];
      px[2 * n - 1 - i] = t[i], py[2 * n - 1 - i] = lo[i];
    }
    plcol0(col + 6);
    plfill(2 * n, px, py);
  }
  mn_free(px);
  mn_free(py);
}

/* Region i's median line in its colour and style; PLplot's prototypes take non-const arrays
 * that plline only reads. */
static void line(int n, const double *t, const double *mid, int i) {
  plcol0(1 + i % 4);
  pllsty(region_style(i));
  plwidth(2.5);
  plline(n, (PLFLT *)t, (PLFLT *)mid);
  plwidth(1.0);
  pllsty(1);
}

/* One entry per region, "region (concern)" in its colour, and the dashed threshold when the
 * figure draws one: in rows of three below the axis label, outside the plot, so that it never
 * covers a band (the viewport's bottom is at plot_bottom(n) to leave it room). */
static void legend(const mn_plan *p, int extra_threshold) {
  PLINT n = p->n_regions + extra_threshold, opt[MN_PLAN_MAX_REGIONS + 1],
        tcol[MN_PLAN_MAX_REGIONS + 1], lcol[MN_PLAN_MAX_REGIONS + 1], lsty[MN_PLAN_MAX_REGIONS + 1];
  PLFLT lw[MN_PLAN_MAX_REGIONS + 1], w, h;
  const char *text[MN_PLAN_MAX_REGIONS + 1];
  static char names[MN_PLAN_MAX_REGIONS][96];
  for (int i = 0; i < p->n_regions; i++) {
    snprintf(names[i], sizeof names[i], "%s (%s)", p->region[i].skin.region,
             mn_concern_name(p->region[i].req.concern));
    text[i] = names[i], opt[i] = PL_LEGEND_LINE, tcol[i] = 15, lcol[i] = 1 + i % 4,
    lsty[i] = region_style(i), lw[i] = 2;
  }
  if (extra_threshold) {
    int k = p->n_regions;
    text[k] = "visible (threshold)", opt[k] = PL_LEGEND_LINE, tcol[k] = 15, lcol[k] = 15,
    lsty[k] = 2, lw[k] = 1;
  }
  pllegend(&w, &h, PL_LEGEND_BACKGROUND, PL_POSITION_BOTTOM | PL_POSITION_OUTSIDE, 0.0, 0.17, 0.05,
           0, 5, 1, legend_rows(n), legend_columns(n), n, opt, 0.8, 0.9, 2.0, 0.0, tcol, text, NULL,
           NULL, NULL, NULL, lcol, lsty, lw, NULL, NULL, NULL, NULL);
}

/* Redness over the week after one session, per region: median line and 90 % band, and the
 * visibility threshold (the highest of the regions') dashed; y from 0 to 1.1 x the larger of
 * the band tops (at least 0.1) and the threshold. */
static void fig_redness(const void *ctx) {
  const mn_plan *p = ctx;
  double ymax = 0.1, thr = 0;
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_curves *r = p->region[i].curves;
    for (int h = 0; h < r->nweek; h++) ymax = fmax(ymax, r->week_red[2][h]);
    thr = fmax(thr, p->region[i].redness_threshold);
  }
  plvpor(0.09, 0.97, plot_bottom(p->n_regions + (thr > 0)), 0.9);
  plwind(0, 7, 0, 1.1 * fmax(ymax, thr));
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_curves *r = p->region[i].curves;
    band(r->nweek, r->week_t, r->week_red[0], r->week_red[2], 1 + i % 4);
  }
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_curves *r = p->region[i].curves;
    line(r->nweek, r->week_t, r->week_red[1], i);
  }
  if (thr > 0) {
    PLFLT tx[2] = {0, 7}, ty[2] = {thr, thr};
    plcol0(15);
    pllsty(2);
    plline(2, tx, ty);
    pllsty(1);
  }
  plcol0(15);
  plbox("bcnst", 1, 0, "bcnstv", 0, 0);
  pllab("days after a session", "redness index R",
        "Redness after one session: median and 90 % band");
  legend(p, thr > 0);
}

/* Papillary collagen gain over the first year, per region: median line and 90 % band, the
 * sessions as dashed verticals; the y range covers the bands and at least [0, 1]. */
static void fig_collagen(const void *ctx) {
  const mn_plan *p = ctx;
  double ymin = 0, ymax = 1;
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_curves *r = p->region[i].curves;
    for (int t = 0; t < r->nyear; t++)
      ymax = fmax(ymax, r->year_gain[2][t]), ymin = fmin(ymin, r->year_gain[0][t]);
  }
  plvpor(0.09, 0.97, plot_bottom(p->n_regions), 0.9);
  plwind(0, 365, ymin, 1.05 * ymax);
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_curves *r = p->region[i].curves;
    band(r->nyear, r->year_t, r->year_gain[0], r->year_gain[2], 1 + i % 4);
  }
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_curves *r = p->region[i].curves;
    line(r->nyear, r->year_t, r->year_gain[1], i);
  }
  plcol0(5);
  pllsty(2);
  for (int s = 0; s < p->sessions; s++) {
    PLFLT x[2] = {p->session_day[s], p->session_day[s]}, y[2] = {ymin, 1.05 * ymax};
    plline(2, x, y);
  }
  pllsty(1);
  plcol0(15);
  plbox("bcnst", 30, 0, "bcnstv", 0, 0);
  pllab("days from the first session (dashed: sessions)", "papillary collagen change (%)",
        "New collagen over the first year: median and 90 % band");
  legend(p, 0);
}

/* Four rows over days from the first session: session markers, each session's redness window,
 * its sun-avoidance window (both taken from the plan's calendar, as plan.ics and the patient
 * section take them) and the review. */
static void fig_timeline(const void *ctx) {
  const mn_plan *p = ctx;
  double end = p->review_day + 10;
  plvpor(0.16, 0.97, 0.2, 0.82);
  plwind(-3, end, 0, 4);
  for (int s = 0; s < p->sessions; s++) {
    /* the calendar's windows of this session (zero when the screening scheduled none) */
    double d = p->session_day[s], red = 0, sun = 0;
    for (int i = 0; i < p->n_events; i++)
      if (p->events[i].session == s && p->events[i].kind == MN_EVENT_REDNESS)
        red = p->events[i].days;
      else if (p->events[i].session == s && p->events[i].kind == MN_EVENT_SUN)
        sun = p->events[i].days;
    PLFLT rx[4] = {d, d + red, d + red, d}, ry[4] = {2.2, 2.2, 2.8, 2.8};
    plcol0(11);
    plfill(4, rx, ry);
    PLFLT sx[4] = {d, d + sun, d + sun, d}, sy[4] = {1.2, 1.2, 1.8, 1.8};
    plcol0(6);
    plfill(4, sx, sy);
    PLFLT mx[1] = {d}, my[1] = {3.5};
    plcol0(1);
    plssym(0, 1.6);
    plpoin(1, mx, my, 17);
  }
  PLFLT vx[1] = {p->review_day}, vy[1] = {0.5};
  plcol0(3);
  plpoin(1, vx, vy, 17);
  plcol0(15);
  plbox("bcnst", 0, 0, "bc", 0, 0);
  plmtex("lv", 1.0, 0.875, 1.0, "sessions");
  plmtex("lv", 1.0, 0.625, 1.0, "redness");
  plmtex("lv", 1.0, 0.375, 1.0, "sun avoidance");
  /* the plan puts its review six months after the last session (MN__REVIEW_DAYS) */
  plmtex("lv", 1.0, 0.125, 1.0, "6-month review");
  pllab("days from the first session", "", "Session timeline");
}

/* A colour bar for values 0..zmax of colour map 1, right of the current viewport, labelled on
 * its right with @p label. */
static void colour_bar(double zmax, const char *label) {
  PLFLT values[64];
  for (int i = 0; i < 64; i++) values[i] = zmax * i / 63.0;
  const PLFLT *vals[1] = {values};
  PLINT n_values[1] = {64}, label_opts[1] = {PL_COLORBAR_LABEL_RIGHT}, sub_ticks[1] = {0};
  const char *labels[1] = {label}, *axis_opts[1] = {"bcvtm"};
  PLFLT ticks[1] = {0.0}, w, h;
  plcol0(15);
  plcolorbar(&w, &h, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.12, 0.0, 0.05,
             1.0, 0, 1, 1, 0, 0, 0, 0, 1, label_opts, labels, 1, axis_opts, ticks, sub_ticks,
             n_values, vals);
}

/* Two cross-sections side by side (the section's two fields, e.g. damage right after the session
 * and neutrophils a day later), each coloured over its own range with its own colour bar, depth
 * growing downwards in um, the layer boundaries dashed and each layer named at its right. */
static void fig_histology(const void *ctx) {
  const mn_plan_section *h = ctx;
  double w_um = h->dx_um * h->nx, depth = h->zf_um[h->nz];
  plsxax(6, 0); /* plain tick labels: no "(x10^3)" factor above the axes */
  plsyax(6, 0);
  for (int panel = 0; panel < 2; panel++) {
    const double *f = h->value[panel];
    double zmax = 1e-12;
    for (size_t c = 0; c < (size_t)h->nx * (size_t)h->nz; c++) zmax = fmax(zmax, f[c]);
    /* cells are not uniform in z, so each is drawn as a filled box */
    double x0 = 0.08 + panel * 0.49, x1 = x0 + 0.28;
    plvpor(x0, x1, 0.12, 0.86);
    plwind(0, w_um, depth, 0); /* y reversed: depth grows downwards */
    for (int i = 0; i < h->nx; i++)
      for (int k = 0; k < h->nz; k++) {
        double v = f[(size_t)k * (size_t)h->nx + (size_t)i] / zmax;
        plcol1(fmin(1, fmax(0, v)));
        PLFLT bx[4] = {i * h->dx_um, (i + 1) * h->dx_um, (i + 1) * h->dx_um, i * h->dx_um};
        PLFLT by[4] = {h->zf_um[k + 1], h->zf_um[k + 1], h->zf_um[k], h->zf_um[k]};
        plfill(4, bx, by);
      }
    /* layer boundaries dashed, and each layer's short name right of the panel at its middle
     * where the layer is thick enough to hold it */
    plcol0(15);
    plschr(0, 0.7);
    for (int k = 0; k < h->nz; k++)
      if (k == 0 || h->layer[k - 1] != h->layer[k]) {
        if (k > 0) {
          PLFLT lx[2] = {0, w_um}, ly[2] = {h->zf_um[k], h->zf_um[k]};
          pllsty(2);
          plline(2, lx, ly);
          pllsty(1);
        }
        int k1 = k; /* the layer's last row */
        while (k1 + 1 < h->nz && h->layer[k1 + 1] == h->layer[k]) k1++;
        double top = h->zf_um[k], bottom = h->zf_um[k1 + 1];
        if (bottom - top > 0.05 * depth)
          plmtex("rv", 0.5, 1.0 - 0.5 * (top + bottom) / depth, 0.0, mn_layer_name(h->layer[k]));
      }
    plschr(0, 0.9);
    plcol0(15);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    char title[128];
    snprintf(title, sizeof title, "%s, day %.2g", h->label[panel], h->t_day[panel]);
    pllab("across the cell (um)", "depth below the surface (um)", title);
    colour_bar(zmax, h->unit[panel]);
  }
}

/* Colour map 1 belongs to a stream, so it is set on the figure's own stream before drawing. */
static void fig_histology_c(const void *ctx) {
  mn__pl_viridis();
  fig_histology(ctx);
}

/* Every figure of the report into svg[0..5] (owned by the caller, mn_free; svg[4] stays NULL
 * without a section): redness, collagen, timeline, density map, histology, and the shipped Sobol
 * indices (data/sensitivity.csv, the 12 parameters that matter most). svg[] must start
 * NULL: on failure the figures made so far stay there for the caller to free. The density map
 * is the figure of `mnsim device`, written to an open_memstream; libc owns that buffer (free),
 * so it is copied into an mn_malloc block. */
int mn__plan_svgs(const mn_plan_report *rp, char *svg[MN__PLAN_FIGS], size_t len[MN__PLAN_FIGS],
                  mn_error *err) {
  int rc = MN_OK;
  const mn_plan *p = rp->po->plan;
  MN_TRY(mn__render_svg(fig_redness, p, 900, 520, &svg[0], &len[0], err));
  MN_TRY(mn__render_svg(fig_collagen, p, 900, 520, &svg[1], &len[1], err));
  MN_TRY(mn__render_svg(fig_timeline, p, 900, 300, &svg[2], &len[2], err));
  { /* the density map figure of `mnsim device`, into memory */
    mn_density_figure df = {MN_FIG_SVG,
                            &rp->figs->map,
                            &rp->figs->patch,
                            NULL,
                            0,
                            "Punctures per cm#u2#d in one session"};
    char *buf = NULL;
    FILE *mem = open_memstream(&buf, &len[3]);
    MN_CHECK(mem, err, MN_ENOMEM, "", "out of memory for a figure");
    rc = mn_report_density_map(mem, &df, err);
    if (fclose(mem) && !rc) rc = MN_ERR(err, MN_EIO, "", "cannot keep the density figure");
    if (rc == MN_OK) {
      svg[3] = mn_malloc(len[3] + 1);
      if (svg[3])
        memcpy(svg[3], buf, len[3]);
      else
        rc = MN_ERR(err, MN_ENOMEM, "", "out of memory for a figure");
    }
    free(buf); /* open_memstream's buffer */
    if (rc) goto cleanup;
  }
  if (rp->figs->has_section)
    MN_TRY(mn__render_svg(fig_histology_c, &rp->figs->section, 900, 520, &svg[4], &len[4], err));
  {
    mn_sobol s;
    MN_TRY(mn_sobol_load_shipped(&s, err));
    rc = mn_report_sobol_svg(&s, mn_sobol_output_label, 12, &svg[5], &len[5], err);
    mn_sobol_fini(&s);
  }
cleanup:
  return rc;
}
