/* Candidacy screening: the rules of data/candidacy.csv (each with its source and
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

const char *mn_rule_kind_name(int k) {
  return k >= 0 && k <= MN_RULE_PATIENT ? kind_names[k] : "?";
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

/* Row @p r of the table into @p ru: fields, kind, verdict, name and within_days checked. */
static int parse_rule(const mn_csv *c, int r, const int *col, mn_candidacy_rule *ru,
                      mn_error *err) {
  int rc = MN_OK;
  const char *kind = c->rows[r][col[1]], *verdict = c->rows[r][col[5]], *wd = c->rows[r][col[4]];
  static const int field[7] = {0, 2, 3, 6, 7, 8, 9};
  char *dst[7] = {ru->id,     ru->name,   ru->aliases, ru->precaution,
                  ru->reason, ru->source, ru->evidence};
  const size_t cap[7] = {sizeof ru->id,         sizeof ru->name,   sizeof ru->aliases,
                         sizeof ru->precaution, sizeof ru->reason, sizeof ru->source,
                         sizeof ru->evidence};
  for (int k = 0; k < 7; k++) MN_TRY(copy_field(c, r, col[field[k]], dst[k], cap[k], err));
  ru->kind = index_of(kind_names, kind);
  ru->verdict = index_of(verdict_names, verdict);
  MN_CHECK(ru->kind >= 0, err, MN_EINPUT, "",
           "%s:%d: kind '%s' (allowed: condition, medication, procedure, patient)", c->name,
           c->lineno[r], kind);
  MN_CHECK(ru->verdict > MN_CAND_PROCEED, err, MN_EINPUT, "",
           "%s:%d: verdict '%s' (allowed: precautions, refer, do-not-treat)", c->name, c->lineno[r],
           verdict);
  MN_CHECK(valid_name(ru->name), err, MN_EINPUT, "",
           "%s:%d: name '%s' must be lower case letters, digits and _", c->name, c->lineno[r],
           ru->name);
  ru->within_days = -1;
  if (*wd) {
    MN_TRY(mn_csv_double(c, r, col[4], &ru->within_days, err));
    MN_CHECK(ru->within_days > 0, err, MN_EINPUT, "",
             "%s:%d: within_days must be positive or empty", c->name, c->lineno[r]);
  }
cleanup:
  return rc;
}

/* 1 when rules @p a and @p b share an id, a name or an alias. */
static int clash(const mn_candidacy_rule *a, const mn_candidacy_rule *b) {
  if (rule_has(a, b->name) || rule_has(b, a->name) || !strcmp(a->id, b->id)) return 1;
  for (const char *s = b->aliases; *s;) { /* an alias of both */
    const char *e = strchr(s, '|');
    size_t alen = e ? (size_t)(e - s) : strlen(s);
    char one[64];
    if (alen < sizeof one) {
      memcpy(one, s, alen);
      one[alen] = 0;
      if (rule_has(a, one)) return 1;
    }
    s = e ? e + 1 : s + alen;
  }
  return 0;
}

int mn_candidacy_rules_parse(const char *csv, size_t len, const char *name,
                             mn_candidacy_rules **out, mn_error *err) {
  static const char *const cols[10] = {"id",      "kind",       "name",   "aliases", "within_days",
                                       "verdict", "precaution", "reason", "source",  "evidence"};
  int rc = MN_OK, col[10];
  mn_csv c;
  memset(&c, 0, sizeof c);
  *out = NULL;
  mn_candidacy_rules *t = mn_calloc(1, sizeof *t);
  MN_CHECK(t, err, MN_ENOMEM, "", "out of memory for the candidacy rules");
  MN_TRY(mn_csv_parse(csv, len, name, &c, err));
  for (int j = 0; j < 10; j++) MN_TRY(mn_csv_require(&c, cols[j], &col[j], err));
  MN_CHECK(c.nrows <= MN_PLAN_MAX_RULES, err, MN_EINPUT, "", "%s: %d rules; at most %d", c.name,
           c.nrows, MN_PLAN_MAX_RULES);
  for (int r = 0; r < c.nrows; r++) {
    mn_candidacy_rule *ru = &t->rule[r];
    MN_TRY(parse_rule(&c, r, col, ru, err));
    for (int q = 0; q < r; q++) /* ids, names and aliases unique */
      MN_CHECK(!clash(&t->rule[q], ru), err, MN_EINPUT, "",
               "%s:%d: rule %s '%s' repeats an id, name or alias of rule %s", c.name, c.lineno[r],
               ru->id, ru->name, t->rule[q].id);
    t->n = r + 1;
  }
  *out = t, t = NULL;
cleanup:
  mn_csv_fini(&c);
  mn_free(t);
  return rc;
}

