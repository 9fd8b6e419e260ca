/* Unit tests of the core module: status list, errors, parameters, text, CSV, RNG, progress,
 * atomic output and the allocator's fault injection. */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnsim/core.h"

Test(core, status_names_and_user_errors) {
  cr_assert_str_eq(mn_status_name(MN_ERANGE), "MN_ERANGE");
  cr_assert_str_eq(mn_status_text(MN_EIO), "input/output error");
  cr_assert_str_eq(mn_status_name(99), "MN_UNKNOWN");
  cr_assert(mn_status_is_user_error(MN_EINPUT) && mn_status_is_user_error(MN_ERANGE));
  cr_assert(!mn_status_is_user_error(MN_EIO) && !mn_status_is_user_error(MN_OK));
}

Test(core, error_keeps_first_and_formats_position) {
  mn_error e = {0};
  cr_assert_eq(MN_ERR(&e, MN_ERANGE, "device.depth_mm", "x = %d", 4), MN_ERANGE);
  cr_assert_eq(MN_ERR(&e, MN_EIO, "", "second"), MN_EIO);
  cr_assert_str_eq(e.msg, "x = 4");
  cr_assert_str_eq(e.key, "device.depth_mm");
  mn_error_set_position(&e, "case.yaml", 12, 7);
  mn_error_set_position(&e, "other.yaml", 1, 1); /* first position wins */
  char buf[256];
  mn_error_format(&e, buf, sizeof buf, 0);
  cr_assert_str_eq(buf, "case.yaml:12:7: x = 4");
  mn_error_format(&e, buf, sizeof buf, 1);
  cr_assert(strstr(buf, "MN_ERANGE") && strstr(buf, "test_core.c"), "%s", buf);
  cr_assert_eq(MN_ERR(NULL, MN_EIO, "", "no record"), MN_EIO);
}

typedef struct sample {
  double d;
  int i, e, b;
  char s[8];
  uint64_t seed;
} sample;
static const char *const colours[] = {"red", "green", "blue", NULL};
static const mn_config_desc tab[] = {
    {"d_mm", MN_CONFIG_DOUBLE, "mm", 1.5, 0.25, 3, NULL, NULL, offsetof(sample, d), 8, "a length"},
    {"i", MN_CONFIG_INT, "", 3, 1, 6, NULL, NULL, offsetof(sample, i), 4, "an int"},
    {"colour", MN_CONFIG_ENUM, "", 1, 0, 2, colours, NULL, offsetof(sample, e), 4, "a colour"},
    {"flag", MN_CONFIG_BOOL, "", 0, 0, 1, NULL, NULL, offsetof(sample, b), 4, "a flag"},
    {"name", MN_CONFIG_STRING, "", 0, 0, 0, NULL, "abc", offsetof(sample, s), 8, "a name"},
    {"seed", MN_CONFIG_SEED, "", 5, 0, 0, NULL, NULL, offsetof(sample, seed), 8, "a seed"},
};

Test(core, param_defaults_parse_and_ranges) {
  sample s;
  mn_config_defaults(tab, 6, &s);
  cr_assert(s.d == 1.5 && s.i == 3 && s.e == 1 && s.b == 0 && !strcmp(s.s, "abc") && s.seed == 5);
  mn_error e = {0};
  cr_assert_eq(mn_config_parse(&tab[0], " 2.5 ", &s, "x.d_mm", &e), MN_OK);
  cr_assert_float_eq(s.d, 2.5, 0);
  cr_assert_eq(mn_config_parse(&tab[0], "4.5", &s, "x.d_mm", &e), MN_ERANGE);
  cr_assert_str_eq(e.msg, "x.d_mm = 4.5 is outside [0.25, 3] mm");
  cr_assert_float_eq(s.d, 2.5, 0, "a refused value must not be stored");
  mn_error_clear(&e);
  cr_assert_eq(mn_config_parse(&tab[0], ".nan", &s, "x.d_mm", &e), MN_EINPUT);
  cr_assert(strstr(e.msg, "not a finite number"), "%s", e.msg);
  mn_error_clear(&e);
  cr_assert_eq(mn_config_parse(&tab[1], "2.5", &s, "x.i", &e), MN_EINPUT);
  mn_error_clear(&e);
  cr_assert_eq(mn_config_parse(&tab[2], "gren", &s, "x.colour", &e), MN_EINPUT);
  cr_assert_str_eq(
      e.msg, "x.colour = 'gren' is not known; did you mean 'green'? (one of: red, green, blue)");
  mn_error_clear(&e);
  cr_assert_eq(mn_config_parse(&tab[2], "BLUE", &s, "x.colour", &e), MN_OK);
  cr_assert_eq(s.e, 2);
  cr_assert_eq(mn_config_parse(&tab[3], "yes", &s, "x.flag", &e), MN_OK);
  cr_assert_eq(s.b, 1);
  cr_assert_eq(mn_config_parse(&tab[4], "toolongname", &s, "x.name", &e), MN_EINPUT);
  mn_error_clear(&e);
  cr_assert_eq(mn_config_parse(&tab[5], "18446744073709551615", &s, "seed", &e), MN_OK);
  cr_assert_eq(s.seed, UINT64_MAX);
  cr_assert_eq(mn_config_parse(&tab[5], "18446744073709551616", &s, "seed", &e), MN_EINPUT);
  mn_error_clear(&e);
  s.i = 9;
  cr_assert_eq(mn_config_check(tab, 6, &s, "x", &e), MN_ERANGE);
  cr_assert_str_eq(e.key, "x.i");
}

