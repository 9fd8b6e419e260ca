/* The fused LOD pass of a layer-uniform grid, instantiated by diffusion.c for double (LOD_T
 * double, LOD_SFX d, LOD_WFIELD 1) and float storage (float, f, 0). Arithmetic is double
 * throughout; the field is read and written once per pass, every other array is a plane or a
 * row in cache. LOD_LOAD4 / LOD_STORE4 move four values of the field to and from a v4d. */
#define LOD_CAT2(a, b) a##_##b
#define LOD_CAT(a, b) LOD_CAT2(a, b)

/* Backward over the rows of one plane for the columns i0 .. i0 + 4 cb - 1 (cb <= 6 blocks of
 * four): the y back substitution (weights cp; NULL: W is the y solution as it stands), carried
 * in registers down the rows, its periodic correction (per: minus fcol zy_j, fcol per column),
 * and the z elimination, o = mi y + ai e with e the plane before (first: there is none).
 * W (row stride ws) may be the plane o itself: each value of W is read before o is written
 * there. */
static inline LOD_INLINE void LOD_CAT(lod_zcols_n, LOD_SFX)(const double *W, size_t ws, LOD_T *up,
                                                            const LOD_T *ep0, size_t sy, int ny,
                                                            int i0, int cb, const double *cp,
                                                            const double *fcol, const double *zy,
                                                            int per, double mi, double ai,
                                                            int first) {
  v4d y[6], vmi = v4_set1(mi), vai = v4_set1(ai);
  for (int c = 0; c < cb; c++) y[c] = v4_set1(0);
  for (int j = ny - 1; j >= 0; j--) {
    v4d mc = v4_set1(cp && j < ny - 1 ? cp[j] : 0), zj = v4_set1(per ? zy[j] : 0);
    const double *w = W + (size_t)j * ws + i0;
    LOD_T *o = up + (size_t)j * sy + i0;
    const LOD_T *ep = ep0 + (size_t)j * sy + i0;
    for (int c = 0; c < cb; c++) {
      y[c] = v4_load(w + 4 * c) - mc * y[c];
      v4d yc = per ? y[c] - v4_load(fcol + i0 + 4 * c) * zj : y[c];
      LOD_STORE4(o + 4 * c, first ? vmi * yc : vmi * yc + vai * LOD_LOAD4(ep + 4 * c));
    }
  }
}

/* lod_zcols_n specialised per block count and boundary. */
static inline LOD_INLINE void LOD_CAT(lod_zcols, LOD_SFX)(const double *W, size_t ws, LOD_T *up,
                                                          const LOD_T *ep0, size_t sy, int ny,
                                                          int i0, int cb, const double *cp,
                                                          const double *fcol, const double *zy,
                                                          double mi, double ai, int first) {
#define LOD_ZC(n, p) \
  LOD_CAT(lod_zcols_n, LOD_SFX)(W, ws, up, ep0, sy, ny, i0, n, cp, fcol, zy, p, mi, ai, first)
#define LOD_ZCP(p)  \
  switch (cb) {     \
    case 6:         \
      LOD_ZC(6, p); \
      break;        \
    case 5:         \
      LOD_ZC(5, p); \
      break;        \
    case 4:         \
      LOD_ZC(4, p); \
      break;        \
    case 3:         \
      LOD_ZC(3, p); \
      break;        \
    case 2:         \
      LOD_ZC(2, p); \
      break;        \
    default:        \
      LOD_ZC(1, p); \
  }
  if (fcol) {
    LOD_ZCP(1)
  } else {
    LOD_ZCP(0)
  }
#undef LOD_ZCP
#undef LOD_ZC
}

/* One pass over the planes in direction s (+1: k increasing). back: first finish the previous
 * step (the back substitution of its z elimination, which ran in direction -s); elim: then the
 * x and y sweeps of a new step and its z elimination in direction s. Per plane, rows go forward
 * (finish the old step, x sweep, y forward elimination) and then backward in strips of columns
 * (y back substitution, z elimination). */
