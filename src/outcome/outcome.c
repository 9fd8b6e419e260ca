/* Observables from the time series of layer means (research/models.md 7.8): redness index
 * against the Fitzpatrick-scaled visibility threshold, inflammatory peaks, barrier closure,
 * collagen change per layer, type III fraction and elastin change. Stage: outcome. */
#include <math.h>
#include <string.h>

#include "mnsim/outcome.h"

/* Last time in [t0, t1) at which x(i) exceeds thr, interpolated at the downward crossing. */
static double last_above(const mn_timeseries *ts, const double *x, double thr, double t0,
                         double t1) {
  double last = t0;
  int any = 0;
  for (int i = 0; i < ts->n; i++) {
    if (ts->t[i] < t0 || ts->t[i] >= t1) continue;
    if (x[i] > thr) {
      any = 1;
      last = ts->t[i];
      if (i + 1 < ts->n && x[i + 1] <= thr && ts->t[i + 1] < t1)
        last = ts->t[i] + (ts->t[i + 1] - ts->t[i]) * (x[i] - thr) / (x[i] - x[i + 1]);
    }
  }
  return any ? last - t0 : 0;
}

double mn_outcome_lesion_dh_um(const mn_grid *g, const mn_solver *s, const mn_model_params *m,
                               const mn_lesion *l) {
  const double *c1 = mn_solver_field_c(s, MN_SP_C1), *c3 = mn_solver_field_c(s, MN_SP_C3);
  double sum = 0;
  long cols = 0;
  for (int j = 0; j < g->ny; j++)
    for (int i = 0; i < g->nx; i++) {
      if (mn_lesion_deficit_um(l, mn_grid_xc_mm(g, i), mn_grid_yc_mm(g, j)) <= 0) continue;
      cols++;
      for (int k = 0; k < g->nz; k++) {
        size_t c = mn_grid_at(g, i, j, k);
        if (g->cell[c] == MN_LAYER_PD || g->cell[c] == MN_LAYER_RD)
          sum += g->dz_um[k] * (c1[c] + c3[c] - 1);
      }
    }
  return cols ? m->psi * sum / (double)cols : 0;
}

double mn_outcome_fill_pct(double dh_um, double depth_um) {
  if (!(depth_um > 0)) return 0;
  double f = 100 * dh_um / depth_um;
  return f > 100 ? 100 : f;
}

/* Dermal thickness change at day t: psi sum over the dermal layers of h_l (C_l(t) - 1),
 * C = C1 + C3 (models.md 7.8). */
static double thickness(const mn_timeseries *ts, const mn_model_params *m, const mn_skin *sk,
                        double t) {
  double dh = 0;
  for (int l = MN_LAYER_PD; l <= MN_LAYER_RD; l++)
    dh += sk->thickness_um[l] * (mn_ts_at(ts, l, MN_SP_C1, t) + mn_ts_at(ts, l, MN_SP_C3, t) - 1);
  return m->psi * dh;
}

