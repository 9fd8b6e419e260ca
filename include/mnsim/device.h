/* mnsim device: needle cartridges, pens, rollers and stamps, and the hand passes that move them
 * over a region -> the set of punctures, with effective depth, channel radius and statistics.
 * Pipeline: after skin (uses core and skin); its punctures feed injury, its pass depths and
 * densities course. Sources: data/devices.csv, data/device_classes.csv. */
#ifndef MNSIM_DEVICE_H
#define MNSIM_DEVICE_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN)
#error "mnsim/device.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Device classes (column `class` of data/devices.csv). */
typedef enum {
  MN_DEVICE_PEN = 0,
  MN_DEVICE_ROLLER,
  MN_DEVICE_STAMP,
  MN_DEVICE_CLASS_COUNT
} mn_device_class;

/** Needle arrangement: pen/stamp tips in a grid, a ring or a hex-packed disc; roller drums. */
typedef enum { MN_LAYOUT_GRID = 0, MN_LAYOUT_RING, MN_LAYOUT_DISC, MN_LAYOUT_DRUM } mn_layout;

/** "pen", "roller", "stamp"; "?" out of range. Static string. */
const char *mn_device_class_name(int cls);
/** "grid", "ring", "disc", "drum"; "?" out of range. Static string. */
const char *mn_layout_name(int layout);

/** One catalogue entry (a row of data/devices.csv). Plain data; lengths in mm unless named. */
typedef struct mn_device_spec {
  char id[32];         /**< catalogue key, e.g. "pen-12" */
  char name[96];       /**< description */
  int cls;             /**< mn_device_class */
  int layout;          /**< mn_layout */
  int needles;         /**< needles per cartridge, drum or stamp */
  int rows, cols;      /**< grid rows (along the motion) and columns (across); drum: rows around
                            the circumference and needle circles along the width */
  double pitch_mm;     /**< grid spacing */
  double footprint_mm; /**< diameter of the needle field (ring/disc) */
  double drum_diameter_mm, drum_width_mm;
  double rate_hz_min, rate_hz_max, rate_hz_default; /**< pen stroke rate */
  double depth_mm_min, depth_mm_max;                /**< nominal depth (needle length) range */
  double needle_diameter_mm;                        /**< shaft diameter */
  double tip_length_mm; /**< length of the conical taper (= needle length if fully conical) */
  double tip_radius_um; /**< radius of the rounded tip */
  char tag[8];          /**< evidence tag: V, D, M, E ("example") */
  char source[320];     /**< where the figures come from */
} mn_device_spec;

/** Device-class penetration model (a row of data/device_classes.csv). */
typedef struct mn_device_class_info {
  int cls;
  double depth_ratio;          /**< effective depth / nominal length, central value */
  double ratio_min, ratio_max; /**< its uncertainty range */
  double depth_cv;             /**< puncture-to-puncture coefficient of variation of depth */
  double lumen_ratio; /**< open channel radius / needle radius at the same depth (0 < x <= 1) */
  char tag[8];
  char source[480];
} mn_device_class_info;

/** The device catalogue: entries and the class models. Opaque; created by
 *  mn_device_catalogue_create or _parse, freed with mn_device_catalogue_destroy. Read-only after
 *  creation, so threads may share one. */
typedef struct mn_device_catalogue mn_device_catalogue;

/** Load the catalogue compiled into the library (data/devices.csv, data/device_classes.csv).
 *  @param[out] out the catalogue (owned by the caller: mn_device_catalogue_destroy), NULL on
 *  failure. @return MN_OK; MN_EINPUT if the compiled-in tables are inconsistent; MN_ENOMEM. */
int mn_device_catalogue_create(mn_device_catalogue **out, mn_error *err);
/** Load a catalogue from CSV texts (same columns as the shipped files; copied, need not be
 *  NUL-terminated); @p *_name used in messages. @param[out] out as for _create.
 *  @return MN_OK; MN_EINPUT naming file and line (missing column, unknown class or layout, an
 *  inconsistent entry, a duplicate id, a class without a row); MN_ENOMEM. */
int mn_device_catalogue_parse(const char *devices_csv, size_t devices_len, const char *devices_name,
                              const char *classes_csv, size_t classes_len, const char *classes_name,
                              mn_device_catalogue **out, mn_error *err);