int mn_candidacy_rules_create(mn_candidacy_rules **out, mn_error *err) {
  return mn_candidacy_rules_parse(mn__data_candidacy_csv, mn__data_candidacy_csv_len,
                                  "data/candidacy.csv", out, err);
}

void mn_candidacy_rules_destroy(mn_candidacy_rules *r) {
  mn_free(r);
}

int mn_candidacy_rules_count(const mn_candidacy_rules *r) {
  return r->n;
}

const mn_candidacy_rule *mn_candidacy_rules_get(const mn_candidacy_rules *r, int i) {
  return i >= 0 && i < r->n ? &r->rule[i] : NULL;
}

/* The name or alias of a rule of @p kind nearest to @p name (the rule's name is returned), with
 * its edit distance in *dist; NULL when the table has no rule of that kind. */
static const char *nearest(const mn_candidacy_rules *r, int kind, const char *name, int *dist) {
  const char *best = NULL;
  char cand[64];
  *dist = 1 << 30;
  for (int i = 0; i < r->n; i++) {
    if (r->rule[i].kind != kind) continue;
    int d = mn_edit_distance(name, r->rule[i].name);
    if (d < *dist) *dist = d, best = r->rule[i].name;
    for (const char *s = r->rule[i].aliases; *s;) {
      const char *e = strchr(s, '|');
      size_t len = e ? (size_t)(e - s) : strlen(s);
      if (len < sizeof cand) {
        memcpy(cand, s, len);
        cand[len] = 0;
        d = mn_edit_distance(name, cand);
        if (d < *dist) *dist = d, best = r->rule[i].name;
      }
      if (!e) break;
      s = e + 1;
    }
  }
  return best;
}

/* The rule of @p kind that names @p name (by name or alias), or NULL. */
static const mn_candidacy_rule *find(const mn_candidacy_rules *r, int kind, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (r->rule[i].kind == kind && rule_has(&r->rule[i], name)) return &r->rule[i];
  return NULL;
}

int mn_candidacy_lookup(const mn_candidacy_rules *r, int kind, const char *name, const char *key,
                        const mn_candidacy_rule **out, mn_error *err) {
  if ((*out = find(r, kind, name))) return MN_OK;
  int d;
  const char *best = nearest(r, kind, name, &d);
  return MN_ERR(err, MN_EINPUT, key,
                "%s = '%s' is not a known %s; the nearest is '%s' (all: `mnsim plan --rules`)", key,
                name, kind_names[kind], best ? best : "?");
}

/* An entry no rule names, kept for the clinician. A known name at most 2 edits away, and fewer
 * edits than a third of the entry's length, is recorded as a likely typo ("acutane" for
 * accutane, "pregnent" for pregnancy); a farther one is not a hint ("hypertension"). A likely
 * typo of a refer or do-not-treat rule holds the verdict at refer: the clinician confirms the
 * name before any session (a misspelt contraindication must not read as "proceed"). */
static void add_unruled(mn_candidacy *c, const mn_candidacy_rules *r, int kind, const char *name,
                        double days_ago) {
  if (c->n_unruled == (int)(sizeof c->unruled / sizeof c->unruled[0])) return;
  mn_candidacy_unruled *u = &c->unruled[c->n_unruled++];
  int d;
  const char *best = nearest(r, kind, name, &d);
  u->kind = kind, u->days_ago = days_ago;
  snprintf(u->name, sizeof u->name, "%s", name);
  u->nearest[0] = 0;
  u->held = 0;
  if (best && d <= 2 && 3 * d < (int)strlen(name)) {
    snprintf(u->nearest, sizeof u->nearest, "%s", best);
    const mn_candidacy_rule *ru = find(r, kind, best);
    if (ru && ru->verdict >= MN_CAND_REFER) {
      u->held = 1;
      if (c->verdict < MN_CAND_REFER) c->verdict = MN_CAND_REFER;
    }
  }
}

