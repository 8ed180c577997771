#!/bin/sh
# TAP: the global budgets on PostgreSQL over the wire (tests/pg/budget.mjs), own cluster.
exec "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/budget.mjs"
