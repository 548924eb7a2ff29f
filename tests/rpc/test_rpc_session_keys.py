"""Session keys over RPC (issue 43, item 2): `author_rotateKeys` makes a key in the node's keystore (on disk, 0600,
kept across a restart), `btt_sessionKeysProof` signs for it, `session.set_keys` registers it, and from the epoch the
chain names the node signs blocks with it, the old key never again. The keystore methods are unsafe (loopback with
`--rpc-methods unsafe` only), refuse bad input with -32602 naming the parameter, and give no proof for a key the
node does not hold."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from btt_chain.node.keystore import DIRECTORY, Keystore, key_file_name
from btt_chain.primitives import ed25519
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.errors import INVALID_PARAMS, METHOD_NOT_FOUND
from runtime.consensus import logic as consensus
from runtime.session import storage as session
from runtime.session.types import SessionKeys

from .conftest import dev_harness
from .harness import RpcHarness

ALICE = dev_keypair("alice")


def hx(data: bytes) -> str:
    return "0x" + data.hex()


@pytest_asyncio.fixture
async def unsafe_rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness(unsafe=True):
        yield harness


@pytest.mark.asyncio
async def test_a_rotated_key_is_kept_proved_set_and_signs_from_the_epoch_named(unsafe_rpc: RpcHarness) -> None:
    rpc = unsafe_rpc
    node = rpc.node
    raw = await rpc.call("author_rotateKeys")
    keys = SessionKeys.decode(bytes.fromhex(raw[2:]))
    assert len(bytes.fromhex(raw[2:])) == 64 and keys.session_key != ALICE.public
    assert await rpc.call("author_hasSessionKeys", raw) is True
    assert await rpc.call("author_hasKey", hx(keys.session_key), "sess") is True
    # on disk, for the node's own user only, and read back by a keystore opened on the same directory
    path = node.data_dir / DIRECTORY / key_file_name(keys.session_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.session_key in Keystore(node.data_dir / DIRECTORY)
    # the commitment is the key's first hash chain at this chain's length
    pair = node.keys.get(keys.session_key)
    assert pair is not None and node.chain.hash_chain(pair, 0).commitment == keys.hash_chain_commitment
    # the proof: the key's signature for alice's stash, which set_keys checks
    proof = bytes.fromhex((await rpc.call("btt_sessionKeysProof", raw, hx(ALICE.public)))[2:])
    assert ed25519.verify(keys.session_key, keys.ownership_message(ALICE.public), proof)
    await rpc.submit_in_block(ALICE, "session.set_keys", keys, proof)
    chain = node.chain
    epoch = chain.head.slot // chain.clock.epoch_slots
    # two epoch boundaries later the schedule names the new key; the node holds it and signs with it
    target = (epoch + 2) * chain.clock.epoch_slots
    while chain.head.slot < target - 1:  # alice's old key signs to the end of the epoch after next
        rpc.author_at_time(chain.clock.slot_start_ms(chain.head.slot + 1))
    slot = target
    leader = chain.leader(slot)
    assert leader == keys.session_key and node.keys.get(leader) is pair
    imported, _ = chain.author_block(slot, pair, [])
    assert imported.block.header.author == keys.session_key
    active = {v.account: v.session_key for v in session.validators.get(chain.state())}
    assert active[ALICE.public] == keys.session_key
    view = chain.state()
    later = range(slot + 1, slot + 3 * chain.clock.epoch_slots)
    assert ALICE.public not in {consensus.leader_of_slot(view, s) for s in later}  # the old key never leads again


@pytest.mark.asyncio
async def test_keys_inserted_checked_and_refused_as_substrate_does(unsafe_rpc: RpcHarness) -> None:
    rpc = unsafe_rpc
    ferdie = dev_keypair("ferdie")
    assert await rpc.call("author_hasKey", hx(ferdie.public), "sess") is False
    assert await rpc.call("author_insertKey", "babe", "//Ferdie", hx(ferdie.public)) is None
    assert await rpc.call("author_hasKey", hx(ferdie.public), "gran") is True
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "publicKey", "author_insertKey", "sess", "//Eve",
                                      hx(ferdie.public))
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "keyType", "author_insertKey", "nope", "//Eve",
                                      hx(dev_keypair("eve").public))
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "suri", "author_insertKey", "sess", "", hx(ferdie.public))
    eve = dev_keypair("eve")
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "suri: a session key is ed25519", "author_insertKey", "sess",
                                      "sr25519://Eve", hx(eve.public))
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "suri: 'sr25519' is a scheme's name", "author_insertKey",
                                      "sess", "sr25519//Eve", hx(eve.public))
    assert await rpc.call("author_hasKey", hx(eve.public), "sess") is False
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "keys", "author_hasSessionKeys", "0x1234")
    # no proof for a key this node does not hold: nobody can have a node sign for someone else's key
    stranger = SessionKeys(Keypair.generate().public, bytes(32))
    await rpc.assert_raises_rpc_error(5002, "does not hold", "btt_sessionKeysProof", hx(stranger.encode()),
                                      hx(ALICE.public))


@pytest.mark.asyncio
async def test_the_keystore_methods_are_not_served_without_unsafe_methods(rpc: RpcHarness) -> None:
    for name, params in (("author_rotateKeys", ()), ("author_hasKey", (hx(ALICE.public), "sess")),
                         ("author_insertKey", ("sess", "//Ferdie", hx(dev_keypair("ferdie").public))),
                         ("btt_sessionKeysProof", (hx(bytes(64)), hx(ALICE.public)))):
        await rpc.assert_raises_rpc_error(METHOD_NOT_FOUND, name, name, *params)
    assert dev_keypair("ferdie").public not in rpc.node.keys
