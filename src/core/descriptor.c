/* Configuration descriptors: one table per module (key, type, unit, default, range, doc and the
 * field's offset) sets a parameter struct's defaults, parses and range-checks its values, and
 * words the allowed range for messages, --help and docs/config.md. Pipeline: core; the tables
 * live in each module, io's YAML walker and the CLI's options drive them.
 * Reference: Redis config.c static_configs[]. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "mnsim/core.h"

/* Defaults are stored as doubles in the table (def_str for texts) and converted to the field's
 * type; a seed's default is therefore exact only up to 2^53. */
void mn_config_defaults(const mn_config_desc *tab, size_t n, void *obj) {
  char *base = obj;
  for (size_t i = 0; i < n; i++) {
    const mn_config_desc *d = &tab[i];
    void *f = base + d->offset;
    switch (d->type) {
      case MN_CONFIG_DOUBLE:
        *(double *)f = d->def;
        break;
      case MN_CONFIG_INT:
      case MN_CONFIG_BOOL:
      case MN_CONFIG_ENUM:
        *(int *)f = (int)d->def;
        break;
      case MN_CONFIG_SEED:
        *(uint64_t *)f = (uint64_t)d->def;
        break;
      case MN_CONFIG_STRING:
        snprintf((char *)f, d->size, "%s", d->def_str ? d->def_str : "");
        break;
    }
  }
}

/* Keys match exactly (YAML keys are case-sensitive); enum values, by contrast, in any case. */
const mn_config_desc *mn_config_find(const mn_config_desc *tab, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(tab[i].key, key) == 0) return &tab[i];
  return NULL;
}

/* Entries of a NULL-terminated name list (an enum's names); 0 for none. */
static size_t count_names(const char *const *names) {
  size_t k = 0;
  while (names && names[k]) k++;
  return k;
}

/* The enum list stops at the first truncation: snprintf returns the length it wanted, so `used`
 * may pass @p size and ends the loop before size - used can wrap. */
void mn_config_allowed(const mn_config_desc *d, char *buf, size_t size) {
  char lo[32], hi[32];
  mn_format_double(lo, sizeof lo, d->min, 6);
  mn_format_double(hi, sizeof hi, d->max, 6);
  switch (d->type) {
    case MN_CONFIG_DOUBLE:
      snprintf(buf, size, "[%s, %s]%s%s", lo, hi, d->unit[0] ? " " : "", d->unit);
      break;
    case MN_CONFIG_INT:
      snprintf(buf, size, "an integer in [%s, %s]", lo, hi);
      break;
    case MN_CONFIG_BOOL:
      snprintf(buf, size, "true or false");
      break;
    case MN_CONFIG_SEED:
      snprintf(buf, size, "an integer in [0, 18446744073709551615]");
      break;
    case MN_CONFIG_STRING:
      snprintf(buf, size, "a text of at most %zu characters", d->size - 1);
      break;
    case MN_CONFIG_ENUM: {
      size_t used = (size_t)snprintf(buf, size, "one of: ");
      for (size_t k = 0; d->names[k] && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? ", " : "", d->names[k]);
      break;
    }
  }
}

/* A field's value as a case file would spell it; 10 significant digits for doubles, "?" for an
 * enum value outside its names. */
void mn_config_format_value(const mn_config_desc *d, const void *obj, char *buf, size_t size) {
  const char *f = (const char *)obj + d->offset;
  switch (d->type) {
    case MN_CONFIG_DOUBLE:
      mn_format_double(buf, size, *(const double *)f, 10);
      break;
    case MN_CONFIG_INT:
      snprintf(buf, size, "%d", *(const int *)f);
      break;
    case MN_CONFIG_BOOL:
      snprintf(buf, size, "%s", *(const int *)f ? "true" : "false");
      break;
    case MN_CONFIG_SEED:
      snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)f);
      break;
    case MN_CONFIG_STRING:
      snprintf(buf, size, "%s", f);
      break;
    case MN_CONFIG_ENUM: {
      int v = *(const int *)f;
      snprintf(buf, size, "%s", v >= 0 && (size_t)v < count_names(d->names) ? d->names[v] : "?");
      break;
    }
  }
}

/* Range check of a numeric value, with the message shape "key = 4.5 is outside [0.25, 3] mm". */
static int check_range(const mn_config_desc *d, double v, const char *path, mn_error *err) {
  if (isfinite(v) && v >= d->min && v <= d->max) return MN_OK;
  char allowed[256], val[32];
  mn_config_allowed(d, allowed, sizeof allowed);
  mn_format_double(val, sizeof val, v, 10);
  return MN_ERR(err, MN_ERANGE, path, "%s = %s is %s %s", path, val,
                d->type == MN_CONFIG_INT ? "not" : "outside", allowed);
}

/* The booleans people write in YAML files, any case: true/yes/on/1 and false/no/off/0. */
static int parse_bool(const char *s, int *out) {
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
    if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
  }
  return -1;
}

