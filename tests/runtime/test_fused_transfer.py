"""The executive's fused fee-and-transfer path (`Executive._apply_transfer`, each account written once) against the
general one (the fee in a snapshot, then the call dispatched, `Executive._apply_call`): random blocks of balance
transfers and their edge cases give the very same state writes (in the same order), events, outcomes and refusals.

The edge cases: amounts of zero, one, around the existential deposit and what is spendable (dust burned, keep-alive
refused, the fee taken first), transfers to oneself, to fresh accounts (created) and to drained ones, tips, stale
and future nonces (refused), a signer frozen at genesis, one vesting, one with a vote lock (then the lock ended), a
staker with the fee discount, a fee parameter changed by governance between two extrinsics, and the values that do
not encode (a signer at the last nonce, a recipient a transfer would take past u128), where both paths must raise
the same error. `DIGEST` pins what the runtime before the fused path (commit f521dd3) gave for this scenario."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest

from btt_chain.primitives.errors import BttError, InvalidExtrinsic
from runtime import executive as executive_module
from runtime.context import GOVERNANCE
from runtime.governance import storage as governance
from runtime.governance.types import VoteLock
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.system import storage as system
from runtime.system.types import NONCE_MAX, AccountInfo
from runtime.vesting.types import VestingSchedule
from tests.support.runtime_builder import UNIT, GenesisBuilder, TestChain, acct

DIGEST = "ee23c3e65720f0851acff939ac78f69baa6b251c9dc4c129ad7411859f08715f"
"""sha256 of `scenario`'s record, computed by the runtime of commit f521dd3 (before the fused path)."""

DAY_MS = 86_400_000
NAMES = [f"user{i}" for i in range(12)]
ED = UNIT // 100
RICH = b"\xee" * 32
"""An account whose balance a large enough transfer would take past u128 (written into the state directly)."""
LAST_NONCE = "user11"
"""A signer whose account is at the last nonce (written into the state directly): its fee's nonce bump does not
encode."""


def _chain() -> TestChain:
    balances = {"alice": 1_000, "bob": 60_000, "charlie": 5_000, **{n: 20 + 53 * i for i, n in enumerate(NAMES)}}
    chain = GenesisBuilder(
        balances=balances,
        locked={"user3": 100, "user4": 30},
        vesting={"user5": (VestingSchedule(150 * UNIT, 1_000_000, 1_000_000, 1_000_000 + 40 * DAY_MS),)},
    ).build()
    return chain


