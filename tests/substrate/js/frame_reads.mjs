// An unchanged @polkadot/api (pinned in package.json) reading what FRAME chains publish, against a btt-chain dev node:
// derived balances with their locks, a map queried by SS58 address, FRAME's constants, fee estimates signed with
// the dummy signature, the runtime's validity check and the legacy methods added for other tools. Prints one JSON
// line of findings; tests/substrate/test_polkadot_js_frame.py asserts them.
// Usage: node frame_reads.mjs ws://127.0.0.1:PORT
import { Keyring } from "@polkadot/api";
import { collectWarnings, connect } from "./common.mjs";
import { u8aToHex } from "@polkadot/util";

const url = process.argv[2];
const warnings = collectWarnings();
const out = { warnings };

async function main() {
  const api = await connect(url);
  const send = (method, params) => api._rpcCore.provider.send(method, params);
  const keyring = new Keyring({ type: "ed25519", ss58Format: api.registry.chainSS58 });
  const alice = keyring.addFromUri("//Alice");
  const bob = keyring.addFromUri("//Bob");
  const dave = keyring.addFromUri("//Dave");

  // balances with their locks (Balances.Locks), and a map keyed by AccountId32 queried by SS58 address
  const all = await api.derive.balances.all(dave.address);
  out.dave = {
    lockedBalance: all.lockedBalance.toString(), vestingLocked: all.vestingLocked.toString(),
    isVesting: all.isVesting, lockIds: all.lockedBreakdown.map((l) => l.id.toHex()),
    lockReasons: all.lockedBreakdown.map((l) => l.reasons.toString()), frozen: all.frozen ? all.frozen.toString() : null,
  };
  out.daveVesting = await send("btt_vesting", [dave.address]);
  out.daveAccount = await send("btt_account", [dave.address]);
  const schedules = await api.query.vesting.schedules(dave.address);
  out.schedules = schedules.map((s) => s.toJSON());

  // FRAME's constants
  const c = api.consts;
  out.consts = {
    version: c.system.version.toJSON(), runtimeVersion: api.runtimeVersion.toJSON(),
    maxBlockRefTime: c.system.blockWeights.maxBlock.refTime.toString(),
    normalMaxTotal: c.system.blockWeights.perClass.normal.maxTotal.toJSON(),
    blockLength: c.system.blockLength.max.toJSON(), dbWeight: c.system.dbWeight.toJSON(),
    blockHashCount: c.system.blockHashCount.toNumber(),
    operationalFeeMultiplier: c.transactionPayment.operationalFeeMultiplier.toNumber(),
  };
  out.params = await send("btt_params", []);

  // fees: paymentInfo signs with the dummy signature (0x01 bytes, read as sr25519); the signed one quotes the same
  const tx = api.tx.balances.transferKeepAlive(bob.address, 10n ** 18n);
  out.paymentInfo = (await tx.paymentInfo(alice)).toJSON();
  await tx.signAsync(alice);
  const signed = tx.toHex();
  out.signedQueryInfo = await send("payment_queryInfo", [signed]);
  out.feeDetails = (await api.rpc.payment.queryFeeDetails(signed)).toJSON();
  // with metadata V15 the runtime calls' arguments have the metadata's types: an extrinsic is FRAME's
  // UncheckedExtrinsic (opaque bytes), so it goes in encoded, as polkadot.js's own paymentInfo passes it
  const uxt = tx.toU8a();
  out.callFeeDetails = (await api.call.transactionPaymentApi.queryFeeDetails(uxt, uxt.length)).toJSON();

  // the runtime's own validity check (at the best head, as a pool judges it: polkadot.js signs at the best head's
  // parent once finality lags 5 blocks, so at the finalized head such a transaction is not born yet), and the legacy
  // names added for other tools
  const head = await api.rpc.chain.getBlockHash();
  const validity = await api.call.taggedTransactionQueue.validateTransaction("External", uxt, head);
  out.validity = { isOk: validity.isOk, value: validity.toJSON() };
  out.codeHash = (await api.rpc.state.getStorageHash("0x3a636f6465")).toHex();
  out.codeValue = (await api.rpc.state.getStorage("0x3a636f6465")).toHex();
  out.syncState = (await api.rpc.system.syncState()).toJSON();
  out.nodeRoles = (await api.rpc.system.nodeRoles()).map((role) => role.type);
  out.reservedPeers = (await api.rpc.system.reservedPeers()).toJSON();
  const child = u8aToHex(new TextEncoder().encode(":child_storage:default:none"));
  out.childStorage = (await api.rpc.childstate.getStorage(child, "0x00")).toJSON();
  out.methods = (await api.rpc.rpc.methods()).methods.map((m) => m.toString());
  try {
    await send("state_noSuchMethod", []);
    out.unknownMethod = "answered";
  } catch (e) { out.unknownMethod = e.message; }
  await api.disconnect();
}

main()
  .then(() => { console.log(JSON.stringify(out)); process.exit(0); })
  .catch((e) => { out.failure = `${e.message}\n${e.stack}`; console.log(JSON.stringify(out)); process.exit(1); });
