#!/bin/sh
# TAP: rendezvous-cli register|discover --protocol /rendezvous/1.0.0 against the js RendezvousServer of
# @canvas-js/libp2p-rendezvous@0.5.2 (driver: tests/canvas/cli-vs-server.mjs; its SQLite store needs
# better-sqlite3 built, which `npm ci` in tests/canvas does).
here=$(dirname "$0")
if [ ! -f "$here/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
    echo "1..1"
    echo "not ok 1 - better-sqlite3 is not built: run 'npm ci' in tests/canvas (scripts/test.sh does)"
    exit 1
fi
exec node "$here/cli-vs-server.mjs"
