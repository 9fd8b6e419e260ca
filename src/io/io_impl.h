/* Private to the io module. */
#ifndef MNSIM_IO_IMPL_H
#define MNSIM_IO_IMPL_H

#include "mnsim/io.h"

/* Descriptor tables of the case file's own keys (top level; treatment rectangle). */
const mn_param_desc *mn__case_table(size_t *n);
const mn_param_desc *mn__treatment_table(size_t *n);

#endif
