/* report.html of `mnsim plan` (issue 5): one self-contained, printable page with the plan, the
 * screening with its sources, figures drawn with PLplot (embedded as SVG data URIs, so each
 * figure's ids stay its own) and patient-facing aftercare text. Stage: report. */
#include <math.h>
#include <plplot.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnsim/report.h"
#include "report_impl.h"

#define WEEK 7.0

/* ---- rendering a figure into memory --------------------------------------------------------- */

typedef void (*draw_fn)(const void *ctx);

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

static int render_svg(draw_fn draw, const void *ctx, int w, int h, char **out, size_t *len,
                      mn_error *err) {
  *out = NULL, *len = 0;
  char tmp[] = "/tmp/mnsim-fig-XXXXXX";
  int fd = mkstemp(tmp);
  if (fd < 0) return MN_ERR(err, MN_EIO, "", "cannot create a temporary file for a figure");
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

static void put_base64(FILE *fp, const char *s, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)s[i] << 16;
    if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)s[i + 2];
    fputc(tab[(v >> 18) & 63], fp);
    fputc(tab[(v >> 12) & 63], fp);
    fputc(i + 1 < n ? tab[(v >> 6) & 63] : '=', fp);
    fputc(i + 2 < n ? tab[v & 63] : '=', fp);
  }
}

/* HTML text with &, <, > escaped */
static void esc(FILE *fp, const char *s) {
  for (; *s; s++) switch (*s) {
      case '&':
        fputs("&amp;", fp);
        break;
      case '<':
        fputs("&lt;", fp);
        break;
      case '>':
        fputs("&gt;", fp);
        break;
      case '"':
        fputs("&quot;", fp);
        break;
      default:
        fputc(*s, fp);
    }
}

static void escf(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void escf(FILE *fp, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  esc(fp, buf);
}

/* ---- the figures ------------------------------------------------------------------------------
 */

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

static void line(int n, const double *t, const double *mid, int col) {
  plcol0(col);
  plwidth(2.5);
  plline(n, (PLFLT *)t, (PLFLT *)mid);
  plwidth(1.0);
}

static void legend(const mn_plan *p, int extra_threshold) {
  PLINT n = p->n_regions + extra_threshold, opt[MN_PLAN_MAX_REGIONS + 1],
        tcol[MN_PLAN_MAX_REGIONS + 1], lcol[MN_PLAN_MAX_REGIONS + 1], lsty[MN_PLAN_MAX_REGIONS + 1];
  PLFLT lw[MN_PLAN_MAX_REGIONS + 1], w, h;
  const char *text[MN_PLAN_MAX_REGIONS + 1];
  static char names[MN_PLAN_MAX_REGIONS][96];
  for (int i = 0; i < p->n_regions; i++) {
    snprintf(names[i], sizeof names[i], "%s (%s)", p->region[i].skin.region,
             mn_concern_name(p->region[i].req.concern));
    text[i] = names[i], opt[i] = PL_LEGEND_LINE, tcol[i] = 15, lcol[i] = 1 + i % 4, lsty[i] = 1,
    lw[i] = 2;
  }
  if (extra_threshold) {
    int k = p->n_regions;
    text[k] = "visible (threshold)", opt[k] = PL_LEGEND_LINE, tcol[k] = 15, lcol[k] = 15,
    lsty[k] = 2, lw[k] = 1;
  }
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_TOP | PL_POSITION_RIGHT, 0.02, 0.02, 0.1, 0, 5, 1, 0, 0, n, opt, 1.0, 1.0,
           2.0, 1.0, tcol, text, NULL, NULL, NULL, NULL, lcol, lsty, lw, NULL, NULL, NULL, NULL);
}

static void fig_redness(const void *ctx) {
  const mn_plan *p = ctx;
  double ymax = 0.1, thr = 0;
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    for (int h = 0; h < r->nweek; h++) ymax = fmax(ymax, r->week_red[2][h]);
    thr = fmax(thr, r->redness_threshold);
  }
  plvpor(0.09, 0.97, 0.12, 0.9);
  plwind(0, 7, 0, 1.1 * fmax(ymax, thr));
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    band(r->nweek, r->week_t, r->week_red[0], r->week_red[2], 1 + i % 4);
  }
  for (int i = 0; i < p->n_regions; i++)
    line(p->region[i].nweek, p->region[i].week_t, p->region[i].week_red[1], 1 + i % 4);
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