Test(core, nearest_suggestions) {
  const char *c[] = {"forehead", "cheek", "nose", "perioral", "periorbital"};
  cr_assert_str_eq(mn_nearest("cheak", c, 5), "cheek");
  cr_assert_str_eq(mn_nearest("fore", c, 5), "forehead");
  cr_assert_str_eq(mn_nearest("periorbitl", c, 5), "periorbital");
  cr_assert_null(mn_nearest("elbow", c, 5));
  cr_assert_null(mn_nearest("x", c, 5));
  cr_assert_eq(mn_edit_distance("kitten", "sitting"), 3);
  cr_assert_eq(mn_edit_distance("", "abc"), 3);
}

Test(core, strict_number_parsing) {
  double d;
  long l;
  cr_assert_eq(mn_parse_double("1e-3", &d), 0);
  cr_assert_float_eq(d, 1e-3, 0);
  cr_assert_neq(mn_parse_double("1.5mm", &d), 0);
  cr_assert_neq(mn_parse_double("inf", &d), 0);
  cr_assert_neq(mn_parse_double("1e999", &d), 0);
  cr_assert_neq(mn_parse_double("", &d), 0);
  cr_assert_eq(mn_parse_long("-12", &l), 0);
  cr_assert_eq(l, -12);
  cr_assert_neq(mn_parse_long("12.0", &l), 0);
}

Test(core, csv_quotes_comments_and_errors) {
  const char *t = "# comment\nname,value,note\n\"a,b\",1.5,\"say \"\"hi\"\"\"\nc,2,\r\n";
  mn_csv c;
  mn_error e = {0};
  cr_assert_eq(mn_csv_parse(t, strlen(t), "t.csv", &c, &e), MN_OK, "%s", e.msg);
  cr_assert_eq(c.nrows, 2);
  cr_assert_eq(c.ncols, 3);
  cr_assert_str_eq(c.rows[0][0], "a,b");
  cr_assert_str_eq(c.rows[0][2], "say \"hi\"");
  cr_assert_eq(c.lineno[1], 4);
  double v;
  cr_assert_eq(mn_csv_double(&c, 1, 1, &v, &e), MN_OK);
  cr_assert_float_eq(v, 2.0, 0);
  cr_assert_eq(mn_csv_double(&c, 0, 0, &v, &e), MN_EINPUT);
  cr_assert_str_eq(e.msg, "t.csv:3: column 'name' = 'a,b' is not a finite number");
  mn_csv_fini(&c);
  mn_error_clear(&e);
  const char *bad = "a,b\n1,2,3\n";
  cr_assert_eq(mn_csv_parse(bad, strlen(bad), "bad.csv", &c, &e), MN_EINPUT);
  cr_assert_str_eq(e.msg, "bad.csv:2: 3 fields, the header has 2");
  mn_error_clear(&e);
  const char *open_quote = "a\n\"x\n";
  cr_assert_eq(mn_csv_parse(open_quote, strlen(open_quote), "q.csv", &c, &e), MN_EINPUT);
  cr_assert_str_eq(e.msg, "q.csv:2: unterminated quoted field");
}

