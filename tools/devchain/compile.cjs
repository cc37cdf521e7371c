#!/usr/bin/env node
// Compiles tools/devchain/contracts/*.sol offline with solc-js from node_modules (no compiler download) and writes
// <Name>.json ({ abi, bytecode, deployedBytecode, compiler, evmVersion }) into .local/devchain/ (untracked).
// Usage: node tools/devchain/compile.cjs [outDir]
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

// Hardhat 2.29.1 runs cancun by default; solc 0.8.28 defaults to cancun too, but say it so a solc bump cannot drift.
const EVM_VERSION = "cancun";
const root = path.resolve(__dirname, "..", "..");
const contractsDir = path.join(__dirname, "contracts");
const outDir = path.resolve(process.argv[2] || path.join(root, ".local", "devchain"));

const sources = {};
for (const file of fs.readdirSync(contractsDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(contractsDir, file), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    // No metadata hash: the bytecode depends only on the source, so the deployment is reproducible byte for byte.
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: `solc-js ${solc.version()}`,
      evmVersion: EVM_VERSION,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    const target = path.join(outDir, `${name}.json`);
    fs.writeFileSync(target + ".tmp", JSON.stringify(artifact, null, 2) + "\n");
    fs.renameSync(target + ".tmp", target);
    console.log(`${name}: ${(c.evm.bytecode.object.length / 2) | 0} bytes of init code -> ${path.relative(root, target)}`);
  }
}
