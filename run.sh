#!/usr/bin/env bash
# Runs the whole gateway on one machine with its embedded defaults on http://127.0.0.1:8080, with a local EVM dev chain:
# Hardhat 2.29.1 on 127.0.0.1 (chain id 31337) with the test USDT deployed, and the gateway configured to watch it.
# MOLLY_DEVCHAIN=0 skips the dev chain; MOLLY_DEVCHAIN_PORT picks its port (default 8545, or a free one if taken).
# Arguments go to the Api (e.g. --urls).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "${MOLLY_DEVCHAIN:-1}" = "0" ]; then
  exec dotnet run --project functions/Api -c Release -- --urls http://127.0.0.1:8080 "$@"
fi

bash tools/setup.sh

state=.local/devchain
mkdir -p "$state"
pidfile="$state/hardhat.pid"
# A dev chain left over by a run that was killed hard: stop it by its recorded pid (only if it is our hardhat node).
if [ -f "$pidfile" ]; then
  old="$(cat "$pidfile")"
  if [ -n "$old" ] && grep -q "hardhat" "/proc/$old/cmdline" 2>/dev/null; then kill "$old" 2>/dev/null || true; fi
  rm -f "$pidfile"
fi

port="${MOLLY_DEVCHAIN_PORT:-8545}"
port="$(node -e '
  const net = require("net"); const want = Number(process.argv[1]);
  const probe = (p) => new Promise((ok) => { const s = net.createServer().once("error", () => ok(false))
    .once("listening", () => s.close(() => ok(true))).listen(p, "127.0.0.1"); });
  (async () => { if (await probe(want)) return console.log(want);
    const s = net.createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); }); })();
' "$port")"
rpc="http://127.0.0.1:$port"

node --require ./tools/devchain/exit-with-parent.cjs node_modules/hardhat/internal/cli/cli.js node --hostname 127.0.0.1 --port "$port" \
  --config tools/devchain/hardhat.config.js > "$state/hardhat.log" 2>&1 &
hardhat_pid=$!
echo "$hardhat_pid" > "$pidfile"
stop_devchain() {
  kill "$hardhat_pid" 2>/dev/null || true
  wait "$hardhat_pid" 2>/dev/null || true
  rm -f "$pidfile"
}
trap stop_devchain EXIT
trap 'exit 130' INT TERM

echo "== dev chain: Hardhat on $rpc (pid $hardhat_pid, log $state/hardhat.log)"
node -e '
  const url = process.argv[1]; const deadline = Date.now() + 90000;
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
  (async function poll() {
    try { const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body }); if (r.ok) return; } catch {}
    if (Date.now() > deadline) { console.error("Hardhat did not answer within 90 s"); process.exit(1); }
    setTimeout(poll, 200);
  })();
' "$rpc"

molly=(dotnet run --project tools/Cli -c Release --)
"${molly[@]}" devchain up --rpc "$rpc" | tee "$state/devchain.txt"

# The gateway watches the dev chain (EvmWatcherOptions) and accepts local-network assets next to mainnet's other chains.
export Molly__Evm__Chains__0__Chain=ethereum
export Molly__Evm__Chains__0__Network=local
export Molly__Evm__Chains__0__Endpoints__0="$rpc"
export Molly__Evm__Chains__0__PollIntervalMs=1000
export Molly__Evm__Chains__0__MaxBlocksPerPass=500
export Molly__Payments__Networks__0=local
# The dev chain mines a block only when asked (a transaction, or `devchain mine`), so deposit-confirm's wait between
# confirmation checks is 1 s here instead of Ethereum's 12 s block time: a payment is paid about 1 s after its last block.
export Molly__Settlement__BlockTimeSeconds__ethereum=1

cat <<TXT

== Pay a payment from the dev chain
Create a payment on http://127.0.0.1:8080 (POST /v1/payments, asset USDT or ETH on chain ethereum), then pay its deposit address:
  ${molly[*]} devchain pay --rpc $rpc --to <deposit address> --amount 12.5 --asset USDT
The payment becomes confirming (detected, 1 confirmation). The local network needs 2 confirmations (assets.json): mine one more block
  ${molly[*]} devchain mine --rpc $rpc --blocks 1
and about a second later it is paid, the merchant's ledger balance credited (net of the fee, if one is set). See it (signed GET, README "Signed requests"):
TXT
cat <<'TXT'
  ts=$(date +%s); path=/v1/payments/<payment id>; bh=$(printf '' | sha256sum | cut -d' ' -f1)
  sig=$(printf '%s\n%s\n%s\n%s' "$ts" GET "$path" "$bh" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/.* //')
  curl -s http://127.0.0.1:8080$path -H "Molly-Key-Id: $KEY_ID" -H "Molly-Timestamp: $ts" -H "Molly-Signature: $sig"   # "status":"paid"
TXT
cat <<TXT
A wallet (e.g. MetaMask) can also connect: RPC $rpc, chain id 31337, and import the key above (a public test key).

TXT

dotnet run --project functions/Api -c Release -- --urls http://127.0.0.1:8080 "$@"
