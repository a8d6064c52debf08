#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, in a directory of its own, on 127.0.0.1 only. The Swift tests
# (scripts/test-postgres.sh) and the pytest fixture (Tests/integration/pg.py) both use it, and the outage tests stop
# and start it through it.
#   postgres-server.sh init DIR PORT   a new cluster in DIR/data; superuser kgb, password kgb-test over TCP
#   postgres-server.sh start DIR       starts it, returns once it accepts connections
#   postgres-server.sh stop DIR        fast shutdown (the clients' connections are cut, as in a real restart)
#   postgres-server.sh destroy DIR     stops it if running and removes DIR
#   postgres-server.sh psql DIR ARGS   runs psql as the superuser over the server's Unix socket
# The server refuses to run as root: as root this runs it as the postgres user (Debian's postgresql package makes
# it), or as nobody if there is none; as anyone else, as that user.
set -euo pipefail
command=${1:?usage: postgres-server.sh init|start|stop|destroy|psql DIR ...}
dir=${2:?usage: postgres-server.sh $command DIR ...}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  user=postgres
  id -u "$user" >/dev/null 2>&1 || user=nobody
  as_server() { runuser -u "$user" -- "$@"; }
else
  user=$(id -un)
  as_server() { "$@"; }
fi

case "$command" in
  init)
    port=${3:?usage: postgres-server.sh init DIR PORT}
    mkdir -p "$dir"
    echo kgb-test > "$dir/password"
    chown -R "$user" "$dir"
    chmod 700 "$dir"
    # Trust over the Unix socket (only this user can reach it: DIR is 700), a password over TCP, so the tests'
    # URLs exercise libpq's password handling (in the URL, or PGPASSWORD).
    as_server "$bin/initdb" --pgdata "$dir/data" --username kgb --pwfile "$dir/password" --encoding UTF8 --no-locale \
      --auth-local trust --auth-host scram-sha-256 --no-sync >"$dir/initdb.log"
    # Durability is not under test; fsync off spares the shared machine's disk.
    cat >>"$dir/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    ;;
  start)
    as_server "$bin/pg_ctl" --pgdata "$dir/data" --log "$dir/server.log" --wait --timeout 60 start >/dev/null
    ;;
  stop)
    as_server "$bin/pg_ctl" --pgdata "$dir/data" --mode fast --wait --timeout 60 stop >/dev/null
    ;;
  destroy)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_server "$bin/pg_ctl" --pgdata "$dir/data" --mode immediate --wait stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  psql)
    shift 2
    port=$(sed -n 's/^port = //p' "$dir/data/postgresql.conf" | tail -1)
    as_server "$bin/psql" --no-psqlrc --quiet --host "$dir" --port "$port" --username kgb --dbname postgres "$@"
    ;;
  *)
    echo "unknown command $command" >&2
    exit 2
    ;;
esac
