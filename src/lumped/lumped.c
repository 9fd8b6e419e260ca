/* The lumped twin (research/models.md 8.1): per layer l in {VE, PD, RD} a near zone (volume
 * fraction phi) and a far zone, each with all eleven states and the 3D model's reaction terms:
 *   du_ln/dt = R_l(u_ln) + k_n (u_lf - u_ln) + sum_l' v_ll' (u_l'n - u_ln)
 *   du_lf/dt = R_l(u_lf) + k_f (u_ln - u_lf) + sum_l' v_ll' (u_l'f - u_lf)
 * with b = 1 / sqrt(pi n), r_n = min(b, a + c L), phi = r_n^2 / b^2,
 * k_n = 2 D / (r_n^2 ln(b / r_n)), k_f = k_n phi / (1 - phi), v = 2 D / (h_l (h_l + h_l')).
 * Injury: the lumen and displaced volumes of each layer over the near-zone volume (model v2). CVODE
 * BDF with a sparse Jacobian (exchange terms exact, reaction blocks by difference quotients of the
 * shared kernel) factored by KLU, non-negativity constraints, re-initialised at each session.
 * Stage: lumped. */
#include <cvode/cvode.h>
#include <float.h>
#include <stdatomic.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <string.h>
#include <sunlinsol/sunlinsol_klu.h>
#include <sunmatrix/sunmatrix_sparse.h>

#include "lumped_impl.h"
#include "mnsim/lumped.h"

/* The layers VE, PD, RD are cut into slabs of at most MN_LUMPED_SLAB_UM so that the vertical
 * profile between slab means stays close to linear (a thick reticular dermis is several slabs). */
enum { NL = MN_LUMPED_MAX_SLABS, NZ = MN_LUMPED_ZONES, NS = MN_NSPECIES };
static const int layer_list[MN_LUMPED_LAYERS] = {MN_LAYER_VE, MN_LAYER_PD, MN_LAYER_RD};

void mn_lumped_params_default(mn_lumped_params *p) {
  p->slab_um = 200;
  p->rn_factor = 0.2;
  p->rtol = 1e-5;
  p->atol = 1e-8;
  p->cohorts = 1;
  p->compact = 0;
}

/* The matrix species, which do not move: each session's lumen keeps its own values of them (a
 * cohort), because their turnover is not linear in them (delta R C C1, delta_E R E^2), so the
 * mean of a zone whose lumen was emptied decays otherwise than the emptied and the intact parts
 * do (docs/model.md, "Lumped twin: the lumen cohorts"). D is linear in itself and needs none. */
enum { NM = 3, J_C3 = 0, J_C1 = 1, J_E = 2 };
static const int mat[NM] = {MN_SP_C3, MN_SP_C1, MN_SP_E};
#define MAT_MASK ((1u << MN_SP_C3) | (1u << MN_SP_C1) | (1u << MN_SP_E))

typedef struct model {
  const mn_model_params *m;
  int nl;           /* slabs */
  int layer_of[NL]; /* skin layer of each slab */
  double top[NL];   /* depth of each slab's top, um */
  mn_reaction_coef lc[NL];
  double h[NL];                  /* slab thickness, um */
  double kn[NL][NS], kf[NL][NS]; /* near/far exchange, 1/day */
  double v[NL][NL][NS];          /* vertical exchange between layers, 1/day */
  double phi;
  int single;           /* near zone fills the cell: no far zone */
  int pd_top;           /* the first papillary slab: what the keratinocytes above respond to */
  double uvf;           /* UV factor of the day's dose (mn_uv_factor) */
  uint16_t dep[NL][NS]; /* bit r of dep[L][s]: reaction term r depends on species s */
  int nc;               /* cohorts: one per session (0: none, the lumen mixes into its zone) */
  int na;               /* cohorts made so far (sessions given): the others hold no volume */
  int nbase;            /* states of the slabs' zones; the cohorts' come after them */
  int compact;          /* 1: only the cohorts that hold volume are states (lp->compact) */
  int ny;               /* states */
  int coff[NL][NZ][MN_MAX_SESSIONS]; /* first state of cohort k of zone (L, z); -1: none */
  mn_reaction_coef lcm[NL];          /* the slab's coefficients for its matrix species only */
  double w[NL][NZ][MN_MAX_SESSIONS]; /* share of zone (L, z) that is cohort k */
} model;

static inline int idx(int l, int z, int s) {
  return (l * NZ + z) * NS + s;
}

/* cohort k's matrix species j in zone z of slab l (a cohort that is a state: has_slot) */
static inline int cidx(const model *M, int l, int z, int k, int j) {
  return M->coff[l][z][k] + j;
}

/* 1 when cohort k of zone (l, z) is a state */
static inline int has_slot(const model *M, int l, int z, int k) {
  return M->coff[l][z][k] >= 0;
}

static inline int n_states(const model *M) {
  return M->ny;
}

/* The states of the cohorts, after the zones': every cohort of every zone (the full layout), or
 * (compact) only those that hold a share of their zone. A cohort without volume takes no part in
 * its zone (its matrix is weighted by 0), so leaving it out changes no equation, only the size of
 * the system CVODE and KLU work on; it comes back at a later session only as a share the
 * session's mixing gives it, which is when the layout is made again. */
static void layout(model *M, int compact) {
  int n = M->nbase;
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int k = 0; k < MN_MAX_SESSIONS; k++) {
        int in = k < M->nc && (!compact || M->w[L][z][k] > 0);
        M->coff[L][z][k] = in ? n : -1;
        if (in) n += NM;
      }
  M->ny = n;
}

/* 1 when zone (L, z) holds a cohort */
static int has_cohorts(const model *M, int L, int z) {
  for (int k = 0; k < M->na; k++)
    if (M->w[L][z][k] > 0) return 1;
  return 0;
}

/* The zone's mean of matrix species j over its bulk (the base state) and its cohorts. */
static double mat_mean(const model *M, const double *y, int L, int z, int j) {
  double wb = 1, v = 0;
  for (int k = 0; k < M->na; k++) {
    double w = M->w[L][z][k];
    if (w > 0) wb -= w, v += w * y[cidx(M, L, z, k, j)];
  }
  return v + wb * y[idx(L, z, mat[j])];
}

/* The zone's state with its matrix species at their means (what its mobile species see). */
static void zone_mean(const model *M, const double *y, int L, int z, double *um) {
  memcpy(um, y + idx(L, z, 0), NS * sizeof *um);
  if (M->nc > 0 && has_cohorts(M, L, z))
    for (int j = 0; j < NM; j++) um[mat[j]] = mat_mean(M, y, L, z, j);
}

/* CVODE's messages are not printed: a failure comes back as our error with its flag. */
static void quiet(int code, const char *module, const char *function, char *msg, void *user) {
  (void)code, (void)module, (void)function, (void)msg, (void)user;
}

/* What the reactions of (slab L, zone z) see besides their own state: the UV factor, and for
 * the viable epidermis the fibroblasts and collagen of the top papillary slab of the same zone. */
