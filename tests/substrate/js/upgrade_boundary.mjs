// An unchanged @polkadot/api (pinned in package.json) across a runtime upgrade, without a restart: one ApiPromise,
// connected before the boundary and subscribed to the runtime version and new heads, signs a transfer before the
// upgrade, follows the chain past block AT (the first block of the new spec), decodes the events of the blocks
// around it (each with the runtime at its parent, as polkadot.js does) and signs a second transfer after it.
// Prints one JSON line of findings; tests/substrate/test_upgrade_boundary_clients.py asserts them.
// Usage: node upgrade_boundary.mjs ws://127.0.0.1:PORT AT SIGNER_URI
import { Keyring } from "@polkadot/api";
import { collectWarnings, connect, withTimeout } from "./common.mjs";

const [url, atArg, signerUri] = process.argv.slice(2);
const AT = Number(atArg);
const scale = Number(process.env.BTT_TEST_TIMEOUT_SCALE || "1") || 1;
const warnings = collectWarnings();
const out = { warnings, steps: [], notes: [], heads: {} };

function step(name) { out.steps.push(name); }

// resolves once `predicate()` holds, checked every 100 ms: the client's own state (its heads, its runtime) moves on
// its own; `seconds` is a guard against a hang, not a measure
async function until(predicate, seconds, what) {
  const deadline = Date.now() + seconds * 1000 * scale;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds * scale} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// sign with the api's current runtime, submit and watch to inclusion
async function transfer(api, signer, dest, value, what) {
  const specAtSigning = api.runtimeVersion.specVersion.toNumber();
  const result = await withTimeout(new Promise((resolve, reject) => {
    api.tx.balances.transferKeepAlive(dest, value).signAndSend(signer, (res) => {
      if (res.dispatchError) resolve({ error: res.dispatchError.toString() });
      if (res.status.isInBlock) {
        resolve({ blockHash: res.status.asInBlock.toHex(), txHash: res.txHash.toHex(),
          events: res.events.map(({ event }) => `${event.section}.${event.method}`),
          success: res.events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)) });
      }
    }).catch(reject);
  }), 90000 * scale, what);
  if (result.blockHash) {
    result.blockNumber = (await api.rpc.chain.getHeader(result.blockHash)).number.toNumber();
  }
  return { ...result, specAtSigning };
}

// a block's events as polkadot.js decodes them (api.at: the metadata of the runtime at the block's parent)
async function eventsOf(api, number) {
  const hash = await api.rpc.chain.getBlockHash(number);
  const apiAt = await api.at(hash);
  const records = await apiAt.query.system.events();
  return { number, hash: hash.toHex(), decodedWithSpec: apiAt.runtimeVersion.specVersion.toNumber(),
    events: records.map(({ phase, event }) => ({ name: `${event.section}.${event.method}`,
      phase: phase.isApplyExtrinsic ? phase.asApplyExtrinsic.toNumber() : phase.type,
      data: event.data.toJSON() })) };
}

async function main() {
  step("connect");
  const api = await connect(url);
  out.specAtStart = api.runtimeVersion.specVersion.toNumber();
  const keyring = new Keyring({ type: "ed25519", ss58Format: api.registry.chainSS58 });
  const signer = keyring.addFromUri(signerUri);
  const dest = keyring.addFromUri("//Bob").address;

  step("subscribe to the runtime version and to new heads");
  let head = 0;
  await api.rpc.state.subscribeRuntimeVersion((v) => {
    out.notes.push({ kind: "version", spec: v.specVersion.toNumber(), afterHead: head });
  });
  await api.rpc.chain.subscribeNewHeads((h) => {
    head = h.number.toNumber();
    out.notes.push({ kind: "head", number: head });
    // around the boundary: the hash polkadot.js computes from the header it decoded, and the header's digest items
    if (head >= AT - 2 && head <= AT) out.heads[head] = { hash: h.hash.toHex(), logs: h.digest.logs.map((l) => l.type) };
  });

  step("a transfer before the boundary");
  out.before = await transfer(api, signer, dest, 10n ** 18n, "the transfer before the boundary included");

  step(`follow the chain past block #${AT}`);
  await until(() => head >= AT + 1, 180, `head #${AT + 1}`);
  // the ApiPromise updates its own runtime (metadata, registry) when the version subscription announces the new one
  await until(() => api.runtimeVersion.specVersion.toNumber() !== out.specAtStart, 30,
    "the ApiPromise's runtime updated");
  out.specAfter = api.runtimeVersion.specVersion.toNumber();
  out.constsVersionAfter = api.consts.system.version.specVersion.toNumber();

  step("the runtime version at blocks around the boundary");
  out.versionAt = {};
  for (const n of [AT - 2, AT - 1, AT]) {
    const hash = await api.rpc.chain.getBlockHash(n);
    out.versionAt[n] = (await api.rpc.state.getRuntimeVersion(hash)).specVersion.toNumber();
  }

  step("decode the events of the blocks around the boundary");
  out.blocks = [];
  for (const n of [out.before.blockNumber, AT - 1, AT, AT + 1]) out.blocks.push(await eventsOf(api, n));

  step("a transfer after the boundary, by the same ApiPromise");
  out.after = await transfer(api, signer, dest, 2n * 10n ** 18n, "the transfer after the boundary included");
  out.afterBlock = await eventsOf(api, out.after.blockNumber);
  await api.disconnect();
}

main().then(() => { console.log(JSON.stringify(out)); process.exit(0); })
  .catch((e) => { out.failure = String(e && e.stack || e); console.log(JSON.stringify(out)); process.exit(1); });
