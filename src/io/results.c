/* Result files of `mnsim simulate`: the time series of layer means (CSV) and the outcome summary
 * (JSON) with the inputs, the grid or the lumped twin's geometry, the uncertainty bands and the
 * evidence behind each observable. Pipeline: io; renders what course computed (series, outcome,
 * bands). Reference: docs/formats.md. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "io_impl.h"

/* Columns <layer>_<species> only where the species lives (mn_species_in_layer), in the same
 * layer-then-species order in the header and in every row. */
int mn_io_timeseries_csv(FILE *fp, const void *ctx, mn_error *err) {
  const mn_sim_result *r = ctx;
  const mn_timeseries *ts = r->ts;
  fprintf(fp, "t_day,session,redness");
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    for (int q = 0; q < MN_NSPECIES; q++)
      if (mn_species_in_layer(q, l)) fprintf(fp, ",%s_%s", mn_layer_name(l), mn_species_name(q));
  fputc('\n', fp);
  for (int i = 0; i < ts->n; i++) {
    fprintf(fp, "%.6f,%d,%.9g", ts->t[i], ts->session[i], ts->redness[i]);
    for (int l = 0; l < MN_LAYER_HYPO; l++)
      for (int q = 0; q < MN_NSPECIES; q++)
        if (mn_species_in_layer(q, l)) fprintf(fp, ",%.9g", mn_ts_mean(ts, i, l, q));
    fputc('\n', fp);
  }
  if (ferror(fp)) return MN_ERR(err, MN_EIO, "", "write error: %s", strerror(errno));
  return MN_OK;
}

/* JSON has no NaN or infinity: a non-finite number is written as null. */
static json_t *num(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static json_t *per_session(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, num(v[i]));
  return a;
}

/* Collagen per dermal layer (it lives in PD and RD only) at 30, 90, 180 days and at the end. */
static json_t *collagen(const mn_outcome *o) {
  json_t *c = json_object();
  static const char *const layer[2] = {"PD", "RD"};
  for (int l = 0; l < 2; l++)
    json_object_set_new(
        c, layer[l],
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "day_30_pct", num(o->collagen_pct[l][0]),
                  "day_90_pct", num(o->collagen_pct[l][1]), "day_180_pct",
                  num(o->collagen_pct[l][2]), "end_pct", num(o->collagen_end_pct[l]),
                  "type3_fraction_end", num(o->type3_end[l]), "elastin_end_pct",
                  num(o->elastin_end_pct[l])));
  return c;
}

static json_t *params_json(const mn_param_set *ps) {
  json_t *a = json_array();
  for (int i = 0; i < ps->n; i++) {
    const mn_param_info *p = &ps->info[i];
    json_array_append_new(
        a, json_pack("{s:s,s:o,s:s,s:[o,o],s:s}", "name", p->name, "value", num(p->value), "unit",
                     p->unit, "range", num(p->min), num(p->max), "tag", p->tag));
  }
  return a;
}

/* The 3D grid, or for a lumped run the twin's geometry; null when there is neither. */
static json_t *grid_json(const mn_sim_result *r) {
  const mn_grid *g = r->grid;
  if (g)
    return json_pack("{s:i,s:i,s:i,s:o,s:o,s:o,s:s}", "nx", g->nx, "ny", g->ny, "nz", g->nz,
                     "dx_um", num(g->dx_um), "width_mm", num(1e-3 * g->dx_um * g->nx), "depth_um",
                     num(g->zf_um[g->nz]), "lateral_bc",
                     g->lateral_bc == MN_BC_PERIODIC ? "periodic" : "zero_flux");
  const mn_lumped_geometry *l = r->lumped;
  if (!l) return json_null();
  json_t *f = json_array();
  for (int i = 0; i < l->slabs; i++) json_array_append_new(f, num(l->f_inj[i]));
  return json_pack("{s:s,s:o,s:o,s:o,s:o,s:i,s:o,s:b}", "model",
                   "lumped (near and far zone per slab)", "cell_radius_um", num(l->b_um),
                   "channel_radius_um", num(l->a_um), "near_zone_radius_um", num(l->rn_um),
                   "near_zone_fraction", num(l->phi), "slabs", l->slabs,
                   "injured_fraction_per_slab", f, "bleeding", l->bleeding);
}

