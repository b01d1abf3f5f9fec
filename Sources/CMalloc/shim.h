// glibc's malloc tuning (mallopt, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD): <malloc.h> is not part of
// Swift's Glibc module.
#ifndef SPECTRAL_AUDIT_CMALLOC_SHIM_H
#define SPECTRAL_AUDIT_CMALLOC_SHIM_H
#if defined(__linux__)
#include <malloc.h>
#endif
#endif