static mn_reaction_env env_of(const model *M, const double *y, int L, int z) {
  mn_reaction_env e = {M->uvf, 0, 1};
  if (M->layer_of[L] == MN_LAYER_VE && M->pd_top >= 0) {
    const double *pd = y + idx(M->pd_top, z, 0);
    e.col_fs = pd[MN_SP_F] + pd[MN_SP_S];
    e.col_c = pd[MN_SP_C1] + pd[MN_SP_C3];
    if (M->nc > 0 && has_cohorts(M, M->pd_top, z))
      e.col_c = mat_mean(M, y, M->pd_top, z, J_C1) + mat_mean(M, y, M->pd_top, z, J_C3);
  }
  return e;
}

/* The cohorts' matrix reactions f[k][j] of zone (L, z) at the zone's unsplit state u, species
 * @p ps of every cohort moved by dv[k] (ps < 0: none). */
static void cohort_f(const model *M, const double *y, int L, int z, const double *u,
                     const mn_reaction_env *env, int ps, const double *dv, double (*f)[NM]) {
  enum { W = MN_REACTION_LANES };
  double cu[NS * W], cp[NS * W], cl[NS * W], fs[W], c2[W];
  for (int k = M->na; k < M->nc; k++)
    for (int j = 0; j < NM; j++) f[k][j] = 0;
  for (int k0 = 0; k0 < M->na; k0 += W) {
    int n = M->na - k0 < W ? M->na - k0 : W;
    for (int v = 0; v < n; v++) {
      for (int s = 0; s < NS; s++) cu[s * W + v] = u[s];
      for (int j = 0; j < NM; j++)
        cu[mat[j] * W + v] = has_slot(M, L, z, k0 + v) ? y[cidx(M, L, z, k0 + v, j)] : 0.0;
      if (ps >= 0) cu[ps * W + v] += dv[k0 + v];
      fs[v] = env->col_fs, c2[v] = env->col_c;
    }
    mn_reaction_pl_lanes(M->m, &M->lcm[L], n, W, cu, env->uv, fs, c2, cp, cl);
    for (int v = 0; v < n; v++)
      for (int j = 0; j < NM; j++) {
        int i = mat[j] * W + v;
        f[k0 + v][j] = M->w[L][z][k0 + v] > 0 ? cp[i] - cl[i] * cu[i] : 0.0;
      }
  }
}

/* The papillary bed under the epidermis of zone z: the top papillary slab's mean C1 + C3. */
static double pd_col_c(const model *M, const double *y, int z) {
  if (M->pd_top < 0) return 0;
  return mat_mean(M, y, M->pd_top, z, J_C1) + mat_mean(M, y, M->pd_top, z, J_C3);
}

/* The zone's reactions f at two states at once: lane 0 the zone mean (its unsplit species' rows),
 * lane 1 the bulk (its matrix rows); returns each row from its lane. */
static void zone_f(const model *M, int L, const double *um, const double *u,
                   const mn_reaction_env *env, double *f) {
  double uu[NS * 2], p[NS * 2], l[NS * 2];
  for (int s = 0; s < NS; s++) uu[s * 2] = um[s], uu[s * 2 + 1] = u[s];
  double cfs[2] = {env->col_fs, env->col_fs}, cc[2] = {env->col_c, env->col_c};
  mn_reaction_pl_lanes(M->m, &M->lc[L], 2, 2, uu, env->uv, cfs, cc, p, l);
  for (int s = 0; s < NS; s++) {
    int b = (MAT_MASK >> s) & 1;
    f[s] = p[s * 2 + b] - l[s * 2 + b] * uu[s * 2 + b];
  }
}

/* The reactions of a zone with cohorts: its unsplit species at the zone's matrix means, its bulk
 * matrix at the bulk's values (zone_f), each cohort's matrix at the cohort's values with the
 * zone's other species (cohort_f). Cohorts without volume stay put. */
static void cohort_rhs(const model *M, const double *y, double *dy, int L, int z,
                       const mn_reaction_env *env) {
  static const double zero[MN_MAX_SESSIONS];
  double um[NS], f[MN_MAX_SESSIONS][NM];
  const double *u = y + idx(L, z, 0);
  zone_mean(M, y, L, z, um);
  zone_f(M, L, um, u, env, dy + idx(L, z, 0));
  cohort_f(M, y, L, z, u, env, -1, zero, f);
  for (int k = 0; k < M->nc; k++)
    for (int j = 0; j < NM && has_slot(M, L, z, k); j++) dy[cidx(M, L, z, k, j)] = f[k][j];
}

static int rhs(realtype t, N_Vector yv, N_Vector dyv, void *user) {
  (void)t;
  const model *M = user;
  const double *y = N_VGetArrayPointer(yv);
  double *dy = N_VGetArrayPointer(dyv), p[NS], l[NS];
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++) {
      const double *u = y + idx(L, z, 0);
      double *du = dy + idx(L, z, 0);
      mn_reaction_env env = env_of(M, y, L, z);
      if (M->nc > 0 && has_cohorts(M, L, z)) {
        cohort_rhs(M, y, dy, L, z, &env);
        continue;
      }
      mn_reaction_pl(M->m, &M->lc[L], u, &env, p, l);
      for (int s = 0; s < NS; s++) du[s] = p[s] - l[s] * u[s];
      for (int k = 0; k < M->nc; k++)
        for (int j = 0; j < NM && has_slot(M, L, z, k); j++) dy[cidx(M, L, z, k, j)] = 0;
    }
  if (!M->single)
    for (int L = 0; L < M->nl; L++)
      for (int s = 0; s < NS; s++) {
        double un = y[idx(L, 0, s)], uf = y[idx(L, 1, s)];
        dy[idx(L, 0, s)] += M->kn[L][s] * (uf - un);
        dy[idx(L, 1, s)] += M->kf[L][s] * (un - uf);
      }
  for (int L = 0; L < M->nl; L++)
    for (int K = L - 1; K <= L + 1; K += 2) /* neighbouring slabs only */
      if (K >= 0 && K < M->nl)
        for (int s = 0; s < NS; s++) {
          double v = M->v[L][K][s];
          if (v == 0) continue;
          for (int z = 0; z < NZ; z++) dy[idx(L, z, s)] += v * (y[idx(K, z, s)] - y[idx(L, z, s)]);
        }
  return 0;
}

/* 1 when cohort matrix species j of slab L depends on the zone's unsplit species s */
static int cohort_dep(const model *M, int L, int s, int j) {
  return !((MAT_MASK >> s) & 1) && ((M->lc[L].present >> mat[j]) & 1) &&
         (M->dep[L][s] & (1u << mat[j]));
}

/* 1 when the zone's unsplit species r depends on matrix species m (through the zone's mean) */
static int unsplit_dep(const model *M, int L, int m, int r) {
  return !((MAT_MASK >> r) & 1) && (M->dep[L][m] & (1u << r));
}

/* 1 when column (slab L, species s) drives the keratinocytes of the epidermal slabs above. */
static int drives_k(const model *M, int L, int s) {
  return L == M->pd_top && (s == MN_SP_F || s == MN_SP_S || s == MN_SP_C1 || s == MN_SP_C3);
}

/* Column pattern of the Jacobian, rows ascending: K of the epidermal slabs (for the top
 * papillary slab's F, S, C1, C3), the slab above (same zone and species), the near zone (for a
 * far-zone column), the reaction block of the column's own (slab, zone), the far zone (for a
 * near-zone column), the slab below. Absent species keep their diagonal so that I - gamma J
 * stays regular. Returns the number of non-zeros; fills rows/ptrs when not NULL. */
