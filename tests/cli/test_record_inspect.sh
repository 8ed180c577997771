#!/bin/sh
# TAP: rendezvous-cli offline commands against the shared vectors (driver: tests/cli/record_inspect.mjs).
exec node "$(dirname "$0")/record_inspect.mjs"
