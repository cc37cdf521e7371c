// Preloaded into the Hardhat node (node -r): exit when the process that started it is gone (a test host killed without
// running its exit handlers, a run.sh killed hard), so no dev chain outlives its owner.
"use strict";
const parent = process.ppid;
setInterval(() => {
  let alive = process.ppid === parent;
  if (alive) {
    try { process.kill(parent, 0); } catch { alive = false; }
  }
  if (!alive) process.exit(0);
}, 1000).unref();
