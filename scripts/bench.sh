#!/bin/sh
# scripts/bench.sh: the figures of docs/performance.md, reproducibly.
#
#   scripts/bench.sh callgrind [BUILDDIR]   instructions per REGISTER (steady state: the same envelope
#                                           re-sent), per fresh REGISTER (new signature), per DISCOVER
#                                           (limit 10) and per session (TCP + Noise + yamux + one REGISTER),
#                                           server side, with one ed25519 verify measured in the same run.
#                                           Stable on a noisy machine: the count does not depend on load.
#   scripts/bench.sh compare [BUILDDIR]     rendezvousd vs a stock js-libp2p server (bench/js: a minimal
#                                           in-memory /vac/waku/rendezvous/0.0.1 handler) under the same js
#                                           load generator, ROUNDS interleaved rounds (A B A B ...), plus
#                                           rendezvous-bench on rendezvousd at several offered rates; prints a
#                                           markdown table of ratios (min/median/max) and writes
#                                           bench/out/throughput.png (gnuplot) of throughput and p99 vs load.
#   scripts/bench.sh cpu [BUILDDIR]         CPU time per operation of the server and of the load generator
#                                           (from /proc and getrusage, N requests each: register, discover,
#                                           churn), and the bounds they set on this machine: the server's
#                                           one-core rate (it runs one event loop) and the rate of both
#                                           sharing the machine's CPUs. What bounds a throughput figure.
#   scripts/bench.sh ab OLD_BUILDDIR NEW_BUILDDIR
#                                           two rendezvousd builds side by side in one run, ROUNDS interleaved
#                                           rounds (old new old new ...), the same rendezvous-bench (NEW's) for
#                                           both: register, discover, churn; a markdown table of new/old ratios.
# Everything listens on 127.0.0.1 only. Env: ROUNDS (5), SECONDS_PER_RUN (5), N (requests per callgrind
# measurement, 2000).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
mode=${1:-callgrind}
B=$(cd "${2:-build}" && pwd) # ab: replaced by NEW_BUILDDIR
out="$top/bench/out"
mkdir -p "$out"
N=${N:-2000}
work=$(mktemp -d)
pids=""
# the load generators are one source address: lift the per-address limits (docs/limits.md); not in ab
# mode, where the old build may predate them
UNLIMITED="--per-address-connections 1000000 --per-address-handshake-rate 1000000 --per-address-request-rate 10000000"
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_addr() { # file -> first line once written
    for i in $(seq 300); do [ -s "$1" ] && break; sleep 0.1; done
    head -n 1 "$1"
}

bench() { "$B/rendezvous-bench" --server "$addr" --quiet "$@"; }

# ---- callgrind -------------------------------------------------------------------------------
# Zero the counters of the running server, run a workload of $N operations, dump, read the total.
cg_measure() { # label ops bench-args...
    label=$1 ops=$2
    shift 2
    callgrind_control -z "$cgpid" >/dev/null 2>&1
    bench "$@" >/dev/null
    callgrind_control -d "$label" "$cgpid" >/dev/null 2>&1
    f=$(ls -t "$work"/callgrind.out.* | head -n 1)
    total=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
    echo "$label $ops $total $f" >> "$work/cg"
}

# Inclusive instructions of one function in a dump, and its call count.
cg_fn() { # file function
    callgrind_annotate --inclusive=yes --threshold=100 "$2" 2>/dev/null | awk -v fn="$1" '
        index($0, fn) && !done { gsub(",", "", $1); print $1; done = 1 }'
}

run_callgrind() {
    command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
    cd "$work"
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" "$B/rendezvousd" \
        --listen /ip4/127.0.0.1/tcp/0 --identity "$work/key" --admin-listen off --log-level error $UNLIMITED >"$work/addrs" 2>"$work/vg.log" &
    cgpid=$!
    pids="$pids $cgpid"
    addr=$(wait_addr "$work/addrs")
    # warm up: 16 peers register in 10 namespaces (so DISCOVER finds 16 records, answers 10) and the
    # verify cache knows every envelope
    bench --op register --connections 16 --depth 1 --requests 1600 --namespaces 10 --ttl 20 >/dev/null
    cg_measure register "$N" --op register --connections 1 --depth 1 --requests "$N" --namespaces 10
    cg_measure register-fresh "$N" --op register-fresh --connections 1 --depth 1 --requests "$N" --namespaces 10
    cg_measure discover "$N" --op discover --connections 1 --depth 1 --requests "$N" --namespaces 10 --limit 10
    cg_measure churn 200 --op churn --connections 1 --depth 1 --requests 200 --namespaces 10
    fresh=$(awk '$1 == "register-fresh" {print $4}' "$work/cg")
    verify=$(cg_fn crypto_sign_ed25519_verify_detached "$fresh")
    echo "| operation | instructions per operation (server, callgrind) |"
    echo "|---|---|"
    awk -v v="${verify:-0}" -v n="$N" '
        { name[$1] = $1; per[$1] = $3 / $2 }
        END {
            printf "| steady-state REGISTER (same envelope) | %.0f |\n", per["register"]
            printf "| fresh REGISTER (new signature) | %.0f |\n", per["register-fresh"]
            if (v > 0) printf "| one ed25519 verify (inside fresh REGISTER) | %.0f (fresh / verify = %.2f) |\n", v / n, per["register-fresh"] / (v / n)
            printf "| DISCOVER, limit 10 of 16 | %.0f |\n", per["discover"]
            printf "| new session: TCP + Noise XX + yamux + one REGISTER + close | %.0f |\n", per["churn"]
        }' "$work/cg" | tee "$out/callgrind.md"
    # system calls per DISCOVER: getrandom(2) must not appear per record
    cd "$top"
}

