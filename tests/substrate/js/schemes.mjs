// sr25519 and ECDSA accounts as the unchanged @polkadot/keyring makes them (sr25519: the type polkadot.js Apps and the
// extension use), against a btt-chain dev node: ed25519 //Alice funds sr25519 //Alice and ecdsa //Alice, each then
// spends to ed25519 //Bob, every transfer finalized, and tx.paymentInfo answers for an sr25519-signed transfer.
// Prints one JSON line of findings; tests/substrate/test_polkadot_js_schemes.py asserts them.
// Usage: node schemes.mjs ws://127.0.0.1:PORT
import { Keyring } from "@polkadot/api";
import { connect, withTimeout } from "./common.mjs";

const url = process.argv[2];
const out = {};
const UNIT = 10n ** 18n;

// sign, send and follow one transfer to finality: its block, its events, and whether it succeeded
function finalized(api, tx, signer, what) {
  return withTimeout(new Promise((resolve, reject) => {
    tx.signAndSend(signer, (res) => {
      if (res.dispatchError) { resolve({ error: res.dispatchError.toString() }); }
      if (res.isError) { resolve({ error: `status ${res.status.type}` }); }
      if (res.status.isFinalized) {
        resolve({ blockHash: res.status.asFinalized.toHex(), hash: tx.hash.toHex(),
          events: res.events.map(({ event }) => `${event.section}.${event.method}`),
          success: res.events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)) });
      }
    }).catch(reject);
  }), 180000, what);
}

async function free(api, address) {
  return (await api.query.system.account(address)).data.free.toBigInt();
}

async function main() {
  const api = await connect(url);
  const ss58Format = api.registry.chainSS58;
  const alice = new Keyring({ type: "ed25519", ss58Format }).addFromUri("//Alice");
  const bob = new Keyring({ type: "ed25519", ss58Format }).addFromUri("//Bob");
  const signers = {
    sr25519: new Keyring({ type: "sr25519", ss58Format }).addFromUri("//Alice"),
    ecdsa: new Keyring({ type: "ecdsa", ss58Format }).addFromUri("//Alice"),
  };
  out.addresses = Object.fromEntries(Object.entries(signers).map(([k, p]) => [k, p.address]));

  out.funding = {};
  for (const [scheme, pair] of Object.entries(signers)) {
    out.funding[scheme] = await finalized(api, api.tx.balances.transferKeepAlive(pair.address, 10n * UNIT), alice,
      `funding ${scheme}`);
  }

  const info = await api.tx.balances.transferKeepAlive(bob.address, UNIT).paymentInfo(signers.sr25519);
  out.paymentInfo = { partialFee: info.partialFee.toString(), class: info.class.toString(),
    refTime: info.weight.refTime.toString() };

  out.spending = {};
  for (const [scheme, pair] of Object.entries(signers)) {
    const before = { self: await free(api, pair.address), bob: await free(api, bob.address) };
    const result = await finalized(api, api.tx.balances.transferKeepAlive(bob.address, UNIT), pair,
      `spending ${scheme}`);
    result.bobGained = ((await free(api, bob.address)) - before.bob).toString();
    result.spent = (before.self - (await free(api, pair.address))).toString();
    out.spending[scheme] = result;
  }
  await api.disconnect();
}

main().then(() => { console.log(JSON.stringify(out)); process.exit(0); })
  .catch((e) => { out.failure = String(e && e.stack || e); console.log(JSON.stringify(out)); process.exit(1); });
