#!/usr/bin/env bash
# Compiles the dev chain's test ERC-20 (tools/devchain/contracts) offline with solc-js from node_modules into
# .local/devchain/ (untracked). Hardhat itself comes from npm ci (tools/setup.sh). Idempotent: skips when the stamp
# (hash of the sources, the compile script and the solc version) matches.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=.local/devchain
STAMP="$OUT/.compiled"
[ -f node_modules/solc/package.json ] || { echo "node_modules/solc is missing: run npm ci (tools/setup.sh does)" >&2; exit 1; }
want="$(cat tools/devchain/contracts/*.sol tools/devchain/compile.cjs node_modules/solc/package.json | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$OUT/TestUsd.json" ]; then
  echo "dev chain contracts already compiled in $OUT"
  exit 0
fi
node tools/devchain/compile.cjs "$OUT"
echo "$want" > "$STAMP"
