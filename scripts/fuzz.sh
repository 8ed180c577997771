#!/bin/sh
# Fuzzes the decoders with libFuzzer (clang, + ASan/UBSan): builds build-fuzz/ and runs every
# target for FUZZ_SECONDS (default 60) each, starting from the committed seeds in fuzz/corpus.
# New interesting inputs go to build-fuzz/corpus/<target>; crashes to build-fuzz/crash-*.
# Copy a finding into fuzz/corpus/<target>/ once fixed, so `make check` replays it for good.
#   FUZZ_SECONDS=300 ./scripts/fuzz.sh [target...]
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
secs=${FUZZ_SECONDS:-60}
targets=${*:-signed_record multiaddr service noise yamux multistream identify wire record_kind cookie service_dialects conn admin_params}
command -v clang >/dev/null || { echo "fuzz.sh needs clang (Debian: clang libclang-rt-14-dev)"; exit 1; }
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build-fuzz
cd build-fuzz
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
[ -f Makefile ] || "$top/configure" -q --enable-fuzzing CC=clang CFLAGS="-g -O1 $SAN" LDFLAGS="-fsanitize=address,undefined"
make -s -j"$(nproc)" >/dev/null
status=0
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "=== fuzz_$t for ${secs}s"
    if ! "./fuzz/fuzz_$t" -max_total_time="$secs" -max_len=8192 -print_final_stats=1 \
            -artifact_prefix="$top/build-fuzz/crash-$t-" "corpus/$t" "$top/fuzz/corpus/$t" 2> "fuzz-$t.log"; then
        status=1
        echo "fuzz_$t: FINDING, see build-fuzz/fuzz-$t.log"
        tail -30 "fuzz-$t.log"
    else
        grep -E "stat::number_of_executed_units|cov:" "fuzz-$t.log" | tail -2
    fi
done
exit $status
