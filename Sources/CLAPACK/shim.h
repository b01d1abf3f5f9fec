// OpenBLAS (BLAS + LAPACK, pthread variant) through the CBLAS and LAPACKE C interfaces.
#ifndef SPECTRAL_AUDIT_CLAPACK_SHIM_H
#define SPECTRAL_AUDIT_CLAPACK_SHIM_H
#include <cblas.h>
#include <lapacke.h>

// LAPACKE's complex routines take `lapack_complex_double *` (C99 `double _Complex`), which Swift
// cannot import. These wrappers take interleaved (real, imaginary) doubles instead — the same
// memory layout — and are all this shim adds.

/// Cholesky factorisation of a Hermitian column-major n × n matrix, lower triangle (zpotrf).
static inline lapack_int spectral_zpotrf_lower(lapack_int n, double *a, lapack_int lda) {
    return LAPACKE_zpotrf(LAPACK_COL_MAJOR, 'L', n, (lapack_complex_double *)a, lda);
}

/// The largest eigenvalue of a Hermitian column-major n × n matrix, lower triangle (zheevr,
/// values only, index range [n, n]). `found` receives the number of eigenvalues found.
static inline lapack_int spectral_zheevr_largest(lapack_int n, double *a, lapack_int lda, double *w,
                                                 lapack_int *found) {
    double z[2];
    lapack_int support[2];
    return LAPACKE_zheevr(LAPACK_COL_MAJOR, 'N', 'I', 'L', n, (lapack_complex_double *)a, lda, 0, 0, n, n, 0,
                          found, w, (lapack_complex_double *)z, 1, support);
}
#endif
