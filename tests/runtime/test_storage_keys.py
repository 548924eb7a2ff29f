"""FRAME storage keys and values: what clients compute from the metadata is where btt keeps the value, and the
value decodes only from its one encoding."""

from __future__ import annotations

import pytest

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2_128, twox64, twox128
from btt_chain.primitives.keys import dev_keypair
from runtime.items import storage_prefix
from runtime.modules import RUNTIME
from runtime.storage_schema import ENTRIES, HASHERS
from runtime.system import storage as system
from runtime.system.types import AccountInfo

ALICE_ACCOUNT_KEY = bytes.fromhex(
    "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
    "280b197190fc1a763257f65171ea366e88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
)
"""Alice's System.Account key as @polkadot/api and substrate-interface compute it (SUBSTRATE-WIRE.md §4)."""


def test_alices_account_key_is_the_one_clients_compute() -> None:
    assert system.account.key(dev_keypair("alice").public) == ALICE_ACCOUNT_KEY
    alice = dev_keypair("alice").public
    assert ALICE_ACCOUNT_KEY == twox128(b"System") + twox128(b"Account") + blake2_128(alice) + alice


def test_block_hash_keys_are_twox64_concat_of_the_u32() -> None:
    assert system.block_hash.key(7) == twox128(b"System") + twox128(b"BlockHash") + twox64(
        (7).to_bytes(4, "little")) + (7).to_bytes(4, "little")
    assert system.block_hash.key_decoder(system.block_hash.key(7)[len(system.block_hash.prefix):]) == 7


def test_account_info_is_frames_80_bytes() -> None:
    info = AccountInfo(5, 1000, 20, 30)
    raw = info.encode()
    assert len(raw) == 80
    assert raw[:16] == b"".join(n.to_bytes(4, "little") for n in (5, 1, 1, 0))  # nonce, consumers, providers, 0
    assert raw[16:64] == b"".join(n.to_bytes(16, "little") for n in (1000, 20, 30))
    assert raw[64:] == (1 << 127).to_bytes(16, "little")
    assert AccountInfo.decode(raw) == info
    assert AccountInfo(1, 5).encode()[4:8] == bytes(4)  # nothing held: no consumer


@pytest.mark.parametrize("offset, value", [(4, 0), (8, 2), (12, 1), (79, 0)])
def test_account_info_refuses_derived_fields_that_disagree(offset: int, value: int) -> None:
    raw = bytearray(AccountInfo(5, 1000, 20, 30).encode())
    raw[offset] = value
    with pytest.raises(DecodeError):
        AccountInfo.decode(bytes(raw))
    with pytest.raises(DecodeError):
        AccountInfo.decode(AccountInfo(5, 1000).encode() + b"\x00")
    with pytest.raises(DecodeError):
        AccountInfo(2**32, 1).encode()  # FRAME's nonce is a u32


def test_every_item_has_its_own_prefix_and_frames_hashers() -> None:
    _ = RUNTIME  # every module's items are registered
    names = [(e.pallet, e.name) for e in ENTRIES]
    assert len(names) == len(set(names))
    prefixes = [storage_prefix(e.module, e.item) for e in ENTRIES]
    assert len(prefixes) == len(set(prefixes))
    assert all(set(e.hashers) <= set(HASHERS) and len(e.hashers) == len(e.keys) for e in ENTRIES)
    by_name = {(e.pallet, e.name): e for e in ENTRIES}
    assert by_name[("System", "Account")].hashers == ("Blake2_128Concat",)
    assert by_name[("System", "BlockHash")].hashers == ("Twox64Concat",)
    assert ("System", "Events") in by_name and ("System", "Digest") in by_name


def test_remembered_account_keys_stay_frames_keys_when_the_memo_fills_and_empties(monkeypatch) -> None:
    monkeypatch.setattr("runtime.items.KEY_MEMO_ENTRIES", 3)
    prefix = twox128(b"System") + twox128(b"Account")
    accounts = [bytes([i]) * 32 for i in range(10)] * 3  # more than the memo holds, each asked again
    for who in accounts:
        assert system.account.key(who) == prefix + blake2_128(who) + who
    # a key that is not 32 bytes is not remembered and still encodes (or fails) as SCALE says
    with pytest.raises(DecodeError):
        system.account.key(bytes(31))


def test_account_info_built_directly_is_the_dataclass_it_was() -> None:
    import dataclasses

    info = AccountInfo(1, 2)
    assert (info.nonce, info.free, info.reserved, info.frozen) == (1, 2, 0, 0)
    assert info == AccountInfo(nonce=1, free=2, reserved=0, frozen=0) and hash(info) == hash(AccountInfo(1, 2, 0, 0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.free = 3  # type: ignore[misc]
    assert dataclasses.replace(info, frozen=1) == info.replace(frozen=1) == AccountInfo(1, 2, 0, 1)
    assert AccountInfo.decode(info.encode()) == info
