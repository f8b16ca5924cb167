#!/usr/bin/env bash
# Starts the whole product locally: PostgreSQL and Redis on loopback, one silo, one edge host.
# Installs what is missing, builds, waits until the edge host's /healthz answers, prints the URLs,
# and stops everything it started on Ctrl-C or SIGTERM.
#   ./deploy/run.sh
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

SILO_PID=""; EDGE_PID=""; STOPPING=0

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
  log "stopping"
  stop_process "$EDGE_PID" "edge host"
  stop_process "$SILO_PID" "silo"
  deploy/local/redis.sh stop || true
  deploy/local/postgres.sh stop || true
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is not on PATH"
ensure_npm
deploy/local/postgres.sh start || exit 1
deploy/local/redis.sh start || exit 1

log "building ($CONFIGURATION)"
dotnet build Orleans.Im.sln -c "$CONFIGURATION" -nologo -clp:ErrorsOnly || die "build failed"

mkdir -p "$LOGS"
# Edge hosts sign and check access tokens with a shared key. Development makes one once and keeps it in .data/;
# production must configure IM__Auth__SigningKey itself.
if [ -z "${IM__Auth__SigningKey:-}" ]; then
  KEY_FILE="$IM_DATA/dev/signing-key"
  if [ ! -s "$KEY_FILE" ]; then
    mkdir -p "$(dirname "$KEY_FILE")"
    head -c 32 /dev/urandom | base64 > "$KEY_FILE"
    chmod 600 "$KEY_FILE"
  fi
  export IM__Auth__SigningKey="$(cat "$KEY_FILE")"
fi
if [ -z "${IM__Auth__AdminApiKey:-}" ]; then
  ADMIN_KEY_FILE="$IM_DATA/dev/admin-api-key"
  if [ ! -s "$ADMIN_KEY_FILE" ]; then
    mkdir -p "$(dirname "$ADMIN_KEY_FILE")"
    head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' > "$ADMIN_KEY_FILE"
    chmod 600 "$ADMIN_KEY_FILE"
  fi
  export IM__Auth__AdminApiKey="$(cat "$ADMIN_KEY_FILE")"
fi
# Each host runs from its build output so that its appsettings.json is the content root's.
(cd "Silo/bin/$CONFIGURATION/net10.0" && exec dotnet Silo.dll) >"$LOGS/silo.log" 2>&1 &
SILO_PID=$!
(cd "EdgeHost/bin/$CONFIGURATION/net10.0" && exec dotnet EdgeHost.dll) >"$LOGS/edge.log" 2>&1 &
EDGE_PID=$!
log "silo pid $SILO_PID (log $LOGS/silo.log), edge host pid $EDGE_PID (log $LOGS/edge.log)"

healthy=0
for ((i = 0; i < 180; i++)); do
  kill -0 "$SILO_PID" 2>/dev/null || { tail -n 30 "$LOGS/silo.log" >&2; die "the silo exited"; }
  kill -0 "$EDGE_PID" 2>/dev/null || { tail -n 30 "$LOGS/edge.log" >&2; die "the edge host exited"; }
  if curl -fsS -m 3 "$EDGE_URL/healthz" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 1
done
[ "$healthy" = 1 ] || die "the edge host did not become healthy in 180s (logs in $LOGS)"

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

cat <<MSG

Orleans.Im is running.
  Web chat:                        $EDGE_URL/
  Edge host (HTTP, /healthz):      $EDGE_URL   ($(curl -fsS -m 3 "$EDGE_URL/healthz"))
  Edge metrics:                    $EDGE_URL/metrics
  Edge host TCP (mobile protocol): 127.0.0.1:5090   (docs/PROTOCOL.md)
  HTTP API (OpenAPI):              $EDGE_URL/openapi/v1.json
  Dev accounts:                    alice, bob, carol (password demo); agent1, agent2 (demo); demo-shop; echo-bot
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
while kill -0 "$SILO_PID" 2>/dev/null && kill -0 "$EDGE_PID" 2>/dev/null; do
  wait -n "$SILO_PID" "$EDGE_PID" 2>/dev/null || true
done
log "a host exited; see $LOGS"
exit 1
