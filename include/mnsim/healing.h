/* mnsim healing: the reaction-diffusion model of micro-injury repair (research/models.md 7) -
 * species, parameters (data/healing_params.csv), the per-voxel reaction kernel shared with the
 * lumped twin, the 3D solver (Strang splitting of positive MPRK22 reactions and LOD
 * backward-Euler diffusion with adaptive steps) and the time series of a run. Pipeline: after
 * injury (uses core, skin, grid, injury); lumped, outcome and course build on it. Times in days. */
#ifndef MNSIM_HEALING_H
#define MNSIM_HEALING_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) || \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY)
#error "mnsim/healing.h is a later pipeline stage than the module being built"
#endif

#include <math.h>

#include "mnsim/core.h"
#include "mnsim/grid.h"
#include "mnsim/injury.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#define MN_RESTRICT __restrict
#else
#define MN_RESTRICT restrict
#endif
/* The reaction kernel is inlined into its callers, so that each of the solver's clones for a
 * vector width compiles it for that width. */
#if defined(__GNUC__)
#define MN_INLINE_ALWAYS __attribute__((always_inline))
#else
#define MN_INLINE_ALWAYS
#endif
/* A loop over the lanes of the reaction kernel: kept as a loop (not unrolled into scalar code
 * before the vectoriser sees it) so that it becomes one vector operation per statement. */
#if defined(__GNUC__)
#define MN_LANES_FOR(v, n) _Pragma("GCC unroll 1") for (int v = 0; v < (n); v++)
#else
#define MN_LANES_FOR(v, n) for (int v = 0; v < (n); v++)
#endif

/** Species: eleven dynamical plus two observable states (models.md 7.2; docs/model.md, model
 *  v2). New species are appended, so the older indices keep their meaning. */
typedef enum {
  MN_SP_D = 0, /**< acute damage (debris, open barrier), 0-1 */
  MN_SP_P,     /**< pro-inflammatory mediator, units of K_P */
  MN_SP_N,     /**< neutrophils (excess), units of Q */
  MN_SP_M,     /**< recruited macrophages, units of Q */
  MN_SP_T,     /**< active TGF-beta-like growth factor, units of K_T */
  MN_SP_F,     /**< activated fibroblasts, units of Q */
  MN_SP_C3,    /**< immature type-III-rich matrix, units of C0 */
  MN_SP_C1,    /**< mature type-I-rich collagen, baseline 1 */
  MN_SP_E,     /**< elastin, baseline 1 */
  MN_SP_V,     /**< vasodilation (redness), papillary dermis */
  MN_SP_MEL,   /**< melanogenic activation, viable epidermis */
  MN_SP_S,     /**< synthetic (post-proliferative) fibroblasts, units of Q; immobile */
  MN_SP_K,     /**< keratinocyte-number excess of the viable epidermis, relative; immobile */
  MN_NSPECIES
} mn_species;

/** Short species names ("d", "P", ..., "Mel"); "?" out of range. Static strings. */
const char *mn_species_name(int s);
/** Baseline value of species @p s (1 for C1 and E, else 0). */
double mn_species_baseline(int s);
/** 1 if species @p s lives in layer @p layer (MN_LAYER_*); never in MN_CELL_VOID. */
int mn_species_in_layer(int s, int layer);

/** Model parameters (one field per row of data/healing_params.csv, in the unit of its `unit`
 *  column: rates 1/day, diffusivities mm2/day, amounts in units of Q, K_P, K_T or C0). Plain
 *  data. Config keys: model.<name> (case-file overrides, mn_param_set_set). */
