/* `mnsim device CASE.yaml`: the punctures a device and its hand passes make in the patient's
 * skin, with the figures a device engineer or clinician asks for; writes JSON, CSV and the
 * density map (SVG, PNG). */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct device_opts {
  cli_opts common;
  int no_figures, list, have_seed;
  uint64_t seed;
} device_opts;

#define DO(f) offsetof(device_opts, f)
static const cli_option options[] = {
    CLI_OUTPUT(device_opts, "result directory (default: ./<case name>-device)"),
    CLI_JSON(device_opts, "print the JSON summary on stdout instead of the text summary"),
    {"seed", 0, CLI_U64, "N", 0, 0, DO(seed), DO(have_seed), NULL, "override the case file's seed"},
    {"no-figures", 0, CLI_FLAG, NULL, 0, 0, DO(no_figures), 0, NULL,
     "skip the SVG/PNG density maps"},
    {"list", 0, CLI_FLAG, NULL, 0, 0, DO(list), 0, NULL, "list the device catalogue"},
    CLI_QUIET(device_opts),
};
#define NOPT (sizeof options / sizeof options[0])

static void help(void) {
  printf(
      "usage: mnsim device CASE.yaml [-o DIR] [--json] [--seed N] [--no-figures] [-q] [-v]\n"
      "       mnsim device --list [--json]\n\n"
      "Generate the punctures of the device and passes in CASE.yaml over its region and report:\n"
      "puncture count, density per cm2 per pass and in total, surface coverage, channel overlap,\n"
      "nearest-neighbour spacing, depth reached per skin layer and the fraction of channels at\n"
      "bleeding depth (the subpapillary plexus).\n\n");
  cli_print_options(options, NOPT);
  printf(
      "\nfiles written: device.json, device.csv (summary), punctures.csv, density.csv,\n"
      "density.svg, density.png. Every file is written to a temporary name and renamed.\n"
      "Keys of the case file: mnsim config --defaults.\n");
}

static int list_catalogue(const cli_opts *o) {
  mn_error err = {0};
  mn_device_catalogue *cat;
  if (mn_device_catalogue_create(&cat, &err)) return cli_fail(o, &err);
  size_t n = mn_device_catalogue_count(cat);
  if (!o->json)
    printf("%-18s %-7s %7s %-6s %-12s %-11s %s\n", "id", "class", "needles", "layout", "rate (1/s)",
           "depth (mm)", "evidence / source");
  else
    printf("[\n");
  for (size_t i = 0; i < n; i++) {
    const mn_device_spec *s = mn_device_catalogue_get(cat, i);
    char rate[32] = "-";
    if (s->cls == MN_DEVICE_PEN)
      snprintf(rate, sizeof rate, "%g-%g", s->rate_hz_min, s->rate_hz_max);
    if (o->json)
      printf(
          "  {\"id\": \"%s\", \"class\": \"%s\", \"needles\": %d, \"layout\": \"%s\", "
          "\"depth_mm\": [%g, %g], \"tag\": \"%s\"}%s\n",
          s->id, mn_device_class_name(s->cls), s->needles, mn_layout_name(s->layout),
          s->depth_mm_min, s->depth_mm_max, s->tag, i + 1 < n ? "," : "");
    else
      printf("%-18s %-7s %7d %-6s %-12s %4.2f-%-6.2f %s: %s\n", s->id, mn_device_class_name(s->cls),
             s->needles, mn_layout_name(s->layout), rate, s->depth_mm_min, s->depth_mm_max, s->tag,
             s->source);
  }
  if (o->json)
    printf("]\n");
  else
    printf(
        "\nevidence: V seen in the source, D derived, M maker's claim, E example/estimate "
        "(data/devices.csv)\n");
  mn_device_catalogue_destroy(cat);
  return EXIT_OK;
}

static const char *pct(double f, char *buf, size_t n) {
  snprintf(buf, n, "%.1f %%", 100.0 * f);
  return buf;
}

