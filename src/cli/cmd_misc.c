/* `mnsim skin` (anatomy of a region for a patient) and `mnsim config` (annotated defaults,
 * configuration reference). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct skin_opts {
  cli_opts common;
  int list, flags, rc;
  mn_skin_params p;
} skin_opts;

/* A flag through the skin descriptor table, so that flags and YAML share their checks. */
static int skin_flag(void *opts, const char *val, const char *key) {
  skin_opts *o = opts;
  size_t n;
  const mn_config_desc *tab = mn_skin_param_table(&n);
  char path[64];
  mn_error err = {0};
  snprintf(path, sizeof path, "--%s", key);
  o->flags = 1;
  if (mn_config_parse(mn_config_find(tab, n, key), val, &o->p, path, &err))
    return cli_fail(&o->common, &err);
  return 0;
}
static int flag_region(void *o, const char *v) {
  return skin_flag(o, v, "region");
}
static int flag_age(void *o, const char *v) {
  return skin_flag(o, v, "age_y");
}
static int flag_sex(void *o, const char *v) {
  return skin_flag(o, v, "sex");
}
static int flag_fitzpatrick(void *o, const char *v) {
  return skin_flag(o, v, "fitzpatrick");
}

static const cli_option skin_options[] = {
    {"region", 0, CLI_CALL, "R", 0, 0, 0, 0, flag_region, "face region (default cheek)"},
    {"age", 0, CLI_CALL, "Y", 0, 0, 0, 0, flag_age, "age in years (default 40)"},
    {"sex", 0, CLI_CALL, "S", 0, 0, 0, 0, flag_sex, "female or male (default female)"},
    {"fitzpatrick", 0, CLI_CALL, "N", 0, 0, 0, 0, flag_fitzpatrick, "skin type 1-6 (default 3)"},
    {"list", 0, CLI_FLAG, NULL, 0, 0, offsetof(skin_opts, list), 0, NULL, "list the face regions"},
    CLI_JSON(skin_opts, "print the anatomy as JSON"),
    CLI_QUIET(skin_opts),
};

static void skin_help(void) {
  printf(
      "usage: mnsim skin [--region R] [--age Y] [--sex female|male] [--fitzpatrick N] [--json]\n"
      "       mnsim skin CASE.yaml [--json]\n"
      "       mnsim skin --list\n\n"
      "Print the layered anatomy (stratum corneum, viable epidermis, papillary and reticular\n"
      "dermis) of a face region for a patient, with the source of every thickness.\n\n");
  cli_print_options(skin_options, sizeof skin_options / sizeof skin_options[0]);
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

/* The anatomy of the case file's skin, or of the flags' patient. */
static int skin_of(const skin_opts *o, const mn_skin_atlas *atlas, const char *path,
                   mn_error *err) {
  mn_case *cs = NULL;
  mn_skin s;
  int rc = path ? mn_case_read(path, &cs, err) : MN_OK;
  if (rc == MN_OK)
    rc = cs ? mn_case_check_skin(cs, atlas, &s, err) : mn_skin_build(atlas, &o->p, &s, err);
  if (rc == MN_OK) print_skin(&s, o->common.json);
  mn_case_destroy(cs);
  return rc;
}

int cmd_skin(int argc, char **argv) {
  skin_opts o;
  memset(&o, 0, sizeof o);
  size_t nt;
  const mn_config_desc *skin_tab = mn_skin_param_table(&nt);
  mn_config_defaults(skin_tab, nt, &o.p);
  int first = 0,
      code = cli_parse("skin", skin_options, sizeof skin_options / sizeof skin_options[0],
                       skin_help, argc, argv, &o, &o.common, &first);
  if (code >= 0) return code;
  mn_error err = {0};
  mn_skin_atlas *atlas;
  if (mn_skin_atlas_create(&atlas, &err)) return cli_fail(&o.common, &err);
  code = EXIT_OK;
  if (o.list) {
    for (size_t i = 0; i < mn_skin_atlas_region_count(atlas); i++)
      printf("%-12s %s\n", mn_skin_atlas_region_name(atlas, i), mn_skin_atlas_region_doc(atlas, i));
  } else if (first < argc && (o.flags || first != argc - 1)) {
    code = cli_usage_error("skin", "give either a case file or flags, not both");
  } else if (skin_of(&o, atlas, first < argc ? argv[first] : NULL, &err)) {
    code = cli_fail(&o.common, &err);
  }
  mn_skin_atlas_destroy(atlas);
  return code;
}

typedef struct config_opts {
  cli_opts common;
  int defaults, reference, parameters;
} config_opts;

static const cli_option config_options[] = {
    {"defaults", 0, CLI_FLAG, NULL, 0, 0, offsetof(config_opts, defaults), 0, NULL,
     "print a case file with every key at its default, with units and ranges"},
    {"reference", 0, CLI_FLAG, NULL, 0, 0, offsetof(config_opts, reference), 0, NULL,
     "print the configuration reference as markdown (docs/config.md)"},
    {"parameters", 0, CLI_FLAG, NULL, 0, 0, offsetof(config_opts, parameters), 0, NULL,
     "print the healing-model parameters with units, ranges and sources (docs/model.md)"},
};

static void config_help(void) {
  printf("usage: mnsim config --defaults | --reference | --parameters\n\n");
  cli_print_options(config_options, sizeof config_options / sizeof config_options[0]);
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
  config_opts o;
  memset(&o, 0, sizeof o);
  int first = 0,
      code = cli_parse("config", config_options, sizeof config_options / sizeof config_options[0],
                       config_help, argc, argv, &o, &o.common, &first);
  if (code >= 0) return code;
  if (o.defaults + o.reference + o.parameters != 1 || first != argc)
    return cli_usage_error("config", "give --defaults, --reference or --parameters");
  if (o.parameters) return print_parameters();
  if (o.defaults)
    mn_case_write_defaults(stdout);
  else
    mn_case_write_reference_md(stdout);
  return EXIT_OK;
}
