/* Small statistics over samples: the 5/50/95 % quantiles behind every uncertainty band.
 * Pipeline: core; used by course (bands), infer and plan. Reference: Hyndman & Fan 1996,
 * "Sample quantiles in statistical packages", definition 7 (R's default). */
#include <math.h>
#include <stdlib.h>

#include "mnsim/core.h"

/* qsort order without subtraction (no overflow); NaN never gets here. */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Non-finite values (a failed draw is NaN) are squeezed out in place first. Definition 7: for
 * probability p the position x = p (m - 1) in the sorted values, interpolated linearly between
 * v[floor(x)] and the next one. */
void mn_quantiles(double *v, int n, double q[3]) {
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) v[m++] = v[i];
  if (m == 0) {
    q[0] = q[1] = q[2] = NAN;
    return;
  }
  qsort(v, (size_t)m, sizeof *v, cmp_double);
  static const double p[3] = {0.05, 0.5, 0.95};
  for (int k = 0; k < 3; k++) {
    double x = p[k] * (m - 1);
    int i = (int)floor(x);
    double f = x - i;
    q[k] = i + 1 < m ? (1 - f) * v[i] + f * v[i + 1] : v[m - 1];
  }
}

double mn_normal_cdf(double x) {
  return 0.5 * erfc(-x / M_SQRT2);
}

double mn_normal_quantile(double p) {
  if (!(p >= 0 && p <= 1)) return NAN;
  if (p == 0) return -INFINITY;
  if (p == 1) return INFINITY;
  /* bisection on [-40, 40] (Phi(-40) is below the smallest double): Phi is increasing, and the
   * interval halves until its ends are adjacent doubles, so no start or tail needs care */
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; i++) {
    double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (mn_normal_cdf(mid) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

double mn_student_t_quantile(double p, double nu) {
  if (!(p > 0 && p < 1) || !(nu >= 3)) return NAN;
  double z = mn_normal_quantile(p), z2 = z * z;
  double g1 = z * (z2 + 1) / 4;
  double g2 = z * ((5 * z2 + 16) * z2 + 3) / 96;
  double g3 = z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / 384;
  double g4 = z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) / 92160;
  return z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu;
}

double mn_gamma_p(double a, double x) {
  if (!(a > 0) || !(x >= 0) || !isfinite(a)) return NAN;
  if (x == 0) return 0;
  if (isinf(x)) return 1;
  double lead = a * log(x) - x - lgamma(a); /* log of x^a e^-x / Gamma(a) */
  if (x < a + 1) { /* the series gamma(a, x) = x^a e^-x sum x^n / (a (a+1) ... (a+n)) */
    double term = 1 / a, sum = term;
    for (int n = 1; n < 1000 && fabs(term) > 1e-16 * fabs(sum); n++) {
      term *= x / (a + n);
      sum += term;
    }
    return fmin(1.0, sum * exp(lead));
  }
  /* the continued fraction of Gamma(a, x) (modified Lentz): 1 / (x + 1 - a - 1 (1 - a) /
   * (x + 3 - a - 2 (2 - a) / (x + 5 - a - ...))) */
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; i++) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1 / d;
    double delta = d * c;
    h *= delta;
    if (fabs(delta - 1) < 1e-16) break;
  }
  return fmax(0.0, 1 - exp(lead) * h);
}
