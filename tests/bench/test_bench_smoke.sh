#!/bin/sh
# TAP: a smoke run of rendezvous-bench, every workload, a few hundred requests each, against a real
# rendezvousd; then the verified-envelope cache counters in /metrics. No timing is asserted: the
# figures are for docs/performance.md (scripts/bench.sh), not for make check.
set -u
B=${RDV_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
# the load generator is one source address: the per-address rates and cap are lifted (docs/limits.md)
"$B/rendezvousd" --listen /ip4/127.0.0.1/tcp/0 --identity "$dir/key" --admin-listen 127.0.0.1:0 \
    --protocols waku0,std,waku1 --log-level info \
    --per-address-handshake-rate 1000000 --per-address-request-rate 10000000 --per-address-connections 4096 \
    >"$dir/addrs" 2>"$dir/log" &
pid=$!
n=0
for i in $(seq 50); do [ -s "$dir/addrs" ] && grep -q "admin API on" "$dir/log" && break; sleep 0.1; done
addr=$(head -n 1 "$dir/addrs")
admin=$(sed -n 's|.*admin API on http://\([^/]*\)/.*|\1|p' "$dir/log" | head -n 1)
check() { # description command...
    n=$((n + 1))
    desc=$1
    shift
    if out=$("$@" 2>&1); then echo "ok $n - $desc"; else echo "not ok $n - $desc"; echo "$out" | sed 's/^/# /'; fi
}
run() { # op dialect extra...
    op=$1 dl=$2
    shift 2
    out=$(timeout 60 "$B/rendezvous-bench" --server "$addr" --op "$op" --dialect "$dl" --connections 4 --depth 4 \
        --requests 300 --quiet --json "$@") || { echo "$out"; return 1; }
    echo "$out" | grep -q '"refused":0,"transport_errors":0' || { echo "$out"; return 1; }
    ok=$(echo "$out" | sed 's/.*"ok":\([0-9]*\).*/\1/')
    [ "$ok" -ge 300 ] || { echo "$out"; return 1; }
}
for op in register register-fresh discover mixed churn; do
    check "$op (waku0): 300 requests, none refused or failed" run "$op" waku0
done
check "register (std): 300 requests" run register std
check "discover (waku1): 300 requests" run discover waku1
check "open loop: discover at 2000/s for 1 s" run discover waku0 --rate 2000 --seconds 1
# answers over 64 KiB (the largest request, and what the bench's streams used to hold): 400 peers
# in one namespace, DISCOVER limit 1000 answers every one of them (~75 KB)
big() {
    timeout 60 "$B/rendezvous-bench" --server "$addr" --op register --connections 400 --depth 1 --requests 400 \
        --namespaces 1 --ttl 20 --quiet >/dev/null || return 1
    out=$(timeout 60 "$B/rendezvous-bench" --server "$addr" --op discover --connections 1 --depth 1 --requests 5 \
        --namespaces 1 --limit 1000 --quiet --json) || { echo "$out"; return 1; }
    echo "$out" | grep -q '"refused":0,"transport_errors":0' || { echo "$out"; return 1; }
    per=$(echo "$out" | sed 's/.*"records_per_answer":\([0-9]*\).*/\1/')
    [ "$per" -ge 400 ] || { echo "records per answer: $per: $out"; return 1; }
}
check "discover answers of 400 records (over 64 KiB) are read whole" big
metric() { curl -s "http://$admin/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
hits() { h=$(metric 'rendezvous_verify_cache_total{result="hit"}'); [ "${h%%.*}" -gt 0 ] || { echo "hits: '$h'"; return 1; }; }
misses() { m=$(metric 'rendezvous_verify_cache_total{result="miss"}'); [ "${m%%.*}" -ge 300 ] || { echo "misses: '$m'"; return 1; }; }
check "/metrics: verify cache hits counted (re-sent envelopes)" hits
check "/metrics: verify cache misses counted (register-fresh verifies each)" misses
check "the bench refuses a server that is not on loopback" sh -c "! '$B/rendezvous-bench' --server /ip4/10.0.0.1/tcp/1/p2p/x --quiet 2>/dev/null"
echo "1..$n"
