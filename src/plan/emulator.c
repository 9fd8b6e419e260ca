/* The planner's per-question emulator (docs/design/planner-emulator.md; issue 19 row (f)).
 *
 * Every goal the planner judges reads a draw's papillary collagen change and dermal thickening at
 * the review. Both are smooth functions of the few fitted parameters that enter the healing ODE.
 * So for one question (a setting's course of k sessions I days apart) a quadratic in the
 * standardised logarithms of those parameters, fitted by least squares on a few exact courses,
 * predicts them for every draw in microseconds. The probability is then the mean over the draws
 * of the predicted per-draw probability plus the mean error of the prediction over further exact
 * courses (a control variate): unbiased whatever the emulator's error, which only widens the
 * Monte Carlo error that the planner reports and bounds (search.c). Stage: plan. */
#include <math.h>
#include <string.h>

#include "plan_impl.h"

int mn__emu_coefs(int m) {
  return 1 + m + m * (m + 1) / 2;
}

static double param_at(const mn_model_params *p, size_t off) {
  double v;
  memcpy(&v, (const char *)p + off, sizeof v);
  return v;
}

/* The parameters whose values differ over the draws [0, n) and are positive (logarithms), by
 * name: their offsets into @p off (at most cap). */
static int varying(const mn_model_params *draws, int n, size_t *off, const char **name, int cap) {
  size_t nn;
  const char *const *names = mn_model_param_names(&nn);
  mn_model_params probe = draws[0];
  int k = 0;
  for (size_t i = 0; i < nn && k < cap; i++) {
    double *ref = mn_model_param_ref(&probe, names[i]);
    if (!ref) continue;
    size_t o = (size_t)((char *)ref - (char *)&probe);
    double lo = INFINITY, hi = -INFINITY;
    for (int d = 0; d < n; d++) {
      double v = param_at(&draws[d], o);
      lo = fmin(lo, v), hi = fmax(hi, v);
    }
    if (lo > 0 && hi > lo) off[k] = o, name[k++] = names[i];
  }
  return k;
}

