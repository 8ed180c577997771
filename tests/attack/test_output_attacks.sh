#!/bin/sh
# TAP: the output budget under attack (slow readers, the global cap) and big DISCOVER answers read whole
# by js-libp2p, rendezvous-cli and librendezvous; loopback only, bounded (tests/attack/output_attacks.mjs).
exec node "$(dirname "$0")/output_attacks.mjs"