/* An enum value by name, any case; an unknown name gets the nearest known one in the message. */
static int parse_enum(const mn_config_desc *d, const char *text, int *out, const char *path,
                      mn_error *err) {
  size_t n = count_names(d->names);
  for (size_t k = 0; k < n; k++)
    if (strcasecmp(text, d->names[k]) == 0) return *out = (int)k, MN_OK;
  char allowed[256];
  mn_config_allowed(d, allowed, sizeof allowed);
  const char *near = mn_nearest(text, d->names, n);
  if (near)
    return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not known; did you mean '%s'? (%s)", path,
                  text, near, allowed);
  return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not known (%s)", path, text, allowed);
}

/* The field is written only when the text parses and passes the range, so a failed parse
 * leaves it as it was. Integers are range-checked as doubles before the conversion to
 * int, so a value beyond the table's range never reaches the cast. Seeds take the whole
 * unsigned 64-bit range and have no min/max. */
int mn_config_parse(const mn_config_desc *d, const char *text, void *obj, const char *path,
                    mn_error *err) {
  void *f = (char *)obj + d->offset;
  char allowed[256];
  mn_config_allowed(d, allowed, sizeof allowed);
  switch (d->type) {
    case MN_CONFIG_DOUBLE: {
      double v;
      /* mn_parse_double refuses nan and inf as it refuses any other word; spelled out, they get
       * the more helpful "not a finite number" */
      if (mn_parse_double(text, &v) != 0) {
        if (strcasecmp(text, "nan") == 0 || strcasecmp(text, ".nan") == 0 ||
            strcasecmp(text, ".inf") == 0 || strcasecmp(text, "-.inf") == 0 ||
            strcasecmp(text, "inf") == 0 || strcasecmp(text, "infinity") == 0)
          return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not a finite number (allowed: %s)",
                        path, text, allowed);
        return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not a number (allowed: %s)", path, text,
                      allowed);
      }
      int rc = check_range(d, v, path, err);
      if (rc == MN_OK) *(double *)f = v;
      return rc;
    }
    case MN_CONFIG_INT: {
      long v;
      if (mn_parse_long(text, &v) != 0)
        return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not an integer (allowed: %s)", path, text,
                      allowed);
      int rc = check_range(d, (double)v, path, err);
      if (rc == MN_OK) *(int *)f = (int)v;
      return rc;
    }
    case MN_CONFIG_SEED: {
      uint64_t v;
      if (mn_parse_u64(text, &v) != 0)
        return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not %s", path, text, allowed);
      *(uint64_t *)f = v;
      return MN_OK;
    }
    case MN_CONFIG_BOOL: {
      int v;
      if (parse_bool(text, &v) != 0)
        return MN_ERR(err, MN_EINPUT, path, "%s = '%s' is not true or false", path, text);
      *(int *)f = v;
      return MN_OK;
    }
    case MN_CONFIG_ENUM:
      return parse_enum(d, text, (int *)f, path, err);
    case MN_CONFIG_STRING:
      if (strlen(text) >= d->size)
        return MN_ERR(err, MN_EINPUT, path, "%s is longer than %zu characters", path, d->size - 1);
      if (!text[0] && d->def_str && d->def_str[0]) /* optional texts default to "" */
        return MN_ERR(err, MN_EINPUT, path, "%s is empty", path);
      snprintf((char *)f, d->size, "%s", text);
      return MN_OK;
  }
  return MN_ERR(err, MN_EINTERNAL, path, "%s: unknown parameter type", path);
}

/* The same ranges for a struct filled by code rather than parsed (library callers, the planner):
 * skin, lesions, device, passes, grid and solver check their parameter structs with it before
 * use. Strings are only checked for their terminating NUL; seeds need no check. */
int mn_config_check(const mn_config_desc *tab, size_t n, const void *obj, const char *prefix,
                    mn_error *err) {
  const char *base = obj;
  for (size_t i = 0; i < n; i++) {
    const mn_config_desc *d = &tab[i];
    const void *f = base + d->offset;
    char path[160];
    snprintf(path, sizeof path, "%s%s%s", prefix && *prefix ? prefix : "",
             prefix && *prefix ? "." : "", d->key);
    int rc = MN_OK;
    switch (d->type) {
      case MN_CONFIG_DOUBLE:
        rc = check_range(d, *(const double *)f, path, err);
        break;
      case MN_CONFIG_INT:
        rc = check_range(d, *(const int *)f, path, err);
        break;
      case MN_CONFIG_BOOL:
        if (*(const int *)f != 0 && *(const int *)f != 1)
          rc = MN_ERR(err, MN_ERANGE, path, "%s must be 0 or 1", path);
        break;
      case MN_CONFIG_ENUM: {
        int v = *(const int *)f;
        if (v < 0 || (size_t)v >= count_names(d->names))
          rc = MN_ERR(err, MN_ERANGE, path, "%s = %d is not a valid choice", path, v);
        break;
      }
      case MN_CONFIG_STRING:
        if (!memchr(f, '\0', d->size))
          rc = MN_ERR(err, MN_ERANGE, path, "%s is not NUL-terminated", path);
        break;
      case MN_CONFIG_SEED:
        break;
    }
    if (rc) return rc;
  }
  return MN_OK;
}
