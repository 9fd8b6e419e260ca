/* The one allocator of the library: overflow-checked array sizes, a count of live blocks (the
 * tests' leak checks) and a fault-injection hook that makes the Nth allocation fail, so that the
 * cleanup of every create path can be tested. Pipeline: core, under every module.
 * Reference: SQLite src/malloc.c (one allocator) and src/test_malloc.c (Nth-failure injection). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/core.h"

/* Atomics: the OpenMP loops over parameter draws (course bands, the planner, calibration)
 * allocate from several threads at once. The counts serve leak checks and fault injection
 * only; no computation reads them. */
static atomic_long n_live;
static atomic_long n_made;
static atomic_long fail_at; /* allocation number that fails; 0 = never */

/* Count an allocation attempt; returns 1 when the fault hook says this one must fail. */
static int should_fail(void) {
  long made = atomic_fetch_add(&n_made, 1) + 1;
  long f = atomic_load(&fail_at);
  return f > 0 && made == f;
}

/* Zero sizes ask for one byte: malloc(0) may return NULL, which callers would take for a
 * failure. Every attempt, failed or not, advances the allocation count that mn_alloc_fail_at
 * aims at. */
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

/* 64-byte alignment is one cache line: with the grid's padded rows (grid.c) the interior of a
 * field starts on a 32-byte boundary and no vector load of the diffusion passes straddles a
 * line. Freed with mn_free like any other block (posix_memalign memory goes to free()). */
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

/* count * size cannot overflow here: mn_malloc_aligned has checked it before allocating. */
void *mn_calloc_aligned(size_t count, size_t size) {
  void *p = mn_malloc_aligned(count, size);
  if (p) memset(p, 0, count * size);
  return p;
}

/* A grown block is still one live block, so the live count does not change; on failure @p p is
 * left allocated and counted, as with realloc. */
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
