#!/bin/sh
# pg-harness.sh: runs a command against a throw-away PostgreSQL cluster, then always removes it.
#
#   tests/pg/pg-harness.sh CMD [ARG...]  initdb a cluster in a new temp dir, start it on a free
#       127.0.0.1 port, create database "rdvtest", export the variables below, run CMD, and on
#       exit (normal, failure or signal) stop the cluster and remove the dir. Exits with CMD's status.
#   tests/pg/pg-harness.sh --stop | --start   from inside CMD: stop the cluster at once
#       (pg_ctl stop -m immediate: a crash, as far as clients can tell) or start it again on the
#       same port, e.g. to test how clients ride out an outage.
#
# Exported to CMD: RDV_PG_URL (a libpq URI for rdvtest), RDV_PG_DIR, RDV_PG_PORT, RDV_PG_BINDIR,
# RDV_PG_HARNESS (this script). As root the server runs as user postgres (runuser); otherwise as the
# current user. RDV_PG_SERVER_OPTS adds `-c name=value` settings (the benchmark uses it).
# PostgreSQL binaries: $RDV_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin (Debian's
# postgresql package).
set -u

as_server() { # runs a command as the cluster's owner
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_cluster() { # port; returns pg_ctl's status
    as_server "$RDV_PG_BINDIR/pg_ctl" -D "$RDV_PG_DIR/data" -l "$RDV_PG_DIR/server.log" -w -t 30 start \
        -o "-p $1 -k $RDV_PG_DIR -c listen_addresses=127.0.0.1 ${RDV_PG_SERVER_OPTS:-}" >/dev/null
}

stop_cluster() {
    as_server "$RDV_PG_BINDIR/pg_ctl" -D "$RDV_PG_DIR/data" -w -t 30 stop -m immediate >/dev/null 2>&1
}

case "${1:-}" in
--stop)
    stop_cluster
    exit $?
    ;;
--start)
    start_cluster "$RDV_PG_PORT"
    exit $?
    ;;
"")
    echo "usage: $0 CMD [ARG...] | --stop | --start" >&2
    exit 2
    ;;
esac

if [ -z "${RDV_PG_BINDIR:-}" ]; then
    RDV_PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ ! -x "${RDV_PG_BINDIR:-/nonexistent}/initdb" ]; then
    # Not a skip: CI installs PostgreSQL, and a silently skipped test proves nothing.
    echo "Bail out! PostgreSQL server binaries not found: install the Debian package postgresql"
    exit 1
fi

RDV_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rdv-pg.XXXXXX") || exit 1
cleanup() {
    stop_cluster
    rm -rf "$RDV_PG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ "$(id -u)" -eq 0 ] && chown postgres: "$RDV_PG_DIR"

if ! as_server "$RDV_PG_BINDIR/initdb" -D "$RDV_PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C -N \
        >"$RDV_PG_DIR/initdb.log" 2>&1; then
    echo "Bail out! initdb failed:"
    sed 's/^/# /' "$RDV_PG_DIR/initdb.log"
    exit 1
fi

# A free port: try random ones until the server starts (another cluster or test may hold one).
started=no
for _ in 1 2 3 4 5 6 7 8 9 10; do
    # below the kernel's ephemeral range (32768+), so no outgoing connection holds it when --start rebinds
    RDV_PG_PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 + 20000 ))
    if start_cluster "$RDV_PG_PORT"; then started=yes; break; fi
done
if [ $started != yes ]; then
    echo "Bail out! PostgreSQL did not start:"
    sed 's/^/# /' "$RDV_PG_DIR/server.log"
    exit 1
fi
if ! "$RDV_PG_BINDIR/createdb" -h 127.0.0.1 -p "$RDV_PG_PORT" -U postgres rdvtest; then
    echo "Bail out! createdb failed"
    exit 1
fi

RDV_PG_URL="postgresql://postgres@127.0.0.1:$RDV_PG_PORT/rdvtest?sslmode=disable&gssencmode=disable"
RDV_PG_HARNESS=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
export RDV_PG_URL RDV_PG_DIR RDV_PG_PORT RDV_PG_BINDIR RDV_PG_HARNESS
"$@"
