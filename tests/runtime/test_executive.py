"""Executive: inclusion checks, fee charging and split, snapshots, limits, mortality, and a randomized run."""

from __future__ import annotations

import random

import pytest

from btt_chain.primitives import scale
from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Era, Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.context import ROOT, BlockEnv, Origin
from runtime.executive import BlockFull
from runtime.fees.events import FeesDistributed
from runtime.modules import RUNTIME
from runtime.system import events as system_events
from runtime.system import storage as system
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    GENESIS_HASH,
    UNIT,
    GenesisBuilder,
    acct,
    assert_dispatch_noop,
    assert_ok,
)

V = RUNTIME.spec_version


@pytest.fixture
def chain():
    return GenesisBuilder().build()


def _apply(chain, xt: Extrinsic):
    ex = chain.begin_block()
    try:
        return chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    finally:
        chain.end_block()


def _rejected(chain, xt: Extrinsic, reason: str) -> None:
    before = chain.snapshot()
    ex = chain.begin_block()
    with pytest.raises(InvalidExtrinsic, match=reason):
        chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    chain._current = None  # the block is abandoned: nothing was committed
    assert chain.snapshot() == before


def test_fee_is_base_plus_bytes_plus_weight(chain):
    xt = chain.sign("bob", "balances.transfer_allow_death", acct("charlie"), UNIT)
    out = _apply(chain, xt)
    base, per_byte, per_weight = (DEFAULT_PARAMS[k][0] for k in ("fees.base", "fees.per_byte", "fees.per_weight"))
    assert out.fee == base + per_byte * len(xt.encode()) + per_weight * 100


def test_fees_split_fifty_thirty_twenty_and_tip_to_author(chain):
    tip = 7 * UNIT // 1000
    stakers0 = chain.account(module_account("staker_rewards")).free
    dev0 = chain.account(module_account("development_fund")).free
    alice0 = chain.account("alice").free
    out = chain.submit("bob", "balances.transfer_allow_death", acct("charlie"), UNIT, tip=tip)
    assert_ok(out)
    to_author, to_stakers = out.fee * 5000 // 10_000, out.fee * 3000 // 10_000
    to_dev = out.fee - to_author - to_stakers
    assert chain.account("alice").free == alice0 + to_author + tip
    assert chain.account(module_account("staker_rewards")).free == stakers0 + to_stakers
    assert chain.account(module_account("development_fund")).free == dev0 + to_dev
    assert FeesDistributed(acct("alice"), to_author + tip, to_stakers, to_dev) in chain.events()


def test_failed_call_pays_fee_and_rolls_back_its_writes(chain):
    bob0 = chain.account("bob")
    out = chain.submit("bob", "balances.transfer_allow_death", acct("charlie"), 10**6 * UNIT)
    assert not out.success and "InsufficientBalance" in (out.error or "")
    bob = chain.account("bob")
    assert bob.nonce == bob0.nonce + 1 and bob.free == bob0.free - out.fee
    names = [type(e).__name__ for e in chain.events()]
    assert "ExtrinsicFailed" in names and "Transfer" not in names


def test_bad_signature_is_rejected(chain):
    xt = chain.sign("bob", "balances.transfer_allow_death", acct("charlie"), UNIT)
    forged = xt.replace(signature=bytes(64))
    _rejected(chain, forged, "bad signature")


def test_signature_for_another_chain_is_rejected(chain):
    call = RUNTIME.call("balances.transfer_allow_death", acct("charlie"), UNIT)
    xt = sign_extrinsic(dev_keypair("bob"), call, 0, b"\x01" * 32, RUNTIME.spec_version)
    _rejected(chain, xt, "bad signature")


def test_stale_and_future_nonces_are_rejected(chain):
    assert_ok(chain.submit("bob", "balances.transfer_allow_death", acct("charlie"), UNIT))
    _rejected(chain, chain.sign("bob", "balances.transfer_allow_death", acct("charlie"), UNIT, nonce=0), "stale nonce")
    _rejected(chain, chain.sign("bob", "balances.transfer_allow_death", acct("charlie"), UNIT, nonce=5), "future nonce")


