#!/bin/sh
# TAP: one rendezvousd serving /vac/waku/rendezvous/0.0.1, /rendezvous/1.0.0 and /vac/waku/rendezvous/1.0.0
# to js-libp2p 3.x peers (driver: tests/interop/dialects.mjs). Needs the pinned npm packages:
# scripts/test.sh runs `npm ci` in tests/interop first.
here=$(dirname "$0")
if [ ! -d "$here/node_modules/libp2p" ]; then
    echo "1..1"
    echo "not ok 1 - js-libp2p is not installed: run 'npm ci' in tests/interop (scripts/test.sh does)"
    exit 1
fi
exec node "$here/dialects.mjs"
