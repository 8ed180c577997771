#!/bin/sh
# TAP: global store budgets against rendezvousd, with js-libp2p peers and rendezvous-cli (tests/interop/budget.mjs).
here=$(dirname "$0")
if [ ! -d "$here/node_modules/libp2p" ]; then
    echo "1..1"
    echo "not ok 1 - js-libp2p is not installed: run 'npm ci' in tests/interop (scripts/test.sh does)"
    exit 1
fi
exec node "$here/budget.mjs"
