#!/bin/sh
# TAP: the admin HTTP API, /metrics (checked by promtool) and health endpoints of a running
# rendezvousd, with registrations made by rendezvous-cli (driver: tests/admin/api.mjs).
# The store comes from RDV_TEST_STORE (default memory:); test_admin_api_pg.sh runs it on PostgreSQL.
exec node "$(dirname "$0")/api.mjs"
