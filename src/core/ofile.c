/* Atomic output: write to a temporary in the destination directory, fsync, rename, fsync the
 * directory, so that an interrupted run never leaves a half-written result and a failed write
 * leaves the old file in place. Pipeline: core; io and report write every file through it.
 * Reference: Redis rdb.c rdbSave (temp file, rename, error naming every path). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnsim/core.h"

/* Directory part of @p path into @p dir ("." when there is none). */
static void dir_of(const char *path, char *dir, size_t size) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, size, ".");
  } else if (slash == path) {
    snprintf(dir, size, "/");
  } else {
    snprintf(dir, size, "%.*s", (int)(slash - path), path);
  }
}

/* Temporaries in flight, so that a signal handler (the CLI's SIGINT/SIGTERM handler) or
 * PLplot's fatal-error exit can remove them. Async-signal-safe: fixed slots, a slot's path
 * written before its flag is set, and mn_ofile_unlink_all only unlinks and clears flags. A 65th
 * temporary at once is not tracked. */
enum { MAX_LIVE = 64 };
static char live_path[MAX_LIVE][4096];
static volatile sig_atomic_t live_used[MAX_LIVE];

/* Track and untrack a temporary (mn_ofile does it itself; the report module for PLplot's). */
void mn_ofile_track(const char *tmp) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (!live_used[i]) {
      snprintf(live_path[i], sizeof live_path[i], "%s", tmp);
      live_used[i] = 1;
      return;
    }
}

void mn_ofile_untrack(const char *tmp) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live_used[i] && strcmp(live_path[i], tmp) == 0) live_used[i] = 0;
}

void mn_ofile_unlink_all(void) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live_used[i]) {
      unlink(live_path[i]);
      live_used[i] = 0;
    }
}

/* ---- temporaries of killed processes ----------------------------------------------------------
 * A SIGKILL cannot be caught, so every temporary carries its writer's pid: ".<name>.mnsim-PID.
 * XXXXXX" beside a result, "mnsim-<kind>-PID-XXXXXX" in the temporary directory. Before writing
 * into a directory, a process removes the temporaries there whose writer no longer exists
 * (kill(PID, 0) fails with ESRCH); a live writer's are left alone. */

/* The pid of a temporary's writer when @p name is one of ours, else 0. */
static long temp_owner(const char *name) {
  size_t len = strlen(name);
  const char *p = NULL;
  if (name[0] == '.' && len > 7 && name[len - 7] == '.') { /* .<name>.mnsim-PID.XXXXXX */
    const char *tag = NULL;
    for (const char *q = strstr(name, ".mnsim-"); q; q = strstr(q + 1, ".mnsim-")) tag = q;
    if (tag) p = tag + 7;
  } else if (strncmp(name, "mnsim-", 6) == 0 && len > 7 && name[len - 7] == '-') {
    p = strchr(name + 6, '-'); /* mnsim-<kind>-PID-XXXXXX */
    if (p) p++;
  }
  if (!p || *p < '1' || *p > '9') return 0;
  char *end;
  long pid = strtol(p, &end, 10);
  if (end != name + len - 7 || pid <= 0) return 0;
  return pid;
}

void mn_ofile_sweep(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  long self = (long)getpid();
  struct dirent *de;
  while ((de = readdir(d))) {
    long pid = temp_owner(de->d_name);
    if (pid <= 0 || pid == self || (pid_t)pid != pid) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
    char path[4600];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < sizeof path) unlink(path);
  }
  closedir(d);
}

/* Sweep @p dir once per process (the first time a temporary is made there). Main thread. */
static void sweep_once(const char *dir) {
  enum { SEEN = 16 };
  static char seen[SEEN][4096];
  static int n_seen;
  for (int i = 0; i < n_seen && i < SEEN; i++)
    if (strcmp(seen[i], dir) == 0) return;
  snprintf(seen[n_seen % SEEN], sizeof seen[0], "%s", dir);
  n_seen++;
  mn_journal_recover(dir); /* first: a killed set's backups are what it restores */
  mn_ofile_sweep(dir);
}

