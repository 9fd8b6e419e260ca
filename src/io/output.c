/* Result files of `mnsim device`: puncture list and summary as CSV (spreadsheets), summary as
 * JSON (scripts), density map as CSV; and the two ways every result file of mnsim is written, one
 * file atomically or a set all or none. Pipeline: io; renders device's punctures and statistics.
 * Reference: docs/formats.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_impl.h"

/* The writer fills the temporary's stream; its failure or a stream error discards the temporary
 * and leaves @p path as it was. */
int mn_io_write_atomic(const char *path, mn_write_fn fn, const void *ctx, mn_error *err) {
  mn_ofile f;
  int rc = mn_ofile_open(&f, path, err);
  if (rc) return rc;
  rc = fn(f.fp, ctx, err);
  if (rc == MN_OK && ferror(f.fp))
    rc = MN_ERR(err, MN_EIO, "", "cannot write %s: %s", f.tmp, strerror(errno));
  if (rc) {
    mn_ofile_abort(&f);
    return rc;
  }
  return mn_ofile_commit(&f, err);
}

/* ---- result sets, all or none ------------------------------------------------------------
 * A set is put in place in three stages (docs/formats.md, "Result sets"):
 * 1. every file is written to its temporary and synced; a target that is a directory, or an old
 *    file that cannot be kept (see 2), fails the set here, before anything is renamed;
 * 2. each old file of the set gets a backup: a hard link ".<name>.old.XXXXXX" beside it (the
 *    same inode, so no copy and no extra space);
 * 3. the temporaries are renamed over their targets one by one. When one rename fails, the files
 *    renamed before it are put back from their backups (or removed, or moved back to their
 *    owner when they were new), so that the directory holds the old set again; then every
 *    backup is removed.
 * A stop request (SIGINT/SIGTERM) before stage 3 discards the set. */

enum { SET_MAX = 16 };

/* One file of a set while it is put in place. */
typedef struct set_file {
  mn_ofile f;
  char bak[4200]; /* hard link of the old target, "" when there was none */
  int moved;      /* renamed into place */
  int keep;       /* the rename could not be undone: the backup is the only old copy */
} set_file;

/* A hard link of @p path under a fresh dot name beside it, into @p bak; "" when @p path does not
 * exist. The name comes from mkstemp (then freed for link). */