static long pattern(const model *M, sunindextype *rows, sunindextype *ptrs) {
  long nz = 0;
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int s = 0; s < NS; s++) {
        if (ptrs) ptrs[idx(L, z, s)] = nz;
#define ROW(r) (rows ? (void)(rows[nz] = (r)) : (void)0, nz++)
        if (drives_k(M, L, s))
          for (int V = 0; V < L; V++)
            if (M->layer_of[V] == MN_LAYER_VE) ROW(idx(V, z, MN_SP_K));
        if (L > 0 && M->v[L - 1][L][s] != 0) ROW(idx(L - 1, z, s));
        if (z == 1 && !M->single && M->kn[L][s] != 0) ROW(idx(L, 0, s));
        for (int r = 0; r < NS; r++)
          if (r == s || (M->dep[L][s] & (1u << r))) ROW(idx(L, z, r));
        if (z == 0 && !M->single && M->kn[L][s] != 0) ROW(idx(L, 1, s));
        if (L + 1 < M->nl && M->v[L + 1][L][s] != 0) ROW(idx(L + 1, z, s));
        for (int k = 0; k < M->nc; k++) /* the cohorts' matrix sees the zone's mobile species */
          for (int j = 0; j < NM && has_slot(M, L, z, k); j++)
            if (cohort_dep(M, L, s, j)) ROW(cidx(M, L, z, k, j));
      }
  /* a cohort's column: the keratinocytes above (the top papillary slab), the zone's unsplit
   * species that depend on the matrix (through its mean), the cohort's own matrix block */
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int k = 0; k < M->nc; k++)
        for (int j = 0; j < NM && has_slot(M, L, z, k); j++) {
          const int s = mat[j];
          if (ptrs) ptrs[cidx(M, L, z, k, j)] = nz;
          if (drives_k(M, L, s))
            for (int V = 0; V < L; V++)
              if (M->layer_of[V] == MN_LAYER_VE) ROW(idx(V, z, MN_SP_K));
          for (int r = 0; r < NS; r++)
            if (unsplit_dep(M, L, s, r)) ROW(idx(L, z, r));
          for (int i = 0; i < NM; i++)
            if (i == j || ((M->lc[L].present >> s) & 1 && (M->dep[L][s] & (1u << mat[i]))))
              ROW(cidx(M, L, z, k, i));
        }
#undef ROW
  if (ptrs) ptrs[n_states(M)] = nz;
  return nz;
}

/* f_r of one (slab, zone): the reaction part of the right-hand side */
static void reaction_f(const model *M, int L, const double *u, const mn_reaction_env *env,
                       double *f) {
  double p[NS], l[NS];
  mn_reaction_pl(M->m, &M->lc[L], u, env, p, l);
  for (int s = 0; s < NS; s++) f[s] = p[s] - l[s] * u[s];
}

/* Which reaction terms depend on which species, found by differencing the kernel at probe
 * states spread over the range the model visits (P below and above the melanogenesis
 * threshold). A dependence the probes miss only makes the Newton matrix approximate: CVODE's
 * error control still governs the solution; the sparser matrix makes each factorisation cheap. */
static void dependencies(model *M) {
  static const double frac[3] = {0.37, 1.9, 0.011};
  for (int L = 0; L < M->nl; L++) {
    memset(M->dep[L], 0, sizeof M->dep[L]);
    for (int q = 0; q < 3; q++) {
      double u[NS], f0[NS], f1[NS];
      for (int s = 0; s < NS; s++) u[s] = frac[q] * (1.0 + 0.13 * s);
      u[MN_SP_P] = q == 1 ? 2.0 * M->m->P_th + 1.0 : 0.5 * M->m->P_th;
      mn_reaction_env env = {1 + q, frac[q], 1 + frac[q]};
      reaction_f(M, L, u, &env, f0);
      for (int s = 0; s < NS; s++) {
        if (!(M->lc[L].present & (1u << s))) continue;
        double us = u[s];
        u[s] = us * (1 + 1e-4) + 1e-6;
        reaction_f(M, L, u, &env, f1);
        u[s] = us;
        for (int r = 0; r < NS; r++)
          if (f1[r] != f0[r] && (M->lc[L].present & (1u << r))) M->dep[L][s] |= (uint16_t)(1u << r);
      }
    }
  }
}

/* What the Jacobian's columns of zone (L, z) share: the bulk and mean states, the bulk's share,
 * the reactions there and the cohorts', and the papillary bed the keratinocytes above see. */
typedef struct zone_ctx {
  double u[NS], um[NS], f0[NS], wb, col_c;
  double f0c[MN_MAX_SESSIONS][NM];
  mn_reaction_env env;
} zone_ctx;

static void zone_ctx_init(const model *M, const double *y, int L, int z, zone_ctx *c) {
  static const double zero[MN_MAX_SESSIONS];
  memcpy(c->u, y + idx(L, z, 0), sizeof c->u);
  zone_mean(M, y, L, z, c->um);
  c->wb = 1;
  for (int k = 0; k < M->nc; k++) c->wb -= M->w[L][z][k];
  c->env = env_of(M, y, L, z);
  zone_f(M, L, c->um, c->u, &c->env, c->f0);
  cohort_f(M, y, L, z, c->u, &c->env, -1, zero, c->f0c);
  c->col_c = pd_col_c(M, y, z);
}

/* The entries d K' / d s of the epidermal slabs above slab L (linear in the drive): @p dk each. */
static long k_entries(const model *M, int L, double dk, double *val, long nz) {
  for (int V = 0; V < L; V++)
    if (M->layer_of[V] == MN_LAYER_VE) val[nz++] = dk;
  return nz;
}

/* The columns of zone (L, z)'s own species, from entry @p nz on; returns the next entry. */
static long zone_columns(const model *M, const double *y, int L, int z, double *val, long nz) {
  zone_ctx c;
  zone_ctx_init(M, y, L, z, &c);
  double f1[NS], f1c[MN_MAX_SESSIONS][NM], dv[MN_MAX_SESSIONS];
  for (int s = 0; s < NS; s++) {
    const int is_mat = (MAT_MASK >> s) & 1;
    double out = 0; /* exchange out of this state */
    if (drives_k(M, L, s))
      nz = k_entries(
          M, L,
          is_mat ? (c.col_c > 1 ? M->m->k_K * M->m->kap_K * c.wb : 0) : M->m->k_K * M->m->chi_K,
          val, nz);
    if (L > 0 && M->v[L - 1][L][s] != 0) {
      val[nz++] = M->v[L - 1][L][s];
      out += M->v[L][L - 1][s];
    }
    if (z == 1 && !M->single && M->kn[L][s] != 0) {
      val[nz++] = M->kn[L][s];
      out += M->kf[L][s];
    }
    if (z == 0 && !M->single) out += M->kn[L][s];
    if (L + 1 < M->nl) out += M->v[L][L + 1][s];
    double h = sqrt(DBL_EPSILON) * fmax(fabs(c.u[s]), 1.0);
    if (M->lc[L].present & (1u << s)) {
      double us = c.u[s], ms = c.um[s];
      c.u[s] = us + h, c.um[s] = ms + (is_mat ? c.wb : 1.0) * h;
      zone_f(M, L, c.um, c.u, &c.env, f1);
      c.u[s] = us, c.um[s] = ms;
      for (int r = 0; r < NS; r++)
        if (r == s || (M->dep[L][s] & (1u << r)))
          val[nz++] = (f1[r] - c.f0[r]) / h - (r == s ? out : 0.0);
    } else
      val[nz++] = -out;
    if (z == 0 && !M->single && M->kn[L][s] != 0) val[nz++] = M->kf[L][s];
    if (L + 1 < M->nl && M->v[L + 1][L][s] != 0) val[nz++] = M->v[L + 1][L][s];
    int any = 0;
    for (int j = 0; j < NM; j++) any |= cohort_dep(M, L, s, j);
    if (M->nc > 0 && any) {
      for (int k = 0; k < M->nc; k++) dv[k] = h;
      cohort_f(M, y, L, z, c.u, &c.env, s, dv, f1c);
      for (int k = 0; k < M->nc; k++)
        for (int j = 0; j < NM && has_slot(M, L, z, k); j++)
          if (cohort_dep(M, L, s, j)) val[nz++] = (f1c[k][j] - c.f0c[k][j]) / h;
    }
  }
  return nz;
}

