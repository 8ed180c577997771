#!/bin/sh
# Runs the whole test suite the way CI does:
#   1. a normal build with -Werror, `make check`;
#   2. a second build under AddressSanitizer + UndefinedBehaviorSanitizer, `make check` again.
# Build directories: build/ and build-asan/ (kept for inspection; logs are in them).
# Ends with one line "N passed, N failed" summing automake's totals of every suite.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

./scripts/install-deps.sh || exit 1
[ -x configure ] || ./autogen.sh >/dev/null || exit 1
# the pinned js-libp2p peers of the interop tests (lock file committed; no network past npm)
if [ ! -d tests/interop/node_modules/libp2p ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]; then
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
# @canvas-js/libp2p-rendezvous on the js-libp2p 2.x line (its own folder; `npm ci` also builds better-sqlite3,
# which its server needs)
if [ ! -d tests/canvas/node_modules/@canvas-js/libp2p-rendezvous ] || [ tests/canvas/package-lock.json -nt tests/canvas/node_modules/.package-lock.json ]; then
    (cd tests/canvas && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
# playwright-core for the admin page test (drives Debian's /usr/bin/chromium; downloads no browser)
if [ ! -d tests/admin/node_modules/playwright-core ] || [ tests/admin/package-lock.json -nt tests/admin/node_modules/.package-lock.json ]; then
    (cd tests/admin && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi

summary="$top/build/test-summary.txt"
mkdir -p build
: > "$summary"
status=0

run_suite() { # name builddir configure-args...
    name=$1 dir=$2
    shift 2
    echo "=== $name: configure + build in $dir"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" --enable-werror -q "$@" && make -s -j"$jobs" >/dev/null) || { echo "$name: BUILD FAILED"; echo "$name 0 1" >> "$summary"; status=1; return; }
    echo "=== $name: make check"
    (cd "$dir" && make -j"$jobs" check) > "$dir/check.out" 2>&1
    rc=$?
    grep -aE '^(PASS|FAIL|ERROR|XPASS|SKIP|XFAIL):' "$dir/check.out" | sed "s/^/  /" | grep -aEv '^  PASS' || true
    grep -aE '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$dir/check.out" | sed "s/^/  /"
    pass=$(awk '/^# PASS:/ {s += $3} END {print s + 0}' "$dir/check.out")
    fail=$(awk '/^# (FAIL|ERROR|XPASS):/ {s += $3} END {print s + 0}' "$dir/check.out")
    [ $rc -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
    [ $rc -ne 0 ] && { status=1; tail -n 40 "$dir/check.out"; }
    [ "$fail" -ne 0 ] && for f in $(cd "$dir" && ls tests/*/*.log 2>/dev/null); do
        grep -aq '^not ok\|^Bail out\|FAIL\|ERROR' "$dir/$f" && { echo "--- $f"; grep -aE '^not ok|^#|Bail out|ERROR' "$dir/$f" | head -40; }
    done
    echo "$name $pass $fail" >> "$summary"
}

run_suite "plain" "$top/build"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
run_suite "asan+ubsan" "$top/build-asan" CFLAGS="-g -O1 $SAN" LDFLAGS="$SAN"

echo "=== summary"
awk '{printf "  %-12s %d passed, %d failed\n", $1, $2, $3; p += $2; f += $3} END {printf "%d passed, %d failed\n", p, f}' "$summary"
awk '{f += $3} END {exit f > 0}' "$summary" || status=1
exit $status
