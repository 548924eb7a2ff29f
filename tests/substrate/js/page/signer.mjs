// A stand-in browser wallet for the test: it injects itself as every Substrate wallet does
// (window.injectedWeb3[name].enable() -> {accounts, signer}) and signs with ed25519 dev keys
// (//Alice, //Bob). The page talks to it only through @polkadot/extension-dapp.
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { TypeRegistry } from "@polkadot/types";

const ready = cryptoWaitReady().then(() => {
  const keyring = new Keyring({ type: "ed25519", ss58Format: 42 });
  return [keyring.addFromUri("//Alice", { name: "alice" }), keyring.addFromUri("//Bob", { name: "bob" })];
});
let nextId = 0;
window.signedPayloads = [];

window.injectedWeb3 = window.injectedWeb3 || {};
window.injectedWeb3["btt-test-signer"] = {
  version: "1.0.0",
  enable: async () => {
    const pairs = await ready;
    const list = pairs.map((p) => ({ address: p.address, name: p.meta.name, type: "ed25519" }));
    return {
      accounts: { get: async () => list, subscribe: (cb) => { cb(list); return () => {}; } },
      signer: {
        signPayload: async (payload) => {
          const pair = pairs.find((p) => p.address === payload.address);
          const registry = new TypeRegistry();
          registry.setSignedExtensions(payload.signedExtensions);
          const extrinsicPayload = registry.createType("ExtrinsicPayload", payload, { version: payload.version });
          const { signature } = extrinsicPayload.sign(pair);
          window.signedPayloads.push(payload);
          return { id: ++nextId, signature };
        },
      },
    };
  },
};