/** Free a catalogue. NULL-safe. */
void mn_device_catalogue_destroy(mn_device_catalogue *c);
/** Number of entries. */
size_t mn_device_catalogue_count(const mn_device_catalogue *c);
/** Entry @p i, NULL out of range. Borrowed: valid until mn_device_catalogue_destroy. */
const mn_device_spec *mn_device_catalogue_get(const mn_device_catalogue *c, size_t i);
/** Find @p id (case-insensitive) and set *out to the entry (borrowed from @p c), NULL when
 *  absent. @return MN_OK, or MN_EINPUT naming the nearest known id (key "device.model"). */
int mn_device_catalogue_find(const mn_device_catalogue *c, const char *id,
                             const mn_device_spec **out, mn_error *err);
/** Penetration model of class @p cls (mn_device_class), NULL out of range. Borrowed from @p c. */
const mn_device_class_info *mn_device_catalogue_class(const mn_device_catalogue *c, int cls);

/** Device settings (YAML section `device`). Config keys: device.<field>. */
typedef struct mn_device_params {
  char model[32];        /**< catalogue id */
  double depth_mm;       /**< nominal needle depth setting (roller/stamp: needle length) */
  double stroke_rate_hz; /**< pen stroke rate; 0 = the cartridge's default */
  double depth_ratio;    /**< effective/nominal depth; 0 = the device class's sourced value */
} mn_device_params;
/** Descriptor table of mn_device_params: static, *n entries. */
const mn_config_desc *mn_device_param_table(size_t *n);

/** Stroke direction of a pass, in the treatment frame. */
typedef enum {
  MN_DIR_HORIZONTAL = 0, /**< strokes along +x */
  MN_DIR_VERTICAL,       /**< along +y */
  MN_DIR_DIAGONAL,       /**< 45 degrees */
  MN_DIR_ANTIDIAGONAL,   /**< 135 degrees */
  MN_DIR_ANGLE           /**< angle_deg */
} mn_direction;

/** One pass: parallel strokes over the whole outline (YAML list `treatment.passes`).
 *  Config keys: treatment.passes[i].<field>. */
typedef struct mn_pass_params {
  int direction;         /**< mn_direction */
  double angle_deg;      /**< stroke angle when direction = angle */
  double speed_mm_per_s; /**< hand speed along a stroke */
  double spacing_mm;     /**< distance between strokes; 0 = from overlap and footprint width */
  double overlap;        /**< fraction of the footprint shared by adjacent strokes */
  double jitter_mm;      /**< SD of hand position error per stamp (pen/stamp) or per stroke */
  double depth_mm;       /**< depth for this pass; 0 = device.depth_mm */
} mn_pass_params;
/** Descriptor table of mn_pass_params: static, *n entries. */
const mn_config_desc *mn_pass_param_table(size_t *n);

/** Most passes and outline vertices of a treatment. */
enum { MN_MAX_PASSES = 32, MN_MAX_OUTLINE = 256 };

/** Treatment: region outline (polygon in mm, treatment frame) and passes. Plain data. */
typedef struct mn_treatment {
  double outline_mm[MN_MAX_OUTLINE][2]; /**< vertices in order; config key treatment.outline_mm */
  int n_outline;
  mn_pass_params passes[MN_MAX_PASSES]; /**< config key treatment.passes */
  int n_passes;
  uint64_t seed; /**< seed of the punctures' jitter and depths; config key `seed` */
} mn_treatment;

/** Area of the outline in cm2 (shoelace). */
double mn_treatment_area_cm2(const mn_treatment *t);
/** 1 when point (x, y) is inside the outline (even-odd rule). */
int mn_treatment_contains(const mn_treatment *t, double x_mm, double y_mm);
/** Validate the outline (3 to MN_MAX_OUTLINE vertices within [-500, 500] mm, an area of at least
 *  0.01 mm2, not self-intersecting) and the pass list (1 to MN_MAX_PASSES passes; angle_deg set
 *  only with direction angle). @return MN_OK; MN_EINPUT or MN_ERANGE with the key
 *  ("treatment.outline_mm[3]", "treatment.passes"). */
