/* Parameter ensembles behind every uncertainty band (MODEL.md section 6): Latin-hypercube draws
 * over the tabulated parameter ranges with draws of loop gain G >= 1 dropped (the prior
 * ensemble), and the posterior ensemble of data/posterior.csv (src/infer/calibrate.c).
 * Stage: infer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mnsim/infer.h"

extern const char mn__data_posterior_csv[];
extern const size_t mn__data_posterior_csv_len;

mn_uq_dist mn_uq_distribution(const mn_param_info *p) {
  if (!(p->max > p->min)) return MN_UQ_FIXED;
  if (p->min > 0 && p->max >= 3 * p->min) return MN_UQ_LOG_UNIFORM;
  return MN_UQ_UNIFORM;
}

double mn_uq_value(const mn_param_info *in, double x) {
  /* split distribution: the table's value is the median, half of the draws fall on each side,
   * uniformly (or log-uniformly) between the value and that side's range end */
  double v = in->value, a = x < 0.5 ? in->min : in->max;
  double w = x < 0.5 ? 1 - 2 * x : 2 * x - 1; /* 0 at the value, 1 at the range end */
  switch (mn_uq_distribution(in)) {
    case MN_UQ_UNIFORM:
      v = in->value + w * (a - in->value);
      break;
    case MN_UQ_LOG_UNIFORM:
      v = in->value > 0 ? in->value * exp(w * log(a / in->value)) : in->value + w * a;
      break;
    case MN_UQ_FIXED:
      break;
  }
  return v;
}

int mn_uq_sample(const mn_param_set *ps, int n, uint64_t seed, mn_model_params *out, int *kept,
                 int *dropped, mn_error *err) {
  int rc = MN_OK, *perm = NULL;
  double *u = NULL;
  *kept = *dropped = 0;
  if (n < 1) return MN_ERR(err, MN_ERANGE, "", "uncertainty: %d draws; at least 1 is needed", n);
  perm = mn_malloc_array((size_t)n, sizeof *perm);
  u = mn_malloc_array((size_t)n * (size_t)ps->n, sizeof *u);
  MN_CHECK(perm && u, err, MN_ENOMEM, "", "out of memory for %d draws", n);
  mn_rng r;
  mn_rng_init(&r, seed, 0x6c6873ULL); /* "lhs" */
  for (int j = 0; j < ps->n; j++) {   /* one random permutation of the n strata per dimension */
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int k = (int)(mn_rng_u64(&r) % (uint64_t)(i + 1)), t = perm[i];
      perm[i] = perm[k], perm[k] = t;
    }
    for (int i = 0; i < n; i++) u[(size_t)i * ps->n + j] = (perm[i] + mn_rng_uniform(&r)) / n;
  }
  for (int i = 0; i < n; i++) {
    mn_model_params p = ps->p;
    for (int j = 0; j < ps->n; j++) {
      const mn_param_info *in = &ps->info[j];
      double v = in->overridden ? in->value : mn_uq_value(in, u[(size_t)i * ps->n + j]);
      double *slot = mn_model_param_ref(&p, in->name);
      if (slot) *slot = v;
    }
    if (p.F_max <= 1 || !(mn_model_loop_gain(&p) < 1)) {
      (*dropped)++;
      continue;
    }
    out[(*kept)++] = p;
  }
cleanup:
  mn_free(perm);
  mn_free(u);
  return rc;
}

/* ---- the posterior ensemble ---------------------------------------------------------------- */

void mn_posterior_fini(mn_posterior *po) {
  mn_free(po->names);
  mn_free(po->v);
  memset(po, 0, sizeof *po);
}

