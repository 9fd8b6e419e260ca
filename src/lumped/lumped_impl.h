/* Internal to the lumped module. */
#ifndef MN_LUMPED_IMPL_H
#define MN_LUMPED_IMPL_H
#include <sundials/sundials_matrix.h>
#include <sundials/sundials_nvector.h>

/** Install compiled vector kernels on a serial N_Vector (clones inherit them). */
void mn__lumped_fast_vector(N_Vector v);
/** Install compiled zero/copy/scale-add-identity/clone on a CSC sparse matrix. */
void mn__lumped_fast_sparse(SUNMatrix A);
/** Compare the sparse Jacobian at a random positive state with central differences of the
 *  whole right-hand side: @p max_err gets the largest column-scaled difference (entries missing
 *  from the pattern count too), @p nnz the pattern's size. Returns 0, or -1 out of memory or for
 *  an input mn_lumped_run refuses. */
struct mn_lumped_input;
struct mn_lumped_params;
int mn__lumped_jacobian_check(const struct mn_lumped_input *in, const struct mn_lumped_params *lp,
                              unsigned seed, double *max_err, long *nnz);
/** Runs made again at a tighter tolerance after CVODE's constraints failed, since the start. */
long mn__lumped_retry_count(void);
/** Resumed runs whose constraints failed and that were made again from day 0, since the start. */
long mn__lumped_fallback_count(void);

#endif
