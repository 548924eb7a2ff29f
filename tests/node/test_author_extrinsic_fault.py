"""A transaction the runtime fails on with an error no call may raise (a bug reached by one transaction) must not
stop the chain: the block being built is abandoned with nothing changed, the author builds it again without that
transaction, and the pool bans it. Found on the `ci` testnet: a private job's late reveal after the job closed hit
an assertion in `private.check_openings`, every validator failed every slot, and the chain stood still."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from btt_chain.node.chain import Chain
from btt_chain.node.service import MAX_FAULTS_PER_SLOT, Node
from btt_chain.primitives.errors import ExtrinsicFault, InvalidBlock, InvalidExtrinsic, StorageError
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME
from runtime.system import storage as system
from tests.support.node_builder import UNIT, author_next, block_bytes, far_future_ms, new_chain, new_pool, transfer

POISON = b"runtime bug"


def poison(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on `system.remark` with POISON fails as a runtime bug would (an assertion), anywhere it is
    dispatched."""
    dispatch = RUNTIME.dispatch

    def failing(ctx: Any, origin: Any, decoded: Any) -> None:
        if decoded.full_name == "system.remark" and decoded.args[0] == POISON:
            raise AssertionError("a runtime invariant that does not hold")
        dispatch(ctx, origin, decoded)

    monkeypatch.setattr(RUNTIME, "dispatch", failing)


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    poison(monkeypatch)


def remark(chain: Chain, who: str, data: bytes, nonce: int | None = None) -> Extrinsic:
    pair = dev_keypair(who)
    if nonce is None:
        nonce = system.account.get(chain.state(), pair.public).nonce
    return sign_extrinsic(pair, RUNTIME.call("system.remark", data), nonce, chain.genesis_hash, RUNTIME.spec_version)


def snapshot(chain: Chain) -> tuple[Any, ...]:
    return (chain.head_hash, chain.head.state_root, chain.tree.root, block_bytes(chain, chain.head.number),
            {who: system.account.get(chain.state(), dev_keypair(who).public) for who in ("alice", "bob", "charlie")})


def test_a_faulty_transaction_abandons_the_block_and_changes_nothing(poisoned: None) -> None:
    chain = new_chain()
    author_next(chain, [transfer(chain, "alice", "bob", UNIT)])
    before = snapshot(chain)
    bad = remark(chain, "bob", POISON)
    with pytest.raises(ExtrinsicFault) as raised:
        author_next(chain, [transfer(chain, "alice", "charlie", UNIT), bad, remark(chain, "charlie", b"fine")])
    assert raised.value.xt is bad and isinstance(raised.value.__cause__, AssertionError)
    assert snapshot(chain) == before
    # the same block without it: authored, every other transaction in it
    imported, dropped = author_next(chain, [transfer(chain, "alice", "charlie", UNIT), remark(chain, "charlie", b"ok")])
    assert len(imported.block.transactions) == 2 and dropped == []


def test_the_author_leaves_the_faulty_transaction_out_bans_it_and_keeps_the_rest(poisoned: None) -> None:
    chain = new_chain()
    pool, _ = new_pool(chain)
    good = [transfer(chain, "alice", "bob", UNIT), remark(chain, "charlie", b"fine")]
    bad = remark(chain, "bob", POISON)
    for xt in (bad, *good):
        pool.submit(xt.encode())
    node = SimpleNamespace(pool=pool, chain=chain)
    imported, _ = Node._author_without_faults(node, chain.head.slot + 1, dev_keypair("alice"))  # type: ignore[arg-type]
    assert {x.hash() for x in imported.block.transactions} == {x.hash() for x in good}
    assert chain.head_hash == imported.hash
    assert bad.hash() not in pool
    with pytest.raises(InvalidExtrinsic, match="banned"):
        pool.submit(bad.encode())  # gossiped again: refused at the door, so it cannot cost the next slot


