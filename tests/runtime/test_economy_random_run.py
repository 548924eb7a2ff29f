"""A long randomized run across the token-economics modules: transfers, burns, vesting, term staking,
bonds and fee shares, with time moving on. The builder checks the invariants after every block:
total issuance == sum of all balances == genesis supply - burns, and no lock above what is held."""

from __future__ import annotations

import random

from btt_chain.primitives.errors import InvalidExtrinsic
from runtime.vesting.types import VestingSchedule
from tests.support.runtime_builder import UNIT, GenesisBuilder, acct

NAMES = ["alice", "bob", "charlie", "dave", "eve"]
DAY_MS = 2_592_000_000 // 30


def test_invariants_hold_through_a_randomized_economy() -> None:
    genesis_ms = 1_000_000
    schedule = VestingSchedule(200_000 * UNIT, genesis_ms, genesis_ms + 30 * DAY_MS, genesis_ms + 400 * DAY_MS)
    chain = GenesisBuilder(
        balances={n: 300_000 for n in NAMES},
        locked={"dave": 200_000},
        module_balances={"community_incentives": (50, 0)},  # small on purpose: yields run the pool dry
        vesting={"dave": (schedule,)},
    ).build()
    rng = random.Random(20261122)
    nonces = dict.fromkeys(NAMES, 0)
    deposits: dict[str, list[int]] = {n: [] for n in NAMES}
    next_deposit = 0
    tiers = ["30d", "90d", "180d", "365d", "1095d"]
    minimums = [1_000, 5_000, 10_000, 50_000, 100_000]
    kinds = ("transfer", "burn", "stake", "unstake", "claim", "vest", "bond", "unbond", "withdraw", "vested")
    succeeded: dict[str, int] = dict.fromkeys(kinds, 0)
    for _ in range(60):
        ex = chain.begin_block()
        for _ in range(rng.randint(0, 8)):
            who = rng.choice(NAMES)
            kind = rng.choice(kinds)
            if kind == "transfer":
                call = ("balances.transfer", acct(rng.choice(NAMES)), rng.randint(1, 5_000) * UNIT)
            elif kind == "burn":
                call = ("balances.burn", rng.randint(1, 100) * UNIT, True)
            elif kind == "stake":
                t = rng.randrange(len(tiers))
                call = ("staking.stake", tiers[t], rng.randint(minimums[t], minimums[t] * 2) * UNIT)
            elif kind == "unstake":
                call = ("staking.unstake", rng.choice(deposits[who]) if deposits[who] else 0)
            elif kind == "claim":
                call = ("staking.claim_fee_share",)
            elif kind == "vest":
                call = ("vesting.vest",)
            elif kind == "bond":
                call = ("bonds.bond", rng.randint(1, 1_000) * UNIT)
            elif kind == "unbond":
                call = ("bonds.unbond", rng.randint(1, 500) * UNIT)
            elif kind == "withdraw":
                call = ("bonds.withdraw_unbonded",)
            else:
                now = 1_000_000 + (chain.number + 1) * 1000 + chain.time_offset_ms
                call = ("vesting.vested_transfer", acct(rng.choice(NAMES)), rng.randint(1, 1_000) * UNIT,
                        now + DAY_MS, now + 100 * DAY_MS)
            xt = chain.sign(who, *call, nonce=nonces[who])
            try:
                outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
            except InvalidExtrinsic:
                continue
            nonces[who] += 1
            succeeded[kind] += outcome.success
            if kind == "stake" and outcome.success:
                deposits[who].append(next_deposit)
            if kind == "stake":
                next_deposit += outcome.success
        chain.end_block()  # asserts the invariants
        chain.advance_time(rng.choice([0, DAY_MS, 10 * DAY_MS, 40 * DAY_MS]))
    # the run must have exercised every kind of call, not just failed them all
    assert all(succeeded[k] > 0 for k in kinds), succeeded
