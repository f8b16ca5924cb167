#!/usr/bin/env bash
# Starts the whole product locally: PostgreSQL and Redis on loopback, silos and edge hosts (one of each by default),
# and the sample robots (echo-bot, faq-bot, demo-shop-bot; Clients/RobotSamples).
# Installs what is missing, builds, waits until every host's /healthz answers, prints the URLs,
# and stops everything it started on Ctrl-C, SIGTERM or SIGHUP (robots first, then edge hosts drain while the silos still
# serve, then the silos; PostgreSQL and Redis only if this run started them).
#   ./deploy/run.sh [--silos N] [--edges M] [--no-robots] [--fresh]      (1-9 each)
# --fresh deletes the local PostgreSQL and Redis data first (messages, accounts, the firehose; the dev keys stay):
# benchmarks start from empty stores, whose figures otherwise drift as the message table and the firehose grow.
# It refuses to start while another run is starting or running (.data/run.lock.d holds its pid), or anything else holds
# the hosts' ports, before it touches the databases.
# Silo i (from 0): silo port 11111+i, gateway 30000+i, dashboard/healthz http://127.0.0.1:(8080+i).
# Edge host i: HTTP http://127.0.0.1:(5080+i), TCP 127.0.0.1:(5090+i), edge id edge-(i+1).
# Environment: IM_RUN_CONFIGURATION (default Release); every IM__… variable is passed to the hosts.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source deploy/local/common.sh

CONFIGURATION="${IM_RUN_CONFIGURATION:-Release}"
EDGE_URL="http://127.0.0.1:5080"
SILO_URL="http://127.0.0.1:8080"
LOGS="$IM_DATA/logs"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

SILOS=1; EDGES=1; ROBOTS=1; FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    # Without a value, `shift 2` fails and leaves the argument in place: the loop would never end.
    --silos) [ $# -ge 2 ] || { echo "--silos takes 1-9" >&2; exit 2; }; SILOS="$2"; shift 2 ;;
    --edges) [ $# -ge 2 ] || { echo "--edges takes 1-9" >&2; exit 2; }; EDGES="$2"; shift 2 ;;
    --no-robots) ROBOTS=0; shift ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$SILOS" =~ ^[1-9]$ ]] || { echo "--silos takes 1-9" >&2; exit 2; }
[[ "$EDGES" =~ ^[1-9]$ ]] || { echo "--edges takes 1-9" >&2; exit 2; }

SILO_PIDS=(); EDGE_PIDS=(); ROBOT_PIDS=(); STOPPING=0
# Whether this run started PostgreSQL and Redis: only then does it stop them (another run.sh, or someone's own, may be
# using servers that were already running).
STARTED_PG=0; STARTED_REDIS=0; LOCKED=0

# The ports of every host this run starts (see the header).
host_ports() {
  local i
  for ((i = 0; i < SILOS; i++)); do echo $((11111 + i)) $((30000 + i)) $((8080 + i)); done
  for ((i = 0; i < EDGES; i++)); do echo $((5080 + i)) $((5090 + i)); done
}

