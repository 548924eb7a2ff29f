"""The compiled transfer runs (runtime/transfer_native.py, runtime/_transfer_native.c) against the executive's Python
path: random blocks of transfers with every case the compiled part must leave to Python (refusals, failed transfers,
dust, keep-alive, locks, a fee discount, mortal eras alive and not, fresh and drained recipients, tips, stale and future
nonces, a fee parameter changed between two extrinsics, a block that fills up, other calls between transfers) give the
very same writes in the same order, events, outcomes and refusals, and the same block counters, with the compiled part
on and off.

An attacker's view: each case below is one where a second implementation of a rule could take what the first refuses
or write what it would not. `test_each_case_is_left_to_python` asserts the compiled part applied none of them and left
no trace; the differential tests assert that nothing the chain keeps could tell the two apart."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.extrinsic import Era
from runtime import transfer_native
from runtime.context import GOVERNANCE
from runtime.errors import BlockFull
from runtime.governance import storage as governance
from runtime.governance.types import VoteLock
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.system import storage as system
from runtime.system.types import NONCE_MAX, AccountInfo
from tests.runtime import test_fused_transfer as fused
from tests.support.runtime_builder import UNIT, TestChain, acct

pytestmark = pytest.mark.skipif(not transfer_native.NATIVE, reason="runtime/_transfer_native.c is not built")

NAMES = fused.NAMES
SIGNERS = [*NAMES[:-1], *NAMES[:-1], "bob", "charlie", "alice"]
BROKEN = b"\xbb" * 32
"""An account whose stored record does not decode (its flags are not FRAME's new-logic bit)."""


def _native_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer_native, "_native", None)


def _apply_all(chain: TestChain, ex: Any, xts: list[Any], record: list[Any]) -> int:
    """Apply `xts` as `Executive.execute_block` does (a compiled run, else one extrinsic by `apply_extrinsic`),
    recording each outcome or refusal; how many the compiled runs applied."""
    native = 0
    i = 0
    while i < len(xts):
        applied = transfer_native.apply_run(chain.executive, ex, xts, i)
        if applied:
            record.extend(("outcome", repr(o)) for o in ex.outcomes[len(ex.outcomes) - applied:])
            native += applied
            i += applied
            continue
        xt = xts[i]
        try:
            outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()), signature_checked=True)
        except BttError as exc:  # InvalidExtrinsic, BlockFull, a value that would not encode
            record.append(("refused", type(exc).__name__, str(exc), ex.ctx.state.depth))
        else:
            record.append(("outcome", repr(outcome)))
        i += 1
    state = ex.ctx.state
    record.append(("counters", state.writes, ex.fees, ex.tips, ex.weight_used, ex.bytes_used, ex.transactions,
                   ex.ctx.phase, ex.ctx.fresh_account is None, len(state.changes())))
    return native


def _extrinsics(rng: random.Random, chain: TestChain, state: Overlay, nonces: dict[str, int], n: int) -> list[Any]:
    """`n` extrinsics drawn from the state as the block left it (the fused test's mix, plus eras, recipients that do
    not decode and other signers), each signer's nonce counted on as if all were taken."""
    out = []
    for _ in range(n):
        who, xt = fused._extrinsic(rng, chain, state, nonces)
        roll = rng.random()
        if roll < 0.04:
            xt = replace(xt, era=Era.mortal(64, chain.number + 1))  # alive
        elif roll < 0.06:
            xt = replace(xt, era=Era.mortal(64, chain.number + 40))  # born after the block: refused
        elif roll < 0.08:
            xt = chain.sign(who, "system.remark", b"hello", nonce=nonces[who])
        nonces[who] = xt.nonce + 1
        out.append(xt)
    return out