typedef struct mn_model_params {
  double k_d_derm, k_d_epi, kap_N, kap_M, D_P, D_T, k_P, a_d, a_N, a_M, rho_N, k_N, k_eff, D_N,
      rho_M, k_M, D_M, b_M, b_eff, b_F, k_T, tau_plt, a_F, r_F, F_max, k_F, D_F, q_F, gam, k_mat,
      k_1, k_E, q_E, V_max, K_V, tau_V, V_vis, k_in, P_th, k_bm, k_out, w_UV, psi;
  /* model v2: remodelling, maturation tail, re-injury, elastin, epidermis, barrier, sun */
  double f_S, k_S;           /**< synthetic fibroblast share and decay */
  double C_set, lam_RD;      /**< papillary set point of turnover (age 40); reticular share */
  double dC_age, qF_age;     /**< set point per decade of age; synthesis decline per year */
  double kap_I, rho_x, k_r;  /**< protease digestion of new matrix; mature share; slow return */
  double kap_E, E_set;       /**< elastase loss; elastin set point */
  double k_K, chi_K, kap_K;  /**< keratinocyte turnover; growth-factor and structural drive */
  double t0_close, v_close;  /**< barrier: lag (h) and closure speed of the gap (um/h) */
  double f_det;              /**< barrier: open share at which it counts as closed */
  double beta_C, w_el;       /**< elasticity: collagen exponent; elastin share */
  double u_ref;              /**< UV dose scale, SED/day */
  double pih_m50, pih_sigma; /**< PIH: peak Mel of 50 % probability; log-normal spread */
  double kap_fill, rho_box;  /**< clinical scales: a lesion's depth loss per papillary collagen
                                  gain (wrinkles); boxcar scars' factor (docs/model.md) */
  double s_FT[6], s_vis[6];  /**< by Fitzpatrick type I-VI */
  double m_close[6];         /**< barrier closure-time factor by Fitzpatrick type I-VI */
} mn_model_params;

/** One parameter's metadata from the data file. */
typedef struct mn_param_info {
  char name[24];          /**< field name; "s_FT_1" .. for array elements */
  double value, min, max; /**< value and its range, in `unit` */
  char unit[24];
  char tag[4];      /**< evidence tag: V, E, C (calibrated), D or R */
  char source[320]; /**< where the value comes from */
  int overridden;   /**< set by mn_param_set_set: the value holds in every uncertainty draw */
} mn_param_info;

/** A parameter set with its metadata: info[0..n-1] in table order. Plain data (no pointers),
 *  caller-owned storage; nothing to free. */
typedef struct mn_param_set {
  mn_model_params p;
  mn_param_info info[128];
  int n;
} mn_param_set;

/** Load the parameters compiled into the library: the prior table (data/healing_params.csv)
 *  with the calibration (data/calibration.csv, written by `mnsim calibrate`) applied.
 *  @return MN_OK; MN_EINPUT when the tables are inconsistent (a calibration made from another
 *  prior asks to re-run `mnsim calibrate`); MN_ENOMEM. */
int mn_param_set_load_default(mn_param_set *ps, mn_error *err);
/** The prior table alone (literature values and estimates; what `mnsim calibrate` starts from).
 *  Same errors as mn_param_set_parse. */
int mn_param_set_load_prior(mn_param_set *ps, mn_error *err);
/** Apply a calibration table (name, value, min, max, prior_value, prior_min, prior_max,
 *  targets): only parameters tagged C; each row must name the prior it was fitted from, and its
 *  range must lie within the prior's. Rows before a failing one stay applied.
 *  @param[in] csv @p len bytes (need not be NUL-terminated); @p name is used in messages
 *  @return MN_OK; MN_EINPUT (missing column, unknown or untagged parameter, stale prior, range
 *  outside the prior's); MN_ENOMEM. */
int mn_param_set_apply_calibration(mn_param_set *ps, const char *csv, size_t len, const char *name,
                                   mn_error *err);
/** Load parameters from CSV text (@p len bytes; @p name for messages) into @p ps (overwritten);
 *  every parameter must appear once with a unit that matches, a value within its non-negative
 *  range, a tag and a source. @return MN_OK; MN_EINPUT naming file, line and parameter;
 *  MN_ENOMEM. */
int mn_param_set_parse(const char *csv, size_t len, const char *name, mn_param_set *ps,
                       mn_error *err);
/** Fingerprint (64-bit FNV-1a, hex) of the prior table compiled in and of @p calibration_csv
 *  (@p len bytes; NULL: the calibration compiled in, @p len ignored): data/posterior.csv records
 *  the one it was drawn from. Writes 16 hex digits and a NUL to @p out. */
void mn_param_fingerprint(const char *calibration_csv, size_t len, char out[17]);
/** Set parameter @p name to @p value, in both ps->p and its info row, and mark it overridden
 *  (it then holds in every uncertainty draw). Logs a warning for a value outside the tabulated
 *  range. Config key: model.<name>.
 *  @return MN_OK; MN_EINPUT for an unknown name (naming the nearest known one); MN_ERANGE for a
 *  negative or non-finite value. */