/* $TMPDIR when it is set, absolute, short and plain (letters, digits, '/', '.', '_', '-': a
 * name PLplot cannot misread), else /tmp. */
void mn_tmp_template(char *buf, size_t size, const char *prefix) {
  const char *d = getenv("TMPDIR");
  int ok = d && d[0] == '/' && strlen(d) < 256;
  for (const char *c = d; ok && *c; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
         strchr("/._-", *c) != NULL;
  sweep_once(ok ? d : "/tmp");
  snprintf(buf, size, "%s/%s-%ld-XXXXXX", ok ? d : "/tmp", prefix, (long)getpid());
}

/* Permission bits of new files: 0666 less the process umask (read once). mkstemp creates 0600
 * files; a result should get the mode any other new file would. umask() can only be read by
 * setting it, so it is set to 0 and restored on the first call and the answer cached. */
static mode_t file_mode(void) {
  static mode_t mode = 0;
  static int known = 0;
  if (!known) {
    mode_t m = umask(0);
    umask(m);
    mode = 0666 & ~m;
    known = 1;
  }
  return mode;
}

/* The temporary is ".<name>.mnsim-PID.XXXXXX" beside the target: in the same directory, so that
 * the final rename cannot cross file systems, a dot name, which ls does not list, and the
 * writer's pid, so that a later run can remove it when the writer was killed. The 40 spare bytes
 * leave room for the dot, ".mnsim-", a pid, ".XXXXXX" and the NUL. */
int mn_ofile_open(mn_ofile *f, const char *path, mn_error *err) {
  memset(f, 0, sizeof *f);
  if (strlen(path) + 40 >= sizeof f->tmp)
    return MN_ERR(err, MN_EIO, "", "%s: output path too long", path);
  snprintf(f->path, sizeof f->path, "%s", path);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  sweep_once(dir);
  snprintf(f->tmp, sizeof f->tmp, "%.*s.%s.mnsim-%ld.XXXXXX", (int)(base - path), path, base,
           (long)getpid());
  int fd = mkstemp(f->tmp);
  if (fd < 0) {
    int e = errno;
    f->tmp[0] = '\0';
    return MN_ERR(err, MN_EIO, "", "cannot create a temporary file in %s for %s: %s", dir, path,
                  strerror(e));
  }
  (void)fchmod(fd, file_mode());
  f->fp = fdopen(fd, "wb");
  if (!f->fp) {
    int e = errno;
    close(fd);
    unlink(f->tmp);
    MN_ERR(err, MN_EIO, "", "cannot open %s (for %s): %s", f->tmp, path, strerror(e));
    f->tmp[0] = '\0';
    return MN_EIO;
  }
  mn_ofile_track(f->tmp);
  return MN_OK;
}

/* Make the rename itself durable. Best effort: some file systems refuse fsync on a directory,
 * and the data are already safe in the renamed file. */
void mn_fsync_dir(const char *path) {
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* For writers that open the temporary by name (HDF5): close our stream; commit reopens the
 * file to fsync it. */
void mn_ofile_detach(mn_ofile *f) {
  if (f->fp) fclose(f->fp);
  f->fp = NULL;
}

/* The data on disk before any rename: flush, fsync and close the temporary (reopened first when
 * detached). Any failure (an earlier write error kept by ferror, fflush, fsync, fclose) removes
 * the temporary; the message names both paths and says the target is unchanged. The errno of the
 * first failing step is the one reported. */
int mn_ofile_sync(mn_ofile *f, mn_error *err) {
  if (!f->tmp[0]) return MN_ERR(err, MN_EINTERNAL, "", "%s: file already closed", f->path);
  if (f->synced) return MN_OK;
  if (!f->fp) { /* detached: written by name; reopen to sync it */
    f->fp = fopen(f->tmp, "ab");
    if (!f->fp) {
      int e = errno;
      unlink(f->tmp);
      mn_ofile_untrack(f->tmp);
      MN_ERR(err, MN_EIO, "", "cannot reopen %s for %s: %s", f->tmp, f->path, strerror(e));
      f->tmp[0] = '\0';
      return MN_EIO;
    }
  }
  int bad = ferror(f->fp) != 0;
  int e = bad ? EIO : 0;
  if (!bad && fflush(f->fp) != 0) bad = 1, e = errno;
  if (!bad && fsync(fileno(f->fp)) != 0) bad = 1, e = errno;
  if (fclose(f->fp) != 0 && !bad) bad = 1, e = errno;
  f->fp = NULL;
  if (!bad) {
    f->synced = 1;
    return MN_OK;
  }
  unlink(f->tmp);
  mn_ofile_untrack(f->tmp);
  MN_ERR(err, MN_EIO, "", "cannot write %s (temporary %s): %s; %s is unchanged", f->path, f->tmp,
         strerror(e), f->path);
  f->tmp[0] = '\0';
  return MN_EIO;
}

/* Any failure up to the rename (an earlier write error kept by ferror, fflush, fsync, fclose,
 * rename) removes the temporary and leaves the target as it was; the message names both paths
 * and says the target is unchanged. The errno of the first failing step is the one reported. */
int mn_ofile_commit(mn_ofile *f, mn_error *err) {
  int rc = mn_ofile_sync(f, err); /* flush, fsync and close (nothing when synced already) */
  if (rc) return rc;
  int e = rename(f->tmp, f->path) == 0 ? 0 : errno;
  mn_ofile_untrack(f->tmp);
  if (e) {
    unlink(f->tmp);
    MN_ERR(err, MN_EIO, "", "cannot write %s (temporary %s): %s; %s is unchanged", f->path, f->tmp,
           strerror(e), f->path);
    f->tmp[0] = '\0';
    return MN_EIO;
  }
  mn_fsync_dir(f->path);
  f->tmp[0] = '\0';
  return MN_OK;
}

/* Discard: close and remove the temporary, leave the target alone. NULL-safe, and harmless
 * after commit or a failed open (tmp is empty then). */
void mn_ofile_abort(mn_ofile *f) {
  if (!f) return;
  if (f->fp) fclose(f->fp);
  f->fp = NULL;
  if (f->tmp[0]) {
    unlink(f->tmp);
    mn_ofile_untrack(f->tmp);
  }
  f->tmp[0] = '\0';
}

/* Each prefix of the path in turn, as mkdir -p; an existing directory is fine, an existing
 * file of that name is an error. */
int mn_mkdir_p(const char *dir, mn_error *err) {
  char buf[4096];
  size_t len = strlen(dir);
  if (len >= sizeof buf)
    return MN_ERR(err, MN_EUSAGE, "", "%s: the path has %zu characters; at most %zu", dir, len,
                  sizeof buf - 1);
  for (const char *p = dir; *p;) { /* every name fits before any is created */
    size_t n = strcspn(p, "/");
    if (n > 255)
      return MN_ERR(err, MN_EUSAGE, "", "%s: a directory name has %zu characters; at most 255", dir,
                    n);
    p += n + (p[n] == '/');
  }
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return MN_ERR(err, MN_EIO, "", "cannot create directory %s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return MN_ERR(err, MN_EIO, "", "cannot create directory %s: %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    return MN_ERR(err, MN_EIO, "", "%s exists and is not a directory", buf);
  return MN_OK;
}

int mn_write_file_atomic(const char *path, const void *data, size_t len, mn_error *err) {
  mn_ofile f;
  int rc = mn_ofile_open(&f, path, err);
  if (rc) return rc;
  if (len && fwrite(data, 1, len, f.fp) != len) {
    int e = errno;
    mn_ofile_abort(&f);
    return MN_ERR(err, MN_EIO, "", "cannot write %s: %s", path, strerror(e));
  }
  return mn_ofile_commit(&f, err);
}
