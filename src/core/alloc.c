/* The one allocator: overflow-checked sizes, live-block counting and a fault-injection hook
 * that makes the Nth allocation fail, so every create path's cleanup can be tested.
 * Stage: core. Reference: SQLite src/malloc.c and src/test_malloc.c. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/core.h"

static atomic_long n_live;
static atomic_long n_made;
static atomic_long fail_at; /* allocation number that fails; 0 = never */

/* Count an allocation attempt; returns 1 when the fault hook says this one must fail. */
static int should_fail(void) {
  long made = atomic_fetch_add(&n_made, 1) + 1;
  long f = atomic_load(&fail_at);
  return f > 0 && made == f;
}

void *mn_malloc(size_t size) {
  if (should_fail()) return NULL;
  void *p = malloc(size ? size : 1);
  if (p) atomic_fetch_add(&n_live, 1);
  return p;
}

void *mn_calloc(size_t count, size_t size) {
  if (should_fail()) return NULL;
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p) atomic_fetch_add(&n_live, 1);
  return p;
}

void *mn_malloc_array(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  return mn_malloc(count * size);
}

void *mn_malloc_aligned(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  size_t n = count * size;
  if (!n) n = 1;
  if (should_fail()) return NULL;
  void *p = NULL;
  if (posix_memalign(&p, 64, n)) return NULL;
  atomic_fetch_add(&n_live, 1);
  return p;
}

void *mn_calloc_aligned(size_t count, size_t size) {
  void *p = mn_malloc_aligned(count, size);
  if (p) memset(p, 0, count * size);
  return p;
}

void *mn_realloc_array(void *p, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  if (!p) return mn_malloc(count * size);
  if (should_fail()) return NULL;
  size_t n = count * size;
  return realloc(p, n ? n : 1);
}

void mn_free(void *p) {
  if (!p) return;
  atomic_fetch_sub(&n_live, 1);
  free(p);
}

char *mn_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = mn_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

long mn_alloc_live(void) {
  return atomic_load(&n_live);
}
long mn_alloc_count(void) {
  return atomic_load(&n_made);
}

void mn_alloc_fail_at(long n) {
  atomic_store(&fail_at, n > 0 ? atomic_load(&n_made) + n : 0);
}
