// Hardhat 2.29.1 dev chain for Molly: `hardhat node --hostname 127.0.0.1 --port N` with this config.
// Chain id 31337 and Hardhat's default accounts (mnemonic "test test ... junk", 10000 ETH each): public test keys only.
// Contracts are NOT compiled by Hardhat (`hardhat node` compiles its sources first, which would download a compiler):
// its sources folder is an empty one; tools/devchain/compile.cjs compiles contracts/ with solc-js from npm instead.
module.exports = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
      initialBaseFeePerGas: 1000000000,
      mining: { auto: true, interval: 0 },
    },
  },
  paths: {
    sources: "../../.local/devchain/hardhat-sources",
    cache: "../../.local/devchain/hardhat-cache",
    artifacts: "../../.local/devchain/hardhat-artifacts",
  },
};
