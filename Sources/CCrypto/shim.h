// OpenSSL libcrypto, for the SHA-256 of input files recorded in every report.
#ifndef SPECTRAL_AUDIT_CCRYPTO_SHIM_H
#define SPECTRAL_AUDIT_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