/* The columns of zone (L, z)'s cohorts, from entry @p nz on; returns the next entry. */
static long cohort_columns(const model *M, const double *y, int L, int z, double *val, long nz) {
  zone_ctx c;
  zone_ctx_init(M, y, L, z, &c);
  double f1[NS], hk[NM][MN_MAX_SESSIONS], f1cj[NM][MN_MAX_SESSIONS][NM];
  for (int j = 0; j < NM; j++) {
    for (int k = 0; k < M->nc; k++)
      hk[j][k] =
          sqrt(DBL_EPSILON) * fmax(has_slot(M, L, z, k) ? fabs(y[cidx(M, L, z, k, j)]) : 0.0, 1.0);
    if ((M->lc[L].present >> mat[j]) & 1) cohort_f(M, y, L, z, c.u, &c.env, mat[j], hk[j], f1cj[j]);
  }
  for (int k = 0; k < M->nc; k++)
    for (int j = 0; j < NM && has_slot(M, L, z, k); j++) {
      const int s = mat[j], present = (M->lc[L].present >> s) & 1;
      const double w = M->w[L][z][k], h = hk[j][k];
      if (drives_k(M, L, s))
        nz = k_entries(M, L, c.col_c > 1 ? M->m->k_K * M->m->kap_K * w : 0, val, nz);
      int unsplit = 0;
      for (int r = 0; r < NS; r++) unsplit |= unsplit_dep(M, L, s, r);
      if (unsplit) { /* through the zone's mean; nothing while the cohort holds no volume */
        double ms = c.um[s];
        c.um[s] = ms + w * h;
        if (w > 0) zone_f(M, L, c.um, c.u, &c.env, f1);
        c.um[s] = ms;
        for (int r = 0; r < NS; r++)
          if (unsplit_dep(M, L, s, r)) val[nz++] = w > 0 ? (f1[r] - c.f0[r]) / h : 0.0;
      }
      for (int i = 0; i < NM; i++)
        if (i == j || (present && (M->dep[L][s] & (1u << mat[i]))))
          val[nz++] = present ? (f1cj[j][k][i] - c.f0c[k][i]) / h : 0.0;
    }
  return nz;
}

/* The Jacobian in the pattern above: exchange terms are linear and exact; the reaction blocks
 * are differenced column by column (forward quotients; the kernel is smooth in the states). In
 * a zone with cohorts, a bulk matrix column reaches the zone's unsplit rows through the mean
 * (weight w_bulk) and a cohort's column through its share w_k. */
static int jacobian(realtype t, N_Vector yv, N_Vector fy, SUNMatrix J, void *user, N_Vector t1,
                    N_Vector t2, N_Vector t3) {
  (void)t, (void)fy, (void)t1, (void)t2, (void)t3;
  const model *M = user;
  const double *y = N_VGetArrayPointer(yv);
  double *val = SUNSparseMatrix_Data(J);
  pattern(M, SUNSparseMatrix_IndexValues(J), SUNSparseMatrix_IndexPointers(J));
  long nz = 0;
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++) nz = zone_columns(M, y, L, z, val, nz);
  for (int L = 0; L < M->nl && M->nc > 0; L++) /* the cohorts' columns come after */
    for (int z = 0; z < NZ; z++) nz = cohort_columns(M, y, L, z, val, nz);
  return 0;
}

/* Channel volume within [z0, z1) per channel, and its area-equivalent radius over the channel. */
static double channel_volume(const mn_device *dev, double depth, double z0, double z1) {
  double lo = fmax(z0, 0), hi = fmin(z1, depth), vol = 0;
  if (hi <= lo) return 0;
  enum { N = 200 };
  double dz = (hi - lo) / N;
  for (int i = 0; i < N; i++) {
    double r = mn_device_channel_radius_um(dev, depth, lo + (i + 0.5) * dz);
    vol += M_PI * r * r * dz;
  }
  return vol;
}

