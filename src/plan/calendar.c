/* The aftercare calendar of a plan: each session, the redness window and the sun-avoidance window
 * after it, and the 6-month review, with the text the patient reads. One list: plan.ics, the
 * report's timeline and its patient section all render it. A window after session s spans the
 * 95th percentile over the draws of the regions treated that day. Stage: plan. */
#include <math.h>
#include <string.h>

#include "plan_impl.h"

/* The upper (q95) redness window and the sun-avoidance window (MN_PLAN_SUN_RULE) of session @p s
 * over the regions treated then, and the regions' settings as text. */
static void session_windows(const mn_plan *p, int s, double *red, double *sun, char *regions,
                            size_t n) {
  *red = *sun = 0;
  regions[0] = 0;
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    if (s >= r->sessions) continue;
    *red = fmax(*red, r->redness_days[2]);
    *sun = fmax(*sun, r->sun_window_days);
    size_t len = strlen(regions);
    snprintf(regions + len, n - len, "%s%s %.2f mm", len ? ", " : "", r->skin.region, r->depth_mm);
  }
}

static mn_plan_event *add(mn_plan *p, int kind, int session, long from, long to, double days,
                          int busy) {
  mn_plan_event *e = &p->events[p->n_events++];
  memset(e, 0, sizeof *e);
  e->kind = kind, e->session = session, e->from = from, e->to = to > from ? to : from + 1;
  e->days = days, e->busy = busy;
  return e;
}

/* The three entries of session @p s, which starts on day @p day. */
static void session_events(mn_plan *p, int s, long day) {
  double red, sun;
  char regions[256];
  session_windows(p, s, &red, &sun, regions, sizeof regions);
  mn_plan_event *e = add(p, MN_EVENT_SESSION, s, day, day + 1, 0, 1);
  snprintf(e->uid, sizeof e->uid, "mnsim-%s-session-%d@mnsim", p->start, s + 1);
  snprintf(e->summary, sizeof e->summary, "Micro-needling session %d of %d", s + 1, p->sessions);
  snprintf(e->text, sizeof e->text,
           "%s. Arrive with clean skin, no make-up. The clinician confirms the plan on the day; "
           "mnsim supports the decision and does not replace it.",
           regions);
  e = add(p, MN_EVENT_REDNESS, s, day, day + (long)ceil(red) + 1, red, 0);
  snprintf(e->uid, sizeof e->uid, "mnsim-%s-redness-%d@mnsim", p->start, s + 1);
  snprintf(e->summary, sizeof e->summary, "Redness expected (session %d)", s + 1);
  snprintf(e->text, sizeof e->text,
           "Visible redness usually fades within %.1f days (model median; up to %.1f days in 95 %% "
           "of parameter draws). Gentle cleanser and moisturiser only; no make-up for 24 hours; "
           "no retinoids, acids or exfoliants until it has faded.",
           p->region[0].redness_days[1], red);
  e = add(p, MN_EVENT_SUN, s, day, day + (long)sun + 1, sun, 0);
  snprintf(e->uid, sizeof e->uid, "mnsim-%s-sun-%d@mnsim", p->start, s + 1);
  snprintf(e->summary, sizeof e->summary, "Avoid the sun (session %d)", s + 1);
  snprintf(e->text, sizeof e->text,
           "Stay out of direct sun and use a broad-spectrum SPF 30+ sunscreen for %.0f days after "
           "the session (mnsim's rule: " MN_PLAN_SUN_RULE "), then keep using sunscreen daily.",
           sun);
}

int mn__plan_calendar(mn_plan *p, mn_error *err) {
  long start = mn_date_days(p->start);
  int cap = 3 * p->sessions + 1;
  mn_free(p->events);
  p->n_events = 0;
  p->events = mn_calloc((size_t)cap, sizeof *p->events);
  if (!p->events) return MN_ERR(err, MN_ENOMEM, "", "out of memory for the calendar");
  if (p->treat)
    for (int s = 0; s < p->sessions; s++)
      session_events(p, s, start + (long)llround(p->session_day[s]));
  long review = p->treat ? start + (long)llround(p->review_day) : start;
  mn_plan_event *e = add(p, MN_EVENT_REVIEW, -1, review, review + 1, 0, 1);
  snprintf(e->uid, sizeof e->uid, "mnsim-%s-review@mnsim", p->start);
  snprintf(e->summary, sizeof e->summary, "%s",
           p->treat ? "6-month review of the micro-needling course" : "Review with the clinician");
  snprintf(e->text, sizeof e->text, "%s",
           p->treat ? "New collagen forms for about 6 months after the last session: compare "
                      "photographs and decide on further sessions."
                    : "The screening did not clear treatment: see the clinician.");
  return MN_OK;
}
