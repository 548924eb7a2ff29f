"""The fees the documentation states are the ones the runtime charges: docs/costs.md's transfer table is what
`scripts/fee_table.py` computes with the runtime's own fee code on each preset, and the figures the README, the
economics page and the devnet page repeat are that table's (as is the vote's fee the README names).

A figure that drifts (a fee parameter changed in a preset, a call's weight re-measured, the extrinsic's encoding
grown) fails here, with the command that rewrites the table.
"""

from __future__ import annotations

from pathlib import Path

from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.keys import dev_keypair
from scripts.fee_table import AMOUNT, PRESETS, VARIANTS, price, price_call, table

REPO = Path(__file__).resolve().parents[2]
COSTS = REPO / "docs" / "costs.md"
UNIT = 10**18


def between(text: str, begin: str, end: str) -> list[str]:
    assert text.count(begin) == 1 and text.count(end) == 1, f"one {begin} and one {end} expected"
    return text.split(begin + "\n", 1)[1].split("\n" + end, 1)[0].splitlines()


def transfer_fee() -> str:
    """The default transfer's fee on btt-21m, as the pages print it ("0.00259")."""
    return format_btt(price("btt-21m", VARIANTS[0]).fee)


def test_the_costs_page_lists_the_fees_the_runtime_charges() -> None:
    inside = between(COSTS.read_text(), "<!-- fees:begin -->", "<!-- fees:end -->")
    assert inside == table(), "regenerate docs/costs.md's table with: .venv/bin/python scripts/fee_table.py"


def test_every_page_that_repeats_the_transfer_fee_repeats_the_table() -> None:
    fee = transfer_fee()
    priced = price("btt-21m", VARIANTS[0])
    stated = {
        "README.md": [f"the fee it paid ({fee} BTT)",
                      f"a transfer {fee} BTT ({priced.length} bytes, weight {priced.weight})"],
        "docs/economics.md": [f"A transfer pays {fee} BTT on `btt-21m`, `btt-210m` and the dev chain ({priced.length} "
                              f"bytes, weight\n  {priced.weight}"],
        "docs/devnet.md": [f"{fee} BTT for this transfer"],
    }
    for page, phrases in stated.items():
        text = (REPO / page).read_text()
        for phrase in phrases:
            assert phrase in text, f"{page} no longer says {phrase!r}"


def test_the_presets_charge_a_transfer_alike_and_the_variants_differ_as_stated() -> None:
    fees = {p: price(p, VARIANTS[0]).fee for p in PRESETS}
    assert len(set(fees.values())) == 1, fees  # "the fee parameters of btt-210m and of the dev chain are the same"
    ed, sr, ecdsa, immortal, staker = (price("btt-21m", v) for v in VARIANTS)
    assert sr == ed  # an sr25519 signature is as long as an ed25519 one
    assert ecdsa.length == ed.length + 1 and ecdsa.fee - ed.fee == UNIT // 100_000  # one byte more
    assert immortal.length == ed.length - 1  # the immortal era is one byte, a mortal one two
    assert staker.fee == ed.fee - ed.fee * 2000 // 10_000  # 20% off, rounded in the chain's favour


def test_the_amount_changes_the_fee_only_past_a_compact_boundary() -> None:
    """docs/costs.md: an amount of 2^64 base units or more adds a byte."""
    bob = dev_keypair("bob").public
    small = price_call("btt-21m", "balances.transfer_keep_alive", bob, UNIT)
    assert price_call("btt-21m", "balances.transfer_keep_alive", bob, AMOUNT) == small
    assert price_call("btt-21m", "balances.transfer_keep_alive", bob, 2**64 - 1).length == small.length
    assert price_call("btt-21m", "balances.transfer_keep_alive", bob, 2**64).length == small.length + 1
    assert price_call("btt-21m", "balances.transfer_allow_death", bob, AMOUNT) == small


def test_the_readme_states_the_votes_fee() -> None:
    vote = price_call("btt-21m", "governance.vote", 0, True, 100_000 * UNIT)
    assert f"a vote about {format_btt(vote.fee)} BTT" in (REPO / "README.md").read_text()
