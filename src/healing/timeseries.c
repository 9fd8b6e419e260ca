/* The time series of a run: layer means of every species and the redness index at the sample
 * days, reserved up front (no allocation while the run steps). Written by the 3D solver's driver
 * and the lumped twin, read by outcome. Stage: healing. */
#include <string.h>

#include "mnsim/healing.h"

int mn_timeseries_init(mn_timeseries *ts, int cap, mn_error *err) {
  memset(ts, 0, sizeof *ts);
  ts->cap = cap;
  ts->t = mn_malloc_array((size_t)cap, sizeof *ts->t);
  ts->session = mn_malloc_array((size_t)cap, sizeof *ts->session);
  ts->redness = mn_malloc_array((size_t)cap, sizeof *ts->redness);
  ts->mean = mn_malloc_array((size_t)cap * MN_LAYER_HYPO * MN_NSPECIES, sizeof *ts->mean);
  if (!ts->t || !ts->session || !ts->redness || !ts->mean) {
    mn_timeseries_fini(ts);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for a time series of %d samples", cap);
  }
  return MN_OK;
}

void mn_timeseries_fini(mn_timeseries *ts) {
  if (!ts) return;
  mn_free(ts->t);
  mn_free(ts->session);
  mn_free(ts->redness);
  mn_free(ts->mean);
  memset(ts, 0, sizeof *ts);
}

int mn_timeseries_add(mn_timeseries *ts, double t, int session, double redness,
                      const double mean[MN_LAYER_HYPO][MN_NSPECIES], mn_error *err) {
  if (ts->n >= ts->cap)
    return MN_ERR(err, MN_EINTERNAL, "", "time series full (%d samples reserved)", ts->cap);
  int i = ts->n++;
  ts->t[i] = t;
  ts->session[i] = session;
  ts->redness[i] = redness;
  memcpy(ts->mean + (size_t)i * MN_LAYER_HYPO * MN_NSPECIES, mean,
         sizeof(double) * MN_LAYER_HYPO * MN_NSPECIES);
  return MN_OK;
}

int mn_timeseries_append(mn_timeseries *ts, const mn_timeseries *from, int n, mn_error *err) {
  for (int i = 0; i < n; i++) {
    const double(*mean)[MN_NSPECIES] =
        (const double(*)[MN_NSPECIES])(from->mean + (size_t)i * MN_LAYER_HYPO * MN_NSPECIES);
    int rc = mn_timeseries_add(ts, from->t[i], from->session[i], from->redness[i], mean, err);
    if (rc) return rc;
  }
  return MN_OK;
}

double mn_ts_at(const mn_timeseries *ts, int l, int s, double t) {
  if (ts->n == 0) return 0;
  if (t <= ts->t[0]) return mn_ts_mean(ts, 0, l, s);
  if (t > ts->t[ts->n - 1]) return mn_ts_mean(ts, ts->n - 1, l, s);
  int lo = 0, hi = ts->n - 1; /* the first i with t[i] >= t: t[lo] < t <= t[hi] */
  while (hi - lo > 1) {
    int mid = lo + (hi - lo) / 2;
    if (ts->t[mid] >= t)
      hi = mid;
    else
      lo = mid;
  }
  double a = (t - ts->t[lo]) / (ts->t[hi] - ts->t[lo]);
  return (1 - a) * mn_ts_mean(ts, lo, l, s) + a * mn_ts_mean(ts, hi, l, s);
}
