/* LOD backward-Euler diffusion on the layered grid (research/models.md 6.2-6.3): three implicit
 * 1D finite-volume sweeps (x, y, z), each a tridiagonal system per grid line solved by the
 * Thomas algorithm; periodic lines are cyclic systems solved by Sherman-Morrison with two
 * substitutions on one factorisation. Rows are in mass form, so each sweep conserves
 *   sum_k dz_k u_k  exactly (up to round-off) under zero flux and no decay.
 * Face diffusivity: harmonic mean of the two cells (0 if the species is absent in either);
 * z faces use the resistance form G = 1 / (dz_a / 2 D_a + dz_b / 2 D_b).
 * Row of cell q:  (m_q (1 + dt lambda / 3) + w_lo + w_hi) u_q - w_lo u_{q-1} - w_hi u_{q+1}
 *                 = m_q u_q^old,   m_q = 1 (x, y) or dz_q (z),  w = dt D_face / dx^2 (x, y). */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "healing_impl.h"

static size_t lod_work(const mn_grid *g);

size_t mn_diffusion_work(const mn_grid *g) {
  size_t nx = (size_t)g->nx, ny = (size_t)g->ny, nz = (size_t)g->nz;
  /* y sweep: five [ny][nx] arrays and the wrap weights; z sweep: four [nz][nx]; x: five [nx];
   * each with a double copy of a float field's plane, slab or line (float storage); fused
   * passes: two planes, fourteen rows and the factors (lod_work) */
  size_t w = 6 * nx * (ny > nz ? ny : nz) + 7 * nx + 5 * ny + 64, f = lod_work(g);
  return ((w > f ? w : f) + 7) / 8 * 8; /* slices of 64 bytes */
}

/* Diffusivity table by cell code, in um2/day. */
static void code_table(const double D_layer[MN_LAYER_HYPO], double Dc[256]) {
  for (int c = 0; c < 256; c++) Dc[c] = 0;
  for (int l = 0; l < MN_LAYER_HYPO; l++) Dc[l] = 1e6 * D_layer[l];
}

static inline double harmonic(double a, double b) {
  return a > 0 && b > 0 ? 2 * a * b / (a + b) : 0;
}

/* Solve one contiguous line of n cells in place: sub/super weights wlo[q], whi[q], diagonal
 * extra `dec`, cyclic if `wrap` >= 0 (weight of the face between cell n-1 and cell 0). */
static void line_solve(double *u, int n, const double *wlo, const double *whi, double dec,
                       double wrap, double *cp, double *im, double *z) {
  /* factor: cp = modified super-diagonal, im = 1 / modified diagonal */
  double b0 = 1 + dec + wlo[0] + whi[0], gamma = -b0;
  double beta = -wrap, alpha = -wrap; /* A[0][n-1], A[n-1][0] */
  int cyc = wrap >= 0;
  for (int q = 0; q < n; q++) {
    double b = 1 + dec + wlo[q] + whi[q];
    if (cyc && q == 0) b -= gamma;
    if (cyc && q == n - 1) b -= alpha * beta / gamma;
    double a = q ? -wlo[q] : 0, m = b - (q ? a * cp[q - 1] : 0);
    im[q] = 1 / m;
    cp[q] = -whi[q] * im[q];
  }
  /* forward/backward substitution of the right-hand side (and of the correction vector) */
  u[0] *= im[0];
  for (int q = 1; q < n; q++) u[q] = (u[q] + wlo[q] * u[q - 1]) * im[q];
  for (int q = n - 2; q >= 0; q--) u[q] -= cp[q] * u[q + 1];
  if (!cyc) return;
  for (int q = 0; q < n; q++) z[q] = 0;
  z[0] = gamma * im[0];
  for (int q = 1; q < n; q++) z[q] = ((q == n - 1 ? alpha : 0) + wlo[q] * z[q - 1]) * im[q];
  for (int q = n - 2; q >= 0; q--) z[q] -= cp[q] * z[q + 1];
  double f = (u[0] + beta * u[n - 1] / gamma) / (1 + z[0] + beta * z[n - 1] / gamma);
  for (int q = 0; q < n; q++) u[q] -= f * z[q];
}

/* A field of the general path: double, or float32 storage (f not NULL) solved through a double
 * copy of each line, plane or slab. */
typedef struct lod_fref {
  double *d;
  float *f;
} lod_fref;

/* Rows of n values at from + r * rs (r < nr) to and from the contiguous double rows of to. */
static void rows_in(const float *from, size_t rs, int nr, int n, double *to) {
  for (int r = 0; r < nr; r++)
    for (int i = 0; i < n; i++) to[(size_t)r * n + i] = from[(size_t)r * rs + i];
}
static void rows_out(const double *from, int nr, int n, float *to, size_t rs) {
  for (int r = 0; r < nr; r++)
    for (int i = 0; i < n; i++) to[(size_t)r * rs + i] = (float)from[(size_t)r * n + i];
}