int mn_treatment_check(const mn_treatment *t, mn_error *err);

/** A resolved device: catalogue entry + class model + settings, range-checked. Copies of the
 *  catalogue's data (no pointer into the catalogue); owns offsets_mm: mn_device_fini. */
typedef struct mn_device {
  mn_device_spec spec;
  mn_device_class_info cls;
  mn_device_params params;
  double rate_hz;          /**< stroke rate in use (pens) */
  double depth_ratio;      /**< ratio in use */
  double swath_mm;         /**< footprint width across the stroke */
  double step_mm;          /**< stamp: footprint length along the stroke */
  int n_offsets;           /**< needle positions in the head frame (pen/stamp) */
  double (*offsets_mm)[2]; /**< [n_offsets][2]: along, across; owned */
} mn_device;

/** Resolve @p p against the catalogue; checks depth and stroke rate against the entry's ranges
 *  (keys "device.depth_mm", "device.stroke_rate_hz") and depth_ratio (0 or in [0.1, 1]). The
 *  catalogue may be destroyed afterwards. Free with mn_device_fini(), also after a failure.
 *  @return MN_OK; MN_ERANGE for a setting out of range; MN_EINPUT for an unknown model or a
 *  stroke rate set on a roller or stamp; MN_ENOMEM. */
int mn_device_init(mn_device *d, const mn_device_catalogue *c, const mn_device_params *p,
                   mn_error *err);
/** mn_device_init for catalogue entry @p model at @p depth_mm (mm), every other setting at its
 *  default. Same errors. */
int mn_device_init_at(mn_device *d, const mn_device_catalogue *c, const char *model,
                      double depth_mm, mn_error *err);
/** Free what mn_device_init allocated. NULL-safe. */
void mn_device_fini(mn_device *d);
/** Effective depth (um) that a nominal setting of @p depth_mm reaches with device @p d: the
 *  nominal depth times the device's effective/nominal ratio (device.depth_ratio or its class's
 *  sourced value). The one place that conversion is made. */
double mn_device_depth_um(const mn_device *d, double depth_mm);
/** Effective depth (um) of pass @p p: its own depth_mm, or device.depth_mm when that is 0. */
double mn_device_pass_depth_um(const mn_device *d, const mn_pass_params *p);
/** Check the passes of @p t against device @p d (ranges of every pass key, a per-pass depth
 *  within the device's range, the expected puncture count within the memory limit) and the
 *  outline (mn_treatment_check). @return MN_OK, MN_ERANGE or MN_EINPUT with the key
 *  ("treatment.passes[1].depth_mm") and the allowed range in the message. */
int mn_device_check_passes(const mn_device *d, const mn_treatment *t, mn_error *err);
/** Radius (um) at depth @p z_um below the surface of a channel @p depth_um deep: the needle's
 *  radius at distance depth_um - z_um from its tip (rounded tip, conical taper, then the shaft);
 *  0 at or below the tip. z_um = 0 gives the surface radius. */
double mn_device_channel_radius_um(const mn_device *d, double depth_um, double z_um);
/** Punctures per cm2 that one pass lays down in the interior of a region, from the geometry
 *  (pen: n f / (v s); roller: needles / (pi D s); stamp: n / (step (1 - overlap) s)), with s
 *  the stroke spacing (mn_device_stroke_spacing_mm). */
double mn_device_pass_density_cm2(const mn_device *d, const mn_pass_params *p);
/** Stroke spacing in use for pass @p p (spacing_mm, or swath x (1 - overlap)). */
double mn_device_stroke_spacing_mm(const mn_device *d, const mn_pass_params *p);

/** The punctures of a treatment, structure of arrays [n] (room for cap). Owns its arrays;
 *  created by mn_device_punctures, freed with mn_puncture_set_destroy. */
typedef struct mn_puncture_set {
  size_t n, cap;
  double *x_mm, *y_mm; /**< surface position */
  float *depth_um;     /**< effective depth reached */
  float *radius_um;    /**< channel radius at the surface */
  uint8_t *pass;       /**< pass index */
  /** punctures per pass */
  size_t pass_count[MN_MAX_PASSES];
  int n_passes;
  double path_mm;    /**< total hand path length over all passes */
  double duration_s; /**< treatment time at the pass speeds */
} mn_puncture_set;

