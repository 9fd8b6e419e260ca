/* The 3D solver: Strang splitting R(dt/2) D(dt) R(dt/2) of per-voxel MPRK22 reactions and LOD
 * backward-Euler diffusion, with a step controller on the largest relative change of the fast
 * species, freezing of the fast species once they are back at baseline everywhere, and
 * fixed-order reductions so that 1 and N threads give bit-identical fields.
 * Stage: healing. Reference: research/models.md 6.3 and 7. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "healing_impl.h"

static const mn_config_desc solver_table[] = {
    {"min_step_day", MN_CONFIG_DOUBLE, "day", 1.0 / 1440, 1e-6, 1, NULL, NULL,
     offsetof(mn_solver_params, min_step_day), sizeof(double), "smallest time step (1 min)"},
    {"max_step_day", MN_CONFIG_DOUBLE, "day", 1, 1e-4, 10, NULL, NULL,
     offsetof(mn_solver_params, max_step_day), sizeof(double),
     "largest time step (remodelling months)"},
    {"first_step_day", MN_CONFIG_DOUBLE, "day", 2.0 / 1440, 1e-6, 1, NULL, NULL,
     offsetof(mn_solver_params, first_step_day), sizeof(double),
     "step after each injury; also the fixed step when fixed_step is true"},
    {"rel_tol", MN_CONFIG_DOUBLE, "", 0.04, 1e-6, 0.5, NULL, NULL,
     offsetof(mn_solver_params, rel_tol), sizeof(double),
     "relative local error tolerance of the reaction steps (embedded MPRK22 / Patankar-Euler)"},
    {"abs_tol", MN_CONFIG_DOUBLE, "", 1e-3, 1e-9, 0.1, NULL, NULL,
     offsetof(mn_solver_params, abs_tol), sizeof(double),
     "absolute local error tolerance, in each species' units"},
    {"freeze_tol", MN_CONFIG_DOUBLE, "", 1e-7, 0, 1e-2, NULL, NULL,
     offsetof(mn_solver_params, freeze_tol), sizeof(double),
     "fast species (d, P, N, M, T, V) below this everywhere are set to baseline and frozen"},
    {"fixed_step", MN_CONFIG_BOOL, "", 0, 0, 1, NULL, NULL, offsetof(mn_solver_params, fixed_step),
     sizeof(int), "no adaptivity: every step is first_step_day (convergence studies)"},
    {"threads", MN_CONFIG_INT, "", 0, 0, 256, NULL, NULL, offsetof(mn_solver_params, threads),
     sizeof(int), "OpenMP threads; 0 = automatic (one per 200k cells, at most OMP_NUM_THREADS)"},
};

const mn_config_desc *mn_solver_param_table(size_t *n) {
  *n = sizeof solver_table / sizeof solver_table[0];
  return solver_table;
}

/* Fast species: they set the step while inflammation runs and are frozen afterwards. */
static const int fast[] = {MN_SP_D, MN_SP_P, MN_SP_N, MN_SP_M, MN_SP_T, MN_SP_V};
enum { NFAST = sizeof fast / sizeof fast[0] };

struct mn_solver {
  mn_solver_params sp;
  const mn_grid *g;
  mn_model_params m;
  int fitz, nthreads;
  double age_y;
  mn_reaction_coef lc[256];
  double D[MN_NSPECIES][MN_LAYER_HYPO];
  float *u[MN_NSPECIES]; /* float32 storage, arithmetic in double (docs/model.md "Storage") */
  double *work;
  double *plane_change; /* [nz] per-plane largest relative change */
  double *plane_fast;   /* [nz][NFAST] per-plane maxima of the fast species */
  size_t *plane_bad;    /* [nz] first bad cell of a plane, SIZE_MAX if none */
  uint8_t *plane_pd;    /* [nz] 1 if the plane holds a papillary cell */
  double *plane_sum;    /* [nz][MN_LAYER_HYPO][MN_NSPECIES + 1] */
  int sums_valid;       /* plane_sum holds the sums of the fields as they are */
  double *col_fs;       /* [ny][nx] papillary F + S under each epidermal column */
  double *col_c;        /* [ny][nx] papillary C1 + C3 under each epidermal column */
  double *col_w;        /* [ny][nx] papillary thickness of each column (columns()' sums) */
  double t, dt, u_uv;   /* u_uv: the day's UV dose, SED/day */
  int frozen;
  unsigned fast_bits; /* bit q set for each species q of fast[] */
  long steps;
};

