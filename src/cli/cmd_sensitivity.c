/* `mnsim sensitivity`: Sobol first-order and total indices (Saltelli sampling, src/infer/sobol.c)
 * of the planner's outcomes for one protocol run by the lumped twin, over every parameter that
 * varies in the calibrated set; a table, and with -o sobol.csv and the bar figure sobol.svg. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"

/* The outputs: the planner's outcomes (quantity, argument: the defect depth). */
enum { NOUT = MN_SOBOL_NOUT }; /* the outputs: mn_sobol_output_id, mn_sobol_output_label */

typedef struct sens_args {
  cli_opts common;
  const char *region, *device;
  int fitzpatrick, sessions, base, boot, threads, top, progress;
  double depth, density, interval, days, defect;
  uint64_t seed;
  int have_seed;
} sens_args;

#define SO(f) offsetof(sens_args, f)
static const cli_option sens_options[] = {
    CLI_OUTPUT(sens_args, "write sobol.csv and the figure sobol.svg into DIR"),
    {"region", 0, CLI_STRING, "NAME", 0, 0, SO(region), 0, NULL, "face region (default cheek)"},
    {"fitzpatrick", 0, CLI_INT, "N", 1, 6, SO(fitzpatrick), 0, NULL, "skin type (default 3)"},
    {"device", 0, CLI_STRING, "NAME", 0, 0, SO(device), 0, NULL, "device (default pen-12)"},
    {"depth", 0, CLI_DOUBLE, "MM", 0.05, 5, SO(depth), 0, NULL, "needle depth (default 1.0)"},
    {"density", 0, CLI_DOUBLE, "N", 1, 1e5, SO(density), 0, NULL,
     "punctures per cm2 per session (default 600)"},
    {"sessions", 0, CLI_INT, "N", 1, 12, SO(sessions), 0, NULL, "sessions (default 3)"},
    {"interval", 0, CLI_DOUBLE, "DAYS", 1, 365, SO(interval), 0, NULL,
     "days between sessions (default 42)"},
    {"days", 0, CLI_DOUBLE, "D", 14, 730, SO(days), 0, NULL,
     "the outcomes are read this many days after the last session (default 180)"},
    {"defect", 0, CLI_DOUBLE, "UM", 10, 2000, SO(defect), 0, NULL,
     "depth of the scar for fill and grade (default 300)"},
    {"base", 'N', CLI_INT, "N", 8, 100000, SO(base), 0, NULL,
     "base rows of the Saltelli design: N (k + 2) runs (default 256)"},
    {"boot", 0, CLI_INT, "N", 0, 10000, SO(boot), 0, NULL,
     "bootstrap resamples for the 95 % intervals (default 200)"},
    {"seed", 0, CLI_U64, "N", 0, 0, SO(seed), SO(have_seed), NULL, "seed (default 1)"},
    {"top", 0, CLI_INT, "N", 1, 64, SO(top), 0, NULL,
     "parameters in the table and the figure (default 15)"},
    {"threads", 0, CLI_INT, "N", 1, 256, SO(threads), 0, NULL,
     "parallel runs (default: all cores)"},
    CLI_PROGRESS(sens_args),
    CLI_QUIET(sens_args),
};

/* The protocol as evaluation rows of one course (one row per output). */
typedef struct sens_ctx {
  mn_target_eval rows[NOUT];
  int idx[NOUT];
  const mn_skin_atlas *atlas;
  const mn_device_catalogue *cat;
  int threads;
  mn_progress bar;
  volatile int done;
} sens_ctx;

static void eval_sets(int n, const mn_model_params *sets, double *y, void *user) {
  sens_ctx *c = user;
  int nt = mn_threads(c->threads);
  (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 4) num_threads(nt)
#endif
  for (int i = 0; i < n; i++) {
    if (mn_stop_requested()) continue; /* the caller reports the stop */
    mn_target_eval_rows(c->rows, c->idx, NOUT, &sets[i], c->atlas, c->cat, y + (size_t)i * NOUT);
#ifdef _OPENMP
#pragma omp atomic
#endif
    c->done++;
#ifdef _OPENMP
    if (omp_get_thread_num() == 0)
#endif
      mn_progress_update(&c->bar, (double)c->done / n);
  }
}