# ---- compare ---------------------------------------------------------------------------------
run_compare() {
    ROUNDS=${ROUNDS:-5}
    S=${SECONDS_PER_RUN:-5}
    [ -d bench/js/node_modules/libp2p ] || (cd bench/js && npm ci --no-audit --no-fund --loglevel=error)
    : > "$work/rounds"
    for r in $(seq "$ROUNDS"); do
        for server in c js; do
            if [ $server = c ]; then
                "$B/rendezvousd" --listen /ip4/127.0.0.1/tcp/0 --identity "$work/key" --admin-listen off \
                    --log-level error $UNLIMITED >"$work/addr.$server" 2>/dev/null &
            else
                node bench/js/server.mjs >"$work/addr.$server" 2>/dev/null &
            fi
            spid=$!
            pids="$pids $spid"
            addr=$(wait_addr "$work/addr.$server")
            for op in register discover; do
                res=$(node bench/js/load.mjs --server "$addr" --op "$op" --seconds "$S" --pid "$spid")
                echo "$r $server $op $res" >> "$work/rounds"
            done
            kill "$spid"; wait "$spid" 2>/dev/null || true
        done
    done
    cp "$work/rounds" "$out/rounds.txt"
    echo
    echo "js load generator (bench/js/load.mjs), $ROUNDS interleaved rounds of ${S} s; server CPU from /proc"
    echo
    echo "| op | rendezvousd ops/s (median) | js-libp2p ops/s (median) | throughput ratio min / median / max | server CPU per request ratio min / median / max |"
    echo "|---|---|---|---|---|"
    for op in register discover; do
        awk -v op="$op" '$3 == op { v[$1 "," $2] = $4; cpu[$1 "," $2] = $5; if ($1 > n) n = $1 }
            END {
                for (r = 1; r <= n; r++) { t[r] = v[r ",c"] / v[r ",js"]; c[r] = (cpu[r ",js"] / v[r ",js"]) / (cpu[r ",c"] / v[r ",c"]); a[r] = v[r ",c"]; b[r] = v[r ",js"] }
                print n; for (r = 1; r <= n; r++) print t[r], c[r], a[r], b[r] }' "$work/rounds" > "$work/ratios.$op"
        python3 - "$op" "$work/ratios.$op" <<'PY'
import sys, statistics
op, path = sys.argv[1], sys.argv[2]
rows = [list(map(float, l.split())) for l in open(path).read().split("\n")[1:] if l.strip()]
t = sorted(r[0] for r in rows); c = sorted(r[1] for r in rows)
a = statistics.median(r[2] for r in rows); b = statistics.median(r[3] for r in rows)
f = lambda xs: "%.1f / %.1f / %.1f" % (xs[0], statistics.median(xs), xs[-1])
print("| %s | %.0f | %.0f | %s | %s |" % (op.upper(), a, b, f(t), f(c)))
PY
    done | tee "$out/compare.md"
    # rendezvous-bench on rendezvousd: throughput and p99 vs offered load (open loop)
    "$B/rendezvousd" --listen /ip4/127.0.0.1/tcp/0 --identity "$work/key" --admin-listen off --log-level error \
        $UNLIMITED >"$work/addr.sweep" 2>/dev/null &
    spid=$!
    pids="$pids $spid"
    addr=$(wait_addr "$work/addr.sweep")
    bench --op register --connections 16 --requests 1600 >/dev/null
    : > "$out/sweep.dat"
    for rate in 5000 10000 20000 40000 60000 80000 100000; do
        reg=$(bench --op register --connections 16 --rate "$rate" --seconds "$S" --json)
        dis=$(bench --op discover --connections 16 --rate "$rate" --seconds "$S" --json)
        echo "$rate $(echo "$reg" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ops_per_s"], d["p99_ms"])') $(echo "$dis" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ops_per_s"], d["p99_ms"])')" >> "$out/sweep.dat"
    done
    if ! command -v gnuplot >/dev/null; then
        command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] && apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || true
    fi
    if command -v gnuplot >/dev/null; then
        gnuplot <<GP
