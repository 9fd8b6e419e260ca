/* Private to the healing module. */
#ifndef MNSIM_HEALING_IMPL_H
#define MNSIM_HEALING_IMPL_H

#include "mnsim/healing.h"

extern const char mn__data_healing_params_csv[];
extern const size_t mn__data_healing_params_csv_len;
extern const char mn__data_calibration_csv[];
extern const size_t mn__data_calibration_csv_len;

/* Species that diffuse (the rest are local). */
enum { MN_NDIFFUSING = 5 };
extern const int mn__diffusing[MN_NDIFFUSING];

#endif
