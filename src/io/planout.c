/* plan.json (Jansson) and plan.ics (libical) of `mnsim plan`: the plan, its screening and its
 * aftercare calendar as data for scripts and calendar programs. Pipeline: io; renders the mn_plan
 * made by plan, with the request it answers. Reference: docs/plan.md; RFC 5545 (iCalendar). */
#include <jansson.h>
#include <libical/ical.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io_impl.h"

/* JSON has no NaN or infinity: a non-finite number is written as null. */
static json_t *num(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

/* A 90 % band {median, q05, q95} from q = {5 %, 50 %, 95 %} quantiles. */
static json_t *band(const double q[3]) {
  return json_pack("{s:o,s:o,s:o}", "median", num(q[1]), "q05", num(q[0]), "q95", num(q[2]));
}

static const char *quantity_text(int q) {
  return q == MN_GOAL_FILL       ? "fill_pct"
         : q == MN_GOAL_COLLAGEN ? "papillary_collagen_pct"
                                 : "none (clinic protocol)";
}

/* The screening's verdict and every rule that matched, with what matched it, when it lapses
 * (days from the screening; null: it lasts) and its source; then the entries no rule names. */
static json_t *candidacy_json(const mn_candidacy *c) {
  json_t *m = json_array(), *u = json_array();
  for (int i = 0; i < c->n; i++) {
    const mn_candidacy_rule *r = c->match[i];
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "rule", r->id, "name", r->name,
                          "verdict", mn_candidacy_verdict_name(r->verdict), "matched", c->detail[i],
                          "reason", r->reason, "precaution", r->precaution, "source", r->source,
                          "evidence", r->evidence);
    json_object_set_new(o, "lapses_after_days",
                        c->until_day[i] >= 0 ? json_real(c->until_day[i]) : json_null());
    json_array_append_new(m, o);
  }
  for (int i = 0; i < c->n_unruled; i++) {
    const mn_candidacy_unruled *e = &c->unruled[i];
    json_t *o = json_pack("{s:s,s:s,s:s}", "kind", mn_rule_kind_name(e->kind), "name", e->name,
                          "check", "no rule in mnsim: check at consultation");
    if (e->kind != MN_RULE_CONDITION) json_object_set_new(o, "days_ago", json_real(e->days_ago));
    json_object_set_new(o, "likely_typo_of", e->nearest[0] ? json_string(e->nearest) : json_null());
    json_object_set_new(o, "held_at_refer", json_boolean(e->held));
    json_array_append_new(u, o);
  }
  return json_pack("{s:s,s:s,s:o,s:o,s:s}", "verdict", mn_candidacy_verdict_name(c->verdict),
                   "verdict_once_lapsed", mn_candidacy_verdict_name(c->verdict_later), "rules", m,
                   "no_rule", u, "note",
                   "mnsim supports the clinician's decision and does not replace it; rules from "
                   "data/candidacy.csv with their sources");
}

/* One region's plan. defect_mm and residual_mm (the depth the goal is to reach) are null unless
 * the goal is a fill, goal_pct null when no goal is modelled (a clinic protocol). */