/* The bands over parameter draws, with how the draws were made; null without bands. */
static json_t *uq_json(const mn_outcome_bands *u) {
  if (!u) return json_null();
  json_t *b = json_object();
  for (int k = 0; k < MN_OQ_COUNT; k++)
    json_object_set_new(
        b, mn_outcome_scalar_name(k),
        json_pack("{s:o,s:o,s:o,s:s}", "median", num(u->band[k][1]), "q05", num(u->band[k][0]),
                  "q95", num(u->band[k][2]), "unit", mn_outcome_scalar_unit(k)));
  const char *method =
      u->source == MN_ENSEMBLE_PRIOR
          ? "lumped twin over Latin-hypercube draws of every parameter's range (calibrated where "
            "fitted): the table's value is the median, half of the draws on each side up to the "
            "range's end, log-uniform where the range spans a factor of 3 or more; draws with "
            "loop gain G >= 1 dropped; 90 % band = 5th to 95th percentile"
          : "lumped twin over the posterior ensemble (data/posterior.csv): Latin-hypercube draws "
            "of the calibrated ranges weighted by their agreement with the calibration targets "
            "and resampled (docs/calibration.md); parameters set in the case's model section "
            "keep their value; 90 % band = 5th to 95th percentile";
  return json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:I,s:o}", "method", method, "ensemble",
                   u->source == MN_ENSEMBLE_PRIOR ? "prior" : "posterior", "draws", u->draws,
                   "kept", u->kept, "dropped_unstable", u->dropped, "failed", u->failed, "seed",
                   (json_int_t)u->seed, "bands", b);
}

/* Thickening, pigment, sun, epidermis and elasticity into @p obs. */
static void matrix_json(const mn_sim_result *r, json_t *obs) {
  const mn_outcome *o = r->out;
  json_object_set_new(
      obs, "dermal_thickness_um",
      json_pack(
          "{s:o,s:o,s:o,s:o,s:s}", "day_30", num(o->thickness_um[0]), "day_90",
          num(o->thickness_um[1]), "day_180", num(o->thickness_um[2]), "end",
          num(o->thickness_end_um), "note",
          "psi x sum of layer thickness x collagen change; psi is an estimate (low confidence)"));
  json_object_set_new(
      obs, "pigmentation",
      json_pack(
          "{s:o,s:o,s:s}", "mel_peak", num(o->mel_peak), "pih_risk", num(o->pih_risk), "note",
          "pih_m50 and pih_sigma calibrated on three trials' incidence (CT08a-c); the melanogenic "
          "drive's rates are estimates: wide uncertainty"));
  json_object_set_new(obs, "sun_avoidance_days", per_session(o->sun_days, o->n_sessions));
  json_object_set_new(
      obs, "epidermis",
      json_pack("{s:o,s:s}", "thickening_end_pct", num(o->epidermis_end_pct), "note",
                "keratinocyte excess K of the viable epidermis (estimates; docs/model.md)"));
  json_object_set_new(
      obs, "elasticity",
      json_pack(
          "{s:o,s:s}", "stiffness_change_end_pct", num(o->elasticity_end_pct), "note",
          "small-strain stiffness from collagen (sqrt law, [R]) and elastin; low confidence"));
  double u_free, u = mn_sun_dose(&r->cs->sun, &u_free);
  json_object_set_new(
      obs, "sun",
      json_pack("{s:o,s:o,s:o,s:o}", "uvi", num(r->cs->sun.uvi), "dose_sed_per_day", num(u),
                "unprotected_sed_per_day", num(u_free), "adherence", num(r->cs->sun.adherence)));
}

