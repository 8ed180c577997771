#!/bin/sh
# TAP: two rendezvousd front-ends on one PostgreSQL with /rendezvous/1.0.0 and /vac/waku/rendezvous/1.0.0
# js peers (tests/pg/dialects.mjs, tests/interop's npm packages), own cluster.
here=$(dirname "$0")
if [ ! -d "$here/../interop/node_modules/libp2p" ]; then
    echo "1..1"
    echo "not ok 1 - js-libp2p is not installed: run 'npm ci' in tests/interop (scripts/test.sh does)"
    exit 1
fi
exec "$here/pg-harness.sh" node "$here/dialects.mjs"
