// An oracle for secret URIs: the ed25519 keys that an unchanged @polkadot/keyring (pinned in package.json) derives.
// Reads a JSON array of URIs on stdin, prints one JSON array of {uri, public, address} or {uri, error}.
// Used by tests/substrate/test_suri_oracle.py and to make tests/primitives/data/ed25519_suri_vectors.json.
import { Keyring } from "@polkadot/keyring";
import { u8aToHex } from "@polkadot/util";
import { cryptoWaitReady } from "@polkadot/util-crypto";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const uris = JSON.parse(Buffer.concat(chunks).toString("utf8"));
await cryptoWaitReady();
const keyring = new Keyring({ type: "ed25519", ss58Format: 42 });
const out = uris.map((uri) => {
  try {
    const pair = keyring.createFromUri(uri);
    return { uri, public: u8aToHex(pair.publicKey).slice(2), address: pair.address };
  } catch (error) {
    return { uri, error: String(error.message) };
  }
});
process.stdout.write(JSON.stringify(out));
