/* Calendar dates as days since 1970-01-01 (proleptic Gregorian), for plans and calendars: H.
 * Hinnant's days-from-civil and civil-from-days algorithms ("chrono-Compatible Low-Level Date
 * Algorithms"). Stage: core. */
#include <stdio.h>

#include "mnsim/core.h"

static long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long)doe - 719468;
}

long mn_date_days(const char *ymd) {
  int y, m, d, n = 0;
  if (!ymd || sscanf(ymd, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || ymd[10]) return -1;
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return -1;
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[m - 1] + (m == 2 && leap)) return -1;
  return days_from_civil(y, (unsigned)m, (unsigned)d);
}

void mn_date_format(long z, char out[16]) {
  z += 719468;
  long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long y = (long)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999; /* outside the dates mnsim accepts */
  snprintf(out, 16, "%04d-%02u-%02u", (int)y, m % 100, d % 100);
}
