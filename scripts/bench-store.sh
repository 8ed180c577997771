#!/bin/sh
# bench-store.sh: REGISTER and DISCOVER throughput of one rendezvousd front-end on the memory store
# and on PostgreSQL, side by side, in one run (a benchmark, not a test; figures: docs/performance.md).
#
#   scripts/bench-store.sh [BUILDDIR]        BUILDDIR holds rendezvousd and rendezvous-bench (default build/)
#
# Knobs (environment): SECONDS_PER_RUN (10), CONNECTIONS (16), DEPTH (4 requests in flight per
# connection), POOL (4 PostgreSQL connections), NAMESPACES (10), LIMIT (10 records per DISCOVER),
# RDV_PG_SERVER_OPTS (extra `-c name=value` for the server, e.g. "-c synchronous_commit=off"),
# BATCHES ("1 64": PostgreSQL runs once per --store-batch value, 1 = a transaction per request,
# interleaved ROUNDS (1) times: before and after group commit in one run), OPS ("register
# register-fresh discover"), STORES ("memory postgres"). CALLGRIND=1: instead, the front-end's
# instructions per REGISTER (steady state and fresh) on each store, counted by callgrind over N
# (2000) requests at 4 x 4 in flight (stable on a noisy machine; the load does not change it).
# PostgreSQL is a throw-away cluster made by tests/pg/pg-harness.sh (initdb on a free port, removed
# afterwards). Each front-end is started fresh; REGISTER runs first and fills the namespaces that
# DISCOVER then reads.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != "--inside" ]; then
    builddir=$(cd "${1:-$top/build}" && pwd)
    for p in rendezvousd rendezvous-bench; do
        [ -x "$builddir/$p" ] || { echo "bench-store: $builddir/$p not found (build first)" >&2; exit 1; }
    done
    exec "$top/tests/pg/pg-harness.sh" sh "$0" --inside "$builddir"
fi

builddir=$2
T=${SECONDS_PER_RUN:-10}
CONNS=${CONNECTIONS:-16}
DEPTH=${DEPTH:-4}
POOL=${POOL:-4}
NS=${NAMESPACES:-10}
LIMIT=${LIMIT:-10}
work=$(mktemp -d "${TMPDIR:-/tmp}/rdv-bench.XXXXXX")
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$builddir/rendezvousd" --store "$RDV_PG_URL" --init-db 2>/dev/null

# Starts a front-end on store $1 (--store-batch $2); sets $server to its /p2p/ address.
start_daemon() {
    : > "$work/addr"
    "$builddir/rendezvousd" --store "$1" --identity "$work/id.key" --listen /ip4/127.0.0.1/tcp/0 \
        --admin-listen off --max-ttl 300 --store-pool "$POOL" --store-batch "${2:-64}" --log-level warn \
        >"$work/addr" 2>"$work/daemon.log" &
    daemon_pid=$!
    for _ in $(seq 100); do
        server=$(head -n 1 "$work/addr")
        [ -n "$server" ] && return 0
        sleep 0.1
    done
    echo "bench-store: rendezvousd did not start:" >&2
    cat "$work/daemon.log" >&2
    exit 1
}

stop_daemon() {
    kill "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
}

# CPU time (clock ticks) used so far by the given processes, and by the PostgreSQL server's
# processes (the postmaster's children: backends, WAL writer, checkpointer...).
ticks() {
    for pid in "$@"; do cat "/proc/$pid/stat" 2>/dev/null; done | awk '{ s += $14 + $15 } END { print s + 0 }'
}
pg_pids() {
    pm=$(head -n 1 "$RDV_PG_DIR/data/postmaster.pid")
    echo "$pm"
    ps -o pid= --ppid "$pm"
}