/* One entry per lesion: its thickening and fill. */
static json_t *lesions_json(const mn_sim_result *r) {
  const mn_outcome *o = r->out;
  json_t *les = json_array();
  for (int i = 0; i < r->cs->n_lesions; i++) {
    char desc[256];
    mn_lesion_describe(&r->cs->lesions[i], desc, sizeof desc);
    const mn_lesion *l = &r->cs->lesions[i];
    double dh = r->lesion_dh_um ? r->lesion_dh_um[i] : o->thickness_end_um;
    double gain = r->lesion_gain ? r->lesion_gain[i] : o->collagen_end_pct[0] / 100;
    double fill = 100 * mn_outcome_depth_loss(&r->params->p, l->type, gain);
    json_array_append_new(les,
                          json_pack("{s:s,s:o,s:o,s:o}", "lesion", desc, "thickening_um", num(dh),
                                    "collagen_gain_pct", num(100 * gain), "fill_pct", num(fill)));
  }
  return les;
}

/* Built in parts: json_pack yields NULL if any part fails, and the parts are released then. A
 * lesion's fill (the share of its depth lost) uses the papillary collagen gain over its own
 * columns when the run computed one (lesion_gain), else the papillary mean. */
int mn_io_outcome_json(FILE *fp, const void *ctx, mn_error *err) {
  const mn_sim_result *r = ctx;
  const mn_outcome *o = r->out;
  static const char *const modes[3] = {"unit_cell", "patch", "lumped"};
  json_t *root = json_pack(
      "{s:s,s:s,s:s,s:I,s:s,s:{s:s,s:o,s:i,s:o,s:i,s:o},s:o,s:s,s:{s:I,s:o}}", "mnsim_version",
      mn_version(), "command", "simulate", "case", r->cs->file, "seed", (json_int_t)r->cs->seed,
      "skin_region", r->skin->region, "treatment", "device", r->dev->spec.id, "depth_mm",
      num(r->dev->params.depth_mm), "sessions", o->n_sessions, "interval_day",
      num(r->cs->sim.interval_day), "fitzpatrick", r->cs->skin.fitzpatrick, "density_cm2",
      num(r->density_cm2), "grid", grid_json(r), "mode", modes[r->cs->sim.mode], "run", "steps",
      (json_int_t)r->steps, "sample_count", num(r->ts->n));
  json_t *obs = json_pack(
      "{s:o,s:{s:o,s:o,s:o,s:o},s:o,s:{s:[o,o],s:[o,o],s:[o,o]},s:o,s:o}", "session_day",
      per_session(o->session_day, o->n_sessions), "redness", "threshold", num(o->redness_threshold),
      "peak", num(o->redness_peak), "peak_day", num(o->redness_peak_day), "visible_days",
      per_session(o->redness_days, o->n_sessions), "barrier_days",
      per_session(o->barrier_days, o->n_sessions), "inflammation_peaks_PD", "P", num(o->peak[0]),
      num(o->peak_day[0]), "N", num(o->peak[1]), num(o->peak_day[1]), "M", num(o->peak[2]),
      num(o->peak_day[2]), "collagen", collagen(o), "t_end_day", num(o->t_end));
  json_t *ev = json_pack(
      "[s,s,s,s]",
      "redness, barrier and collagen rest on parameters tagged C (calibrated, docs/calibration.md) "
      "and E (estimates); 'outcome' holds the nominal model, 'uncertainty' the median and 90 % "
      "band over the parameter ranges",
      "redness visible while R(t) > V_vis x s_vis(Fitzpatrick); s_vis values are estimates",
      "barrier closure: the channels' epidermal gaps close from their walls after a lag "
      "(t0_close, v_close, by skin type m_close; docs/model.md); open until the gap area is below "
      "f_det of its value at the session",
      "elastin and elasticity are low confidence: published evidence conflicts");
  if (!root || !obs || !ev) {
    json_decref(root);
    json_decref(obs);
    json_decref(ev);
    return MN_ERR(err, MN_EINTERNAL, "", "cannot build outcome.json");
  }
  matrix_json(r, obs);
  json_object_set_new(obs, "lesions", lesions_json(r));
  json_object_set_new(root, "outcome", obs);
  json_object_set_new(root, "uncertainty", uq_json(r->uq));
  json_object_set_new(root, "evidence", ev);
  json_object_set_new(root, "parameters", params_json(r->params));
  int bad = json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  json_decref(root);
  fputc('\n', fp);
  if (bad || ferror(fp))
    return MN_ERR(err, MN_EIO, "", "cannot write outcome.json: %s", strerror(errno));
  return MN_OK;
}