int mn_outcome_compute(const mn_timeseries *ts, const mn_model_params *m, const mn_skin *sk,
                       int fitz, const double *sessions, int n, mn_outcome *o, mn_error *err) {
  memset(o, 0, sizeof *o);
  if (ts->n < 2) return MN_ERR(err, MN_EINPUT, "", "a time series needs at least two samples");
  if (n < 1 || n > MN_MAX_SESSIONS)
    return MN_ERR(err, MN_EINPUT, "", "%d sessions; allowed 1 to %d", n, MN_MAX_SESSIONS);
  o->n_sessions = n;
  memcpy(o->session_day, sessions, (size_t)n * sizeof *sessions);
  o->t_end = ts->t[ts->n - 1];
  o->redness_threshold = m->V_vis * (fitz >= 1 && fitz <= 6 ? m->s_vis[fitz - 1] : 1.0);
  double *dve = mn_malloc_array((size_t)ts->n, sizeof *dve);
  double *pve = mn_malloc_array((size_t)ts->n, sizeof *pve);
  if (!dve || !pve) {
    mn_free(dve);
    mn_free(pve);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the outcome");
  }
  for (int i = 0; i < ts->n; i++) {
    dve[i] = mn_ts_mean(ts, i, MN_LAYER_VE, MN_SP_D);
    pve[i] = mn_ts_mean(ts, i, MN_LAYER_VE, MN_SP_P);
    o->mel_peak = fmax(o->mel_peak, mn_ts_mean(ts, i, MN_LAYER_VE, MN_SP_MEL));
    if (ts->redness[i] > o->redness_peak)
      o->redness_peak = ts->redness[i], o->redness_peak_day = ts->t[i];
    static const int sp[3] = {MN_SP_P, MN_SP_N, MN_SP_M};
    for (int q = 0; q < 3; q++) {
      double v = mn_ts_mean(ts, i, MN_LAYER_PD, sp[q]);
      if (v > o->peak[q]) o->peak[q] = v, o->peak_day[q] = ts->t[i];
    }
  }
  for (int s = 0; s < n; s++) {
    double t0 = sessions[s], t1 = s + 1 < n ? sessions[s + 1] : INFINITY;
    o->redness_days[s] = last_above(ts, ts->redness, o->redness_threshold, t0, t1);
    double d0 = mn_ts_at(ts, MN_LAYER_VE, MN_SP_D, t0);
    o->barrier_days[s] = last_above(ts, dve, 0.1 * d0, t0, t1);
    o->sun_days[s] = fmax(o->barrier_days[s], last_above(ts, pve, m->P_th, t0, t1));
  }
  mn_free(dve);
  mn_free(pve);
  o->pih_risk = 1.0 / (1.0 + exp(-(o->mel_peak - m->pih_mel50) / m->pih_width));
  static const double at[3] = {30, 90, 180};
  for (int q = 0; q < 3; q++) {
    double t = sessions[0] + at[q];
    o->thickness_um[q] = t <= o->t_end ? thickness(ts, m, sk, t) : NAN;
  }
  o->thickness_end_um = thickness(ts, m, sk, o->t_end);
  for (int l = 0; l < 2; l++) {
    int layer = l ? MN_LAYER_RD : MN_LAYER_PD;
    for (int q = 0; q < 3; q++) {
      double t = sessions[0] + at[q];
      o->collagen_pct[l][q] =
          t <= o->t_end
              ? 100 * (mn_ts_at(ts, layer, MN_SP_C1, t) + mn_ts_at(ts, layer, MN_SP_C3, t) - 1)
              : NAN;
    }
    double c1 = mn_ts_mean(ts, ts->n - 1, layer, MN_SP_C1),
           c3 = mn_ts_mean(ts, ts->n - 1, layer, MN_SP_C3);
    o->collagen_end_pct[l] = 100 * (c1 + c3 - 1);
    static const double at4[4] = {30, 90, 180, 365};
    for (int q = 0; q < 4; q++) {
      double t = sessions[0] + at4[q];
      o->mature_pct[l][q] =
          t <= o->t_end + 1e-9 ? 100 * (mn_ts_at(ts, layer, MN_SP_C1, t) - 1) : NAN;
    }
    o->type3_end[l] = c1 + c3 > 0 ? (c3 + MN_TYPE3_BASELINE * c1) / (c3 + c1) : NAN;
    o->elastin_end_pct[l] = 100 * (mn_ts_mean(ts, ts->n - 1, layer, MN_SP_E) - 1);
  }
  return MN_OK;
}

