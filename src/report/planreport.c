/* report.html of `mnsim plan`: one self-contained, printable page with the plan, the screening
 * with its sources, figures (planfigs.c, embedded as SVG data URIs, so each figure's ids stay
 * its own) and patient-facing aftercare text from the plan's calendar. Pipeline: report, last
 * before the CLI; it renders data computed before it is called: the plan and mn_plan_figures. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/report.h"
#include "report_impl.h"

#define WEEK 7.0

/* Base64 (RFC 4648), padded with '=', for the figures' data URIs. */
static void put_base64(FILE *fp, const char *s, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)s[i] << 16;
    if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)s[i + 2];
    fputc(tab[(v >> 18) & 63], fp);
    fputc(tab[(v >> 12) & 63], fp);
    fputc(i + 1 < n ? tab[(v >> 6) & 63] : '=', fp);
    fputc(i + 2 < n ? tab[v & 63] : '=', fp);
  }
}

/* HTML text with &, <, > and " escaped: safe in element text and in double-quoted attributes. */
static void esc(FILE *fp, const char *s) {
  for (; *s; s++) switch (*s) {
      case '&':
        fputs("&amp;", fp);
        break;
      case '<':
        fputs("&lt;", fp);
        break;
      case '>':
        fputs("&gt;", fp);
        break;
      case '"':
        fputs("&quot;", fp);
        break;
      default:
        fputc(*s, fp);
    }
}

