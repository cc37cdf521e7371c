#!/usr/bin/env bash
# Runs the whole gateway on one machine with its embedded defaults on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run --project functions/Api -c Release -- --urls http://127.0.0.1:8080 "$@"
