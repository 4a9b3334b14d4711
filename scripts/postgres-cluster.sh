#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a data directory of its own
# under a temporary folder, listening on 127.0.0.1 only, on a free port. Nothing of the machine's own
# PostgreSQL (if any) is touched.
#
#   eval "$(scripts/postgres-cluster.sh start)"   # exports PATCHBAY_TEST_POSTGRES_URL, PATCHBAY_PG_DIR
#   scripts/postgres-cluster.sh stop "$PATCHBAY_PG_DIR"
#
# The server runs as the `postgres` system user (it refuses root). fsync stays on: the backend's
# durability is part of what the tests prove.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$bindir/initdb" ]] || { echo "postgres-cluster: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/patchbay-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_postgres "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c shared_buffers=128MB" \
        start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    echo "export PATCHBAY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export PATCHBAY_PG_DIR=$dir"
    ;;
stop)
    dir="${2:?usage: postgres-cluster.sh stop DIR}"
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres-cluster.sh start | stop DIR" >&2
    exit 64
    ;;
esac
