/* Private to the plan module. */
#ifndef MNSIM_PLAN_IMPL_H
#define MNSIM_PLAN_IMPL_H

#include <stddef.h>

extern const char mn__data_candidacy_csv[];
extern const size_t mn__data_candidacy_csv_len;
extern const char mn__data_indications_csv[];
extern const size_t mn__data_indications_csv_len;
extern const char mn__data_region_depths_csv[];
extern const size_t mn__data_region_depths_csv_len;

#endif
