/* Private to the skin module: the atlas's parsed rows and regions (atlas.c builds them, skin.c
 * resolves a patient from them) and the data tables compiled into the library. */
#ifndef MNSIM_SKIN_IMPL_H
#define MNSIM_SKIN_IMPL_H

#include "mnsim/skin.h"

/* Layers held in the anatomy table (the dermis below the papillary layer is RD). */
enum { ROW_LAYERS = MN_LAYER_HYPO };

typedef struct atlas_row {
  char region[32]; /* canonical region or "*" */
  int sex;         /* MN_SEX_*, or -1 for "*" */
  int layer;       /* MN_LAYER_SC .. MN_LAYER_RD */
  double thickness_um, sd_um, min_um, max_um;
  double ref_age_y;         /* NAN when the row has no age trend */
  double change_per_decade; /* fractional change per 10 years of age */
  char tag[8];
  char source[240];
} atlas_row;

typedef struct atlas_region {
  char name[32];
  char aliases[160]; /* ';'-separated */
  char doc[200];
} atlas_region;

struct mn_skin_atlas {
  atlas_row *rows;
  size_t n_rows;
  atlas_region *regions;
  size_t n_regions;
  const char **names; /* region names, for suggestions */
};

/* Embedded data tables, generated from data/ at build time by cmake/embed.cmake: _len bytes of
 * text followed by a NUL. */
extern const char mn__data_skin_layers_csv[];
extern const size_t mn__data_skin_layers_csv_len;
extern const char mn__data_regions_csv[];
extern const size_t mn__data_regions_csv_len;

#endif
