// libdeflate, for the CRC-32 of npz members (PCLMULQDQ folding: about 2.5x zlib's table CRC here).
#ifndef SPECTRAL_AUDIT_CDEFLATE_SHIM_H
#define SPECTRAL_AUDIT_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
