// An unchanged @polkadot/api (pinned in package.json) sending what every Substrate wallet and exchange sends: a
// utility.batch of transfers (batch payouts) and a proxy call (a hot key acting for a cold account), each to
// inclusion, with the events it decodes from the node's metadata. Prints one JSON line of findings.
// Usage: node batch_proxy.mjs ws://127.0.0.1:PORT
import { Keyring } from "@polkadot/api";
import { collectWarnings, connect, withTimeout } from "./common.mjs";

const url = process.argv[2];
const warnings = collectWarnings();
const out = { warnings };

// `tx` signed by `signer` and sent; resolves at inclusion with its events, readable
function included(api, tx, signer, what) {
  return withTimeout(new Promise((resolve, reject) => {
    tx.signAndSend(signer, (res) => {
      if (res.status.isInBlock) {
        resolve({
          blockHash: res.status.asInBlock.toHex(),
          dispatchError: res.dispatchError ? describe(api, res.dispatchError) : null,
          events: res.events.map(({ event }) => ({ name: `${event.section}.${event.method}`, data: event.data.toJSON(),
            error: errorOf(api, event) })),
        });
      }
    }).catch(reject);
  }), 120000, what);
}

// a DispatchError as `section.Name`, as wallets show it (findMetaError reads the metadata's error enums)
function describe(api, err) {
  if (err.isModule) {
    const found = api.registry.findMetaError(err.asModule);
    return `${found.section}.${found.name}`;
  }
  return err.toString();
}

// the error an event carries (BatchInterrupted, ItemFailed, ProxyExecuted's Err), readable; null if none
function errorOf(api, event) {
  const data = event.data;
  if (api.events.utility.BatchInterrupted.is(event)) return describe(api, data.error);
  if (api.events.utility.ItemFailed.is(event)) return describe(api, data.error);
  if (api.events.proxy.ProxyExecuted.is(event) && data.result.isErr) return describe(api, data.result.asErr);
  return null;
}

async function free(api, who) { return (await api.query.system.account(who)).data.free.toBigInt(); }

async function main() {
  const api = await connect(url);
  out.specVersion = api.runtimeVersion.specVersion.toNumber();
  out.hasUtility = typeof api.tx.utility?.batch === "function" && typeof api.tx.utility?.batchAll === "function"
    && typeof api.tx.utility?.forceBatch === "function";
  out.hasProxy = typeof api.tx.proxy?.proxy === "function" && typeof api.tx.proxy?.addProxy === "function";
  const keyring = new Keyring({ type: "ed25519", ss58Format: api.registry.chainSS58 });
  const [alice, bob, charlie] = ["//Alice", "//Bob", "//Charlie"].map((u) => keyring.addFromUri(u));
  const dave = keyring.addFromUri("//Dave").address;
  out.addresses = { bob: bob.address, charlie: charlie.address };
  const unit = 10n ** 18n;

  // batch payouts: two transfers in one extrinsic, one fee
  const payouts = api.tx.utility.batch([
    api.tx.balances.transferKeepAlive(dave, unit), api.tx.balances.transferKeepAlive(charlie.address, 2n * unit)]);
  out.batchQuote = (await payouts.paymentInfo(alice)).partialFee.toString();
  const daveBefore = await free(api, dave);
  const charlieBefore = await free(api, charlie.address);
  out.batch = await included(api, payouts, alice, "the batch included");
  out.batchGains = [(await free(api, dave)) - daveBefore, (await free(api, charlie.address)) - charlieBefore]
    .map(String);

  // a batch whose second transfer fails (to its own sender: the pool cannot see that one coming, as it sees a
  // batch spending more than the balance, which it refuses): interrupted there, the first one kept
  out.interrupted = await included(api, api.tx.utility.batch([
    api.tx.balances.transferKeepAlive(dave, unit), api.tx.balances.transferKeepAlive(bob.address, unit)]),
  bob, "the interrupted batch included");
  // batch_all: the same is all or nothing, the extrinsic fails with the transfer's error
  out.batchAll = await included(api, api.tx.utility.batchAll([
    api.tx.balances.transferKeepAlive(dave, unit), api.tx.balances.transferKeepAlive(bob.address, unit)]),
  bob, "the failing batch_all included");
  // and the pool refuses a batchAll that spends more than its sender holds, as it refuses one such transfer (a batch
  // or forceBatch would be taken: it stands, and pays its fee, when a call fails)
  try {
    await api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(dave, 10n ** 30n)]).signAndSend(bob);
    out.overspend = "accepted";
  } catch (e) { out.overspend = e.message; }
  out.warnings.push(...warnings.splice(0).filter((w) => !w.includes("1010")));

  // a cold account (alice) makes bob its Any proxy and charlie its NonTransfer proxy
  out.addAny = await included(api, api.tx.proxy.addProxy(bob.address, "Any", 0), alice, "addProxy Any");
  out.addNonTransfer = await included(api, api.tx.proxy.addProxy(charlie.address, "NonTransfer", 0), alice,
    "addProxy NonTransfer");
  const [definitions, deposit] = await api.query.proxy.proxies(alice.address);
  out.proxies = { definitions: definitions.toJSON(), deposit: deposit.toString() };

  // the hot key moves the cold account's money: proxy(real, null, call)
  const aliceBefore = await free(api, alice.address);
  const daveBeforeProxy = await free(api, dave);
  out.proxy = await included(api, api.tx.proxy.proxy(alice.address, null,
    api.tx.balances.transferKeepAlive(dave, 3n * unit)), bob, "the proxy call included");
  out.proxyGain = String((await free(api, dave)) - daveBeforeProxy);
  out.aliceLost = String(aliceBefore - (await free(api, alice.address)));
  // the NonTransfer proxy cannot, not even in a batch
  out.refused = await included(api, api.tx.proxy.proxy(alice.address, null, api.tx.utility.batch([
    api.tx.system.remark("0x01"), api.tx.balances.transferKeepAlive(dave, unit)])), charlie,
  "the NonTransfer proxy call included");
  out.aliceAfterRefusal = String(aliceBefore - (await free(api, alice.address)));
  await api.disconnect();
}

main().then(() => { console.log(JSON.stringify(out)); process.exit(0); })
  .catch((e) => { out.failure = e.stack || String(e); console.log(JSON.stringify(out)); process.exit(0); });
