"""The compiled transfers take a block's accounts from the flat state's read-ahead (`FlatState.ahead_reads`,
runtime/_transfer_native.c `read_key`) without a Python call each, and read what `FlatState.get` would: blocks
authored on a memory store import on LevelDB to the same state roots (a wrong value would fail the block's root),
with the young cache generation far smaller than a block (so it rotates within a run and keys come from the older
one), with a batch still landing that the read-ahead leaves out, and the flat state's cache stays true to the store.

The read-ahead here never starts its thread: every key is read by the transfers themselves, as one the thread has
not reached, so which path answered is known, not left to timing."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.keys import dev_keypair
from runtime import transfer_native
from runtime.executive import Executive
from runtime.system import storage as system
from storage import read_ahead, schema
from storage.chaindb import FlatState
from storage.leveldb import LevelDBStore
from tests.support.held_writer import hold_writer
from tests.support.node_builder import UNIT, author_next, dev_genesis, far_future_ms, new_chain, transfer

pytestmark = pytest.mark.skipif(
    not (read_ahead.AVAILABLE and transfer_native.NATIVE),
    reason="the read-ahead or the compiled transfers are not built",
)

SENDERS = ["bob", "charlie", "eve", "ferdie"]
"""Dev accounts without a lock, a stake or a vesting schedule: their transfers are the compiled runs'."""


def blocks(count: int = 4) -> list[Block]:
    """Blocks of transfers from the dev accounts to each other, to accounts that do not exist yet and to some paid in
    an earlier block (a recipient read again, a sender paid in its own block)."""
    author = new_chain()
    out = []
    for b in range(count):
        nonces = {s: system.account.get(author.state(), dev_keypair(s).public).nonce for s in SENDERS}
        xts = []
        for i in range(18):
            sender = SENDERS[i % len(SENDERS)]
            dest = [f"fresh-{b}-{i}", f"fresh-{max(0, b - 1)}-{i}", SENDERS[(i + 1) % len(SENDERS)]][i % 3]
            xts.append(transfer(author, sender, dest, UNIT, nonce=nonces[sender]))
            nonces[sender] += 1
        imported, dropped = author_next(author, xts)
        assert dropped == []
        out.append(imported.block)
    return out


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every read-ahead the node starts from now on, none with its thread running."""
    native = read_ahead._native  # noqa: SLF001
    made: list[Any] = []

    def paused(db: Any, keys: list[bytes]) -> Any:
        made.append(native.ReadAhead(db, keys, start=False))
        return made[-1]

    monkeypatch.setattr(read_ahead, "start", paused)
    return made


@pytest.fixture
def python_reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every key `FlatState.get` is asked for from now on."""
    asked: list[bytes] = []
    get = FlatState.get

    def counted(self: FlatState, key: bytes) -> bytes | None:
        asked.append(key)
        return get(self, key)

    monkeypatch.setattr(FlatState, "get", counted)
    return asked


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LevelDBStore]:
    with LevelDBStore(tmp_path / "db") as kv:
        yield kv


def assert_cache_true(chain: Chain) -> None:
    """Every value the flat state's cache holds is the store's."""
    state = chain.db.state
    cached = {**state._old, **state._cache}  # noqa: SLF001
    assert cached
    for key, value in cached.items():
        assert chain.db.kv.get(schema.STATE + key) == value, key.hex()


def test_a_blocks_accounts_come_from_the_read_ahead_without_a_python_read(
    store: LevelDBStore, started: list[Any], python_reads: list[bytes]
) -> None:
    chain = Chain(store, dev_genesis())
    for block in blocks():
        before = len(started)
        asked = len(python_reads)
        assert chain.import_block(block.encode(), far_future_ms()).status == "best"
        assert len(started) == before + 1
        ahead = started[-1]
        listed = ahead.done()
        # every key the read-ahead was given and the block read was read by the compiled transfers, none by Python
        assert listed > 0 and ahead.taken() == listed
        recipients = {system.account.key(x.call.args[1:33]) for x in block.extrinsics[1:]}
        assert not recipients & set(python_reads[asked:])
    assert_cache_true(chain)