Test(core, rng_reproducible_streams_and_moments) {
  mn_rng a, b, c;
  mn_rng_init(&a, 42, 1);
  mn_rng_init(&b, 42, 1);
  mn_rng_init(&c, 42, 2);
  int same_c = 1;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = mn_rng_u64(&a), y = mn_rng_u64(&b), z = mn_rng_u64(&c);
    cr_assert_eq(x, y);
    same_c &= x == z;
  }
  cr_assert(!same_c, "streams must differ");
  double s = 0, s2 = 0, n = 200000;
  for (int i = 0; i < n; i++) {
    double u = mn_rng_uniform(&a);
    cr_assert(u >= 0 && u < 1);
    double g = mn_rng_normal(&b);
    s += g, s2 += g * g;
  }
  cr_assert_float_eq(s / n, 0.0, 0.01);   /* SE 0.0022 */
  cr_assert_float_eq(s2 / n, 1.0, 0.015); /* SE 0.0032 */
}

Test(core, progress_line) {
  char buf[160];
  mn_progress_format(buf, sizeof buf, "run", 0.5, 10.0);
  cr_assert(strstr(buf, " 50%") && strstr(buf, "ETA 0:10"), "%s", buf);
  mn_progress_format(buf, sizeof buf, "run", 1.0, 3725.0);
  cr_assert(strstr(buf, "100%") && strstr(buf, "in 1:02:05"), "%s", buf);
  mn_progress_format(buf, sizeof buf, "run", 0.0, 1.0);
  cr_assert(strstr(buf, "ETA --:--"), "%s", buf);
}

static char tmpdir[64];
static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mnsim-core-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static int count_entries(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p && fscanf(p, "%d", &n) != 1) n = -1;
  if (p) pclose(p);
  return n;
}

Test(core, atomic_output_commit_and_abort) {
  make_tmpdir();
  char path[128], buf[64] = {0};
  snprintf(path, sizeof path, "%s/out.txt", tmpdir);
  mn_error e = {0};
  cr_assert_eq(mn_write_file_atomic(path, "first\n", 6, &e), MN_OK);
  mn_ofile f;
  cr_assert_eq(mn_ofile_open(&f, path, &e), MN_OK);
  fputs("half-written", f.fp);
  cr_assert_eq(count_entries(tmpdir), 2, "temporary beside the destination");
  mn_ofile_abort(&f);
  FILE *fp = fopen(path, "r");
  cr_assert_not_null(fp);
  cr_assert_not_null(fgets(buf, sizeof buf, fp));
  fclose(fp);
  cr_assert_str_eq(buf, "first\n", "abort leaves the earlier output intact");
  cr_assert_eq(count_entries(tmpdir), 1, "no temporary left behind");
  char nested[160];
  snprintf(nested, sizeof nested, "%s/a/b/c", tmpdir);
  cr_assert_eq(mn_mkdir_p(nested, &e), MN_OK);
  cr_assert_eq(mn_mkdir_p(nested, &e), MN_OK, "existing directory is fine");
  cr_assert_eq(mn_mkdir_p(path, &e), MN_EIO, "a file is not a directory");
  mn_error_clear(&e);
  char missing[160];
  snprintf(missing, sizeof missing, "%s/nope/x.txt", tmpdir);
  cr_assert_eq(mn_write_file_atomic(missing, "x", 1, &e), MN_EIO);
  cr_assert(strstr(e.msg, "cannot create a temporary file in") && strstr(e.msg, missing), "%s",
            e.msg);
}

Test(core, atomic_output_unwritable_directory) {
  if (geteuid() == 0) { /* root ignores permissions: use a path below a regular file instead */
    make_tmpdir();
    char file[128], path[160];
    snprintf(file, sizeof file, "%s/f", tmpdir);
    mn_error e = {0};
    cr_assert_eq(mn_write_file_atomic(file, "x", 1, &e), MN_OK);
    snprintf(path, sizeof path, "%s/sub.txt", file);
    cr_assert_eq(mn_write_file_atomic(path, "x", 1, &e), MN_EIO);
    cr_assert(strstr(e.msg, "Not a directory"), "%s", e.msg);
    return;
  }
  make_tmpdir();
  chmod(tmpdir, 0500);
  char path[128];
  snprintf(path, sizeof path, "%s/x.txt", tmpdir);
  mn_error e = {0};
  cr_assert_eq(mn_write_file_atomic(path, "x", 1, &e), MN_EIO);
  cr_assert(strstr(e.msg, "Permission denied"), "%s", e.msg);
}

