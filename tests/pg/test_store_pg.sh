#!/bin/sh
# TAP: the PostgreSQL store (store contract + shared-database and fault cases) on a throw-away cluster.
exec "$(dirname "$0")/pg-harness.sh" "$RDV_BUILDDIR/tests/unit/test_store_pg"