typedef struct scalar_desc {
  const char *name, *unit, *help;
} scalar_desc;
static const scalar_desc scalars[MN_OQ_COUNT] = {
    {"redness_peak", "1", "largest redness index R(t)"},
    {"redness_days_first", "day", "visible redness after the first session"},
    {"redness_days_max", "day", "longest visible redness after any session"},
    {"barrier_hours_first", "h", "epidermal barrier open after the first session"},
    {"peak_P", "1", "mediator peak, papillary dermis"},
    {"peak_N", "Q", "neutrophil peak, papillary dermis"},
    {"peak_M", "Q", "macrophage peak, papillary dermis"},
    {"collagen_PD_30", "%", "papillary collagen (I + III) change 30 days after the first session"},
    {"collagen_PD_90", "%", "papillary collagen change at 90 days"},
    {"collagen_PD_180", "%", "papillary collagen change at 180 days"},
    {"collagen_PD_end", "%", "papillary collagen change at the end"},
    {"collagen_RD_180", "%", "reticular collagen change at 180 days"},
    {"collagen_RD_end", "%", "reticular collagen change at the end"},
    {"mature_PD_90", "%", "papillary type I collagen change at 90 days"},
    {"mature_PD_180", "%", "papillary type I collagen change at 180 days"},
    {"mature_PD_365", "%", "papillary type I collagen change at 365 days"},
    {"type3_PD_end", "1", "type III share of papillary collagen at the end"},
    {"elastin_PD_end", "%", "papillary elastin change at the end (low confidence)"},
    {"thickness_180_um", "um", "dermal thickening at 180 days (psi is an estimate)"},
    {"thickness_end_um", "um", "dermal thickening at the end"},
    {"pih_risk", "1", "probability of post-inflammatory hyperpigmentation (uncalibrated)"},
    {"sun_days_max", "day", "longest sun-avoidance window after any session"},
};

const char *mn_outcome_scalar_name(int i) {
  return i >= 0 && i < MN_OQ_COUNT ? scalars[i].name : "?";
}
const char *mn_outcome_scalar_unit(int i) {
  return i >= 0 && i < MN_OQ_COUNT ? scalars[i].unit : "";
}
const char *mn_outcome_scalar_help(int i) {
  return i >= 0 && i < MN_OQ_COUNT ? scalars[i].help : "";
}

static double max_over(const double *v, int n) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, v[i]);
  return m;
}

double mn_outcome_scalar(const mn_outcome *o, int i) {
  switch (i) {
    case MN_OQ_REDNESS_PEAK:
      return o->redness_peak;
    case MN_OQ_REDNESS_DAYS_FIRST:
      return o->redness_days[0];
    case MN_OQ_REDNESS_DAYS_MAX:
      return max_over(o->redness_days, o->n_sessions);
    case MN_OQ_BARRIER_HOURS_FIRST:
      return 24 * o->barrier_days[0];
    case MN_OQ_PEAK_P:
    case MN_OQ_PEAK_N:
    case MN_OQ_PEAK_M:
      return o->peak[i - MN_OQ_PEAK_P];
    case MN_OQ_COLLAGEN_PD_30:
    case MN_OQ_COLLAGEN_PD_90:
    case MN_OQ_COLLAGEN_PD_180:
      return o->collagen_pct[0][i - MN_OQ_COLLAGEN_PD_30];
    case MN_OQ_COLLAGEN_PD_END:
      return o->collagen_end_pct[0];
    case MN_OQ_COLLAGEN_RD_180:
      return o->collagen_pct[1][2];
    case MN_OQ_COLLAGEN_RD_END:
      return o->collagen_end_pct[1];
    case MN_OQ_MATURE_PD_90:
    case MN_OQ_MATURE_PD_180:
    case MN_OQ_MATURE_PD_365:
      return o->mature_pct[0][1 + i - MN_OQ_MATURE_PD_90];
    case MN_OQ_TYPE3_PD_END:
      return o->type3_end[0];
    case MN_OQ_ELASTIN_PD_END:
      return o->elastin_end_pct[0];
    case MN_OQ_THICKNESS_180:
      return o->thickness_um[2];
    case MN_OQ_THICKNESS_END:
      return o->thickness_end_um;
    case MN_OQ_PIH_RISK:
      return o->pih_risk;
    case MN_OQ_SUN_DAYS_MAX:
      return max_over(o->sun_days, o->n_sessions);
    default:
      return NAN;
  }
}
