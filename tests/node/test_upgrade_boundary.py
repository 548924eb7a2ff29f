"""A node's chain across an upgrade (issue 50), in-process: the chain recorded under spec 11 (tests/data/
recorded_chain.bin, 40 blocks) imported, then an emergency referendum, run by its transactions, schedules spec 12;
at its block the migrations run inside the block and the state root commits to them. Every block then re-executes
under its own spec's rules wherever it is checked: a full import of the export into a fresh database (the same
head and roots, the justifications applied), `check-block` on blocks of both specs, and a block of the old spec
re-executed by the new spec's rules is refused. A transaction signed for spec 11 after the boundary is refused
before any fee."""

from __future__ import annotations

import io

import pytest

from btt_chain.node import block_io
from btt_chain.node.chain import Chain
from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import InvalidBlock, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.executive import Executive
from runtime.specs import running_spec, runtime_of, spec_for_block
from runtime.storage_version import storage_version
from runtime.system import storage as system
from storage.memory import MemoryStore
from tests.node.test_recorded_chain import RECORDED_PRESET, recorded_blocks
from tests.support.node_builder import dev_genesis, far_future_ms

UNIT = 10**18
OLD, NEW = 11, 12


def signed(chain: Chain, who: str, call_name: str, *args: object, spec: int | None = None) -> Extrinsic:
    """`who`'s next transaction, signed for the spec of the next block (or `spec`), built by that spec's runtime."""
    pair = dev_keypair(who)
    runtime = chain.runtime
    nonce = system.account.get(chain.state(), pair.public).nonce
    return sign_extrinsic(pair, runtime.call(call_name, *args), nonce, chain.genesis_hash,
                          runtime.spec_version if spec is None else spec)


def author(chain: Chain, xts: list[Extrinsic] = (), skip: int = 0):  # type: ignore[assignment,no-untyped-def]
    """The next block by alice (the dev chain's validator), `skip` slots after the next one."""
    imported, refused = chain.author_block(chain.head.slot + 1 + skip, dev_keypair("alice"),
                                           [(x, len(x.encode())) for x in xts])
    assert not refused, refused
    return imported


def events_of(chain: Chain, number: int) -> list[str]:
    view = chain.db.block_meta_view(chain.db.canonical_hash(number))
    assert view is not None
    return [f"{record[1]}.{record[2]}" for record in view.events(0, view.event_count)]


@pytest.fixture(scope="module")
def upgraded() -> tuple[Chain, int]:
    """The recorded spec-11 chain, upgraded to spec 12 by an emergency referendum; (chain, the upgrade's block)."""
    chain = Chain(MemoryStore(), dev_genesis(preset=RECORDED_PRESET, spec_version=OLD))
    for raw in recorded_blocks():
        assert chain.import_block(raw, far_future_ms()).status == "best"
    assert chain.runtime.spec_version == OLD
    at = chain.head.number + 12
    author(chain, [signed(chain, "alice", "balances.transfer_keep_alive", dev_keypair("dave").public, 10 * UNIT)])
    call = chain.runtime.call("system.schedule_spec", NEW, at)
    author(chain, [signed(chain, "alice", "governance.propose", call, b"\x12" * 32, 1_000 * UNIT, True)])
    free = system.account.get(chain.state(), dev_keypair("alice").public).free
    # the token holders' turnout must reach the quorum (1% of the circulating supply): alice votes most of hers
    author(chain, [signed(chain, "alice", "governance.vote", 0, True, free - 100 * UNIT),
                   signed(chain, "dave", "governance.vote", 0, True, 0)])
    author(chain, skip=31)  # voting closes (30 s), the referendum passes
    author(chain, skip=6)  # and is enacted (5 s later)
    assert system.scheduled_spec.get(chain.state()) is not None, "the referendum did not schedule the upgrade"
    while chain.head.number < at + 2:
        # a transaction in the block two before the boundary (signed for spec 11) and in the one after (for 12)
        with_tx = chain.head.number + 1 in (at - 2, at + 1)
        author(chain, [signed(chain, "bob", "system.remark", b"x")] if with_tx else [])
    return chain, at


def test_the_referendum_upgrade_runs_in_its_block_and_the_chain_goes_on_under_spec_12(
        upgraded: tuple[Chain, int]) -> None:
    chain, at = upgraded
    state = chain.state()
    assert running_spec(state) == NEW and chain.runtime.spec_version == NEW
    assert (storage_version(state, "session"), storage_version(state, "evidence")) == (1, 1)
    evs = events_of(chain, at)
    assert "system.SpecUpgraded" in evs and "system.MigrationsCompleted" in evs
    assert evs.count("system.MigrationCompleted") == 2
    assert all("system.SpecUpgraded" not in events_of(chain, n) for n in range(1, at))
    assert any("system.SpecScheduled" in events_of(chain, n) for n in range(41, at))


def test_the_export_imports_into_a_fresh_database_block_by_block_under_each_blocks_rules(
        upgraded: tuple[Chain, int]) -> None:
    chain, at = upgraded
    out = io.BytesIO()
    block_io.export_blocks(chain, out, 0, None)
    fresh = Chain(MemoryStore(), dev_genesis(preset=RECORDED_PRESET, spec_version=OLD))
    block_io.import_blocks(fresh, io.BytesIO(out.getvalue()))
    assert fresh.head_hash == chain.head_hash and fresh.head.state_root == chain.head.state_root
    assert running_spec(fresh.state()) == NEW


@pytest.mark.parametrize("which", ["last old", "upgrade", "first new", "recorded"])
def test_check_block_re_executes_blocks_of_both_specs(upgraded: tuple[Chain, int], which: str) -> None:
    chain, at = upgraded
    number = {"last old": at - 1, "upgrade": at, "first new": at + 1, "recorded": 20}[which]
    said = block_io.check_block(chain, chain.db.canonical_hash(number))
    assert f"block #{number}" in said and "match" in said


def test_an_old_block_re_executed_by_the_new_rules_does_not_match(upgraded: tuple[Chain, int]) -> None:
    """The rules really differ: block #at-2 (spec 11, with bob's transaction signed for it) run by spec 12's
    executive, which the table would never pick for it, is refused; each block's own spec is what makes it valid."""
    chain, at = upgraded
    block = Block.decode(chain.db.get_block_bytes(chain.db.canonical_hash(at - 2)))
    assert len(block.extrinsics) > 1  # the timestamp and bob's remark
    fresh = Chain(MemoryStore(), dev_genesis(preset=RECORDED_PRESET, spec_version=OLD))
    for n in range(1, at - 2):
        fresh.import_block(chain.db.get_block_bytes(chain.db.canonical_hash(n)), far_future_ms())
    assert spec_for_block(fresh.state(), at - 2) == OLD
    fresh._executives[OLD] = Executive(runtime_of(NEW), fresh.genesis_hash)
    with pytest.raises(InvalidBlock):
        fresh.import_block(chain.db.get_block_bytes(chain.db.canonical_hash(at - 2)), far_future_ms())
    # (under its own rules it imports: the export test imports every block into a fresh database)


def test_a_transaction_signed_for_spec_11_is_refused_after_the_boundary_for_free(upgraded: tuple[Chain, int]) -> None:
    chain, _ = upgraded
    xt = signed(chain, "bob", "system.remark", b"old", spec=OLD)
    with pytest.raises(InvalidExtrinsic, match="bad signature"):
        chain.validate_transaction(xt, len(xt.encode()))
    good = signed(chain, "bob", "system.remark", b"new")
    assert chain.validate_transaction(good, len(good.encode())).fee > 0
