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

// Values-only symmetric eigenvalues through LAPACK's Fortran entry points (`dsyevd_`,
// `dsyevd_2stage_`; jobz = 'N', uplo = 'L'), for callers that have already checked the matrix
// for NaN and that keep their workspace between calls: LAPACKE_dsyevd re-scans the triangle for
// NaN and queries and mallocs the workspace on every call. `lwork = -1` / `liwork = -1` is the
// workspace query (optimal sizes in work[0], iwork[0]). The hidden CHARACTER lengths are passed
// by lapack.h's LAPACK_dsyevd macros.
static inline lapack_int spectral_dsyevd_values_uplo(char uplo, int two_stage, lapack_int n, double *a, lapack_int lda,
                                                     double *w, double *work, lapack_int lwork, lapack_int *iwork,
                                                     lapack_int liwork) {
    char jobz = 'N';
    lapack_int info = 0;
    if (two_stage) {
        LAPACK_dsyevd_2stage(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info);
    } else {
        LAPACK_dsyevd(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info);
    }
    return info;
}

/// `spectral_dsyevd_values_uplo` on the lower triangle (uplo = 'L').
static inline lapack_int spectral_dsyevd_values(int two_stage, lapack_int n, double *a, lapack_int lda, double *w,
                                                double *work, lapack_int lwork, lapack_int *iwork, lapack_int liwork) {
    return spectral_dsyevd_values_uplo('L', two_stage, n, a, lda, w, work, lwork, iwork, liwork);
}
#endif
