/* Observables from the time series of layer means (research/models.md 7.8; docs/model.md,
 * model v2): redness index against the Fitzpatrick-scaled visibility threshold, inflammatory
 * peaks, barrier closure from the channels' gaps, collagen change per layer, type III fraction,
 * elastin, epidermis, stiffness, PIH risk and the sun-avoidance window. Stage: outcome. */
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
  const float *c1 = mn_solver_field_c(s, MN_SP_C1), *c3 = mn_solver_field_c(s, MN_SP_C3);
  double sum = 0;
  long cols = 0;
  for (int j = 0; j < g->ny; j++)
    for (int i = 0; i < g->nx; i++) {
      if (mn_lesion_deficit_um(l, mn_grid_xc_mm(g, i), mn_grid_yc_mm(g, j)) <= 0) continue;
      cols++;
      for (int k = 0; k < g->nz; k++) {
        size_t c = mn_grid_at(g, i, j, k);
        if (g->cell[c] == MN_LAYER_PD || g->cell[c] == MN_LAYER_RD)
          sum += g->dz_um[k] * ((double)c1[c] + c3[c] - 1);
      }
    }
  return cols ? m->psi * sum / (double)cols : 0;
}

double mn_outcome_lesion_gain(const mn_grid *g, const mn_solver *s, const mn_lesion *l) {
  const float *c1 = mn_solver_field_c(s, MN_SP_C1), *c3 = mn_solver_field_c(s, MN_SP_C3);
  double sum[2] = {0}, w[2] = {0}; /* the lesion's columns, the whole grid */
  for (int j = 0; j < g->ny; j++)
    for (int i = 0; i < g->nx; i++) {
      int in = mn_lesion_deficit_um(l, mn_grid_xc_mm(g, i), mn_grid_yc_mm(g, j)) > 0;
      for (int k = 0; k < g->nz; k++) {
        size_t c = mn_grid_at(g, i, j, k);
        if (g->cell[c] != MN_LAYER_PD) continue;
        double x = g->dz_um[k] * ((double)c1[c] + c3[c] - 1);
        sum[1] += x, w[1] += g->dz_um[k];
        if (in) sum[0] += x, w[0] += g->dz_um[k];
      }
    }
  /* a lesion carved through the papillary dermis reads the papillary dermis it lies in */
  return w[0] > 0 ? sum[0] / w[0] : w[1] > 0 ? sum[1] / w[1] : 0;
}

/* The response factor of each lesion type against wrinkles (docs/design/observation-v2.md):
 * boxcar rho_box; rolling 0.79 and icepick 0.125 of it (GargChaudhary: reductions 37.25 and
 * 5.88 % against boxcar's 47.06 %) [D]; wrinkles 1 (the reference). */
static double type_factor(const mn_model_params *m, int type) {
  switch (type) {
    case MN_LESION_ICEPICK:
      return 0.125 * m->rho_box;
    case MN_LESION_BOXCAR:
      return m->rho_box;
    case MN_LESION_ROLLING:
      return 0.79 * m->rho_box;
    default:
      return 1.0;
  }
}

double mn_outcome_depth_loss(const mn_model_params *m, int type, double gain) {
  double x = m->kap_fill * type_factor(m, type) * (gain > 0 ? gain : 0);
  return -expm1(-x);
}

const double mn_outcome_scar_mix[3] = {0.59, 0.23, 0.18};

double mn_outcome_depth_loss_mix(const mn_model_params *m, double gain) {
  static const int types[3] = {MN_LESION_ICEPICK, MN_LESION_BOXCAR, MN_LESION_ROLLING};
  double f = 0;
  for (int k = 0; k < 3; k++)
    f += mn_outcome_scar_mix[k] * mn_outcome_depth_loss(m, types[k], gain);
  return f;
}

double mn_outcome_goodman_baron(double depth_um) {
  static const double theta[3] = {50, 150, 500};
  if (!(depth_um > 0)) return 1;
  double g = 1;
  for (int k = 0; k < 3; k++)
    g += 1 - 0.5 * erfc(-(log(theta[k]) - log(depth_um)) / (0.35 * M_SQRT2));
  return g;
}

