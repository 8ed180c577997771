#!/bin/sh
# TAP: the PostgreSQL store (store contract + shared-database, migration and fault cases) on a throw-away cluster.
RDV_PG_V1_SCHEMA="$(cd "$(dirname "$0")" && pwd)/schema-v1.sql"
export RDV_PG_V1_SCHEMA
exec "$(dirname "$0")/pg-harness.sh" "$RDV_BUILDDIR/tests/unit/test_store_pg"
