/* Compiled replacements for the serial N_Vector and CSC sparse-matrix operations CVODE calls in
 * its inner loop. Debian 12's libsundials 6.4.1 is built without optimisation (its vector kernels
 * keep every loop index on the stack: `objdump -d libsundials_cvode.so.6.4.1`, symbol
 * N_VWSqrSumLocal_Serial), which made these kernels about 70 % of a lumped run. SUNDIALS allows
 * any implementation of its operation tables; these follow the documented semantics of each
 * operation (SUNDIALS user guide, "Description of the NVECTOR operations" and "SUNMatrix
 * operations") and are checked against the library's own in tests/unit/test_lumped.c.
 * Stage: lumped. */
#include <math.h>
#include <nvector/nvector_serial.h>
#include <string.h>
#include <sunmatrix/sunmatrix_sparse.h>

#include "lumped_impl.h"

#define LEN(v) NV_LENGTH_S(v)
#define DAT(v) NV_DATA_S(v)

static void linearsum(realtype a, N_Vector x, realtype b, N_Vector y, N_Vector z) {
  const realtype *xd = DAT(x), *yd = DAT(y);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = a * xd[i] + b * yd[i];
}

static void vconst(realtype c, N_Vector z) {
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(z); i < n; i++) zd[i] = c;
}

static void prod(N_Vector x, N_Vector y, N_Vector z) {
  const realtype *xd = DAT(x), *yd = DAT(y);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = xd[i] * yd[i];
}

static void vdiv(N_Vector x, N_Vector y, N_Vector z) {
  const realtype *xd = DAT(x), *yd = DAT(y);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = xd[i] / yd[i];
}

static void scale(realtype c, N_Vector x, N_Vector z) {
  const realtype *xd = DAT(x);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = c * xd[i];
}

static void vabs(N_Vector x, N_Vector z) {
  const realtype *xd = DAT(x);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = fabs(xd[i]);
}

static void inv(N_Vector x, N_Vector z) {
  const realtype *xd = DAT(x);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = 1.0 / xd[i];
}

static void addconst(N_Vector x, realtype b, N_Vector z) {
  const realtype *xd = DAT(x);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = xd[i] + b;
}

static realtype wsqrsum(N_Vector x, N_Vector w) {
  const realtype *xd = DAT(x), *wd = DAT(w);
  realtype s = 0;
  for (sunindextype i = 0, n = LEN(x); i < n; i++) s += (xd[i] * wd[i]) * (xd[i] * wd[i]);
  return s;
}

static realtype wrmsnorm(N_Vector x, N_Vector w) {
  return sqrt(wsqrsum(x, w) / (realtype)LEN(x));
}

static realtype maxnorm(N_Vector x) {
  const realtype *xd = DAT(x);
  realtype m = 0;
  for (sunindextype i = 0, n = LEN(x); i < n; i++) m = fmax(m, fabs(xd[i]));
  return m;
}

static void compare(realtype c, N_Vector x, N_Vector z) {
  const realtype *xd = DAT(x);
  realtype *zd = DAT(z);
  for (sunindextype i = 0, n = LEN(x); i < n; i++) zd[i] = fabs(xd[i]) >= c ? 1.0 : 0.0;
}

/* c_i = +-2: x_i must be > 0 (< 0); c_i = +-1: >= 0 (<= 0); 0: free. m_i = 1 where violated. */
static booleantype constrmask(N_Vector c, N_Vector x, N_Vector m) {
  const realtype *cd = DAT(c), *xd = DAT(x);
  realtype *md = DAT(m);
  booleantype ok = SUNTRUE;
  for (sunindextype i = 0, n = LEN(x); i < n; i++) {
    realtype a = fabs(cd[i]), p = xd[i] * cd[i];
    int bad = cd[i] != 0 && ((a > 1.5 && p <= 0) || (a > 0.5 && p < 0));
    md[i] = bad ? 1.0 : 0.0;
    if (bad) ok = SUNFALSE;
  }
  return ok;
}

/* z = sum_k c_k X_k; z may be one of the X_k (each element is read before it is written) */
static int lincomb(int nvec, realtype *c, N_Vector *X, N_Vector z) {
  realtype *zd = DAT(z);
  sunindextype n = LEN(z);
  if (nvec == 1) {
    scale(c[0], X[0], z);
    return 0;
  }
  if (nvec == 2) {
    linearsum(c[0], X[0], c[1], X[1], z);
    return 0;
  }
  /* the data pointers and weights in locals, and one unrolled loop per count (CVODE's BDF asks
   * for at most 6: order 5 and the new value), so that each loop vectorises */
  const realtype *x0 = DAT(X[0]), *x1 = DAT(X[1]), *x2 = DAT(X[2]);
  const realtype c0 = c[0], c1 = c[1], c2 = c[2];
  switch (nvec) {
    case 3:
      for (sunindextype i = 0; i < n; i++) zd[i] = c0 * x0[i] + c1 * x1[i] + c2 * x2[i];
      return 0;
    case 4: {
      const realtype *x3 = DAT(X[3]), c3 = c[3];
      for (sunindextype i = 0; i < n; i++)
        zd[i] = c0 * x0[i] + c1 * x1[i] + c2 * x2[i] + c3 * x3[i];
      return 0;
    }
    case 5: {
      const realtype *x3 = DAT(X[3]), *x4 = DAT(X[4]), c3 = c[3], c4 = c[4];
      for (sunindextype i = 0; i < n; i++)
        zd[i] = c0 * x0[i] + c1 * x1[i] + c2 * x2[i] + c3 * x3[i] + c4 * x4[i];
      return 0;
    }
    case 6: {
      const realtype *x3 = DAT(X[3]), *x4 = DAT(X[4]), *x5 = DAT(X[5]);
      const realtype c3 = c[3], c4 = c[4], c5 = c[5];
      for (sunindextype i = 0; i < n; i++)
        zd[i] = c0 * x0[i] + c1 * x1[i] + c2 * x2[i] + c3 * x3[i] + c4 * x4[i] + c5 * x5[i];
      return 0;
    }
    default:
      break;
  }
  for (sunindextype i = 0; i < n; i++) {
    realtype s = 0;
    for (int k = 0; k < nvec; k++) s += c[k] * DAT(X[k])[i];
    zd[i] = s;
  }
  return 0;
}

