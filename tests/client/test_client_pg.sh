#!/bin/sh
# TAP: tests/client/client.mjs again, the daemons on the PostgreSQL store of a throw-away cluster
# (tests/pg/pg-harness.sh exports RDV_PG_URL).
here=$(dirname "$0")
exec "$here/../pg/pg-harness.sh" sh -c 'RDV_STORE_URL=$RDV_PG_URL; export RDV_STORE_URL; exec node "$0"' "$here/client.mjs"
