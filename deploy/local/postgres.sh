#!/usr/bin/env bash
# Local PostgreSQL for development and tests, on loopback only.
#   deploy/local/postgres.sh start|stop|status|destroy
# destroy stops the server if it runs and deletes its data directory (wherever resolve_data_dir put it).
# Environment: IM_PG_PORT (default 55432), IM_PG_DATA (default .data/pg), IM_PG_DATABASES (default orleans_im),
# IM_PG_SHARED_BUFFERS (default 1GB), IM_PG_MAX_WAL_SIZE (default 4GB).
# initdb and pg_ctl refuse to run as root, so the cluster belongs to the `postgres` user. When that user cannot
# reach the checkout (a parent directory without the execute bit for it), the data lives under /var/tmp instead,
# in a folder named after the checkout, and a note says so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${IM_PG_PORT:-55432}"
DATA="${IM_PG_DATA:-$IM_DATA/pg}"
DATABASES="${IM_PG_DATABASES:-orleans_im}"
# The message log's two unique indexes take an insert on a random leaf page per message (keys lead with the
# conversation): with PostgreSQL's 128 MB default those pages were read back from the OS cache and, after each
# checkpoint, written whole into the WAL again. See docs/OPERATIONS.md ("PostgreSQL settings").
SHARED_BUFFERS="${IM_PG_SHARED_BUFFERS:-1GB}"
MAX_WAL_SIZE="${IM_PG_MAX_WAL_SIZE:-4GB}"

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

ensure_installed() {
  if ! BIN=$(find_bin); then
    log "PostgreSQL not found; installing it"
    apt_install postgresql
    BIN=$(find_bin) || die "PostgreSQL installed but pg_ctl not found"
  fi
  id postgres >/dev/null 2>&1 || die "the postgres system user is missing"
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

# Picks a data directory the postgres user can reach.
resolve_data_dir() {
  mkdir -p "$(dirname "$DATA")"
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$(dirname "$DATA")" 2>/dev/null; then
    local alt
    alt="/var/tmp/orleans-im-$(printf '%s' "$DATA" | sha1sum | cut -c1-12)/pg"
    log "note: the postgres user cannot reach $DATA; keeping the data in $alt"
    DATA="$alt"
  fi
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA" && chmod 700 "$DATA"
  return 0
}

psql_cmd() { as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

start() {
  ensure_installed
  resolve_data_dir
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initialising a cluster in $DATA"
    # trust on loopback only: this is a local development and test server, never exposed.
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "already running on 127.0.0.1:$PORT ($DATA)"
  else
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='' -c max_connections=300 -c fsync=on \
         -c shared_buffers=$SHARED_BUFFERS -c max_wal_size=$MAX_WAL_SIZE -c checkpoint_timeout=15min \
         -c checkpoint_completion_target=0.9" >/dev/null \
      || { tail -n 20 "$DATA/server.log" >&2; die "PostgreSQL did not start"; }
    log "started on 127.0.0.1:$PORT ($DATA)"
  fi
  wait_for_port "$PORT" 30 || die "PostgreSQL is not accepting connections on $PORT"
  local db
  for db in $DATABASES; do
    if [ -z "$(psql_cmd -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      psql_cmd -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
      log "created database $db"
    fi
  done
}

stop() {
  BIN=$(find_bin) || { log "PostgreSQL is not installed; nothing to stop"; return 0; }
  resolve_data_dir
  if [ -f "$DATA/postmaster.pid" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
    log "stopped ($DATA)"
  else
    log "not running ($DATA)"
  fi
}

# Deletes the cluster where it really is: as root with the checkout in a folder the postgres user cannot reach, that is
# under /var/tmp, not IM_PG_DATA (run.sh --fresh deleted IM_PG_DATA and kept the data).
destroy() {
  stop
  resolve_data_dir
  rm -rf "$DATA"
  log "deleted $DATA"
}

status() {
  BIN=$(find_bin) || { echo "not installed"; return 1; }
  resolve_data_dir
  as_postgres "$BIN/pg_ctl" -D "$DATA" status
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  destroy) destroy ;;
  *) echo "usage: $0 start|stop|status|destroy" >&2; exit 2 ;;
esac