int mn_param_set_set(mn_param_set *ps, const char *name, double value, mn_error *err);
/** Names of all model parameters (for suggestions and docs): a static array of *n names. */
const char *const *mn_model_param_names(size_t *n);
/** Address of parameter @p name in @p p (a pointer into @p p), or NULL for an unknown name. */
double *mn_model_param_ref(mn_model_params *p, const char *name);

/** Loop gain of the healthy state's P-N-M feedback (models.md 7.6):
 *  G = a_N rho_N / (k_P k_N) + a_M rho_M / (k_P k_M); the healthy state is stable iff G < 1. */
double mn_model_loop_gain(const mn_model_params *p);
/** Check one value against what the equations allow whatever the data say: rates, lags and
 *  half-saturation constants that divide (k_P, k_N, k_M, k_T, tau_V, K_V, u_ref, v_close,
 *  pih_m50, pih_sigma) must be positive, F_max, C_set and E_set must exceed 1; every value finite
 *  and not negative. @return MN_OK or MN_ERANGE ("model.<name> = 0 must be > 0 ...", key
 *  "model.<name>"). */
int mn_model_param_check(const char *name, double value, mn_error *err);
/** Refuse parameter sets with G >= 1, or with k_P, k_N, k_M, k_T, tau_V not positive or
 *  F_max <= 1 (MN_ERANGE with the reason); warn (log) when G > 0.95. @return MN_OK or
 *  MN_ERANGE. */
int mn_model_check(const mn_model_params *p, mn_error *err);

/** Coefficients that depend on the layer of a voxel and on the patient. */
typedef struct mn_reaction_coef {
  double k_d;          /**< damage clearance, 1/day */
  double rho_N, rho_M; /**< recruitment, Q/day (0 where there are no vessels) */
  double s_FT;         /**< pigmentation susceptibility of the patient */
  double q_F, q_E;     /**< matrix and elastin synthesis per fibroblast at the patient's age */
  double delta;        /**< collagen turnover q_F / C_set^2 of the layer, 1/(Q C0 day) */
  double delta_E;      /**< elastin turnover q_E / E_set^2, 1/(Q day) */
  uint16_t present;    /**< bit s set when species s lives in this layer */
} mn_reaction_coef;

/** Layer coefficients for layer @p layer (MN_LAYER_*; any other code: no species), Fitzpatrick
 *  type @p fitz (outside 1-6: susceptibility 1) and age @p age_y (years): the synthesis rates
 *  q_F (1 - qF_age (age - 40)), clamped to [0.5, 1.2] q_F, and the layer's set point (papillary
 *  C_set + dC_age (age - 40) / 10; reticular 1 + lam_RD (that - 1)). Never fails. */
void mn_reaction_coef_init(mn_reaction_coef *c, const mn_model_params *p, int layer, int fitz,
                           double age_y);

/** What a voxel's reactions see besides its own state (constant over a reaction step). */
typedef struct mn_reaction_env {
  double uv;     /**< UV factor 1 + w_UV ln(1 + u / u_ref) of the day's dose u (1: no sun) */
  double col_fs; /**< viable epidermis: mean F + S of the papillary dermis below, Q */
  double col_c;  /**< viable epidermis: mean C1 + C3 of the papillary dermis below, C0 */
} mn_reaction_env;

/** The UV factor of a daily erythemal dose @p u_sed (SED/day) for parameters @p m. */
static inline double mn_uv_factor(const mn_model_params *m, double u_sed) {
  return u_sed > 0 ? 1.0 + m->w_UV * log1p(u_sed / m->u_ref) : 1.0;
}

/* ---------------------------------------------------------------------------------------------
 * Reaction kernel (models.md 7.3; docs/model.md "Equations", model v2), written as production
 * p >= 0 and loss rate l >= 0 for every species: du/dt = p(u) - l(u) u, p in units per day, l in
 * 1/day. Shared by the 3D solver and the lumped twin. Species absent from the layer get p = l = 0.
 * The equations are written once, in the lane form (several voxels of one layer per call, which
 * the 3D solver vectorises); the one-voxel forms below call it with one lane. */
/** Largest number of voxels one call of the lane form (mn_reaction_pl_lanes,
 * mn_reaction_step_lanes) takes. */
#define MN_REACTION_LANES 8

/** The lane form of the reaction kernel: @p n voxels (1 <= n <= MN_REACTION_LANES) of one layer
 *  (coefficients @p c), species s of voxel v at index s * @p st + v of @p u, @p p and @p l
 *  (@p st >= n). @p col_fs and @p col_c hold each voxel's column means (mn_reaction_env), @p uv
 *  the UV factor. Every voxel gets exactly the operations, in the same order, of a call with
 *  n = 1, so the 3D solver's vectorised rows give the numbers of the scalar form bit for bit
 *  (ISO C mode: no contraction into fused multiply-adds). */
