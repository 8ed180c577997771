#!/bin/sh
# TAP: primary failover under load: the primary hung (SIGSTOP, sockets open), the standby promoted.
exec env RDV_PG_STANDBY=1 "$(dirname "$0")/pg-harness.sh" node "$(dirname "$0")/failover.mjs" sigstop
