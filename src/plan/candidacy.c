/* Candidacy screening (issue 5): the rules of data/candidacy.csv (each with its source and
 * evidence grade) matched against the patient's conditions, medications (days since the last
 * dose), recent procedures and own data (Fitzpatrick type, age). The strictest matching verdict
 * decides; every match is reported. Stage: plan. */
#include <math.h>
#include <string.h>

#include "mnsim/plan.h"
#include "plan_impl.h"

static const char *const kind_names[] = {"condition", "medication", "procedure", "patient", NULL};
static const char *const verdict_names[] = {"proceed", "precautions", "refer", "do-not-treat",
                                            NULL};

const char *mn_candidacy_verdict_name(int v) {
  return v >= 0 && v <= MN_CAND_DO_NOT_TREAT ? verdict_names[v] : "?";
}

static int index_of(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++)
    if (!strcmp(names[i], s)) return i;
  return -1;
}

static int valid_name(const char *s) {
  if (!(*s >= 'a' && *s <= 'z')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

/* does @p name equal the rule's name or one of its aliases? */
static int rule_has(const mn_candidacy_rule *r, const char *name) {
  if (!strcmp(r->name, name)) return 1;
  size_t n = strlen(name);
  for (const char *a = r->aliases; *a;) {
    const char *e = strchr(a, '|');
    size_t len = e ? (size_t)(e - a) : strlen(a);
    if (len == n && !strncmp(a, name, n)) return 1;
    if (!e) break;
    a = e + 1;
  }
  return 0;
}

static int copy_field(const mn_csv *c, int r, int col, char *dst, size_t cap, mn_error *err) {
  const char *s = c->rows[r][col];
  if (strlen(s) >= cap)
    return MN_ERR(err, MN_EINPUT, "", "%s:%d: column '%s' is longer than %zu characters", c->name,
                  c->lineno[r], c->header[col], cap - 1);
  memcpy(dst, s, strlen(s) + 1);
  return MN_OK;
}

int mn_candidacy_rules_parse(const char *csv, size_t len, const char *name, mn_candidacy_rules *out,
                             mn_error *err) {
  static const char *const cols[10] = {"id",      "kind",       "name",   "aliases", "within_days",
                                       "verdict", "precaution", "reason", "source",  "evidence"};
  int rc = MN_OK, col[10];
  mn_csv c;
  memset(out, 0, sizeof *out);
  MN_TRY(mn_csv_parse(csv, len, name, &c, err));
  for (int j = 0; j < 10; j++)
    if ((rc = mn_csv_require(&c, cols[j], &col[j], err))) goto done;
  if (c.nrows > MN_PLAN_MAX_RULES) {
    rc = MN_ERR(err, MN_EINPUT, "", "%s: %d rules; at most %d", c.name, c.nrows, MN_PLAN_MAX_RULES);
    goto done;
  }
  for (int r = 0; r < c.nrows && rc == MN_OK; r++) {
    mn_candidacy_rule *ru = &out->rule[r];
    const char *kind = c.rows[r][col[1]], *verdict = c.rows[r][col[5]], *wd = c.rows[r][col[4]];
    if ((rc = copy_field(&c, r, col[0], ru->id, sizeof ru->id, err)) ||
        (rc = copy_field(&c, r, col[2], ru->name, sizeof ru->name, err)) ||
        (rc = copy_field(&c, r, col[3], ru->aliases, sizeof ru->aliases, err)) ||
        (rc = copy_field(&c, r, col[6], ru->precaution, sizeof ru->precaution, err)) ||
        (rc = copy_field(&c, r, col[7], ru->reason, sizeof ru->reason, err)) ||
        (rc = copy_field(&c, r, col[8], ru->source, sizeof ru->source, err)) ||
        (rc = copy_field(&c, r, col[9], ru->evidence, sizeof ru->evidence, err)))
      break;
    ru->kind = index_of(kind_names, kind);
    int v = index_of(verdict_names, verdict);
    if (ru->kind < 0) {
      rc = MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: kind '%s' (allowed: condition, medication, procedure, "
                  "patient)",
                  c.name, c.lineno[r], kind);
      break;
    }
    if (v <= MN_CAND_PROCEED) {
      rc = MN_ERR(err, MN_EINPUT, "",
                  "%s:%d: verdict '%s' (allowed: precautions, refer, "
                  "do-not-treat)",
                  c.name, c.lineno[r], verdict);
      break;
    }
    ru->verdict = v;
    if (!valid_name(ru->name)) {
      rc = MN_ERR(err, MN_EINPUT, "", "%s:%d: name '%s' must be lower case letters, digits and _",
                  c.name, c.lineno[r], ru->name);
      break;
    }
    ru->within_days = -1;
    if (*wd) {
      rc = mn_csv_double(&c, r, col[4], &ru->within_days, err);
      if (rc == MN_OK && !(ru->within_days > 0))
        rc = MN_ERR(err, MN_EINPUT, "", "%s:%d: within_days must be positive or empty", c.name,
                    c.lineno[r]);
    }
    for (int q = 0; q < r && rc == MN_OK; q++) { /* ids, names and aliases unique */
      const mn_candidacy_rule *o = &out->rule[q];
      int clash = rule_has(o, ru->name) || rule_has(ru, o->name) || !strcmp(o->id, ru->id);
      for (const char *a = ru->aliases; *a && !clash;) { /* an alias of both */
        const char *e = strchr(a, '|');
        size_t alen = e ? (size_t)(e - a) : strlen(a);
        char one[64];
        if (alen < sizeof one) {
          memcpy(one, a, alen);
          one[alen] = 0;
          clash = rule_has(o, one);
        }
        a = e ? e + 1 : a + alen;
      }
      if (clash)
        rc = MN_ERR(err, MN_EINPUT, "",
                    "%s:%d: rule %s '%s' repeats an id, name or alias of rule %s", c.name,
                    c.lineno[r], ru->id, ru->name, o->id);
    }
    out->n = r + 1;
  }
done:
  mn_csv_fini(&c);
cleanup:
  if (rc) out->n = 0;
  return rc;
}

int mn_candidacy_rules_load(mn_candidacy_rules *r, mn_error *err) {
  return mn_candidacy_rules_parse(mn__data_candidacy_csv, mn__data_candidacy_csv_len,
                                  "data/candidacy.csv", r, err);
}

int mn_candidacy_lookup(const mn_candidacy_rules *r, int kind, const char *name, const char *key,
                        const mn_candidacy_rule **out, mn_error *err) {
  *out = NULL;
  for (int i = 0; i < r->n; i++)
    if (r->rule[i].kind == kind && rule_has(&r->rule[i], name)) {
      *out = &r->rule[i];
      return MN_OK;
    }
  /* the nearest name or alias of that kind */
  const char *best = NULL;
  int bd = 1 << 30;
  char cand[64];
  for (int i = 0; i < r->n; i++) {
    if (r->rule[i].kind != kind) continue;
    const char *a = r->rule[i].name;
    int d = mn_edit_distance(name, a);
    if (d < bd) bd = d, best = r->rule[i].name;
    for (const char *s = r->rule[i].aliases; *s;) {
      const char *e = strchr(s, '|');
      size_t len = e ? (size_t)(e - s) : strlen(s);
      if (len < sizeof cand) {
        memcpy(cand, s, len);
        cand[len] = 0;
        d = mn_edit_distance(name, cand);
        if (d < bd) bd = d, best = r->rule[i].name;
      }
      if (!e) break;
      s = e + 1;
    }
  }
  return MN_ERR(err, MN_EINPUT, key,
                "%s = '%s' is not a known %s; the nearest is '%s' (all: `mnsim plan --rules`)", key,
                name, kind_names[kind], best ? best : "?");
}

static void add(mn_candidacy *c, const mn_candidacy_rule *r, const char *detail) {
  for (int i = 0; i < c->n; i++)
    if (c->match[i] == r) return;
  if (c->n == MN_PLAN_MAX_MATCHES) return;
  c->match[c->n] = r;
  snprintf(c->detail[c->n], sizeof c->detail[0], "%s", detail);
  c->n++;
  if (r->verdict > c->verdict) c->verdict = r->verdict;
}

static const mn_candidacy_rule *named(const mn_candidacy_rules *r, int kind, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (r->rule[i].kind == kind && !strcmp(r->rule[i].name, name)) return &r->rule[i];
  return NULL;
}

int mn_candidacy_screen(const mn_candidacy_rules *r, const mn_plan_patient *p, mn_candidacy *out,
                        mn_error *err) {
  int rc = MN_OK;
  memset(out, 0, sizeof *out);
  out->verdict = MN_CAND_PROCEED;
  const mn_candidacy_rule *ru;
  char d[200];
  for (int i = 0; i < p->n_conditions; i++) {
    char key[48];
    snprintf(key, sizeof key, "patient.conditions[%d]", i);
    MN_TRY(mn_candidacy_lookup(r, MN_RULE_CONDITION, p->conditions[i], key, &ru, err));
    snprintf(d, sizeof d, "condition: %s", p->conditions[i]);
    add(out, ru, d);
  }
  const mn_plan_item *items[2] = {p->medications, p->procedures};
  const int counts[2] = {p->n_medications, p->n_procedures};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < counts[k]; i++) {
      char key[48];
      const mn_plan_item *it = &items[k][i];
      snprintf(key, sizeof key, "patient.%s[%d].name", k ? "procedures" : "medications", i);
      MN_TRY(mn_candidacy_lookup(r, k ? MN_RULE_PROCEDURE : MN_RULE_MEDICATION, it->name, key, &ru,
                                 err));
      if (ru->within_days >= 0 && it->days_ago > ru->within_days) continue; /* long enough ago */
      if (it->days_ago <= 0)
        snprintf(d, sizeof d, "%s: %s, current", k ? "procedure" : "medication", it->name);
      else if (ru->within_days >= 0)
        snprintf(d, sizeof d, "%s: %s, %g days ago (the rule applies within %g days)",
                 k ? "procedure" : "medication", it->name, it->days_ago, ru->within_days);
      else
        snprintf(d, sizeof d, "%s: %s, %g days ago", k ? "procedure" : "medication", it->name,
                 it->days_ago);
      add(out, ru, d);
    }
  if (p->fitzpatrick >= 4 && (ru = named(r, MN_RULE_PATIENT, "fitzpatrick_ge_4"))) {
    snprintf(d, sizeof d, "Fitzpatrick type %d", p->fitzpatrick);
    add(out, ru, d);
  }
  if (p->age_y < 18 && (ru = named(r, MN_RULE_PATIENT, "age_lt_18"))) {
    snprintf(d, sizeof d, "age %g years", p->age_y);
    add(out, ru, d);
  }
cleanup:
  return rc;
}
