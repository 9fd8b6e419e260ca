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

size_t mn_diffusion_work(const mn_grid *g) {
  size_t nx = (size_t)g->nx, ny = (size_t)g->ny, nz = (size_t)g->nz;
  /* y sweep: five [ny][nx] arrays and the wrap weights; z sweep: four [nz][nx]; x: five [nx];
   * one more slice than threads holds the shared z factors of a uniform grid ([16][5][nz]) */
  size_t w = 5 * nx * (ny > nz ? ny : nz) + 6 * nx + 5 * ny + 64;
  return w > 80 * nz ? w : 80 * nz;
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

/* x sweep of plane k: each j-line solved on its own (contiguous). */
static void sweep_x(const mn_grid *g, double *u, const double *Dc, double dt, double dec, int k,
                    double *w) {
  int nx = g->nx, cyc = g->lateral_bc == MN_BC_PERIODIC;
  double *wlo = w, *whi = w + nx, *cp = w + 2 * nx, *im = w + 3 * nx, *z = w + 4 * nx;
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
    line_solve(u + o, nx, wlo, whi, dec, wrap, cp, im, z);
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
static void sweep_y(const mn_grid *g, double *u, const double *Dc, double dt, double dec, int k,
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
  batch_solve(u + mn_grid_at(g, 0, 0, k), ny, nx, g->sy, wlo, whi, NULL, dec, cyc ? wrap : NULL, cp,
              im, z);
}

/* z sweep of row j: the nx columns along z solved together, in mass form with non-uniform dz. */
static void sweep_z(const mn_grid *g, double *u, const double *Dc, double dt, double dec, int j,
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
  batch_solve(u + mn_grid_at(g, 0, j, 0), nz, nx, g->sz, wlo, whi, g->dz_um, dec, NULL, cp, im,
              NULL);
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

/* Solve the factored system for one contiguous line. */
static void apply_line(double *u, int n, const double *lo, const double *cp, const double *im,
                       const double *z, double wrap, double gamma) {
  u[0] *= im[0];
  for (int q = 1; q < n; q++) u[q] = (u[q] + lo[q] * u[q - 1]) * im[q];
  for (int q = n - 2; q >= 0; q--) u[q] -= cp[q] * u[q + 1];
  if (wrap < 0) return;
  double beta = -wrap, f = (u[0] + beta * u[n - 1] / gamma) / (1 + z[0] + beta * z[n - 1] / gamma);
  for (int q = 0; q < n; q++) u[q] -= f * z[q];
}

/* Solve the factored system for m contiguous lines at once (row q of all lines at u + q qs). */
static void apply_rows(double *u, int n, int m, size_t qs, const double *lo, const double *mass,
                       const double *cp, const double *im, const double *z, double wrap,
                       double gamma) {
  for (int q = 0; q < n; q++) {
    double *uq = u + (size_t)q * qs, mq = mass ? mass[q] : 1.0, a = lo[q], iq = im[q];
    const double *up = uq - qs;
    if (q == 0)
      for (int l = 0; l < m; l++) uq[l] = mq * uq[l] * iq;
    else
      for (int l = 0; l < m; l++) uq[l] = (mq * uq[l] + a * up[l]) * iq;
  }
  for (int q = n - 2; q >= 0; q--) {
    double *uq = u + (size_t)q * qs, c = cp[q];
    const double *un = uq + qs;
    for (int l = 0; l < m; l++) uq[l] -= c * un[l];
  }
  if (wrap < 0) return;
  double beta = -wrap, *un = u + (size_t)(n - 1) * qs;
  double den = 1 + z[0] + beta * z[n - 1] / gamma;
  for (int l = 0; l < m; l++) {
    double f = (u[l] + beta * un[l] / gamma) / den;
    for (int q = 0; q < n; q++) u[(size_t)q * qs + l] -= f * z[q];
  }
}

/* Constant weights w along a line of n cells: zero flux at the ends, or periodic. */
static double const_weights(int n, double w, int cyc, double *lo, double *hi) {
  for (int q = 0; q < n; q++) lo[q] = hi[q] = w;
  if (!cyc) lo[0] = hi[n - 1] = 0;
  return cyc ? w : -1;
}

/* Factors of the constant-coefficient lines of length n in plane k (x or y direction), in the
 * work slice w: lo, hi, cp, im, z. Returns 0 when the species neither moves nor decays there. */
static int plane_factor(const mn_grid *g, const double *Dc, double dt, double dec, int k, int n,
                        double *w, double *wrap, double *gamma) {
  double D = Dc[g->cell[mn_grid_at(g, 0, 0, k)]];
  if (D <= 0 && dec == 0) return 0;
  double *lo = w, *hi = w + n;
  *wrap = const_weights(n, dt * D / (g->dx_um * g->dx_um), g->lateral_bc == MN_BC_PERIODIC, lo, hi);
  *gamma = factor(n, lo, hi, NULL, dec, *wrap, w + 2 * n, w + 3 * n, w + 4 * n);
  return 1;
}

static void usweep_x(const mn_grid *g, double *u, const double *Dc, double dt, double dec, int k,
                     double *w) {
  int nx = g->nx;
  double wrap, gamma;
  if (!plane_factor(g, Dc, dt, dec, k, nx, w, &wrap, &gamma)) return;
  for (int j = 0; j < g->ny; j++)
    apply_line(u + mn_grid_at(g, 0, j, k), nx, w, w + 2 * nx, w + 3 * nx, w + 4 * nx, wrap, gamma);
}

static void usweep_y(const mn_grid *g, double *u, const double *Dc, double dt, double dec, int k,
                     double *w) {
  int ny = g->ny;
  double wrap, gamma;
  if (!plane_factor(g, Dc, dt, dec, k, ny, w, &wrap, &gamma)) return;
  apply_rows(u + mn_grid_at(g, 0, 0, k), ny, g->nx, g->sy, w, NULL, w + 2 * ny, w + 3 * ny,
             w + 4 * ny, wrap, gamma);
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

void mn_diffusion_lod_many(const mn_grid *g, double *const *u,
                           const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay, double dt,
                           double *work, int nthreads) {
  enum { MAXF = 16 };
  double Dc[MAXF][256];
  if (nf > MAXF) nf = MAXF;
  for (int f = 0; f < nf; f++) code_table(D_layer[f], Dc[f]);
  double dec = dt * decay / 3.0;
  size_t wsz = mn_diffusion_work(g);
  if (nthreads < 1) nthreads = 1;
  /* z factors of a layer-uniform grid: one set per field, shared by every column, in the slice
   * after the threads' own */
  int uni = g->uniform, nz = g->nz;
  double *zf = work + (size_t)nthreads * wsz, zgamma[MAXF], zwrap = -1;
  if (uni)
    for (int f = 0; f < nf; f++) {
      double *lo = zf + (size_t)f * 5 * nz, *hi = lo + nz, *cp = hi + nz, *im = cp + nz;
      z_weights(g, Dc[f], dt, lo, hi);
      zgamma[f] = factor(nz, lo, hi, g->dz_um, dec, zwrap, cp, im, NULL);
    }
    /* one parallel region; fields one after the other, each through its x, y and z sweeps while
     * it is still in the last-level cache (a 100^3 field is 8 MB), three barriers per field */
#pragma omp parallel num_threads(nthreads)
  {
    double *w = work + (size_t)thread_id() * wsz;
    for (int f = 0; f < nf; f++) {
#pragma omp for schedule(static)
      for (int k = 0; k < g->nz; k++) {
        if (uni)
          usweep_x(g, u[f], Dc[f], dt, dec, k, w);
        else
          sweep_x(g, u[f], Dc[f], dt, dec, k, w);
      }
#pragma omp for schedule(static)
      for (int k = 0; k < g->nz; k++) {
        if (uni)
          usweep_y(g, u[f], Dc[f], dt, dec, k, w);
        else
          sweep_y(g, u[f], Dc[f], dt, dec, k, w);
      }
#pragma omp for schedule(static)
      for (int j = 0; j < g->ny; j++) {
        if (!uni) {
          sweep_z(g, u[f], Dc[f], dt, dec, j, w);
          continue;
        }
        const double *lo = zf + (size_t)f * 5 * nz, *cp = lo + 2 * nz, *im = lo + 3 * nz;
        apply_rows(u[f] + mn_grid_at(g, 0, j, 0), nz, g->nx, g->sz, lo, g->dz_um, cp, im, NULL,
                   zwrap, zgamma[f]);
      }
    }
  }
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
