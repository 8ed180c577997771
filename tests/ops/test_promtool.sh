#!/bin/sh
# TAP: contrib/prometheus/ alert rules pass `promtool check rules` (Debian package prometheus), and
# every rendezvous_*/process_* series the rules and contrib/grafana/ dashboard use is exported by
# a running rendezvousd (driver: tests/ops/metrics-names.mjs).
top=$(cd "$(dirname "$0")/../.." && pwd)
echo "1..2"
if ! command -v promtool >/dev/null 2>&1; then
    echo "not ok 1 - promtool is missing: install the Debian package prometheus (scripts/install-deps.sh)"
elif out=$(promtool check rules "$top/contrib/prometheus/rendezvousd-alerts.yml" 2>&1); then
    echo "ok 1 - promtool check rules contrib/prometheus/rendezvousd-alerts.yml"
else
    echo "not ok 1 - promtool check rules"; echo "$out" | sed 's/^/# /'
fi
if out=$(node "$top/tests/ops/metrics-names.mjs" 2>&1); then
    echo "ok 2 - the rules and the dashboard use only exported metrics"
else
    echo "not ok 2 - the rules and the dashboard use only exported metrics"; echo "$out" | sed 's/^/# /'
fi