static inline LOD_INLINE void LOD_CAT(lod_pass, LOD_SFX)(const mn_grid *g, LOD_T *u,
                                                         const lod_fac *f, int s, int back,
                                                         int elim, double *P) {
  int nx = g->nx, ny = g->ny, nz = g->nz;
  size_t fs = lod_fs(g), pn = fs * ny, sy = g->sy;
  /* F: the previous step's solution at the last plane visited, overwritten row by row with this
   * plane's; W: the y forward elimination (its back substitution stays in registers) - with
   * double storage the plane of the field itself, whose values are in F by then; X: twelve rows
   * of the x sweep; S, fcol: per column, the periodic y correction's sum and factor */
  double *F = P, *X = P + 2 * pn, *S = X + 12 * fs, *fcol = S + fs;
  const double *cpb = s > 0 ? f->cp_dn : f->cp_up; /* back substitution of direction -s */
  const double *ae = s > 0 ? f->a_up : f->a_dn, *ime = s > 0 ? f->im_up : f->im_dn;
  for (int kk = 0; kk < nz; kk++) {
    int k = s > 0 ? kk : nz - 1 - kk, kn = k + s, fin = back && kk;
    LOD_T *up = u + mn_grid_at(g, 0, 0, k);
#if LOD_WFIELD
    double *W = up;
    size_t ws = sy;
#else
    double *W = P + pn;
    size_t ws = fs;
#endif
    const char *next =
        elim && kn >= 0 && kn < nz ? (const char *)(u + mn_grid_at(g, 0, 0, kn)) : NULL;
    double c = fin ? cpb[k] : 0;
    const line_fac *xf = &f->x[plane_slot(g, k)], *yf = &f->y[plane_slot(g, k)];
    /* periodic lines: x and y are periodic together (one lateral boundary condition) */
    int lat = elim && xf->active, ycyc = lat && yf->wrap >= 0;
    if (ycyc) memset(S, 0, (size_t)nx * sizeof *S);
    /* forward over rows, twelve at a time while at least twelve are left, then fewer */
    for (int j = 0; j < ny;) {
      int G = ny - j >= 12 ? 12 : ny - j >= 8 ? 8 : ny - j >= 4 ? 4 : ny - j;
      for (int r = 0; r < G; r++) {
        const LOD_T *in = up + (size_t)(j + r) * sy;
        double *fc = F + (size_t)(j + r) * fs;
        if (fin)
          for (int i = 0; i < nx; i++) fc[i] = (double)in[i] - c * fc[i];
        else
          for (int i = 0; i < nx; i++) fc[i] = (double)in[i];
        if (next) /* the plane after this one, fetched while this one is computed */
          for (size_t b = 0; b < (size_t)nx * sizeof *u; b += 64)
            __builtin_prefetch(next + ((size_t)(j + r) * sy) * sizeof *u + b, 0, 2);
      }
      if (!elim) {
        for (int r = 0; r < G; r++) {
          LOD_T *o = up + (size_t)(j + r) * sy;
          const double *fc = F + (size_t)(j + r) * fs;
          for (int i = 0; i < nx; i++) o[i] = (LOD_T)fc[i];
        }
      } else if (lat && G % 4 == 0) {
        lod_xgroup(F + (size_t)j * fs, fs, X, W + (size_t)j * ws, ws, nx, j, G / 4, xf, yf, S,
                   ycyc);
      } else {
        const double *xr = F + (size_t)j * fs;
        size_t xs = fs;
        if (lat) {
          lod_xrows(xr, fs, X, nx, G, xf);
          xr = X, xs = (size_t)nx;
        }
        for (int r = 0; r < G; r++) {
          int jj = j + r;
          const double *xi = xr + (size_t)r * xs;
          double *w = W + (size_t)jj * ws;
          if (!lat) {
            memcpy(w, xi, (size_t)nx * sizeof *w);
          } else if (!jj) {
            double i0 = yf->im[0];
            for (int i = 0; i < nx; i++) w[i] = xi[i] * i0;
          } else {
            double iq = yf->im[jj], a = yf->la[jj];
            const double *wp = w - ws;
            for (int i = 0; i < nx; i++) w[i] = xi[i] * iq + a * wp[i];
          }
          if (ycyc)
            for (int i = 0; i < nx; i++) S[i] += yf->pz[jj] * w[i];
        }
      }
      j += G;
    }
    if (!elim) continue;
    /* backward: y back substitution and the z elimination, in strips of columns */
    double mi = f->m[k] * ime[k], ai = kk ? ae[k] * ime[k] : 0;
    if (ycyc) { /* periodic y lines: the Sherman-Morrison factor per column, from S */
      const double *wl = W + (size_t)(ny - 1) * ws;
      for (int i = 0; i < nx; i++) fcol[i] = (S[i] + yf->bg * wl[i]) / yf->den;
    }
    /* the z elimination's value at the plane before is that plane of the field, just written */
    const LOD_T *ep0 = up - (ptrdiff_t)s * (ptrdiff_t)g->sz;
    const double *ycp = lat ? yf->cp : NULL, *ycor = ycyc ? fcol : NULL;
    int nv = nx / 4, ng = (nv + 5) / 6; /* strips of at most six blocks of four columns */
    for (int gi = 0, i0 = 0; gi < ng; gi++) {
      int cb = nv / ng + (gi < nv % ng);
      LOD_CAT(lod_zcols, LOD_SFX)(W, ws, up, ep0, sy, ny, i0, cb, ycp, ycor, yf->z, mi, ai, !kk);
      i0 += 4 * cb;
    }
    for (int i = 4 * nv; i < nx; i++) { /* the nx % 4 columns left */
      double y = 0;
      for (int j = ny - 1; j >= 0; j--) {
        double cj = ycp && j < ny - 1 ? ycp[j] : 0;
        y = W[(size_t)j * ws + i] - cj * y;
        double yc = ycor ? y - ycor[i] * yf->z[j] : y;
        LOD_T *o = up + (size_t)j * sy + i;
        *o = (LOD_T)(kk ? mi * yc + ai * (double)ep0[(size_t)j * sy + i] : mi * yc);
      }
    }
  }
}

/* nsteps steps of one field: the back substitution of each step runs in the pass that starts the
 * next one, so n steps take n + 1 passes over the field. */
static LOD_CLONES void LOD_CAT(lod_field, LOD_SFX)(const mn_grid *g, LOD_T *u, const lod_fac *f,
                                                   int nsteps, double *P) {
  int s = 1;
  LOD_CAT(lod_pass, LOD_SFX)(g, u, f, s, 0, 1, P);
  for (int n = 1; n < nsteps; n++) {
    s = -s;
    LOD_CAT(lod_pass, LOD_SFX)(g, u, f, s, 1, 1, P);
  }
  LOD_CAT(lod_pass, LOD_SFX)(g, u, f, -s, 1, 0, P);
}

#undef LOD_CAT
#undef LOD_CAT2
