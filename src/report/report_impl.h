/* Private to the report module: PLplot settings shared by its figures. */
#ifndef MNSIM_REPORT_IMPL_H
#define MNSIM_REPORT_IMPL_H

#include <plplot.h>

/* PLplot's plexit() calls this and then exit(): remove our temporaries, fail the exit status */
int mn__pl_exit_handler(PLCHAR_VECTOR msg);
/* colour map 1: dark blue through teal and green to yellow (viridis-like) */
void mn__pl_viridis(void);

#endif