static void print_summary(const mn_device_result *r, const char *outdir, int figures) {
  const mn_device *d = r->dev;
  const mn_skin *s = r->skin;
  const mn_device_stats *st = r->st;
  char a[32], b[32];
  static const char *const dirs[] = {"horizontal", "vertical", "diagonal", "antidiagonal", "angle"};
  printf("mnsim device: %s\n", r->cs->file);
  printf("  device     %s (%s, %d needles)", d->spec.id, mn_device_class_name(d->spec.cls),
         d->spec.needles);
  if (d->spec.cls == MN_DEVICE_PEN) printf(", %g strokes/s", d->rate_hz);
  printf(", depth setting %.2f mm, effective/nominal %.2f [%s]\n", d->params.depth_mm,
         d->depth_ratio, d->cls.tag);
  printf(
      "  skin       %s, %s, %.0f y, Fitzpatrick %s: SC %.0f | VE %.0f | PD %.0f | RD %.0f um "
      "(dermis ends at %.0f um)\n",
      s->region, s->params.sex ? "male" : "female", s->params.age_y,
      mn_fitzpatrick_name(s->params.fitzpatrick), s->thickness_um[0], s->thickness_um[1],
      s->thickness_um[2], s->thickness_um[3], s->top_um[MN_LAYER_HYPO]);
  printf("  region     %.2f cm2, %d pass%s, hand path %.0f mm, about %.0f s\n", st->area_cm2,
         r->cs->treatment.n_passes, r->cs->treatment.n_passes > 1 ? "es" : "", st->path_mm,
         st->duration_s);
  printf("  punctures  %zu (%zu inside the region), %.0f per cm2", st->count, st->count_inside,
         st->density_cm2);
  if (st->rate_per_s > 0) printf(", %.0f per second", st->rate_per_s);
  printf("\n");
  for (int p = 0; p < r->cs->treatment.n_passes; p++)
    printf("    pass %-2d  %-12s %8.*f per cm2 (geometric interior value %.*f)\n", p + 1,
           dirs[r->cs->treatment.passes[p].direction], st->density_pass_cm2[p] < 100 ? 1 : 0,
           st->density_pass_cm2[p], st->expected_pass_cm2[p] < 100 ? 1 : 0,
           st->expected_pass_cm2[p]);
  printf("  coverage   %s +/- %.1f of the surface inside a channel (random pattern: %s)\n",
         pct(st->coverage, a, sizeof a), 100 * st->coverage_se,
         pct(st->coverage_poisson, b, sizeof b));
  printf("  open       %s of the surface in an open lumen (lumen ratio %.2f of the needle)\n",
         pct(st->lumen_fraction, a, sizeof a), r->dev->cls.lumen_ratio);
  printf(
      "  overlap    %s of punctures touch another channel; nearest neighbour median %.0f um, "
      "5th percentile %.0f um\n",
      pct(st->overlap_fraction, a, sizeof a), st->nn_median_um, st->nn_p05_um);
  printf(
      "  depth      mean %.0f um (sd %.0f; %.0f-%.0f um over the depth ratio's range), channel "
      "radius at the surface %.0f um\n",
      st->depth_mean_um, st->depth_sd_um, st->depth_lo_um, st->depth_hi_um,
      st->surface_radius_mean_um);
  printf("  reaches    VE %.0f %% | PD %.0f %% | RD %.0f %% | below the dermis %.0f %%\n",
         100 * st->reach_fraction[MN_LAYER_VE], 100 * st->reach_fraction[MN_LAYER_PD],
         100 * st->reach_fraction[MN_LAYER_RD], 100 * st->reach_fraction[MN_LAYER_HYPO]);
  printf("  bleeding   %s of channels reach the subpapillary plexus (%.0f um deep)\n",
         pct(st->bleeding_fraction, a, sizeof a), st->plexus_depth_um);
  for (int i = 0; i < r->cs->n_lesions; i++) {
    char desc[256];
    mn_lesion_describe(&r->cs->lesions[i], desc, sizeof desc);
    printf("  lesion %-3d %s\n", i + 1, desc);
  }
  printf(
      "  evidence   depth ratio and most cartridge layouts are estimates (see device.json "
      "'evidence')\n");
  printf("  outputs    %s/device.json device.csv punctures.csv density.csv%s\n", outdir,
         figures ? " density.svg density.png" : "");
}

typedef struct run {
  mn_case *cs;
  mn_skin_atlas *atlas;
  mn_device_catalogue *cat;
  mn_device dev;
  mn_skin skin;
  mn_puncture_set *set;
  mn_device_stats st;
  mn_density_map map;
} run;

static void run_fini(run *r) {
  mn_density_map_fini(&r->map);
  mn_puncture_set_destroy(r->set);
  mn_device_fini(&r->dev);
  mn_device_catalogue_destroy(r->cat);
  mn_skin_atlas_destroy(r->atlas);
  mn_case_destroy(r->cs);
}

