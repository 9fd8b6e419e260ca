/* Density map figure: punctures per cm2 per map cell as an image with a colour bar, the region
 * outline and the lesions, drawn with PLplot's cairo drivers (SVG or PNG); also the PLplot
 * helpers every figure of the module shares. Pipeline: report; draws device's mn_density_map for
 * `mnsim device` and for the plan's report. Reference: PLplot 5 API (plimagefr, plcolorbar). */
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnsim/report.h"
#include "report_impl.h"

/* PLplot's plexit() calls this handler and then exit() with its return value whatever it
 * returns: remove our temporaries and make the exit status a failure. (The library never exits
 * by itself; a fatal PLplot error is the one way out it cannot prevent.) */
int mn__pl_exit_handler(PLCHAR_VECTOR msg) {
  (void)msg;
  mn_ofile_unlink_all();
  return 1;
}

/* plinit() asks on stdin for a device it does not know: make sure the driver is there first.
 * plgDevs fills at most n entries and sets n to the number it found. */
static int have_device(const char *dev) {
  const char **menu = NULL, **names = NULL;
  int n = 64;
  menu = mn_calloc((size_t)n, sizeof *menu);
  names = mn_calloc((size_t)n, sizeof *names);
  if (!menu || !names) {
    mn_free(menu);
    mn_free(names);
    return 0;
  }
  plgDevs(&menu, &names, &n);
  int found = 0;
  for (int i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], dev) == 0) found = 1;
  mn_free(menu);
  mn_free(names);
  return found;
}

/* A perceptually ordered map from dark blue through teal and green to yellow (viridis-like):
 * matplotlib's viridis at 0, 0.25, 0.5, 0.75 and 1, interpolated in RGB over 256 entries. */
void mn__pl_viridis(void) {
  PLFLT pos[] = {0.0, 0.25, 0.5, 0.75, 1.0};
  PLFLT r[] = {0.267, 0.231, 0.129, 0.369, 0.993};
  PLFLT g[] = {0.005, 0.322, 0.569, 0.788, 0.906};
  PLFLT b[] = {0.329, 0.545, 0.553, 0.384, 0.144};
  plscmap1n(256);
  plscmap1l(1, 5, pos, r, g, b, NULL);
}

/* An image colour bar on the right, 64 values from 0 to zmax. */
static void draw_colourbar(double zmax) {
  PLFLT values[64];
  for (int i = 0; i < 64; i++) values[i] = zmax * i / 63.0;
  const PLFLT *vals[1] = {values};
  PLINT n_values[1] = {64}, label_opts[1] = {PL_COLORBAR_LABEL_RIGHT}, sub_ticks[1] = {0};
  const char *labels[1] = {"punctures / cm#u2#d"}, *axis_opts[1] = {"bcvtm"};
  PLFLT ticks[1] = {0.0}, w, h;
  plcolorbar(&w, &h, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT, 0.03, 0.0, 0.04, 0.78, 0, 1, 1, 0, 0, 0,
             0, 1, label_opts, labels, 1, axis_opts, ticks, sub_ticks, n_values, vals);
}

/* The map as an image: img[i][j] with i along x, as plimagefr wants it. Cells whose centre is
 * outside the outline get -1, below the plotted range [0, zmax], which plimagefr leaves
 * unpainted. */
static void draw_map(const mn_density_map *m, PLFLT **img, double zmax) {
  for (int i = 0; i < m->nx; i++)
    for (int j = 0; j < m->ny; j++) {
      size_t k = (size_t)j * m->nx + i;
      img[i][j] = m->inside[k] ? m->per_cm2[k] : -1.0; /* below zmin: left blank */
    }
  double x1 = m->x0_mm + m->nx * m->cell_mm, y1 = m->y0_mm + m->ny * m->cell_mm;
  plimagefr((PLFLT_MATRIX)img, m->nx, m->ny, m->x0_mm, x1, m->y0_mm, y1, 0.0, zmax, 0.0, zmax, NULL,
            NULL);
}

/* The outline (closed by repeating its first vertex) in red, lesions in white: a wrinkle as its
 * centre segment, a scar as a circle of its width. */
static void draw_shapes(const mn_treatment *t, const mn_lesion *les, int nl) {
  PLFLT xs[MN_MAX_OUTLINE + 1], ys[MN_MAX_OUTLINE + 1];
  for (int i = 0; i <= t->n_outline; i++) {
    xs[i] = t->outline_mm[i % t->n_outline][0];
    ys[i] = t->outline_mm[i % t->n_outline][1];
  }
  plcol0(1);
  plwidth(2.0);
  plline(t->n_outline + 1, xs, ys);
  plcol0(2);
  for (int i = 0; i < nl; i++) {
    const mn_lesion *l = &les[i];
    if (l->type == MN_LESION_WRINKLE) {
      double a = l->angle_deg * M_PI / 180.0, h = 0.5 * l->length_mm;
      PLFLT wx[2] = {l->x_mm - h * cos(a), l->x_mm + h * cos(a)};
      PLFLT wy[2] = {l->y_mm - h * sin(a), l->y_mm + h * sin(a)};
      plline(2, wx, wy);
    } else {
      plarc(l->x_mm, l->y_mm, 0.5 * l->width_mm, 0.5 * l->width_mm, 0, 360, 0, 0);
    }
  }
  plwidth(1.0);
  plcol0(15);
}