# Fails, naming them, when any host port already accepts connections: a second run.sh would otherwise start hosts
# that cannot bind their ports and exit one by one.
check_ports_free() {
  local port busy=()
  for port in $(host_ports); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && busy+=("$port")
  done
  [ ${#busy[@]} -eq 0 ] && return 0
  log "error: port(s) ${busy[*]} already in use on 127.0.0.1: is another deploy/run.sh running? (ss -ltnp shows who holds them)"
  return 1
}

stop_process() {
  local pid=$1 name=$2 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || { log "$name stopped"; return 0; }; sleep 0.1; done
  log "$name did not stop in 60s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

shutdown() {
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  # A second Ctrl-C or TERM must not cut the cleanup short (edge hosts drain, databases stop).
  trap '' INT TERM HUP
  log "stopping"
  local pid
  # Robots first: each goes offline and signs out while the cluster still answers.
  for pid in "${ROBOT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ROBOT_PIDS[@]}"; do stop_process "$pid" "robot $pid"; done
  # Edge hosts next, all at once: each drains (its clients are redirected) while the silos still serve.
  for pid in "${EDGE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${EDGE_PIDS[@]}"; do stop_process "$pid" "edge host $pid"; done
  for pid in "${SILO_PIDS[@]}"; do stop_process "$pid" "silo $pid"; done
  if [ "$STARTED_REDIS" = 1 ]; then deploy/local/redis.sh stop || true; fi
  if [ "$STARTED_PG" = 1 ]; then deploy/local/postgres.sh stop || true; fi
  if [ "$LOCKED" = 1 ]; then rm -rf "$LOCK_DIR"; fi
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The hosts run in sessions of their own (below): a closed terminal's SIGHUP reaches run.sh only, which stops them.
trap 'exit 129' HUP

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is not on PATH"
command -v setsid >/dev/null 2>&1 || die "setsid (util-linux) is not on PATH"
# One run at a time, from its first step: the port check below sees another run only once its hosts listen, minutes
# after it started its databases (a second run's --fresh then deleted them, and its exit stopped them under the first).
# A directory with the run's pid, not a flock on an open file: every child (the build servers, the databases, the
# hosts) would inherit that file and hold the lock after this run ended. One left by a run that was killed is taken over.
LOCK_DIR="$IM_DATA/run.lock.d"
mkdir -p "$IM_DATA"
if ! mkdir "$LOCK_DIR" 2>/dev/null; then
  holder=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
  if [ -n "$holder" ] && [ "$holder" != $$ ] && kill -0 "$holder" 2>/dev/null; then
    die "another deploy/run.sh (pid $holder) is starting or running here"
  fi
  rm -rf "$LOCK_DIR"
  mkdir "$LOCK_DIR" || die "cannot take $LOCK_DIR"
fi
echo $$ > "$LOCK_DIR/pid"
LOCKED=1
check_ports_free || exit 1
ensure_npm
ensure_curl
if [ "$FRESH" = 1 ]; then
  # destroy stops a server left running by an earlier run first (it would keep its files open), and deletes the data
  # where the script really keeps it (PostgreSQL's may be under /var/tmp, see deploy/local/postgres.sh).
  log "--fresh: deleting the PostgreSQL and Redis data"
  deploy/local/redis.sh destroy || exit 1
  deploy/local/postgres.sh destroy || exit 1
fi
deploy/local/postgres.sh status >/dev/null 2>&1 || STARTED_PG=1
deploy/local/postgres.sh start || exit 1
deploy/local/redis.sh status >/dev/null 2>&1 || STARTED_REDIS=1
deploy/local/redis.sh start || exit 1

log "building ($CONFIGURATION)"
dotnet build Orleans.Im.sln -c "$CONFIGURATION" -nologo -clp:ErrorsOnly || die "build failed"

mkdir -p "$LOGS"
# Edge hosts sign and check access tokens with a shared key. Development makes one once and keeps it in .data/;
# production must configure IM__Auth__SigningKey itself.
if [ -z "${IM__Auth__SigningKey:-}" ]; then
  KEY_FILE="$IM_DATA/dev/signing-key"
  if [ ! -s "$KEY_FILE" ]; then
    # Made readable by its owner only from the start (not chmod-ed after it was written under the caller's umask).
    (umask 077 && mkdir -p "$(dirname "$KEY_FILE")" && head -c 32 /dev/urandom | base64 > "$KEY_FILE")
  fi
  export IM__Auth__SigningKey="$(cat "$KEY_FILE")"
fi
if [ -z "${IM__Auth__AdminApiKey:-}" ]; then
  ADMIN_KEY_FILE="$IM_DATA/dev/admin-api-key"
  if [ ! -s "$ADMIN_KEY_FILE" ]; then
    (umask 077 && mkdir -p "$(dirname "$ADMIN_KEY_FILE")" && head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' > "$ADMIN_KEY_FILE")
  fi
  export IM__Auth__AdminApiKey="$(cat "$ADMIN_KEY_FILE")"
fi
# The build took a while: the ports may have been taken meanwhile.
check_ports_free || exit 1
# Each host runs from its build output so that its appsettings.json is the content root's, and in a session (and so a
# process group) of its own: Ctrl-C in the terminal goes to the terminal's foreground process group, and reaching the
# hosts too it stopped silos, edges and robots at once, when shutdown() stops them in order (robots, then edges drain
# while the silos still serve, then silos). The subshell of `( … ) &` is not a group leader (a script has no job
# control), so setsid does not fork: $! stays the host's pid.
for ((i = 0; i < SILOS; i++)); do
  (cd "Silo/bin/$CONFIGURATION/net10.0" && IM__Silo__SiloPort=$((11111 + i)) IM__Silo__GatewayPort=$((30000 + i)) \
    IM__Silo__HttpUrl="http://127.0.0.1:$((8080 + i))" exec setsid dotnet Silo.dll) >"$LOGS/silo-$i.log" 2>&1 &
  SILO_PIDS+=($!)
  log "silo $i pid $! (log $LOGS/silo-$i.log)"
done
for ((i = 0; i < EDGES; i++)); do
  # MALLOC_ARENA_MAX=2: as in the edge's container image (deploy/docker/EdgeHost.Dockerfile says why).
  (cd "EdgeHost/bin/$CONFIGURATION/net10.0" && IM__Edge__HttpUrl="http://127.0.0.1:$((5080 + i))" IM__Edge__TcpPorts__0=$((5090 + i)) \
    IM__Edge__EdgeId="edge-$((i + 1))" MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" exec setsid dotnet EdgeHost.dll) >"$LOGS/edge-$i.log" 2>&1 &
  EDGE_PIDS+=($!)
  log "edge host $i pid $! (log $LOGS/edge-$i.log)"
done

all_alive() {
  local pid
  for pid in "${SILO_PIDS[@]}" "${EDGE_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
}

healthy=0
for ((t = 0; t < 180; t++)); do
  all_alive || { tail -n 30 "$LOGS"/*.log >&2; die "a host exited (logs in $LOGS)"; }
  healthy=1
  for ((i = 0; i < EDGES; i++)); do
    curl -fsS -m 3 "http://127.0.0.1:$((5080 + i))/healthz" >/dev/null 2>&1 || { healthy=0; break; }
  done
  [ "$healthy" = 1 ] && break
  sleep 1
done
[ "$healthy" = 1 ] || die "the edge hosts did not become healthy in 180s (logs in $LOGS)"

# Development accounts (DESIGN section 7). Creating one that exists answers 409, which is fine: run.sh may run again.
seed() {
  local body=$1 status
  status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "$EDGE_URL/api/admin/accounts" \
    -H "X-Api-Key: $IM__Auth__AdminApiKey" -H 'Content-Type: application/json' -d "$body")
  case "$status" in 201|409) ;; *) log "seeding $body answered $status" ;; esac
}
for user in alice bob carol; do
  seed "{\"userId\":\"$user\",\"displayName\":\"${user^}\",\"password\":\"demo\",\"roles\":[\"user\"]}"
done
for agent in agent1 agent2; do
  seed "{\"userId\":\"$agent\",\"displayName\":\"${agent^}\",\"password\":\"demo\",\"roles\":[\"agent\"]}"
done
status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "$EDGE_URL/api/admin/shops" -H "X-Api-Key: $IM__Auth__AdminApiKey" \
  -H 'Content-Type: application/json' -d '{"shopId":"demo-shop","displayName":"Demo Shop","agentIds":["agent1","agent2"]}')
case "$status" in 201|409) ;; *) log "seeding demo-shop answered $status" ;; esac
seed '{"userId":"echo-bot","displayName":"Echo Bot","password":null,"roles":["robot"]}'
seed '{"userId":"faq-bot","displayName":"FAQ Bot","password":null,"roles":["robot"]}'
seed '{"userId":"demo-shop-bot","displayName":"Demo Shop Assistant","password":null,"roles":["robot"]}'
# demo-shop's robot answers its customers while no agent is online (docs/CUSTOMER-SERVICE.md). Only a shop that names no
# robot yet gets it, so settings changed by hand survive a restart.
CS_SETTINGS_URL="$EDGE_URL/api/admin/shops/demo-shop/customer-service/settings"
settings=$(curl -fsS -m 10 "$CS_SETTINGS_URL" -H "X-Api-Key: $IM__Auth__AdminApiKey" 2>/dev/null || true)
if printf '%s' "$settings" | grep -q '"autoReplyRobotId":null'; then
  status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X PUT "$CS_SETTINGS_URL" -H "X-Api-Key: $IM__Auth__AdminApiKey" \
    -H 'Content-Type: application/json' -d "${settings/\"autoReplyRobotId\":null/\"autoReplyRobotId\":\"demo-shop-bot\"}")
  [ "$status" = 204 ] || log "naming demo-shop's robot answered $status"
fi

# The sample robots: Orleans clients of the cluster, signed in as their robot accounts. Each restarts where it left off.
ROBOTS_DLL="$ROOT/Clients/RobotSamples/bin/$CONFIGURATION/net10.0/Orleans.Im.RobotSamples.dll"
start_robot() {
  local name=$1; shift
  (exec setsid dotnet "$ROBOTS_DLL" "$@") >"$LOGS/robot-$name.log" 2>&1 &
  ROBOT_PIDS+=($!)
  log "robot $name pid $! (log $LOGS/robot-$name.log)"
}
if [ "$ROBOTS" = 1 ]; then
  start_robot echo-bot echo-bot
  start_robot faq-bot faq --file "$ROOT/deploy/robots/faq.json"
  start_robot demo-shop-bot shop-auto-reply --shop demo-shop --file "$ROOT/deploy/robots/demo-shop.json"
  ROBOTS_LINE="echo-bot, faq-bot (deploy/robots/faq.json), demo-shop-bot (answers demo-shop while no agent is online); logs in $LOGS"
else
  ROBOTS_LINE="none (--no-robots)"
fi

cat <<MSG

Orleans.Im is running.
  Web chat:                        $EDGE_URL/
  Edge host (HTTP, /healthz):      $EDGE_URL   ($(curl -fsS -m 3 "$EDGE_URL/healthz"))
  Edge metrics:                    $EDGE_URL/metrics
  Edge host TCP (mobile protocol): 127.0.0.1:5090   (docs/PROTOCOL.md)
  Hosts:                           $SILOS silo(s) (HTTP 8080+i), $EDGES edge host(s) (HTTP 5080+i, TCP 5090+i); GET $EDGE_URL/api/edges
  HTTP API (OpenAPI):              $EDGE_URL/openapi/v1.json
  Dev accounts:                    alice, bob, carol (password demo); agent1, agent2 (demo); demo-shop; echo-bot
  Robots (Clients/RobotSamples):   $ROBOTS_LINE
  Dev admin API key (X-Api-Key):   $IM__Auth__AdminApiKey
  Agent console:                   dotnet Clients/AgentConsole/bin/$CONFIGURATION/net10.0/Orleans.Im.AgentConsole.dll --user agent1 --shop demo-shop
  Try:  curl -s -X POST $EDGE_URL/api/auth/login -H 'Content-Type: application/json' -d '{"userId":"alice","password":"demo"}'
  Silo dashboard:                  $SILO_URL/dashboard
  PostgreSQL:                      127.0.0.1:55432, database orleans_im (user postgres)
  Redis:                           127.0.0.1:56379
  Logs:                            $LOGS
Press Ctrl-C to stop everything.

MSG

# Wait until a host exits or a signal arrives (wait returns early on a trapped signal).
while all_alive; do
  wait -n "${SILO_PIDS[@]}" "${EDGE_PIDS[@]}" 2>/dev/null || true
done
log "a host exited; see $LOGS"
exit 1
