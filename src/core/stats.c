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
