/* `mnsim skin` (anatomy of a region for a patient) and `mnsim config` (annotated defaults,
 * configuration reference). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void skin_help(void) {
  printf(
      "usage: mnsim skin [--region R] [--age Y] [--sex female|male] [--fitzpatrick N] [--json]\n"
      "       mnsim skin CASE.yaml [--json]\n"
      "       mnsim skin --list\n\n"
      "Print the layered anatomy (stratum corneum, viable epidermis, papillary and reticular\n"
      "dermis) of a face region for a patient, with the source of every thickness.\n"
      "Defaults: cheek, 40 years, female, Fitzpatrick III.\n");
}

static void print_skin(const mn_skin *s, int json) {
  if (json) {
    printf(
        "{\"region\": \"%s\", \"age_y\": %g, \"sex\": \"%s\", \"fitzpatrick\": %d, \"layers\": [",
        s->region, s->params.age_y, s->params.sex ? "male" : "female", s->params.fitzpatrick);
    for (int l = 0; l < MN_LAYER_HYPO; l++)
      printf(
          "%s{\"layer\": \"%s\", \"top_um\": %.1f, \"thickness_um\": %.1f, \"sd_um\": %.1f, "
          "\"tag\": \"%s\"}",
          l ? ", " : "", mn_layer_name(l), s->top_um[l], s->thickness_um[l], s->sd_um[l],
          s->tag[l]);
    printf("], \"plexus_depth_um\": %.1f}\n", mn_skin_plexus_depth_um(s));
    return;
  }
  printf("%s, %s, %.0f years, Fitzpatrick %s (%s)\n", s->region, s->params.sex ? "male" : "female",
         s->params.age_y, mn_fitzpatrick_name(s->params.fitzpatrick),
         mn_fitzpatrick_doc(s->params.fitzpatrick));
  printf("%-4s %-18s %8s %10s %8s %15s %4s  %s\n", "", "layer", "top um", "thick um", "sd um",
         "range um", "tag", "source");
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    printf("%-4s %-18s %8.0f %10.0f %8.0f %7.0f-%-7.0f %4s  %s\n", mn_layer_name(l),
           mn_layer_long_name(l), s->top_um[l], s->thickness_um[l], s->sd_um[l], s->range_um[l][0],
           s->range_um[l][1], s->tag[l], s->source[l]);
  printf("dermis ends at %.0f um; subpapillary plexus (bleeding endpoint) at %.0f um\n",
         s->top_um[MN_LAYER_HYPO], mn_skin_plexus_depth_um(s));
  printf("tags: V seen, D derived, E estimate; keys: data/references.csv\n");
}

/* Apply a flag value through the skin descriptor table, so flags and YAML share checks. */
static int set_flag(mn_skin_params *p, const char *key, const char *val, mn_error *err) {
  size_t n;
  const mn_config_desc *tab = mn_skin_param_table(&n);
  char path[64];
  snprintf(path, sizeof path, "--%s", key);
  return mn_config_parse(mn_config_find(tab, n, key), val, p, path, err);
}

int cmd_skin(int argc, char **argv) {
  static const struct option longopts[] = {
      {"region", required_argument, 0, 'r'}, {"age", required_argument, 0, 'a'},
      {"sex", required_argument, 0, 'x'},    {"fitzpatrick", required_argument, 0, 'f'},
      {"json", no_argument, 0, 'j'},         {"list", no_argument, 0, 'L'},
      {"quiet", no_argument, 0, 'q'},        {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
  static const char *const keys[] = {
      ['r'] = "region", ['a'] = "age_y", ['x'] = "sex", ['f'] = "fitzpatrick"};
  cli_opts o = {0};
  mn_error err = {0};
  mn_skin_params p;
  size_t nt;
  const mn_config_desc *skin_tab = mn_skin_param_table(&nt);
  mn_config_defaults(skin_tab, nt, &p);
  int c, list = 0, flags = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":qvh", longopts, NULL)) != -1) {
    if (cli_common_option(c, optarg, &o)) continue;
    switch (c) {
      case 'h':
        skin_help();
        return EXIT_OK;
      case 'L':
        list = 1;
        break;
      case 'r':
      case 'a':
      case 'x':
      case 'f':
        flags = 1;
        if (set_flag(&p, keys[c], optarg, &err)) return cli_fail(&o, &err);
        break;
      case ':':
        return cli_usage_error("skin", "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error("skin", "unknown option '%s'", argv[optind - 1]);
    }
  }
  cli_log_setup(&o);
  mn_skin_atlas *atlas;
  if (mn_skin_atlas_create(&atlas, &err)) return cli_fail(&o, &err);
  int code = EXIT_OK;
  if (list) {
    for (size_t i = 0; i < mn_skin_atlas_region_count(atlas); i++)
      printf("%-12s %s\n", mn_skin_atlas_region_name(atlas, i), mn_skin_atlas_region_doc(atlas, i));
  } else if (optind < argc && (flags || optind != argc - 1)) {
    code = cli_usage_error("skin", "give either a case file or flags, not both");
  } else {
    mn_case *cs = NULL;
    mn_skin s;
    int rc = optind < argc ? mn_case_read(argv[optind], &cs, &err) : MN_OK;
    if (rc == MN_OK)
      rc = cs ? mn_case_check_skin(cs, atlas, &s, &err) : mn_skin_build(atlas, &p, &s, &err);
    if (rc)
      code = cli_fail(&o, &err);
    else
      print_skin(&s, o.json);
    mn_case_destroy(cs);
  }
  mn_skin_atlas_destroy(atlas);
  return code;
}

static void config_help(void) {
  printf(
      "usage: mnsim config --defaults | --reference | --parameters\n\n"
      "  --defaults    print a case file with every key at its default, with units and ranges\n"
      "  --reference   print the configuration reference as markdown (docs/config.md)\n"
      "  --parameters  print the healing-model parameters with units, ranges and sources as a\n"
      "                markdown table (data/healing_params.csv; used in docs/model.md)\n");
}

static int print_parameters(void) {
  mn_param_set ps;
  mn_error err = {0};
  if (mn_param_set_load_default(&ps, &err)) return cli_fail(NULL, &err);
  printf(
      "| parameter | value | unit | range (UQ) | tag | source or calibration target |\n"
      "| --- | --- | --- | --- | --- | --- |\n");
  for (int i = 0; i < ps.n; i++) {
    const mn_param_info *p = &ps.info[i];
    printf("| `%s` | %g | %s | %g-%g | %s | %s |\n", p->name, p->value, p->unit, p->min, p->max,
           p->tag, p->source);
  }
  printf("\nLoop gain of the nominal set: G = %.3f (must stay below 1).\n",
         mn_model_loop_gain(&ps.p));
  return EXIT_OK;
}

int cmd_config(int argc, char **argv) {
  static const struct option longopts[] = {{"defaults", no_argument, 0, 'd'},
                                           {"reference", no_argument, 0, 'r'},
                                           {"parameters", no_argument, 0, 'p'},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  int c, what = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case 'h':
        config_help();
        return EXIT_OK;
      case 'd':
      case 'r':
      case 'p':
        what = c;
        break;
      default:
        return cli_usage_error("config", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (!what || optind != argc)
    return cli_usage_error("config", "give --defaults, --reference or --parameters");
  if (what == 'p') return print_parameters();
  if (what == 'd')
    mn_case_write_defaults(stdout);
  else
    mn_case_write_reference_md(stdout);
  return EXIT_OK;
}
