#!/bin/sh
# TAP: rendezvousd + rendezvous-cli black-box tests (driver: tests/integration/daemon.mjs).
exec node "$(dirname "$0")/daemon.mjs"
