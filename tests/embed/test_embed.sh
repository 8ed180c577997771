#!/bin/sh
# TAP: the server library (librendezvous-server) installed and used through pkg-config:
# examples/embed.c serving stock js-libp2p peers from its own in-memory map, and examples/poll.c
# (librendezvous from a poll(2) loop) against rendezvousd (driver: tests/embed/embed.mjs).
exec node "$(dirname "$0")/embed.mjs"
