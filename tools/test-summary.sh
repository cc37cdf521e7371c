#!/usr/bin/env bash
# Prints one closing line over every test project's TRX results: "Tests: N passed, N failed, N skipped".
set -euo pipefail
dir=${1:-.local/test-results}
passed=0; failed=0; skipped=0
shopt -s nullglob
for f in "$dir"/*.trx; do
  line=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line"); passed=$((passed + ${p:-0}))
  x=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line"); failed=$((failed + ${x:-0}))
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$line"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$line")
  skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "Tests: $passed passed, $failed failed, $skipped skipped"
