#!/bin/sh
# TAP: @canvas-js/libp2p-rendezvous@0.5.2 (js-libp2p 2.x) as a client of rendezvousd on /rendezvous/1.0.0,
# incl. paging with cookies through its protocol codec (driver: tests/canvas/client.mjs).
# Needs the pinned npm packages: scripts/test.sh runs `npm ci` in tests/canvas first.
here=$(dirname "$0")
if [ ! -d "$here/node_modules/@canvas-js/libp2p-rendezvous" ]; then
    echo "1..1"
    echo "not ok 1 - @canvas-js/libp2p-rendezvous is not installed: run 'npm ci' in tests/canvas (scripts/test.sh does)"
    exit 1
fi
exec node "$here/client.mjs"
