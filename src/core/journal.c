/* The journal of a result set being put in place (src/io/output.c, stage 3), so that a set whose
 * writer is killed with SIGKILL between its renames is rolled back by the next process that
 * writes into the directory, instead of staying a mix of old and new files.
 *
 * ".mnsim-set-PID.journal" in the set's directory, text lines:
 *   mnsim result set PID
 *   item TAB target TAB backup TAB owner     one per file: the target's and its backup's names in
 *                                            the directory (backup empty: the target was new),
 *                                            owner the absolute path a moved-in file came from
 *   done TAB i                               appended and synced after each rename
 *   complete                                 appended once every file is in place
 * The journal is created and synced (file and directory) before the first rename and removed
 * after the backups. Recovery of a journal whose writer no longer exists: when it says complete,
 * the backups left are removed; otherwise the renames done are undone in reverse (a moved-in file
 * goes back to its owner, the old file comes back from its backup, a new file is removed) and
 * the backups of the files not renamed are removed. Every step is idempotent, so a recovery that
 * is itself killed is finished by the next one. Pipeline: core. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnsim/core.h"

enum { JMAX = 16 };

/* A name the journal can hold: no tab, no newline. */
static int plain(const char *s) {
  return strpbrk(s, "\t\n") == NULL;
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

int mn_journal_begin(mn_journal *j, const char *dir, int n, const char *const *target,
                     const char *const *backup, const char *const *owner) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  if (n > JMAX || !plain(dir)) return -1;
  char owner_abs[JMAX][4200];
  for (int i = 0; i < n; i++) {
    owner_abs[i][0] = '\0';
    if (!plain(target[i]) || !plain(backup[i])) return -1;
    if (owner[i] && owner[i][0]) {
      char *r = realpath(owner[i], NULL);
      if (!r) return -1;
      int ok = strlen(r) < sizeof owner_abs[i] && plain(r);
      if (ok) snprintf(owner_abs[i], sizeof owner_abs[i], "%s", r);
      free(r);
      if (!ok) return -1;
    }
  }
  if ((size_t)snprintf(j->path, sizeof j->path, "%s/.mnsim-set-%ld.journal", dir, (long)getpid()) >=
      sizeof j->path)
    return -1;
  int fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  FILE *fp = fdopen(fd, "w");
  if (!fp) {
    close(fd), unlink(j->path);
    return -1;
  }
  fprintf(fp, "mnsim result set %ld\n", (long)getpid());
  for (int i = 0; i < n; i++)
    fprintf(fp, "item\t%s\t%s\t%s\n", base_of(target[i]), backup[i][0] ? base_of(backup[i]) : "",
            owner_abs[i]);
  int bad = fflush(fp) != 0 || ferror(fp) || fsync(fd) != 0;
  j->fd = dup(fd);
  fclose(fp);
  if (bad || j->fd < 0) {
    if (j->fd >= 0) close(j->fd);
    j->fd = -1;
    unlink(j->path);
    return -1;
  }
  mn_fsync_dir(j->path);
  return 0;
}

/* Append one line and sync it; a failure only weakens recovery, the set goes on. */
static void append(mn_journal *j, const char *line) {
  if (j->fd < 0) return;
  size_t len = strlen(line);
  if (write(j->fd, line, len) != (ssize_t)len || fdatasync(j->fd) != 0) {
    close(j->fd); /* a journal that cannot be kept current would roll back the wrong files */
    j->fd = -1;
    unlink(j->path);
  }
}

void mn_journal_done(mn_journal *j, int i) {
  char line[32];
  snprintf(line, sizeof line, "done\t%d\n", i);
  append(j, line);
}

void mn_journal_complete(mn_journal *j) {
  append(j, "complete\n");
}

void mn_journal_end(mn_journal *j) {
  if (j->fd < 0) return;
  close(j->fd);
  j->fd = -1;
  unlink(j->path);
}

/* Roll back one journal (its writer is gone). */
static void recover(const char *dir, const char *name) {
  char path[4600], line[8800];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "r");
  if (!fp) return;
  char target[JMAX][256], backup[JMAX][256], owner[JMAX][4200], real[4200];
  char *r = realpath(dir, NULL);
  if (!r || strlen(r) >= sizeof real) {
    free(r);
    fclose(fp);
    return;
  }
  snprintf(real, sizeof real, "%s", r);
  free(r);
  size_t rl = strlen(real);
  int n = 0, done[JMAX] = {0}, complete = 0;
  while (fgets(line, sizeof line, fp)) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "item\t", 5) == 0 && n < JMAX) {
      char *t = line + 5, *b = strchr(t, '\t'), *o = b ? strchr(b + 1, '\t') : NULL;
      if (!b || !o) break;
      *b++ = '\0', *o++ = '\0';
      /* names in the directory; an owner inside it (a run's state, .mnsim-run/...) */
      if (strchr(t, '/') || strchr(b, '/') || !t[0] ||
          (o[0] && (strncmp(o, real, rl) != 0 || o[rl] != '/')))
        break;
      if (strlen(t) >= sizeof target[n] || strlen(b) >= sizeof backup[n] ||
          strlen(o) >= sizeof owner[n])
        break; /* not a journal of ours */
      snprintf(target[n], sizeof target[n], "%.255s", t);
      snprintf(backup[n], sizeof backup[n], "%.255s", b);
      snprintf(owner[n], sizeof owner[n], "%.4199s", o);
      n++;
    } else if (strncmp(line, "done\t", 5) == 0) {
      int i = atoi(line + 5);
      if (i >= 0 && i < n) done[i] = 1;
    } else if (strcmp(line, "complete") == 0) {
      complete = 1;
    }
  }
  fclose(fp);
  char t[4600], b[4600];
  for (int i = n - 1; i >= 0; i--) {
    snprintf(t, sizeof t, "%s/%s", dir, target[i]);
    snprintf(b, sizeof b, "%s/%s", dir, backup[i]);
    if (complete || !done[i]) { /* the target is as it should stay: the backup goes */
      if (backup[i][0]) unlink(b);
      continue;
    }
    if (owner[i][0] && access(owner[i], F_OK) != 0) (void)rename(t, owner[i]);
    if (backup[i][0])
      (void)rename(b, t);
    else if (!owner[i][0])
      unlink(t);
  }
  mn_log(MN_LOG_WARN,
         complete ? "%s: removed the backups of a result set whose writer was killed after it "
                    "was in place (%s)"
                  : "%s: a run was killed while it replaced its result files: they are back as "
                    "they were before that run (%s)",
         dir, name);
  unlink(path);
  mn_fsync_dir(path);
}

void mn_journal_recover(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char names[8][64];
  int n = 0;
  while ((de = readdir(d)) && n < 8) {
    const char *s = de->d_name;
    if (strncmp(s, ".mnsim-set-", 11) != 0) continue;
    char *end;
    long pid = strtol(s + 11, &end, 10);
    if (pid <= 0 || strcmp(end, ".journal") != 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* its writer is alive */
    if (strlen(s) < sizeof names[n]) snprintf(names[n++], sizeof names[0], "%.63s", s);
  }
  closedir(d);
  for (int i = 0; i < n; i++) recover(dir, names[i]);
}
