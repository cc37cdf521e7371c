#!/usr/bin/env bash
# Installs what the tests and the local run need. Idempotent: a second run does nothing it need not do.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

for s in tools/setup.d/*.sh; do
  [ -e "$s" ] || continue
  echo "== $(basename "$s")"
  bash "$s"
done