def _block(rng: random.Random, chain: TestChain, record: list[Any], count: int, fee_change: bool,
           limit_at: int | None) -> int:
    nonces = {n: chain.account(n).nonce for n in [*NAMES, "bob", "charlie", "alice"]}
    ex = chain.begin_block()
    native = 0
    top_ups = []
    for name in NAMES[:-1]:  # bob tops up the accounts the last block drained
        if chain.account(name).free < 20 * UNIT:
            top_ups.append(chain.sign("bob", "balances.transfer_keep_alive", acct(name), 20 * UNIT,
                                      nonce=nonces["bob"]))
            nonces["bob"] += 1
    native += _apply_all(chain, ex, top_ups, record)
    done = 0
    while done < count:
        if fee_change and done >= count // 2:  # governance changes a fee parameter between two extrinsics
            fee_change = False
            decoded = RUNTIME.decode_call(RUNTIME.call("params.set_parameter", "fees.per_byte", UNIT // 50_000))
            ex.ctx.state.run_in_snapshot(lambda d=decoded: RUNTIME.dispatch(ex.ctx, GOVERNANCE, d))
        if limit_at is not None and done >= limit_at:  # the block can hold only a few more extrinsics
            limit_at = None
            limit = max(100, len(ex.outcomes) + 3)  # the parameter's lowest
            decoded = RUNTIME.decode_call(RUNTIME.call("params.set_parameter", "block.max_extrinsics", limit))
            ex.ctx.state.run_in_snapshot(lambda d=decoded: RUNTIME.dispatch(ex.ctx, GOVERNANCE, d))
            first = system.account.get(ex.ctx.state, acct("charlie")).nonce  # a run that the limit cuts
            plenty = [chain.sign("charlie", "balances.transfer_allow_death", acct("alice"), UNIT, nonce=first + k)
                      for k in range(limit - len(ex.outcomes) + 3)]
            native += _apply_all(chain, ex, plenty, record)
        size = min(rng.choice([1, 2, 5, 12, 30]), count - done)
        for name in nonces:  # the nonces the block has left so far
            nonces[name] = system.account.get(ex.ctx.state, acct(name)).nonce
        native += _apply_all(chain, ex, _extrinsics(rng, chain, ex.ctx.state, nonces, size), record)
        done += size
    result = chain.end_block()
    record.append(("changes", list(result.changes.items())))
    record.append(("events", [(phase, event.to_record(), event.encode()) for phase, event in result.events]))
    record.append(("outcomes", [repr(o) for o in result.outcomes]))
    return native


def scenario(seed: int, blocks: int = 3, count: int = 150) -> tuple[list[Any], int]:
    """Everything the scenario's blocks did, in order; how many extrinsics compiled runs applied."""
    rng = random.Random(seed)
    chain = fused._chain()
    record: list[Any] = []
    chain.submit("bob", "staking.stake", "180d", 10_000 * UNIT)  # the fee discount from here on
    native = 0
    for b in range(blocks):
        if b == 1:  # a vote lock on user6 from here on (as a vote leaves it)
            chain.backend.data[governance.locks.key(acct("user6"))] = governance.locks.codec.encode(
                VoteLock(150 * UNIT, 1_000_000 + 30 * fused.DAY_MS))
        native += _block(rng, chain, record, count, fee_change=b == 1, limit_at=count // 2 if b == 2 else None)
        chain.advance_time(10 * fused.DAY_MS)
    return record, native


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_runs_do_what_the_python_path_does(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    compiled, native = scenario(seed)
    _native_off(monkeypatch)
    python, none = scenario(seed)
    assert none == 0
    assert len(compiled) == len(python)
    for i, (a, b) in enumerate(zip(compiled, python, strict=True)):
        assert a == b, f"record {i} differs:\n{a}\n{b}"
    outcomes = [e for e in compiled if e[0] == "outcome"]
    refused = [e for e in compiled if e[0] == "refused"]
    assert native > len(outcomes) // 3, (native, len(outcomes))  # the compiled part took a good share
    assert len(refused) >= 10 and any(e[1] == "BlockFull" for e in refused)
    assert any("born after" in e[2] for e in refused)


def test_the_fused_scenario_with_checked_signatures_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused test's scenario (pinned by its digest) through `apply_extrinsic(signature_checked=True)`, which tries
    a compiled run of one first: the same record with the compiled part on and off."""
    original = fused._apply

    def checked(chain: TestChain, ex: Any, xt: Any, record: list[Any]) -> bool:
        from btt_chain.primitives.errors import InvalidExtrinsic

        try:
            outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()), signature_checked=True)
        except InvalidExtrinsic as exc:
            record.append(("refused", str(exc)))
            return False
        record.append(("outcome", repr(outcome)))
        return True

    monkeypatch.setattr(fused, "_apply", checked)
    compiled = fused.scenario()
    _native_off(monkeypatch)
    python = fused.scenario()
    monkeypatch.setattr(fused, "_apply", original)
    assert compiled == python


def _case_chain() -> tuple[TestChain, Any]:
    chain = fused._chain()
    chain.submit("bob", "staking.stake", "180d", 10_000 * UNIT)
    chain.submit("alice", "balances.transfer_allow_death", acct("charlie"), UNIT)  # alice's nonce is 1: one is stale
    data = chain.backend.data
    data[governance.locks.key(acct("user6"))] = governance.locks.codec.encode(VoteLock(UNIT, 10**15))
    data[system.account.key(BROKEN)] = bytes(80)
    data[system.account.key(fused.RICH)] = system.account.codec.encode(AccountInfo(0, 2**128 - 10 * UNIT, 0, 0))
    last = acct(fused.LAST_NONCE)
    stored = system.account.get(Overlay(chain.backend), last)
    data[system.account.key(last)] = system.account.codec.encode(stored.replace(nonce=NONCE_MAX))
    return chain, chain.begin_block()


CASES = {
    "zero amount": ("alice", "balances.transfer_allow_death", "bob", 0, {}),
    "to itself": ("alice", "balances.transfer_allow_death", "alice", UNIT, {}),
    "more than spendable": ("alice", "balances.transfer_allow_death", "bob", 10**6 * UNIT, {}),
    "below the deposit at a fresh account": ("alice", "balances.transfer_allow_death", "fresh", 1, {}),
    "dust": ("user1", "balances.transfer_allow_death", "bob", "all-but-dust", {}),
    "keep-alive": ("user1", "balances.transfer_keep_alive", "bob", "all-but-dust", {}),
    "vesting signer": ("user5", "balances.transfer_allow_death", "bob", UNIT, {}),
    "vote-locked signer": ("user6", "balances.transfer_allow_death", "bob", UNIT, {}),
    "discounted signer": ("bob", "balances.transfer_allow_death", "alice", UNIT, {}),
    "stale nonce": ("alice", "balances.transfer_allow_death", "bob", UNIT, {"nonce": -1}),
    "future nonce": ("alice", "balances.transfer_allow_death", "bob", UNIT, {"nonce": 1}),
    "mortal era born later": ("alice", "balances.transfer_allow_death", "bob", UNIT, {"era": 40}),
    "fee not payable": ("alice", "balances.transfer_allow_death", "bob", UNIT, {"tip": 10**6 * UNIT}),
    "recipient does not decode": ("alice", "balances.transfer_allow_death", "broken", UNIT, {}),
    "recipient past u128": ("bob", "balances.transfer_allow_death", "rich", 20 * UNIT, {}),
    "signer at the last nonce": (fused.LAST_NONCE, "balances.transfer_allow_death", "bob", UNIT, {}),
    "another call": ("alice", "system.remark", None, None, {}),
    "transfer_all": ("alice", "balances.transfer_all", "bob", False, {}),
}


def _case(chain: TestChain, ex: Any, name: str) -> Any:
    signer, call, dest, amount, extra = CASES[name]
    nonce = system.account.get(ex.ctx.state, acct(signer)).nonce + extra.get("nonce", 0)
    if call == "system.remark":
        return chain.sign(signer, call, b"x", nonce=nonce)
    to = {"fresh": b"\x07" * 32, "broken": BROKEN, "rich": fused.RICH}.get(dest) or acct(dest)
    if amount == "all-but-dust":
        acc = system.account.get(ex.ctx.state, acct(signer))
        amount = acc.free - acc.frozen - chain.fee_of(signer, call, to, acc.free // 2) - 1
    xt = chain.sign(signer, call, to, amount, nonce=max(0, nonce), tip=extra.get("tip", 0))
    if "era" in extra:
        xt = replace(xt, era=Era.mortal(64, chain.number + extra["era"]))
    return xt


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_is_left_to_python(name: str) -> None:
    chain, ex = _case_chain()
    xt = _case(chain, ex, name)
    state = ex.ctx.state
    before = (dict(state.changes()), state.writes, list(ex.ctx.events), list(ex.outcomes), ex.fees, ex.weight_used)
    assert transfer_native.apply_run(chain.executive, ex, [xt], 0) == 0
    assert (dict(state.changes()), state.writes, list(ex.ctx.events), list(ex.outcomes), ex.fees,
            ex.weight_used) == before


def test_a_run_stops_where_the_block_is_full() -> None:
    chain, ex = _case_chain()
    decoded = RUNTIME.decode_call(RUNTIME.call("params.set_parameter", "block.max_extrinsics", 100))
    ex.ctx.state.run_in_snapshot(lambda: RUNTIME.dispatch(ex.ctx, GOVERNANCE, decoded))
    room = 100 - len(ex.outcomes)
    xts = [chain.sign("alice", "balances.transfer_allow_death", acct("charlie"), UNIT, nonce=1 + n) for n in range(120)]
    assert transfer_native.apply_run(chain.executive, ex, xts, 0) == room
    assert len(ex.outcomes) == 100 and ex.transactions == room
    with pytest.raises(BlockFull):
        chain.executive.apply_extrinsic(ex, xts[room], len(xts[room].encode()), signature_checked=True)


def test_a_snapshot_open_or_a_migration_turns_runs_off() -> None:
    chain, ex = _case_chain()
    xt = chain.sign("alice", "balances.transfer_allow_death", acct("charlie"), UNIT)
    ex.ctx.state.begin()
    assert transfer_native.apply_run(chain.executive, ex, [xt], 0) == 0
    ex.ctx.state.rollback()
    ex.migrating = True
    assert transfer_native.apply_run(chain.executive, ex, [xt], 0) == 0


def test_an_unknown_lock_source_turns_runs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.balances import locks

    chain, ex = _case_chain()
    xt = chain.sign("alice", "balances.transfer_allow_death", acct("charlie"), UNIT)
    monkeypatch.setattr(locks, "_SOURCES", [*locks._SOURCES, lambda ctx, who: 5])
    assert transfer_native.apply_run(chain.executive, ex, [xt], 0) == 0


def test_each_quiet_claim_holds() -> None:
    """QUIET_WITHOUT's claims, against the functions: with no entry for an account, a lock source answers None and a
    discount 0, whatever else the state holds for other accounts."""
    chain, ex = _case_chain()
    ctx = ex.ctx
    for fn, item in transfer_native.QUIET_WITHOUT.items():
        for who in (acct("alice"), acct("user7"), b"\x09" * 32):
            assert not item.contains(ctx.state, who)
            answer = fn(ctx, who) if fn in transfer_native.locks.lock_sources() else fn(ctx.state, who)
            assert answer in (None, 0), fn
        registered = (*transfer_native.locks.lock_sources(), *transfer_native.discounts.registered())
        assert fn in registered