static void fig_collagen(const void *ctx) {
  const mn_plan *p = ctx;
  double ymin = 0, ymax = 1;
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    for (int t = 0; t < r->nyear; t++)
      ymax = fmax(ymax, r->year_gain[2][t]), ymin = fmin(ymin, r->year_gain[0][t]);
  }
  plvpor(0.09, 0.97, 0.12, 0.9);
  plwind(0, 365, ymin, 1.05 * ymax);
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    band(r->nyear, r->year_t, r->year_gain[0], r->year_gain[2], 1 + i % 4);
  }
  for (int i = 0; i < p->n_regions; i++)
    line(p->region[i].nyear, p->region[i].year_t, p->region[i].year_gain[1], 1 + i % 4);
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

static void fig_timeline(const void *ctx) {
  const mn_plan *p = ctx;
  double end = p->review_day + 10;
  plvpor(0.16, 0.97, 0.2, 0.82);
  plwind(-3, end, 0, 4);
  for (int s = 0; s < p->sessions; s++) {
    double d = p->session_day[s], red = 0, sun = 0;
    for (int i = 0; i < p->n_regions; i++)
      if (s < p->region[i].sessions)
        red = fmax(red, p->region[i].redness_days[2]), sun = fmax(sun, p->region[i].sun_days[2]);
    sun = fmax(sun, red);
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
  plmtex("lv", 1.0, 0.125, 1.0, "6-month review");
  pllab("days from the first session", "", "Session timeline");
}

typedef struct histology {
  const mn_grid *g;
  const double *f[2];
  const char *label[2];
  double t[2];
} histology;

static void fig_histology(const void *ctx) {
  const histology *h = ctx;
  const mn_grid *g = h->g;
  int j = g->ny / 2;
  double w_um = g->dx_um * g->nx, depth = g->zf_um[g->nz];
  for (int panel = 0; panel < 2; panel++) {
    double zmax = 1e-12;
    for (int k = 0; k < g->nz; k++)
      for (int i = 0; i < g->nx; i++) zmax = fmax(zmax, h->f[panel][mn_grid_at(g, i, j, k)]);
    PLFLT **img = mn_malloc_array((size_t)g->nx, sizeof *img);
    PLFLT *cells = mn_malloc_array((size_t)g->nx * (size_t)g->nz, sizeof *cells);
    if (!img || !cells) {
      mn_free(img);
      mn_free(cells);
      return;
    }
    for (int i = 0; i < g->nx; i++) {
      img[i] = cells + (size_t)i * (size_t)g->nz;
      for (int k = 0; k < g->nz; k++) img[i][k] = h->f[panel][mn_grid_at(g, i, j, k)];
    }
    /* depth grows downwards: map row k to -depth; cells are not uniform in z, so draw each
     * column of cells as filled boxes */
    double x0 = 0.06 + panel * 0.48, x1 = x0 + 0.40;
    plvpor(x0, x1, 0.12, 0.86);
    plwind(0, w_um, -depth, 0);
    for (int i = 0; i < g->nx; i++)
      for (int k = 0; k < g->nz; k++) {
        double v = img[i][k] / zmax;
        plcol1(fmin(1, fmax(0, v)));
        PLFLT bx[4] = {i * g->dx_um, (i + 1) * g->dx_um, (i + 1) * g->dx_um, i * g->dx_um};
        PLFLT by[4] = {-g->zf_um[k + 1], -g->zf_um[k + 1], -g->zf_um[k], -g->zf_um[k]};
        plfill(4, bx, by);
      }
    /* layer boundaries */
    plcol0(15);
    pllsty(2);
    for (int k = 1; k < g->nz; k++) {
      uint8_t a = g->cell[mn_grid_at(g, 0, j, k - 1)], b = g->cell[mn_grid_at(g, 0, j, k)];
      if (a != b) {
        PLFLT lx[2] = {0, w_um}, ly[2] = {-g->zf_um[k], -g->zf_um[k]};
        plline(2, lx, ly);
      }
    }
    pllsty(1);
    plcol0(15);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    char title[128];
    snprintf(title, sizeof title, "%s, day %.2g (max %.2g)", h->label[panel], h->t[panel], zmax);
    pllab("across the cell (um)", panel ? "" : "depth (um)", title);
    mn_free(img);
    mn_free(cells);
  }
}

static void fig_histology_c(const void *ctx) {
  mn__pl_viridis();
  fig_histology(ctx);
}

/* ---- the computations behind two figures ------------------------------------------------------
 */

/* the first region's setting on a 10 x 10 mm patch: its passes at the hand speed that gives the
 * planner's density per pass */
static int density_map(const mn_plan_report *rp, mn_density_map *m, mn_treatment *tr,
                       mn_error *err) {
  int rc = MN_OK;
  const mn_plan_region *r = &rp->po->plan->region[0];
  size_t n;
  mn_device dev;
  mn_puncture_set *set = NULL;
  memset(&dev, 0, sizeof dev);
  memset(m, 0, sizeof *m);
  MN_TRY(mn_device_init_at(&dev, rp->cat, rp->po->pf->req.device, r->depth_mm, err));
  mn_treatment t;
  memset(&t, 0, sizeof t);
  double pts[4][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
  memcpy(t.outline_mm, pts, sizeof pts);
  t.n_outline = 4;
  t.seed = rp->po->pf->req.seed;
  const mn_config_desc *ptab = mn_pass_param_table(&n);
  for (int i = 0; i < r->passes && i < MN_MAX_PASSES; i++) {
    mn_config_defaults(ptab, n, &t.passes[i]);
    t.passes[i].direction = i % 2 ? MN_DIR_VERTICAL : MN_DIR_HORIZONTAL;
    double d0 = mn_device_pass_density_cm2(&dev, &t.passes[i]);
    t.passes[i].speed_mm_per_s *= d0 / (r->density_cm2 / r->passes); /* density ~ 1 / speed */
  }
  t.n_passes = r->passes;
  MN_TRY(mn_device_punctures(&dev, &t, &set, err));
  MN_TRY(mn_density_map_build(&t, set, 1.0, m, err));
  *tr = t;
cleanup:
  mn_puncture_set_destroy(set);
  mn_device_fini(&dev);
  return rc;
}

/* a short 3D run of the first region's setting on a periodic unit cell: the damage right after
 * the session and the neutrophils a day later */
static int histology_run(const mn_plan_report *rp, mn_grid **g, double **f0, double **f1,
                         double t[2], mn_error *err) {
  int rc = MN_OK;
  const mn_plan_region *r = &rp->po->plan->region[0];
  mn_solver *s = NULL;
  mn_injury inj;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  memset(&inj, 0, sizeof inj);
  *g = NULL, *f0 = *f1 = NULL;
  size_t n;
  MN_TRY(mn_device_init_at(&dev, rp->cat, rp->po->pf->req.device, r->depth_mm, err));
  mn_grid_params gp;
  const mn_config_desc *tab = mn_grid_param_table(&n);
  mn_config_defaults(tab, n, &gp);
  double w = 10.0 / sqrt(r->density_cm2);
  gp.dx_um = 1000.0 * w / fmax(8, round(1000.0 * w / 25.0)); /* about 25 um, whole cells */
  MN_TRY(mn_grid_create(&gp, &r->skin, NULL, 0, 0, 0, w, w, g, err));
  mn_solver_params sp;
  tab = mn_solver_param_table(&n);
  mn_config_defaults(tab, n, &sp);
  sp.threads = rp->po->pf->req.threads;
  MN_TRY(mn_solver_create(&sp, *g, &rp->ps->p, rp->po->pf->req.patient.fitzpatrick, &s, err));
  MN_TRY(mn_injury_init(*g, &inj, err));
  mn_injury_add_channel(*g, &r->skin, &dev, 0.5 * w, 0.5 * w,
                        1000.0 * r->depth_mm * dev.depth_ratio, 3, &inj);
  mn_solver_apply_injury(s, &inj);
  *f0 = mn_grid_field(*g);
  *f1 = mn_grid_field(*g);
  MN_CHECK(*f0 && *f1, err, MN_ENOMEM, "", "out of memory");
  mn_step_info info;
  t[0] = 0.05, t[1] = 1.0;
  MN_TRY(mn_solver_step(s, t[0], &info, err));
  memcpy(*f0, mn_solver_field_c(s, MN_SP_D), (*g)->ncell * sizeof(double));
  MN_TRY(mn_solver_step(s, t[1], &info, err));
  memcpy(*f1, mn_solver_field_c(s, MN_SP_N), (*g)->ncell * sizeof(double));
cleanup:
  mn_injury_fini(&inj);
  mn_solver_destroy(s);
  mn_device_fini(&dev);
  return rc;
}

/* ---- the page ---------------------------------------------------------------------------------
 */

static void figure(FILE *fp, const char *svg, size_t len, const char *alt, const char *caption) {
  fputs("<figure><img class=\"fig\" alt=\"", fp);
  esc(fp, alt);
  fputs("\" src=\"data:image/svg+xml;base64,", fp);
  put_base64(fp, svg, len);
  fputs("\"><figcaption>", fp);
  esc(fp, caption);
  fputs("</figcaption></figure>\n", fp);
}

static const char *verdict_text(int v) {
  switch (v) {
    case MN_CAND_PROCEED:
      return "Proceed";
    case MN_CAND_PRECAUTIONS:
      return "Proceed with precautions";
    case MN_CAND_REFER:
      return "Refer: clearance by a physician first";
    default:
      return "Do not treat";
  }
}

static void aftercare(FILE *fp, const mn_plan *p) {
  long start = mn_date_days(p->start);
  double red = 0, sun = 0, med = 0;
  for (int i = 0; i < p->n_regions; i++) {
    red = fmax(red, p->region[i].redness_days[2]);
    med = fmax(med, p->region[i].redness_days[1]);
    sun = fmax(sun, fmax(p->region[i].sun_days[2], p->region[i].redness_days[2]));
  }
  fputs("<section class=\"patient\"><h2>For the patient: what to expect</h2>\n", fp);
  if (!p->treat) {
    fputs(
        "<p>Your clinician will talk with you about whether micro-needling is right for you "
        "before any treatment is planned.</p></section>\n",
        fp);
    return;
  }
  fputs("<ul>\n", fp);
  fprintf(fp,
          "<li><b>Treatment day.</b> The skin looks and feels like a mild sunburn: red, warm, "
          "perhaps tight. Keep it clean; use only a gentle cleanser and the moisturiser you were "
          "given. No make-up for 24 hours.</li>\n"
          "<li><b>Days 1 to %.0f.</b> The redness fades, usually within %.1f days and almost "
          "always within %.1f days. Skin may feel dry or flake a little: do not pick or scrub. "
          "No retinoids, acids, exfoliants, saunas or swimming pools until the redness has "
          "gone.</li>\n",
          ceil(red), med, red);
  fprintf(fp,
          "<li><b>Sun.</b> Stay out of direct sun and use a broad-spectrum sunscreen (SPF 30 "
          "or more) while the skin heals, at least %.0f days after each session:</li>\n<ul>\n",
          ceil(sun));
  for (int s = 0; s < p->sessions; s++) {
    char d0[16], d1[16];
    long a = start + (long)llround(p->session_day[s]);
    mn_date_format(a, d0);
    mn_date_format(a + (long)ceil(sun), d1);
    fprintf(fp, "<li>session %d on %s: avoid the sun until %s</li>\n", s + 1, d0, d1);
  }
  fputs("</ul>\n", fp);
  char rv[16];
  mn_date_format(start + (long)llround(p->review_day), rv);
  fprintf(fp,
          "<li><b>The weeks after.</b> New collagen keeps forming for about six months after the "
          "last session, so the full effect shows slowly. Keep using sunscreen every day.</li>\n"
          "<li><b>Call the clinic</b> if the redness lasts beyond a week, if blisters, crusts, "
          "pus, cold sores or dark patches appear, or if anything worries you.</li>\n"
          "<li><b>Review.</b> %s: photographs are compared and further sessions decided.</li>\n"
          "</ul></section>\n",
          rv);
}

int mn_report_plan_html(FILE *fp, const void *ctx, mn_error *err) {
  const mn_plan_report *rp = ctx;
  const mn_plan *p = rp->po->plan;
  const mn_patient_file *pf = rp->po->pf;
  const mn_plan_request *q = &pf->req;
  int rc = MN_OK;
  char *svg[5] = {0};
  size_t len[5] = {0};
  mn_density_map map;
  mn_grid *g = NULL;
  double *f0 = NULL, *f1 = NULL;
  memset(&map, 0, sizeof map);
  histology h = {0};
  MN_TRY(render_svg(fig_redness, p, 900, 480, &svg[0], &len[0], err));
  MN_TRY(render_svg(fig_collagen, p, 900, 480, &svg[1], &len[1], err));
  MN_TRY(render_svg(fig_timeline, p, 900, 300, &svg[2], &len[2], err));
  mn_treatment patch;
  MN_TRY(density_map(rp, &map, &patch, err));
  { /* the density map figure of `mnsim device`, into memory */
    mn_density_figure df = {MN_FIG_SVG, &map, &patch,
                            NULL,       0,    "Punctures per cm#u2#d in one session"};
    FILE *mem = open_memstream(&svg[3], &len[3]);
    MN_CHECK(mem, err, MN_ENOMEM, "", "out of memory for a figure");
    rc = mn_report_density_map(mem, &df, err);
    if (fclose(mem) && !rc) rc = MN_ERR(err, MN_EIO, "", "cannot keep the density figure");
    if (rc) goto cleanup;
  }
  if (rp->histology) {
    MN_TRY(histology_run(rp, &g, &f0, &f1, h.t, err));
    h.g = g, h.f[0] = f0, h.f[1] = f1, h.label[0] = "damage D", h.label[1] = "neutrophils N";
    MN_TRY(render_svg(fig_histology_c, &h, 900, 520, &svg[4], &len[4], err));
  }
  long start = mn_date_days(p->start);
  fputs(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      fp);
  escf(fp, "mnsim plan: %s", pf->description[0] ? pf->description : pf->file);
  fputs(
      "</title>\n<style>\n"
      "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:60em;margin:2em auto;"
      "padding:0 1em;color:#222;line-height:1.4}\n"
      "h1{font-size:1.6em;margin-bottom:0.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;"
      "padding-bottom:0.2em;margin-top:1.6em}\n"
      "table{border-collapse:collapse;width:100%;margin:0.6em 0;font-size:0.92em}"
      "th,td{border:1px solid #ccc;padding:0.3em 0.5em;text-align:left;vertical-align:top}"
      "th{background:#f2f2f2}\n"
      ".verdict{font-size:1.2em;font-weight:bold;padding:0.5em;border-left:6px solid #888;"
      "background:#f7f7f7}.v0{border-color:#2ca02c}.v1{border-color:#ff7f0e}"
      ".v2{border-color:#d62728}.v3{border-color:#7f0000}\n"
      ".note{background:#fff8e0;border:1px solid #e8d48b;padding:0.6em;margin:0.8em 0}\n"
      "figure{margin:1em 0;page-break-inside:avoid}img.fig{width:100%;height:auto;"
      "border:1px solid #ddd}figcaption{font-size:0.9em;color:#444}\n"
      ".patient{border:2px solid #1f77b4;padding:0 1em 0.6em;border-radius:6px}\n"
      "@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}"
      ".patient{page-break-before:always}}\n"
      "</style>\n"
      /* marks the figures that decoded (a test reads the attributes from the DOM) */
      "<script>window.addEventListener('load',function(){var n=0,b=0;"
      "for(var i=0;i<document.images.length;i++){var m=document.images[i];"
      "if(m.complete&&m.naturalWidth>0)n++;else b++;}"
      "document.body.setAttribute('data-figures',n);"
      "document.body.setAttribute('data-broken',b);});</script>\n"
      "</head><body>\n",
      fp);
  fputs("<h1>Micro-needling plan</h1>\n<p>", fp);
  escf(fp, "%s", pf->description);
  fputs("<br>", fp);
  escf(fp, "Patient: %g years, %s, Fitzpatrick %s. Patient file: %s. Report made %s with mnsim %s.",
       q->patient.age_y, q->patient.sex ? "male" : "female",
       mn_fitzpatrick_name(q->patient.fitzpatrick), pf->file, rp->today, mn_version());
  fputs(
      "</p>\n<p class=\"note\"><b>mnsim supports the clinician's decision and does not replace "
      "it.</b> Every prediction below comes with its uncertainty (the 90 % band over the "
      "model's parameter draws) and its sources; where the evidence is thin the report says "
      "so.</p>\n",
      fp);
  /* candidacy */
  fprintf(fp, "<h2>Candidacy screening</h2>\n<p class=\"verdict v%d\">", p->cand.verdict);
  esc(fp, verdict_text(p->cand.verdict));
  fputs("</p>\n", fp);
  if (p->cand.n == 0)
    fputs("<p>No rule of the screening table applies to what the patient file lists.</p>\n", fp);
  else {
    fputs(
        "<table><tr><th>rule</th><th>verdict</th><th>found</th><th>reason</th>"
        "<th>precaution</th><th>source (evidence)</th></tr>\n",
        fp);
    for (int i = 0; i < p->cand.n; i++) {
      const mn_candidacy_rule *r = p->cand.match[i];
      fputs("<tr><td>", fp);
      esc(fp, r->id);
      fputs("</td><td>", fp);
      esc(fp, mn_candidacy_verdict_name(r->verdict));
      fputs("</td><td>", fp);
      esc(fp, p->cand.detail[i]);
      fputs("</td><td>", fp);
      esc(fp, r->reason);
      fputs("</td><td>", fp);
      esc(fp, r->precaution);
      fputs("</td><td>", fp);
      escf(fp, "%s (%s)", r->source, r->evidence);
      fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
  }
  /* the plan */
  fputs("<h2>The plan</h2>\n", fp);
  if (!p->treat)
    fputs(
        "<p class=\"note\">The screening does not clear treatment: no session is scheduled. "
        "The protocol below is what the model would suggest once a physician has cleared the "
        "patient.</p>\n",
        fp);
  char rv[16];
  mn_date_format(start + (long)llround(p->review_day), rv);
  fprintf(fp, "<p>%d session%s, every %g weeks, from %s; review on %s.", p->sessions,
          p->sessions == 1 ? "" : "s", p->interval_days / WEEK, p->start, rv);
  if (!p->reached)
    fputs(" <b>Not every goal is reached within the constraints: the best plan is shown.</b>", fp);
  fputs("</p>\n", fp);
  if (p->note[0]) {
    fputs("<p class=\"note\">", fp);
    esc(fp, p->note);
    fputs("</p>\n", fp);
  }
  fputs("<table><tr><th>session</th><th>date</th><th>regions</th></tr>\n", fp);
  for (int s = 0; s < p->sessions; s++) {
    char d[16];
    mn_date_format(start + (long)llround(p->session_day[s]), d);
    fprintf(fp, "<tr><td>%d</td><td>%s</td><td>", s + 1, d);
    for (int i = 0, first = 1; i < p->n_regions; i++)
      if (s < p->region[i].sessions) {
        escf(fp, "%s%s", first ? "" : ", ", p->region[i].skin.region);
        first = 0;
      }
    fputs("</td></tr>\n", fp);
  }
  fputs(
      "</table>\n<table><tr><th>region</th><th>setting</th><th>sessions</th><th>goal</th>"
      "<th>at the review: median [90 % band]</th><th>probability</th><th>redness per session"
      "</th><th>sun avoidance</th><th>PIH risk (uncalibrated)</th></tr>\n",
      fp);
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    fputs("<tr><td>", fp);
    escf(fp, "%s: %s %s", r->skin.region, mn_severity_name(r->req.severity),
         mn_concern_name(r->req.concern));
    fputs("</td><td>", fp);
    escf(fp, "%s at %.2f mm, %d pass%s (%.0f/cm2)", q->device, r->depth_mm, r->passes,
         r->passes == 1 ? "" : "es", r->density_cm2);
    fprintf(fp, "</td><td>%d</td><td>", r->sessions);
    if (r->quantity == MN_GOAL_NONE)
      fputs("none modelled (clinic protocol)</td><td>-</td><td>-", fp);
    else {
      escf(fp, "%s >= %.0f %%", r->quantity == MN_GOAL_FILL ? "fill" : "papillary collagen",
           r->goal_pct);
      fprintf(fp, "</td><td>%.1f %% [%.1f, %.1f]</td><td>%.0f %%%s", r->outcome[1], r->outcome[0],
              r->outcome[2], 100 * r->probability, r->reached ? "" : " (goal not reached)");
    }
    fprintf(fp,
            "</td><td>%.1f d [%.1f, %.1f]</td><td>%.1f d [%.1f, %.1f]</td><td>%.0f %% "
            "[%.0f, %.0f]</td></tr>\n",
            r->redness_days[1], r->redness_days[0], r->redness_days[2], r->sun_days[1],
            r->sun_days[0], r->sun_days[2], r->pih_pct[1], r->pih_pct[0], r->pih_pct[2]);
  }
  fputs("</table>\n", fp);
  /* figures */
  fputs("<h2>Figures</h2>\n", fp);
  figure(fp, svg[0], len[0], "redness over the first week",
         "Redness index after one session (hourly): the line is the median over the parameter "
         "draws, the shade the 90 % band; above the dashed threshold redness is visible for this "
         "skin type.");
  figure(fp, svg[1], len[1], "collagen gain over 12 months",
         "Papillary collagen change over the first year of the course (daily, superposed "
         "sessions): median and 90 % band; dashed lines mark the sessions.");
  figure(fp, svg[2], len[2], "session timeline",
         "The course: sessions, the redness window and the sun-avoidance window after each "
         "(95th percentile), and the 6-month review.");
  char cap[400];
  snprintf(cap, sizeof cap,
           "Puncture density of one session of the first region's setting (%s at %.2f mm, %d "
           "pass%s) on a 10 x 10 mm patch, 1 mm cells.",
           q->device, p->region[0].depth_mm, p->region[0].passes,
           p->region[0].passes == 1 ? "" : "es");
  figure(fp, svg[3], len[3], "puncture density map", cap);
  if (rp->histology) {
    snprintf(cap, sizeof cap,
             "Virtual histology: a cross-section through one channel of the first region's "
             "setting in a short 3D run (periodic unit cell, %.0f um cells): tissue damage right "
             "after the session and neutrophils a day later; dashed lines are the layer "
             "boundaries (stratum corneum, viable epidermis, papillary and reticular dermis).",
             g->dx_um);
    figure(fp, svg[4], len[4], "virtual histology cross-section", cap);
  }
  aftercare(fp, p);
  /* evidence */
  fputs("<h2>Evidence and limits</h2>\n<ul>\n", fp);
  fprintf(fp,
          "<li>Predictions: the lumped twin of mnsim's healing model over %d draws of the "
          "posterior parameter ensemble (docs/calibration.md), %d model runs; a goal counts as "
          "reached when at least %.0f %% of the draws reach it.</li>\n",
          p->draws_used, p->evaluations, 100 * q->constraints.probability);
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    fputs("<li>", fp);
    escf(fp, "%s: indication %s/%s from data/indications.csv (%s; evidence %s). Depth: %s.",
         r->skin.region, mn_concern_name(r->req.concern), mn_severity_name(r->req.severity),
         r->ind ? r->ind->source : "", r->ind ? r->ind->evidence : "", r->depth_reason);
    fputs("</li>\n", fp);
  }
  fputs(
      "<li>The pigmentation (PIH) risk is not calibrated against any data and is shown for "
      "information only; it does not enter the choice of the plan.</li>\n"
      "<li>The uncertainty shown is the model's parameter uncertainty, not the spread between "
      "patients.</li>\n</ul>\n</body></html>\n",
      fp);
  if (ferror(fp)) rc = MN_ERR(err, MN_EIO, "", "report.html: write failed");
cleanup:
  for (int i = 0; i < 5; i++)
    if (i == 3)
      free(svg[i]); /* open_memstream's buffer */
    else
      mn_free(svg[i]);
  mn_density_map_fini(&map);
  mn_free(f0);
  mn_free(f1);
  mn_grid_destroy(g);
  return rc;
}
