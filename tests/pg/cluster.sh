#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests, sourced by tests/pg/run.sh (or run as
# `tests/pg/cluster.sh COMMAND...` to run one command beside one):
#   pg_cluster_bindir          the server's programs (initdb, pg_ctl), or nothing
#   pg_cluster_start           initdb + pg_ctl in a new temporary directory (as the
#                              `postgres` user when run as root, the directory its own),
#                              listening only on a Unix socket in that directory; makes a
#                              database and exports SCENARIST_TEST_PG, its libpq URI
#   pg_cluster_stop            stops the server and removes the directory (on EXIT too)
#   pg_cluster_db NAME         makes another database; prints its URI
#   PG_CLUSTER_SETTINGS        more `-c name=value` for the server, after the tests' own
#                              (the later wins: make bench turns fsync back on)

pg_cluster_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null)
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    return 1
}

# Runs a server program as the cluster's owner.
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

pg_cluster_start() {
    PG_BIN=$(pg_cluster_bindir) || { echo "no PostgreSQL server programs (initdb, pg_ctl)" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/scenarist-pg.XXXXXX) || return 1
    PG_USER=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "running as root, but there is no postgres user" >&2; return 1; }
        chown postgres "$PG_DIR"
        PG_USER=postgres
    fi
    trap pg_cluster_stop EXIT
    pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --auth=trust --no-sync \
        -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    # no TCP at all: only the socket in the directory, so nothing else reaches it
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c fsync=off \
            -c max_connections=200 -c shared_buffers=32MB ${PG_CLUSTER_SETTINGS:-}" start >/dev/null ||
        { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_STARTED=1
    SCENARIST_TEST_PG=$(pg_cluster_db scenarist) || return 1
    export SCENARIST_TEST_PG PG_DIR PG_BIN PG_USER
}

pg_cluster_db() {
    "$PG_BIN/createdb" -h "$PG_DIR" -U "$PG_USER" "$1" >&2 || return 1
    echo "postgresql:///$1?host=$PG_DIR&user=$PG_USER"
}

pg_cluster_stop() {
    if [ -n "${PG_STARTED:-}" ]; then
        pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
        PG_STARTED=
    fi
    [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] && rm -rf "$PG_DIR"
    PG_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then # run as a command: one command beside a cluster
    set -u
    pg_cluster_start || exit 1
    "$@"
    rc=$?
    pg_cluster_stop
    exit $rc
fi
