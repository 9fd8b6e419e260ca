/* Benchmark of the lumped twin: one run of 3 sessions 6 weeks apart over 12 months (pen at
 * 1.0 mm, 300 punctures/cm2, cheek) must take under 5 ms (issue 4). Prints the ratio. */
#include <stdio.h>
#include <string.h>

#include "mnsim/mnsim.h"

static void to_stderr(int level, const char *msg, void *user) {
  (void)level, (void)user;
  fprintf(stderr, "%s\n", msg);
}

int main(void) {
  mn_log_set_handler(to_stderr, NULL);
  mn_error e = {0};
  mn_skin_atlas *a;
  mn_device_catalogue *c;
  mn_skin sk;
  mn_device dev;
  mn_param_set ps;
  mn_skin_params sp = {.region = "cheek", .age_y = 45, .fitzpatrick = 3};
  mn_device_params dp = {.model = "pen-12", .depth_mm = 1.0};
  if (mn_skin_atlas_create(&a, &e) || mn_device_catalogue_create(&c, &e) ||
      mn_skin_build(a, &sp, &sk, &e) || mn_device_init(&dev, c, &dp, &e) ||
      mn_param_set_load_default(&ps, &e)) {
    fprintf(stderr, "bench_lumped: %s\n", e.msg);
    return 1;
  }
  double samples[400];
  int ns = 0;
  for (int d = 0; d <= 365; d++) samples[ns++] = d;
  mn_lumped_input in = {.m = &ps.p,
                        .fitz = 3,
                        .skin = &sk,
                        .dev = &dev,
                        .density_cm2 = 300,
                        .depth_um = 900,
                        .sessions = 3,
                        .session_day = {0, 42, 84},
                        .t_end = 365,
                        .samples = samples,
                        .nsamples = ns};
  mn_lumped_params lp;
  mn_lumped_params_default(&lp);
  mn_timeseries ts;
  mn_timeseries_init(&ts, ns, &e);
  mn_lumped_geometry geo;
  enum { REPS = 50 };
  double best = 1e9;
  for (int r = 0; r < REPS; r++) {
    ts.n = 0;
    double t0 = mn_wall_time();
    if (mn_lumped_run(&in, &lp, &ts, &geo, &e)) {
      fprintf(stderr, "bench_lumped: %s\n", e.msg);
      return 1;
    }
    double t = mn_wall_time() - t0;
    best = t < best ? t : best;
  }
  printf("bench_lumped: 3 sessions, 365 days, %d slabs x 2 zones x %d states, %ld CVODE steps\n",
         geo.slabs, MN_NSPECIES, geo.steps);
  printf("one run               %.2f ms   target 5 ms   ratio %.2f\n", 1e3 * best, best / 5e-3);
  mn_timeseries_fini(&ts);
  mn_device_fini(&dev);
  mn_device_catalogue_destroy(c);
  mn_skin_atlas_destroy(a);
  return best < 5e-3 ? 0 : 1;
}
