#!/bin/sh
# TAP: interop with real js-libp2p peers (driver: tests/interop/interop.mjs). Needs the pinned npm
# packages: scripts/test.sh runs `npm ci` in tests/interop first.
here=$(dirname "$0")
if [ ! -d "$here/node_modules/libp2p" ]; then
    echo "1..1"
    echo "not ok 1 - js-libp2p is not installed: run 'npm ci' in tests/interop (scripts/test.sh does)"
    exit 1
fi
exec node "$here/interop.mjs"
