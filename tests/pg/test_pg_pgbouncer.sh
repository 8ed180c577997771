#!/bin/sh
# TAP: two front-ends behind pgbouncer in transaction mode (tests/pg/pgbouncer.mjs).
exec env RDV_PG_PGBOUNCER=1 "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/pgbouncer.mjs"
