#!/bin/sh
# TAP: every fuzz target replays its committed corpus (fuzz/corpus/<name>) without a finding.
# Under the sanitizer build this catches memory errors on the corpus; scripts/fuzz.sh explores.
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
n=0
fail=0
for t in signed_record multiaddr service noise yamux multistream identify wire record_kind cookie service_dialects conn admin_params; do
    n=$((n + 1))
    if out=$("$RDV_BUILDDIR/fuzz/fuzz_$t" "$srcdir/fuzz/corpus/$t" 2>&1); then
        echo "ok $n - fuzz_$t: $(echo "$out" | sed -n 's/^ok 1 - [^ ]* //p')"
    else
        fail=1
        echo "not ok $n - fuzz_$t"
        echo "$out" | tail -20 | sed 's/^/# /'
    fi
done
echo "1..$n"
exit $fail