/* Threads when the case does not say: all the cores OpenMP offers, but one per 200k cells at
 * most - below that the barriers of the sweeps cost more than the work they share. */
static int default_threads(const mn_grid *g) {
#ifdef _OPENMP
  int want = 1 + (int)(mn_grid_cells(g) / 200000);
  int have = mn_threads(0);
  return want < have ? want : have;
#else
  (void)g;
  return 1;
#endif
}

void mn_solver_destroy(mn_solver *s) {
  if (!s) return;
  for (int q = 0; q < MN_NSPECIES; q++) mn_free(s->u[q]);
  mn_free(s->work);
  mn_free(s->plane_change);
  mn_free(s->plane_fast);
  mn_free(s->plane_bad);
  mn_free(s->plane_pd);
  mn_free(s->plane_sum);
  mn_free(s->col_fs);
  mn_free(s->col_c);
  mn_free(s->col_w);
  mn_free(s);
}

static void set_baseline(mn_solver *s) {
  const mn_grid *g = s->g;
  for (int q = 0; q < MN_NSPECIES; q++) {
    double base = mn_species_baseline(q);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          s->u[q][c] = s->lc[g->cell[c]].present & (1u << q) ? (float)base : 0.0f;
        }
  }
}

int mn_solver_create(const mn_solver_params *sp, const mn_grid *g, const mn_model_params *mp,
                     int fitz, double age_y, mn_solver **out, mn_error *err) {
  int rc = MN_OK;
  size_t nt;
  const mn_config_desc *tab = mn_solver_param_table(&nt);
  mn_solver *s = NULL;
  *out = NULL;
  MN_TRY(mn_config_check(tab, nt, sp, "solver", err));
  MN_CHECK(sp->min_step_day <= sp->max_step_day, err, MN_EINPUT, "solver.min_step_day",
           "solver.min_step_day = %g exceeds solver.max_step_day = %g", sp->min_step_day,
           sp->max_step_day);
  MN_TRY(mn_model_check(mp, err));
  s = mn_calloc(1, sizeof *s);
  MN_CHECK(s, err, MN_ENOMEM, "", "out of memory for the solver");
  s->sp = *sp;
  s->g = g;
  s->m = *mp;
  s->fitz = fitz;
  s->age_y = age_y;
  s->nthreads = sp->threads > 0 ? mn_threads(sp->threads) : default_threads(g);
  for (int c = 0; c < 256; c++)
    mn_reaction_coef_init(&s->lc[c], mp, c < MN_LAYER_HYPO ? c : -1, fitz, age_y);
  for (int q = 0; q < MN_NSPECIES; q++)
    for (int l = 0; l < MN_LAYER_HYPO; l++) s->D[q][l] = mn_model_diffusivity(mp, q, l);
  for (int q = 0; q < MN_NSPECIES; q++) {
    s->u[q] = mn_grid_field_f32(g);
    MN_CHECK(s->u[q], err, MN_ENOMEM, "", "out of memory for %zu cells x %d species", g->ncell,
             MN_NSPECIES);
  }
  s->work = mn_malloc_aligned(mn_diffusion_work(g) * ((size_t)s->nthreads + 1), sizeof(double));
  s->plane_change = mn_malloc_array((size_t)g->nz, sizeof(double));
  s->plane_fast = mn_malloc_array((size_t)g->nz * NFAST, sizeof(double));
  s->plane_bad = mn_malloc_array((size_t)g->nz, sizeof(size_t));
  s->plane_pd = mn_calloc((size_t)g->nz, 1);
  s->plane_sum = mn_malloc_array((size_t)g->nz * MN_LAYER_HYPO * (MN_NSPECIES + 1), sizeof(double));
  s->col_fs = mn_calloc((size_t)g->nx * (size_t)g->ny, sizeof(double));
  s->col_c = mn_calloc((size_t)g->nx * (size_t)g->ny, sizeof(double));
  s->col_w = mn_calloc((size_t)g->nx * (size_t)g->ny, sizeof(double));
  MN_CHECK(s->work && s->plane_change && s->plane_fast && s->plane_bad && s->plane_pd &&
               s->plane_sum && s->col_fs && s->col_c && s->col_w,
           err, MN_ENOMEM, "", "out of memory for the solver's workspace");
  for (int f = 0; f < NFAST; f++) s->fast_bits |= 1u << fast[f];
  for (int k = 0; k < g->nz; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++)
        s->plane_pd[k] |= g->cell[mn_grid_at(g, i, j, k)] == MN_LAYER_PD;
  set_baseline(s);
  s->dt = sp->first_step_day;
  *out = s;
  return MN_OK;
cleanup:
  mn_solver_destroy(s);
  return rc;
}

