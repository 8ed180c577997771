#!/bin/sh
# TAP: two and more rendezvousd front-ends on one PostgreSQL (tests/pg/frontends.mjs), own cluster.
exec "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/frontends.mjs"
