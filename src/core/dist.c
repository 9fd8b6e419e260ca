/* Ensembles across processes: a thin layer over MPI (Open MPI) that the ensemble loops use to
 * split a batch of independent evaluations into one contiguous block per rank and to share the
 * results, so that every rank holds the whole batch and runs the same deterministic code after
 * it. Without MPI (a build without it, or a process not started by mpirun) it is one rank of one
 * and every call is a no-op. MPI is initialised only when a launcher started the process (its
 * environment says so): a plain `mnsim` never pays MPI's start-up. Stage: core. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mnsim/core.h"

#ifdef MN_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1, g_on = 0;
/* the stop request every rank agreed on at the last share (a signal reaches the ranks at
 * different moments; a rank that acted on its own flag alone would leave the others waiting in
 * the next collective) */
static int g_stop = 0;

/* A launcher's variables: Open MPI (mpirun), PMI-1/2 and PMIx (MPICH's hydra, Slurm's srun). */
static int launched(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int mn_dist_init(int *argc, char ***argv, mn_error *err) {
#ifdef MN_HAVE_MPI
  if (g_on || !launched()) return MN_OK;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return MN_ERR(err, MN_EINTERNAL, "", "MPI: MPI_Init_thread failed");
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_on = 1;
  return MN_OK;
#else
  (void)argc, (void)argv;
  if (launched() && getenv("OMPI_COMM_WORLD_SIZE") && atoi(getenv("OMPI_COMM_WORLD_SIZE")) > 1)
    return MN_ERR(err, MN_EINPUT, "",
                  "started by mpirun with %s ranks, but this mnsim was built without MPI "
                  "(cmake -DMNSIM_WITH_MPI=ON, package libopenmpi-dev)",
                  getenv("OMPI_COMM_WORLD_SIZE"));
  return MN_OK;
#endif
}

void mn_dist_finalize(void) {
#ifdef MN_HAVE_MPI
  if (g_on) MPI_Finalize();
#endif
  g_on = 0, g_rank = 0, g_size = 1;
}

void mn_dist_abort(int code) {
#ifdef MN_HAVE_MPI
  if (g_on && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  (void)code;
}

int mn_dist_stopped(void) {
  return g_on && g_size > 1 ? g_stop : mn_stop_requested();
}

int mn_dist_rank(void) {
  return g_rank;
}
int mn_dist_size(void) {
  return g_size;
}

void mn_dist_block(int n, int *lo, int *hi) {
  /* rank r: [r n / size, (r + 1) n / size), sizes differing by at most one */
  *lo = (int)((long long)n * g_rank / g_size);
  *hi = (int)((long long)n * (g_rank + 1) / g_size);
}

int mn_dist_share(double *x, int n, int len, mn_error *err) {
#ifdef MN_HAVE_MPI
  if (!g_on || g_size == 1 || n < 1) return MN_OK;
  if ((long long)n * len > INT_MAX)
    return MN_ERR(err, MN_ERANGE, "", "MPI: a batch of %d x %d values is too large to share", n,
                  len);
  int local = mn_stop_requested(), any = 0;
  if (MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
    return MN_ERR(err, MN_EINTERNAL, "", "MPI: MPI_Allreduce failed");
  if (any) { /* a rank was asked to stop: every rank stops here (the batch is not shared) */
    if (!local) mn_stop_request(any);
    g_stop = any;
    return MN_OK;
  }
  int *counts = mn_malloc_array((size_t)g_size * 2, sizeof *counts), *displs;
  if (!counts) return MN_ERR(err, MN_ENOMEM, "", "out of memory");
  displs = counts + g_size;
  for (int r = 0; r < g_size; r++) {
    long long lo = (long long)n * r / g_size, hi = (long long)n * (r + 1) / g_size;
    counts[r] = (int)((hi - lo) * len), displs[r] = (int)(lo * len);
  }
  int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, counts, displs, MPI_DOUBLE,
                          MPI_COMM_WORLD);
  mn_free(counts);
  if (rc != MPI_SUCCESS) return MN_ERR(err, MN_EINTERNAL, "", "MPI: MPI_Allgatherv failed");
#else
  (void)x, (void)n, (void)len, (void)err;
#endif
  return MN_OK;
}
