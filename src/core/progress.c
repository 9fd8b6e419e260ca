/* Progress with elapsed time and ETA for long runs (simulate, validate, calibrate, sensitivity):
 * a bar redrawn in place on a terminal, or a line every 5 % for logs (MN_PROGRESS_LINES: a run
 * that is killed or times out has printed how far it got), on a stream the caller chooses and
 * only when the caller enables it. Pipeline: core; the
 * program owns the loop and the stream, and no library computation draws a bar by itself. */
#include <string.h>
#include <time.h>

#include "mnsim/core.h"

double mn_wall_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* m:ss, or h:mm:ss from one hour; "--:--" when the time is unknown (negative, NaN) or beyond
 * 99:59:59, as an ETA early in a run can be. */
static void format_hms(char *buf, size_t size, double s) {
  if (!(s >= 0) || s > 359999) {
    snprintf(buf, size, "--:--");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* ETA by linear extrapolation of the elapsed time, elapsed (1 - frac) / frac; at 100 % the
 * total time is shown instead ("in 1:23"). */
void mn_progress_format(char *buf, size_t size, const char *label, double frac, double elapsed_s) {
  enum { WIDTH = 30 };
  if (!(frac >= 0)) frac = 0;
  if (frac > 1) frac = 1;
  char bar[WIDTH + 1];
  int filled = (int)(frac * WIDTH);
  for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[WIDTH] = '\0';
  char eta[32];
  if (frac >= 1)
    format_hms(eta, sizeof eta, elapsed_s);
  else
    format_hms(eta, sizeof eta, frac > 0 ? elapsed_s * (1 - frac) / frac : -1);
  snprintf(buf, size, "%s [%s] %3d%%  %s %s", label, bar, (int)(frac * 100),
           frac >= 1 ? "in" : "ETA", eta);
}

void mn_progress_init(mn_progress *p, FILE *fp, const char *label, int mode) {
  memset(p, 0, sizeof *p);
  p->fp = fp;
  p->enabled = fp ? mode : MN_PROGRESS_OFF;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  p->t_start = mn_wall_time();
  p->t_last = -1;
}

/* "\r" redraws the line in place; "\033[K" clears what a longer previous line left behind. A log
 * line ends with a newline and is flushed, so that it survives a kill. */
static void draw(mn_progress *p, double frac, double now) {
  char line[160];
  mn_progress_format(line, sizeof line, p->label, frac, now - p->t_start);
  if (p->enabled == MN_PROGRESS_LINES)
    fprintf(p->fp, "%s\n", line);
  else
    fprintf(p->fp, "\r%s\033[K", line);
  fflush(p->fp);
  p->t_last = now;
  p->last_frac = frac;
}

/* A bar: at most ten redraws a second, so that a fast loop does not spend its time on the
 * terminal; the first call always draws. Lines: one each time the run crosses a multiple of 5 %
 * (the first at 5 %). */
void mn_progress_update(mn_progress *p, double frac) {
  if (!p->enabled) return;
  if (p->enabled == MN_PROGRESS_LINES) {
    if (!(frac < 1)) return; /* mn_progress_finish prints the last line */
    if ((int)(frac * 20) > (int)(p->last_frac * 20)) draw(p, frac, mn_wall_time());
    return;
  }
  double now = mn_wall_time();
  if (p->t_last >= 0 && now - p->t_last < 0.1) return;
  draw(p, frac, now);
}

void mn_progress_finish(mn_progress *p) {
  if (!p->enabled) return;
  draw(p, 1.0, mn_wall_time());
  if (p->enabled == MN_PROGRESS_BAR) fputc('\n', p->fp);
  fflush(p->fp);
  p->enabled = MN_PROGRESS_OFF;
}

void mn_progress_stop(mn_progress *p) {
  if (p->enabled == MN_PROGRESS_BAR) {
    fputc('\n', p->fp);
    fflush(p->fp);
  }
  p->enabled = MN_PROGRESS_OFF;
}