static inline MN_INLINE_ALWAYS void mn_reaction_pl_lanes(const mn_model_params *m,
                                                         const mn_reaction_coef *c, int n, int st,
                                                         const double *MN_RESTRICT u, double uv,
                                                         const double *col_fs, const double *col_c,
                                                         double *MN_RESTRICT p,
                                                         double *MN_RESTRICT l) {
#define MN_U(s) u[(s)*st + v]
#define MN_P(s) p[(s)*st + v]
#define MN_L(s) l[(s)*st + v]
  const unsigned has = c->present;
  double hPv[MN_REACTION_LANES], hTv[MN_REACTION_LANES]; /* P / (1 + P), T / (1 + T) */
  MN_LANES_FOR(v, n) {
    const double P = MN_U(MN_SP_P), T = MN_U(MN_SP_T);
    hPv[v] = P / (1.0 + P), hTv[v] = T / (1.0 + T);
  }
  for (int s = 0; s < MN_NSPECIES; s++) /* a present species' terms are all written below */
    if (!(has & (1u << s))) MN_LANES_FOR(v, n) MN_P(s) = MN_L(s) = 0.0;
  if (has & (1u << MN_SP_D)) MN_LANES_FOR(v, n) { /* cleared; never produced */
      MN_P(MN_SP_D) = 0.0;
      MN_L(MN_SP_D) = c->k_d + m->kap_N * MN_U(MN_SP_N) + m->kap_M * MN_U(MN_SP_M);
    }
  if (has & (1u << MN_SP_P)) MN_LANES_FOR(v, n) {
      MN_P(MN_SP_P) = m->a_d * MN_U(MN_SP_D) + m->a_N * MN_U(MN_SP_N) +
                      m->a_M * MN_U(MN_SP_M) / (1.0 + MN_U(MN_SP_T));
      MN_L(MN_SP_P) = m->k_P;
    }
  if (has & (1u << MN_SP_N)) MN_LANES_FOR(v, n) {
      MN_P(MN_SP_N) = c->rho_N * hPv[v];
      MN_L(MN_SP_N) = m->k_N + m->k_eff * MN_U(MN_SP_M);
    }
  if (has & (1u << MN_SP_M)) MN_LANES_FOR(v, n) {
      MN_P(MN_SP_M) = c->rho_M * hPv[v];
      MN_L(MN_SP_M) = m->k_M;
    }
  if (has & (1u << MN_SP_T)) MN_LANES_FOR(v, n) {
      const double M = MN_U(MN_SP_M);
      MN_P(MN_SP_T) =
          m->b_M * M + m->b_eff * m->k_eff * M * MN_U(MN_SP_N) + m->b_F * MN_U(MN_SP_F) * hPv[v];
      MN_L(MN_SP_T) = m->k_T;
    }
  if (has & (1u << MN_SP_F)) /* activation of resident and primed (S) cells; logistic growth
                                with crowding by every fibroblast above the resident pool */
    MN_LANES_FOR(v, n) {
      const double F = MN_U(MN_SP_F), S = MN_U(MN_SP_S), hT = hTv[v];
      MN_P(MN_SP_F) = m->a_F * hT * (1.0 + S) + m->r_F * hT * F * (m->F_max - 1.0) / m->F_max;
      MN_L(MN_SP_F) = m->k_F + m->r_F * hT * (F + S) / m->F_max;
    }
  if (has & (1u << MN_SP_S)) /* the synthetic tail: a share of the cells leaving F */
    MN_LANES_FOR(v, n) {
      MN_P(MN_SP_S) = m->f_S * m->k_F * MN_U(MN_SP_F);
      MN_L(MN_SP_S) = m->k_S;
    }
  if (has & (1u << MN_SP_C3)) /* granulation matrix: laid by F, cross-links into C1, turned over
                                 toward the set point, digested by leukocyte proteases */
    MN_LANES_FOR(v, n) {
      const double F = MN_U(MN_SP_F), hT = hTv[v];
      const double R = F + MN_U(MN_SP_S), C = MN_U(MN_SP_C1) + MN_U(MN_SP_C3);
      MN_P(MN_SP_C3) = c->q_F * F * (1.0 + m->gam * hT);
      MN_L(MN_SP_C3) = m->k_mat + c->delta * R * C + m->kap_I * (MN_U(MN_SP_N) + MN_U(MN_SP_M));
    }
  if (has & (1u << MN_SP_C1)) /* mature collagen: cross-linked C3 and the tail's slow deposit;
                                 turnover, protease share and the slow return of the excess */
    MN_LANES_FOR(v, n) {
      const double C1 = MN_U(MN_SP_C1), S = MN_U(MN_SP_S), R = MN_U(MN_SP_F) + S;
      const double C = C1 + MN_U(MN_SP_C3);
      /* (C1 - 1)+ / C1 with a divisor that is never 0, so that the lanes need no branch */
      const double above = C1 - 1.0, excess = (C1 > 1.0 ? above : 0.0) / (C1 > 1.0 ? C1 : 1.0);
      MN_P(MN_SP_C1) = m->k_1 + m->k_mat * MN_U(MN_SP_C3) + c->q_F * S;
      MN_L(MN_SP_C1) = m->k_1 + c->delta * R * C +
                       m->rho_x * m->kap_I * (MN_U(MN_SP_N) + MN_U(MN_SP_M)) + m->k_r * excess;
    }
  if (has & (1u << MN_SP_E)) /* tropoelastin from fibroblasts, elastase, turnover to E_set */
    MN_LANES_FOR(v, n) {
      const double R = MN_U(MN_SP_F) + MN_U(MN_SP_S);
      MN_P(MN_SP_E) = m->k_E + c->q_E * R;
      MN_L(MN_SP_E) = m->k_E + m->kap_E * MN_U(MN_SP_N) + c->delta_E * R * MN_U(MN_SP_E);
    }
  if (has & (1u << MN_SP_V)) MN_LANES_FOR(v, n) {
      const double P = MN_U(MN_SP_P);
      MN_P(MN_SP_V) = m->V_max * P * P / (m->K_V * m->K_V + P * P) / m->tau_V;
      MN_L(MN_SP_V) = 1.0 / m->tau_V;
    }
  if (has & (1u << MN_SP_MEL)) /* skin type x inflammation x UV (the UV factor is 1 indoors) */
    MN_LANES_FOR(v, n) {
      const double over = MN_U(MN_SP_P) - m->P_th;
      MN_P(MN_SP_MEL) =
          c->s_FT * (m->k_in * (over > 0 ? over : 0.0) + m->k_bm * MN_U(MN_SP_D)) * uv;
      MN_L(MN_SP_MEL) = m->k_out;
    }
  if (has & (1u << MN_SP_K)) /* keratinocytes: fibroblast growth factors and the papillary bed */
    MN_LANES_FOR(v, n) {
      const double above = col_c[v] - 1.0, bed = col_c[v] > 1.0 ? above : 0.0;
      MN_P(MN_SP_K) = m->k_K * (m->chi_K * col_fs[v] + m->kap_K * bed);
      MN_L(MN_SP_K) = m->k_K;
    }
#undef MN_U
#undef MN_P
#undef MN_L
}