float *mn_solver_field(mn_solver *s, int sp) {
  s->sums_valid = 0; /* the caller may change it */
  return s->u[sp];
}
const float *mn_solver_field_c(const mn_solver *s, int sp) {
  return s->u[sp];
}
double mn_solver_time(const mn_solver *s) {
  return s->t;
}
double mn_solver_dt(const mn_solver *s) {
  return s->dt;
}
long mn_solver_steps(const mn_solver *s) {
  return s->steps;
}
void mn_solver_set_uv(mn_solver *s, double u_uv) {
  s->u_uv = u_uv;
}

void mn_solver_get_scalars(const mn_solver *s, mn_solver_scalars *o) {
  *o = (mn_solver_scalars){s->t, s->dt, s->u_uv, s->frozen, s->steps};
}
void mn_solver_set_scalars(mn_solver *s, const mn_solver_scalars *in) {
  s->t = in->t_day, s->dt = in->dt_day, s->u_uv = in->u_uv, s->frozen = in->frozen;
  s->sums_valid = 0;
  s->steps = in->steps;
}

void mn_solver_apply_injury(mn_solver *s, const mn_injury *inj) {
  const mn_grid *g = s->g;
  double tau = s->m.tau_plt;
#pragma omp parallel for num_threads(s->nthreads) schedule(static)
  for (int k = inj->k0; k < inj->k1; k++)
    for (int j = 0; j < g->ny; j++)
      for (int i = 0; i < g->nx; i++) {
        size_t c = mn_grid_at(g, i, j, k);
        unsigned has = s->lc[g->cell[c]].present;
        double f = mn_injury_at(inj->d_inj, inj, c), lum = mn_injury_at(inj->d_lum, inj, c);
        double b = mn_injury_at(inj->d_bleed, inj, c);
        if (f <= 0 && !(b > 0)) continue;
        float *d = s->u[MN_SP_D] + c, *c1 = s->u[MN_SP_C1] + c, *e = s->u[MN_SP_E] + c;
        float *c3 = s->u[MN_SP_C3] + c, *t = s->u[MN_SP_T] + c;
        if (has & (1u << MN_SP_D)) *d = (float)(1 - (1 - (double)*d) * (1 - lum));
        if (has & (1u << MN_SP_C1)) *c1 = (float)(*c1 * (1 - lum));
        if (has & (1u << MN_SP_E)) *e = (float)(*e * (1 - lum));
        if (has & (1u << MN_SP_C3)) *c3 = (float)(*c3 * (1 - f)); /* immature matrix tears */
        if (has & (1u << MN_SP_T)) *t = (float)(*t + tau * b);
      }
  s->dt = s->sp.first_step_day;
  s->frozen = 0;
  s->sums_valid = 0;
}