def test_more_faults_than_a_slot_allows_give_up_the_slot_and_the_next_one_authors(poisoned: None) -> None:
    chain = new_chain()
    senders = [Keypair(bytes([i]) * 32) for i in range(1, MAX_FAULTS_PER_SLOT + 2)]
    author_next(chain, [sign_extrinsic(dev_keypair("alice"), RUNTIME.call("balances.transfer_allow_death", k.public,
                                                                            10 * UNIT), n, chain.genesis_hash,
                                       RUNTIME.spec_version) for n, k in enumerate(senders)])
    pool, _ = new_pool(chain)
    for k in senders:  # each sender's one transaction is faulty: each costs an attempt
        pool.submit(sign_extrinsic(k, RUNTIME.call("system.remark", POISON), 0, chain.genesis_hash,
                                   RUNTIME.spec_version).encode())
    good = transfer(chain, "bob", "charlie", UNIT)
    pool.submit(good.encode())
    node = SimpleNamespace(pool=pool, chain=chain)
    head = chain.head_hash
    with pytest.raises(ExtrinsicFault):
        Node._author_without_faults(node, chain.head.slot + 1, dev_keypair("alice"))  # type: ignore[arg-type]
    assert chain.head_hash == head  # the slot given up, nothing authored
    assert list(pool.ready()) and all(t.xt.signer == dev_keypair("bob").public for t in pool.ready())
    imported, _ = Node._author_without_faults(node, chain.head.slot + 2, dev_keypair("alice"))  # type: ignore[arg-type]
    assert [x.hash() for x in imported.block.transactions] == [good.hash()]


def test_a_failing_database_is_no_fault_of_the_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = new_chain()
    dispatch = RUNTIME.dispatch

    def disk_fails(ctx: Any, origin: Any, decoded: Any) -> None:
        if decoded.full_name == "system.remark":
            raise StorageError("read failed: the disk")
        dispatch(ctx, origin, decoded)

    monkeypatch.setattr(RUNTIME, "dispatch", disk_fails)
    with pytest.raises(StorageError):  # the node's own failure, as it was: no transaction is banned for it
        author_next(chain, [remark(chain, "bob", b"anything")])


def test_a_block_the_runtime_fails_on_is_invalid_on_import_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that carries such a transaction (authored by a node of another release, or a hostile validator) is
    refused as invalid on import, as any block whose execution fails: nothing changes, and its sender can be banned,
    not a whole sync round lost to a raw exception."""
    source = new_chain()
    author_next(source, [transfer(source, "alice", "bob", UNIT)])
    author_next(source, [remark(source, "bob", POISON)])  # executes here: this chain's runtime has no such bug
    node = new_chain()
    node.import_block(block_bytes(source, 1), far_future_ms())
    dispatch = RUNTIME.dispatch
    poison(monkeypatch)
    before = snapshot(node)
    for verdict in ("the runtime raised AssertionError", "known to be invalid"):  # again: remembered as bad
        with pytest.raises(InvalidBlock, match=verdict):
            node.import_block(block_bytes(source, 2), far_future_ms())
        assert snapshot(node) == before
    monkeypatch.setattr(RUNTIME, "dispatch", dispatch)
    author_next(node, [transfer(node, "alice", "charlie", UNIT)])  # the chain goes on
    assert node.head.number == 2


def test_a_node_out_of_memory_gives_no_verdict_on_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    source = new_chain()
    author_next(source, [remark(source, "bob", b"anything")])
    node = new_chain()
    dispatch = RUNTIME.dispatch

    def no_memory(ctx: Any, origin: Any, decoded: Any) -> None:
        if decoded.full_name == "system.remark":
            raise MemoryError()
        dispatch(ctx, origin, decoded)

    monkeypatch.setattr(RUNTIME, "dispatch", no_memory)
    with pytest.raises(MemoryError):
        node.import_block(block_bytes(source, 1), far_future_ms())
    monkeypatch.setattr(RUNTIME, "dispatch", dispatch)
    assert node.import_block(block_bytes(source, 1), far_future_ms()).status == "best"  # not remembered as bad
