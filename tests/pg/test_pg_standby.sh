#!/bin/sh
# TAP: DISCOVER from a streaming standby with a lag bound and a fallback (tests/pg/standby.mjs).
exec env RDV_PG_STANDBY=1 "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/standby.mjs"
