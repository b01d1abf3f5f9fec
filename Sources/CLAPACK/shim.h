// OpenBLAS (BLAS + LAPACK, pthread variant) through the CBLAS and LAPACKE C interfaces.
#ifndef SPECTRAL_AUDIT_CLAPACK_SHIM_H
#define SPECTRAL_AUDIT_CLAPACK_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