def test_cannot_pay_fee_is_rejected(chain):
    pair = dev_keypair("ferdie")  # no balance at all
    call = RUNTIME.call("balances.transfer_allow_death", acct("bob"), UNIT)
    xt = sign_extrinsic(pair, call, 0, GENESIS_HASH, RUNTIME.spec_version)
    _rejected(chain, xt, "cannot pay fee")


def test_unknown_call_and_bad_arguments_are_rejected(chain):
    from btt_chain.primitives.extrinsic import Call

    pair = dev_keypair("bob")
    for call, reason in [
        (Call(99, 0, b""), "no call at index"),
        (Call(1, 0, b"\x00short"), "argument dest"),
        (Call(1, 0, b"\x01" + acct("charlie") + b"\x04"), "argument dest"),  # MultiAddress::Index is refused
        (Call(1, 0, b"\x00" + acct("charlie")), "argument value"),  # the amount is missing
        (Call(1, 0, b"\x00" + acct("charlie") + b"\x01\x00"), "argument value"),  # a non-minimal compact
        (Call(1, 0, b"\x00" + acct("charlie") + b"\x04\x00"), "bytes after"),  # trailing bytes
    ]:
        xt = sign_extrinsic(pair, call, 0, GENESIS_HASH, RUNTIME.spec_version)
        _rejected(chain, xt, reason)


def test_mortal_extrinsic_valid_inside_its_era_only(chain):
    for _ in range(3):
        chain.run_block([])
    birth = 2
    birth_hash = system.block_hash.get(chain.view(), birth)
    call = RUNTIME.call("balances.transfer_allow_death", acct("charlie"), UNIT)
    era = Era.mortal(4, birth)
    assert (era.period, era.phase) == (4, 2)
    xt = sign_extrinsic(dev_keypair("bob"), call, 0, GENESIS_HASH, V, era=era, birth_hash=birth_hash)
    assert_ok(_apply(chain, xt))  # block 4, inside [2, 6)
    for _ in range(2):
        chain.run_block([])
    # at block 7 the era's birth is block 6, whose hash the signer never signed (Substrate's CheckMortality)
    late = sign_extrinsic(dev_keypair("bob"), call, 1, GENESIS_HASH, V, era=era, birth_hash=birth_hash)
    _rejected(chain, late, "bad signature")


def test_an_era_born_after_the_block_is_rejected(chain):
    call = RUNTIME.call("balances.transfer_allow_death", acct("charlie"), UNIT)
    era = Era.mortal(64, 40)  # phase 40: no block at or before 1 has it
    xt = sign_extrinsic(dev_keypair("bob"), call, 0, GENESIS_HASH, V, era=era, birth_hash=GENESIS_HASH)
    _rejected(chain, xt, "born after block")


def test_mortal_extrinsic_signed_on_another_fork_is_rejected(chain):
    chain.run_block([])
    call = RUNTIME.call("balances.transfer_allow_death", acct("charlie"), UNIT)
    xt = sign_extrinsic(dev_keypair("bob"), call, 0, GENESIS_HASH, V, era=Era.mortal(8, 1), birth_hash=b"\x99" * 32)
    _rejected(chain, xt, "bad signature")


def test_block_weight_limit_stops_inclusion():
    chain = GenesisBuilder(params={"block.max_weight": 250}).build()
    ex = chain.begin_block()
    xts = [chain.sign("bob", "balances.transfer_allow_death", acct("charlie"), UNIT, nonce=n) for n in range(3)]
    chain.executive.apply_extrinsic(ex, xts[0], len(xts[0].encode()))
    chain.executive.apply_extrinsic(ex, xts[1], len(xts[1].encode()))
    with pytest.raises(BlockFull):
        chain.executive.apply_extrinsic(ex, xts[2], len(xts[2].encode()))
    chain.end_block()
    assert chain.account("bob").nonce == 2


def test_remark_emits_hash(chain):
    from btt_chain.primitives.hashing import blake2b_256

    assert_ok(chain.submit("bob", "system.remark", b"hello"))
    assert system_events.Remarked(acct("bob"), blake2b_256(b"hello")) in chain.events()