/* printf, then escaped; the formatted text is cut at 2047 characters. */
static void escf(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void escf(FILE *fp, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  esc(fp, buf);
}

/* ---- the page ---------------------------------------------------------------------------------
 */

/* One figure: an <img> whose source is the SVG as a base64 data URI, and its caption. */
static void figure(FILE *fp, const char *svg, size_t len, const char *alt, const char *caption) {
  fputs("<figure><img class=\"fig\" alt=\"", fp);
  esc(fp, alt);
  fputs("\" src=\"data:image/svg+xml;base64,", fp);
  put_base64(fp, svg, len);
  fputs("\"><figcaption>", fp);
  esc(fp, caption);
  fputs("</figcaption></figure>\n", fp);
}

static const char *verdict_text(int v) {
  switch (v) {
    case MN_CAND_PROCEED:
      return "Proceed";
    case MN_CAND_PRECAUTIONS:
      return "Proceed with precautions";
    case MN_CAND_REFER:
      return "Refer: clearance by a physician first";
    default:
      return "Do not treat";
  }
}

/* The longest window of @p kind over the calendar, days. */
static double longest(const mn_plan *p, int kind) {
  double d = 0;
  for (int i = 0; i < p->n_events; i++)
    if (p->events[i].kind == kind) d = fmax(d, p->events[i].days);
  return d;
}

/* The patient's page: what to expect, in plain words, with the calendar's dates. "usually" is
 * the longest median redness over the regions, "almost always" and the sun advice the longest
 * windows of the calendar (95th percentiles over the parameter draws). */
static void aftercare(FILE *fp, const mn_plan *p) {
  double red = longest(p, MN_EVENT_REDNESS), sun = longest(p, MN_EVENT_SUN), med = 0;
  for (int i = 0; i < p->n_regions; i++) med = fmax(med, p->region[i].redness_days[1]);
  fputs("<section class=\"patient\"><h2>For the patient: what to expect</h2>\n", fp);
  if (!p->treat) {
    fputs(
        "<p>Your clinician will talk with you about whether micro-needling is right for you "
        "before any treatment is planned.</p></section>\n",
        fp);
    return;
  }
  fputs("<ul>\n", fp);
  fprintf(fp,
          "<li><b>Treatment day.</b> The skin looks and feels like a mild sunburn: red, warm, "
          "perhaps tight. Keep it clean; use only a gentle cleanser and the moisturiser you were "
          "given. No make-up for 24 hours.</li>\n"
          "<li><b>Days 1 to %.0f.</b> The redness fades, usually within %.1f days and almost "
          "always within %.1f days. Skin may feel dry or flake a little: do not pick or scrub. "
          "No retinoids, acids, exfoliants, saunas or swimming pools until the redness has "
          "gone.</li>\n",
          ceil(red), med, red);
  fprintf(fp,
          "<li><b>Sun.</b> Stay out of direct sun and use a broad-spectrum sunscreen (SPF 30 "
          "or more) while the skin heals, at least %.0f days after each session:</li>\n<ul>\n",
          ceil(sun));
  for (int i = 0; i < p->n_events; i++) {
    const mn_plan_event *e = &p->events[i];
    if (e->kind != MN_EVENT_SUN) continue;
    char d0[16], d1[16];
    mn_date_format(e->from, d0);
    mn_date_format(e->to - 1, d1);
    fprintf(fp, "<li>session %d on %s: avoid the sun until %s</li>\n", e->session + 1, d0, d1);
  }
  fputs("</ul>\n", fp);
  char rv[16];
  mn_date_format(mn_date_days(p->start) + (long)llround(p->review_day), rv);
  fprintf(fp,
          "<li><b>The weeks after.</b> New collagen keeps forming for about six months after the "
          "last session, so the full effect shows slowly. Keep using sunscreen every day.</li>\n"
          "<li><b>Call the clinic</b> if the redness lasts beyond a week, if blisters, crusts, "
          "pus, cold sores or dark patches appear, or if anything worries you.</li>\n"
          "<li><b>Review.</b> %s: photographs are compared and further sessions decided.</li>\n"
          "</ul></section>\n",
          rv);
}

/* The page's head and title block. Classes .v0 to .v3 colour the verdict box in the order of the
 * verdicts (proceed, precautions, refer, do not treat). The inline script counts the figures
 * that decoded into data-figures and data-broken on <body>, for the headless-browser test. */
static void page_head(FILE *fp, const mn_plan_report *rp) {
  const mn_patient_file *pf = rp->po->pf;
  const mn_plan_request *q = &pf->req;
  fputs(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      fp);
  escf(fp, "mnsim plan: %s", pf->description[0] ? pf->description : pf->file);
  fputs(
      "</title>\n<style>\n"
      "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:60em;margin:2em auto;"
      "padding:0 1em;color:#222;line-height:1.4}\n"
      "h1{font-size:1.6em;margin-bottom:0.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;"
      "padding-bottom:0.2em;margin-top:1.6em}\n"
      "table{border-collapse:collapse;width:100%;margin:0.6em 0;font-size:0.92em}"
      "th,td{border:1px solid #ccc;padding:0.3em 0.5em;text-align:left;vertical-align:top}"
      "th{background:#f2f2f2}\n"
      ".verdict{font-size:1.2em;font-weight:bold;padding:0.5em;border-left:6px solid #888;"
      "background:#f7f7f7}.v0{border-color:#2ca02c}.v1{border-color:#ff7f0e}"
      ".v2{border-color:#d62728}.v3{border-color:#7f0000}\n"
      ".note{background:#fff8e0;border:1px solid #e8d48b;padding:0.6em;margin:0.8em 0}\n"
      "figure{margin:1em 0;page-break-inside:avoid}img.fig{width:100%;height:auto;"
      "border:1px solid #ddd}figcaption{font-size:0.9em;color:#444}\n"
      ".patient{border:2px solid #1f77b4;padding:0 1em 0.6em;border-radius:6px}\n"
      "@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}"
      ".patient{page-break-before:always}}\n"
      "</style>\n"
      /* marks the figures that decoded (a test reads the attributes from the DOM) */
      "<script>window.addEventListener('load',function(){var n=0,b=0;"
      "for(var i=0;i<document.images.length;i++){var m=document.images[i];"
      "if(m.complete&&m.naturalWidth>0)n++;else b++;}"
      "document.body.setAttribute('data-figures',n);"
      "document.body.setAttribute('data-broken',b);});</script>\n"
      "</head><body>\n",
      fp);
  fputs("<h1>Micro-needling plan</h1>\n<p>", fp);
  escf(fp, "%s", pf->description);
  fputs("<br>", fp);
  escf(fp, "Patient: %g years, %s, Fitzpatrick %s. Patient file: %s. Report made %s with mnsim %s.",
       q->patient.age_y, q->patient.sex ? "male" : "female",
       mn_fitzpatrick_name(q->patient.fitzpatrick), pf->file, rp->today, mn_version());
  fputs(
      "</p>\n<p class=\"note\"><b>mnsim supports the clinician's decision and does not replace "
      "it.</b> Every prediction below comes with its uncertainty (the 90 % band over the "
      "model's parameter draws) and its sources; where the evidence is thin the report says "
      "so.</p>\n",
      fp);
}

/* Candidacy: the verdict and every matching rule with its source. */
static void section_candidacy(FILE *fp, const mn_plan *p) {
  fprintf(fp, "<h2>Candidacy screening</h2>\n<p class=\"verdict v%d\">", p->cand.verdict);
  esc(fp, verdict_text(p->cand.verdict));
  if (p->allowed_from[0]) /* time-limited: the course is deferred, not cancelled */
    escf(fp, " until %s (time-limited rules), then: %s", p->allowed_from,
         verdict_text(p->cand.verdict_later));
  fputs("</p>\n", fp);
  if (p->cand.n_unruled) {
    fputs("<p class=\"note\"><b>No rule in mnsim: check at consultation.</b></p>\n<ul>\n", fp);
    for (int i = 0; i < p->cand.n_unruled; i++) {
      const mn_candidacy_unruled *u = &p->cand.unruled[i];
      fputs("<li>", fp);
      escf(fp, "%s: %s", mn_rule_kind_name(u->kind), u->name);
      if (u->kind != MN_RULE_CONDITION) escf(fp, " (%g days ago)", u->days_ago);
      if (u->nearest[0]) escf(fp, " - a typo of '%s'?", u->nearest);
      if (u->held)
        escf(fp,
             " Held at refer until a clinician confirms the name ('%s' has a refer or "
             "do-not-treat rule).",
             u->nearest);
      fputs("</li>\n", fp);
    }
    fputs("</ul>\n", fp);
  }
  if (p->cand.n == 0)
    fputs("<p>No rule of the screening table applies to what the patient file lists.</p>\n", fp);
  else {
    fputs(
        "<table><tr><th>rule</th><th>verdict</th><th>found</th><th>reason</th>"
        "<th>precaution</th><th>source (evidence)</th></tr>\n",
        fp);
    for (int i = 0; i < p->cand.n; i++) {
      const mn_candidacy_rule *r = p->cand.match[i];
      fputs("<tr><td>", fp);
      esc(fp, r->id);
      fputs("</td><td>", fp);
      esc(fp, mn_candidacy_verdict_name(r->verdict));
      fputs("</td><td>", fp);
      esc(fp, p->cand.detail[i]);
      fputs("</td><td>", fp);
      esc(fp, r->reason);
      fputs("</td><td>", fp);
      esc(fp, r->precaution);
      fputs("</td><td>", fp);
      escf(fp, "%s (%s)", r->source, r->evidence);
      fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
  }
}

/* The plan: the course, its dates, and per region the setting, goal, bands and windows. A
 * session's row lists the regions treated in it (a region may need fewer sessions than the
 * course has). */
static void section_plan(FILE *fp, const mn_plan_report *rp) {
  const mn_plan *p = rp->po->plan;
  const mn_plan_request *q = &rp->po->pf->req;
  long start = mn_date_days(p->start);
  fputs("<h2>The plan</h2>\n", fp);
  if (!p->treat)
    fputs(
        "<p class=\"note\">The screening does not clear treatment: no session is scheduled. "
        "The protocol below is what the model would suggest once a physician has cleared the "
        "patient.</p>\n",
        fp);
  char rv[16];
  mn_date_format(start + (long)llround(p->review_day), rv);
  fprintf(fp, "<p>%d session%s, every %g weeks, from %s; review on %s.", p->sessions,
          p->sessions == 1 ? "" : "s", p->interval_days / WEEK, p->start, rv);
  if (!p->reached)
    fputs(" <b>Not every goal is reached within the constraints: the best plan is shown.</b>", fp);
  fputs("</p>\n", fp);
  if (p->interval_reason[0]) {
    fputs("<p>The interval: ", fp);
    esc(fp, p->interval_reason);
    fputs(".</p>\n", fp);
  }
  if (p->note[0]) {
    fputs("<p class=\"note\">", fp);
    esc(fp, p->note);
    fputs("</p>\n", fp);
  }
  fputs("<table><tr><th>session</th><th>date</th><th>regions</th></tr>\n", fp);
  for (int s = 0; s < p->sessions; s++) {
    char d[16];
    mn_date_format(start + (long)llround(p->session_day[s]), d);
    fprintf(fp, "<tr><td>%d</td><td>%s</td><td>", s + 1, d);
    for (int i = 0, first = 1; i < p->n_regions; i++)
      if (s < p->region[i].sessions) {
        escf(fp, "%s%s", first ? "" : ", ", p->region[i].skin.region);
        first = 0;
      }
    fputs("</td></tr>\n", fp);
  }
  fputs(
      "</table>\n<table><tr><th>region</th><th>setting</th><th>sessions</th><th>goal</th>"
      "<th>at the review: median [90 % band]</th><th>probability for a patient (the mean "
      "patient's)</th><th>redness per session"
      "</th><th>sun avoidance</th><th>PIH risk (calibrated on three trials)</th></tr>\n",
      fp);
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    fputs("<tr><td>", fp);
    escf(fp, "%s: %s %s", r->skin.region, mn_severity_name(r->req.severity),
         mn_concern_name(r->req.concern));
    fputs("</td><td>", fp);
    escf(fp, "%s at %.2f mm, %d pass%s (%.0f/cm2)", q->device, r->depth_mm, r->passes,
         r->passes == 1 ? "" : "es", r->density_cm2);
    fprintf(fp, "</td><td>%d</td><td>", r->sessions);
    if (r->quantity == MN_GOAL_NONE)
      fputs("none modelled (clinic protocol)</td><td>-</td><td>-", fp);
    else {
      escf(fp, "%s >= %.0f %%", r->quantity == MN_GOAL_FILL ? "fill" : "papillary collagen",
           r->goal_pct);
      if (r->quantity == MN_GOAL_FILL)
        escf(fp, " of the %.2f mm depth (to %.2f mm)", r->defect_mm,
             r->defect_mm * (1 - r->goal_pct / 100));
      fprintf(fp,
              "</td><td>%.1f %% [%.1f, %.1f]</td><td>%.0f %% &plusmn; %.1f (%.0f %% &plusmn; "
              "%.1f)%s",
              r->outcome[1], r->outcome[0], r->outcome[2], 100 * r->probability,
              100 * r->probability_mcse, 100 * r->probability_population,
              100 * r->probability_population_mcse, r->reached ? "" : " (goal not reached)");
    }
    fprintf(fp,
            "</td><td>%.1f d [%.1f, %.1f]</td><td>%.0f days</td><td>%.0f %% "
            "[%.0f, %.0f]</td></tr>\n",
            r->redness_days[1], r->redness_days[0], r->redness_days[2], r->sun_window_days,
            r->pih_pct[1], r->pih_pct[0], r->pih_pct[2]);
  }
  fputs("</table>\n<p class=\"note\">Sun avoidance after each session: " MN_PLAN_SUN_RULE ".</p>\n",
        fp);
}

/* The figures with their captions. The captions restate how plan/figures.c made the data (the
 * first region's setting, a 10 x 10 mm patch with 1 mm cells, a periodic unit cell): they must be
 * kept in step with it by hand. */
static void section_figures(FILE *fp, const mn_plan_report *rp, char *const *svg,
                            const size_t *len) {
  const mn_plan *p = rp->po->plan;
  const mn_plan_request *q = &rp->po->pf->req;
  fputs("<h2>Figures</h2>\n", fp);
  figure(fp, svg[0], len[0], "redness over the first week",
         "Redness index after one session (hourly): the line is the median over the parameter "
         "draws, the shade the 90 % band; above the dashed threshold redness is visible for this "
         "skin type.");
  figure(fp, svg[1], len[1], "collagen gain over 12 months",
         "Papillary collagen change over the first year of the course (daily, superposed "
         "sessions): median and 90 % band; dashed lines mark the sessions.");
  figure(fp, svg[2], len[2], "session timeline",
         "The course: sessions, the redness window and the sun-avoidance window after each "
         "(95th percentile), and the 6-month review.");
  char cap[800];
  snprintf(cap, sizeof cap,
           "Puncture density of one session of the first region's setting (%s at %.2f mm, %d "
           "pass%s) on a 10 x 10 mm patch, 1 mm cells.",
           q->device, p->region[0].depth_mm, p->region[0].passes,
           p->region[0].passes == 1 ? "" : "es");
  figure(fp, svg[3], len[3], "puncture density map", cap);
  if (rp->figs->has_section) {
    snprintf(cap, sizeof cap,
             "Virtual histology: a cross-section through one channel of the first region's "
             "setting in a short 3D run (periodic unit cell, %.0f um cells): tissue damage right "
             "after the session (D, the fraction of tissue destroyed, 0-1) and neutrophils a day "
             "later (N, the excess over healthy skin in the model's cell-density unit Q; "
             "docs/model.md, Species). Each panel has its own colour scale. Dashed lines are the "
             "layer boundaries: VE viable epidermis, PD papillary and RD reticular dermis (the "
             "stratum corneum, the thin top row, is not labelled).",
             rp->figs->section.dx_um);
    figure(fp, svg[4], len[4], "virtual histology cross-section", cap);
  }
  figure(fp, svg[5], len[5], "what drives the uncertainty",
         "What drives the predictions' uncertainty: Sobol total indices (bars; first-order "
         "inside) of the 12 model parameters that matter most, for a reference course (cheek, "
         "Fitzpatrick III, pen-12 at 1.0 mm, 3 sessions 42 days apart; `mnsim sensitivity`, "
         "data/sensitivity.csv, docs/calibration.md), not for this patient's plan. A large index "
         "on a parameter the calibration does not fit (every parameter but k_d_epi, K_V, V_vis, "
         "a_d, q_F, C_set, v_close, pih_m50, pih_sigma, kap_fill and rho_box) means that "
         "output's band above is "
         "narrower than the model's real uncertainty: the bands vary only the fitted parameters.");
}

/* Evidence and limits. */
static void section_evidence(FILE *fp, const mn_plan_report *rp) {
  const mn_plan *p = rp->po->plan;
  const mn_plan_request *q = &rp->po->pf->req;
  fputs("<h2>Evidence and limits</h2>\n<ul>\n", fp);
  fprintf(fp,
          "<li>Predictions: the lumped twin of mnsim's healing model over up to %d draws of the "
          "posterior parameter ensemble (docs/calibration.md), %d model runs; a goal counts as "
          "reached when a patient reaches it with a probability of at least %.0f %%. Each "
          "probability carries its Monte Carlo standard error (&plusmn;)",
          p->draws_used, p->evaluations, 100 * q->constraints.probability);
  if (q->max_mcse > 0)
    fprintf(fp, ", at most %.1f points where the posterior table's effective sample size allows",
            100 * q->max_mcse);
  fputs(
      ". Where the draws are many, a quadratic emulator of each course's collagen and "
      "thickening in the parameters that move them predicts the draws that are not run, and "
      "the runs beside its fit correct its error (a control variate; the error it leaves is "
      "part of the &plusmn;); the bands and curves come from the runs alone.</li>\n",
      fp);
  if (p->spread_q[1] > 0)
    fprintf(fp,
            "<li>Patients differ: each one's response is taken as the mean's times a factor of "
            "mean 1 and log-SD sigma_b = %.2f [90 %% interval %.2f-%.2f], estimated from the "
            "spread of the response in two published trials (data/between_patient.csv: one on "
            "wrinkles, one on acne scars whose category limits are our assumption). The "
            "probability for a patient integrates over it; in brackets, the probability that "
            "the mean patient reaches the goal. Both studies' spreads include rater noise, so "
            "the patient-to-patient spread may be smaller than assumed.</li>\n",
            p->spread_q[1], p->spread_q[0], p->spread_q[2]);
  else
    fputs(
        "<li>Every patient is taken to respond as the mean (patient_spread -1): the "
        "probabilities are those of the mean patient.</li>\n",
        fp);
  for (int i = 0; i < p->n_regions; i++) {
    const mn_plan_region *r = &p->region[i];
    fputs("<li>", fp);
    escf(fp, "%s: indication %s/%s from data/indications.csv (%s; evidence %s). Depth: %s.",
         r->skin.region, mn_concern_name(r->req.concern), mn_severity_name(r->req.severity),
         r->ind ? r->ind->source : "", r->ind ? r->ind->evidence : "", r->depth_reason);
    fputs("</li>\n", fp);
  }
  fputs(
      "<li>The pigmentation (PIH) risk is calibrated on the only incidence data there are: three "
      "small trials, 0 of 46, 2 of 30 and 5 of 30 patients (data/targets.csv CT08a-c, "
      "docs/calibration.md); read it as a rough guide. For Fitzpatrick IV to VI it enters the "
      "plan through the PIH precaution (the 95th percentile capped), and the plan says when it "
      "acted.</li>\n"
      "<li>The uncertainty shown is the model's parameter uncertainty, not the spread between "
      "patients.</li>\n</ul>\n</body></html>\n",
      fp);
}

/* The figures are rendered first, so that a PLplot failure writes nothing; the page is then
 * written section by section and the stream's error flag checked at the end. */
int mn_report_plan_html(FILE *fp, const void *ctx, mn_error *err) {
  const mn_plan_report *rp = ctx;
  const mn_plan *p = rp->po->plan;
  int rc = MN_OK;
  char *svg[MN__PLAN_FIGS] = {0};
  size_t len[MN__PLAN_FIGS] = {0};
  MN_TRY(mn__plan_svgs(rp, svg, len, err));
  page_head(fp, rp);
  section_candidacy(fp, p);
  section_plan(fp, rp);
  section_figures(fp, rp, svg, len);
  aftercare(fp, p);
  section_evidence(fp, rp);
  if (ferror(fp)) rc = MN_ERR(err, MN_EIO, "", "report.html: write failed");
cleanup:
  for (int i = 0; i < MN__PLAN_FIGS; i++) mn_free(svg[i]);
  return rc;
}