/** Generate the punctures of @p t with device @p d; jitter and depth variation come from the
 *  seeded RNG (t->seed, one stream per pass), so the same inputs give identical sets. Hand
 *  jitter may put punctures outside the outline; depths lie between 0.1 x the pass's effective
 *  depth and its nominal depth. Checks the passes first (mn_device_check_passes).
 *  @param[out] out the set (owned by the caller: mn_puncture_set_destroy), NULL on failure
 *  @return MN_OK; MN_EINPUT or MN_ERANGE from the checks; MN_ENOMEM. */
int mn_device_punctures(const mn_device *d, const mn_treatment *t, mn_puncture_set **out,
                        mn_error *err);
/** Free a puncture set. NULL-safe. */
void mn_puncture_set_destroy(mn_puncture_set *s);

/** Figures a device engineer asks for. Plain data; densities per cm2 of outline. */
typedef struct mn_device_stats {
  size_t count;        /**< all punctures */
  size_t count_inside; /**< inside the outline */
  double area_cm2;
  double density_cm2; /**< inside punctures per cm2 of outline */
  double density_pass_cm2[MN_MAX_PASSES];
  double expected_pass_cm2[MN_MAX_PASSES]; /**< geometric interior density per pass */
  double rate_per_s;                       /**< punctures per second while the device runs (pens) */
  double duration_s, path_mm;
  double coverage;         /**< fraction of the outline inside at least one channel */
  double coverage_se;      /**< its Monte-Carlo standard error */
  double coverage_poisson; /**< 1 - exp(-density x mean channel area), a random pattern */
  double mean_channel_area_um2;
  double lumen_fraction;   /**< open surface after one session: 1 - exp(-density x mean lumen
                                area), the lumen = the channel scaled by lumen_ratio (model v2) */
  double overlap_fraction; /**< punctures with a neighbour closer than one channel diameter */
  double nn_mean_um, nn_median_um, nn_p05_um; /**< nearest-neighbour distances */
  size_t spacing_sampled; /**< punctures the spacing and overlap figures rest on */
  double depth_mean_um, depth_sd_um, depth_min_um, depth_max_um;
  double depth_lo_um, depth_hi_um;       /**< mean depth at the class ratio's range ends */
  double layer_fraction[MN_LAYER_COUNT]; /**< fraction of channels ending in each layer */
  double reach_fraction[MN_LAYER_COUNT]; /**< fraction of channels reaching each layer's top */
  double bleeding_fraction;              /**< channels at or below the subpapillary plexus */
  double plexus_depth_um;
  double surface_radius_mean_um;
  double density_map_cv; /**< CV of the density map over cells fully inside the outline */
} mn_device_stats;

/** Compute the statistics of @p s (made by @p d for @p t) on skin @p sk. t->seed drives the
 *  Monte-Carlo coverage and the sampling of nearest-neighbour distances (at most 100000).
 *  @return MN_OK or MN_ENOMEM. */
int mn_device_stats_compute(const mn_device *d, const mn_treatment *t, const mn_skin *sk,
                            const mn_puncture_set *s, mn_device_stats *out, mn_error *err);

/** Density map: counts per cell in punctures/cm2 over the outline's bounding box. Owns its
 *  arrays: mn_density_map_fini. */
typedef struct mn_density_map {
  int nx, ny;
  double x0_mm, y0_mm, cell_mm;
  double *per_cm2; /**< [ny][nx], x fastest */
  uint8_t *inside; /**< 1 for cells whose centre is inside the outline */
} mn_density_map;
/** Build the map with square cells of @p cell_mm (<= 0: automatic, about 30 punctures per cell
 *  and 20 to 120 cells along the longer side). @p out is zeroed on failure.
 *  @return MN_OK; MN_ERANGE for more than 4096 cells a side; MN_ENOMEM. */
int mn_density_map_build(const mn_treatment *t, const mn_puncture_set *s, double cell_mm,
                         mn_density_map *out, mn_error *err);
/** Free the map's arrays and zero it. NULL-safe. */
void mn_density_map_fini(mn_density_map *m);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_DEVICE_H */
