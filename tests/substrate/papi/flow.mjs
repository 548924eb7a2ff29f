// An unchanged polkadot-api 2.x (pinned in package.json) against a btt-chain dev node, with the descriptors its own
// CLI generated from that node (`papi add btt -w ws://...`, run by tests/substrate/test_polkadot_api.py):
// connect through its WebSocket provider (which rebuilds the new JSON-RPC spec from a legacy node's calls), read
// System.Account of ed25519 //Alice, fund sr25519 //Alice from it, spend from sr25519 //Alice, and see both
// transfers finalized. Signers are made as polkadot-api's docs make them (@polkadot-labs/hdkd + getPolkadotSigner).
// Prints one JSON line of findings; the test asserts them.
// Usage: node [--experimental-websocket] flow.mjs ws://127.0.0.1:PORT /path/to/.papi/descriptors/dist/index.js
import { pathToFileURL } from "node:url";
import { runHarness } from "./run_harness.mjs";
import { createClient } from "polkadot-api";
import { getWsProvider } from "polkadot-api/ws";
import { getPolkadotSigner } from "polkadot-api/signer";
import { ed25519CreateDerive, sr25519CreateDerive, withNetworkAccount } from "@polkadot-labs/hdkd";
import { DEV_PHRASE, entropyToMiniSecret, mnemonicToEntropy } from "@polkadot-labs/hdkd-helpers";

const [url, descriptorsPath] = process.argv.slice(2);
const out = { warnings: [], steps: [] };
const { finish, fail, withTimeout } = runHarness(out);

function step(name) {
  out.steps.push(name);
}

// sign, submit and watch: resolves when the extrinsic is first found in a best block (`inBlock`) and when it is
// finalized (`finalized`), with its events as `Pallet.Event`
function watch(tx, signer, options, what) {
  const statuses = [];
  let resolveInBlock;
  let rejectInBlock;
  const inBlock = new Promise((resolve, reject) => { resolveInBlock = resolve; rejectInBlock = reject; });
  const finalized = new Promise((resolve, reject) => {
    tx.signSubmitAndWatch(signer, options).subscribe({
      next: (ev) => {
        statuses.push(ev.type + (ev.type === "txBestBlocksState" ? `(${ev.found ? "found" : "not found"})` : ""));
        const found = { statuses, txHash: ev.txHash, ok: ev.ok, block: ev.block,
          events: (ev.events || []).map((e) => `${e.type}.${e.value.type}`),
          dispatchError: ev.dispatchError ? JSON.stringify(ev.dispatchError, (_, v) => (typeof v === "bigint" ? v.toString() : v)) : undefined };
        if (ev.type === "txBestBlocksState" && ev.found) resolveInBlock(found);
        if (ev.type === "finalized") { resolveInBlock(found); resolve(found); }
      },
      error: (e) => {
        const err = new Error(`${what}: ${e && e.message ? e.message : e} (statuses: ${statuses.join(", ") || "none"})`
          + (e && e.stack ? `\n  caused by: ${e.stack}` : ""));
        rejectInBlock(err);
        reject(err);
      },
    });
  });
  // each is awaited later or not at all: marked handled here, so that a rejection is not an unhandled one first
  inBlock.catch(() => {});
  finalized.catch(() => {});
  return { inBlock, finalized };
}

async function main() {
  step("import the generated descriptors");
  const { btt, MultiAddress } = await import(pathToFileURL(descriptorsPath).href);

  step("connect (createClient(getWsProvider(url)))");
  const client = createClient(getWsProvider(url));
  const api = client.getTypedApi(btt);
  const spec = await withTimeout(client.getChainSpecData(), 60, "client.getChainSpecData()");
  out.chain = spec.name;
  out.genesisHash = spec.genesisHash;
  const finalizedBlock = await withTimeout(client.getFinalizedBlock(), 60, "client.getFinalizedBlock()");
  out.finalizedAtStart = finalizedBlock.number;

  step("make the signers (hdkd + getPolkadotSigner)");
  const miniSecret = entropyToMiniSecret(mnemonicToEntropy(DEV_PHRASE));
  const edKeys = withNetworkAccount(ed25519CreateDerive(miniSecret)("//Alice"));
  const srKeys = withNetworkAccount(sr25519CreateDerive(miniSecret)("//Alice"));
  const bobKeys = withNetworkAccount(ed25519CreateDerive(miniSecret)("//Bob"));
  const edAlice = getPolkadotSigner(edKeys.publicKey, "Ed25519", edKeys.sign);
  const srAlice = getPolkadotSigner(srKeys.publicKey, "Sr25519", srKeys.sign);
  out.edAlice = edKeys.ss58Address;
  out.srAlice = srKeys.ss58Address;
  out.bob = bobKeys.ss58Address;

  step("read System.Account of ed25519 //Alice");
  const account = await withTimeout(api.query.System.Account.getValue(out.edAlice), 60, "System.Account");
  out.aliceAccount = { nonce: account.nonce, free: account.data.free, reserved: account.data.reserved,
    frozen: account.data.frozen };
  out.bttAccount = await withTimeout(client._request("btt_account", [out.edAlice]), 60, "btt_account");
  out.existentialDeposit = await withTimeout(api.constants.Balances.ExistentialDeposit(), 60, "ExistentialDeposit");

  const srBefore = (await api.query.System.Account.getValue(out.srAlice)).data.free;
  const bobBefore = (await api.query.System.Account.getValue(out.bob)).data.free;
  out.srAliceFreeBefore = srBefore;
  const fund = 100n * 10n ** 18n;
  const spend = 10n ** 18n;

  step("ed25519 //Alice funds sr25519 //Alice (Balances.transfer_keep_alive)");
  const funding = watch(
    api.tx.Balances.transfer_keep_alive({ dest: MultiAddress.Id(out.srAlice), value: fund }), edAlice, {},
    "the ed25519-signed transfer");
  const fundedIn = await withTimeout(funding.inBlock, 90, "the ed25519-signed transfer in a best block");
  out.fundingInBlock = fundedIn.block;
  if (!fundedIn.ok) throw new Error(`the ed25519-signed transfer failed in block ${fundedIn.block.number}: ${fundedIn.dispatchError}`);

  step("sr25519 //Alice spends (Balances.transfer_keep_alive, built at the funding's block)");
  const spending = watch(
    api.tx.Balances.transfer_keep_alive({ dest: MultiAddress.Id(out.bob), value: spend }), srAlice,
    { at: fundedIn.block.hash }, "the sr25519-signed transfer");

  step("both transfers finalized");
  out.funding = await withTimeout(funding.finalized, 180, "the ed25519-signed transfer finalized");
  out.spending = await withTimeout(spending.finalized, 180, "the sr25519-signed transfer finalized");

  step("read the balances at the finalized block");
  const srAfter = await api.query.System.Account.getValue(out.srAlice, { at: out.spending.block.hash });
  out.srAliceFreeAfter = srAfter.data.free;
  out.srAliceNonceAfter = srAfter.nonce;
  out.srAliceGained = srAfter.data.free - srBefore; // the funding, less the spend and its fee
  out.bobGained = (await api.query.System.Account.getValue(out.bob, { at: out.spending.block.hash })).data.free - bobBefore;
  out.fund = fund;
  out.spend = spend;
  client.destroy();
}

main().then(() => finish(0)).catch(fail);