/* The papillary dermis under each column: the dz-weighted means of F + S and of C1 + C3 over
 * its papillary cells (what the keratinocytes above it respond to), for the next reaction
 * half-step. Columns without papillary cells (a lesion's void) get no drive. */
static void columns(mn_solver *s) {
  const mn_grid *g = s->g;
  const size_t nx = (size_t)g->nx;
#pragma omp parallel for num_threads(s->nthreads) schedule(static)
  for (int j = 0; j < g->ny; j++) {
    /* plane after plane along the row (contiguous reads); each column sums its planes in their
       order, as a loop over the column would */
    double *fs = s->col_fs + (size_t)j * nx, *cc = s->col_c + (size_t)j * nx;
    double *w = s->col_w + (size_t)j * nx;
    for (size_t i = 0; i < nx; i++) w[i] = fs[i] = cc[i] = 0;
    for (int k = 0; k < g->nz; k++) {
      if (!s->plane_pd[k]) continue; /* nothing to add: the same sums */
      const size_t row = mn_grid_at(g, 0, j, k);
      const uint8_t *cell = g->cell + row;
      const float *F = s->u[MN_SP_F] + row, *S = s->u[MN_SP_S] + row;
      const float *C1 = s->u[MN_SP_C1] + row, *C3 = s->u[MN_SP_C3] + row;
      const double dz = g->dz_um[k];
      for (size_t i = 0; i < nx; i++) {
        if (cell[i] != MN_LAYER_PD) continue;
        w[i] += dz;
        fs[i] += dz * ((double)F[i] + S[i]);
        cc[i] += dz * ((double)C1[i] + C3[i]);
      }
    }
    for (size_t i = 0; i < nx; i++) {
      fs[i] = w[i] > 0 ? fs[i] / w[i] : 0;
      cc[i] = w[i] > 0 ? cc[i] / w[i] : 1;
    }
  }
}

/* The reactions are compiled for the x86-64-v4 (AVX-512) and v3 (AVX2) levels and the baseline
 * (MN_CLONES: the same numbers in every clone). */
#define REACT_CLONES MN_CLONES("arch=x86-64-v4", "arch=x86-64-v3", "default")

/* One run of n voxels of one layer from cell c on: gathered into lanes, stepped, checked and
 * written back. Inlined twice, with n = MN_REACTION_LANES known to the compiler and with a
 * shorter run's n. Once the fast species are frozen they are exactly 0 everywhere and stay so
 * under the reactions (every production term of d, P, N, M, T and V vanishes with them), so
 * their fields are neither read nor written: the same numbers with 6 of 13 fields untouched. */
