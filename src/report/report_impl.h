/* Private to the report module: the PLplot helpers every figure shares (defined in densitymap.c)
 * and the plan report's set of figures (planfigs.c), which planreport.c embeds in the page. */
#ifndef MNSIM_REPORT_IMPL_H
#define MNSIM_REPORT_IMPL_H

#include <plplot.h>

/* PLplot's plexit() calls this and then exit(): remove our temporaries, fail the exit status */
int mn__pl_exit_handler(PLCHAR_VECTOR msg);
/* colour map 1: dark blue through teal and green to yellow (viridis-like) */
void mn__pl_viridis(void);

#include "mnsim/report.h"

/* One figure, drawn by @p draw on a PLplot stream of its own with the report's colour map 0
 * (1-4 and 6, 11: the series; 5 grey; 7-10 translucent; 15 text), as SVG text of w x h pixels:
 * *out (mn_malloc, *len bytes, not NUL-terminated) belongs to the caller (planfigs.c). */
typedef void (*mn__draw_fn)(const void *ctx);
int mn__render_svg(mn__draw_fn draw, const void *ctx, int w, int h, char **out, size_t *len,
                   mn_error *err);

/* Every figure of the plan report as SVG text: svg[0..5] = redness, collagen, timeline, density
 * map, histology (NULL without a section), the shipped Sobol indices; owned by the caller
 * (mn_free). */
enum { MN__PLAN_FIGS = 6 };
int mn__plan_svgs(const mn_plan_report *rp, char *svg[MN__PLAN_FIGS], size_t len[MN__PLAN_FIGS],
                  mn_error *err);

#endif
