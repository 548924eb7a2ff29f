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
                call = ("balances.transfer_allow_death", acct(rng.choice(NAMES)), rng.randint(1, 5_000) * UNIT)
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


def test_invariants_hold_through_a_randomized_marketplace() -> None:
    """Assets, payments, incentives, compute jobs and referenda interleaved at random; the builder checks the
    issuance invariants after every block, and every kind of call must have succeeded at least once."""
    from runtime.assets import storage as assets
    from runtime.compute.model import model_hash
    from runtime.compute.reference import reference_spec
    from runtime.context import GOVERNANCE
    from runtime.governance import storage as governance
    from runtime.modules import RUNTIME
    from runtime.payments import storage as payments

    chain = GenesisBuilder(
        balances={n: 300_000 for n in NAMES},
        module_balances={"community_incentives": (1_000, 0), "ecosystem_fund": (10_000, 0)},
        institutions={"dave": 100_000},
        representatives=("eve",),
    ).build()
    chain.dispatch(GOVERNANCE, "roles.appoint_verifier", acct("eve"))
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "preventive_visit", acct("eve"))
    chain.dispatch(GOVERNANCE, "roles.appoint_oracle", "referral", acct("charlie"))  # a second home to choose
    oracles = {"eve": "preventive_visit", "charlie": "referral"}
    model = model_hash(reference_spec("breast-cancer-v1"))
    rng = random.Random(20261123)
    nonces = {n: chain.account(n).nonce for n in NAMES}
    kinds = (
        "register", "verify", "tokenize", "asset_transfer", "offer", "accept", "pay", "invoice", "pay_invoice",
        "refund", "attest", "redeem", "post_job", "cancel_job", "propose", "vote",
    )
    homes = random.Random(20261126)  # the oracles' and patients' picks: the other kinds' draws stay as they were
    chosen = 0
    succeeded: dict[str, int] = dict.fromkeys(kinds, 0)
    evidence = 0
    for _ in range(80):
        ex = chain.begin_block()
        state = chain.view()
        n_assets = assets.next_asset_id.get(state)
        n_offers = assets.next_offer_id.get(state)
        n_refs = governance.next_id.get(state)
        for _ in range(rng.randint(0, 6)):
            who = rng.choice(NAMES)
            kind = rng.choice(kinds)
            asset = rng.randrange(n_assets) if n_assets else 0
            record = assets.assets.get(state, asset) if n_assets else None
            owner = next((n for n in NAMES if record is not None and acct(n) == record.owner), who)
            if kind in ("tokenize", "asset_transfer", "offer"):
                who = owner  # the owner holds the fractions it has not sold
            if kind == "register":
                call = ("assets.register", rng.randrange(5), bytes([rng.randrange(256)]) * 32,
                        rng.randint(1, 50_000) * UNIT)
            elif kind == "verify":
                who = "eve"
                call = ("assets.verify", asset, rng.random() < 0.9, bytes(32))
            elif kind == "tokenize":
                call = ("assets.tokenize", asset, f"T{asset}X{rng.randrange(99)}", rng.randint(10**4, 10**6), 0, 1)
            elif kind == "asset_transfer":
                call = ("assets.transfer", asset, acct(rng.choice(NAMES)), rng.randint(1, 1_000))
            elif kind == "offer":
                call = ("assets.offer", asset, rng.randint(1, 1_000), rng.randint(1, 1_000) * UNIT)
            elif kind == "accept":
                call = ("assets.accept", rng.randrange(n_offers) if n_offers else 0)
            elif kind == "pay":
                call = ("payments.pay", acct(rng.choice(NAMES)), rng.randint(1, 1_000) * UNIT, bytes(32))
            elif kind == "invoice":
                due = 1_000_000 + (chain.slot + 100) * 1000 + chain.time_offset_ms
                call = ("payments.create_invoice", acct(who), rng.randint(1, 500) * UNIT, due, bytes(32))
            elif kind == "pay_invoice":
                call = ("payments.pay_invoice", rng.randrange(1, payments.next_invoice_id.get(state) + 1))
            elif kind == "refund":
                call = ("payments.refund", rng.randrange(1, payments.next_payment_id.get(state) + 1),
                        rng.randint(1, 300) * UNIT)
            elif kind == "attest":
                who, evidence = homes.choice(list(oracles)), evidence + 1
                call = ("incentives.attest", acct(rng.choice(NAMES[:4])), oracles[who], evidence.to_bytes(32, "big"))
            elif kind == "redeem":
                call = ("incentives.redeem", rng.randint(1, 200))
            elif kind == "post_job":
                call = ("compute.post_job", model, bytes(32), bytes([rng.randrange(1, 256)]) * 32, rng.randint(1, 64),
                        rng.randint(1, 100) * UNIT, 1, 60_000)
            elif kind == "cancel_job":
                from runtime.compute import storage as compute

                job_id = rng.randrange(compute.next_job_id.get(state) or 1)
                job = compute.jobs.get(state, job_id)
                who = next((n for n in NAMES if job is not None and acct(n) == job.requester), who)
                call = ("compute.cancel_job", job_id)
            elif kind == "propose":
                spend = RUNTIME.call("treasury.spend", "ecosystem_fund", acct(rng.choice(NAMES)),
                                     rng.randint(1, 500) * UNIT)
                call = ("governance.propose", spend, bytes(32), 100 * UNIT, False)
            else:
                call = ("governance.vote", rng.randrange(n_refs) if n_refs else 0, rng.random() < 0.7,
                        rng.randint(1, 100_000) * UNIT)
            xt = chain.sign(who, *call, nonce=nonces[who])
            try:
                outcome = chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
            except InvalidExtrinsic:
                continue
            nonces[who] += 1
            succeeded[kind] += outcome.success
        if homes.random() < 0.3:  # a patient chooses its home oracle among those that attested it (or is refused)
            who = homes.choice(NAMES[:4])
            xt = chain.sign(who, "incentives.choose_oracle", acct(homes.choice(list(oracles))), nonce=nonces[who])
            nonces[who] += 1
            chosen += chain.executive.apply_extrinsic(ex, xt, len(xt.encode())).success
        chain.end_block()  # asserts the invariants
        chain.advance_time(rng.choice([0, 0, 5_000, 40_000]))
    assert all(succeeded[k] > 0 for k in kinds), [k for k in kinds if not succeeded[k]]
    assert chosen > 0  # some patient chose its home: the incentives invariants ran over a choice