/* Build the rows, and check the region and the device with their own messages. */
static int make_rows(const sens_args *a, sens_ctx *c, mn_error *err) {
  for (int o = 0; o < NOUT; o++) {
    mn_target_eval *r = &c->rows[o];
    memset(r, 0, sizeof *r);
    r->kind = MN_EVAL_MODEL;
    snprintf(r->skin.region, sizeof r->skin.region, "%s", a->region);
    r->skin.age_y = 40, r->skin.sex = MN_SEX_FEMALE, r->skin.fitzpatrick = a->fitzpatrick;
    snprintf(r->dev.model, sizeof r->dev.model, "%s", a->device);
    r->dev.depth_mm = a->depth;
    r->density_cm2 = a->density, r->sessions = a->sessions, r->interval_day = a->interval;
    r->days = (a->sessions - 1) * a->interval + a->days;
    snprintf(r->quantity, sizeof r->quantity, "%s", mn_sobol_output_id[o]);
    r->arg = a->defect;
    c->idx[o] = o;
  }
  mn_skin sk;
  mn_device dev;
  memset(&dev, 0, sizeof dev);
  int rc = mn_skin_build(c->atlas, &c->rows[0].skin, &sk, err);
  if (!rc) rc = mn_device_init(&dev, c->cat, &c->rows[0].dev, err);
  mn_device_fini(&dev);
  return rc;
}

static void print_table(const sens_args *a, const mn_sobol *s) {
  printf(
      "mnsim sensitivity: Sobol indices, %s Fitzpatrick %d, %s %.2f mm, %g/cm2, %d session%s "
      "%g days apart, read %g days after the last; defect %g um\n",
      a->region, a->fitzpatrick, a->device, a->depth, a->density, a->sessions,
      a->sessions > 1 ? "s" : "", a->interval, a->days, a->defect);
  printf(
      "  %d parameters varied over their ranges (as the bands draw them); N = %d base rows, "
      "%d runs; 95 %% bootstrap intervals over %d resamples\n",
      s->k, s->N, s->N * (s->k + 2), s->boot);
  printf("  total index ST (first order S1), the %d parameters with the largest ST:\n", a->top);
  printf("  %-10s", "parameter");
  for (int o = 0; o < NOUT; o++) printf(" %14.14s", mn_sobol_output_label[o]);
  printf("\n");
  int *order = mn_malloc_array((size_t)s->k, sizeof *order);
  if (order) mn_sobol_rank(s, order);
  for (int i = 0; order && i < a->top && i < s->k; i++) {
    int best = order[i];
    printf("  %-10s", s->names[best]);
    for (int o = 0; o < NOUT; o++) {
      size_t at = (size_t)o * s->k + best;
      printf("   %5.2f (%5.2f)", s->ST[at], s->S1[at]);
    }
    printf("\n");
  }
  mn_free(order);
  printf("  %-10s", "output SD");
  for (int o = 0; o < NOUT; o++) printf(" %14.3g", sqrt(s->var[o]));
  printf("\n");
}

/* sobol.csv and sobol.svg into DIR, all or nothing. */
static int write_outputs(const char *dir, const mn_sobol *s, mn_error *err) {
  char *csv = NULL, *svg = NULL;
  size_t clen = 0, slen = 0;
  FILE *mem = open_memstream(&csv, &clen);
  if (!mem) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  fprintf(mem, "parameter,output,S1,S1_lo,S1_hi,ST,ST_lo,ST_hi,rows\n");
  for (int o = 0; o < NOUT; o++)
    for (int k = 0; k < s->k; k++) {
      size_t at = (size_t)o * s->k + k;
      fprintf(mem, "%s,%s,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%d\n", s->names[k], mn_sobol_output_id[o],
              s->S1[at], s->S1_ci[2 * at], s->S1_ci[2 * at + 1], s->ST[at], s->ST_ci[2 * at],
              s->ST_ci[2 * at + 1], s->used[at]);
    }
  fclose(mem);
  int rc = mn_report_sobol_svg(s, mn_sobol_output_label, 15, &svg, &slen, err);
  if (!rc) {
    cli_blob b[2] = {{csv, clen}, {svg, slen}};
    mn_out_item items[2] = {{"", cli_write_blob, &b[0]}, {"", cli_write_blob, &b[1]}};
    snprintf(items[0].path, sizeof items[0].path, "%s/sobol.csv", dir);
    snprintf(items[1].path, sizeof items[1].path, "%s/sobol.svg", dir);
    rc = mn_mkdir_p(dir, err);
    if (!rc) rc = mn_io_write_set(items, 2, err);
  }
  free(csv); /* open_memstream's buffer */
  mn_free(svg);
  return rc;
}

