#!/bin/sh
# TAP: a slowloris attack on the admin endpoint, loopback only, bounded (tests/attack/admin_slowloris.mjs).
exec node "$(dirname "$0")/admin_slowloris.mjs"
