#!/bin/sh
# TAP: primary failover under load: the primary stopped hard, the standby promoted (tests/pg/failover.mjs).
exec env RDV_PG_STANDBY=1 "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/failover.mjs" kill