/** The reaction step (mn_reaction_step) of @p n voxels of one layer in the lane layout of
 *  mn_reaction_pl_lanes: @p u (in and out) and @p low (NULL, or the embedded first-order
 *  solution) at s * @p st + v. The same numbers as n calls of mn_reaction_step. */
static inline MN_INLINE_ALWAYS void mn_reaction_step_lanes(
    const mn_model_params *m, const mn_reaction_coef *c, int n, int st, double *MN_RESTRICT u,
    double uv, const double *col_fs, const double *col_c, double dt, double *MN_RESTRICT low) {
  enum { W = MN_NSPECIES * MN_REACTION_LANES };
  double p0[W], l0[W], p1[W], l1[W], u1[W];
  mn_reaction_pl_lanes(m, c, n, st, u, uv, col_fs, col_c, p0, l0);
  for (int s = 0; s < MN_NSPECIES; s++) {
    if (!(c->present & (1u << s))) { /* p = l = 0: the stage keeps the value */
      MN_LANES_FOR(v, n) u1[s * st + v] = u[s * st + v];
      continue;
    }
    MN_LANES_FOR(v, n) {
      const int i = s * st + v;
      u1[i] = (u[i] + dt * p0[i]) / (1.0 + dt * l0[i]);
    }
  }
  mn_reaction_pl_lanes(m, c, n, st, u1, uv, col_fs, col_c, p1, l1);
  for (int s = 0; s < MN_NSPECIES; s++) {
    if (low) MN_LANES_FOR(v, n) low[s * st + v] = u1[s * st + v];
    if (!(c->present & (1u << s))) continue;
    MN_LANES_FOR(v, n) {
      const int i = s * st + v;
      /* u2 = num / (1 + by / u1) taken as num (u1 / (u1 + by)): one division, of a ratio <= 1
         (num u1 would underflow for u1 below about 1e-160). Both forms are computed and one is
         chosen: the lanes need no branch (the compiler may not speculate a floating-point
         operation that the source does not always perform) */
      const int pos = u1[i] > 1e-300;
      const double num = u[i] + 0.5 * dt * (p0[i] + p1[i]);
      const double by = 0.5 * dt * (l0[i] * u[i] + l1[i] * u1[i]);
      const double top = pos ? u1[i] : 1.0;
      const double den = pos ? u1[i] + by : 1.0 + 0.5 * dt * (l0[i] + l1[i]);
      u[i] = num * (top / den);
    }
  }
}

