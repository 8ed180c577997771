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
#   RDV_PG_STANDBY=1: also a streaming standby of it (pg_basebackup -R) on a second free port;
#       exported RDV_PG_STANDBY_PORT, RDV_PG_STANDBY_URL. From inside CMD: --promote (pg_ctl
#       promote the standby), --sigstop / --sigcont (the primary's postmaster and every child:
#       a server that hangs with its sockets open).
#   RDV_PG_PGBOUNCER=1: also Debian's pgbouncer in pool_mode=transaction in front of the primary
#       (database rdvtest, trust), on a third port; exported RDV_PGB_PORT, RDV_PGB_URL.
#   Every server runs as user postgres, binds 127.0.0.1 only, and is stopped on exit.
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

stop_cluster() { # [datadir]
    as_server "$RDV_PG_BINDIR/pg_ctl" -D "${1:-$RDV_PG_DIR/data}" -w -t 30 stop -m immediate >/dev/null 2>&1
}

signal_primary() { # STOP or CONT: the postmaster and all its children
    pm=$(head -n 1 "$RDV_PG_DIR/data/postmaster.pid" 2>/dev/null) || return 1
    [ -n "$pm" ] || return 1
    kill -"$1" $(ps -o pid= --ppid "$pm") "$pm"
}

free_port() {
    # below the kernel's ephemeral range (32768+), so no outgoing connection holds it when --start rebinds
    echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 + 20000 ))
}

start_standby() {
    if ! as_server "$RDV_PG_BINDIR/pg_basebackup" -h 127.0.0.1 -p "$RDV_PG_PORT" -U postgres -D "$RDV_PG_DIR/standby" \
            -R -X stream -c fast >"$RDV_PG_DIR/basebackup.log" 2>&1; then
        echo "Bail out! pg_basebackup failed:"; sed 's/^/# /' "$RDV_PG_DIR/basebackup.log"; exit 1
    fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        RDV_PG_STANDBY_PORT=$(free_port)
        as_server "$RDV_PG_BINDIR/pg_ctl" -D "$RDV_PG_DIR/standby" -l "$RDV_PG_DIR/standby.log" -w -t 30 start \
            -o "-p $RDV_PG_STANDBY_PORT -k $RDV_PG_DIR -c listen_addresses=127.0.0.1" >/dev/null && return 0
    done
    echo "Bail out! the standby did not start:"; sed 's/^/# /' "$RDV_PG_DIR/standby.log"; exit 1
}

start_pgbouncer() {
    RDV_PGB_PORT=$(free_port)
    printf '%s\n' "[databases]" "rdvtest = host=127.0.0.1 port=$RDV_PG_PORT dbname=rdvtest" "[pgbouncer]" \
        "listen_addr = 127.0.0.1" "listen_port = $RDV_PGB_PORT" "unix_socket_dir =" "auth_type = trust" \
        "auth_file = $RDV_PG_DIR/userlist.txt" "pool_mode = transaction" "default_pool_size = 4" \
        "max_client_conn = 200" "ignore_startup_parameters = extra_float_digits" \
        "pidfile = $RDV_PG_DIR/pgbouncer.pid" "logfile = $RDV_PG_DIR/pgbouncer.log" >"$RDV_PG_DIR/pgbouncer.ini"
    echo '"postgres" ""' >"$RDV_PG_DIR/userlist.txt"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$RDV_PG_DIR/pgbouncer.ini" "$RDV_PG_DIR/userlist.txt"
    if ! as_server pgbouncer -d -q "$RDV_PG_DIR/pgbouncer.ini"; then
        echo "Bail out! pgbouncer did not start (Debian package pgbouncer: scripts/install-deps.sh)"
        sed 's/^/# /' "$RDV_PG_DIR/pgbouncer.log" 2>/dev/null; exit 1
    fi
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
--promote)
    as_server "$RDV_PG_BINDIR/pg_ctl" -D "$RDV_PG_DIR/standby" -w -t 30 promote >/dev/null
    exit $?
    ;;
--sigstop)
    signal_primary STOP
    exit $?
    ;;
--sigcont)
    signal_primary CONT
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
    [ -f "$RDV_PG_DIR/pgbouncer.pid" ] && kill "$(cat "$RDV_PG_DIR/pgbouncer.pid")" 2>/dev/null
    signal_primary CONT 2>/dev/null # a SIGSTOPped server cannot stop
    stop_cluster
    [ -d "$RDV_PG_DIR/standby" ] && stop_cluster "$RDV_PG_DIR/standby"
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
    RDV_PG_PORT=$(free_port)
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
if [ "${RDV_PG_STANDBY:-}" = 1 ]; then
    start_standby
    RDV_PG_STANDBY_URL="postgresql://postgres@127.0.0.1:$RDV_PG_STANDBY_PORT/rdvtest?sslmode=disable&gssencmode=disable"
    export RDV_PG_STANDBY_PORT RDV_PG_STANDBY_URL
fi
if [ "${RDV_PG_PGBOUNCER:-}" = 1 ]; then
    start_pgbouncer
    RDV_PGB_URL="postgresql://postgres@127.0.0.1:$RDV_PGB_PORT/rdvtest?sslmode=disable&gssencmode=disable"
    export RDV_PGB_URL RDV_PGB_PORT
fi
"$@"
