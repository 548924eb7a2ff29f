// An unchanged dedot (pinned in package.json) against a btt-chain dev node, as its docs start a user off: the default
// client (`DedotClient.new(new WsProvider(url))`, which tries the new JSON-RPC spec and falls back to the legacy
// methods by itself), then, with ed25519 //Alice from @polkadot/keyring: the fee of
// `tx.balances.transferKeepAlive(bob, amount)` from `paymentInfo` (TransactionPaymentApi_query_info, typed by the
// node's metadata V15), a runtime API call by name (`call.accountNonceApi.accountNonce`), and the transfer signed,
// sent and followed to its inclusion in a best block.
// Prints one JSON line of findings; tests/substrate/test_dedot.py asserts them.
// Usage: node dedot/flow.mjs ws://127.0.0.1:PORT AMOUNT
import { DedotClient, WsProvider } from "dedot";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";

const [url, amountText] = process.argv.slice(2);
const amount = BigInt(amountText);
const scale = Number(process.env.BTT_TEST_TIMEOUT_SCALE || "1") || 1;
const out = { warnings: [], steps: [] };
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));

function finish(code) {
  console.log(json(out));
  process.exit(code);
}

function fail(error) {
  out.failure = `${out.steps.at(-1)}: ${String((error && error.stack) || error)}`;
  finish(1);
}

// dedot reports what goes wrong inside the client (a failed call, metadata it could not decode) on the console
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => {
    out.warnings.push(`${level}: ${args.map((a) => (a && a.stack) || String(a)).join(" ")}`);
    original(...args);
  };
}

function withTimeout(promise, seconds, what) {
  const ms = seconds * 1000 * scale;
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms); }),
  ]);
}

function step(name) {
  out.steps.push(name);
}

async function main() {
  step("connect (DedotClient.new(new WsProvider(url)))");
  const client = await withTimeout(DedotClient.new(new WsProvider(url)), 120, "DedotClient.new");
  out.rpcVersion = client.rpcVersion;
  out.metadataVersion = client.metadata.version;
  out.runtimeApis = client.metadata.latest.apis.map((api) => api.name);
  out.specVersion = client.runtimeVersion.specVersion;
  const ss58 = client.consts.system.ss58Prefix;

  step("keys (@polkadot/keyring, ed25519 //Alice)");
  await cryptoWaitReady();
  const keyring = new Keyring({ type: "ed25519", ss58Format: ss58 });
  const alice = keyring.addFromUri("//Alice");
  const bob = keyring.addFromUri("//Bob");
  out.alice = alice.address;
  out.bob = bob.address;
  out.bobFreeBefore = (await client.query.system.account(bob.address)).data.free;

  step("a runtime API by name (call.accountNonceApi.accountNonce)");
  out.aliceNonce = await withTimeout(client.call.accountNonceApi.accountNonce(alice.address), 60, "accountNonce");

  step("fee before sending (tx.balances.transferKeepAlive(...).paymentInfo(alice))");
  const quoted = client.tx.balances.transferKeepAlive(bob.address, amount);
  const info = await withTimeout(quoted.paymentInfo(alice.address), 60, "paymentInfo");
  out.paymentInfo = { partialFee: info.partialFee, weight: info.weight, class: info.class };
  out.quotedTx = quoted.toHex(); // what the fee was asked for: the transfer with dedot's dummy signature

  step("sign, send and follow to inclusion (signAndSend(alice).untilBestChainBlockIncluded())");
  const statuses = [];
  const sent = client.tx.balances.transferKeepAlive(bob.address, amount)
    .signAndSend(alice, ({ status }) => { statuses.push(status.type); });
  const included = await withTimeout(sent.untilBestChainBlockIncluded(), 120, "inclusion of the transfer");
  out.transfer = {
    statuses,
    txHash: included.txHash,
    block: included.status.value.blockHash,
    events: included.events.map(({ event }) => `${event.pallet}.${event.palletEvent.name}`),
    failed: included.dispatchError !== undefined,
  };
  out.bobFreeAfter = (await client.query.system.account(bob.address)).data.free;

  step("disconnect");
  await client.disconnect();
  finish(0);
}

main().catch(fail);