static void geometry(model *M, const mn_lumped_input *in, const mn_lumped_params *lp,
                     mn_lumped_geometry *g) {
  const mn_skin *sk = in->skin;
  double n = 0; /* channels per um2, all groups */
  g->a_um = 0;
  for (int i = 0; i < in->n_groups; i++) {
    n += in->group[i].density_cm2 * 1e-8;
    /* the channel's widest radius (at the surface): the near zone must hold the whole channel
     * cross-section, or the injured fraction of a layer would not fit into it */
    g->a_um = fmax(g->a_um, mn_device_channel_radius_um(in->dev, in->group[i].depth_um, 0.0));
  }
  g->b_um = 1.0 / sqrt(M_PI * n);
  double L = 1000.0 * sqrt(M->m->D_P / M->m->k_P);
  g->rn_um = fmin(g->b_um, g->a_um + lp->rn_factor * L);
  g->phi = (g->rn_um / g->b_um) * (g->rn_um / g->b_um);
  M->single = g->phi > 0.999;
  if (M->single) g->phi = 1.0;
  M->phi = g->phi;
  /* slabs: each layer cut into equal slabs of at most slab_um */
  M->nl = 0;
  for (int q = 0; q < MN_LUMPED_LAYERS; q++) {
    int l = layer_list[q], k = (int)ceil(sk->thickness_um[l] / lp->slab_um - 1e-9);
    if (k < 1) k = 1;
    for (int i = 0; i < k && M->nl < NL; i++, M->nl++) {
      M->layer_of[M->nl] = l;
      M->h[M->nl] = sk->thickness_um[l] / k;
      M->top[M->nl] = sk->top_um[l] + i * M->h[M->nl];
    }
  }
  g->slabs = M->nl;
  g->bleeding = 0;
  for (int L2 = 0; L2 < M->nl; L2++) {
    double vol = 0; /* injured volume per um2 of skin in the slab: channels of every group */
    for (int i = 0; i < in->n_groups; i++)
      vol += in->group[i].density_cm2 * 1e-8 *
             channel_volume(in->dev, in->group[i].depth_um, M->top[L2], M->top[L2] + M->h[L2]);
    g->f_inj[L2] = fmin(1.0, vol / M->h[L2]);
    /* the lumen is the needle's profile scaled by eps: eps^2 of the displaced volume */
    double eps = in->dev->cls.lumen_ratio;
    g->f_lum[L2] = fmin(1.0, eps * eps * vol / M->h[L2]);
  }
  M->pd_top = -1;
  for (int L2 = M->nl - 1; L2 >= 0; L2--)
    if (M->layer_of[L2] == MN_LAYER_PD) M->pd_top = L2;
  for (int i = 0; i < in->n_groups; i++)
    g->bleeding |= in->group[i].depth_um >= mn_skin_plexus_depth_um(sk);
  /* exchange rates per species: quasi-steady radial diffusion between r_n and b */
  for (int L2 = 0; L2 < M->nl; L2++)
    for (int s = 0; s < NS; s++) {
      double D = 1e6 * mn_model_diffusivity(M->m, s, M->layer_of[L2]); /* um2/day */
      M->kn[L2][s] = M->kf[L2][s] = 0;
      if (D <= 0 || M->single) continue;
      double kn = 2 * D / (g->rn_um * g->rn_um * log(g->b_um / g->rn_um));
      M->kn[L2][s] = kn;
      M->kf[L2][s] = kn * g->phi / (1 - g->phi);
    }
  /* vertical exchange between neighbouring slabs: the conductance between their centres */
  memset(M->v, 0, sizeof M->v);
  for (int L2 = 0; L2 + 1 < M->nl; L2++)
    for (int s = 0; s < NS; s++) {
      double Da = 1e6 * mn_model_diffusivity(M->m, s, M->layer_of[L2]);
      double Db = 1e6 * mn_model_diffusivity(M->m, s, M->layer_of[L2 + 1]);
      if (Da <= 0 || Db <= 0) continue;
      double ha = M->h[L2], hb = M->h[L2 + 1];
      double G = 1.0 / (0.5 * ha / Da + 0.5 * hb / Db); /* interface conductance, um/day */
      M->v[L2][L2 + 1][s] = G / ha;
      M->v[L2 + 1][L2][s] = G / hb;
    }
}

static void baseline(const model *M, double *y) {
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int s = 0; s < NS; s++)
        y[idx(L, z, s)] = M->lc[L].present & (1u << s) ? mn_species_baseline(s) : 0.0;
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int k = 0; k < M->nc; k++)
        for (int j = 0; j < NM && has_slot(M, L, z, k); j++)
          y[cidx(M, L, z, k, j)] = y[idx(L, z, mat[j])];
}

/* Before a later session: each compartment (the bulk and every cohort) to its layer mean, in
 * both zones, shares and all (the new punctures land at random places: docs/model.md). */
static void mix_cohorts(model *M, double *y) {
  const double pn = M->phi, pf = 1 - M->phi;
  for (int L = 0; L < M->nl; L++) {
    double wbn = 1, wbf = 1;
    for (int k = 0; k < M->nc; k++) {
      double wn = M->w[L][0][k], wf = M->w[L][1][k], wk = pn * wn + pf * wf;
      wbn -= wn, wbf -= wf;
      for (int j = 0; j < NM && wk > 0; j++) {
        double v = (pn * wn * y[cidx(M, L, 0, k, j)] + pf * wf * y[cidx(M, L, 1, k, j)]) / wk;
        y[cidx(M, L, 0, k, j)] = y[cidx(M, L, 1, k, j)] = v;
      }
      M->w[L][0][k] = M->w[L][1][k] = wk;
    }
    double wb = pn * wbn + pf * wbf;
    for (int j = 0; j < NM && wb > 0; j++) {
      double v = (pn * wbn * y[idx(L, 0, mat[j])] + pf * wbf * y[idx(L, 1, mat[j])]) / wb;
      y[idx(L, 0, mat[j])] = y[idx(L, 1, mat[j])] = v;
    }
  }
}

/* Superpose one session on the near zones (models.md 7.4). A later session's punctures land at
 * new random places, so its near zone is a random sample of the tissue: the zones are first
 * mixed to the layer mean (mass-conserving), then the new near zone is injured. */
static void injure(model *M, const mn_lumped_geometry *g, double *y, int session) {
  const int later = session > 0;
  if (later && !M->single && M->nc > 0) mix_cohorts(M, y);
  if (later && !M->single)
    for (int L = 0; L < M->nl; L++)
      for (int s = 0; s < NS; s++) {
        double mean = M->phi * y[idx(L, 0, s)] + (1 - M->phi) * y[idx(L, 1, s)];
        y[idx(L, 0, s)] = y[idx(L, 1, s)] = mean;
      }
  for (int L = 0; L < M->nl; L++) {
    double lum = fmin(1.0, g->f_lum[L] / M->phi), disp = fmin(1.0, g->f_inj[L] / M->phi);
    double *u = y + idx(L, 0, 0);
    unsigned has = M->lc[L].present;
    if (has & (1u << MN_SP_D)) u[MN_SP_D] = 1 - (1 - u[MN_SP_D]) * (1 - lum);
    if (M->nc > 0 && (has & MAT_MASK)) { /* the lumen (share lum) becomes cohort `session` */
      double tear = lum < 1 ? 1 - (disp - lum) / (1 - lum) : 0.0; /* the rest of the displaced */
      for (int k = 0; k < M->nc; k++) {
        M->w[L][0][k] *= 1 - lum;
        y[cidx(M, L, 0, k, J_C3)] *= tear;
      }
      M->w[L][0][session] = lum;
      M->na = session + 1;
      M->w[L][1][session] = 0;
      for (int j = 0; j < NM; j++) y[cidx(M, L, 0, session, j)] = 0;
      if (has & (1u << MN_SP_C3)) u[MN_SP_C3] *= tear;
      if (g->bleeding && M->layer_of[L] != MN_LAYER_VE && (has & (1u << MN_SP_T)))
        u[MN_SP_T] += M->m->tau_plt * lum;
      continue;
    }
    if (has & (1u << MN_SP_C1)) u[MN_SP_C1] *= 1 - lum;
    if (has & (1u << MN_SP_E)) u[MN_SP_E] *= 1 - lum;
    if (has & (1u << MN_SP_C3)) u[MN_SP_C3] *= 1 - disp; /* immature matrix tears */
    if (g->bleeding && M->layer_of[L] != MN_LAYER_VE && (has & (1u << MN_SP_T)))
      u[MN_SP_T] += M->m->tau_plt * lum;
  }
}

static int sample(const model *M, const double *y, double t, int session, mn_timeseries *ts,
                  mn_error *err) {
  double mean[MN_LAYER_HYPO][MN_NSPECIES], vol[MN_LAYER_HYPO] = {0};
  memset(mean, 0, sizeof mean);
  for (int L = 0; L < M->nl; L++) {
    vol[M->layer_of[L]] += M->h[L];
    for (int s = 0; s < NS; s++) {
      double un = y[idx(L, 0, s)], uf = y[idx(L, 1, s)];
      for (int j = 0; j < NM && M->nc > 0; j++)
        if (mat[j] == s) un = mat_mean(M, y, L, 0, j), uf = mat_mean(M, y, L, 1, j);
      mean[M->layer_of[L]][s] += M->h[L] * (M->single ? un : M->phi * un + (1 - M->phi) * uf);
    }
  }
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    for (int s = 0; s < NS && vol[l] > 0; s++) mean[l][s] /= vol[l];
  mean[MN_LAYER_SC][MN_SP_D] = mean[MN_LAYER_VE][MN_SP_D];
  return mn_timeseries_add(ts, t, session, mean[MN_LAYER_PD][MN_SP_V], mean, err);
}