@pytest.mark.parametrize("half", [3, 20, 45])
def test_a_young_generation_smaller_than_a_block_rotates_within_a_run_and_reads_the_same(
    store: LevelDBStore, started: list[Any], monkeypatch: pytest.MonkeyPatch, half: int
) -> None:
    chain = Chain(store, dev_genesis())
    state = chain.db.state
    state._half = half  # noqa: SLF001 - a generation of fewer keys than a block reads: it rotates inside each block
    sizes: list[int] = []
    get = FlatState.get

    def measured(self: FlatState, key: bytes) -> bytes | None:
        if self is state:
            sizes.append(len(state._cache))  # noqa: SLF001 - as the compiled reads left it
        return get(self, key)

    monkeypatch.setattr(FlatState, "get", measured)
    reference = new_chain()
    for block in blocks(5):
        assert chain.import_block(block.encode(), far_future_ms()).status == "best"
        reference.import_block(block.encode(), far_future_ms())
        assert chain.head.state_root == reference.head.state_root
        assert_cache_true(chain)
    assert any(a.taken() for a in started)
    assert sizes and max(sizes) <= half  # never past a generation's size, as `FlatState.get` keeps it


def test_a_batch_still_landing_is_read_from_the_batch_not_the_read_ahead(
    store: LevelDBStore, started: list[Any], python_reads: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = Chain(store, dev_genesis())
    made = blocks(3)
    assert chain.import_block(made[0].encode(), far_future_ms()).status == "best"
    chain.db.kv._settle()  # noqa: SLF001
    gate = hold_writer(store)  # block 2's batch stays in flight through block 3's execution
    execute = Executive.execute_block
    executed = threading.Event()

    def then_land(self: Executive, *args: Any, **kwargs: Any) -> Any:
        result = execute(self, *args, **kwargs)
        if executed.is_set():
            gate.set()  # block 3 executed: the batch may land now (its write waits for it)
        return result

    monkeypatch.setattr(Executive, "execute_block", then_land)
    assert chain.import_block(made[1].encode(), far_future_ms()).status == "best"
    landing = dict(store._landing_puts)  # noqa: SLF001
    assert store._landing is not None and landing  # noqa: SLF001
    state = chain.db.state
    state._cache.clear()  # noqa: SLF001 - forgotten (a cache may forget anything): block 3 reads every account
    state._old.clear()  # noqa: SLF001
    executed.set()
    asked = len(python_reads)
    assert chain.import_block(made[2].encode(), far_future_ms()).status == "best"
    assert gate.is_set()
    # block 3 re-read accounts block 2 wrote, which the read-ahead left out: `FlatState.get` read them (from the
    # batch), and the state root holds only if those were the batch's values
    landed_state = {k[len(schema.STATE):] for k in landing if k.startswith(schema.STATE)}
    assert landed_state & set(python_reads[asked:])
    assert started[-1].taken() > 0  # and the others from the read-ahead
    reference = new_chain()
    for block in made:
        reference.import_block(block.encode(), far_future_ms())
    assert chain.head.state_root == reference.head.state_root
    assert_cache_true(chain)


@pytest.mark.parametrize("swap", ["reads", "capsule"])
def test_a_run_refuses_a_read_ahead_its_capsule_does_not_read(
    store: LevelDBStore, started: list[Any], monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    chain = Chain(store, dev_genesis())
    block = blocks(1)[0]
    ahead_reads = FlatState.ahead_reads

    def swapped(self: FlatState) -> Any:
        found = ahead_reads(self)
        assert found is not None
        ahead, api, *rest = found
        if swap == "reads":
            return (object(), api, *rest)  # anything else at the address the lookup would read
        return (ahead, datetime.datetime_CAPI, *rest)  # a capsule of another name: its pointer is not a lookup

    monkeypatch.setattr(FlatState, "ahead_reads", swapped)
    before = dict(store.iterate())
    with pytest.raises(InvalidBlock, match="the runtime raised (TypeError|ValueError)"):
        chain.import_block(block.encode(), far_future_ms())
    assert dict(store.iterate()) == before and chain.head.number == 0