static json_t *region_json(const mn_plan_region *r) {
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:o,s:o,s:s,s:i,s:o,s:i,s:b,s:o,s:o,s:i,s:o,s:o,s:o,s:o,s:"
      "o,s:"
      "o,s:o,"
      "s:s,s:s,s:s}",
      "region", r->skin.region, "concern", mn_concern_name(r->req.concern), "severity",
      mn_severity_name(r->req.severity), "goal_quantity", quantity_text(r->quantity), "defect_mm",
      num(r->quantity == MN_GOAL_FILL ? r->defect_mm : NAN), "goal_pct",
      num(r->quantity == MN_GOAL_NONE ? NAN : r->goal_pct), "device_depth_reason", r->depth_reason,
      "precaution_applied", r->precaution, "depth_mm", num(r->depth_mm), "depth_cap_mm",
      num(r->depth_cap_mm), "passes_note",
      "passes at the default hand speed; density is per session", "passes", r->passes,
      "density_cm2", num(r->density_cm2), "sessions", r->sessions, "goal_reached", r->reached,
      "probability", num(r->probability), "probability_mcse", num(r->probability_mcse), "draws",
      r->draws_kept - 1, "outcome_at_review", band(r->outcome), "papillary_collagen_pct_at_review",
      band(r->collagen_pd), "redness_days_per_session", band(r->redness_days),
      "barrier_days_per_session", band(r->barrier_days), "sun_window_model_days_per_session",
      band(r->sun_days), "sun_avoidance_days", num(r->sun_window_days), "pih_risk_pct",
      band(r->pih_pct), "pih_note",
      "calibrated on three trials' incidence (0 of 46, 2 of 30, 5 of 30 patients): wide "
      "uncertainty",
      "indication_source", r->ind ? r->ind->source : "", "binding", r->binding);
  if (o) json_object_set_new(o, "probability_population", num(r->probability_population));
  if (o)
    json_object_set_new(o, "residual_mm", num(r->quantity == MN_GOAL_FILL ? r->residual_mm : NAN));
  if (o) json_object_set_new(o, "probability_population_mcse", num(r->probability_population_mcse));
  if (o) json_object_set_new(o, "draws_run", json_integer(r->draws_exact - 1));
  if (o) json_object_set_new(o, "probability_ess", num(r->probability_ess));
  return o;
}

/* Dates are the plan's start plus each day offset rounded to a whole day; the patient's
 * conditions, medications and procedures are echoed beside the screening that used them. */
int mn_io_plan_json(FILE *fp, const void *ctx, mn_error *err) {
  const mn_plan_output *o = ctx;
  const mn_plan *p = o->plan;
  const mn_plan_request *q = &o->pf->req;
  json_t *regions = json_array(), *sessions = json_array(), *cond = json_array(),
         *meds = json_array(), *procs = json_array();
  long start = mn_date_days(p->start);
  for (int i = 0; i < p->n_regions; i++) json_array_append_new(regions, region_json(&p->region[i]));
  for (int s = 0; s < p->sessions; s++) {
    char d[16];
    mn_date_format(start + (long)llround(p->session_day[s]), d);
    json_t *treated = json_array();
    for (int i = 0; i < p->n_regions; i++)
      if (s < p->region[i].sessions)
        json_array_append_new(treated, json_string(p->region[i].skin.region));
    json_array_append_new(sessions,
                          json_pack("{s:i,s:s,s:o}", "n", s + 1, "date", d, "regions", treated));
  }
  for (int i = 0; i < q->patient.n_conditions; i++)
    json_array_append_new(cond, json_string(q->patient.conditions[i]));
  for (int i = 0; i < q->patient.n_medications; i++)
    json_array_append_new(meds, json_pack("{s:s,s:o}", "name", q->patient.medications[i].name,
                                          "days_ago", num(q->patient.medications[i].days_ago)));
  for (int i = 0; i < q->patient.n_procedures; i++)
    json_array_append_new(procs, json_pack("{s:s,s:o}", "name", q->patient.procedures[i].name,
                                           "days_ago", num(q->patient.procedures[i].days_ago)));
  char review[16];
  mn_date_format(start + (long)llround(p->review_day), review);
  json_t *plan = json_pack(
      "{s:b,s:s,s:s?,s:i,s:o,s:o,s:s,s:o,s:s,s:b,s:s,s:o}", "treat", p->treat, "start", p->start,
      "allowed_from", p->allowed_from[0] ? p->allowed_from : NULL, "sessions", p->sessions,
      "interval_weeks", num(p->interval_days / 7), "model_best_interval_weeks",
      num(p->interval_best_days / 7), "interval_reason", p->interval_reason, "dates", sessions,
      "review", review, "every_goal_reached", p->reached, "note", p->note, "regions", regions);
  json_t *root = json_pack(
      "{s:s,s:s,s:s,s:s,s:{s:o,s:s,s:i,s:o,s:o,s:o},s:o,s:o,s:{s:s,s:i,s:o,s:I,s:i,s:i,s:o,s:s,s:s}"
      "}",
      "mnsim_version", mn_version(), "command", o->command ? o->command : "plan", "patient_file",
      o->pf->file, "description", o->pf->description, "patient", "age_y", num(q->patient.age_y),
      "sex", q->patient.sex ? "male" : "female", "fitzpatrick", q->patient.fitzpatrick,
      "conditions", cond, "medications", meds, "procedures", procs, "candidacy",
      candidacy_json(&p->cand), "plan", plan, "method", "device", q->device, "draws", p->draws_used,
      "max_mcse", num(q->max_mcse), "seed", (json_int_t)q->seed, "lumped_runs", p->evaluations,
      "lumped_runs_resumed", p->resumed, "probability_required", num(q->constraints.probability),
      "sun_avoidance_rule", MN_PLAN_SUN_RULE, "model",
      "lumped twin, each course run whole for every parameter draw (docs/plan.md)");
  if (root) /* the patient factor behind every probability (docs/plan.md) */
    json_object_set_new(
        json_object_get(root, "method"), "patient_spread",
        json_pack("{s:o,s:s}", "sigma_b", band(p->spread_q), "source", p->spread_label));
  if (!root) return MN_ERR(err, MN_EINTERNAL, "", "plan.json: could not build the document");
  int bad = json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
  json_decref(root);
  fputc('\n', fp);
  return bad ? MN_ERR(err, MN_EIO, "", "plan.json: write failed") : MN_OK;
}