def test_set_parameter_needs_governance_and_stays_in_range(chain):
    from runtime.params import storage as params

    assert_dispatch_noop(chain, Origin.signed(acct("bob")), "params.set_parameter", "fees.base", 1, error="BadOrigin")
    assert_dispatch_noop(chain, ROOT, "params.set_parameter", "fees.base", UNIT, error="outside its range")
    assert_dispatch_noop(chain, ROOT, "params.set_parameter", "no.such", 1, error="UnknownParameter")
    chain.dispatch(ROOT, "params.set_parameter", "fees.base", 5)
    assert params.get_param(chain.view(), "fees.base") == 5
    out = chain.submit("bob", "params.set_parameter", "fees.base", 6)
    assert not out.success and "BadOrigin" in (out.error or "")


def test_invariants_hold_over_a_long_randomized_run():
    names = ["alice", "bob", "charlie", "dave", "eve"]
    chain = GenesisBuilder(balances={n: 1_000 for n in names}).build()
    rng = random.Random(7)
    nonces = {n: 0 for n in names}
    for _ in range(40):
        ex = chain.begin_block()
        for _ in range(rng.randint(0, 12)):
            who = rng.choice(names)
            kind = rng.random()
            if kind < 0.7:
                args = ("balances.transfer_allow_death", acct(rng.choice(names)), rng.randint(0, 300) * UNIT // 7)
            elif kind < 0.85:
                args = ("balances.burn", rng.randint(0, 50) * UNIT // 3, rng.random() < 0.5)
            else:
                args = ("balances.transfer_all", acct(rng.choice(names)), rng.random() < 0.5)
            xt = chain.sign(who, *args, nonce=nonces[who])
            try:
                chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
            except InvalidExtrinsic:
                continue
            nonces[who] += 1
        chain.end_block()  # asserts the invariants


def test_next_block_env_uses_parent_hash_for_birth(chain):
    env = BlockEnv(1, GENESIS_HASH, 1, 0, acct("alice"), speculative=True)
    ex = chain.executive.initialize_block(chain.backend, env)
    assert system.block_hash.get(ex.state, 0) == GENESIS_HASH


def test_outcomes_are_frames_events_fee_paid_then_success_or_the_module_error(chain):
    """FRAME's shapes: `TransactionPayment.TransactionFeePaid{who, actual_fee, tip}`, then `System.ExtrinsicSuccess
    {dispatch_info}` or `System.ExtrinsicFailed{dispatch_error: Module{pallet, error}, dispatch_info}`, encoded as
    FRAME encodes them (the bytes substrate-interface and @polkadot/api decode)."""
    from runtime.balances.errors import ERRORS as BALANCE_ERRORS
    from runtime.balances.errors import InsufficientBalance
    from runtime.metadata.indices import error_index, event_index
    from runtime.system.dispatch_types import MODULE, DispatchErrorValue, DispatchInfo
    from runtime.transaction_payment.events import TransactionFeePaid

    bob = dev_keypair("bob").public
    out = chain.submit("bob", "balances.transfer_keep_alive", acct("charlie"), UNIT, tip=7)
    weight = RUNTIME.lookup("balances.transfer_keep_alive")[1].weight
    events = [e for e in chain.events() if e.MODULE in ("system", "transaction_payment")]
    success = system_events.ExtrinsicSuccess(DispatchInfo(weight))
    assert events[-2:] == [TransactionFeePaid(bob, out.fee + 7, 7), success]
    assert success.encode() == scale.encode_compact(weight) + b"\x00\x00\x00"  # Compact 0, Normal, Pays::Yes

    out = chain.submit("bob", "balances.transfer_keep_alive", acct("charlie"), chain.account("bob").free)
    assert not out.success and (out.error or "").startswith("balances.InsufficientBalance")
    failed = [e for e in chain.events() if isinstance(e, system_events.ExtrinsicFailed)]
    pallet, error = error_index("balances", "InsufficientBalance")
    assert (pallet, error) == (RUNTIME.lookup("balances.transfer_keep_alive")[0].index,
                               BALANCE_ERRORS.index(InsufficientBalance))
    assert failed == [system_events.ExtrinsicFailed(DispatchErrorValue(MODULE, pallet, error), DispatchInfo(weight))]
    assert failed[0].encode()[:6] == bytes([3, pallet, error, 0, 0, 0])
    assert DispatchErrorValue.decode(failed[0].dispatch_error.encode()) == failed[0].dispatch_error
    assert event_index(failed[0]) == (0, 1)  # System, variant 1: FRAME's place for ExtrinsicFailed