/* Z_k = a_k x + Y_k */
static int scaleaddmulti(int nvec, realtype *a, N_Vector x, N_Vector *Y, N_Vector *Z) {
  const realtype *xd = DAT(x);
  sunindextype n = LEN(x);
  for (int k = 0; k < nvec; k++) {
    const realtype *yd = DAT(Y[k]);
    realtype *zd = DAT(Z[k]), ak = a[k];
    for (sunindextype i = 0; i < n; i++) zd[i] = ak * xd[i] + yd[i];
  }
  return 0;
}

/* Z_k = c_k X_k */
static int scalevectorarray(int nvec, realtype *c, N_Vector *X, N_Vector *Z) {
  for (int k = 0; k < nvec; k++) scale(c[k], X[k], Z[k]);
  return 0;
}

void mn__lumped_fast_vector(N_Vector v) {
  N_Vector_Ops o = v->ops;
  o->nvlinearsum = linearsum;
  o->nvconst = vconst;
  o->nvprod = prod;
  o->nvdiv = vdiv;
  o->nvscale = scale;
  o->nvabs = vabs;
  o->nvinv = inv;
  o->nvaddconst = addconst;
  o->nvwrmsnorm = wrmsnorm;
  o->nvwsqrsumlocal = wsqrsum;
  o->nvmaxnorm = maxnorm;
  o->nvmaxnormlocal = maxnorm;
  o->nvcompare = compare;
  o->nvconstrmask = constrmask;
  o->nvconstrmasklocal = constrmask;
  o->nvlinearcombination = lincomb;
  o->nvscaleaddmulti = scaleaddmulti;
  o->nvscalevectorarray = scalevectorarray;
}

/* ---- CSC sparse matrices with a fixed pattern ---- */

static int mzero(SUNMatrix A) {
  memset(SM_DATA_S(A), 0, (size_t)SM_NNZ_S(A) * sizeof(realtype));
  memset(SM_INDEXVALS_S(A), 0, (size_t)SM_NNZ_S(A) * sizeof(sunindextype));
  memset(SM_INDEXPTRS_S(A), 0, (size_t)(SM_NP_S(A) + 1) * sizeof(sunindextype));
  return 0;
}

/* B = A; falls back to the library when B lacks room or the shapes differ */
static int mcopy(SUNMatrix A, SUNMatrix B) {
  sunindextype np = SM_NP_S(A), nz = SM_INDEXPTRS_S(A)[np];
  if (SM_NP_S(B) != np || SM_SPARSETYPE_S(A) != SM_SPARSETYPE_S(B) || SM_NNZ_S(B) < nz)
    return SUNMatCopy_Sparse(A, B);
  memcpy(SM_INDEXPTRS_S(B), SM_INDEXPTRS_S(A), (size_t)(np + 1) * sizeof(sunindextype));
  memcpy(SM_INDEXVALS_S(B), SM_INDEXVALS_S(A), (size_t)nz * sizeof(sunindextype));
  memcpy(SM_DATA_S(B), SM_DATA_S(A), (size_t)nz * sizeof(realtype));
  return 0;
}

/* A = c A + I; needs every diagonal entry in the pattern, else the library inserts them */
static int mscaleaddi(realtype c, SUNMatrix A) {
  sunindextype np = SM_NP_S(A), *ptr = SM_INDEXPTRS_S(A), *idx = SM_INDEXVALS_S(A);
  realtype *d = SM_DATA_S(A);
  if (SM_ROWS_S(A) != SM_COLUMNS_S(A)) return SUNMatScaleAddI_Sparse(c, A);
  for (sunindextype j = 0; j < np; j++) {
    sunindextype k = ptr[j];
    while (k < ptr[j + 1] && idx[k] != j) k++;
    if (k == ptr[j + 1]) return SUNMatScaleAddI_Sparse(c, A);
  }
  for (sunindextype j = 0; j < np; j++)
    for (sunindextype k = ptr[j]; k < ptr[j + 1]; k++) d[k] = c * d[k] + (idx[k] == j ? 1.0 : 0.0);
  return 0;
}

static SUNMatrix mclone(SUNMatrix A) {
  SUNMatrix B = SUNMatClone_Sparse(A);
  if (B) mn__lumped_fast_sparse(B);
  return B;
}

void mn__lumped_fast_sparse(SUNMatrix A) {
  A->ops->zero = mzero;
  A->ops->copy = mcopy;
  A->ops->scaleaddi = mscaleaddi;
  A->ops->clone = mclone;
}