/* The channel groups and sessions the lumped model accepts. */
static int input_ok(const mn_lumped_input *in) {
  int groups_ok = in->n_groups >= 1 && in->n_groups <= MN_LUMPED_MAX_GROUPS;
  for (int i = 0; groups_ok && i < in->n_groups; i++)
    groups_ok = in->group[i].density_cm2 > 0 && in->group[i].depth_um > 0;
  return groups_ok && in->sessions >= 1 && in->sessions <= MN_MAX_SESSIONS;
}

/* The model of input @p in: geometry and slabs, each slab's reaction coefficients and the
 * reaction terms' dependencies (the Jacobian's pattern). */
static void model_init(model *M, const mn_lumped_input *in, const mn_lumped_params *lp,
                       mn_lumped_geometry *g) {
  M->m = in->m;
  geometry(M, in, lp, g);
  for (int L = 0; L < M->nl; L++)
    mn_reaction_coef_init(&M->lc[L], in->m, M->layer_of[L], in->fitz, in->skin->params.age_y);
  M->uvf = mn_uv_factor(in->m, in->uv);
  dependencies(M);
  M->nbase = M->nl * NZ * NS;
  M->nc = lp->cohorts ? in->sessions : 0;
  M->na = 0;
  memset(M->w, 0, sizeof M->w);
  M->compact = lp->compact;
  layout(M, M->compact);
  for (int L = 0; L < M->nl; L++) {
    M->lcm[L] = M->lc[L];
    M->lcm[L].present &= MAT_MASK;
  }
}

/* CVODE and what it works with: the state, the constraints, the Jacobian and KLU. */
typedef struct ode_solver {
  SUNContext ctx;
  N_Vector y, cons;
  SUNMatrix A;
  SUNLinearSolver LS;
  void *cv;
} ode_solver;

/* Everything but the context (NULL after it, so that it can be made again). */
static void solver_release(ode_solver *S) {
  CVodeFree(&S->cv);
  SUNLinSolFree(S->LS);
  SUNMatDestroy(S->A);
  N_VDestroy(S->y);
  N_VDestroy(S->cons);
  S->LS = NULL, S->A = NULL, S->y = S->cons = NULL;
}

static void solver_free(ode_solver *S) {
  solver_release(S);
  SUNContext_Free(&S->ctx);
}

/* Allocate the vectors, the sparse Jacobian, CVODE (BDF) and KLU in context S->ctx (partial
 * state on failure is released by solver_free). */
static int solver_create(ode_solver *S, const model *M, mn_error *err) {
  const int NY = n_states(M);
  S->y = N_VNew_Serial(NY, S->ctx);
  S->cons = N_VNew_Serial(NY, S->ctx);
  S->A = SUNSparseMatrix(NY, NY, pattern(M, NULL, NULL), CSC_MAT, S->ctx);
  S->cv = CVodeCreate(CV_BDF, S->ctx);
  if (!(S->y && S->cons && S->A && S->cv))
    return MN_ERR(err, MN_ENOMEM, "", "out of memory for the lumped model");
  S->LS = SUNLinSol_KLU(S->y, S->A, S->ctx);
  if (!S->LS) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the lumped model");
  /* AMD ordering: 4.13 ms per bench_lumped run against 4.62 ms with KLU's default COLAMD */
  if (SUNLinSol_KLUSetOrdering(S->LS, 0) != SUNLS_SUCCESS)
    return MN_ERR(err, MN_EINTERNAL, "", "cannot set the KLU ordering");
  /* no row scaling: partial pivoting stays stable without it, and the pattern is ours (built by
   * pattern(), checked by the unit tests), so KLU's per-factorisation check of the input is
   * skipped too: a plan with 100 draws on 1 thread took 2.45 s against 2.58-2.61 s, plan.json
   * unchanged (2026-12-05) */
  SUNLinSol_KLUGetCommon(S->LS)->scale = -1;
  /* fused vector operations: CVODE's corrector and interpolation use single passes */
  if (N_VEnableFusedOps_Serial(S->y, SUNTRUE) != 0)
    return MN_ERR(err, MN_EINTERNAL, "", "cannot enable fused vector operations");
  mn__lumped_fast_vector(S->y); /* before CVodeInit: CVODE's work vectors are clones of y */
  mn__lumped_fast_vector(S->cons);
  mn__lumped_fast_sparse(S->A);
  return MN_OK;
}

/* Start CVODE at day @p t0 from the state in S->y, every state >= 0, with M as its user data. */
static int solver_init(ode_solver *S, model *M, const mn_lumped_params *lp, double t0,
                       mn_error *err) {
  N_VConst(1.0, S->cons); /* every state >= 0 */
  void *cv = S->cv;
  if (!(CVodeInit(cv, rhs, t0, S->y) == CV_SUCCESS && CVodeSetUserData(cv, M) == CV_SUCCESS &&
        CVodeSStolerances(cv, lp->rtol, lp->atol) == CV_SUCCESS &&
        CVodeSetLinearSolver(cv, S->LS, S->A) == CV_SUCCESS &&
        CVodeSetJacFn(cv, jacobian) == CV_SUCCESS &&
        CVodeSetConstraints(cv, S->cons) == CV_SUCCESS &&
        CVodeSetMaxNumSteps(cv, 100000) == CV_SUCCESS &&
        CVodeSetErrHandlerFn(cv, quiet, NULL) == CV_SUCCESS))
    return MN_ERR(err, MN_EINTERNAL, "", "cannot set up CVODE");
  return MN_OK;
}

/* The states of @p src (cohort places @p from) into @p dst in M's layout: the zones' as they are,
 * each cohort M holds from its place in @p src, 0 where @p src has none. */
static void relayout(const model *M, int (*from)[NZ][MN_MAX_SESSIONS], const double *src,
                     double *dst) {
  memcpy(dst, src, (size_t)M->nbase * sizeof *dst);
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int k = 0; k < M->nc; k++)
        for (int j = 0; j < NM && has_slot(M, L, z, k); j++)
          dst[cidx(M, L, z, k, j)] = from[L][z][k] >= 0 ? src[from[L][z][k] + j] : 0.0;
}

/* The state at a stop may hold round-off negatives (CVODE checks its constraints on the
 * corrected steps, within tolerance); they are zero concentrations. */
static void clamp_states(double *y, int n) {
  for (int i = 0; i < n; i++) y[i] = fmax(y[i], 0.0);
}

/* A session in the compact layout: the state spread to the full layout (@p full, room for
 * it), the near zones injured there, and CVODE and KLU made again for the cohorts that now hold
 * volume, at day @p t. */