/* x sweep of plane k: each j-line solved on its own (contiguous). */
static void sweep_x(const mn_grid *g, lod_fref uf, const double *Dc, double dt, double dec, int k,
                    double *w) {
  int nx = g->nx, cyc = g->lateral_bc == MN_BC_PERIODIC;
  double *wlo = w, *whi = w + nx, *cp = w + 2 * nx, *im = w + 3 * nx, *z = w + 4 * nx;
  double *line = w + 5 * nx;
  double s = dt / (g->dx_um * g->dx_um);
  for (int j = 0; j < g->ny; j++) {
    size_t o = mn_grid_at(g, 0, j, k);
    const uint8_t *c = g->cell + o;
    for (int i = 0; i <= nx; i++) { /* face i-1/2 for i = 0..nx (halo cells at both ends) */
      double wf = s * harmonic(Dc[c[i - 1]], Dc[c[i]]);
      if (i < nx) wlo[i] = wf;
      if (i > 0) whi[i - 1] = wf;
    }
    double wrap = cyc ? wlo[0] : -1;
    if (!cyc) wlo[0] = whi[nx - 1] = 0;
    if (uf.f) {
      rows_in(uf.f + o, 0, 1, nx, line);
      line_solve(line, nx, wlo, whi, dec, wrap, cp, im, z);
      rows_out(line, 1, nx, uf.f + o, 0);
    } else {
      line_solve(uf.d + o, nx, wlo, whi, dec, wrap, cp, im, z);
    }
  }
}

/* Batched solve of m lines of n cells, line l at position q at u[q * qs + l] (the m lines are
 * contiguous, so the recurrences run as vector loops over l). wlo/whi/mass are [n][m]. */
static void batch_solve(double *u, int n, int m, size_t qs, const double *wlo, const double *whi,
                        const double *mass, double dec, const double *wrap, double *cp, double *im,
                        double *z) {
  for (int q = 0; q < n; q++) {
    const double *lo = wlo + (size_t)q * m, *hi = whi + (size_t)q * m;
    double *cq = cp + (size_t)q * m, *iq = im + (size_t)q * m, *uq = u + (size_t)q * qs;
    const double *cprev = cp + (size_t)(q - 1) * m, *uprev = u + (size_t)(q - 1) * qs;
    for (int l = 0; l < m; l++) {
      double mq = mass ? mass[q] : 1.0;
      double b = mq * (1 + dec) + lo[l] + hi[l];
      if (wrap) {
        double b0 = (mass ? mass[0] : 1.0) * (1 + dec) + wlo[l] + whi[l];
        if (q == 0) b += b0;                         /* b - gamma, gamma = -b0 */
        if (q == n - 1) b += wrap[l] * wrap[l] / b0; /* b - alpha beta / gamma */
      }
      double mm = b - (q ? -lo[l] * cprev[l] : 0);
      iq[l] = 1 / mm;
      cq[l] = -hi[l] * iq[l];
      uq[l] = (mq * uq[l] + (q ? lo[l] * uprev[l] : 0)) * iq[l];
    }
  }
  for (int q = n - 2; q >= 0; q--) {
    double *uq = u + (size_t)q * qs;
    const double *un = u + (size_t)(q + 1) * qs, *cq = cp + (size_t)q * m;
    for (int l = 0; l < m; l++) uq[l] -= cq[l] * un[l];
  }
  if (!wrap) return;
  for (int q = 0; q < n; q++) { /* correction vector: rhs (gamma, 0, ..., alpha) */
    double *zq = z + (size_t)q * m;
    const double *lo = wlo + (size_t)q * m, *iq = im + (size_t)q * m, *zp = zq - m;
    for (int l = 0; l < m; l++) {
      double b0 = (mass ? mass[0] : 1.0) * (1 + dec) + wlo[l] + whi[l];
      double r = q == 0 ? -b0 : (q == n - 1 ? -wrap[l] : 0);
      zq[l] = (r + (q ? lo[l] * zp[l] : 0)) * iq[l];
    }
  }
  for (int q = n - 2; q >= 0; q--) {
    double *zq = z + (size_t)q * m;
    const double *cq = cp + (size_t)q * m;
    for (int l = 0; l < m; l++) zq[l] -= cq[l] * zq[l + m];
  }
  double *un = u + (size_t)(n - 1) * qs, *zn = z + (size_t)(n - 1) * m;
  for (int l = 0; l < m; l++) {
    double b0 = (mass ? mass[0] : 1.0) * (1 + dec) + wlo[l] + whi[l], gamma = -b0;
    double beta = -wrap[l];
    double f = (u[l] + beta * un[l] / gamma) / (1 + z[l] + beta * zn[l] / gamma);
    for (int q = 0; q < n; q++) u[(size_t)q * qs + l] -= f * z[(size_t)q * m + l];
  }
}

