#!/bin/sh
# TAP: rendezvousd while its PostgreSQL crashes and comes back (tests/pg/fault.mjs), own cluster.
exec "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/fault.mjs"
