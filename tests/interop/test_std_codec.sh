#!/bin/sh
# TAP, no network: the standard rendezvous codec (std-pb.mjs) against protoc's bytes, and the nwaku
# WakuPeerRecord envelope builder (waku-record.mjs) checked with js-libp2p's envelope code.
here=$(dirname "$0")
if [ ! -d "$here/node_modules/libp2p" ]; then
    echo "1..1"
    echo "not ok 1 - js-libp2p is not installed: run 'npm ci' in tests/interop (scripts/test.sh does)"
    exit 1
fi
exec node "$here/std-pb-test.mjs"