/* y sweep of plane k: the nx lines along y solved together. */
static void sweep_y(const mn_grid *g, lod_fref uf, const double *Dc, double dt, double dec, int k,
                    double *w) {
  int nx = g->nx, ny = g->ny, cyc = g->lateral_bc == MN_BC_PERIODIC;
  size_t pn = (size_t)nx * ny;
  double *wlo = w, *whi = w + pn, *cp = w + 2 * pn, *im = w + 3 * pn, *z = w + 4 * pn;
  double *wrap = w + 5 * pn;
  double s = dt / (g->dx_um * g->dx_um);
  for (int j = 0; j <= ny; j++) {
    const uint8_t *c = g->cell + mn_grid_at(g, 0, j, k), *cm = c - g->sy;
    for (int i = 0; i < nx; i++) {
      double wf = s * harmonic(Dc[cm[i]], Dc[c[i]]);
      if (j < ny) wlo[(size_t)j * nx + i] = wf;
      if (j > 0) whi[(size_t)(j - 1) * nx + i] = wf;
    }
  }
  if (cyc) {
    for (int i = 0; i < nx; i++) wrap[i] = wlo[i];
  } else {
    for (int i = 0; i < nx; i++) wlo[i] = whi[(size_t)(ny - 1) * nx + i] = 0;
  }
  size_t o = mn_grid_at(g, 0, 0, k);
  if (uf.f) {
    double *plane = wrap + nx;
    rows_in(uf.f + o, g->sy, ny, nx, plane);
    batch_solve(plane, ny, nx, (size_t)nx, wlo, whi, NULL, dec, cyc ? wrap : NULL, cp, im, z);
    rows_out(plane, ny, nx, uf.f + o, g->sy);
  } else {
    batch_solve(uf.d + o, ny, nx, g->sy, wlo, whi, NULL, dec, cyc ? wrap : NULL, cp, im, z);
  }
}

/* z sweep of row j: the nx columns along z solved together, in mass form with non-uniform dz. */
static void sweep_z(const mn_grid *g, lod_fref uf, const double *Dc, double dt, double dec, int j,
                    double *w) {
  int nx = g->nx, nz = g->nz;
  size_t pn = (size_t)nx * nz;
  double *wlo = w, *whi = w + pn, *cp = w + 2 * pn, *im = w + 3 * pn, *z = w + 4 * pn;
  for (int k = 0; k < nz; k++) {
    const uint8_t *c = g->cell + mn_grid_at(g, 0, j, k), *cb = c + g->sz;
    double dza = g->dz_um[k], dzb = k + 1 < nz ? g->dz_um[k + 1] : 0;
    for (int i = 0; i < nx; i++) {
      double Da = Dc[c[i]], wf = 0;
      if (k + 1 < nz) {
        double Db = Dc[cb[i]];
        if (Da > 0 && Db > 0) wf = dt / (0.5 * dza / Da + 0.5 * dzb / Db);
      } else if (g->bottom_bc == MN_BOTTOM_BASELINE && Da > 0) {
        wf = dt * Da / (0.5 * dza); /* excess held at 0 half a cell below the last centre */
      }
      whi[(size_t)k * nx + i] = wf;
      if (k + 1 < nz) wlo[(size_t)(k + 1) * nx + i] = wf;
    }
  }
  for (int i = 0; i < nx; i++) wlo[i] = 0;
  /* a baseline bottom face stays on the last row's diagonal: its neighbour is the fixed 0 */
  (void)z;
  size_t o = mn_grid_at(g, 0, j, 0);
  if (uf.f) {
    double *slab = w + 5 * pn;
    rows_in(uf.f + o, g->sz, nz, nx, slab);
    batch_solve(slab, nz, nx, (size_t)nx, wlo, whi, g->dz_um, dec, NULL, cp, im, NULL);
    rows_out(slab, nz, nx, uf.f + o, g->sz);
  } else {
    batch_solve(uf.d + o, nz, nx, g->sz, wlo, whi, g->dz_um, dec, NULL, cp, im, NULL);
  }
}

/* ---- layer-uniform grids: coefficients depend on the plane (x, y) or the depth (z) only, so
 * each line family is factorised once per step and every line reuses the factors (BioFVM's
 * pre-factorisation, research/models.md 6.3). ------------------------------------------------ */

/* Factor a tridiagonal system given per-row weights lo[q] (face q-1/2), hi[q] (face q+1/2),
 * row masses (NULL = 1) and the decay term; with wrap >= 0 the system is cyclic (lo[0] and
 * hi[n-1] carry the wrap face) and z receives the Sherman-Morrison correction vector. */