static int backup(const char *path, char *bak, size_t size, mn_error *err) {
  struct stat st;
  bak[0] = '\0';
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return MN_OK;
    return MN_ERR(err, MN_EIO, "", "cannot write %s: %s; no result file was replaced", path,
                  strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    return MN_ERR(err, MN_EIO, "",
                  "cannot write %s: a directory of that name exists; no result file was replaced",
                  path);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if ((size_t)snprintf(bak, size, "%.*s.%s.old.XXXXXX", (int)(base - path), path, base) >= size)
    return MN_ERR(err, MN_EIO, "", "cannot write %s: path too long", path);
  int fd = mkstemp(bak);
  int e = fd < 0 ? errno : 0;
  if (fd >= 0) close(fd), unlink(bak);
  if (!e && link(path, bak) != 0) e = errno;
  if (e) {
    bak[0] = '\0';
    return MN_ERR(err, MN_EIO, "",
                  "cannot write %s: cannot keep the old file while the set is replaced (%s); no "
                  "result file was replaced",
                  path, strerror(e));
  }
  mn_ofile_track(bak);
  return MN_OK;
}

static void drop_backup(set_file *s) {
  if (!s->bak[0]) return;
  if (!s->keep) unlink(s->bak);
  mn_ofile_untrack(s->bak);
  s->bak[0] = '\0';
}

/* Undo one rename: a finished file moved back to its owner first (it is never lost), then the
 * old file back from its backup, or else the new one removed. @return 0, or the errno of the
 * failed step. */
static int undo(const mn_out_item *it, set_file *s) {
  if (!it->fn && rename(it->path, (const char *)it->ctx) != 0) return errno;
  if (s->bak[0]) {
    if (rename(s->bak, it->path) != 0) return errno;
    mn_ofile_untrack(s->bak), s->bak[0] = '\0';
  } else if (it->fn && unlink(it->path) != 0) {
    return errno;
  }
  return 0;
}

/* Length of the directory part of @p path (0 when there is none). */
static size_t dir_len(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? (size_t)(slash - path) : 0;
}

/* The set's journal (mn_journal_begin): targets, backups, and the owners of moved-in files. The
 * journal names targets and backups within one directory: a set spread over several gets none. */
static void journal_begin(mn_journal *j, const mn_out_item *items, const set_file *s, int n) {
  const char *target[SET_MAX], *bak[SET_MAX], *owner[SET_MAX];
  char dir[4200];
  size_t dl = dir_len(items[0].path);
  if (dl)
    snprintf(dir, sizeof dir, "%.*s", (int)dl, items[0].path);
  else /* "name" in the working directory, or "/name" */
    snprintf(dir, sizeof dir, "%s", items[0].path[0] == '/' ? "/" : ".");
  int same = 1;
  for (int i = 0; i < n; i++) {
    target[i] = items[i].path, bak[i] = s[i].bak;
    owner[i] = items[i].fn ? NULL : (const char *)items[i].ctx;
    same &= dir_len(items[i].path) == dl && strncmp(items[i].path, items[0].path, dl) == 0;
  }
  if (!same || mn_journal_begin(j, dir, n, target, bak, owner) != 0)
    mn_log(MN_LOG_DEBUG,
           "no journal for the result set in %s: a kill -9 while it is replaced "
           "cannot be rolled back",
           dir);
}

/* Stages 2 and 3. On failure the files already moved are put back in reverse order; a file that
 * cannot be put back is named in the message (its backup is then kept, not removed). Each rename
 * is recorded in the journal @p j (begun here; the caller ends it). */
static int put_in_place(const mn_out_item *items, set_file *s, int n, mn_journal *j,
                        mn_error *err) {
  int rc = MN_OK, failed = -1, e = 0;
  for (int i = 0; i < n && rc == MN_OK; i++)
    rc = backup(items[i].path, s[i].bak, sizeof s[i].bak, err);
  if (rc) return rc;
  if (mn_stop_requested()) return mn_stop_error(err, "writing the results");
  journal_begin(j, items, s, n);
  /* test hooks (mnsim-hooks only): the Nth rename fails, to exercise the roll-back; SIGKILL
   * after the Nth rename, to exercise the journal */
  const int fail_at = mn_test_hook.fail_rename;
  for (int i = 0; i < n; i++) {
    const char *src = items[i].fn ? s[i].f.tmp : items[i].ctx;
    e = fail_at == i + 1 ? EIO : rename(src, items[i].path) == 0 ? 0 : errno;
    if (e) {
      failed = i;
      break;
    }
    mn_journal_done(j, i);
    if (mn_test_hook.kill_after_rename == i + 1) raise(SIGKILL);
    if (items[i].fn) mn_ofile_untrack(s[i].f.tmp), s[i].f.tmp[0] = '\0';
    s[i].moved = 1;
  }
  if (failed < 0) {
    mn_journal_complete(j);
    return MN_OK;
  }
  char lost[1024] = "";
  for (int i = failed - 1; i >= 0; i--) {
    int ue = undo(&items[i], &s[i]);
    s[i].keep = ue != 0;
    size_t len = strlen(lost);
    if (ue)
      snprintf(lost + len, sizeof lost - len, "%s%.900s (%s)", len ? ", " : "", items[i].path,
               strerror(ue));
  }
  const char *src = items[failed].fn ? s[failed].f.tmp : items[failed].ctx;
  if (lost[0])
    return MN_ERR(err, MN_EIO, "",
                  "cannot move %s to %s: %s; could not restore %s: the old files are kept as "
                  ".<name>.old.*",
                  src, items[failed].path, strerror(e), lost);
  return MN_ERR(err, MN_EIO, "", "cannot move %s to %s: %s; no result file was replaced", src,
                items[failed].path, strerror(e));
}

int mn_io_write_set(const mn_out_item *items, int n, mn_error *err) {
  set_file s[SET_MAX];
  int opened = 0, rc = MN_OK;
  if (n > SET_MAX) return MN_ERR(err, MN_EINTERNAL, "", "at most %d files in a set", SET_MAX);
  memset(s, 0, sizeof s);
  for (int i = 0; i < n && rc == MN_OK; i++) { /* stage 1 */
    if (!items[i].fn) {                        /* a finished file to move in: nothing to write */
      opened++;
      continue;
    }
    rc = mn_ofile_open(&s[i].f, items[i].path, err);
    if (rc) break;
    opened++;
    rc = items[i].fn(s[i].f.fp, items[i].ctx, err);
    if (rc == MN_OK && (fflush(s[i].f.fp) != 0 || ferror(s[i].f.fp)))
      rc = MN_ERR(err, MN_EIO, "", "cannot write %s: %s", s[i].f.tmp, strerror(errno));
    if (rc == MN_OK) rc = mn_ofile_sync(&s[i].f, err);
  }
  if (rc == MN_OK && mn_stop_requested()) rc = mn_stop_error(err, "writing the results");
  mn_journal j = {.fd = -1};
  if (rc == MN_OK) rc = put_in_place(items, s, n, &j, err);
  for (int i = 0; i < opened; i++) {
    mn_ofile_abort(&s[i].f); /* the temporaries not moved; harmless for the others */
    drop_backup(&s[i]);
  }
  mn_journal_end(&j); /* after the backups: a journal marked complete only removes backups */
  if (rc == MN_OK && n > 0) mn_fsync_dir(items[0].path);
  return rc;
}

/* The writers print without checking each call; the stream's error flag tells afterwards. */
static int io_check(FILE *fp, mn_error *err) {
  if (ferror(fp)) return MN_ERR(err, MN_EIO, "", "write error: %s", strerror(errno));
  return MN_OK;
}

/* One line per puncture: the layer the channel ends in, bleeding = 1 when it reaches the plexus,
 * passes counted from 1. */
int mn_io_punctures_csv(FILE *fp, const void *ctx, mn_error *err) {
  const mn_device_result *r = ctx;
  const mn_puncture_set *s = r->set;
  double plexus = mn_skin_plexus_depth_um(r->skin);
  fprintf(fp, "x_mm,y_mm,depth_um,radius_um,pass,layer,bleeding\n");
  for (size_t i = 0; i < s->n; i++) {
    double z = s->depth_um[i];
    fprintf(fp, "%.4f,%.4f,%.1f,%.2f,%d,%s,%d\n", s->x_mm[i], s->y_mm[i], z, s->radius_um[i],
            s->pass[i] + 1, mn_layer_name(mn_skin_layer_at(r->skin, z)), z >= plexus);
  }
  return io_check(fp, err);
}

/* One line per map cell at its centre, row by row (x fastest, y ascending). */
int mn_io_density_map_csv(FILE *fp, const void *ctx, mn_error *err) {
  const mn_density_map *m = ctx;
  fprintf(fp, "x_mm,y_mm,punctures_per_cm2,inside\n");
  for (int j = 0; j < m->ny; j++)
    for (int i = 0; i < m->nx; i++) {
      size_t k = (size_t)j * m->nx + i;
      fprintf(fp, "%.4f,%.4f,%.2f,%d\n", m->x0_mm + (i + 0.5) * m->cell_mm,
              m->y0_mm + (j + 0.5) * m->cell_mm, m->per_cm2[k], m->inside[k]);
    }
  return io_check(fp, err);
}

/* One "quantity,value,unit,note" line; the note is quoted, as it may hold commas. */
static void row(FILE *fp, const char *q, double v, const char *unit, const char *note) {
  char buf[40];
  mn_format_double(buf, sizeof buf, v, 6);
  fprintf(fp, "%s,%s,%s,\"%s\"\n", q, buf, unit, note);
}

/* The headline figures of device.json as quantity,value,unit,note rows for spreadsheets. */
int mn_io_device_summary_csv(FILE *fp, const void *ctx, mn_error *err) {
  const mn_device_result *r = ctx;
  const mn_device_stats *st = r->st;
  fprintf(fp, "quantity,value,unit,note\n");
  row(fp, "punctures", (double)st->count, "", "all passes, inside and outside the outline");
  row(fp, "punctures_inside", (double)st->count_inside, "", "inside the outline");
  row(fp, "area", st->area_cm2, "cm2", "outline");
  row(fp, "density_total", st->density_cm2, "1/cm2", "inside punctures per outline area");
  for (int p = 0; p < r->cs->treatment.n_passes; p++) {
    char q[64], note[96];
    snprintf(q, sizeof q, "density_pass_%d", p + 1);
    snprintf(note, sizeof note, "geometric interior value %.1f/cm2", st->expected_pass_cm2[p]);
    row(fp, q, st->density_pass_cm2[p], "1/cm2", note);
  }
  row(fp, "puncture_rate", st->rate_per_s, "1/s", "needles x stroke rate (pens)");
  row(fp, "treatment_time", st->duration_s, "s", "hand path / speed");
  row(fp, "coverage", st->coverage, "", "fraction of the outline inside a channel");
  row(fp, "coverage_se", st->coverage_se, "", "Monte-Carlo standard error");
  row(fp, "coverage_random", st->coverage_poisson, "", "1 - exp(-density x channel area)");
  row(fp, "lumen_fraction", st->lumen_fraction, "",
      "open surface: 1 - exp(-density x lumen area), lumen = lumen_ratio x channel");
  row(fp, "overlap_fraction", st->overlap_fraction, "", "punctures touching another channel");
  row(fp, "nn_median", st->nn_median_um, "um", "nearest-neighbour distance, median");
  row(fp, "nn_p05", st->nn_p05_um, "um", "nearest-neighbour distance, 5th percentile");
  row(fp, "depth_mean", st->depth_mean_um, "um", "effective depth");
  row(fp, "depth_band_low", st->depth_lo_um, "um", "at the class's lowest depth ratio");
  row(fp, "depth_band_high", st->depth_hi_um, "um", "at the class's highest depth ratio");
  row(fp, "channel_radius_mean", st->surface_radius_mean_um, "um", "at the surface");
  for (int l = 1; l < MN_LAYER_COUNT; l++) {
    char q[64];
    snprintf(q, sizeof q, "reach_%s", mn_layer_name(l));
    row(fp, q, st->reach_fraction[l], "", mn_layer_long_name(l));
  }
  row(fp, "bleeding_fraction", st->bleeding_fraction, "", "channels at the subpapillary plexus");
  row(fp, "plexus_depth", st->plexus_depth_um, "um", "bottom of the papillary dermis");
  row(fp, "density_map_cv", st->density_map_cv, "", "over map cells inside the outline");
  return io_check(fp, err);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* JSON has no NaN or infinity: a non-finite number is written as null. */
static json_t *num(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

/* The resolved skin: each layer's thickness, SD and range after the age factor, with its source;
 * dermis_bottom_um is the top of the hypodermis. */
static json_t *skin_json(const mn_skin *s) {
  json_t *layers = json_array();
  for (int l = 0; l < MN_LAYER_HYPO; l++)
    json_array_append_new(
        layers, json_pack("{s:s,s:s,s:o,s:o,s:o,s:[o,o],s:o,s:s,s:s}", "layer", mn_layer_name(l),
                          "name", mn_layer_long_name(l), "top_um", num(s->top_um[l]),
                          "thickness_um", num(s->thickness_um[l]), "sd_um", num(s->sd_um[l]),
                          "range_um", num(s->range_um[l][0]), num(s->range_um[l][1]), "age_factor",
                          num(s->age_factor[l]), "tag", s->tag[l], "source", s->source[l]));
  return json_pack("{s:s,s:o,s:s,s:i,s:s,s:o,s:o}", "region", s->region, "age_y",
                   num(s->params.age_y), "sex", s->params.sex ? "male" : "female", "fitzpatrick",
                   s->params.fitzpatrick, "fitzpatrick_doc",
                   mn_fitzpatrick_doc(s->params.fitzpatrick), "dermis_bottom_um",
                   num(s->top_um[MN_LAYER_HYPO]), "layers", layers);
}

/* The resolved device: the settings in use (stroke rate 0 for rollers and stamps, the depth ratio
 * in use and its class's range) and the needle geometry, each with its source. */
static json_t *device_json(const mn_device *d) {
  const mn_device_spec *s = &d->spec;
  return json_pack(
      "{s:s,s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:[o,o],s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:s}", "id", s->id,
      "name", s->name, "class", mn_device_class_name(s->cls), "layout", mn_layout_name(s->layout),
      "needles", s->needles, "stroke_rate_hz", num(s->cls == MN_DEVICE_PEN ? d->rate_hz : 0),
      "depth_mm", num(d->params.depth_mm), "depth_ratio", num(d->depth_ratio), "depth_ratio_range",
      num(d->cls.ratio_min), num(d->cls.ratio_max), "depth_cv", num(d->cls.depth_cv), "swath_mm",
      num(d->swath_mm), "needle_diameter_mm", num(s->needle_diameter_mm), "tip_length_mm",
      num(s->tip_length_mm), "tip_radius_um", num(s->tip_radius_um), "tag", s->tag, "source",
      s->source, "depth_ratio_tag", d->cls.tag, "depth_ratio_source", d->cls.source);
}

/* mn_direction's names as device.c's pass table spells them (kept in step by hand). */
static const char *const dir_names[] = {"horizontal", "vertical", "diagonal", "antidiagonal",
                                        "angle"};

/* Per pass the values in use: the stroke spacing computed when the file gave 0, the device's
 * depth when the pass gave none. */
static json_t *treatment_json(const mn_device_result *r) {
  const mn_treatment *t = &r->cs->treatment;
  json_t *outline = json_array(), *passes = json_array();
  for (int i = 0; i < t->n_outline; i++)
    json_array_append_new(outline,
                          json_pack("[o,o]", num(t->outline_mm[i][0]), num(t->outline_mm[i][1])));
  for (int p = 0; p < t->n_passes; p++) {
    const mn_pass_params *q = &t->passes[p];
    json_array_append_new(
        passes,
        json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o}", "direction", dir_names[q->direction],
                  "angle_deg", num(q->angle_deg), "speed_mm_per_s", num(q->speed_mm_per_s),
                  "spacing_mm", num(mn_device_stroke_spacing_mm(r->dev, q)), "overlap",
                  num(q->overlap), "jitter_mm", num(q->jitter_mm), "depth_mm",
                  num(q->depth_mm > 0 ? q->depth_mm : r->dev->params.depth_mm), "punctures",
                  (json_int_t)r->set->pass_count[p], "density_cm2", num(r->st->density_pass_cm2[p]),
                  "expected_density_cm2", num(r->st->expected_pass_cm2[p])));
  }
  return json_pack("{s:o,s:o,s:o}", "area_cm2", num(r->st->area_cm2), "outline_mm", outline,
                   "passes", passes);
}

/* reach_fraction: channels reaching each layer's top; end_layer_fraction: channels ending in it. */
static json_t *results_json(const mn_device_stats *st) {
  json_t *reach = json_object(), *ends = json_object();
  for (int l = 0; l < MN_LAYER_COUNT; l++) {
    json_object_set_new(reach, mn_layer_name(l), num(st->reach_fraction[l]));
    json_object_set_new(ends, mn_layer_name(l), num(st->layer_fraction[l]));
  }
  return json_pack(
      "{s:I,s:I,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o},s:o,s:o,s:{s:o,s:o,s:o},s:{s:o,s:o,s:o,s:o,s:o,s:o}"
      ","
      "s:o,s:o,s:o,s:o,s:o,s:o}",
      "punctures", (json_int_t)st->count, "punctures_inside", (json_int_t)st->count_inside,
      "density_cm2", num(st->density_cm2), "puncture_rate_per_s", num(st->rate_per_s),
      "treatment_time_s", num(st->duration_s), "hand_path_mm", num(st->path_mm), "coverage",
      "fraction", num(st->coverage), "standard_error", num(st->coverage_se), "random_pattern",
      num(st->coverage_poisson), "lumen_fraction", num(st->lumen_fraction), "overlap_fraction",
      num(st->overlap_fraction), "nearest_neighbour_um", "mean", num(st->nn_mean_um), "median",
      num(st->nn_median_um), "p05", num(st->nn_p05_um), "depth_um", "mean", num(st->depth_mean_um),
      "sd", num(st->depth_sd_um), "min", num(st->depth_min_um), "max", num(st->depth_max_um),
      "band_low", num(st->depth_lo_um), "band_high", num(st->depth_hi_um), "reach_fraction", reach,
      "end_layer_fraction", ends, "bleeding_fraction", num(st->bleeding_fraction),
      "plexus_depth_um", num(st->plexus_depth_um), "channel_radius_mean_um",
      num(st->surface_radius_mean_um), "density_map_cv", num(st->density_map_cv));
}

/* device.json: the case, the resolved skin and device, the treatment per pass, the statistics
 * and the evidence notes. json_pack yields NULL if any part fails. */
int mn_io_device_json(FILE *fp, const void *ctx, mn_error *err) {
  const mn_device_result *r = ctx;
  json_t *lesions = json_array();
  for (int i = 0; i < r->cs->n_lesions; i++) {
    char desc[256];
    mn_lesion_describe(&r->cs->lesions[i], desc, sizeof desc);
    json_array_append_new(lesions, json_string(desc));
  }
  json_t *root = json_pack(
      "{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:[s,s,s]}", "mnsim_version", mn_version(), "command",
      "device", "case", r->cs->file, "description", r->cs->description, "seed",
      json_integer((json_int_t)r->cs->seed), "skin", skin_json(r->skin), "device",
      device_json(r->dev), "treatment", treatment_json(r), "results", results_json(r->st),
      "evidence",
      "effective depth ratios are estimates bracketed by ex vivo pen histology (about 1.0) and a "
      "rat roller study (0.2); see device.depth_ratio_source",
      "needle layouts of most cartridges are not published; rows tagged E are examples",
      "the bleeding endpoint is the anatomical depth of the subpapillary plexus, not a measured "
      "clinical threshold");
  if (!root) return MN_ERR(err, MN_EINTERNAL, "", "cannot build the JSON summary");
  json_object_set_new(root, "lesions", lesions);
  json_object_set_new(json_object_get(root, "results"), "spacing_sampled",
                      json_integer((json_int_t)r->st->spacing_sampled));
  int bad = json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  json_decref(root);
  fputc('\n', fp);
  if (bad) return MN_ERR(err, MN_EIO, "", "cannot write the JSON summary: %s", strerror(errno));
  return io_check(fp, err);
}
