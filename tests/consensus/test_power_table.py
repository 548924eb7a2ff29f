"""The epoch power table: weight = 1/2 stake share + 1/2 min(work share, stake share), exact integer
rounding, the under-1/3-stake coalition bound, encoding, display shares, and clear errors on bad input."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.consensus.power import SCALE, PowerEntry, power_table, stake_share, total_weight, work_share

BTT = 10**18


def acct(i: int) -> bytes:
    return b"a" + i.to_bytes(31, "big")


def key(i: int) -> bytes:
    return b"k" + i.to_bytes(31, "big")


def vals(*bonds: int) -> list[tuple[bytes, bytes, int]]:
    return [(acct(i), key(i), b) for i, b in enumerate(bonds)]


def test_work_share_is_capped_at_the_stake_share() -> None:
    # 10% of the bond and 90% of the credit: 0.05 + min(0.9, 0.1) / 2 = 0.1.
    table = power_table(vals(10 * BTT, 90 * BTT), {acct(0): 90, acct(1): 10})
    assert table[0].weight == SCALE // 10
    assert table[1].weight == SCALE // 2  # 0.45 + min(0.1, 0.9) / 2
    assert total_weight(table) == 6 * SCALE // 10


def test_full_weight_when_work_matches_stake() -> None:
    table = power_table(vals(1, 3), {acct(0): 10, acct(1): 30})
    assert [e.weight for e in table] == [SCALE // 4, 3 * SCALE // 4]
    assert total_weight(table) == SCALE


def test_no_credit_at_all_gives_half_the_stake_share() -> None:
    table = power_table(vals(1, 2), {})
    assert [e.weight for e in table] == [SCALE // 6, SCALE // 3]  # floor(SCALE / 6) = 166...6
    assert [e.credit for e in table] == [0, 0]


def test_zero_bond_gets_zero_weight_whatever_its_work() -> None:
    table = power_table(vals(0, 5), {acct(0): 3 * 10**30, acct(1): 10**30})
    assert table[0].weight == 0
    # Its credit still counts in the validators' total: the bonded one has s = 1, o = 1/4.
    assert table[1].weight == SCALE // 2 + SCALE // 8


def test_everybody_unbonded() -> None:
    assert [e.weight for e in power_table(vals(0, 0), {acct(0): 5})] == [0, 0]
    assert power_table([], {}) == ()


def test_credits_of_non_validators_are_ignored() -> None:
    with_outsider = power_table(vals(1, 1), {acct(0): 1, acct(7): 10**20})
    without = power_table(vals(1, 1), {acct(0): 1})
    assert with_outsider == without
    assert [e.weight for e in without] == [SCALE // 2, SCALE // 4]


def test_entries_keep_input_order_and_are_deterministic() -> None:
    triples = vals(5, 1, 9, 3)
    credits = {acct(0): 7, acct(2): 100, acct(3): 1}
    table = power_table(triples, credits)
    assert [e.account for e in table] == [t[0] for t in triples]
    assert power_table(triples, credits) == table
    reordered = power_table(list(reversed(triples)), credits)
    assert tuple(reversed(reordered)) == table  # a validator's weight does not depend on the order


def test_entry_round_trips_through_the_codec() -> None:
    entry = power_table(vals(10**25), {acct(0): 3})[0]
    assert PowerEntry.decode(entry.encode()) == entry
    assert entry == PowerEntry(account=acct(0), session_key=key(0), bond=10**25, credit=3, weight=SCALE)


def test_display_shares() -> None:
    table = power_table(vals(1, 3), {acct(0): 3, acct(1): 1})
    assert [stake_share(e, table) for e in table] == [SCALE // 4, 3 * SCALE // 4]
    assert [work_share(e, table) for e in table] == [3 * SCALE // 4, SCALE // 4]
    empty = power_table(vals(0, 0), {})
    assert stake_share(empty[0], empty) == 0 and work_share(empty[0], empty) == 0


@pytest.mark.parametrize(
    ("validators", "credits", "message"),
    [
        ([(acct(0), key(0))], {}, "expected \\(account, session_key, bond\\)"),
        ([(b"short", key(0), 1)], {}, "account must be 32 bytes"),
        ([(acct(0), b"short", 1)], {}, "session key of .* must be 32 bytes"),
        ([(acct(0), key(0), -1)], {}, "bond of .* must be a non-negative integer"),
        ([(acct(0), key(0), 1.0)], {}, "bond of .* must be a non-negative integer"),
        ([(acct(0), key(0), 1)], {acct(0): -1}, "credit of .* must be a non-negative integer"),
        ([(acct(0), key(0), 1), (acct(0), key(1), 1)], {}, "appears twice"),
        ([(acct(0), key(0), 1), (acct(1), key(0), 1)], {}, "session key .* appears twice"),
    ],
)
def test_bad_input_is_rejected(
    validators: list[tuple[bytes, bytes, int]], credits: dict[bytes, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        power_table(validators, credits)


amounts = st.integers(0, 10**26)


@settings(max_examples=400, deadline=None)
@given(
    coalition_bonds=st.lists(amounts, min_size=1, max_size=6),
    honest_bonds=st.lists(amounts, max_size=8),
    slack=st.integers(0, 10**26),
    data=st.data(),
)
def test_a_coalition_under_a_third_of_stake_stays_under_half_the_weight(
    coalition_bonds: list[int], honest_bonds: list[int], slack: int, data: st.DataObject
) -> None:
    # Make the honest stake strictly more than twice the coalition's: coalition share a < 1/3.
    missing = max(2 * sum(coalition_bonds) - sum(honest_bonds) + 1, 0)
    bonds = coalition_bonds + honest_bonds + ([missing + slack] if missing else [])
    triples = vals(*bonds)
    c = len(coalition_bonds)
    assert Fraction(sum(bonds[:c]), sum(bonds)) < Fraction(1, 3)
    # The coalition fakes any amount of work; honest validators do any amount, possibly none.
    credits = {
        acct(i): data.draw(st.integers(0, 10**30) if i < c else st.integers(0, 10**24), label=f"credit {i}")
        for i in range(len(bonds))
    }
    table = power_table(triples, credits)
    total = total_weight(table)
    assert 0 < total <= SCALE
    coalition = sum(e.weight for e in table[:c])
    honest_count = len(table) - c
    # Exactly, coalition weight < honest weight; each floored honest weight loses less than one unit.
    assert coalition < (total - coalition) + honest_count
    assert Fraction(coalition, total) < Fraction(1, 2) + Fraction(honest_count, total)
    if max(bonds) < 10**12:  # rounding is far below the margin: the bound holds strictly
        assert Fraction(coalition, total) < Fraction(1, 2)


@settings(max_examples=300, deadline=None)
@given(bonds=st.lists(amounts, max_size=10), credit_values=st.lists(st.integers(0, 10**30), min_size=10, max_size=10))
def test_weights_never_exceed_scale_and_track_the_exact_formula(bonds: list[int], credit_values: list[int]) -> None:
    credits = {acct(i): credit_values[i] for i in range(len(bonds))}
    table = power_table(vals(*bonds), credits)
    assert total_weight(table) <= SCALE
    big_b = sum(bonds)
    big_c = sum(credits.values())
    for e in table:
        if e.bond == 0:
            assert e.weight == 0
            continue
        s = Fraction(e.bond, big_b)
        o = Fraction(e.credit, big_c) if big_c else Fraction(0)
        exact = SCALE * (s / 2 + min(o, s) / 2)
        assert e.weight == exact.__floor__()
        assert e.weight <= stake_share(e, table) + 1  # work at most doubles the half-stake weight
