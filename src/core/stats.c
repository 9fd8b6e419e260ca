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
