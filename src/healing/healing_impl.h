/* Private to the healing module. */
#ifndef MNSIM_HEALING_IMPL_H
#define MNSIM_HEALING_IMPL_H

#include "mnsim/healing.h"

extern const char mn__data_healing_params_csv[];
extern const size_t mn__data_healing_params_csv_len;
extern const char mn__data_calibration_csv[];
extern const size_t mn__data_calibration_csv_len;

/* Kernels compiled for several x86-64 levels, chosen at load time by the CPU (GCC on Linux); every
 * clone performs the same operations in the same order (no fused multiply-adds in ISO C mode), so
 * all give the same numbers. Elsewhere: one baseline version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define MN_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#else
#define MN_CLONES(...)
#endif

/* Species that diffuse (the rest are local). */
enum { MN_NDIFFUSING = 5 };
extern const int mn__diffusing[MN_NDIFFUSING];

#endif