int mn_posterior_parse(const char *csv, size_t len, const char *name, mn_posterior *po,
                       mn_error *err) {
  int rc = MN_OK;
  mn_csv c;
  memset(po, 0, sizeof *po);
  MN_TRY(mn_csv_parse(csv, len, name, &c, err));
  /* the header comments carry the fingerprint and the sampling statistics */
  /* the text need not end in a NUL: look for the line within len and copy it out */
  static const char key[] = "# fingerprint ";
  char line[160] = "";
  for (size_t i = 0; i + sizeof key - 1 <= len; i++)
    if ((i == 0 || csv[i - 1] == '\n') && !memcmp(csv + i, key, sizeof key - 1)) {
      size_t n = 0;
      while (i + n < len && csv[i + n] != '\n' && n + 1 < sizeof line) n++;
      memcpy(line, csv + i, n);
      line[n] = 0;
      break;
    }
  if (sscanf(line, "# fingerprint %16s tried %d kept %d ess %lf", po->fingerprint, &po->tried,
             &po->kept, &po->ess) != 4) {
    rc = MN_ERR(err, MN_EINPUT, "", "%s: no '# fingerprint HEX tried N kept N ess X' line", name);
    goto done;
  }
  static const char wkey[] = "(in a spread order), all ";
  for (size_t i = 0; i + sizeof wkey - 1 <= len && i < 4096; i++) /* the header's comments */
    if (!memcmp(csv + i, wkey, sizeof wkey - 1)) {
      int w = 0;
      for (size_t k = i + sizeof wkey - 1; k < len && csv[k] >= '0' && csv[k] <= '9' && w < 100000;
           k++)
        w = 10 * w + (csv[k] - '0');
      po->walkers = w;
      break;
    }
  mn_model_params probe;
  po->ncols = c.ncols;
  po->n = c.nrows;
  po->names = mn_malloc_array((size_t)(c.ncols > 0 ? c.ncols : 1), sizeof *po->names);
  po->v = mn_malloc_array((size_t)(c.nrows > 0 ? c.nrows : 1) * (size_t)(c.ncols > 0 ? c.ncols : 1),
                          sizeof *po->v);
  if (!po->names || !po->v) {
    rc = MN_ERR(err, MN_ENOMEM, "", "out of memory reading %s", name);
    goto done;
  }
  for (int j = 0; j < c.ncols && rc == MN_OK; j++) {
    if (!mn_model_param_ref(&probe, c.header[j]) || strlen(c.header[j]) >= sizeof po->names[0])
      rc =
          MN_ERR(err, MN_EINPUT, "", "%s: column '%s' is not a model parameter", name, c.header[j]);
    else
      snprintf(po->names[j], sizeof po->names[j], "%s", c.header[j]);
  }
  for (int r = 0; r < c.nrows && rc == MN_OK; r++)
    for (int j = 0; j < c.ncols && rc == MN_OK; j++) {
      double *x = &po->v[(size_t)r * (size_t)c.ncols + (size_t)j];
      rc = mn_csv_double(&c, r, j, x, err);
      if (rc == MN_OK && !(*x >= 0))
        rc = MN_ERR(err, MN_EINPUT, "", "%s:%d: %s = %g must not be negative", name, c.lineno[r],
                    c.header[j], *x);
    }
  if (rc == MN_OK && po->n < 1) rc = MN_ERR(err, MN_EINPUT, "", "%s: no draws", name);
  if (po->walkers < 1 || po->n % po->walkers) po->walkers = 0; /* the rows' places unknown */
done:
  mn_csv_fini(&c);
cleanup:
  if (rc) mn_posterior_fini(po);
  return rc;
}

static int gcd(int a, int b) {
  while (b) {
    int t = a % b;
    a = b, b = t;
  }
  return a;
}

int mn_posterior_stride(int steps) {
  int stride = (int)(0.618 * steps) > 1 ? (int)(0.618 * steps) : 1;
  while (gcd(stride, steps) != 1) stride++;
  return stride;
}

int mn_posterior_row_step(const mn_posterior *po, int row) {
  if (po->walkers < 1 || row < 0 || row >= po->n) return -1;
  int steps = po->n / po->walkers;
  return (int)((long)(row / po->walkers) * mn_posterior_stride(steps) % steps);
}

int mn_posterior_load(mn_posterior *po, mn_error *err) {
  int rc = mn_posterior_parse(mn__data_posterior_csv, mn__data_posterior_csv_len,
                              "data/posterior.csv", po, err);
  if (rc) return rc;
  char fp[17];
  mn_param_fingerprint(NULL, 0, fp);
  if (strcmp(fp, po->fingerprint)) {
    char had[17];
    snprintf(had, sizeof had, "%s", po->fingerprint);
    mn_posterior_fini(po); /* zeroes the fingerprint: the message uses the copy */
    return MN_ERR(err, MN_EINPUT, "",
                  "data/posterior.csv was drawn from other parameters (fingerprint %s, the tables "
                  "now give %s): re-run `mnsim calibrate -o data/calibration.csv`",
                  had, fp);
  }
  return MN_OK;
}

void mn_ensemble_posterior(const mn_param_set *ps, const mn_posterior *po, int n,
                           mn_model_params *out, int *kept, int *dropped) {
  int use[128];
  double *slot[128];
  *kept = *dropped = 0;
  for (int j = 0; j < po->ncols && j < 128; j++) { /* columns that vary in ps, not overridden */
    use[j] = 0;
    for (int i = 0; i < ps->n; i++)
      if (!strcmp(ps->info[i].name, po->names[j]))
        use[j] = !ps->info[i].overridden && ps->info[i].max > ps->info[i].min;
  }
  for (int d = 0; d < n && d < po->n; d++) {
    mn_model_params p = ps->p;
    for (int j = 0; j < po->ncols && j < 128; j++) {
      slot[j] = mn_model_param_ref(&p, po->names[j]);
      if (use[j] && slot[j]) *slot[j] = po->v[(size_t)d * (size_t)po->ncols + (size_t)j];
    }
    if (!(mn_model_loop_gain(&p) < 1)) { /* an override made this draw unstable */
      (*dropped)++;
      continue;
    }
    out[(*kept)++] = p;
  }
}

int mn_ensemble(const mn_param_set *ps, int source, int n, uint64_t seed, mn_model_params *out,
                int *kept, int *dropped, mn_error *err) {
  if (source == MN_ENSEMBLE_PRIOR) return mn_uq_sample(ps, n, seed, out, kept, dropped, err);
  mn_posterior po;
  *kept = *dropped = 0;
  int rc = mn_posterior_load(&po, err);
  if (rc) return rc;
  mn_ensemble_posterior(ps, &po, n, out, kept, dropped);
  mn_posterior_fini(&po);
  return MN_OK;
}