static double factor(int n, const double *lo, const double *hi, const double *mass, double dec,
                     double wrap, double *cp, double *im, double *z) {
  double b0 = (mass ? mass[0] : 1.0) * (1 + dec) + lo[0] + hi[0], gamma = -b0;
  int cyc = wrap >= 0;
  for (int q = 0; q < n; q++) {
    double b = (mass ? mass[q] : 1.0) * (1 + dec) + lo[q] + hi[q];
    if (cyc && q == 0) b -= gamma;
    if (cyc && q == n - 1) b -= wrap * wrap / gamma;
    double mq = b - (q ? lo[q] * -cp[q - 1] : 0);
    im[q] = 1 / mq;
    cp[q] = -hi[q] * im[q];
  }
  if (!cyc) return gamma;
  z[0] = gamma * im[0];
  for (int q = 1; q < n; q++) z[q] = ((q == n - 1 ? -wrap : 0) + lo[q] * z[q - 1]) * im[q];
  for (int q = n - 2; q >= 0; q--) z[q] -= cp[q] * z[q + 1];
  return gamma;
}

/* Constant weights w along a line of n cells: zero flux at the ends, or periodic. */
static double const_weights(int n, double w, int cyc, double *lo, double *hi) {
  for (int q = 0; q < n; q++) lo[q] = hi[q] = w;
  if (!cyc) lo[0] = hi[n - 1] = 0;
  return cyc ? w : -1;
}

/* z weights of a layer-uniform grid (resistance form, baseline bottom on the last diagonal). */
static void z_weights(const mn_grid *g, const double *Dc, double dt, double *lo, double *hi) {
  int nz = g->nz;
  for (int k = 0; k < nz; k++) {
    double Da = Dc[g->cell[mn_grid_at(g, 0, 0, k)]], wf = 0;
    if (k + 1 < nz) {
      double Db = Dc[g->cell[mn_grid_at(g, 0, 0, k + 1)]];
      if (Da > 0 && Db > 0) wf = dt / (0.5 * g->dz_um[k] / Da + 0.5 * g->dz_um[k + 1] / Db);
    } else if (g->bottom_bc == MN_BOTTOM_BASELINE && Da > 0) {
      wf = dt * Da / (0.5 * g->dz_um[k]);
    }
    hi[k] = wf;
    if (k + 1 < nz) lo[k + 1] = wf;
  }
  lo[0] = 0;
}

