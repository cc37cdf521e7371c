#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, npm packages, DynamoDB Local) and runs every test.
# Servers the tests need are started by the test fixtures themselves on 127.0.0.1 and stopped by process id.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

tools/setup.sh

echo "== build"
dotnet build Serverless.sln -c Release -nologo -v quiet

echo "== workflows: asl-validator on every workflows/*.asl.json"
tools/check-workflows.sh

echo "== infra: publish the functions, synthesise dev and prod offline, cfn-lint the templates"
tools/publish-functions.sh
tools/check-infra.sh

echo "== tests"
mkdir -p .local/test-results
rm -f .local/test-results/*.trx
status=0
dotnet test Serverless.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory .local/test-results \
  --logger "console;verbosity=normal" -- RunConfiguration.TestSessionTimeout=3000000 || status=$?

tools/test-summary.sh .local/test-results
exit $status