static int session_compact(ode_solver *S, model *M, const mn_lumped_geometry *g,
                           const mn_lumped_params *lp, int session, double t, double *full,
                           mn_error *err) {
  int coff[NL][NZ][MN_MAX_SESSIONS];
  memcpy(coff, M->coff, sizeof coff); /* the compact layout's places */
  layout(M, 0);
  relayout(M, coff, N_VGetArrayPointer(S->y), full);
  clamp_states(full, n_states(M));
  injure(M, g, full, session);
  memcpy(coff, M->coff, sizeof coff); /* the full layout's places */
  layout(M, 1);
  solver_release(S);
  int rc = solver_create(S, M, err);
  if (rc != MN_OK) return rc;
  relayout(M, coff, full, N_VGetArrayPointer(S->y));
  return solver_init(S, M, lp, t, err);
}

void mn_lumped_hold_fini(mn_lumped_hold *h) {
  if (!h) return;
  mn_free(h->y);
  memset(h, 0, sizeof *h);
}

/* The state @p y at day @p t after @p sessions sessions into @p h (its y reused when large
 * enough). */
static int hold_state(const model *M, const double *y, double t, int sessions, mn_lumped_hold *h,
                      mn_error *err) {
  const int ny = n_states(M);
  if (!h->y || h->ny < ny) {
    double *q = mn_realloc_array(h->y, (size_t)ny, sizeof *q);
    if (!q) return MN_ERR(err, MN_ENOMEM, "", "out of memory for a held lumped state");
    h->y = q;
  }
  memcpy(h->y, y, (size_t)ny * sizeof *y);
  h->ny = ny, h->t_day = t, h->sessions = sessions, h->na = M->na;
  memcpy(h->w, M->w, sizeof h->w);
  return MN_OK;
}

/* The event loop: sessions and samples in time order. A session injures the near zones and
 * restarts CVODE; a sample records the layer means at its day. */
static int integrate(ode_solver *S, model *M, const mn_lumped_geometry *g,
                     const mn_lumped_input *in, const mn_lumped_params *lp, mn_timeseries *ts,
                     int *cv_flag, mn_error *err) {
  double *full = NULL; /* the compact layout's session scratch */
  double t = 0;
  int next_s = 0, next_k = 0, rc = MN_OK, holding = in->hold != NULL;
  if (in->resume) { /* the holding run recorded the samples before its day */
    t = in->resume->t_day, next_s = in->resume->sessions;
    while (next_k < in->nsamples && in->samples[next_k] < t) next_k++; /* exactly: the caller's */
  }
  if (M->compact) { /* room for the full layout: every cohort of every zone */
    full = mn_malloc_array((size_t)(M->nbase + M->nl * NZ * M->nc * NM), sizeof *full);
    if (!full) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the lumped model");
  }
  while (next_k < in->nsamples || next_s < in->sessions) {
    if (next_s < in->sessions && t >= in->session_day[next_s] - 1e-12) {
      if (M->compact) {
        MN_TRY(session_compact(S, M, g, lp, next_s, t, full, err));
        next_s++;
        continue;
      }
      double *Y = N_VGetArrayPointer(S->y);
      clamp_states(Y, n_states(M));
      injure(M, g, Y, next_s);
      next_s++;
      if (CVodeReInit(S->cv, t, S->y) != CV_SUCCESS) {
        rc = MN_ERR(err, MN_ENUMERIC, "", "CVODE re-init failed");
        goto cleanup;
      }
      continue;
    }
    if (holding && next_s == in->sessions && t >= in->hold_day) { /* stopped exactly there */
      MN_TRY(hold_state(M, N_VGetArrayPointer(S->y), t, next_s, in->hold, err));
      holding = 0;
      continue;
    }
    if (next_k < in->nsamples && t >= in->samples[next_k] - 1e-12) {
      MN_TRY(sample(M, N_VGetArrayPointer(S->y), t, next_s, ts, err));
      next_k++;
      continue;
    }
    /* samples are interpolated (CV_NORMAL returns at tout without stopping there); only a session
     * or the end stops the integrator, which then restarts after the injury */
    double tout = in->t_end, tstop = in->t_end;
    if (next_k < in->nsamples) tout = fmin(tout, in->samples[next_k]);
    if (next_s < in->sessions) tout = fmin(tout, in->session_day[next_s]);
    if (next_s < in->sessions) tstop = fmin(tstop, in->session_day[next_s]);
    if (holding && next_s == in->sessions) /* stopped there as for a next session */
      tout = fmin(tout, in->hold_day), tstop = fmin(tstop, in->hold_day);
    if (tout <= t) break;
    CVodeSetStopTime(S->cv, tstop);
    realtype tret;
    int flag = CVode(S->cv, tout, S->y, &tret, CV_NORMAL);
    *cv_flag = flag;
    if (flag < 0) {
      rc = MN_ERR(err, MN_ENUMERIC, "",
                  "CVODE failed at day %.4f (flag %d): the lumped model's state is not valid", t,
                  flag);
      goto cleanup;
    }
    t = tout; /* returned exactly at tout (interpolated, or stopped there) */
  }
cleanup:
  mn_free(full);
  return rc;
}

static atomic_long run_count;

long mn_lumped_run_count(void) {
  return atomic_load_explicit(&run_count, memory_order_relaxed);
}

/* One run of @p in with @p lp; *cv_flag is CVODE's last flag. */
static int run_once(const mn_lumped_input *in, const mn_lumped_params *lp, mn_timeseries *ts,
                    mn_lumped_geometry *geo, int *cv_flag, mn_error *err) {
  int rc = MN_OK;
  model M;
  mn_lumped_geometry g;
  ode_solver S;
  memset(&M, 0, sizeof M);
  memset(&g, 0, sizeof g);
  memset(&S, 0, sizeof S);
  model_init(&M, in, lp, &g);
  if (SUNContext_Create(NULL, &S.ctx) != 0)
    return MN_ERR(err, MN_ENOMEM, "", "cannot create a SUNDIALS context");
  if (in->resume) { /* the held state, in its layout; its session makes CVODE */
    const mn_lumped_hold *h = in->resume;
    M.na = h->na;
    memcpy(M.w, h->w, sizeof M.w);
    layout(&M, 1);
    MN_CHECK(lp->compact && h->sessions < in->sessions && h->ny == n_states(&M) &&
                 h->t_day == in->session_day[h->sessions],
             err, MN_EINPUT, "",
             "lumped run: the held state (day %g, %d sessions, %d states) is not one of this "
             "course",
             h->t_day, h->sessions, h->ny);
    MN_TRY(solver_create(&S, &M, err));
    memcpy(N_VGetArrayPointer(S.y), h->y, (size_t)h->ny * sizeof *h->y);
  } else {
    MN_TRY(solver_create(&S, &M, err));
    baseline(&M, N_VGetArrayPointer(S.y));
    MN_TRY(solver_init(&S, &M, lp, 0.0, err));
  }
  MN_TRY(integrate(&S, &M, &g, in, lp, ts, cv_flag, err));
  long nst = 0;
  CVodeGetNumSteps(S.cv, &nst);
  g.steps = nst;
  g.states = n_states(&M);
cleanup:
  solver_free(&S);
  if (geo) *geo = g;
  return rc;
}

static atomic_long retry_count, fallback_count;

long mn__lumped_fallback_count(void) {
  return atomic_load_explicit(&fallback_count, memory_order_relaxed);
}

