#!/bin/sh
# TAP: tests/admin/api.mjs again, on the PostgreSQL store of a throw-away cluster (tests/pg/pg-harness.sh),
# including /readyz and store_up while the database is down.
here=$(dirname "$0")
exec "$here/../pg/pg-harness.sh" sh -c 'RDV_TEST_STORE=$RDV_PG_URL exec node "$1"' sh "$here/api.mjs"
