/* mnsim skin: layered facial anatomy by region, sex and age; Fitzpatrick types; atrophic acne
 * scars and wrinkles as local dermal deficits. Pipeline: right after core (uses core only);
 * device, grid, injury and healing read the patient's layers from here.
 * Sources: data/skin_layers.csv (every row cites its own), Jacob et al. 2001 for scar types. */
#ifndef MNSIM_SKIN_H
#define MNSIM_SKIN_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE)
#error "mnsim/skin.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Skin layers from the surface down; MN_LAYER_HYPO is the boundary below the dermis. */
typedef enum {
  MN_LAYER_SC = 0, /**< stratum corneum */
  MN_LAYER_VE,     /**< viable epidermis */
  MN_LAYER_PD,     /**< papillary dermis */
  MN_LAYER_RD,     /**< reticular dermis */
  MN_LAYER_HYPO,   /**< hypodermis (below the modelled slab) */
  MN_LAYER_COUNT
} mn_layer;

/** Short layer names: "SC", "VE", "PD", "RD", "HYPO"; "?" out of range. Static strings. */
const char *mn_layer_name(int layer);
/** Long layer names: "stratum corneum", ...; "?" out of range. Static strings. */
const char *mn_layer_long_name(int layer);

/** Sex, for the sex-specific rows of the anatomy table. */
typedef enum { MN_SEX_FEMALE = 0, MN_SEX_MALE = 1 } mn_sex;

/** Patient skin parameters (YAML section `skin`). Config keys: skin.<field>. */
typedef struct mn_skin_params {
  char region[32]; /**< face region: forehead, cheek, nose, perioral, periorbital, chin, neck ... */
  double age_y;    /**< age in years */
  int sex;         /**< mn_sex */
  int fitzpatrick; /**< Fitzpatrick skin type 1-6 (I-VI) */
} mn_skin_params;

/** Descriptor table of mn_skin_params (keys, units, defaults, ranges): static, *n entries. */
const mn_config_desc *mn_skin_param_table(size_t *n);

/** Anatomy table: layer thicknesses by region and sex with age trends. Opaque; created by
 *  mn_skin_atlas_create or _parse, freed with mn_skin_atlas_destroy. Read-only after creation,
 *  so threads may share one. */
typedef struct mn_skin_atlas mn_skin_atlas;

/** Load the atlas compiled into the library (data/skin_layers.csv, data/regions.csv).
 *  @param[out] out the atlas (owned by the caller: mn_skin_atlas_destroy), NULL on failure
 *  @return MN_OK; MN_EINPUT if the compiled-in tables are inconsistent; MN_ENOMEM. */
int mn_skin_atlas_create(mn_skin_atlas **out, mn_error *err);
/** Load an atlas from CSV texts (same columns as the shipped files; each text is copied, need
 *  not be NUL-terminated); @p *_name used in messages. Every region must resolve every layer for
 *  both sexes. @param[out] out as for mn_skin_atlas_create
 *  @return MN_OK; MN_EINPUT naming file and line (missing column, unknown region, sex or layer,
 *  thickness out of range, row without source); MN_ENOMEM. */
int mn_skin_atlas_parse(const char *layers_csv, size_t layers_len, const char *layers_name,
                        const char *regions_csv, size_t regions_len, const char *regions_name,
                        mn_skin_atlas **out, mn_error *err);
/** Free an atlas. NULL-safe. */
void mn_skin_atlas_destroy(mn_skin_atlas *a);
/** Number of canonical regions. */
size_t mn_skin_atlas_region_count(const mn_skin_atlas *a);
/** Name of region @p i; NULL when @p i is out of range. Borrowed from @p a (valid until
 *  mn_skin_atlas_destroy). */
const char *mn_skin_atlas_region_name(const mn_skin_atlas *a, size_t i);
/** Human description of region @p i ("zygoma/cheekbone ..."); NULL out of range. Borrowed. */
const char *mn_skin_atlas_region_doc(const mn_skin_atlas *a, size_t i);

/** Computed anatomy of one patient at one region. Plain data (no pointers: it does not refer to
 *  the atlas). Thicknesses and depths in um. */