long mn__lumped_retry_count(void) {
  return atomic_load_explicit(&retry_count, memory_order_relaxed);
}

int mn_lumped_run(const mn_lumped_input *in, const mn_lumped_params *lp, mn_timeseries *ts,
                  mn_lumped_geometry *geo, mn_error *err) {
  atomic_fetch_add_explicit(&run_count, 1, memory_order_relaxed);
  if (in->hold) in->hold->t_day = 0; /* held only by a run that succeeds: below */
  if (!input_ok(in))
    return MN_ERR(err, MN_EINPUT, "",
                  "lumped model: 1-%d channel groups of positive density and depth, and 1-%d "
                  "sessions",
                  MN_LUMPED_MAX_GROUPS, MN_MAX_SESSIONS);
  if (in->hold && !(in->hold_day > in->session_day[in->sessions - 1]))
    return MN_ERR(err, MN_EINPUT, "", "lumped run: hold_day %g is not after the last session",
                  in->hold_day);
  if (in->hold && in->hold == in->resume)
    return MN_ERR(err, MN_EINPUT, "",
                  "lumped run: the held state to resume from is also the one "
                  "to hold");
  /* At a loose tolerance (the planner's 1e-4) a step can keep leaving the non-negative states
   * (CV_CONSTR_FAIL: a fast-decaying species overshoots zero at every step size CVODE tries).
   * The run is then made again from day 0 at a tolerance 10 times tighter, at most twice and
   * never tighter than the default (1e-5, the calibration's: its runs are never rerun, so the
   * shipped chain reproduces); a run that succeeds is never rerun either. */
  mn_lumped_params def, at = *lp;
  mn_lumped_params_default(&def);
  mn_lumped_input run = *in;
  int n0 = ts->n;
  for (int attempt = 0;; attempt++) {
    int flag = 0;
    int rc = run_once(&run, &at, ts, geo, &flag, err);
    /* held only by a run that succeeds at lp's tolerance: a longer course's from day 0 would go
       as it did */
    if (in->hold && (rc != MN_OK || attempt > 0)) in->hold->t_day = 0;
    if (rc != MN_OK && flag == CV_CONSTR_FAIL && run.resume) {
      /* as a run from day 0 would fail there too and be made again from day 0: from day 0 (the
         samples the caller copied from the holding run recorded again) */
      for (int k = 0; k < in->nsamples && in->samples[k] < run.resume->t_day; k++) n0--;
      atomic_fetch_add_explicit(&fallback_count, 1, memory_order_relaxed);
      run.resume = NULL, attempt--;
      ts->n = n0;
      mn_error_clear(err);
      continue;
    }
    if (rc == MN_OK || flag != CV_CONSTR_FAIL || attempt == 2 || at.rtol / 10 < def.rtol * 0.999)
      return rc;
    atomic_fetch_add_explicit(&retry_count, 1, memory_order_relaxed);
    at.rtol /= 10;
    mn_log(MN_LOG_DEBUG, "lumped run: CVODE's constraints failed; rerun at rtol %g", at.rtol);
    ts->n = n0;
    mn_error_clear(err);
  }
}

/* 1 when state i is a species present in its slab (a cohort's: a present matrix species) */
static int live(const model *M, int i) {
  if (i < M->nbase) return (M->lc[i / (NZ * NS)].present >> (i % NS)) & 1;
  for (int L = 0; L < M->nl; L++)
    for (int z = 0; z < NZ; z++)
      for (int k = 0; k < M->nc; k++)
        if (has_slot(M, L, z, k) && i >= M->coff[L][z][k] && i < M->coff[L][z][k] + NM)
          return (M->lc[L].present >> mat[i - M->coff[L][z][k]]) & 1;
  return 0;
}

int mn__lumped_jacobian_check(const mn_lumped_input *in, const mn_lumped_params *lp, unsigned seed,
                              double *max_err, long *nnz) {
  model M;
  mn_lumped_geometry g;
  memset(&M, 0, sizeof M);
  memset(&g, 0, sizeof g);
  if (!input_ok(in)) return -1;
  model_init(&M, in, lp, &g);
  /* every cohort holds a share of its zone (the last ones in the near zone only, as after their
   * session), so that each of their terms is checked */
  for (int L = 0; L < M.nl; L++)
    for (int k = 0; k < M.nc; k++) {
      M.w[L][0][k] = 0.3 / (M.nc + 1) * (1 + 0.1 * k);
      M.w[L][1][k] = k + 1 < M.nc ? 0.2 / (M.nc + 1) : 0;
    }
  M.na = M.nc;
  layout(&M, M.compact); /* compact: the last cohort's far zone is left out */
  const int NY = n_states(&M);
  int rc = -1;
  double *col = mn_malloc_array((size_t)NY, sizeof *col);
  SUNContext ctx = NULL;
  if (!col || SUNContext_Create(NULL, &ctx) != 0) {
    mn_free(col);
    return -1;
  }
  N_Vector y = N_VNew_Serial(NY, ctx), f0 = N_VNew_Serial(NY, ctx), f1 = N_VNew_Serial(NY, ctx);
  SUNMatrix J = SUNSparseMatrix(NY, NY, pattern(&M, NULL, NULL), CSC_MAT, ctx);
  if (y && f0 && f1 && J) {
    double *Y = N_VGetArrayPointer(y), *F0 = N_VGetArrayPointer(f0), *F1 = N_VGetArrayPointer(f1);
    baseline(&M, Y);
    for (int i = 0; i < NY; i++) { /* a positive state away from the baseline */
      seed = seed * 1103515245u + 12345u;
      if (live(&M, i)) Y[i] = Y[i] * 0.5 + 2.0 * ((seed >> 8) & 0xffff) / 65536.0;
    }
    rhs(0, y, f0, &M);
    jacobian(0, y, f0, J, &M, NULL, NULL, NULL);
    sunindextype *rows = SUNSparseMatrix_IndexValues(J), *ptrs = SUNSparseMatrix_IndexPointers(J);
    double *val = SUNSparseMatrix_Data(J), worst = 0;
    for (int c = 0; c < NY; c++) { /* central differences of the whole right-hand side */
      if (!live(&M, c)) continue;  /* stays 0 */
      double yc = Y[c], h = 1e-6 * fmax(fabs(yc), 1.0);
      Y[c] = yc + h;
      rhs(0, y, f1, &M);
      Y[c] = yc - h;
      rhs(0, y, f0, &M);
      Y[c] = yc;
      for (int r = 0; r < NY; r++) col[r] = (F1[r] - F0[r]) / (2 * h);
      for (sunindextype k = ptrs[c]; k < ptrs[c + 1]; k++) col[rows[k]] -= val[k];
      double scale = 1e-3;
      for (sunindextype k = ptrs[c]; k < ptrs[c + 1]; k++) scale = fmax(scale, fabs(val[k]));
      for (int r = 0; r < NY; r++) {
        worst = fmax(worst, fabs(col[r]) / scale);
      }
    }
    *max_err = worst;
    *nnz = ptrs[NY];
    rc = 0;
  }
  N_VDestroy(y);
  N_VDestroy(f0);
  N_VDestroy(f1);
  SUNMatDestroy(J);
  SUNContext_Free(&ctx);
  mn_free(col);
  return rc;
}
