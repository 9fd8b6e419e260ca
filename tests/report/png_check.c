/* png_check FILE: print the share of pixels that are not (near) white in a PNG screenshot and
 * exit 1 when it is below 1 % (a blank page) or the file is not a PNG. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: png_check FILE.png\n");
    return 2;
  }
  png_image img = {0};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, argv[1])) {
    fprintf(stderr, "png_check: %s: %s\n", argv[1], img.message);
    return 1;
  }
  img.format = PNG_FORMAT_RGB;
  size_t n = PNG_IMAGE_SIZE(img);
  unsigned char *buf = malloc(n);
  if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
    fprintf(stderr, "png_check: %s: cannot decode\n", argv[1]);
    return 1;
  }
  size_t px = (size_t)img.width * img.height, ink = 0;
  for (size_t i = 0; i < px; i++)
    if (buf[3 * i] < 230 || buf[3 * i + 1] < 230 || buf[3 * i + 2] < 230) ink++;
  double share = px ? (double)ink / px : 0;
  printf("png_check: %ux%u, %.1f %% of the pixels not white\n", img.width, img.height, 100 * share);
  free(buf);
  return share >= 0.01 ? 0 : 1;
}