/** One voxel: @p u, @p p and @p l hold MN_NSPECIES values; @p env what the voxel sees besides
 *  itself. */
static inline void mn_reaction_pl(const mn_model_params *m, const mn_reaction_coef *c,
                                  const double *u, const mn_reaction_env *env, double *p,
                                  double *l) {
  mn_reaction_pl_lanes(m, c, 1, 1, u, env->uv, &env->col_fs, &env->col_c, p, l);
}

/** Advance one voxel's reactions by @p dt days with the second-order, unconditionally positive
 *  modified Patankar-Runge-Kutta scheme MPRK22 (Burchard, Deleersnijder & Meister 2003):
 *    u1 = (u0 + dt p0) / (1 + dt l0)                       (first-order Patankar-Euler stage)
 *    u2 = (u0 + dt/2 (p0 + p1)) / (1 + dt/2 (l0 u0 + l1 u1) / u1).
 *  If @p low is not NULL it receives u1, the embedded first-order solution: |u2 - u1| estimates
 *  the local error for step-size control. */
static inline void mn_reaction_step(const mn_model_params *m, const mn_reaction_coef *c, double *u,
                                    const mn_reaction_env *env, double dt, double *low) {
  mn_reaction_step_lanes(m, c, 1, 1, u, env->uv, &env->col_fs, &env->col_c, dt, low);
}

/* ---------------------------------------------------------------------------------------------
 * The 3D solver. */

/** Solver settings (YAML section `solver`). Config keys: solver.<field>. */
typedef struct mn_solver_params {
  double min_step_day;   /**< smallest time step */
  double max_step_day;   /**< largest time step */
  double first_step_day; /**< step after each injury */
  double rel_tol;        /**< relative local error tolerance of the reaction steps */
  double abs_tol;        /**< absolute local error tolerance (units of each species) */
  double freeze_tol;     /**< fast species below this everywhere are frozen at baseline */
  int fixed_step;        /**< 1: no adaptivity (for convergence studies), dt = first_step_day */
  int threads;           /**< OpenMP threads; 0 = the OpenMP default */
} mn_solver_params;
/** Descriptor table of mn_solver_params: static, *n entries. */
const mn_config_desc *mn_solver_param_table(size_t *n);

/** Diffusivity of species @p s in layer @p layer, mm2/day (0 where absent or immobile). */
double mn_model_diffusivity(const mn_model_params *p, int s, int layer);

/** The 3D solver: the species fields on a grid, the time and the step controller. Opaque;
 *  mn_solver_create / mn_solver_destroy. One thread drives it (it threads internally). */
typedef struct mn_solver mn_solver;

/** Create a solver on @p g for parameters @p mp and a patient of Fitzpatrick type @p fitz and
 *  age @p age_y (years; mn_reaction_coef_init). The state starts at the healthy baseline at t = 0.
 * @p g must outlive the solver; @p sp and @p mp are copied.
 *  @param[out] out the solver (owned by the caller: mn_solver_destroy), NULL on failure
 *  @return MN_OK; MN_ERANGE for settings out of range (keys "solver.<field>") or a model that
 *  mn_model_check refuses; MN_EINPUT for min_step_day > max_step_day; MN_ENOMEM. */