/* Load, check and compute; every failure keeps its case-file position. */
static int compute(run *r, const char *path, int have_seed, uint64_t seed, mn_error *err) {
  int rc = MN_OK;
  MN_TRY(mn_case_read(path, &r->cs, err));
  if (have_seed) r->cs->seed = r->cs->treatment.seed = seed;
  MN_TRY(mn_skin_atlas_create(&r->atlas, err));
  MN_TRY(mn_device_catalogue_create(&r->cat, err));
  MN_TRY(mn_case_check_skin(r->cs, r->atlas, &r->skin, err));
  if ((rc = mn_device_init(&r->dev, r->cat, &r->cs->device, err))) goto located;
  mn_log(MN_LOG_INFO, "device %s: %s, %d needles, swath %.2f mm, depth ratio %.2f, %g strokes/s",
         r->dev.spec.id, mn_device_class_name(r->dev.spec.cls), r->dev.spec.needles,
         r->dev.swath_mm, r->dev.depth_ratio, r->dev.rate_hz);
  double t0 = mn_wall_time();
  if ((rc = mn_device_punctures(&r->dev, &r->cs->treatment, &r->set, err))) goto located;
  double t1 = mn_wall_time();
  MN_TRY(mn_device_stats_compute(&r->dev, &r->cs->treatment, &r->skin, r->set, &r->st, err));
  mn_log(MN_LOG_INFO, "%zu punctures generated in %.3f s, statistics in %.3f s (spacing from %zu)",
         r->set->n, t1 - t0, mn_wall_time() - t1, r->st.spacing_sampled);
  MN_TRY(mn_density_map_build(&r->cs->treatment, r->set, 0, &r->map, err));
  return MN_OK;
located:
  mn_case_locate(r->cs, err);
cleanup:
  return rc;
}

/* All result files or none: written to temporaries, renamed together at the end. */
static int write_outputs(run *r, const mn_device_result *res, const char *dir, int figures,
                         mn_error *err) {
  int rc = mn_mkdir_p(dir, err);
  if (rc) return rc;
  char title[200];
  snprintf(title, sizeof title, "%s, %d pass%s: %.0f punctures/cm#u2#d, coverage %.0f %%",
           r->dev.spec.id, r->cs->treatment.n_passes, r->cs->treatment.n_passes > 1 ? "es" : "",
           r->st.density_cm2, 100 * r->st.coverage);
  mn_density_figure fig[2];
  for (int f = 0; f < 2; f++)
    fig[f] = (mn_density_figure){f ? MN_FIG_PNG : MN_FIG_SVG,
                                 &r->map,
                                 &r->cs->treatment,
                                 r->cs->lesions,
                                 r->cs->n_lesions,
                                 title};
  mn_out_item items[] = {
      {"", mn_io_device_json, res},         {"", mn_io_device_summary_csv, res},
      {"", mn_io_punctures_csv, res},       {"", mn_io_density_map_csv, &r->map},
      {"", mn_report_density_map, &fig[0]}, {"", mn_report_density_map, &fig[1]}};
  static const char *const names[] = {"device.json", "device.csv",  "punctures.csv",
                                      "density.csv", "density.svg", "density.png"};
  int n = figures ? 6 : 4;
  for (int i = 0; i < n; i++) snprintf(items[i].path, sizeof items[i].path, "%s/%s", dir, names[i]);
  return mn_io_write_set(items, n, err);
}

/* Interrupted while writing: remove the temporaries, then die of the signal as usual. */
static void on_signal(int sig) {
  mn_ofile_unlink_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

int cmd_device(int argc, char **argv) {
  device_opts d;
  memset(&d, 0, sizeof d);
  int first = 0, code = cli_parse("device", options, NOPT, help, argc, argv, &d, &d.common, &first);
  if (code >= 0) return code;
  cli_opts o = d.common;
  int figures = !d.no_figures;
  if (d.list) return list_catalogue(&o);
  if (first != argc - 1)
    return cli_usage_error(
        "device", first >= argc ? "a case file is required" : "exactly one case file is expected");
  const char *path = argv[first];
  char dir[4096];
  if (o.outdir)
    snprintf(dir, sizeof dir, "%s", o.outdir);
  else {
    char stem[256];
    cli_stem(path, stem, sizeof stem);
    snprintf(dir, sizeof dir, "%s-device", stem);
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  run r = {0};
  mn_error err = {0};
  int rc = compute(&r, path, d.have_seed, d.seed, &err);
  mn_device_result res = {r.cs, &r.dev, &r.skin, r.set, &r.st};
  if (rc == MN_OK) rc = write_outputs(&r, &res, dir, figures, &err);
  if (rc == MN_OK) {
    if (o.json)
      rc = mn_io_device_json(stdout, &res, &err);
    else if (!o.quiet)
      print_summary(&res, dir, figures);
  }
  code = rc ? cli_fail(&o, &err) : EXIT_OK;
  run_fini(&r);
  return code;
}