static void help(void) {
  printf(
      "usage: mnsim sensitivity [--region R] [--fitzpatrick N] [--device D] [--depth MM]\n"
      "                         [--density N] [--sessions N] [--interval DAYS] [--days D]\n"
      "                         [--defect UM] [-N N] [--boot N] [--seed N] [--top N]\n"
      "                         [--threads N] [--progress] [-o DIR] [-q]\n\n"
      "Global sensitivity of the planner's outcomes (redness days, barrier hours, papillary\n"
      "collagen, scar fill, Goodman-Baron grade change, PIH risk) for one protocol run by the\n"
      "lumped twin: Sobol first-order and total indices by Saltelli sampling (N (k + 2) runs)\n"
      "over every parameter that varies in the calibrated set, drawn as the uncertainty bands\n"
      "draw them, with 95 %% bootstrap intervals. With -o: sobol.csv (every parameter and\n"
      "output) and sobol.svg (bar figure). docs/calibration.md reads the result.\n\n");
  cli_print_options(sens_options, sizeof sens_options / sizeof sens_options[0]);
}

int cmd_sensitivity(int argc, char **argv) {
  sens_args a = {.region = "cheek",
                 .device = "pen-12",
                 .fitzpatrick = 3,
                 .sessions = 3,
                 .base = 256,
                 .boot = 200,
                 .top = 15,
                 .depth = 1.0,
                 .density = 600,
                 .interval = 42,
                 .days = 180,
                 .defect = 300,
                 .seed = 1};
  int first = 0,
      status = cli_parse("sensitivity", sens_options, sizeof sens_options / sizeof sens_options[0],
                         help, argc, argv, &a, &a.common, &first);
  if (status >= 0) return status;
  if (first != argc) return cli_usage_error("sensitivity", "no arguments expected");
  mn_error err = {0};
  mn_param_set ps;
  mn_skin_atlas *atlas = NULL;
  mn_device_catalogue *cat = NULL;
  mn_sobol s;
  memset(&s, 0, sizeof s);
  sens_ctx c;
  memset(&c, 0, sizeof c);
  c.threads = a.threads;
  int rc = mn_param_set_load_default(&ps, &err);
  if (!rc) rc = mn_skin_atlas_create(&atlas, &err);
  if (!rc) rc = mn_device_catalogue_create(&cat, &err);
  c.atlas = atlas, c.cat = cat;
  if (!rc) rc = make_rows(&a, &c, &err);
  if (!rc) {
    mn_progress_init(&c.bar, stderr, "sensitivity", cli_progress_mode(&a.common, a.progress));
    rc = mn_sobol_run(&ps, a.base, a.seed, NOUT, a.boot, eval_sets, &c, &s, &err);
    if (rc == MN_OK)
      mn_progress_finish(&c.bar);
    else
      mn_progress_stop(&c.bar);
  }
  if (!rc && !a.common.quiet) print_table(&a, &s);
  if (!rc && a.common.outdir && mn_dist_rank() == 0) /* under mpirun rank 0 writes */
    rc = write_outputs(a.common.outdir, &s, &err);
  if (!rc && a.common.outdir && !a.common.quiet)
    printf("  written to %s/sobol.csv and %s/sobol.svg\n", a.common.outdir, a.common.outdir);
  mn_sobol_fini(&s);
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  return rc ? cli_fail(&a.common, &err) : EXIT_OK;
}
