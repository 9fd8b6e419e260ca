/* Model parameters: the table in data/healing_params.csv (value, unit, range, evidence tag,
 * source), the loop-gain check of the healthy state, species placement by layer and the
 * per-layer coefficients. Stage: healing. Reference: research/models.md 7.2-7.6. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "healing_impl.h"

static const char *const species_names[MN_NSPECIES] = {"d",  "P", "N", "M",   "T", "F", "C3",
                                                       "C1", "E", "V", "Mel", "S", "K"};
const int mn__diffusing[MN_NDIFFUSING] = {MN_SP_P, MN_SP_T, MN_SP_N, MN_SP_M, MN_SP_F};

const char *mn_species_name(int s) {
  return s >= 0 && s < MN_NSPECIES ? species_names[s] : "?";
}
double mn_species_baseline(int s) {
  return s == MN_SP_C1 || s == MN_SP_E ? 1.0 : 0.0;
}

/* Where each species lives (models.md 7.2): damage everywhere; mediators, growth factor and
 * leukocytes in the viable epidermis and dermis; fibroblasts (F and S) and matrix in the dermis
 * only; vasodilation in the papillary dermis; melanogenesis and keratinocytes in the viable
 * epidermis. */
int mn_species_in_layer(int s, int layer) {
  switch (layer) {
    case MN_LAYER_SC:
      return s == MN_SP_D;
    case MN_LAYER_VE:
      return s == MN_SP_D || s == MN_SP_P || s == MN_SP_N || s == MN_SP_M || s == MN_SP_T ||
             s == MN_SP_MEL || s == MN_SP_K;
    case MN_LAYER_PD:
      return s != MN_SP_MEL && s != MN_SP_K;
    case MN_LAYER_RD:
      return s != MN_SP_MEL && s != MN_SP_V && s != MN_SP_K;
    default:
      return 0;
  }
}

