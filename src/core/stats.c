/* Small statistics over samples: quantiles for uncertainty bands. Stage: core. */
#include <math.h>
#include <stdlib.h>

#include "mnsim/core.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

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