set terminal png size 900,500
set output "$out/throughput.png"
set xlabel "offered load (requests/s, open loop)"
set ylabel "answered requests/s"
set y2label "p99 latency (ms)"
set y2tics
set logscale y2
set key top left
plot "$out/sweep.dat" using 1:2 with linespoints title "REGISTER ops/s", \
     "$out/sweep.dat" using 1:4 with linespoints title "DISCOVER ops/s", \
     "$out/sweep.dat" using 1:3 axes x1y2 with linespoints title "REGISTER p99", \
     "$out/sweep.dat" using 1:5 axes x1y2 with linespoints title "DISCOVER p99"
GP
        echo "plot: $out/throughput.png"
    else
        echo "gnuplot not found: no plot ($out/sweep.dat has the data)"
    fi
}

# ---- cpu: what each side costs in CPU time ---------------------------------------------------
proc_cpu() { # pid -> utime + stime in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}

run_cpu() {
    hz=$(getconf CLK_TCK)
    cpus=$(nproc)
    "$B/rendezvousd" --listen /ip4/127.0.0.1/tcp/0 --identity "$work/key" --admin-listen off --log-level error \
        >"$work/addr.cpu" 2>/dev/null &
    spid=$!
    pids="$pids $spid"
    addr=$(wait_addr "$work/addr.cpu")
    bench --op register --connections 16 --depth 1 --requests 1600 --namespaces 10 >/dev/null
    {
    echo "| op | requests | server CPU us/op | load generator CPU us/op | server alone on one core: ops/s | both on $cpus CPUs: ops/s |"
    echo "|---|---|---|---|---|---|"
    for op in register discover churn; do
        n=$N
        [ $op = churn ] && n=$((N / 10))
        s0=$(proc_cpu "$spid")
        c=$(/usr/bin/time -f "%U %S" "$B/rendezvous-bench" --server "$addr" --quiet --op "$op" --connections 16 \
            --depth 4 --requests "$n" --seconds 300 --namespaces 10 --limit 10 2>&1 >/dev/null | tail -n 1)
        s1=$(proc_cpu "$spid")
        echo "$op $n $s0 $s1 $c" | awk -v hz="$hz" -v cpus="$cpus" '{
            s = ($4 - $3) / hz / $2 * 1e6; c = ($5 + $6) / $2 * 1e6
            printf "| %s | %d | %.1f | %.1f | %.0f | %.0f |\n", $1, $2, s, c, (s > 0 ? 1e6 / s : 0), (s + c > 0 ? cpus * 1e6 / (s + c) : 0) }'
    done
    } | tee "$out/cpu.md"
}

# ---- ab: two builds, interleaved ------------------------------------------------------------
run_ab() { # old new
    ROUNDS=${ROUNDS:-3}
    S=${SECONDS_PER_RUN:-5}
    old=$(cd "$1" && pwd) new=$(cd "$2" && pwd)
    B=$new
    : > "$work/ab"
    for r in $(seq "$ROUNDS"); do
        for which in old new; do
            eval dir=\$$which
            "$dir/rendezvousd" --listen /ip4/127.0.0.1/tcp/0 --identity "$work/key" --admin-listen off \
                --log-level error >"$work/addr.$which" 2>/dev/null &
            spid=$!
            pids="$pids $spid"
            addr=$(wait_addr "$work/addr.$which")
            bench --op register --connections 16 --depth 1 --requests 1600 >/dev/null
            for op in register discover churn; do
                res=$(bench --op "$op" --connections 16 --depth 4 --seconds "$S" --json)
                echo "$r $which $op $(echo "$res" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ops_per_s"], d["p99_ms"], d["refused"] + d["transport_errors"])')" >> "$work/ab"
            done
            kill "$spid"; wait "$spid" 2>/dev/null || true
        done
    done
    cp "$work/ab" "$out/ab.txt"
    echo "| op | old ops/s (median) | new ops/s (median) | new/old min / median / max | new p99 ms (median) |"
    echo "|---|---|---|---|---|"
    python3 - "$work/ab" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for op in ("register", "discover", "churn"):
    old = {r[0]: float(r[3]) for r in rows if r[2] == op and r[1] == "old"}
    new = {r[0]: (float(r[3]), float(r[4])) for r in rows if r[2] == op and r[1] == "new"}
    ratio = sorted(new[k][0] / old[k] for k in old if k in new and old[k] > 0)
    print("| %s | %.0f | %.0f | %.2f / %.2f / %.2f | %.2f |" % (op, st.median(old.values()), st.median(v[0] for v in new.values()),
          ratio[0], st.median(ratio), ratio[-1], st.median(v[1] for v in new.values())))
PY
}

case $mode in
callgrind) run_callgrind ;;
cpu) run_cpu ;;
compare) run_compare ;;
ab) run_ab "${2:?old builddir}" "${3:?new builddir}" ;;
*) echo "usage: $0 callgrind|cpu|compare [BUILDDIR] | ab OLD_BUILDDIR NEW_BUILDDIR"; exit 2 ;;
esac