static inline MN_INLINE_ALWAYS void react_run(mn_solver *s, const mn_reaction_coef *lc, size_t c,
                                              int n, const double *fs, const double *cc, double uv,
                                              double dt, double *change, double *fastmax,
                                              size_t *bad, double *sum) {
  /* change[W] and fastmax[NFAST][W]: the lanes' running maxima */
  enum { W = MN_REACTION_LANES };
  /* skipped: the frozen fast species and the species absent from the layer (0 in the field,
     and 0 after the step: their terms are 0) */
  const unsigned skip = (s->frozen ? s->fast_bits : 0u) | ~(unsigned)lc->present;
  double u[MN_NSPECIES * W], low[MN_NSPECIES * W];
  for (int q = 0; q < MN_NSPECIES; q++) {
    const float *from = s->u[q] + c;
    if (skip & (1u << q))
      for (int v = 0; v < n; v++) u[q * W + v] = 0.0;
    else
      for (int v = 0; v < n; v++) u[q * W + v] = from[v];
  }
  mn_reaction_step_lanes(&s->m, lc, n, W, u, uv, fs, cc, dt, low);
  if (*bad == SIZE_MAX) { /* one vector test of every value; the search only after a failure */
    int any = 0;
    for (int q = 0; q < MN_NSPECIES; q++) MN_LANES_FOR(v, n) any |= !(u[q * W + v] >= 0);
    for (int v = 0; any && v < n && *bad == SIZE_MAX; v++)
      for (int q = 0; q < MN_NSPECIES; q++)
        if (!(u[q * W + v] >= 0)) { /* NaN fails it too */
          *bad = c + (size_t)v;
          break;
        }
  }
  for (int q = 0; q < MN_NSPECIES; q++) { /* stored rounded; what follows reads what is stored */
    float *to = s->u[q] + c;
    if (skip & (1u << q)) continue;
    MN_LANES_FOR(v, n) u[q * W + v] = (float)u[q * W + v]; /* rounded in place, then copied */
    for (int v = 0; v < n; v++) to[v] = (float)u[q * W + v];
  }
  if (sum) /* the layer's sums (mn_solver_layer_means): a skipped species' field holds 0, whose
              sum stays 0; each voxel in the order of the cells, as the separate pass adds them */
    for (int v = 0; v < n; v++) {
      sum[MN_NSPECIES] += 1;
      for (int q = 0; q < MN_NSPECIES; q++)
        if (!(skip & (1u << q))) sum[q] += u[q * W + v];
    }
  if (s->frozen) return; /* no change and no value above 0 */
  for (int f = 0; f < NFAST; f++) {
    const int q = fast[f];
    if (!(lc->present & (1u << q))) continue; /* 0 before and after */
    MN_LANES_FOR(v, n) { /* per-lane maxima; the plane takes the maximum over the lanes */
      const double x = u[q * W + v], e = fabs(x - low[q * W + v]);
      const double a = e / (s->sp.abs_tol + s->sp.rel_tol * fabs(x));
      change[v] = a > change[v] ? a : change[v];
      fastmax[f * W + v] = x > fastmax[f * W + v] ? x : fastmax[f * W + v];
    }
  }
}

/* Reactions of plane k over dt: the largest local error estimate of a fast species (MPRK22
 * against its embedded Patankar-Euler stage, over abs_tol + rel_tol |u|), the largest fast value,
 * and the first cell whose state turned NaN or negative; with @p sums, the plane's layer sums
 * (plane_sum) of the new state. Each row goes in runs of up to MN_REACTION_LANES voxels of one
 * layer, as vectors across the voxels (mn_reaction_step_lanes). */
static REACT_CLONES void react_plane(mn_solver *s, int k, double dt, int sums) {
  enum { W = MN_REACTION_LANES };
  const mn_grid *g = s->g;
  const double uv = mn_uv_factor(&s->m, s->u_uv);
  double lane_change[W] = {0}, lane_fast[NFAST * W] = {0};
  size_t bad = SIZE_MAX;
  double *ps = sums ? s->plane_sum + (size_t)k * MN_LAYER_HYPO * (MN_NSPECIES + 1) : NULL;
  if (ps) memset(ps, 0, MN_LAYER_HYPO * (MN_NSPECIES + 1) * sizeof *ps);
  for (int j = 0; j < g->ny; j++) {
    const size_t row = mn_grid_at(g, 0, j, k);
    const uint8_t *cell = g->cell + row;
    /* the papillary column means: read by the keratinocytes of the viable epidermis only */
    const double *fs = s->col_fs + (size_t)j * (size_t)g->nx;
    const double *cc = s->col_c + (size_t)j * (size_t)g->nx;
    for (int i = 0, n; i < g->nx; i += n) {
      for (n = 1; n < W && i + n < g->nx && cell[i + n] == cell[i];) n++;
      const mn_reaction_coef *lc = &s->lc[cell[i]];
      if (!lc->present) continue;
      double *sum = ps ? ps + cell[i] * (MN_NSPECIES + 1) : NULL;
      if (n == W)
        react_run(s, lc, row + (size_t)i, W, fs + i, cc + i, uv, dt, lane_change, lane_fast, &bad,
                  sum);
      else
        react_run(s, lc, row + (size_t)i, n, fs + i, cc + i, uv, dt, lane_change, lane_fast, &bad,
                  sum);
    }
  }
  double change = 0, fastmax[NFAST] = {0}; /* maxima: the same whatever the order */
  for (int v = 0; v < W; v++) {
    change = lane_change[v] > change ? lane_change[v] : change;
    for (int f = 0; f < NFAST; f++)
      fastmax[f] = lane_fast[f * W + v] > fastmax[f] ? lane_fast[f * W + v] : fastmax[f];
  }
  s->plane_change[k] = change;
  memcpy(s->plane_fast + (size_t)k * NFAST, fastmax, sizeof fastmax);
  s->plane_bad[k] = bad;
}