/* ---- plan.ics ------------------------------------------------------------------------------ */

/* An all-day DATE value for a day number (days since 1970-01-01). */
static struct icaltimetype day_of(long days) {
  char d[16];
  mn_date_format(days, d);
  struct icaltimetype t = icaltime_null_date();
  t.year = atoi(d), t.month = atoi(d + 5), t.day = atoi(d + 8);
  return t;
}

/* An all-day VEVENT over [from, to_excl): DTEND is exclusive (RFC 5545 3.6.1), and an empty
 * window still spans its first day. Busy events block time (TRANSP OPAQUE); the others show as
 * free. */
static void add_event(icalcomponent *cal, const char *uid, long from, long to_excl,
                      const char *summary, const char *desc, int busy, struct icaltimetype stamp) {
  icalcomponent *ev = icalcomponent_new_vevent();
  icalcomponent_add_property(ev, icalproperty_new_uid(uid));
  icalcomponent_add_property(ev, icalproperty_new_dtstamp(stamp));
  icalcomponent_add_property(ev, icalproperty_new_dtstart(day_of(from)));
  icalcomponent_add_property(ev,
                             icalproperty_new_dtend(day_of(to_excl > from ? to_excl : from + 1)));
  icalcomponent_add_property(ev, icalproperty_new_summary(summary));
  icalcomponent_add_property(ev, icalproperty_new_description(desc));
  icalcomponent_add_property(
      ev, icalproperty_new_transp(busy ? ICAL_TRANSP_OPAQUE : ICAL_TRANSP_TRANSPARENT));
  icalcomponent_add_component(cal, ev);
}

/* DTSTAMP is the request's creation time, never the clock, and the UIDs are the plan's, so that
 * the same request gives the same bytes (tests/golden). */
int mn_io_plan_ics(FILE *fp, const void *ctx, mn_error *err) {
  const mn_plan_output *o = ctx;
  const mn_plan *p = o->plan;
  struct icaltimetype stamp =
      icaltime_from_timet_with_zone((time_t)o->created_unix, 0, icaltimezone_get_utc_timezone());
  icalcomponent *cal = icalcomponent_new_vcalendar();
  icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
  icalcomponent_add_property(cal, icalproperty_new_prodid("-//mnsim//mnsim plan//EN"));
  icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
  for (int i = 0; i < p->n_events; i++) {
    const mn_plan_event *e = &p->events[i];
    add_event(cal, e->uid, e->from, e->to, e->summary, e->text, e->busy, stamp);
  }
  char *text = icalcomponent_as_ical_string_r(cal);
  icalcomponent_free(cal);
  if (!text) return MN_ERR(err, MN_EINTERNAL, "", "plan.ics: libical could not serialise");
  size_t n = strlen(text);
  int bad = fwrite(text, 1, n, fp) != n;
  free(text);
  return bad ? MN_ERR(err, MN_EIO, "", "plan.ics: write failed") : MN_OK;
}