Test(core, allocator_counts_and_fails_on_request) {
  long live = mn_alloc_live();
  void *p = mn_malloc(10);
  cr_assert_eq(mn_alloc_live(), live + 1);
  mn_free(p);
  cr_assert_eq(mn_alloc_live(), live);
  cr_assert_null(mn_malloc_array(SIZE_MAX / 2, 4), "overflow refused");
  mn_alloc_fail_at(2);
  void *a = mn_malloc(8), *b = mn_malloc(8), *c = mn_malloc(8);
  mn_alloc_fail_at(0);
  cr_assert_not_null(a);
  cr_assert_null(b);
  cr_assert_not_null(c);
  mn_free(a);
  mn_free(c);
  char *s = mn_strdup("abc");
  cr_assert_str_eq(s, "abc");
  mn_free(s);
}

Test(core, csv_more_fields_than_the_limit_are_refused) {
  /* found by fuzzing: a quote after the 64th field read past the field table */
  char text[1024] = "a\n";
  for (int i = 0; i < 200; i++) strcat(text, i ? ",\"x\"" : "\"x\"");
  strcat(text, "\n");
  mn_csv c;
  mn_error e = {0};
  cr_assert_eq(mn_csv_parse(text, strlen(text), "wide.csv", &c, &e), MN_EINPUT);
  cr_assert_str_eq(e.msg, "wide.csv:2: more than 160 fields");
}

/* issue 17, defect 11: a UTF-8 byte order mark does not hide the first comment line */
Test(core, csv_bom_before_comment) {
  const char *t = "\xEF\xBB\xBF# comment\nname,value\na,1\n";
  mn_csv c;
  mn_error e = {0};
  cr_assert_eq(mn_csv_parse(t, strlen(t), "bom.csv", &c, &e), MN_OK, "%s", e.msg);
  cr_assert_str_eq(c.header[0], "name");
  cr_assert_eq(c.nrows, 1);
  mn_csv_fini(&c);
}

/* issue 17, defect 11: signs and blanks are not digits */
Test(core, date_digits_only) {
  cr_assert_eq(mn_date_days("2027-+1-01"), -1);
  cr_assert_eq(mn_date_days("2027- 1-01"), -1);
  cr_assert_eq(mn_date_days("+027-01-01"), -1);
  cr_assert_eq(mn_date_days("2027-01- 1"), -1);
  cr_assert_eq(mn_date_days("1970-01-01"), 0);
}

/* issue 17, defect 12: a message over the 640-byte cap cuts its paths in the middle and keeps
 * the reason whole */
Test(core, error_long_paths_keep_reason) {
  char path[3000];
  memset(path, 'p', sizeof path - 1);
  path[0] = '/', path[sizeof path - 1] = '\0';
  mn_error e = {0};
  MN_ERR(&e, MN_EIO, "", "cannot write %s (temporary %s): %s; %s is unchanged", path, path,
         "No space left on device", path);
  /* the paths are shortened, not the reason: the message fills the buffer and keeps both ends */
  cr_assert_gt(strlen(e.msg), sizeof e.msg / 2, "%s", e.msg);
  cr_assert(strstr(e.msg, ": No space left on device; "), "%s", e.msg);
  cr_assert(strstr(e.msg, " is unchanged"), "%s", e.msg);
  cr_assert(strncmp(e.msg, "cannot write /ppp", 17) == 0, "%s", e.msg);
  cr_assert(strstr(e.msg, "..."), "%s", e.msg);
}

/* issue 17, defect 9: thread counts are capped whatever OMP_NUM_THREADS says */
Test(core, threads_capped) {
  cr_assert_eq(mn_threads(100000), MN_MAX_THREADS);
  cr_assert_eq(mn_threads(3), 3);
  cr_assert_geq(mn_threads(0), 1);
  cr_assert_leq(mn_threads(0), MN_MAX_THREADS);
}