int mn__emu_space_init(mn__region_ctx *x, const mn__candidate *c, mn_error *err) {
  mn__emu_space *s = &x->space;
  memset(s, 0, sizeof *s);
  if (x->nd_pool < 2) return MN_OK;
  enum { CAP = 128 };
  size_t off[CAP];
  const char *name[CAP];
  int nv = varying(x->draws, x->nd_pool, off, name, CAP);
  if (nv == 0) return MN_OK;
  /* one session on the nominal parameters and on each varying parameter moved to its largest
   * value over the draws: a parameter outside the healing ODE leaves the course bit for bit */
  mn_model_params *probe = mn_malloc_array((size_t)nv + 1, sizeof *probe);
  if (!probe) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  probe[0] = x->draws[0];
  for (int j = 0; j < nv; j++) {
    double hi = -INFINITY;
    for (int d = 0; d < x->nd_pool; d++) hi = fmax(hi, param_at(&x->draws[d], off[j]));
    probe[j + 1] = x->draws[0];
    memcpy((char *)&probe[j + 1] + off[j], &hi, sizeof hi);
  }
  mn__region_ctx t = *x;
  t.draws = probe, t.nd = t.nd_pool = nv + 1;
  t.holds = NULL; /* other parameters under the draws' indices */
  mn__response r;
  int rc = mn__response_run(&t, c, 1, 0, nv + 1, &r, err);
  x->evaluations = t.evaluations;
  if (rc) {
    mn_free(probe);
    return rc;
  }
  int m = 0, too_many = 0, base_ok = r.ok[0];
  for (int j = 0; j < nv && base_ok; j++) {
    if (!r.ok[j + 1] || (r.collagen[j + 1] == r.collagen[0] && r.dh[j + 1] == r.dh[0])) continue;
    if (m == MN__EMU_MAX) {
      too_many = 1;
      break;
    }
    s->off[m] = off[j];
    snprintf(s->name[m], sizeof s->name[m], "%s", name[j]);
    m++;
  }
  mn__response_free(&r);
  mn_free(probe);
  if (too_many || !base_ok) return MN_OK; /* no emulator: every draw runs */
  for (int j = 0; j < m; j++) {           /* the standardisation over the pool */
    double sum = 0, sum2 = 0;
    for (int d = 0; d < x->nd_pool; d++) {
      double l = log(param_at(&x->draws[d], s->off[j]));
      sum += l, sum2 += l * l;
    }
    s->mu[j] = sum / x->nd_pool;
    s->sd[j] = sqrt(fmax(sum2 / x->nd_pool - s->mu[j] * s->mu[j], 0));
    if (!(s->sd[j] > 0)) return MN_OK; /* constant to rounding: m stays 0 */
  }
  s->m = m;
  s->constant = x->req->emulator_constant;
  char list[MN__EMU_MAX * 26] = "";
  for (int j = 0; j < m; j++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", s->name[j]);
  mn_log(MN_LOG_DEBUG, "plan: %s: the emulator reads %d of %d varying parameters: %s",
         x->pr->skin.region, m, nv, list);
  return MN_OK;
}

/* The features of draw @p p: 1, z_i, z_i z_j (i <= j), z the standardised logarithms. */
static void features(const mn__emu_space *s, const mn_model_params *p, double *phi) {
  double z[MN__EMU_MAX];
  int k = 0;
  for (int i = 0; i < s->m; i++) z[i] = (log(param_at(p, s->off[i])) - s->mu[i]) / s->sd[i];
  phi[k++] = 1;
  for (int i = 0; i < s->m; i++) phi[k++] = z[i];
  for (int i = 0; i < s->m; i++)
    for (int j = i; j < s->m; j++) phi[k++] = z[i] * z[j];
}

/* Cholesky solve of the n x n symmetric positive definite A x = b in place (b becomes x);
 * 0 when A is not positive definite. */
static int cholesky_solve(double *A, int n, double *b1, double *b2) {
  for (int j = 0; j < n; j++) {
    double d = A[j * n + j];
    for (int k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) return 0;
    A[j * n + j] = sqrt(d);
    for (int i = j + 1; i < n; i++) {
      double v = A[i * n + j];
      for (int k = 0; k < j; k++) v -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = v / A[j * n + j];
    }
  }
  double *bs[2] = {b1, b2};
  for (int q = 0; q < 2; q++) {
    double *b = bs[q];
    for (int i = 0; i < n; i++) { /* L y = b */
      for (int k = 0; k < i; k++) b[i] -= A[i * n + k] * b[k];
      b[i] /= A[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) { /* L^T x = y */
      for (int k = i + 1; k < n; k++) b[i] -= A[k * n + i] * b[k];
      b[i] /= A[i * n + i];
    }
  }
  return 1;
}

int mn__emu_fit(const mn__emu_space *s, const mn_model_params *draws, const mn__response *r,
                int n_train, mn__emu_model *f) {
  int p = s->constant ? 1 : mn__emu_coefs(s->m), used = 0;
  double A[MN__EMU_P * MN__EMU_P] = {0}, phi[MN__EMU_P];
  memset(f, 0, sizeof *f);
  for (int d = 0; d < n_train && d < r->nd; d++) {
    if (!r->ok[d]) continue;
    features(s, &draws[d], phi);
    for (int i = 0; i < p; i++) {
      for (int j = 0; j <= i; j++) A[i * p + j] += phi[i] * phi[j];
      f->bc[i] += phi[i] * r->collagen[d];
      f->bh[i] += phi[i] * r->dh[d];
    }
    used++;
  }
  if (used < p + 2) return 0;
  /* a ridge of 1e-9 of the diagonal's mean keeps a nearly collinear design solvable; any bias it
   * brings, the control variate removes */
  double tr = 0;
  for (int i = 0; i < p; i++) tr += A[i * p + i];
  for (int i = 0; i < p; i++) {
    A[i * p + i] += 1e-9 * tr / p;
    for (int j = 0; j < i; j++) A[j * p + i] = A[i * p + j];
  }
  if (!cholesky_solve(A, p, f->bc, f->bh)) return 0;
  f->p = p;
  return 1;
}

void mn__emu_predict(const mn__emu_space *s, const mn__emu_model *f, const mn_model_params *p,
                     double *collagen, double *dh) {
  double phi[MN__EMU_P], c = 0, h = 0;
  features(s, p, phi);
  for (int i = 0; i < f->p; i++) c += f->bc[i] * phi[i], h += f->bh[i] * phi[i];
  *collagen = c, *dh = h;
}
