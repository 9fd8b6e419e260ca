/* Self-documenting configuration: an annotated case file with every key at its default (`mnsim
 * config --defaults`) and the markdown reference docs/config.md (`mnsim config --reference`), both
 * generated from the modules' descriptor tables, so neither can drift from what the parser
 * accepts. Pipeline: io. Reference: Redis redis.conf. */
#include <string.h>

#include "io_impl.h"

typedef struct section {
  const char *name; /* YAML path of the section ("" = top level) */
  const char *list; /* list key holding items of this table, or NULL */
  const mn_config_desc *(*table)(size_t *n);
  const char *doc;
} section;

/* The reference's sections in order. mn_case_write_defaults lays out the same sections by hand,
 * with the list items and examples a YAML file needs: a new section goes in both. */
static const section sections[] = {
    {"", NULL, mn__case_table, "case file"},
    {"skin", NULL, mn_skin_param_table, "patient skin"},
    {"skin", "lesions", mn_lesion_param_table, "one acne scar or wrinkle (list `skin.lesions`)"},
    {"device", NULL, mn_device_param_table, "device and settings"},
    {"treatment", NULL, mn__treatment_table,
     "treated region: `outline_mm` (list of [x, y] points) or a width x height rectangle"},
    {"treatment", "passes", mn_pass_param_table, "one pass (list `treatment.passes`)"},
    {"simulate", NULL, mn_simulate_param_table,
     "`mnsim simulate`: model, schedule and outputs (also `snapshot_days`: list of days of the "
     "3D snapshots in fields.h5)"},
    {"grid", NULL, mn_grid_param_table, "tissue grid of the 3D model"},
    {"solver", NULL, mn_solver_param_table, "time stepping of the 3D model"},
    {"sun", NULL, mn_sun_param_table,
     "the patient's sun after the sessions: daily UV dose 0.9 uvi outdoor_hours ((1 - adherence) "
     "+ adherence / protection_factor) SED"},
};

/* The default as a YAML value: an empty text becomes "" so that the line stays valid YAML;
 * integers and seeds print from the table's double default. */
static void default_text(const mn_config_desc *d, char *buf, size_t size) {
  char tmp[64];
  switch (d->type) {
    case MN_CONFIG_DOUBLE:
      mn_format_double(buf, size, d->def, 10);
      break;
    case MN_CONFIG_INT:
    case MN_CONFIG_SEED:
      snprintf(buf, size, "%.0f", d->def);
      break;
    case MN_CONFIG_BOOL:
      snprintf(buf, size, "%s", d->def ? "true" : "false");
      break;
    case MN_CONFIG_ENUM:
      snprintf(buf, size, "%s", d->names[(int)d->def]);
      break;
    case MN_CONFIG_STRING:
      snprintf(tmp, sizeof tmp, "%s", d->def_str ? d->def_str : "");
      snprintf(buf, size, "%s", tmp[0] ? tmp : "\"\"");
      break;
  }
}

/* Each key as "key: default" under a "# doc; allowed: ..." line. @p first_prefix, when given,
 * replaces the indent of the first key to open a list item ("    - "). */
static void write_keys(FILE *fp, const mn_config_desc *t, size_t n, const char *indent,
                       const char *first_prefix) {
  for (size_t i = 0; i < n; i++) {
    char def[80], allowed[256];
    default_text(&t[i], def, sizeof def);
    mn_config_allowed(&t[i], allowed, sizeof allowed);
    fprintf(fp, "%s# %s; allowed: %s\n", indent, t[i].doc, allowed);
    fprintf(fp, "%s%s%s: %s\n", i == 0 && first_prefix ? first_prefix : indent, "", t[i].key, def);
  }
}

/* A case file in the order and nesting a user writes one; each list shows one entry at its
 * defaults, and the outline, snapshot days and model overrides appear as comments. */
void mn_case_write_defaults(FILE *fp) {
  size_t n;
  const mn_config_desc *t;
  fprintf(fp, "# mnsim case file with every key at its default value (mnsim %s).\n", mn_version());
  fprintf(fp, "# Lengths in mm unless the key says um; see docs/config.md.\n");
  t = mn__case_table(&n);
  write_keys(fp, t, n, "", NULL);
  fprintf(fp, "\nskin:\n");
  t = mn_skin_param_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp, "  # acne scars and wrinkles; an empty list by default. One example entry:\n");
  fprintf(fp, "  lesions:\n");
  t = mn_lesion_param_table(&n);
  write_keys(fp, t, n, "      ", "    - ");
  fprintf(fp, "\ndevice:\n");
  t = mn_device_param_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp, "\ntreatment:\n");
  t = mn__treatment_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp,
          "  # or an outline instead of width/height:\n  # outline_mm: [[-10, -10], [10, -10], "
          "[10, 10], [-10, 10]]\n");
  fprintf(fp, "  passes:\n");
  t = mn_pass_param_table(&n);
  write_keys(fp, t, n, "      ", "    - ");
  fprintf(fp, "\nsimulate:\n");
  t = mn_simulate_param_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp, "  # snapshot_days: [1, 7, 30]   # days of the 3D snapshots in fields.h5\n");
  fprintf(fp, "\ngrid:\n");
  t = mn_grid_param_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp, "\nsolver:\n");
  t = mn_solver_param_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp, "\nsun:\n");
  t = mn_sun_param_table(&n);
  write_keys(fp, t, n, "  ", NULL);
  fprintf(fp,
          "\n# model:   # overrides of the healing-model parameters (mnsim config --parameters)\n");
  fprintf(fp, "#   k_P: 16.6\n");
}

/* One markdown table per section; the keys of list items appear under "section.list[]". */
void mn_case_write_reference_md(FILE *fp) {
  fprintf(fp,
          "# Case file reference\n\nGenerated by `mnsim config --reference` from the "
          "descriptor tables in the sources; do not edit by hand.\n");
  for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
    size_t n;
    const mn_config_desc *t = sections[s].table(&n);
    char path[64];
    snprintf(path, sizeof path, "%s%s%s%s", sections[s].name, sections[s].list ? "." : "",
             sections[s].list ? sections[s].list : "", sections[s].list ? "[]" : "");
    fprintf(fp,
            "\n## `%s` - %s\n\n| key | default | allowed | meaning |\n| --- | --- | --- | --- |\n",
            path[0] ? path : "(top level)", sections[s].doc);
    for (size_t i = 0; i < n; i++) {
      char def[80], allowed[256];
      default_text(&t[i], def, sizeof def);
      mn_config_allowed(&t[i], allowed, sizeof allowed);
      fprintf(fp, "| `%s` | %s | %s | %s |\n", t[i].key, def, allowed, t[i].doc);
    }
  }
}