double mn_outcome_goodman_baron_depth(double grade) {
  if (!(grade > 1)) return 0;
  if (!(grade < 4)) return INFINITY;
  double lo = 0, hi = log(1e5); /* bisection on ln D over 1 um - 100 mm: the grade rises with D */
  for (int i = 0; i < 100; i++) {
    double mid = 0.5 * (lo + hi);
    if (mn_outcome_goodman_baron(exp(mid)) < grade)
      lo = mid;
    else
      hi = mid;
  }
  return exp(0.5 * (lo + hi));
}

double mn_outcome_lemperle(double depth_um) {
  if (!(depth_um > 0)) return 0;
  double g = 1 + log2(depth_um / 200);
  return g < 0 ? 0 : g > 5 ? 5 : g;
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

/* ---- the barrier (docs/model.md "Barrier") ------------------------------------------------
 * Each channel's epidermal gap, radius a at the epidermis-dermis junction, closes from its wall
 * after a lag: a(tau) = a for tau < m t0, then a - v (tau - m t0) / m, tau in hours after the
 * session, m the skin type's factor. The barrier is open while the gaps' area sum w a(tau)^2
 * exceeds f_det of its value at the session. */

static double gap_area(const mn_outcome_input *in, double m, double tau_h) {
  const mn_model_params *p = in->m;
  double area = 0, moved = tau_h > m * p->t0_close ? p->v_close * (tau_h - m * p->t0_close) / m : 0;
  for (int g = 0; g < in->n_gaps; g++) {
    double a = in->gap_um[g] - moved;
    if (a > 0) area += in->gap_weight[g] * a * a;
  }
  return area;
}

/* Hours the barrier stays open after a session (bisection on the monotone open area). */
static double barrier_hours(const mn_outcome_input *in) {
  const mn_model_params *p = in->m;
  int ft = in->fitzpatrick;
  double m = ft >= 1 && ft <= 6 ? p->m_close[ft - 1] : 1.0, amax = 0;
  for (int g = 0; g < in->n_gaps; g++) amax = fmax(amax, in->gap_um[g]);
  double a0 = gap_area(in, m, 0);
  if (!(a0 > 0)) return 0;
  double lo = 0, hi = m * (p->t0_close + amax / p->v_close);
  for (int it = 0; it < 60; it++) {
    double mid = 0.5 * (lo + hi);
    if (gap_area(in, m, mid) > p->f_det * a0)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/* ---- pigment and sun (docs/model.md "Sun and pigment") -------------------------------------
 * The PIH probability is log-normal in the peak melanogenic activation. Mel is linear in its
 * production, and the UV factor multiplies the production: the production the run had is
 * Mel' + k_out Mel (from the series), and exposure without protection from day t on would add
 * that production times (g_free / g_run - 1) from t on, decaying at k_out. */

static double pih_of(const mn_model_params *m, double mel) {
  if (!(mel > 0)) return 0;
  return 0.5 * erfc(-(log(mel) - log(m->pih_m50)) / (m->pih_sigma * M_SQRT2));
}

/* Peak Mel of the session (its protected peak @p peak) if the patient stopped protecting at
 * sample @p i0 (until @p i1): the samples before i0 keep their value. */
static double peak_unprotected(const mn_timeseries *ts, const double *mel, const double *prod,
                               int i0, int i1, double k_out, double extra, double peak) {
  double add = 0;
  for (int i = i0; i < i1; i++) {
    if (i > i0) {
      double h = ts->t[i] - ts->t[i - 1];
      add = add * exp(-k_out * h) + extra * 0.5 * (prod[i - 1] * exp(-k_out * h) + prod[i]) * h;
    }
    peak = fmax(peak, mel[i] + add);
  }
  return peak;
}

/* Days after session s (samples i0..i1) until unprotected sun adds less than 0.01 PIH. */
static double pih_window(const mn_timeseries *ts, const mn_outcome_input *in, const double *mel,
                         const double *prod, int i0, int i1, double peak) {
  const mn_model_params *m = in->m;
  double g_run = mn_uv_factor(m, in->uv_run), g_free = mn_uv_factor(m, in->uv_free);
  double extra = g_free / g_run - 1, base = pih_of(m, peak);
  if (!(extra > 0) || i1 - i0 < 2) return 0;
  int lo = i0, hi = i1 - 1; /* the first sample from which stopping adds < 0.01 */
  if (pih_of(m, peak_unprotected(ts, mel, prod, lo, i1, m->k_out, extra, peak)) - base < 0.01)
    return 0;
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (pih_of(m, peak_unprotected(ts, mel, prod, mid, i1, m->k_out, extra, peak)) - base < 0.01)
      hi = mid;
    else
      lo = mid;
  }
  return ts->t[hi] - ts->t[i0];
}

/* ---- matrix ---------------------------------------------------------------------------------- */

/* Relative small-strain stiffness of the dermis at sample @p i: (1 - w_el) C^beta_C + w_el E
 * per layer, weighted by thickness (Koppenol/Egberts stress ~ sqrt(rho); docs/model.md). */
static double stiffness(const mn_timeseries *ts, const mn_model_params *m, const mn_skin *sk,
                        int i) {
  double y = 0, h = 0;
  for (int l = MN_LAYER_PD; l <= MN_LAYER_RD; l++) {
    double c = mn_ts_mean(ts, i, l, MN_SP_C1) + mn_ts_mean(ts, i, l, MN_SP_C3);
    double e = mn_ts_mean(ts, i, l, MN_SP_E);
    y += sk->thickness_um[l] * ((1 - m->w_el) * pow(fmax(c, 0), m->beta_C) + m->w_el * e);
    h += sk->thickness_um[l];
  }
  return h > 0 ? y / h : 1;
}

static void matrix_outcomes(const mn_timeseries *ts, const mn_outcome_input *in, mn_outcome *o) {
  const mn_model_params *m = in->m;
  const double *sessions = in->session_day;
  static const double at[4] = {30, 90, 180, 365};
  for (int q = 0; q < 3; q++) {
    double t = sessions[0] + at[q];
    o->thickness_um[q] = t <= o->t_end ? thickness(ts, m, in->skin, t) : NAN;
  }
  o->thickness_end_um = thickness(ts, m, in->skin, o->t_end);
  int last = ts->n - 1;
  for (int l = 0; l < 2; l++) {
    int layer = l ? MN_LAYER_RD : MN_LAYER_PD;
    for (int q = 0; q < 4; q++) {
      double t = sessions[0] + at[q];
      o->collagen_pct[l][q] =
          t <= o->t_end + 1e-9
              ? 100 * (mn_ts_at(ts, layer, MN_SP_C1, t) + mn_ts_at(ts, layer, MN_SP_C3, t) - 1)
              : NAN;
      o->mature_pct[l][q] =
          t <= o->t_end + 1e-9 ? 100 * (mn_ts_at(ts, layer, MN_SP_C1, t) - 1) : NAN;
    }
    double c1 = mn_ts_mean(ts, last, layer, MN_SP_C1), c3 = mn_ts_mean(ts, last, layer, MN_SP_C3);
    o->collagen_end_pct[l] = 100 * (c1 + c3 - 1);
    o->type3_end[l] = c1 + c3 > 0 ? (c3 + MN_TYPE3_BASELINE * c1) / (c3 + c1) : NAN;
    o->elastin_end_pct[l] = 100 * (mn_ts_mean(ts, last, layer, MN_SP_E) - 1);
  }
  o->epidermis_end_pct = 100 * mn_ts_mean(ts, last, MN_LAYER_VE, MN_SP_K);
  o->elasticity_end_pct = 100 * (stiffness(ts, m, in->skin, last) - 1);
}

/* Redness and the leukocyte peaks. */
static void inflammation_outcomes(const mn_timeseries *ts, mn_outcome *o) {
  for (int i = 0; i < ts->n; i++) {
    if (ts->redness[i] > o->redness_peak)
      o->redness_peak = ts->redness[i], o->redness_peak_day = ts->t[i];
    static const int sp[3] = {MN_SP_P, MN_SP_N, MN_SP_M};
    for (int q = 0; q < 3; q++) {
      double v = mn_ts_mean(ts, i, MN_LAYER_PD, sp[q]);
      if (v > o->peak[q]) o->peak[q] = v, o->peak_day[q] = ts->t[i];
    }
  }
}

/* Per session: visible redness, barrier, sun window; PIH from the peak Mel. */
static int session_outcomes(const mn_timeseries *ts, const mn_outcome_input *in, mn_outcome *o,
                            mn_error *err) {
  const mn_model_params *m = in->m;
  double *mel = mn_malloc_array((size_t)ts->n, sizeof *mel);
  double *prod = mn_malloc_array((size_t)ts->n, sizeof *prod);
  if (!mel || !prod) {
    mn_free(mel);
    mn_free(prod);
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the outcome");
  }
  for (int i = 0; i < ts->n; i++) {
    mel[i] = mn_ts_mean(ts, i, MN_LAYER_VE, MN_SP_MEL);
    o->mel_peak = fmax(o->mel_peak, mel[i]);
  }
  for (int i = 0; i < ts->n; i++) { /* Mel' + k_out Mel by differences of the samples */
    int a = i > 0 ? i - 1 : i, b = i + 1 < ts->n ? i + 1 : i;
    double dm = b > a ? (mel[b] - mel[a]) / (ts->t[b] - ts->t[a]) : 0;
    prod[i] = fmax(0, dm + m->k_out * mel[i]);
  }
  o->pih_risk = pih_of(m, o->mel_peak);
  double bar = barrier_hours(in) / 24;
  for (int s = 0; s < in->sessions; s++) {
    double t0 = in->session_day[s], t1 = s + 1 < in->sessions ? in->session_day[s + 1] : INFINITY;
    o->redness_days[s] = last_above(ts, ts->redness, o->redness_threshold, t0, t1);
    o->barrier_days[s] = bar;
    int i0 = 0, i1 = 0;
    while (i0 < ts->n && ts->t[i0] < t0 - 1e-9) i0++;
    i1 = i0;
    while (i1 < ts->n && ts->t[i1] < t1) i1++;
    double peak = 0;
    for (int i = i0; i < i1; i++) peak = fmax(peak, mel[i]);
    o->sun_days[s] = fmax(bar, pih_window(ts, in, mel, prod, i0, i1, peak));
  }
  mn_free(mel);
  mn_free(prod);
  return MN_OK;
}

int mn_outcome_compute(const mn_timeseries *ts, const mn_outcome_input *in, mn_outcome *o,
                       mn_error *err) {
  memset(o, 0, sizeof *o);
  if (ts->n < 2) return MN_ERR(err, MN_EINPUT, "", "a time series needs at least two samples");
  if (in->sessions < 1 || in->sessions > MN_MAX_SESSIONS)
    return MN_ERR(err, MN_EINPUT, "", "%d sessions; allowed 1 to %d", in->sessions,
                  MN_MAX_SESSIONS);
  const mn_model_params *m = in->m;
  int fitz = in->fitzpatrick;
  o->n_sessions = in->sessions;
  memcpy(o->session_day, in->session_day, (size_t)in->sessions * sizeof *in->session_day);
  o->t_end = ts->t[ts->n - 1];
  o->redness_threshold = m->V_vis * (fitz >= 1 && fitz <= 6 ? m->s_vis[fitz - 1] : 1.0);
  inflammation_outcomes(ts, o);
  matrix_outcomes(ts, in, o);
  return session_outcomes(ts, in, o, err);
}

typedef struct scalar_desc {
  const char *name, *unit, *help;
} scalar_desc;
static const scalar_desc scalars[MN_OQ_COUNT] = {
    {"redness_peak", "1", "largest redness index R(t)"},
    {"redness_days_first", "day", "visible redness after the first session"},
    {"redness_days_max", "day", "longest visible redness after any session"},
    {"barrier_hours_first", "h", "epidermal barrier open after a session (channel closure)"},
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
    {"pih_risk", "1", "probability of post-inflammatory hyperpigmentation (calibrated on CT08a-c)"},
    {"sun_days_max", "day", "longest sun-avoidance window after any session"},
    {"collagen_PD_365", "%", "papillary collagen change at 365 days"},
    {"epidermis_end", "%", "viable-epidermis thickening at the end"},
    {"elasticity_end", "%", "dermal small-strain stiffness change at the end (low confidence)"},
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
    case MN_OQ_COLLAGEN_PD_365:
      return o->collagen_pct[0][3];
    case MN_OQ_EPIDERMIS_END:
      return o->epidermis_end_pct;
    case MN_OQ_ELASTICITY_END:
      return o->elasticity_end_pct;
    default:
      return NAN;
  }
}
