"""A test vector for the transfer path: blocks of plain and edge-case balance calls (failing ones among them) give
the very state changes, events and outcomes they gave before the hot path was restructured.

The blocks are drawn from a seeded generator: transfers of every kind to old, new and the same accounts, amounts
of zero, below and around the existential deposit, around and above what is spendable, transfers of everything and
burns, tips, stale and future nonces (refused, nothing changed), signers locked at genesis, by vesting and by vote
locks (one added between two blocks), a staker with the fee discount, a fee parameter changed by governance between
two extrinsics of a block, and the clock moving so that locks unlock. `DIGEST` is the sha256 of every block's sorted
changes, event records and outcomes, and of each refused extrinsic's error, as the runtime before the change
(commit b6da47d) computed it; the test recomputes it with the runtime of now."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from btt_chain.primitives.errors import InvalidExtrinsic
from runtime.context import GOVERNANCE
from runtime.governance import storage as governance
from runtime.governance.types import VoteLock
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.system import storage as system
from runtime.vesting.types import VestingSchedule
from tests.support.runtime_builder import UNIT, GenesisBuilder, TestChain, acct

DIGEST = "6c6a17edb996a6ad135c6ac97cde2a17a67f095fff03261f765ffd54e63c7b23"
"""Computed by the runtime with the timestamp inherent (spec 9) running this very scenario. Before it, the runtime of
commit b6da47d (before the hot-path changes) gave 4ab0c0d5f203f68186548882a88566113ebb8e50af75700e382c76ceb8d6c3cf,
and the runtime of spec 9 gives that again when each block's inherent (its phase-0 event and outcome, and the
`Timestamp` keys it writes) is taken out and the phases after it shifted back: the inherent changed nothing else."""

DAY_MS = 86_400_000
NAMES = [f"user{i}" for i in range(10)]
ED = UNIT // 100


def _chain() -> TestChain:
    balances = {"alice": 1_000, "bob": 60_000, "charlie": 5_000, **{n: 2 + 53 * i for i, n in enumerate(NAMES)}}
    return GenesisBuilder(
        balances=balances,
        locked={"user3": 100, "user4": 30},
        vesting={"user5": (VestingSchedule(150 * UNIT, 1_000_000, 1_000_000, 1_000_000 + 40 * DAY_MS),)},
    ).build()


def _amount(rng: random.Random, state: Overlay, who: str) -> int:
    acc = system.account.get(state, acct(who))  # as the block has left it so far
    spendable = max(0, acc.free - acc.frozen)
    if rng.random() < 0.6:  # an ordinary amount
        return rng.randrange(1, max(2, spendable // 8))
    return rng.choice([
        0, 1, ED - 1, ED, ED + 1, spendable, spendable - ED, spendable + 1, acc.free, spendable // 2, 10**40,
        rng.randrange(1, max(2, spendable)),
        # the fee (a third to a half of ED here) is taken first: these leave the sender below ED (dust, KeepAlive)
        spendable - ED // 2, spendable - ED, spendable - 3 * ED // 2,
    ])


def _extrinsic(rng: random.Random, chain: TestChain, state: Overlay, nonces: dict[str, int]) -> Any:
    who = rng.choice([*NAMES, *NAMES, "bob", "charlie"])
    dest = rng.choice([acct(rng.choice(NAMES)), acct(who), bytes([rng.randrange(256)]) * 32, acct("bob")])
    kind = rng.randrange(8)
    if kind <= 2:
        call = ("balances.transfer_allow_death", dest, max(0, _amount(rng, state, who)))
    elif kind <= 4:
        call = ("balances.transfer_keep_alive", dest, max(0, _amount(rng, state, who)))
    elif kind == 5:
        call = ("balances.transfer_all", dest, rng.random() < 0.5)
    elif kind == 6:
        call = ("balances.burn", max(0, _amount(rng, state, who)) % 2**128, rng.random() < 0.5)
    else:
        call = ("balances.transfer_allow_death", dest, rng.choice([ED, 3 * UNIT]))
    if call[0] != "balances.burn" and call[0] != "balances.transfer_all":
        call = (call[0], call[1], call[2] % 2**128)
    nonce = nonces[who] + rng.choice([0, 0, 0, 0, 0, 0, 0, -1, 1])
    tip = rng.choice([0, 0, 0, 1, UNIT // 1000])
    return who, chain.sign(who, call[0], *call[1:], nonce=max(0, nonce), tip=tip)


def _run(rng: random.Random, chain: TestChain, digest: Any, count: int, change_fee_at: int | None = None) -> None:
    nonces = {n: chain.account(n).nonce for n in [*NAMES, "bob", "charlie"]}
    ex = chain.begin_block()
    for name in NAMES:  # bob tops up the accounts the last block drained
        if chain.account(name).free < 5 * UNIT:
            xt = chain.sign("bob", "balances.transfer_keep_alive", acct(name), 20 * UNIT, nonce=nonces["bob"])
            digest.update(repr(chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))).encode())
            nonces["bob"] += 1
    for i in range(count):
        if i == change_fee_at:  # governance changes a fee parameter between two extrinsics of the block
            decoded = RUNTIME.decode_call(RUNTIME.call("params.set_parameter", "fees.per_byte", UNIT // 50_000))
            ex.ctx.state.run_in_snapshot(lambda d=decoded: RUNTIME.dispatch(ex.ctx, GOVERNANCE, d))
        who, xt = _extrinsic(rng, chain, ex.ctx.state, nonces)
        try:
            outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
        except InvalidExtrinsic as exc:
            digest.update(f"refused {i}: {exc}".encode())
            continue
        nonces[who] += 1
        digest.update(repr(outcome).encode())
    result = chain.end_block()
    for key in sorted(result.changes):
        digest.update(key + (result.changes[key] or b"<deleted>"))
    for phase, event in result.events:
        digest.update(repr((phase, event.to_record(), event.encode())).encode())


def scenario_digest() -> str:
    rng = random.Random(20261125)
    chain = _chain()
    digest = hashlib.sha256()
    chain.submit("bob", "staking.stake", "180d", 10_000 * UNIT)  # the fee discount from here on
    _run(rng, chain, digest, 200)
    # a vote lock on user6 from the next block on (written between blocks, as a vote would leave it)
    lock_key = governance.locks.key(acct("user6"))
    chain.backend.data[lock_key] = governance.locks.codec.encode(VoteLock(150 * UNIT, 1_000_000 + 30 * DAY_MS))
    chain.advance_time(10 * DAY_MS)
    _run(rng, chain, digest, 200, change_fee_at=100)
    chain.advance_time(25 * DAY_MS)  # the vote lock has ended, the vesting is nearly done
    _run(rng, chain, digest, 200)
    return digest.hexdigest()


def test_transfer_blocks_give_what_they_gave_before() -> None:
    assert scenario_digest() == DIGEST