/* One reaction half-step over the grid (with @p sums: the layer sums too); returns the largest
 * scaled error estimate. */
static double react(mn_solver *s, double dt, int sums, double *fastmax, size_t *bad) {
  const mn_grid *g = s->g;
  columns(s);
#pragma omp parallel for num_threads(s->nthreads) schedule(dynamic, 1)
  for (int k = 0; k < g->nz; k++) react_plane(s, k, dt, sums);
  double change = 0, peak[NFAST] = {0};
  *fastmax = 0;
  *bad = SIZE_MAX;
  for (int k = 0; k < g->nz; k++) {
    change = fmax(change, s->plane_change[k]);
    for (int f = 0; f < NFAST; f++) peak[f] = fmax(peak[f], s->plane_fast[(size_t)k * NFAST + f]);
    if (s->plane_bad[k] < *bad) *bad = s->plane_bad[k];
  }
  for (int f = 0; f < NFAST; f++) *fastmax = fmax(*fastmax, peak[f]);
  return change;
}

static int bad_state(const mn_solver *s, size_t c, mn_error *err) {
  const mn_grid *g = s->g;
  size_t off = c - g->origin;
  int k = (int)(off / g->sz), j = (int)(off % g->sz / g->sy), i = (int)(off % g->sy);
  int q = 0;
  for (; q < MN_NSPECIES - 1; q++)
    if (!(s->u[q][c] >= 0)) break;
  return MN_ERR(err, MN_ENUMERIC, "",
                "species %s = %g at voxel (%d, %d, %d) (x %.3f mm, y %.3f mm, depth %.1f um, "
                "layer %s) at day %.6f: the state is no longer valid; the last checkpoint is "
                "the last good state",
                mn_species_name(q), s->u[q][c], i, j, k, mn_grid_xc_mm(g, i), mn_grid_yc_mm(g, j),
                g->zc_um[k], g->cell[c] < MN_LAYER_HYPO ? mn_layer_name(g->cell[c]) : "void", s->t);
}

static void freeze_fast(mn_solver *s) {
  const mn_grid *g = s->g;
  for (int f = 0; f < NFAST; f++) {
    float *u = s->u[fast[f]];
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++) memset(u + mn_grid_at(g, 0, j, k), 0, g->nx * sizeof *u);
  }
  s->frozen = 1;
}

/* Standard controller for a local error of order 2: dt_new = dt 0.9 / sqrt(err), limited to a
 * factor in [0.25, 1.5]. */
static void adapt(mn_solver *s, double dt_used, double err) {
  if (s->sp.fixed_step) return;
  double f = 0.9 / sqrt(fmax(err, 1e-12));
  f = fmin(fmax(f, 0.25), 1.5);
  double next = dt_used * f;
  if (dt_used < s->dt && f >= 1) next = s->dt; /* a step shortened to hit an output time */
  s->dt = fmin(fmax(next, s->sp.min_step_day), s->sp.max_step_day);
}