bench() { # op
    d0=$(ticks "$daemon_pid")
    p0=$(ticks $(pg_pids))
    # the load generator's own CPU too (it signs and encrypts): the three share the machine
    out=$(/usr/bin/time -f 'bench-cpu %U %S' -o "$work/time" "$builddir/rendezvous-bench" --server "$server" \
        --op "$1" --connections "$CONNS" --depth "$DEPTH" --seconds "$T" --namespaces "$NS" --limit "$LIMIT" --ttl 300 \
        --quiet)
    bcpu=$(awk '/^bench-cpu/ { printf "%d", ($2 + $3) * 100 / '"$T"' }' "$work/time")
    d1=$(ticks "$daemon_pid")
    p1=$(ticks $(pg_pids))
    hz=$(getconf CLK_TCK)
    # the run lasts T seconds plus connection set-up and drain: a slight underestimate of the load
    okn=$(echo "$out" | sed -n 's/^[a-z]*: \([0-9]*\) ok.*/\1/p' | head -n 1)
    per=""
    [ "${okn:-0}" -gt 0 ] && per=", PostgreSQL $(( (p1 - p0) * 1000000 / hz / okn )) us CPU per request"
    echo "$out; CPU: front-end $(( (d1 - d0) * 100 / hz / T ))%, PostgreSQL $(( (p1 - p0) * 100 / hz / T ))%, bench ${bcpu}% of one core$per"
}

# The front-end under callgrind: instructions per request, per store (counters zeroed before and
# dumped after each workload; the warm-up fills the namespaces and the verify cache).
callgrind_store() { # store label
    : > "$work/addr"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$builddir/rendezvousd" --store "$1" \
        --identity "$work/id.key" --listen /ip4/127.0.0.1/tcp/0 --admin-listen off --max-ttl 300 \
        --store-timeout-ms 30000 --log-level error >"$work/addr" 2>"$work/vg.log" &
    daemon_pid=$!
    for _ in $(seq 300); do server=$(head -n 1 "$work/addr"); [ -n "$server" ] && break; sleep 0.1; done
    N=${N:-2000}
    "$builddir/rendezvous-bench" --server "$server" --op register --connections 16 --depth 1 --requests 1600 \
        --namespaces 10 --ttl 300 --quiet >/dev/null
    for op in register register-fresh; do
        callgrind_control -z "$daemon_pid" >/dev/null 2>&1
        "$builddir/rendezvous-bench" --server "$server" --op "$op" --connections 4 --depth 4 --requests "$N" \
            --namespaces 10 --ttl 300 --quiet >/dev/null
        callgrind_control -d "$op" "$daemon_pid" >/dev/null 2>&1
        f=$(ls -t "$work"/cg.* | head -n 1)
        awk -v l="$2 $op" -v n="$N" '/^(summary|totals):/ { printf "%s: %.0f instructions per request (front-end)\n", l, $2 / n; exit }' "$f"
    done
    kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
}
if [ "${CALLGRIND:-0}" = 1 ]; then
    command -v valgrind >/dev/null || { echo "bench-store: valgrind is not installed" >&2; exit 1; }
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) callgrind, $(nproc) CPUs, ${N:-2000} requests per workload"
    callgrind_store memory: memory
    "$RDV_PG_BINDIR/psql" "$RDV_PG_URL" -X -q -c 'TRUNCATE rdv_registrations' 2>/dev/null || true
    callgrind_store "$RDV_PG_URL" postgres
    exit 0
fi

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs; $T s per run, $CONNS connections x $DEPTH in flight, pool $POOL"
echo "# PostgreSQL: $("$RDV_PG_BINDIR/postgres" --version) ${RDV_PG_SERVER_OPTS:-(default settings)}"
runs=""
for s in ${STORES:-memory postgres}; do
    if [ "$s" = memory ]; then runs="$runs memory:1"; continue; fi
    for _ in $(seq "${ROUNDS:-1}"); do
        for b in ${BATCHES:-1 64}; do runs="$runs postgres:$b"; done
    done
done
for run in $runs; do
    kind=${run%%:*}
    batch=${run#*:}
    store=memory:
    label=memory
    if [ "$kind" = postgres ]; then
        store=$RDV_PG_URL
        label="postgres batch $batch"
        "$RDV_PG_BINDIR/psql" "$RDV_PG_URL" -X -q -c 'TRUNCATE rdv_registrations' 2>/dev/null || true
    fi
    start_daemon "$store" "$batch"
    for op in ${OPS:-register register-fresh discover}; do
        echo "$label $(bench "$op")"
    done
    stop_daemon
    if grep -q . "$work/daemon.log"; then
        echo "# $label front-end log:"
        sed 's/^/#   /' "$work/daemon.log" | tail -n 5
    fi
done
