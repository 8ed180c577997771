#!/bin/sh
# TAP: librendezvous, installed and used through pkg-config, against rendezvousd on the memory
# store (driver: tests/client/client.mjs; its rogue-point test needs tests/interop's npm packages).
exec node "$(dirname "$0")/client.mjs"