def _amount(rng: random.Random, state: Overlay, who: str) -> int:
    acc = system.account.get(state, acct(who))  # as the block has left it so far
    spendable = max(0, acc.free - acc.frozen)
    if rng.random() < 0.5:
        return rng.randrange(1, max(2, spendable // 8))
    return rng.choice([
        0, 1, ED - 1, ED, ED + 1, spendable, spendable - ED, spendable + 1, acc.free, spendable // 2,
        rng.randrange(1, max(2, spendable)), 10**40,
        # the fee (a third to a half of ED here) is taken first: these leave the sender below ED (dust, KeepAlive)
        spendable - ED // 2, spendable - ED, spendable - 3 * ED // 2, acc.free - ED, acc.free - acc.frozen // 2,
    ]) % 2**128


def _extrinsic(rng: random.Random, chain: TestChain, state: Overlay, nonces: dict[str, int]) -> tuple[str, Any]:
    who = rng.choice([*NAMES[:-1], *NAMES[:-1], "bob", "charlie"])
    fresh = bytes([rng.randrange(256)]) * 32
    dest = rng.choice([acct(rng.choice(NAMES)), acct(rng.choice(NAMES)), acct(who), fresh, acct("bob")])
    name = rng.choice(["balances.transfer_allow_death", "balances.transfer_keep_alive"])
    if rng.random() < 0.05:
        name = rng.choice(["balances.transfer_all", "balances.burn"])
    if name == "balances.transfer_all":
        args: tuple[Any, ...] = (dest, rng.random() < 0.5)
    elif name == "balances.burn":
        args = (_amount(rng, state, who), rng.random() < 0.5)
    else:
        args = (dest, _amount(rng, state, who))
    nonce = nonces[who] + rng.choice([0] * 18 + [-1, 1])
    tip = rng.choice([0, 0, 0, 1, UNIT // 1000])
    return who, chain.sign(who, name, *args, nonce=max(0, nonce), tip=tip)


def _apply(chain: TestChain, ex: Any, xt: Any, record: list[Any]) -> bool:
    """Apply `xt`; record its outcome or why it was refused. True if it was included."""
    try:
        outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    except InvalidExtrinsic as exc:
        record.append(("refused", str(exc)))
        return False
    record.append(("outcome", repr(outcome)))
    return True


def _block(rng: random.Random, chain: TestChain, record: list[Any], count: int, change_fee_at: int | None) -> None:
    nonces = {n: chain.account(n).nonce for n in [*NAMES, "bob", "charlie"]}
    ex = chain.begin_block()
    for name in NAMES[:-1]:  # bob tops up the accounts the last block drained
        if chain.account(name).free < 20 * UNIT:
            xt = chain.sign("bob", "balances.transfer_keep_alive", acct(name), 20 * UNIT, nonce=nonces["bob"])
            nonces["bob"] += _apply(chain, ex, xt, record)
    for i in range(count):
        if i == change_fee_at:  # governance changes a fee parameter between two extrinsics of the block
            decoded = RUNTIME.decode_call(RUNTIME.call("params.set_parameter", "fees.per_byte", UNIT // 50_000))
            ex.ctx.state.run_in_snapshot(lambda d=decoded: RUNTIME.dispatch(ex.ctx, GOVERNANCE, d))
        who, xt = _extrinsic(rng, chain, ex.ctx.state, nonces)
        nonces[who] += _apply(chain, ex, xt, record)
    result = chain.end_block()
    record.append(("changes", list(result.changes.items())))  # in their order, deletions as None
    record.append(("events", [(phase, event.to_record(), event.encode()) for phase, event in result.events]))
    record.append(("outcomes", [repr(o) for o in result.outcomes]))


def _unencodable(chain: TestChain, record: list[Any]) -> None:
    """Transfers whose writes would not encode: each raises, in a block of its own on a copy of the chain that is then
    dropped (the accounts that make them are written into the copy's state directly: with the issuance consistent,
    no recipient's balance can pass u128)."""
    for signer, dest, amount in ((LAST_NONCE, acct("bob"), UNIT), ("bob", RICH, 20 * UNIT), ("bob", RICH, 5 * UNIT)):
        for name in ("balances.transfer_allow_death", "balances.transfer_keep_alive"):
            fork = chain.fork()
            data = fork.backend.data
            data[system.account.key(RICH)] = system.account.codec.encode(AccountInfo(0, 2**128 - 10 * UNIT, 0, 0))
            last = acct(LAST_NONCE)
            stored = system.account.get(Overlay(fork.backend), last)
            data[system.account.key(last)] = system.account.codec.encode(stored.replace(nonce=NONCE_MAX))
            ex = fork.begin_block()
            xt = fork.sign(signer, name, dest, amount)
            try:
                outcome = fork.executive.apply_extrinsic(ex, xt, len(xt.encode()))
            except BttError as exc:
                record.append(("raised", type(exc).__name__, str(exc), ex.ctx.state.depth))
            else:
                record.append(("outcome", repr(outcome)))


def scenario() -> list[Any]:
    """Everything the scenario's blocks did, in order."""
    rng = random.Random(20261126)
    chain = _chain()
    record: list[Any] = []
    chain.submit("bob", "staking.stake", "180d", 10_000 * UNIT)  # the fee discount from here on
    _block(rng, chain, record, 150, None)
    # a vote lock on user6 from the next block on (written between blocks, as a vote would leave it)
    chain.backend.data[governance.locks.key(acct("user6"))] = governance.locks.codec.encode(
        VoteLock(150 * UNIT, 1_000_000 + 30 * DAY_MS))
    chain.advance_time(10 * DAY_MS)
    _block(rng, chain, record, 150, 75)
    _unencodable(chain, record)
    chain.advance_time(25 * DAY_MS)  # the vote lock has ended, the vesting is nearly done
    _block(rng, chain, record, 150, None)
    return record


def digest(record: list[Any]) -> str:
    return hashlib.sha256(repr(record).encode()).hexdigest()


def test_the_fused_transfer_does_what_the_general_path_does(monkeypatch: pytest.MonkeyPatch) -> None:
    fused = scenario()
    monkeypatch.setattr(executive_module, "_FUSED_TRANSFERS", {})
    general = scenario()
    assert len(fused) == len(general)
    for i, (a, b) in enumerate(zip(fused, general, strict=True)):
        assert a == b, f"record {i} differs"
    kinds = [entry[0] for entry in fused]
    assert kinds.count("refused") >= 10 and kinds.count("raised") == 4  # the refusals and the unencodable ones ran
    failed = [entry[1] for entry in fused if entry[0] == "outcome" and "success=False" in entry[1]]
    for error in ("ZeroAmount", "SelfTransfer", "InsufficientBalance", "ExistentialDeposit", "KeepAlive"):
        assert any(error in e or _error_text(error) in e for e in failed), error


def test_the_scenario_gives_what_the_runtime_before_gave() -> None:
    assert digest(scenario()) == DIGEST


def _error_text(error: str) -> str:
    return {"ZeroAmount": "above zero", "SelfTransfer": "itself", "InsufficientBalance": "spendable",
            "ExistentialDeposit": "existential deposit", "KeepAlive": "would keep"}[error]
