/* Calendar dates as days since 1970-01-01 (proleptic Gregorian) for the plan's session dates,
 * review and calendar. Pipeline: core; used by plan, io (plan.json, plan.ics) and report.
 * Reference: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" (days_from_civil,
 * civil_from_days), exact for every date without tables or floating point. */
#include <stdio.h>

#include "mnsim/core.h"

/* Hinnant's days_from_civil. Years are counted from 1 March, so that the leap day is the last
 * day of the year: doy comes from the 153-day pattern of five months (31 30 31 30 31), an era is
 * the 400-year cycle of 146097 days, and 719468 is the day number of 1970-01-01 counted from
 * 0000-03-01. Valid for any date; the caller has checked the month and day. */
static long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long)doe - 719468;
}

/* Strictly "YYYY-MM-DD" and nothing after it, a year in [1900, 2200], a day that exists in its
 * month (Gregorian leap years). */
long mn_date_days(const char *ymd) {
  int y, m, d, n = 0;
  if (!ymd) return -1;
  /* sscanf's %d would take signs and blanks ("2027-+1-01", "2027- 1-01"): digits first */
  for (int i = 0; i < 10; i++)
    if (i == 4 || i == 7 ? ymd[i] != '-' : !(ymd[i] >= '0' && ymd[i] <= '9')) return -1;
  if (sscanf(ymd, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || ymd[10]) return -1;
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return -1;
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[m - 1] + (m == 2 && leap)) return -1;
  return days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* Hinnant's civil_from_days, the inverse of days_from_civil. Only the year is clamped to four
 * digits; the modulos tell the compiler that the text fits in 16 bytes. */
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