int mn_solver_create(const mn_solver_params *sp, const mn_grid *g, const mn_model_params *mp,
                     int fitz, double age_y, mn_solver **out, mn_error *err);
/** Free a solver and its fields. NULL-safe. */
void mn_solver_destroy(mn_solver *s);

/** Field of species @p sp (0 <= sp < MN_NSPECIES, not checked; mn_grid layout), stored in float32
 *  (the reactions and the diffusion compute in double; docs/model.md "Storage"). Borrowed: valid
 *  until mn_solver_destroy; writing to it changes the state (checkpoint restore). Fetch it again
 *  after a step before writing: the call tells the solver that its layer sums of the last step
 *  (mn_step_info.sums) may no longer hold. */
float *mn_solver_field(mn_solver *s, int sp);
/** Read-only mn_solver_field. */
const float *mn_solver_field_c(const mn_solver *s, int sp);
/** Current time, days since the start. */
double mn_solver_time(const mn_solver *s);
/** Step size the next step will try, days. */
double mn_solver_dt(const mn_solver *s);
/** The daily erythemal UV dose from now on, SED/day (0 = none): it scales melanogenesis by
 *  mn_uv_factor. */
void mn_solver_set_uv(mn_solver *s, double u_sed);

/** Superpose injury @p inj (made on the solver's grid) at the current time (models.md 7.4;
 *  docs/model.md "Injury", model v2): d <- 1 - (1 - d)(1 - lum), C1 <- C1 (1 - lum),
 *  E <- E (1 - lum) and C3 <- C3 (1 - disp) in the dermis (the lumen is cut, immature matrix
 *  tears over the displaced volume), T <- T + tau_plt bleed; resets the step to
 *  first_step_day and unfreezes the fast species. Only the planes of @p inj's window change;
 *  a grid injured window by window (mn_injury_init_planes) gets the same fields as at once. */
void mn_solver_apply_injury(mn_solver *s, const mn_injury *inj);

/** What one step did. */
typedef struct mn_step_info {
  double t_day, dt_day; /**< time after the step and the step taken */
  double error;         /**< local error estimate of the step, relative to the tolerances */
  int frozen;           /**< fast species frozen */
  int rejected;         /**< steps redone with a smaller dt (always 0: no step is redone) */
  int sums;             /**< the step ended at t_stop and its reactions added the layer sums:
                             mn_solver_layer_means makes no pass of its own until the fields
                             change */
} mn_step_info;

/** Advance one adaptive step, not beyond @p t_stop (day; a step that would end within 1e-3 dt of
 *  it ends at it). @p info may be NULL.
 *  @return MN_OK; MN_ENUMERIC naming the voxel, species and time when a value turns NaN or
 *  negative: the fields are then left partly advanced (not restored), and the last checkpoint is
 *  the last good state; MN_EINTERNAL when @p t_stop is not after the current time. */
int mn_solver_step(mn_solver *s, double t_stop, mn_step_info *info, mn_error *err);

/** Layer means of every species over the cells where it lives: out[layer][species], layers
 *  MN_LAYER_SC..MN_LAYER_RD (volume-weighted; 0 where a species is absent). Fixed-order
 *  reduction: identical for any thread count. Uses the solver's scratch memory: do not call it
 *  on one solver from two threads at once. */
void mn_solver_layer_means(const mn_solver *s, double out[MN_LAYER_HYPO][MN_NSPECIES]);
/** Redness index R(t): the papillary-dermis mean of V (mn_solver_layer_means; same caveat). */
double mn_solver_redness(const mn_solver *s);

/** Raw state for checkpoints: fields in species order plus the scalars below. */
typedef struct mn_solver_scalars {
  double t_day, dt_day, u_uv;
  int frozen; /**< fast species frozen at baseline */
  long steps; /**< steps taken */
} mn_solver_scalars;
/** Copy the solver's scalars into @p out. */
void mn_solver_get_scalars(const mn_solver *s, mn_solver_scalars *out);
/** Restore scalars saved by mn_solver_get_scalars (with the fields, through mn_solver_field). */
void mn_solver_set_scalars(mn_solver *s, const mn_solver_scalars *in);
/** Steps taken since creation (or as restored). */
long mn_solver_steps(const mn_solver *s);

/* ---------------------------------------------------------------------------------------------
 * Time series of a run: what the 3D solver and the lumped twin produce, and what outcome reads. */

/** Most sessions in one course. */
enum { MN_MAX_SESSIONS = 32 };

