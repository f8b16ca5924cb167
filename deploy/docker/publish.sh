#!/usr/bin/env bash
# Publishes one host (Silo or EdgeHost) framework-dependent into a folder: the build step of its Dockerfile, and the
# command the test suite runs outside Docker (so the two cannot drift apart).
#   deploy/docker/publish.sh Silo|EdgeHost OUTPUT_DIR [--no-build]
# --no-build reuses an existing Release build of the solution (the test suite's; `dotnet build -c Release` first).
# EdgeHost's build fetches the web page's SignalR client with npm, which must be installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROJECT="${1:?usage: $0 Silo|EdgeHost OUTPUT_DIR [--no-build]}"
OUTPUT="${2:?usage: $0 Silo|EdgeHost OUTPUT_DIR [--no-build]}"
case "$PROJECT" in Silo|EdgeHost) ;; *) echo "unknown project: $PROJECT (Silo or EdgeHost)" >&2; exit 2 ;; esac
extra=()
[ "${3:-}" = "--no-build" ] && extra+=(--no-build)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Framework-dependent, no native launcher: the runtime image runs `dotnet PROJECT.dll`.
exec dotnet publish "$ROOT/$PROJECT/$PROJECT.csproj" -c Release -o "$OUTPUT" -nologo -clp:ErrorsOnly \
  -p:UseAppHost=false "${extra[@]}"
