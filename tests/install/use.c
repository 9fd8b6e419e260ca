/* A program using the installed library through pkg-config, compiled as C and as C++. */
#include <mnsim/mnsim.h>
#include <stdio.h>
int main(void) {
  mn_error e = {0};
  mn_device_catalogue *c;
  if (mn_device_catalogue_create(&c, &e)) {
    printf("%s\n", e.msg);
    return 1;
  }
  printf("mnsim %s: %zu devices\n", mn_version(), mn_device_catalogue_count(c));
  mn_device_catalogue_destroy(c);
  return 0;
}
