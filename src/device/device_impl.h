/* Private to the device module: the catalogue's storage, the embedded data tables, and the
 * stroke geometry that treatment.c (clipping) and device.c (directions) lend to punctures.c. */
#ifndef MNSIM_DEVICE_IMPL_H
#define MNSIM_DEVICE_IMPL_H

#include "mnsim/device.h"

struct mn_device_catalogue {
  mn_device_spec *specs;
  size_t n;
  mn_device_class_info classes[MN_DEVICE_CLASS_COUNT];
  const char **ids; /* for suggestions */
};

/* Embedded data tables (cmake/embed.cmake): _len bytes of text followed by a NUL. */
extern const char mn__data_devices_csv[];
extern const size_t mn__data_devices_csv_len;
extern const char mn__data_device_classes_csv[];
extern const size_t mn__data_device_classes_csv_len;

/* A segment of a stroke line inside the outline: parameter range along the line. */
typedef struct mn__segment {
  double t0, t1;
} mn__segment;

/* Intersect the line {p + t u} with the outline polygon; writes the inside segments sorted by t
 * (even-odd rule) into seg (capacity cap). Returns the count. */
int mn__clip_line(const mn_treatment *t, const double p[2], const double u[2], mn__segment *seg,
                  int cap);
/* Stroke direction of a pass as a unit vector. */
void mn__pass_direction(const mn_pass_params *p, double u[2]);

#endif
