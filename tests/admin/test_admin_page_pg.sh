#!/bin/sh
# TAP: tests/admin/page.mjs again on the PostgreSQL store of a throw-away cluster (tests/pg/pg-harness.sh),
# including what the page shows while the database is down.
here=$(dirname "$0")
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -x /usr/bin/chromium ]; then
    echo "1..1"
    echo "not ok 1 - needs playwright-core (npm ci in tests/admin) and /usr/bin/chromium"
    exit 1
fi
exec "$here/../pg/pg-harness.sh" sh -c 'RDV_TEST_STORE=$RDV_PG_URL exec node "$1"' sh "$here/page.mjs"
