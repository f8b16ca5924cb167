# Shared helpers for the local service scripts. Sourced, not run.
# Everything here binds to loopback only and keeps its data under the checkout's .data/ folder.

IM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IM_DATA="${IM_DATA:-$IM_ROOT/.data}"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs apt-get install for the named packages, updating the package lists once per process.
apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root (run as root or install it yourself)"
  if [ -z "${IM_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    IM_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# The build installs the web page's SignalR client with npm; the browser tests drive Debian's Chromium.
ensure_npm() { command -v npm >/dev/null 2>&1 || { log "npm not found; installing it"; apt_install nodejs npm; }; }
# deploy/run.sh waits for the hosts and seeds the development accounts over HTTP with curl.
ensure_curl() { command -v curl >/dev/null 2>&1 || { log "curl not found; installing it"; apt_install curl; }; }
ensure_chromium() { [ -x /usr/bin/chromium ] || { log "chromium not found; installing it"; apt_install chromium; }; }
# The agent console's test drives it in a terminal multiplexer.
# The deployment tests validate deploy/compose/compose.yaml with Debian's docker-compose (no Docker engine needed).
ensure_docker_compose() { command -v docker-compose >/dev/null 2>&1 || { log "docker-compose not found; installing it"; apt_install docker-compose; }; }
ensure_tmux() { command -v tmux >/dev/null 2>&1 || { log "tmux not found; installing it"; apt_install tmux; }; }

# Waits until a TCP port on 127.0.0.1 accepts connections, at most $2 seconds.
wait_for_port() {
  local port=$1 seconds=${2:-30} i
  for ((i = 0; i < seconds * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# True when the pid in file $1 names a live process, whose command line holds $2 when given: a pid file left behind by a
# crash or a reboot may name another process by now (pids are reused), which must be neither taken for ours nor killed.
pid_alive() {
  local file=$1 name=${2:-} pid
  [ -f "$file" ] || return 1
  pid=$(head -n 1 "$file" 2>/dev/null)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -z "$name" ] || tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# Sends SIGTERM to the pid in file $1 (a process whose command line holds $3, when given), waits up to $2 seconds, then
# SIGKILL.
stop_pid_file() {
  local file=$1 seconds=${2:-20} name=${3:-} pid i
  pid_alive "$file" "$name" || { rm -f "$file"; return 0; }
  pid=$(head -n 1 "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
    sleep 0.1
  done
  log "pid $pid did not stop in ${seconds}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}
