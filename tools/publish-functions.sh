#!/usr/bin/env bash
# Publishes every function project for Lambda (framework-dependent, no RID: the managed dotnet10 runtime on arm64 runs it)
# to .local/publish/<Project>, the folders the CDK app packages. Run before `cdk synth`/`cdk deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."
for proj in functions/*/; do
  name=$(basename "$proj")
  [ -f "$proj/$name.csproj" ] || [ -n "$(ls "$proj"/*.csproj 2>/dev/null)" ] || continue
  out=.local/publish/$name
  rm -rf "$out"
  # GenerateRuntimeConfigurationFiles: a class library gets its <Assembly>.runtimeconfig.json, which the managed runtime
  # reads to load the shared frameworks the function references (Microsoft.AspNetCore.App for configuration and logging).
  dotnet publish "$proj" -c Release -o "$out" -nologo -v quiet -p:GenerateRuntimeConfigurationFiles=true
  if [ "$name" = "Api" ]; then
    # Entry point the Lambda Web Adapter starts (handler run.sh; AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap).
    printf '#!/bin/sh\nexec dotnet Molly.Api.dll\n' > "$out/run.sh"
    chmod +x "$out/run.sh"
  fi
  echo "published $name -> $out"
done