/* The whole figure. The colour scale ends at the largest value inside the outline (1 for an
 * empty map); plvpas keeps the map's aspect ratio, so cells stay square. */
static void plot(const mn_density_map *m, PLFLT **img, const mn_treatment *t, const mn_lesion *les,
                 int nl, const char *title) {
  double zmax = 0;
  for (size_t k = 0; k < (size_t)m->nx * m->ny; k++)
    if (m->inside[k] && m->per_cm2[k] > zmax) zmax = m->per_cm2[k];
  if (zmax <= 0) zmax = 1;
  double x1 = m->x0_mm + m->nx * m->cell_mm, y1 = m->y0_mm + m->ny * m->cell_mm;
  pladv(0);
  plschr(0, 0.85);
  plvpor(0.1, 0.8, 0.1, 0.9);
  plwind(m->x0_mm, x1, m->y0_mm, y1);
  plvpas(0.1, 0.8, 0.1, 0.9, (y1 - m->y0_mm) / (x1 - m->x0_mm));
  plwind(m->x0_mm, x1, m->y0_mm, y1);
  draw_map(m, img, zmax);
  plcol0(15);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  pllab("x (mm)", "y (mm)", title);
  draw_shapes(t, les, nl);
  draw_colourbar(zmax);
}

/* Render with PLplot into the file @p tmp, on a stream of its own: the caller's current stream
 * is restored afterwards. */
static void render(const char *dev, const char *tmp, const mn_density_figure *fig, PLFLT **img) {
  PLINT strm, old;
  plgstrm(&old);
  plmkstrm(&strm);
  plsexit(mn__pl_exit_handler);
  plsdev(dev);
  plsfnam(tmp);
  plspage(0, 0, 900, 760, 0, 0);
  plscolbg(255, 255, 255);
  plscol0(15, 0, 0, 0);
  plscol0(1, 220, 40, 40);
  plscol0(2, 255, 255, 255);
  plinit();
  mn__pl_viridis();
  plot(fig->map, img, fig->t, fig->lesions, fig->n_lesions, fig->title);
  plend1();
  plsstrm(old);
}

/* Copy the rendered file into @p fp; an empty file is a failure, as PLplot reports none. */
static int copy_into(const char *tmp, FILE *fp, mn_error *err) {
  FILE *in = fopen(tmp, "rb");
  if (!in) return MN_ERR(err, MN_EIO, "", "PLplot wrote no figure (%s)", tmp);
  char buf[65536];
  size_t n, total = 0;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) total += fwrite(buf, 1, n, fp) == n ? n : 0;
  int bad = ferror(in) || ferror(fp);
  fclose(in);
  if (bad || total == 0)
    return MN_ERR(err, MN_EIO, "", "cannot copy the rendered figure (%s)", tmp);
  return MN_OK;
}

/* PLplot writes to a file name, not to a stream: render into a private temporary, then copy it
 * into @p fp (the stream of an atomic output file, or memory). The temporary is named by mkstemp
 * in /tmp, without the '%' that PLplot reads as its family-file marker in a name (output paths
 * containing one broke). */
int mn_report_density_map(FILE *fp, const void *ctx, mn_error *err) {
  const mn_density_figure *fig = ctx;
  const mn_density_map *m = fig->map;
  const char *dev = fig->format == MN_FIG_PNG ? "pngcairo" : "svgcairo";
  if (!have_device(dev))
    return MN_ERR(err, MN_EIO, "", "PLplot has no '%s' driver: install plplot-driver-cairo", dev);
  PLFLT **img = mn_malloc_array((size_t)m->nx, sizeof *img);
  PLFLT *cells = mn_malloc_array((size_t)m->nx * (size_t)m->ny, sizeof *cells);
  int rc = MN_OK;
  if (!img || !cells) {
    rc = MN_ERR(err, MN_ENOMEM, "", "out of memory drawing the density map");
  } else {
    for (int i = 0; i < m->nx; i++) img[i] = cells + (size_t)i * m->ny;
    char tmp[320]; /* a name PLplot cannot misread */
    mn_tmp_template(tmp, sizeof tmp, "mnsim-plot");
    int fd = mkstemp(tmp);
    if (fd < 0) {
      rc = MN_ERR(err, MN_EIO, "", "cannot create a temporary file %s for a figure: %s", tmp,
                  strerror(errno));
    } else {
      close(fd);
      mn_ofile_track(tmp); /* a fatal PLplot error or a signal removes it */
      render(dev, tmp, fig, img);
      rc = copy_into(tmp, fp, err);
      unlink(tmp);
      mn_ofile_untrack(tmp);
    }
  }
  mn_free(img);
  mn_free(cells);
  return rc;
}
