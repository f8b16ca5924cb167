#!/usr/bin/env bash
# Local Redis for development and tests, on loopback only (never the system service).
#   deploy/local/redis.sh start|stop|status|destroy
# destroy stops the server if it runs and deletes its data directory.
# Environment: IM_REDIS_PORT (default 56379), IM_REDIS_DATA (default .data/redis).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${IM_REDIS_PORT:-56379}"
DATA="${IM_REDIS_DATA:-$IM_DATA/redis}"
PIDFILE="$DATA/redis.pid"
# What the process calls itself (its title): a pid file that names any other process is stale.
PROCESS="redis-server 127.0.0.1:$PORT"

ensure_installed() {
  command -v redis-server >/dev/null 2>&1 || { log "redis-server not found; installing it"; apt_install redis-server; }
  command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after install"
  # The readiness check below asks with redis-cli (Debian's redis-tools, which redis-server depends on).
  command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools
}

start() {
  local i
  ensure_installed
  mkdir -p "$DATA"
  if pid_alive "$PIDFILE" "$PROCESS"; then
    log "already running on 127.0.0.1:$PORT ($DATA)"
  else
    redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DATA" --daemonize yes --pidfile "$PIDFILE" \
      --logfile "$DATA/redis.log" --appendonly yes --save "" --protected-mode yes >/dev/null
    log "started on 127.0.0.1:$PORT ($DATA)"
  fi
  wait_for_port "$PORT" 30 || die "Redis is not accepting connections on $PORT"
  # An open port is not a ready Redis: while it loads its append-only file (the firehose's streams make it hundreds of
  # MB after load runs) every command answers LOADING, and a silo that starts then fails its membership table and exits.
  local ready
  for ((i = 0; i < 1200; i++)); do
    ready="$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null || true)"
    [ "$ready" = "PONG" ] && break
    sleep 0.1
  done
  [ "$ready" = "PONG" ] || die "Redis on $PORT did not finish loading its data within 120 s (last answer: ${ready:-none})"
  # The pid file is written just after the port opens; wait for it so that stop can find the process.
  for ((i = 0; i < 50; i++)); do pid_alive "$PIDFILE" "$PROCESS" && return 0; sleep 0.1; done
  die "Redis started but wrote no pid file"
}

stop() {
  if pid_alive "$PIDFILE" "$PROCESS"; then stop_pid_file "$PIDFILE" 20 "$PROCESS"; log "stopped ($DATA)"; else log "not running ($DATA)"; fi
}

destroy() {
  stop
  rm -rf "$DATA"
  log "deleted $DATA"
}

status() {
  if pid_alive "$PIDFILE" "$PROCESS"; then echo "running, pid $(cat "$PIDFILE"), port $PORT"; else echo "not running"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  destroy) destroy ;;
  *) echo "usage: $0 start|stop|status|destroy" >&2; exit 2 ;;
esac
