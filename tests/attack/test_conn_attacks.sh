#!/bin/sh
# TAP: attacks on the libp2p port (silent streams, half-open connections, a handshake flood), loopback
# only, bounded (tests/attack/conn_attacks.mjs; js-libp2p from tests/interop/node_modules).
exec node "$(dirname "$0")/conn_attacks.mjs"
