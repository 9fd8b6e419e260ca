/* Benchmark: punctures for a whole face (200 cm2, 3 passes, 12-needle pen at 120 strokes/s) must
 * take under 1 s with memory proportional to the punctures. Prints measured/target ratios. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "mnsim/mnsim.h"

static long rss_kb(void) {
  FILE *fp = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (fp && fgets(line, sizeof line, fp))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (fp) fclose(fp);
  return kb;
}

int main(void) {
  mn_error err = {0};
  mn_device_catalogue *cat;
  mn_skin_atlas *atlas;
  if (mn_device_catalogue_create(&cat, &err) || mn_skin_atlas_create(&atlas, &err)) {
    fprintf(stderr, "bench_device: %s\n", err.msg);
    return 1;
  }
  mn_device_params dp = {.depth_mm = 1.0, .stroke_rate_hz = 120};
  snprintf(dp.model, sizeof dp.model, "pen-rejuvapen-12");
  mn_device dev;
  mn_skin_params sp = {.age_y = 40, .sex = MN_SEX_FEMALE, .fitzpatrick = 3};
  snprintf(sp.region, sizeof sp.region, "cheek");
  mn_skin skin;
  if (mn_device_init(&dev, cat, &dp, &err) || mn_skin_build(atlas, &sp, &skin, &err)) {
    fprintf(stderr, "bench_device: %s\n", err.msg);
    return 1;
  }
  mn_treatment t = {.n_outline = 4, .n_passes = 3, .seed = 7};
  double h = 0.5 * 141.42; /* 200 cm2 square */
  double pts[4][2] = {{-h, -h}, {h, -h}, {h, h}, {-h, h}};
  memcpy(t.outline_mm, pts, sizeof pts);
  int dirs[3] = {MN_DIR_HORIZONTAL, MN_DIR_VERTICAL, MN_DIR_DIAGONAL};
  for (int i = 0; i < 3; i++)
    t.passes[i] = (mn_pass_params){.direction = dirs[i], .speed_mm_per_s = 20, .jitter_mm = 0.3};
  long rss0 = rss_kb();
  double t0 = mn_wall_time();
  mn_puncture_set *set;
  if (mn_device_punctures(&dev, &t, &set, &err)) {
    fprintf(stderr, "bench_device: %s\n", err.msg);
    return 1;
  }
  double t1 = mn_wall_time();
  long rss1 = rss_kb();
  mn_device_stats st;
  if (mn_device_stats_compute(&dev, &t, &skin, set, &st, &err)) {
    fprintf(stderr, "bench_device: %s\n", err.msg);
    return 1;
  }
  double t2 = mn_wall_time();
  double gen_s = t1 - t0, bytes = 1024.0 * (double)(rss1 - rss0);
  double per = bytes / (double)set->n;
  printf("bench_device: whole face %.0f cm2, 3 passes, %s at %.0f strokes/s, %.0f mm/s\n",
         mn_treatment_area_cm2(&t), dev.spec.id, dev.rate_hz, t.passes[0].speed_mm_per_s);
  printf("punctures              %zu (%.0f per cm2)\n", set->n, st.density_cm2);
  printf("generation             %.3f s   target 1 s   ratio %.3f\n", gen_s, gen_s / 1.0);
  printf("statistics             %.3f s   (coverage, overlap, nearest neighbours, density map)\n",
         t2 - t1);
  printf("memory                 %.1f MB  %.1f bytes/puncture (record %zu bytes)   ratio %.2f\n",
         bytes / 1e6, per, 2 * sizeof(double) + 2 * sizeof(float) + 1, per / 25.0);
  printf("rate                   %.1f M punctures/s\n", 1e-6 * (double)set->n / gen_s);
  mn_puncture_set_destroy(set);
  mn_device_fini(&dev);
  mn_device_catalogue_destroy(cat);
  mn_skin_atlas_destroy(atlas);
  return gen_s < 1.0 ? 0 : 1;
}
