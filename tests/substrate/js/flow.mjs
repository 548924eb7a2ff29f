// An unchanged @polkadot/api (pinned in package.json) against a btt-chain dev node: connect, read, follow heads,
// sign and send, and try the mistakes a wallet makes. Prints one JSON line of findings; tests/substrate asserts them.
// Usage: node flow.mjs ws://127.0.0.1:PORT
import { Keyring } from "@polkadot/api";
import { collectWarnings, connect, withTimeout } from "./common.mjs";

const url = process.argv[2];
const warnings = collectWarnings();
const out = { warnings };

async function main() {
  const api = await connect(url);
  out.chain = (await api.rpc.system.chain()).toString();
  out.specVersion = api.runtimeVersion.specVersion.toNumber();
  out.ss58 = api.registry.chainSS58;
  out.existentialDeposit = api.consts.balances.existentialDeposit.toString();

  const keyring = new Keyring({ type: "ed25519", ss58Format: api.registry.chainSS58 });
  const alice = keyring.addFromUri("//Alice");
  const bob = keyring.addFromUri("//Bob");
  out.alice = alice.address;
  const account = await api.query.system.account(alice.address);
  out.aliceAccount = { nonce: account.nonce.toNumber(), free: account.data.free.toString(),
    reserved: account.data.reserved.toString(), frozen: account.data.frozen.toString() };
  out.bttAccount = await api._rpcCore.provider.send("btt_account", [alice.address]);

  // heads: the hash the client computes is the node's
  out.heads = [];
  await withTimeout(new Promise((resolve) => {
    let unsub = null;
    api.rpc.chain.subscribeNewHeads(async (header) => {
      const nodeHash = (await api.rpc.chain.getBlockHash(header.number.toNumber())).toHex();
      out.heads.push({ number: header.number.toNumber(), local: header.hash.toHex(), node: nodeHash,
        author: header.author ? header.author.toString() : null });
      if (out.heads.length >= 2 && unsub) { unsub(); resolve(); }
    }).then((u) => { unsub = u; });
  }), 60000, "two new heads");

  // a transfer, signed by the unchanged signer, to finality
  const bobBefore = (await api.query.system.account(bob.address)).data.free.toBigInt();
  const value = 10n ** 18n;
  const result = await withTimeout(new Promise((resolve, reject) => {
    const statuses = [];
    api.tx.balances.transferKeepAlive(bob.address, value).signAndSend(alice, (res) => {
      statuses.push(res.status.type);
      if (res.dispatchError) { resolve({ statuses, error: res.dispatchError.toString() }); }
      if (res.status.isFinalized) {
        resolve({ statuses, blockHash: res.status.asFinalized.toHex(),
          events: res.events.map(({ event }) => `${event.section}.${event.method}`),
          success: res.events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)) });
      }
    }).catch(reject);
  }), 120000, "the transfer finalized");
  out.transfer = result;
  out.bobGained = ((await api.query.system.account(bob.address)).data.free.toBigInt() - bobBefore).toString();

  // mistakes: a stale nonce and a bad signature are refused before inclusion (error 1010), and cost nothing
  // (@polkadot/api logs each refusal with console.error: those lines are expected and kept apart)
  out.warnings = warnings.splice(0);
  out.mistakeLogs = warnings;
  const before = (await api.query.system.account(alice.address)).data.free.toString();
  out.mistakes = {};
  try {
    await api.tx.balances.transferKeepAlive(bob.address, value).signAndSend(alice, { nonce: 0 });
    out.mistakes.staleNonce = "accepted";
  } catch (e) { out.mistakes.staleNonce = e.message; }
  try {
    const tx = api.tx.balances.transferKeepAlive(bob.address, value);
    await tx.signAsync(alice);
    const bytes = tx.toU8a();
    bytes[bytes.length - 40] ^= 0xff; // inside the call's destination: the signature no longer covers it
    await api.rpc.author.submitExtrinsic(bytes);
    out.mistakes.badSignature = "accepted";
  } catch (e) { out.mistakes.badSignature = e.message; }
  out.aliceFreeBefore = before;
  out.aliceFreeAfter = (await api.query.system.account(alice.address)).data.free.toString();
  await api.disconnect();
}

main().then(() => { console.log(JSON.stringify(out)); process.exit(0); })
  .catch((e) => { out.failure = String(e && e.stack || e); console.log(JSON.stringify(out)); process.exit(1); });