static int thread_id(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* ---- fused passes on layer-uniform grids --------------------------------------------------
 * The x and y sweeps of a plane run while the plane is in cache, and the z system is eliminated
 * plane by plane in the same pass (its recurrence needs only the previous plane), so a step is
 * one pass that reads and writes each value once plus the back substitution. The back
 * substitution runs backwards through the planes; the next step's pass is run in that same
 * direction, with the z system eliminated the other way round (the same tridiagonal system,
 * factored from the last row), and finishes the previous step plane by plane before it sweeps
 * the plane. n steps cost n + 1 passes: each value crosses memory about once per step. */
enum { LOD_SLOTS = MN_LAYER_HYPO + 1 }; /* layer codes; the last slot is every other code */

typedef struct {
  double *lo, *hi, *cp, *im, *z, *la; /* la = lo im: the forward step's multiplier */
  double *pz; /* periodic lines: pz[q] = prod_{r < q} (-cp[r]), so that the first value of the
               * back substitution is sum_q pz[q] d_q of the forward values d (known before it) */
  double wrap, gamma;
  double bg, den; /* periodic lines: beta / gamma and the Sherman-Morrison denominator */
  int active;     /* 0: neither diffusion nor decay in the plane, the sweep is the identity */
} line_fac;

typedef struct {
  line_fac x[LOD_SLOTS], y[LOD_SLOTS];
  const double *m;                  /* [nz] row masses (dz) */
  const double *a_up, *a_dn;        /* weights to the plane before: zlo (k - 1), zhi (k + 1) */
  double *im_up, *cp_up;            /* elimination k increasing */
  double *im_dn, *cp_dn;            /* elimination k decreasing, indexed by k */
  double *zlo, *zhi;                /* z weights: face above (lo) and below (hi) each cell */
  double *rlo, *rhi, *rm, *rc, *ri; /* scratch: the system with its rows reversed */
} lod_fac;

/* Row stride of the plane buffers: a multiple of four values, so rows stay 32-byte aligned. */
static size_t lod_fs(const mn_grid *g) {
  return ((size_t)g->nx + 3) / 4 * 4;
}

/* A thread's slice: F and W planes, X (twelve rows), S and the y correction (a row each), then
 * the factors (lod_factor). */
static size_t lod_fac_at(const mn_grid *g) {
  return 2 * lod_fs(g) * (size_t)g->ny + 14 * lod_fs(g);
}

static size_t lod_work(const mn_grid *g) {
  size_t nx = (size_t)g->nx, ny = (size_t)g->ny, nz = (size_t)g->nz;
  return lod_fac_at(g) + 7 * LOD_SLOTS * 2 * (nx + ny) + 11 * nz + 64;
}

static int plane_slot(const mn_grid *g, int k) {
  int c = g->cell[mn_grid_at(g, 0, 0, k)];
  return c < MN_LAYER_HYPO ? c : MN_LAYER_HYPO;
}

/* Factors of one field in the slice w (after the buffers: lod_fac_at). */
static void lod_factor(const mn_grid *g, const double *Dc, double dt, double dec, double *w,
                       lod_fac *f) {
  int nx = g->nx, ny = g->ny, nz = g->nz, cyc = g->lateral_bc == MN_BC_PERIODIC;
  double s = dt / (g->dx_um * g->dx_um);
  for (int sl = 0; sl < LOD_SLOTS; sl++) {
    double D = sl < MN_LAYER_HYPO ? Dc[sl] : 0;
    for (int d = 0; d < 2; d++) {
      int n = d ? ny : nx;
      line_fac *lf = d ? &f->y[sl] : &f->x[sl];
      lf->lo = w, lf->hi = w + n, lf->cp = w + 2 * n, lf->im = w + 3 * n, lf->z = w + 4 * n;
      lf->la = w + 5 * n, lf->pz = w + 6 * n;
      w += 7 * (size_t)n;
      lf->active = D > 0 || dec > 0;
      if (!lf->active) continue;
      lf->wrap = const_weights(n, s * D, cyc, lf->lo, lf->hi);
      lf->gamma = factor(n, lf->lo, lf->hi, NULL, dec, lf->wrap, lf->cp, lf->im, lf->z);
      if (lf->wrap >= 0) {
        double beta = -lf->wrap;
        lf->bg = beta / lf->gamma, lf->den = 1 + lf->z[0] + beta * lf->z[n - 1] / lf->gamma;
      }
      for (int q = 0; q < n; q++)
        lf->la[q] = q ? lf->lo[q] * lf->im[q] : 0; /* row 0: none before */
      for (int q = 0; q < n; q++) { /* flushed to 0 far below round-off (no subnormals) */
        double p = q ? lf->pz[q - 1] * -lf->cp[q - 1] : 1;
        lf->pz[q] = fabs(p) < 1e-200 ? 0 : p;
      }
    }
  }
  double **z[] = {&f->im_up, &f->cp_up, &f->im_dn, &f->cp_dn, &f->zlo, &f->zhi,
                  &f->rlo,   &f->rhi,   &f->rm,    &f->rc,    &f->ri};
  for (size_t q = 0; q < sizeof z / sizeof z[0]; q++) *z[q] = w, w += nz;
  f->m = g->dz_um;
  f->a_up = f->zlo, f->a_dn = f->zhi;
  z_weights(g, Dc, dt, f->zlo, f->zhi);
  factor(nz, f->zlo, f->zhi, g->dz_um, dec, -1, f->cp_up, f->im_up, NULL);
  for (int k = 0; k < nz; k++) {
    int r = nz - 1 - k; /* the same system with its rows in reverse order */
    f->rlo[r] = f->zhi[k], f->rhi[r] = f->zlo[k], f->rm[r] = g->dz_um[k];
  }
  factor(nz, f->rlo, f->rhi, f->rm, dec, -1, f->rc, f->ri, NULL);
  for (int k = 0; k < nz; k++) f->cp_dn[k] = f->rc[nz - 1 - k], f->im_dn[k] = f->ri[nz - 1 - k];
}

/* x sweep of the G < 4 rows left over below a group of four, in (row stride is) -> out (row
 * stride n), one row after the other (groups of four rows go through lod_xgroup). */
static void lod_xrows(const double *in, size_t is, double *out, int n, int G, const line_fac *xf) {
  const double *la = xf->la, *cp = xf->cp, *im = xf->im;
  for (int r = 0; r < G; r++) {
    const double *ir = in + (size_t)r * is;
    double *o = out + (size_t)r * n, v = ir[0] * im[0];
    o[0] = v;
    for (int q = 1; q < n; q++) o[q] = v = ir[q] * im[q] + la[q] * v;
    for (int q = n - 2; q >= 0; q--) o[q] = v = o[q] - cp[q] * v;
  }
  if (xf->wrap < 0) return;
  const double *z = xf->z; /* periodic rows: the Sherman-Morrison correction */
  double beta = -xf->wrap, gamma = xf->gamma;
  for (int r = 0; r < G; r++) {
    double *o = out + (size_t)r * n, fc = (o[0] + beta * o[n - 1] / gamma) / xf->den;
    for (int q = 0; q < n; q++) o[q] -= fc * z[q];
  }
}

/* The passes are compiled twice on x86-64 with GCC: for the x86-64-v3 level (AVX2, 4-wide
 * vectors) and the baseline, chosen at load time by the CPU. Both use the same operations in the
 * same order (no contraction into fused multiply-adds in ISO C mode), so the two give the same
 * numbers. Everything the pass calls on its hot path is inlined into the clone. */
#define LOD_CLONES MN_CLONES("arch=x86-64-v3", "default")
#define LOD_INLINE __attribute__((always_inline))

/* Four rows at once, as four-lane vectors across the rows: 4 x 4 blocks are transposed in
 * registers, so the serial recurrence along x runs on whole vectors (one lane per row). */
typedef double v4d __attribute__((vector_size(32)));
#pragma GCC diagnostic ignored "-Wpsabi" /* static helpers: no ABI crosses a module boundary */

static inline LOD_INLINE v4d v4_load(const double *p) {
  v4d v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline LOD_INLINE void v4_store(double *p, v4d v) {
  memcpy(p, &v, sizeof v);
}
static inline LOD_INLINE v4d v4_set1(double x) {
  return (v4d){x, x, x, x};
}
static inline LOD_INLINE void v4_transpose(v4d *a, v4d *b, v4d *c, v4d *d) {
  v4d t0 = __builtin_shufflevector(*a, *b, 0, 4, 2, 6),
      t1 = __builtin_shufflevector(*a, *b, 1, 5, 3, 7);
  v4d t2 = __builtin_shufflevector(*c, *d, 0, 4, 2, 6),
      t3 = __builtin_shufflevector(*c, *d, 1, 5, 3, 7);
  *a = __builtin_shufflevector(t0, t2, 0, 1, 4, 5),
  *b = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  *c = __builtin_shufflevector(t0, t2, 2, 3, 6, 7),
  *d = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

/* y forward elimination of four rows jb .. jb + 3 given as four columns' vectors r[t] (row
 * jb + t), into W (row stride ws) from w, the row before; returns the last row. per: *sacc
 * gains pz_j w_j. Locals, not pointers, carry the recurrence (a store to W could alias them). */
static inline LOD_INLINE v4d lod_y4(const v4d r[4], double *Wb, size_t ws, const line_fac *yf,
                                    int jb, v4d w, v4d *sacc, int per) {
  const double *im = yf->im, *la = yf->la, *pz = yf->pz;
  v4d sa = *sacc;
  for (int t = 0; t < 4; t++) {
    w = r[t] * v4_set1(im[jb + t]) + v4_set1(la[jb + t]) * w;
    v4_store(Wb + (size_t)t * ws, w);
    if (per) sa = sa + v4_set1(pz[jb + t]) * w;
  }
  *sacc = sa;
  return w;
}

/* y forward elimination of the 4 nb rows held in X ([nb][n][4], lane r of block b = row 4 b + r)
 * over columns q0 .. q1 - 1, into W (row stride ws; rows j .. j + 4 nb - 1, row j - 1 before).
 * per: periodic y lines; S accumulates pz_j w_j per column (lod_zcols). */
static inline LOD_INLINE void lod_yfwd(const double *X, double *W, size_t ws, int n, int j, int nb,
                                       int q0, int q1, const line_fac *yf, double *S, int per) {
  const double *yim = yf->im, *yla = yf->la, *ypz = yf->pz;
  int q = q0;
  for (; q + 4 <= q1; q += 4) {
    v4d w = j ? v4_load(W - ws + q) : v4_set1(0); /* yla[0] = 0 */
    v4d sacc = per ? v4_load(S + q) : v4_set1(0);
    for (int b = 0; b < nb; b++) {
      const double *x = X + 4 * ((size_t)b * n + q);
      v4d r[4] = {v4_load(x), v4_load(x + 4), v4_load(x + 8), v4_load(x + 12)};
      v4_transpose(&r[0], &r[1], &r[2], &r[3]);
      w = lod_y4(r, W + (size_t)(4 * b) * ws + q, ws, yf, j + 4 * b, w, &sacc, per);
    }
    if (per) v4_store(S + q, sacc);
  }
  for (; q < q1; q++) {
    double w = j ? W[q - ws] : 0;
    for (int b = 0; b < nb; b++) {
      const double *x = X + 4 * ((size_t)b * n + q);
      for (int r = 0; r < 4; r++) {
        int jr = j + 4 * b + r;
        W[(size_t)(4 * b + r) * ws + q] = w = x[r] * yim[jr] + yla[jr] * w;
        if (per) S[q] += ypz[jr] * w;
      }
    }
  }
}

/* x sweep of 4 nb contiguous rows F (row stride fs) through X ([nb][n][4], lane r of block b =
 * row 4 b + r), then the y forward elimination of those rows into W (rows j .. j + 4 nb - 1 of
 * the plane; row j - 1 is the one before). The nb blocks are independent chains: the
 * recurrences' latency (a multiply and an add per step) is hidden by running them side by side.
 * The x back substitution runs down the columns and feeds the y forward elimination four
 * columns at a time from registers; the n % 4 columns at the end go first, through X.
 * per: periodic lines. The Sherman-Morrison correction of the x lines needs the first value of
 * the back substitution, which the forward elimination already sums (pz), so it is applied as
 * the back substitution runs; S accumulates the same sum for the y lines (lod_yfwd). */
static inline LOD_INLINE void lod_xg(const double *F, size_t fs, double *X, double *W, size_t ws,
                                     int n, int j, int nb, const line_fac *xf, const line_fac *yf,
                                     double *S, int per) {
  enum { NB = 3 };
  const double *la = xf->la, *cp = xf->cp, *im = xf->im, *pz = xf->pz, *z = xf->z;
  v4d v[NB], c[NB][4], sx[NB], fc[NB];
  for (int b = 0; b < nb; b++) v[b] = sx[b] = v4_set1(0);
  int q = 0;
  for (; q + 4 <= n; q += 4) {
    for (int b = 0; b < nb; b++) {
      const double *Fb = F + (size_t)(4 * b) * fs + q;
      c[b][0] = v4_load(Fb), c[b][1] = v4_load(Fb + fs), c[b][2] = v4_load(Fb + 2 * fs);
      c[b][3] = v4_load(Fb + 3 * fs);
      v4_transpose(&c[b][0], &c[b][1], &c[b][2], &c[b][3]);
    }
    for (int t = 0; t < 4; t++) {
      v4d mi = v4_set1(im[q + t]), ml = v4_set1(la[q + t]); /* la[0] = 0, v = 0 at first */
      for (int b = 0; b < nb; b++) {
        v[b] = c[b][t] * mi + ml * v[b];
        v4_store(X + 4 * ((size_t)b * n + q + t), v[b]);
        if (per) sx[b] = sx[b] + v4_set1(pz[q + t]) * v[b];
      }
    }
  }
  for (; q < n; q++)
    for (int b = 0; b < nb; b++) {
      const double *Fb = F + (size_t)(4 * b) * fs + q;
      v[b] = (v4d){Fb[0], Fb[fs], Fb[2 * fs], Fb[3 * fs]} * v4_set1(im[q]) + v4_set1(la[q]) * v[b];
      v4_store(X + 4 * ((size_t)b * n + q), v[b]);
      if (per) sx[b] = sx[b] + v4_set1(pz[q]) * v[b];
    }
  if (per) /* v: the last forward value, which is the last value of the solution */
    for (int b = 0; b < nb; b++) fc[b] = (sx[b] + v4_set1(xf->bg) * v[b]) / v4_set1(xf->den);
  /* the back substitution from column n - 1, where v = 0 makes it the forward value exactly */
  for (int b = 0; b < nb; b++) v[b] = v4_set1(0);
  int n4 = n & ~3;
  for (q = n - 1; q >= n4; q--) {
    v4d mc = v4_set1(cp[q]); /* at q = n - 1, v = 0 */
    for (int b = 0; b < nb; b++) {
      double *x = X + 4 * ((size_t)b * n + q);
      v[b] = v4_load(x) - mc * v[b];
      v4_store(x, per ? v[b] - fc[b] * v4_set1(z[q]) : v[b]);
    }
  }
  lod_yfwd(X, W, ws, n, j, nb, n4, n, yf, S, per);
  for (q = n4 - 4; q >= 0; q -= 4) {
    v4d w = j ? v4_load(W - ws + q) : v4_set1(0); /* yla[0] = 0 */
    v4d sacc = per ? v4_load(S + q) : v4_set1(0);
    for (int b = 0; b < nb; b++) {
      v4d r[4];
      for (int t = 3; t >= 0; t--) {
        v[b] = v4_load(X + 4 * ((size_t)b * n + q + t)) - v4_set1(cp[q + t]) * v[b];
        r[t] = per ? v[b] - fc[b] * v4_set1(z[q + t]) : v[b];
      }
      v4_transpose(&r[0], &r[1], &r[2], &r[3]);
      w = lod_y4(r, W + (size_t)(4 * b) * ws + q, ws, yf, j + 4 * b, w, &sacc, per);
    }
    if (per) v4_store(S + q, sacc);
  }
}

/* x sweep and y forward elimination of 4 nb rows (nb = 1 .. 3), specialised per nb and
 * boundary (per: periodic x and y lines). */
static inline LOD_INLINE void lod_xgroup(const double *F, size_t fs, double *X, double *W,
                                         size_t ws, int n, int j, int nb, const line_fac *xf,
                                         const line_fac *yf, double *S, int per) {
#define LOD_XG(b, p) lod_xg(F, fs, X, W, ws, n, j, b, xf, yf, S, p)
#define LOD_XGP(p)  \
  if (nb == 3)      \
    LOD_XG(3, p);   \
  else if (nb == 2) \
    LOD_XG(2, p);   \
  else              \
    LOD_XG(1, p);
  if (per) {
    LOD_XGP(1)
  } else {
    LOD_XGP(0)
  }
#undef LOD_XGP
#undef LOD_XG
}

typedef float v4f __attribute__((vector_size(16)));
static inline LOD_INLINE v4d v4_loadf(const float *p) {
  v4f v;
  memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, v4d);
}
static inline LOD_INLINE void v4_storef(float *p, v4d v) {
  v4f f = __builtin_convertvector(v, v4f);
  memcpy(p, &f, sizeof f);
}

#define LOD_T double
#define LOD_SFX d
#define LOD_LOAD4 v4_load
#define LOD_STORE4 v4_store
#define LOD_WFIELD 1
#include "lod_pass.h"
#undef LOD_T
#undef LOD_SFX
#undef LOD_LOAD4
#undef LOD_STORE4
#undef LOD_WFIELD
#define LOD_T float
#define LOD_SFX f
#define LOD_LOAD4 v4_loadf
#define LOD_STORE4 v4_storef
#define LOD_WFIELD 0
#include "lod_pass.h"
#undef LOD_T
#undef LOD_SFX
#undef LOD_LOAD4
#undef LOD_STORE4
#undef LOD_WFIELD

/* The general path: per-line coefficients (lesions), one step at a time. */
static void lod_general(const mn_grid *g, double *const *ud, float *const *uff,
                        const double (*Dc)[256], int nf, double dec, double dt, double *work,
                        size_t wsz, int nthreads) {
  (void)nthreads; /* without OpenMP */
#pragma omp parallel num_threads(nthreads)
  {
    double *w = work + (size_t)thread_id() * wsz;
    for (int f = 0; f < nf; f++) {
      lod_fref u = {ud ? ud[f] : NULL, uff ? uff[f] : NULL};
#pragma omp for schedule(static)
      for (int k = 0; k < g->nz; k++) sweep_x(g, u, Dc[f], dt, dec, k, w);
#pragma omp for schedule(static)
      for (int k = 0; k < g->nz; k++) sweep_y(g, u, Dc[f], dt, dec, k, w);
#pragma omp for schedule(static)
      for (int j = 0; j < g->ny; j++) sweep_z(g, u, Dc[f], dt, dec, j, w);
    }
  }
}

enum { LOD_MAXF = 16 };

static void lod_run(const mn_grid *g, double *const *ud, float *const *uf,
                    const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay, double dt,
                    int nsteps, double *work, int nthreads) {
  double Dc[LOD_MAXF][256];
  if (nf > LOD_MAXF) nf = LOD_MAXF;
  if (nthreads < 1) nthreads = 1;
  for (int f = 0; f < nf; f++) code_table(D_layer[f], Dc[f]);
  double dec = dt * decay / 3.0;
  size_t wsz = mn_diffusion_work(g);
  if (!g->uniform) {
    for (int n = 0; n < nsteps; n++) lod_general(g, ud, uf, Dc, nf, dec, dt, work, wsz, nthreads);
    return;
  }
  /* fields are independent: each thread takes whole fields through all the steps */
#pragma omp parallel for num_threads(nthreads) schedule(static, 1)
  for (int f = 0; f < nf; f++) {
    double *w = work + (size_t)thread_id() * wsz;
    lod_fac fac;
    lod_factor(g, Dc[f], dt, dec, w + lod_fac_at(g), &fac);
    if (uf)
      lod_field_f(g, uf[f], &fac, nsteps, w);
    else
      lod_field_d(g, ud[f], &fac, nsteps, w);
  }
}

void mn_diffusion_lod_steps(const mn_grid *g, double *const *u,
                            const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay, double dt,
                            int nsteps, double *work, int nthreads) {
  lod_run(g, u, NULL, D_layer, nf, decay, dt, nsteps, work, nthreads);
}

void mn_diffusion_lod_steps_f32(const mn_grid *g, float *const *u,
                                const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay,
                                double dt, int nsteps, double *work, int nthreads) {
  lod_run(g, NULL, u, D_layer, nf, decay, dt, nsteps, work, nthreads);
}

void mn_diffusion_lod_many(const mn_grid *g, double *const *u,
                           const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay, double dt,
                           double *work, int nthreads) {
  lod_run(g, u, NULL, D_layer, nf, decay, dt, 1, work, nthreads);
}

void mn_diffusion_lod(const mn_grid *g, double *u, const double D_layer[MN_LAYER_HYPO],
                      double decay, double dt, double *work, int nthreads) {
  mn_diffusion_lod_many(g, &u, (const double(*)[MN_LAYER_HYPO])D_layer, 1, decay, dt, work,
                        nthreads);
}

double mn_field_mass(const mn_grid *g, const double *u) {
  double total = 0;
  for (int k = 0; k < g->nz; k++) { /* plane sums in a fixed order, then over planes */
    double plane = 0;
    for (int j = 0; j < g->ny; j++) {
      const double *row = u + mn_grid_at(g, 0, j, k);
      for (int i = 0; i < g->nx; i++) plane += row[i];
    }
    total += plane * g->dz_um[k] * g->dx_um * g->dx_um;
  }
  return total;
}