/** Time series of layer means (volume-weighted, over the cells where each species lives).
 *  Caller-owned storage; the arrays are owned by it: mn_timeseries_init / mn_timeseries_fini. */
typedef struct mn_timeseries {
  int n, cap;
  double *t;       /**< [cap] day */
  int *session;    /**< [cap] sessions applied so far */
  double *redness; /**< [cap] redness index R(t) */
  double *mean;    /**< [cap][MN_LAYER_HYPO][MN_NSPECIES] */
} mn_timeseries;

/** Reserve room for @p cap samples (no allocation later); @p ts is overwritten (and zeroed on
 *  failure). @return MN_OK or MN_ENOMEM. */
int mn_timeseries_init(mn_timeseries *ts, int cap, mn_error *err);
/** Free the arrays and zero @p ts. NULL-safe. */
void mn_timeseries_fini(mn_timeseries *ts);
/** Append a sample at day @p t (sessions applied so far, redness index, layer means, copied);
 *  MN_EINTERNAL if the reserved room is exhausted. */
int mn_timeseries_add(mn_timeseries *ts, double t, int session, double redness,
                      const double mean[MN_LAYER_HYPO][MN_NSPECIES], mn_error *err);
/** Append samples [0, @p n) of @p from to @p ts; MN_EINTERNAL when the room runs out. */
int mn_timeseries_append(mn_timeseries *ts, const mn_timeseries *from, int n, mn_error *err);
/** Layer mean of species @p s in layer @p l at sample @p i. */
static inline double mn_ts_mean(const mn_timeseries *ts, int i, int l, int s) {
  return ts->mean[((size_t)i * MN_LAYER_HYPO + (size_t)l) * MN_NSPECIES + (size_t)s];
}
/** Linear interpolation of layer mean (@p l, @p s) at day @p t (clamped to the sampled range;
 *  0 for an empty series). */
double mn_ts_at(const mn_timeseries *ts, int l, int s, double t);

/* ---------------------------------------------------------------------------------------------
 * Kernels, exposed for verification and benchmarks. */

/** One LOD backward-Euler diffusion step of field @p u over @p dt days with per-layer
 *  diffusivity @p D_layer[MN_LAYER_HYPO] (mm2/day; 0 = absent/immobile): x, y then z sweeps of
 *  finite-volume tridiagonal systems (harmonic-mean face diffusivities, zero flux into cells
 *  where the species is absent, periodic lines solved as cyclic systems). @p decay (1/day), if
 *  non-zero, is split equally over the three sweeps as in BioFVM. @p work: mn_diffusion_work()
 *  x nthreads doubles (a slice per thread; more is harmless), borrowed scratch. @p nthreads < 1
 *  counts as 1. */
void mn_diffusion_lod(const mn_grid *g, double *u, const double D_layer[MN_LAYER_HYPO],
                      double decay, double dt, double *work, int nthreads);
/** mn_diffusion_lod for @p nf fields at once (field f with diffusivities D_layer[f]), sharing one
 *  parallel region: three barriers per step instead of three per field. At most 16 fields:
 *  fields after the 16th are silently left unchanged. */
void mn_diffusion_lod_many(const mn_grid *g, double *const *u,
                           const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay, double dt,
                           double *work, int nthreads);
/** @p nsteps steps of mn_diffusion_lod_many (same limit of 16 fields). On a layer-uniform grid
 *  each thread takes whole fields, and the back substitution of each step is fused with the next
 *  step's pass, so n steps read and write every value n + 1 times. */
void mn_diffusion_lod_steps(const mn_grid *g, double *const *u,
                            const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay, double dt,
                            int nsteps, double *work, int nthreads);
/** mn_diffusion_lod_steps on float32 fields (arithmetic in double, storage in float): half the
 *  memory traffic. On a grid with lesions (the general path) each line, plane or column slab is
 *  solved in a double copy and stored back rounded. */
void mn_diffusion_lod_steps_f32(const mn_grid *g, float *const *u,
                                const double (*D_layer)[MN_LAYER_HYPO], int nf, double decay,
                                double dt, int nsteps, double *work, int nthreads);
/** Work doubles per slice of mn_diffusion_lod (it needs one slice per thread). */
size_t mn_diffusion_work(const mn_grid *g);
/** Total mass sum(u dV) over the interior (um3 x units), fixed-order reduction. */
double mn_field_mass(const mn_grid *g, const double *u);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_HEALING_H */