/* Parameter names, their struct fields and the units the file must state. */
typedef struct pdesc {
  const char *name, *unit;
  size_t off;
} pdesc;
#define P(n, u) \
  { #n, u, offsetof(mn_model_params, n) }
#define PA(n, i, u) \
  { #n "_" #i, u, offsetof(mn_model_params, n) + (i - 1) * sizeof(double) }
static const pdesc pdescs[] = {
    P(k_d_derm, "1/day"),  P(k_d_epi, "1/day"),   P(kap_N, "1/(Q day)"), P(kap_M, "1/(Q day)"),
    P(D_P, "mm2/day"),     P(D_T, "mm2/day"),     P(k_P, "1/day"),       P(a_d, "1/day"),
    P(a_N, "1/day"),       P(a_M, "1/day"),       P(rho_N, "Q/day"),     P(k_N, "1/day"),
    P(k_eff, "1/(Q day)"), P(D_N, "mm2/day"),     P(rho_M, "Q/day"),     P(k_M, "1/day"),
    P(D_M, "mm2/day"),     P(b_M, "1/day"),       P(b_eff, "1/day"),     P(b_F, "1/day"),
    P(k_T, "1/day"),       P(tau_plt, "1"),       P(a_F, "1/day"),       P(r_F, "1/day"),
    P(F_max, "Q"),         P(k_F, "1/day"),       P(D_F, "mm2/day"),     P(q_F, "C0/(Q day)"),
    P(gam, "1"),           P(k_mat, "1/day"),     P(k_1, "1/day"),       P(k_E, "1/day"),
    P(q_E, "1/(Q day)"),   P(V_max, "1"),         P(K_V, "1"),           P(tau_V, "day"),
    P(V_vis, "1"),         P(k_in, "1/day"),      P(P_th, "1"),          P(k_bm, "1/day"),
    P(k_out, "1/day"),     P(w_UV, "1"),          P(psi, "1"),           P(f_S, "1"),
    P(k_S, "1/day"),       P(C_set, "C0"),        P(lam_RD, "1"),        P(dC_age, "C0"),
    P(qF_age, "1/year"),   P(kap_I, "1/(Q day)"), P(rho_x, "1"),         P(k_r, "1/day"),
    P(kap_E, "1/(Q day)"), P(E_set, "1"),         P(k_K, "1/day"),       P(chi_K, "1/Q"),
    P(kap_K, "1"),         P(t0_close, "h"),      P(v_close, "um/h"),    P(f_det, "1"),
    P(beta_C, "1"),        P(w_el, "1"),          P(u_ref, "SED/day"),   P(pih_m50, "1"),
    P(pih_sigma, "1"),     P(kap_fill, "1"),      P(rho_box, "1"),       PA(s_FT, 1, "1"),
    PA(s_FT, 2, "1"),      PA(s_FT, 3, "1"),      PA(s_FT, 4, "1"),      PA(s_FT, 5, "1"),
    PA(s_FT, 6, "1"),      PA(s_vis, 1, "1"),     PA(s_vis, 2, "1"),     PA(s_vis, 3, "1"),
    PA(s_vis, 4, "1"),     PA(s_vis, 5, "1"),     PA(s_vis, 6, "1"),     PA(m_close, 1, "1"),
    PA(m_close, 2, "1"),   PA(m_close, 3, "1"),   PA(m_close, 4, "1"),   PA(m_close, 5, "1"),
    PA(m_close, 6, "1"),
};
#undef P
#undef PA
enum { NPARAM = sizeof pdescs / sizeof pdescs[0] };

const char *const *mn_model_param_names(size_t *n) {
  static const char *names[NPARAM];
  if (!names[0])
    for (int i = 0; i < NPARAM; i++) names[i] = pdescs[i].name;
  *n = NPARAM;
  return names;
}

double *mn_model_param_ref(mn_model_params *p, const char *name) {
  for (int i = 0; i < NPARAM; i++)
    if (strcmp(pdescs[i].name, name) == 0) return (double *)((char *)p + pdescs[i].off);
  return NULL;
}

static int unknown_param(const char *name, const char *where, mn_error *err) {
  size_t n;
  const char *const *names = mn_model_param_names(&n);
  const char *near = mn_nearest(name, names, n);
  if (near)
    return MN_ERR(err, MN_EINPUT, "", "%s'%s' is not a model parameter; did you mean '%s'?", where,
                  name, near);
  return MN_ERR(err, MN_EINPUT, "", "%s'%s' is not a model parameter", where, name);
}

static int parse_row(const mn_csv *c, int r, const int col[7], mn_param_set *ps, int *seen,
                     mn_error *err) {
  int rc = MN_OK, line = c->lineno[r];
  const char *name = c->rows[r][col[0]];
  char where[300];
  snprintf(where, sizeof where, "%s:%d: ", c->name, line);
  int k = -1;
  for (int i = 0; i < NPARAM; i++)
    if (strcmp(pdescs[i].name, name) == 0) k = i;
  if (k < 0) return unknown_param(name, where, err);
  MN_CHECK(!seen[k], err, MN_EINPUT, "", "%sparameter '%s' is given twice", where, name);
  seen[k] = 1;
  mn_param_info *in = &ps->info[ps->n++];
  snprintf(in->name, sizeof in->name, "%s", name);
  MN_TRY(mn_csv_double(c, r, col[1], &in->value, err));
  MN_TRY(mn_csv_double(c, r, col[3], &in->min, err));
  MN_TRY(mn_csv_double(c, r, col[4], &in->max, err));
  snprintf(in->unit, sizeof in->unit, "%s", c->rows[r][col[2]]);
  snprintf(in->tag, sizeof in->tag, "%s", c->rows[r][col[5]]);
  snprintf(in->source, sizeof in->source, "%s", c->rows[r][col[6]]);
  MN_CHECK(strcmp(in->unit, pdescs[k].unit) == 0, err, MN_EINPUT, "",
           "%s'%s' has unit '%s'; mnsim expects '%s'", where, name, in->unit, pdescs[k].unit);
  MN_CHECK(in->min <= in->value && in->value <= in->max && in->min >= 0, err, MN_EINPUT, "",
           "%s'%s' = %g must lie within its range [%g, %g], which must not be negative", where,
           name, in->value, in->min, in->max);
  MN_CHECK(strchr("VECDR", in->tag[0]) && in->tag[0] && !in->tag[1], err, MN_EINPUT, "",
           "%s'%s' has tag '%s'; allowed V, E, C, D, R", where, name, in->tag);
  MN_CHECK(in->source[0], err, MN_EINPUT, "", "%s'%s' needs a source", where, name);
  *(double *)((char *)&ps->p + pdescs[k].off) = in->value;
cleanup:
  return rc;
}

int mn_param_set_parse(const char *csv, size_t len, const char *name, mn_param_set *ps,
                       mn_error *err) {
  static const char *const cols[7] = {"name", "value", "unit", "min", "max", "tag", "source"};
  int rc = MN_OK, col[7], seen[NPARAM] = {0};
  mn_csv c;
  memset(ps, 0, sizeof *ps);
  MN_TRY(mn_csv_parse(csv, len, name, &c, err));
  for (int j = 0; j < 7; j++)
    if ((rc = mn_csv_require(&c, cols[j], &col[j], err))) goto done;
  for (int r = 0; r < c.nrows && rc == MN_OK; r++) {
    if (ps->n >= (int)(sizeof ps->info / sizeof ps->info[0]))
      rc = MN_ERR(err, MN_EINPUT, "", "%s: too many rows", c.name);
    else
      rc = parse_row(&c, r, col, ps, seen, err);
  }
  for (int k = 0; k < NPARAM && rc == MN_OK; k++)
    if (!seen[k])
      rc = MN_ERR(err, MN_EINPUT, "", "%s: parameter '%s' is missing", c.name, pdescs[k].name);
  if (rc == MN_OK && ps->p.F_max <= 1)
    rc = MN_ERR(err, MN_EINPUT, "", "%s: F_max = %g must exceed 1 (it counts the resident pool)",
                c.name, ps->p.F_max);
  if (rc == MN_OK && !(ps->p.C_set > 1 && ps->p.E_set > 1 && ps->p.u_ref > 0 &&
                       ps->p.pih_sigma > 0 && ps->p.v_close > 0))
    rc = MN_ERR(err, MN_EINPUT, "",
                "%s: C_set and E_set must exceed 1 (the baseline), u_ref, pih_sigma and v_close "
                "must be positive",
                c.name);
done:
  mn_csv_fini(&c);
cleanup:
  return rc;
}

int mn_param_set_load_prior(mn_param_set *ps, mn_error *err) {
  return mn_param_set_parse(mn__data_healing_params_csv, mn__data_healing_params_csv_len,
                            "data/healing_params.csv", ps, err);
}

int mn_param_set_apply_calibration(mn_param_set *ps, const char *csv, size_t len, const char *name,
                                   mn_error *err) {
  static const char *const cols[8] = {"name",        "value",     "min",       "max",
                                      "prior_value", "prior_min", "prior_max", "targets"};
  int rc = MN_OK, col[8];
  mn_csv c;
  MN_TRY(mn_csv_parse(csv, len, name, &c, err));
  for (int j = 0; j < 8; j++)
    if ((rc = mn_csv_require(&c, cols[j], &col[j], err))) goto done;
  for (int r = 0; r < c.nrows && rc == MN_OK; r++) {
    const char *pn = c.rows[r][col[0]];
    double v[6];
    for (int j = 0; j < 6 && rc == MN_OK; j++) rc = mn_csv_double(&c, r, col[1 + j], &v[j], err);
    if (rc) break;
    mn_param_info *in = NULL;
    for (int i = 0; i < ps->n; i++)
      if (!strcmp(ps->info[i].name, pn)) in = &ps->info[i];
    if (!in) {
      rc = unknown_param(pn, "", err);
      break;
    }
    if (in->tag[0] != 'C') {
      rc = MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: '%s' is tagged %s; only parameters tagged C are calibrated", c.name,
                  c.lineno[r], pn, in->tag);
      break;
    }
    /* the calibration was made from this prior: a changed prior makes it stale */
    if (v[3] != in->value || v[4] != in->min || v[5] != in->max) {
      rc = MN_ERR(
          err, MN_EINPUT, "",
          "%s:%d: '%s' was calibrated from the prior %g [%g, %g] but data/healing_params.csv "
          "now says %g [%g, %g]: re-run `mnsim calibrate -o %s`",
          c.name, c.lineno[r], pn, v[3], v[4], v[5], in->value, in->min, in->max, c.name);
      break;
    }
    if (!(v[1] <= v[0] && v[0] <= v[2] && v[1] >= in->min && v[2] <= in->max)) {
      rc = MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: '%s' = %g [%g, %g] must lie within its prior range [%g, %g]", c.name,
                  c.lineno[r], pn, v[0], v[1], v[2], in->min, in->max);
      break;
    }
    in->value = v[0], in->min = v[1], in->max = v[2];
    *mn_model_param_ref(&ps->p, pn) = v[0];
    char src[sizeof in->source];
    if (snprintf(src, sizeof src, "calibrated to %s (mnsim calibrate; prior %g [%g, %g]: %s)",
                 c.rows[r][col[7]], v[3], v[4], v[5], in->source) >= (int)sizeof src)
      memcpy(src + sizeof src - 4, "...", 4); /* the prior's source, shortened */
    memcpy(in->source, src, sizeof src);
  }
done:
  mn_csv_fini(&c);
cleanup:
  return rc;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

void mn_param_fingerprint(const char *calibration_csv, size_t len, char out[17]) {
  uint64_t h =
      fnv1a(14695981039346656037ull, mn__data_healing_params_csv, mn__data_healing_params_csv_len);
  if (!calibration_csv)
    calibration_csv = mn__data_calibration_csv, len = mn__data_calibration_csv_len;
  h = fnv1a(h, calibration_csv, len);
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int mn_param_set_load_default(mn_param_set *ps, mn_error *err) {
  int rc = mn_param_set_load_prior(ps, err);
  if (rc == MN_OK)
    rc = mn_param_set_apply_calibration(ps, mn__data_calibration_csv, mn__data_calibration_csv_len,
                                        "data/calibration.csv", err);
  return rc;
}

int mn_param_set_set(mn_param_set *ps, const char *name, double value, mn_error *err) {
  double *v = mn_model_param_ref(&ps->p, name);
  if (!v) return unknown_param(name, "", err);
  if (!isfinite(value) || value < 0)
    return MN_ERR(err, MN_ERANGE, "", "parameter %s = %g must be finite and not negative", name,
                  value);
  *v = value;
  for (int i = 0; i < ps->n; i++)
    if (!strcmp(ps->info[i].name, name)) {
      if (value < ps->info[i].min || value > ps->info[i].max)
        mn_log(MN_LOG_WARN, "model parameter %s = %g is outside its tabulated range [%g, %g]", name,
               value, ps->info[i].min, ps->info[i].max);
      ps->info[i].value = value;
      ps->info[i].overridden = 1;
    }
  return MN_OK;
}

double mn_model_loop_gain(const mn_model_params *p) {
  return p->a_N * p->rho_N / (p->k_P * p->k_N) + p->a_M * p->rho_M / (p->k_P * p->k_M);
}

/* The parameters whose value divides (or whose value less 1 does): the exclusive lower bound
 * each must exceed, and why. */
static const struct {
  const char *name;
  double above;
  const char *why;
} floors[] = {{"k_P", 0, "a removal rate"},
              {"k_N", 0, "a removal rate"},
              {"k_M", 0, "a removal rate"},
              {"k_T", 0, "a removal rate"},
              {"tau_V", 0, "a lag that divides"},
              {"K_V", 0, "a half-saturation constant"},
              {"u_ref", 0, "a dose scale"},
              {"v_close", 0, "a closure speed"},
              {"pih_m50", 0, "a log-normal median"},
              {"pih_sigma", 0, "a log-normal spread"},
              {"kap_fill", 0, "a response rate of the clinical scales"},
              {"rho_box", 0, "a response factor of the clinical scales"},
              {"F_max", 1, "it counts the resident pool"},
              {"C_set", 1, "a set point above the baseline"},
              {"E_set", 1, "a set point above the baseline"}};

int mn_model_param_check(const char *name, double value, mn_error *err) {
  char key[64];
  snprintf(key, sizeof key, "model.%s", name);
  if (!isfinite(value) || value < 0)
    return MN_ERR(err, MN_ERANGE, key, "%s = %g must be a finite number >= 0", key, value);
  for (size_t i = 0; i < sizeof floors / sizeof floors[0]; i++)
    if (!strcmp(floors[i].name, name) && !(value > floors[i].above))
      return MN_ERR(err, MN_ERANGE, key, "%s = %g must be > %g (%s)", key, value, floors[i].above,
                    floors[i].why);
  return MN_OK;
}

int mn_model_check(const mn_model_params *p, mn_error *err) {
  mn_model_params q = *p;
  for (size_t i = 0; i < sizeof floors / sizeof floors[0]; i++) {
    int rc = mn_model_param_check(floors[i].name, *mn_model_param_ref(&q, floors[i].name), err);
    if (rc) return rc;
  }
  double G = mn_model_loop_gain(p);
  if (!(G < 1))
    return MN_ERR(err, MN_ERANGE, "model",
                  "loop gain G = a_N rho_N/(k_P k_N) + a_M rho_M/(k_P k_M) = %.3f >= 1: the "
                  "healthy state is unstable, inflammation would never resolve (models.md 7.6); "
                  "lower a_N, a_M, rho_N or rho_M, or raise k_P, k_N or k_M",
                  G);
  if (G > 0.95)
    mn_log(MN_LOG_WARN, "loop gain G = %.3f is close to 1: inflammation resolves very slowly", G);
  return MN_OK;
}

void mn_reaction_coef_init(mn_reaction_coef *c, const mn_model_params *p, int layer, int fitz,
                           double age_y) {
  memset(c, 0, sizeof *c);
  int dermis = layer == MN_LAYER_PD || layer == MN_LAYER_RD;
  c->k_d = dermis ? p->k_d_derm : p->k_d_epi;
  c->rho_N = dermis ? p->rho_N : 0; /* recruitment needs vessels */
  c->rho_M = dermis ? p->rho_M : 0;
  c->s_FT = fitz >= 1 && fitz <= 6 ? p->s_FT[fitz - 1] : 1.0;
  /* older fibroblasts synthesise less (Varani 2006: 82 vs 56 ng/ml procollagen, young vs 80+)
   * and older dermis has more room to regain (dermal mass -6 %/decade, Branchet 1990) */
  double f = 1.0 - p->qF_age * (age_y - 40.0);
  f = f < 0.5 ? 0.5 : f > 1.2 ? 1.2 : f;
  c->q_F = p->q_F * f, c->q_E = p->q_E * f;
  double set_pd = p->C_set + p->dC_age * (age_y - 40.0) / 10.0;
  double set = layer == MN_LAYER_RD ? 1.0 + p->lam_RD * (set_pd - 1.0) : set_pd;
  if (set < 1.05) set = 1.05; /* the set point stays above the baseline it turns over */
  c->delta = c->q_F / (set * set);
  c->delta_E = c->q_E / (p->E_set * p->E_set);
  for (int s = 0; s < MN_NSPECIES; s++)
    if (mn_species_in_layer(s, layer)) c->present |= (uint16_t)(1u << s);
}

double mn_model_diffusivity(const mn_model_params *p, int s, int layer) {
  if (!mn_species_in_layer(s, layer)) return 0;
  switch (s) {
    case MN_SP_P:
      return p->D_P;
    case MN_SP_T:
      return p->D_T;
    case MN_SP_N:
      return p->D_N;
    case MN_SP_M:
      return p->D_M;
    case MN_SP_F:
      return p->D_F;
    default:
      return 0;
  }
}
