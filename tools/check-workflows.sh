#!/usr/bin/env bash
# Validates every workflows/*.asl.json with asl-validator (npm): schema, transition targets, terminal states and path
# expressions. A single invalid definition fails the run. No network.
set -euo pipefail
cd "$(dirname "$0")/.."
validator=node_modules/.bin/asl-validator
[ -x "$validator" ] || { echo "check-workflows: $validator missing; run tools/setup.sh (npm ci)" >&2; exit 1; }
shopt -s nullglob
files=(workflows/*.asl.json)
[ ${#files[@]} -gt 0 ] || { echo "check-workflows: no workflows/*.asl.json" >&2; exit 1; }
args=()
for f in "${files[@]}"; do args+=(--json-path "$f"); done
# Task resources are ${NameArn} placeholders that CDK substitutes; asl-validator accepts them as they are (no --no-arn-check).
"$validator" "${args[@]}"
echo "check-workflows: ${#files[@]} definitions valid"
