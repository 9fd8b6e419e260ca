/* Replays a fuzz corpus through one target in a normal (non-libFuzzer) build, so that every ctest
 * run re-checks the saved inputs (SQLite fuzzcheck.c). usage: replay_<target> DIR... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  static uint8_t buf[1 << 21];
  size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  LLVMFuzzerTestOneInput(buf, n);
  return 1;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int a = 1; a < argc; a++) {
    DIR *d = opendir(argv[a]);
    if (!d) {
      count += replay_file(argv[a]);
      continue;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name);
      count += replay_file(path);
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", count);
  return count > 0 ? 0 : 1;
}
