/* fuzz.h: the libFuzzer entry point every target in fuzz/ defines. Built two ways: with clang
 * -fsanitize=fuzzer by scripts/fuzz.sh, and with fuzz/replay.c's main() as a `make check` test
 * that replays the committed corpus under the normal and the sanitizer builds. */
#ifndef RDV_FUZZ_H
#define RDV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding) when an invariant the target checks does not hold. */
#define FUZZ_ASSERT(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#endif
