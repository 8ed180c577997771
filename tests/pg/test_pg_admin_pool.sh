#!/bin/sh
# TAP: admin queries on their own pool never fail a REGISTER (tests/pg/admin_pool.mjs), own cluster.
exec "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/admin_pool.mjs"
