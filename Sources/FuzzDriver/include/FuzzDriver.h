// libFuzzer's entry point for programs that keep their own main (the fuzz targets do, so that a
// plain `swift build` links them without -sanitize=fuzzer as corpus-replay tools).
// Only declared here; it is defined by libclang_rt.fuzzer when built with -sanitize=fuzzer.
#ifndef SPECTRAL_FUZZ_DRIVER_H
#define SPECTRAL_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
