#!/usr/bin/env bash
# Offline synth of every environment's stack and CloudFormation lint of every template. No network, no AWS credentials.
# Functions whose publish folder (.local/publish/<Project>) is absent are synthesised from infra-cdk/placeholder-code
# (explicitly allowed here with -c allowPlaceholderCode=true; the synth prints a PLACEHOLDER CODE warning for each).
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_VERSION_CHECK=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# No credentials and no region lookups: the stacks are environment-agnostic.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true

[ -x node_modules/.bin/cdk ] || { echo "check-infra: node_modules missing; run tools/setup.sh (npm ci)" >&2; exit 1; }

out=.local/cdk.out
rm -rf "$out"
# Build once; each synth then runs the built app without rebuilding.
dotnet build infra-cdk/Molly.Infra.csproj -c Release -nologo -v quiet
app="dotnet run --no-build -c Release --project infra-cdk/Molly.Infra.csproj"
templates=()
for env in dev prod; do
  echo "== cdk synth ($env)"
  node_modules/.bin/cdk synth --all --app "$app" -c env="$env" -c allowPlaceholderCode=true \
    --no-notices --no-version-reporting --no-path-metadata --no-asset-metadata --no-lookups -q -o "$out/$env"
  for t in "$out/$env"/*.template.json; do templates+=("$t"); done
done
[ ${#templates[@]} -ge 2 ] || { echo "check-infra: expected a template per environment, found ${#templates[@]}" >&2; exit 1; }
echo "== cfn-lint (${#templates[@]} templates)"
node tools/cfn-lint.cjs "${templates[@]}"
echo "check-infra: OK"