typedef struct mn_skin {
  mn_skin_params params;
  char region[32];                    /**< canonical region name (aliases resolved) */
  double thickness_um[MN_LAYER_HYPO]; /**< SC, VE, PD, RD after sex and age adjustment */
  double sd_um[MN_LAYER_HYPO];        /**< between-subject SD of each thickness */
  double range_um[MN_LAYER_HYPO][2];  /**< plausible range across measurement methods */
  double top_um[MN_LAYER_COUNT];      /**< depth of each layer's top; top_um[HYPO] = total */
  double age_factor[MN_LAYER_HYPO];   /**< multiplier applied for age */
  char tag[MN_LAYER_HYPO][8];         /**< evidence tag of each layer's row: V, D, E ... */
  char source[MN_LAYER_HYPO][240];    /**< source of each layer's thickness */
} mn_skin;

/** Build the anatomy for @p p: the most specific atlas rows for region and sex, scaled by the
 *  age trend (factor clamped to [0.5, 1.5]). Region names and aliases match case-insensitively.
 *  @return MN_OK; MN_ERANGE for parameters outside their ranges (key "skin.<field>"); MN_EINPUT
 *  for an unknown region, naming the nearest known one (key "skin.region"), or a region the
 *  atlas has no row for. Never allocates. */
int mn_skin_build(const mn_skin_atlas *a, const mn_skin_params *p, mn_skin *out, mn_error *err);
/** Layer containing depth @p depth_um (0 = surface; a depth on a boundary belongs to the deeper
 *  layer; negative depths give SC); MN_LAYER_HYPO below the dermis. */
int mn_skin_layer_at(const mn_skin *s, double depth_um);
/** Depth of the subpapillary vascular plexus (bottom of the papillary dermis), in um: the
 *  bleeding endpoint of a needle channel. */
double mn_skin_plexus_depth_um(const mn_skin *s);

/** Fitzpatrick type name ("I".."VI") for @p type 1-6; "?" otherwise. Static string. */
const char *mn_fitzpatrick_name(int type);
/** Sun-reaction description of Fitzpatrick type @p type 1-6 (Fitzpatrick 1988); "?" otherwise. */
const char *mn_fitzpatrick_doc(int type);

/* ---------------------------------------------------------------------------------------------
 * Lesions: local dermal deficits carved by the tissue grid. */

/** Lesion types; scar widths after Jacob 2001. */
typedef enum {
  MN_LESION_ICEPICK = 0, /**< V-shaped tract, width < 2 mm */
  MN_LESION_BOXCAR,      /**< U-shaped, flat base, vertical edges, 1.5-4 mm */
  MN_LESION_ROLLING,     /**< M-shaped undulation, > 4-5 mm */
  MN_LESION_WRINKLE,     /**< linear furrow of given length and orientation */
  MN_LESION_TYPE_COUNT
} mn_lesion_type;

/** One lesion (YAML list `skin.lesions`). Positions in the treatment frame, mm.
 *  Config keys: skin.lesions[i].<field>. */
typedef struct mn_lesion {
  int type;          /**< mn_lesion_type */
  double x_mm, y_mm; /**< centre */
  double width_mm;   /**< scar diameter, or wrinkle furrow width */
  double depth_mm;   /**< deficit depth below the surrounding surface */
  double length_mm;  /**< wrinkle length (ignored for scars) */
  double angle_deg;  /**< wrinkle orientation, degrees from the x axis */
} mn_lesion;

/** Descriptor table of mn_lesion: static, *n entries. */
const mn_config_desc *mn_lesion_param_table(size_t *n);
/** "icepick", "boxcar", "rolling", "wrinkle"; "?" out of range. Static string. */
const char *mn_lesion_type_name(int type);

/** Check a lesion against the key ranges, its type's limits (an icepick scar at most 3 mm wide)
 *  and the patient's dermis (deficit no deeper than PD + RD). @p path prefixes keys in messages
 *  ("skin.lesions[0]"). @return MN_OK or MN_ERANGE. */
int mn_lesion_check(const mn_lesion *l, const mn_skin *s, const char *path, mn_error *err);
/** Depth of the dermal deficit of @p l at surface point (x, y) in um; 0 outside the lesion. */
double mn_lesion_deficit_um(const mn_lesion *l, double x_mm, double y_mm);
/** Classification text per Jacob 2001 ("boxcar, deep (> 0.5 mm)"); notes when the width is
 *  atypical for the type. Writes to @p buf (cut at @p size - 1 characters). */
void mn_lesion_describe(const mn_lesion *l, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_SKIN_H */