int mn_solver_step(mn_solver *s, double t_stop, mn_step_info *info, mn_error *err) {
  double left = t_stop - s->t, dt = s->sp.fixed_step ? s->sp.first_step_day : s->dt;
  if (left <= 0)
    return MN_ERR(err, MN_EINTERNAL, "", "step requested at day %g, stop %g", s->t, t_stop);
  if (dt > left || left - dt < 1e-3 * dt) dt = left;
  /* a step that ends where the caller stops (a sample, a session, the end) adds the layer sums
     in its last reaction pass, while each plane is in cache: mn_solver_layer_means then needs no
     pass of its own */
  const int sums = dt == left;
  s->sums_valid = 0;
  double fmax1, fmax2;
  size_t bad1, bad2;
  double ch = react(s, 0.5 * dt, 0, &fmax1, &bad1);
  if (bad1 != SIZE_MAX) return bad_state(s, bad1, err); /* before diffusion can spread it */
  float *fields[MN_NSPECIES];
  double Ds[MN_NSPECIES][MN_LAYER_HYPO];
  int nf = 0;
  for (int q = 0; q < MN_NSPECIES; q++) {
    int moving = 0;
    for (int l = 0; l < MN_LAYER_HYPO; l++) moving |= s->D[q][l] > 0;
    if (!moving || (s->frozen && q != MN_SP_F)) continue;
    fields[nf] = s->u[q];
    memcpy(Ds[nf++], s->D[q], sizeof Ds[0]);
  }
  mn_diffusion_lod_steps_f32(s->g, fields, (const double(*)[MN_LAYER_HYPO])Ds, nf, 0.0, dt, 1,
                             s->work, s->nthreads);
  ch = fmax(ch, react(s, 0.5 * dt, sums, &fmax2, &bad2));
  if (bad2 != SIZE_MAX) return bad_state(s, bad2, err);
  s->sums_valid = sums;
  s->t += dt;
  s->steps++;
  adapt(s, dt, ch);
  if (!s->frozen && fmax2 < s->sp.freeze_tol) freeze_fast(s), s->sums_valid = 0;
  if (info) *info = (mn_step_info){s->t, dt, ch, s->frozen, 0, s->sums_valid};
  return MN_OK;
}

void mn_solver_layer_means(const mn_solver *s, double out[MN_LAYER_HYPO][MN_NSPECIES]) {
  const mn_grid *g = s->g;
  enum { W = MN_NSPECIES + 1 };
  if (!s->sums_valid) { /* else the last step's reactions added them */
#pragma omp parallel for num_threads(s->nthreads) schedule(static)
    for (int k = 0; k < g->nz; k++) {
      double *ps = s->plane_sum + (size_t)k * MN_LAYER_HYPO * W;
      memset(ps, 0, MN_LAYER_HYPO * W * sizeof *ps);
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++) {
          size_t c = mn_grid_at(g, i, j, k);
          int l = g->cell[c];
          if (l >= MN_LAYER_HYPO) continue;
          double *acc = ps + l * W;
          acc[MN_NSPECIES] += 1;
          for (int q = 0; q < MN_NSPECIES; q++) acc[q] += s->u[q][c];
        }
    }
  }
  double tot[MN_LAYER_HYPO][W];
  memset(tot, 0, sizeof tot);
  for (int k = 0; k < g->nz; k++) /* fixed order over planes: thread-count independent */
    for (int l = 0; l < MN_LAYER_HYPO; l++)
      for (int q = 0; q < W; q++)
        tot[l][q] += s->plane_sum[((size_t)k * MN_LAYER_HYPO + l) * W + q] * g->dz_um[k];
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    for (int q = 0; q < MN_NSPECIES; q++)
      out[l][q] = tot[l][MN_NSPECIES] > 0 && mn_species_in_layer(q, l)
                      ? tot[l][q] / tot[l][MN_NSPECIES]
                      : 0.0;
}

double mn_solver_redness(const mn_solver *s) {
  double m[MN_LAYER_HYPO][MN_NSPECIES];
  mn_solver_layer_means(s, m);
  return m[MN_LAYER_PD][MN_SP_V];
}