/* Record match @p r lasting until day @p until (-1: lasts). A rule matched twice (two aliases)
 * keeps its first detail and the later of the two lapses. */
static void add(mn_candidacy *c, const mn_candidacy_rule *r, const char *detail, double until) {
  for (int i = 0; i < c->n; i++)
    if (c->match[i] == r) {
      if (c->until_day[i] >= 0 && (until < 0 || until > c->until_day[i])) c->until_day[i] = until;
      return;
    }
  if (c->n == MN_PLAN_MAX_MATCHES) return;
  c->match[c->n] = r;
  c->until_day[c->n] = until;
  snprintf(c->detail[c->n], sizeof c->detail[0], "%s", detail);
  c->n++;
  if (r->verdict > c->verdict) c->verdict = r->verdict;
}

/* The verdict once the time-limited matches have lapsed, and how long the refer and do-not-treat
 * ones among them last. */
static void lapse(mn_candidacy *c) {
  c->verdict_later = MN_CAND_PROCEED, c->wait_days = 0;
  for (int i = 0; i < c->n; i++) {
    int v = c->match[i]->verdict;
    if (c->until_day[i] < 0 && v > c->verdict_later) c->verdict_later = v;
    if (c->until_day[i] >= 0 && v > MN_CAND_PRECAUTIONS)
      c->wait_days = fmax(c->wait_days, c->until_day[i]);
  }
  for (int i = 0; i < c->n_unruled; i++) /* held until a clinician confirms the name */
    if (c->unruled[i].held && c->verdict_later < MN_CAND_REFER) c->verdict_later = MN_CAND_REFER;
}

static const mn_candidacy_rule *named(const mn_candidacy_rules *r, int kind, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (r->rule[i].kind == kind && !strcmp(r->rule[i].name, name)) return &r->rule[i];
  return NULL;
}

int mn_candidacy_screen(const mn_candidacy_rules *r, const mn_plan_patient *p, mn_candidacy *out,
                        mn_error *err) {
  (void)err; /* free text is accepted: nothing here fails */
  memset(out, 0, sizeof *out);
  out->verdict = MN_CAND_PROCEED;
  const mn_candidacy_rule *ru;
  char d[200];
  for (int i = 0; i < p->n_conditions; i++) {
    if (!(ru = find(r, MN_RULE_CONDITION, p->conditions[i]))) {
      add_unruled(out, r, MN_RULE_CONDITION, p->conditions[i], 0);
      continue;
    }
    snprintf(d, sizeof d, "condition: %s", p->conditions[i]);
    add(out, ru, d, -1);
  }
  const mn_plan_item *items[2] = {p->medications, p->procedures};
  const int counts[2] = {p->n_medications, p->n_procedures};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < counts[k]; i++) {
      const mn_plan_item *it = &items[k][i];
      int kind = k ? MN_RULE_PROCEDURE : MN_RULE_MEDICATION;
      if (!(ru = find(r, kind, it->name))) {
        add_unruled(out, r, kind, it->name, it->days_ago);
        continue;
      }
      if (ru->within_days >= 0 && it->days_ago > ru->within_days) continue; /* long enough ago */
      double until = -1;
      if (it->days_ago <= 0)
        snprintf(d, sizeof d, "%s: %s, current", k ? "procedure" : "medication", it->name);
      else if (ru->within_days >= 0) {
        until = floor(ru->within_days - it->days_ago) + 1;
        snprintf(d, sizeof d, "%s: %s, %g days ago (the rule applies within %g days)",
                 k ? "procedure" : "medication", it->name, it->days_ago, ru->within_days);
      } else
        snprintf(d, sizeof d, "%s: %s, %g days ago", k ? "procedure" : "medication", it->name,
                 it->days_ago);
      add(out, ru, d, until);
    }
  if (p->fitzpatrick >= 4 && (ru = named(r, MN_RULE_PATIENT, "fitzpatrick_ge_4"))) {
    snprintf(d, sizeof d, "Fitzpatrick type %d", p->fitzpatrick);
    add(out, ru, d, -1);
  }
  if (p->age_y < 18 && (ru = named(r, MN_RULE_PATIENT, "age_lt_18"))) {
    snprintf(d, sizeof d, "age %g years", p->age_y);
    add(out, ru, d, -1);
  }
  lapse(out);
  return MN_OK;
}
