#!/bin/sh
# TAP: rendezvous-cli on every dialect against a real rendezvousd (driver: tests/cli/dialects.mjs).
exec node "$(dirname "$0")/dialects.mjs"
