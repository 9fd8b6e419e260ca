/* mnsim io: YAML case files (table-driven, positioned errors, nearest-key suggestions) and the
 * machine-readable outputs (CSV, JSON), all written atomically. Only io/ and report/ touch files.
 * Uses libyaml and Jansson. */
#ifndef MNSIM_IO_H
#define MNSIM_IO_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) || \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING)
#error "mnsim/io.h is a later pipeline stage than the module being built"
#endif

#include <stdio.h>

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MN_MAX_LESIONS = 1000 };

/** Where a key of the case file was written (for positioned errors). */
typedef struct mn_case_loc {
  char key[160];
  int line, col;
} mn_case_loc;

/** A parsed case file: plain parameter structs for each module plus key positions. */
typedef struct mn_case {
  char file[256];        /**< name used in messages */
  char description[200]; /**< free text (key `description`) */
  uint64_t seed;         /**< RNG seed (key `seed`) */
  mn_skin_params skin;   /**< section `skin` */
  mn_lesion *lesions;    /**< `skin.lesions`, owned */
  int n_lesions;
  mn_device_params device;    /**< section `device` */
  mn_treatment treatment;     /**< section `treatment` (outline and passes); its seed = seed */
  double width_mm, height_mm; /**< rectangle outline when `outline_mm` is absent */
  mn_case_loc *locs;          /**< key positions, owned */
  int n_locs, cap_locs;
} mn_case;

/** Read and parse case file @p path. Errors carry file, line, column and key path; syntax and
 *  type errors and unreadable files are MN_EINPUT, out-of-range values MN_ERANGE. */
int mn_case_read(const char *path, mn_case **out, mn_error *err);
/** Parse case text @p text of @p len bytes; @p name is used in messages. */
int mn_case_parse(const char *text, size_t len, const char *name, mn_case **out, mn_error *err);
void mn_case_destroy(mn_case *c);
/** Give @p err the file position of its key (or of the nearest enclosing key) in case @p c. */
void mn_case_locate(const mn_case *c, mn_error *err);
/** Check what needs the anatomy: build @p skin and check every lesion against it. */
int mn_case_check_skin(const mn_case *c, const mn_skin_atlas *atlas, mn_skin *skin, mn_error *err);

/** Write an annotated YAML case file with every key, its default, unit, range and doc. */
void mn_case_write_defaults(FILE *fp);
/** Write the configuration reference (markdown tables) generated from the descriptor tables. */
void mn_case_write_reference_md(FILE *fp);

/** A writer fills an open stream; mn_io_write_atomic wraps it in temp-file + rename. */
typedef int (*mn_write_fn)(FILE *fp, const void *ctx, mn_error *err);
int mn_io_write_atomic(const char *path, mn_write_fn fn, const void *ctx, mn_error *err);

/** Everything `mnsim device` reports, for the writers below. */
typedef struct mn_device_result {
  const mn_case *cs;
  const mn_device *dev;
  const mn_skin *skin;
  const mn_puncture_set *set;
  const mn_device_stats *st;
} mn_device_result;

/** Puncture list: x_mm,y_mm,depth_um,radius_um,pass,layer,bleeding. @p ctx: mn_device_result. */
int mn_io_punctures_csv(FILE *fp, const void *ctx, mn_error *err);
/** Summary as quantity,value,unit,note rows. @p ctx: mn_device_result. */
int mn_io_device_summary_csv(FILE *fp, const void *ctx, mn_error *err);
/** Summary as one JSON object (inputs, device, skin, statistics, evidence). */
int mn_io_device_json(FILE *fp, const void *ctx, mn_error *err);
/** Density map as CSV (x_mm,y_mm,punctures_per_cm2,inside). @p ctx: mn_density_map. */
int mn_io_density_map_csv(FILE *fp, const void *ctx, mn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_IO_H */
