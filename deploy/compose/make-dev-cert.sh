#!/usr/bin/env bash
# A self-signed certificate for the compose nginx (development only): deploy/compose/tls/tls.crt and tls.key.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tls"
mkdir -p "$DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${1:-localhost}" \
  -addext "subjectAltName=DNS:${1:-localhost}" -keyout "$DIR/tls.key" -out "$DIR/tls.crt"
chmod 600 "$DIR/tls.key"
echo "wrote $DIR/tls.crt and tls.key"
