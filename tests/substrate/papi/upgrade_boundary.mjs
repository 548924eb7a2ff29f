// An unchanged polkadot-api 2.x (pinned in package.json) across a runtime upgrade, without a restart: one client,
// with the descriptors its CLI generated from the node before the upgrade, signs a transfer before the boundary,
// follows the chain past block AT (the first block of the new spec), reads each block's runtime (System.Version
// from the runtime papi holds for the block) and events around the boundary as the blocks arrive, and signs a second
// transfer after it. Prints one JSON line of findings; tests/substrate/test_upgrade_boundary_clients.py asserts them.
// Usage: node [--experimental-websocket] upgrade_boundary.mjs ws://127.0.0.1:PORT DESCRIPTORS_INDEX_JS AT SIGNER_PATH
import { pathToFileURL } from "node:url";
import { json, runHarness, scale } from "./run_harness.mjs";
import { createClient } from "polkadot-api";
import { getWsProvider } from "polkadot-api/ws";
import { getPolkadotSigner } from "polkadot-api/signer";
import { ed25519CreateDerive, withNetworkAccount } from "@polkadot-labs/hdkd";
import { DEV_PHRASE, entropyToMiniSecret, mnemonicToEntropy } from "@polkadot-labs/hdkd-helpers";

const [url, descriptorsPath, atArg, signerPath] = process.argv.slice(2);
const AT = Number(atArg);
const out = { warnings: [], steps: [], blocks: {} };
const { finish, fail, withTimeout } = runHarness(out);

// resolves once `predicate()` holds, checked every 100 ms; `seconds` is a guard against a hang, not a measure
async function until(predicate, seconds, what) {
  const deadline = Date.now() + seconds * 1000 * scale;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds * scale} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function step(name) {
  out.steps.push(name);
}

// sign (with the runtime papi holds for the block the transaction is built at), submit, and watch to inclusion
function transfer(tx, signer, options, what) {
  const statuses = [];
  return withTimeout(new Promise((resolve, reject) => {
    tx.signSubmitAndWatch(signer, options).subscribe({
      next: (ev) => {
        statuses.push(ev.type);
        if ((ev.type === "txBestBlocksState" && ev.found) || ev.type === "finalized") {
          resolve({ statuses, txHash: ev.txHash, ok: ev.ok, block: ev.block,
            events: (ev.events || []).map((e) => `${e.type}.${e.value.type}`),
            dispatchError: ev.dispatchError ? json(ev.dispatchError) : undefined });
        }
      },
      error: (e) => reject(new Error(`${what}: ${e && e.message ? e.message : e} (statuses: ${statuses.join(", ") || "none"})`)),
    });
  }), 90, what);
}

async function main() {
  step("import the generated descriptors");
  const { btt, MultiAddress } = await import(pathToFileURL(descriptorsPath).href);

  step("connect (createClient(getWsProvider(url)))");
  const client = createClient(getWsProvider(url));
  const api = client.getTypedApi(btt);
  await withTimeout(client.getFinalizedBlock(), 60, "client.getFinalizedBlock()");

  const miniSecret = entropyToMiniSecret(mnemonicToEntropy(DEV_PHRASE));
  const keys = withNetworkAccount(ed25519CreateDerive(miniSecret)(signerPath));
  const signer = getPolkadotSigner(keys.publicKey, "Ed25519", keys.sign);
  const bob = withNetworkAccount(ed25519CreateDerive(miniSecret)("//Bob")).ss58Address;
  out.signer = keys.ss58Address;

  // every block papi learns of from here on: whether it carries a new runtime; for the blocks around the boundary,
  // read at once (while papi holds them) the spec of the runtime papi holds for the block and the block's events
  const reads = [];
  let best = 0;
  client.blocks$.subscribe((block) => {
    best = Math.max(best, block.number);
    if (block.number < AT - 3) return;
    const seen = { hash: block.hash, hasNewRuntime: block.hasNewRuntime };
    out.blocks[block.number] = seen;
    if (block.number > AT + 1) return;
    reads.push((async () => {
      const at = { at: block.hash };
      seen.spec = (await api.constants.System.Version(at)).spec_version;
      seen.events = (await api.query.System.Events.getValue(at)).map((e) => ({
        name: `${e.event.type}.${e.event.value.type}`,
        phase: e.phase.type === "ApplyExtrinsic" ? e.phase.value : e.phase.type }));
    })().catch((e) => { seen.error = String((e && e.stack) || e); }));
  });

  step("a transfer before the boundary (Balances.transfer_keep_alive)");
  out.before = await transfer(api.tx.Balances.transfer_keep_alive({ dest: MultiAddress.Id(bob), value: 10n ** 18n }),
    signer, {}, "the transfer before the boundary");

  step(`follow the chain past block #${AT}`);
  await until(() => best >= AT + 1, 180, `block #${AT + 1}`);
  await withTimeout(Promise.all(reads), 60, "the reads of the blocks around the boundary");

  // papi builds a transaction at the finalized block unless told otherwise; just after the boundary that block still
  // runs spec 11 (its signature would be for spec 11, refused by spec 12's blocks, on any Substrate chain until
  // finality catches up), so it is built at the best block, as a wallet that sends before finality does
  step("a transfer after the boundary, by the same client, built at the best block");
  const [head] = await client.getBestBlocks();
  out.afterBuiltAt = head;
  out.specAtBuild = (await api.constants.System.Version({ at: head.hash })).spec_version;
  out.after = await transfer(api.tx.Balances.transfer_keep_alive({ dest: MultiAddress.Id(bob), value: 2n * 10n ** 18n }),
    signer, { at: head.hash }, "the transfer after the boundary");
  client.destroy();
}

main().then(() => finish(0)).catch(fail);
