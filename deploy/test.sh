#!/usr/bin/env bash
# The test command: installs what is missing, starts PostgreSQL and Redis on their own ports (so it can run
# beside deploy/run.sh), builds, runs the whole suite on them, stops what it started, and ends with
#   tests: N passed, N failed[, N skipped]
# Exit status is non-zero on any failure.
#   ./deploy/test.sh                  the whole suite
#   ./deploy/test.sh --filter EXPR    only matching tests (dotnet test --filter syntax, e.g. Category=Unit)
#   ./deploy/test.sh --services-only  start the test services and leave them running (for dotnet test by hand)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source deploy/local/common.sh

FILTER=""
SERVICES_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) [ $# -ge 2 ] || { echo "usage: $0 [--filter EXPR] [--services-only]" >&2; echo "tests: 0 passed, 1 failed"; exit 2; }
              FILTER="$2"; shift 2 ;;
    --services-only) SERVICES_ONLY=1; shift ;;
    *) echo "usage: $0 [--filter EXPR] [--services-only]" >&2; echo "tests: 0 passed, 1 failed"; exit 2 ;;
  esac
done

export IM_PG_PORT="${IM_TEST_PG_PORT:-55433}"
export IM_PG_DATA="$ROOT/.data/test/pg"
export IM_PG_DATABASES="orleans_im_test"
export IM_REDIS_PORT="${IM_TEST_REDIS_PORT:-56380}"
export IM_REDIS_DATA="$ROOT/.data/test/redis"
export IM_TEST_POSTGRES="Host=127.0.0.1;Port=$IM_PG_PORT;Database=orleans_im_test;Username=postgres;Maximum Pool Size=50"
export IM_TEST_REDIS="127.0.0.1:$IM_REDIS_PORT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

summarized=0
summary() { echo "tests: $1 passed, $2 failed${3:+, $3 skipped}"; summarized=1; }

command -v dotnet >/dev/null 2>&1 || { log "the .NET SDK (dotnet) is not on PATH"; summary 0 1; exit 1; }

# Remember what was already running, so that we stop only what we started.
pg_was_running=0; redis_was_running=0
deploy/local/postgres.sh status >/dev/null 2>&1 && pg_was_running=1
deploy/local/redis.sh status >/dev/null 2>&1 && redis_was_running=1

cleanup() {
  [ "$SERVICES_ONLY" = 1 ] && return 0
  if [ "$redis_was_running" = 0 ]; then deploy/local/redis.sh stop || true; fi
  if [ "$pg_was_running" = 0 ]; then deploy/local/postgres.sh stop || true; fi
}
# Whatever ends the script early (an install that dies inside common.sh, a service that will not start), the log still
# ends with the summary line that CI reads.
on_exit() {
  cleanup
  if [ "$SERVICES_ONLY" = 0 ] && [ "$summarized" = 0 ]; then summary 0 1; fi
}
trap on_exit EXIT

ensure_npm
ensure_chromium
ensure_tmux
ensure_docker_compose
deploy/local/postgres.sh start || { summary 0 1; exit 1; }
deploy/local/redis.sh start || { summary 0 1; exit 1; }
if [ "$SERVICES_ONLY" = 1 ]; then
  log "test services are up: IM_TEST_POSTGRES='$IM_TEST_POSTGRES' IM_TEST_REDIS='$IM_TEST_REDIS'"
  exit 0
fi

log "building (Release)"
if ! dotnet build Orleans.Im.sln -c Release -nologo -clp:ErrorsOnly; then
  log "build failed"
  summary 0 1
  exit 1
fi

RESULTS="$ROOT/.data/test/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
args=(test Orleans.Im.sln -c Release --no-build -nologo --results-directory "$RESULTS" --logger "trx"
      --logger "console;verbosity=normal" --blame-hang-timeout 10m)
[ -n "$FILTER" ] && args+=(--filter "$FILTER")
log "running: dotnet ${args[*]}"
dotnet "${args[@]}"
status=$?

passed=0; failed=0; skipped=0; found=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  found=1
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
if [ "$found" = 0 ] || { [ "$status" != 0 ] && [ "$failed" = 0 ]; } || [ $((passed + failed)) = 0 ]; then
  # The runner failed without recording a failed test (a crash, a hang, no results), or nothing ran (a filter that
  # matches no test exits 0): count it as a failure, so that a typo is not green.
  failed=$((failed + 1))
fi

# Stop the services before the summary, so that the summary is the last line.
cleanup
trap - EXIT
# Name the failed tests last, beside the summary: a CI log is often kept only by its tail, and the runner's report of a
# failure (with its message) can be hundreds of lines above it.
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  awk '/<UnitTestResult / && /outcome="Failed"/ {
         match($0, /testName="[^"]*"/); print "[test.sh] failed: " substr($0, RSTART + 10, RLENGTH - 11); want = 1 }
       want && /<Message>/ { sub(/.*<Message>/, ""); sub(/<\/Message>.*/, ""); print "[test.sh]   " substr($0, 1, 400); want = 0 }' "$trx"
done
if [ "$skipped" -gt 0 ]; then summary "$passed" "$failed" "$skipped"; else summary "$passed" "$failed"; fi
[ "$failed" = 0 ] && [ "$status" = 0 ]
