"""Per-epoch credit totals (spec 20): the compute house's whole weight is a sum over its window's epochs, and it is
exactly the sum of what each provider weighs, however the work window moves.

Randomized over many schedules: providers earning in random epochs, the work window (`consensus.work_window_epochs`)
raised and cut by governance between epochs, reads at random heads and windows, and chains that took spec 20 late
(their older epochs only in the providers' histories until compute's migration 3 -> 4, which runs in steps between
the epochs' maturities, has filled the totals from them). Each read is held to a brute-force count of every credit
ever matured: the epochs in the window at or above the floor. Also: nothing lingering below the floor counts for a
voter (a provider who stopped earning keeps old buckets in its history), the totals stay as many as the epochs the
window can reach, and the histories are read only until the migration has ended."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from runtime.compute import credit, storage
from runtime.compute.credit_totals_migration import CREDIT_TOTALS
from runtime.compute.invariants import _credit_totals
from runtime.compute.types import CreditBucket
from runtime.overlay import DictState, Overlay
from runtime.storage_version import put_storage_version

PROVIDERS = [bytes([i]) * 32 for i in range(1, 9)]


def fresh_state(version: int) -> Overlay:
    """A compute state at `version` (4: the totals whole; 3: a chain that took spec 20 before compute's migration
    3 -> 4 ended)."""
    state = Overlay(DictState())
    put_storage_version(state, "compute", version)
    return state


def counted(ledger: list[tuple[bytes, int, int]], floor: int, upto: int, window: int,
            who: bytes | None = None) -> int:
    """Brute force: every credit matured in the window's epochs at or above the floor (of `who`, or of everyone)."""
    if upto < 0 or window <= 0:
        return 0
    return sum(c for p, e, c in ledger if (who is None or p == who) and upto - window < e <= upto and e >= floor)


def drained(steps: Iterator[None]) -> tuple[int, int]:
    yields = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return int(done.value), yields
        yields += 1


def run_schedule(seed: int) -> None:
    rng = random.Random(seed)
    took = rng.random() < 0.6  # a chain that took spec 20 at epoch `since`, or one born at it
    since = rng.randint(1, 40) if took else 0
    state = fresh_state(3) if took else fresh_state(credit.TOTALS_VERSION)
    ledger: list[tuple[bytes, int, int]] = []
    for p in PROVIDERS:  # credit from before the upgrade, as spec 19 stored it
        history = tuple(CreditBucket(e, rng.randint(1, 50)) for e in sorted(rng.sample(range(since), min(5, since))))
        if history:
            storage.credit_history.put(state, p, history)
            ledger += [(p, b.epoch, b.credit) for b in history]
    cursor: bytes | None = b"" if took else None
    window = rng.randint(1, 30)
    floor = 0
    active = rng.sample(PROVIDERS, rng.randint(1, len(PROVIDERS)))
    for epoch in range(since + 1, since + 121):
        if rng.random() < 0.1:
            window = rng.randint(1, 40)  # governance moves the work window
        if rng.random() < 0.05:
            active = rng.sample(PROVIDERS, rng.randint(1, len(PROVIDERS)))  # some stop earning, others start
        credit.raise_floor(state, epoch, window)
        floor = max(floor, epoch - window)
        assert storage.credit_floor.get(state) == floor
        earning = [p for p in active if rng.random() < 0.7]
        # the migration's steps fall before, between and after an epoch's maturities (it may carry over blocks)
        at = rng.randint(0, len(earning)) if cursor is not None and rng.random() < 0.5 else None
        for i in range(len(earning) + 1):
            if i == at and cursor is not None:
                cursor, _ = CREDIT_TOTALS.step(state, cursor, rng.randint(1, 3))
                if cursor is None:
                    put_storage_version(state, "compute", credit.TOTALS_VERSION)  # as the runner does after the last
            if i < len(earning):
                amount = rng.randint(1, 10**6)
                credit.add_matured(state, earning[i], epoch - 1, amount, window)
                ledger.append((earning[i], epoch - 1, amount))
        assert _credit_totals(state) == [], seed
        assert len(list(storage.credit_totals.items(state))) <= epoch - floor + 1
        for _ in range(3):
            upto = epoch + rng.randint(-3, 1)
            read_window = rng.randint(1, window + 2)
            whole = credit.total_in_window(state, upto, read_window)
            each = sum(credit.recent_credit(state, p, upto, read_window) for p in PROVIDERS)
            assert whole == each == counted(ledger, floor, upto, read_window), (seed, epoch, upto, read_window)
            for p in PROVIDERS[:2]:
                assert credit.recent_credit(state, p, upto, read_window) == counted(
                    ledger, floor, upto, read_window, p)
            in_steps, _ = drained(credit.total_in_window_in_steps(state, upto, read_window, 3))
            assert in_steps == whole
    if took:
        assert cursor is None, "120 epochs with a step in half of them: the migration of 8 histories ended"


@pytest.mark.parametrize("seed", range(40))
def test_the_house_total_is_every_voter_s_credit_over_random_schedules(seed: int) -> None:
    run_schedule(seed)


def test_credit_a_provider_stopped_earning_below_the_floor_counts_for_nobody() -> None:
    state = fresh_state(credit.TOTALS_VERSION)
    old, active = PROVIDERS[0], PROVIDERS[1]
    credit.add_matured(state, old, 5, 1_000, 10)  # then it stops: its bucket is never pruned from its history
    for epoch in range(7, 40):
        credit.raise_floor(state, epoch, 10)
        credit.add_matured(state, active, epoch - 1, 1, 10)
    assert storage.credit_history.get(state, old) == (CreditBucket(5, 1_000),)  # still there
    # governance raises the work window to 100: the old bucket is inside it, but below the floor (29)
    assert storage.credit_floor.get(state) == 29
    assert credit.recent_credit(state, old, 39, 100) == 0
    assert credit.total_in_window(state, 39, 100) == credit.recent_credit(state, active, 39, 100) == 10


def test_the_histories_are_read_only_until_the_migration_has_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    state = fresh_state(3)
    storage.credit_history.put(state, PROVIDERS[0], (CreditBucket(45, 7),))
    for epoch in range(51, 60):
        credit.raise_floor(state, epoch, 30)
        credit.add_matured(state, PROVIDERS[1], epoch - 1, 2, 30)
    assert list(storage.credit_totals.items(state)) == []  # nothing totalled before the migration begins
    assert credit.total_in_window(state, 59, 30) == 7 + 2 * 9  # from the histories
    assert CREDIT_TOTALS.count(state) == 2
    assert CREDIT_TOTALS.step(state, b"", 5) == (None, 2)
    assert storage.credit_totals_passed.get(state) is None
    put_storage_version(state, "compute", credit.TOTALS_VERSION)
    assert CREDIT_TOTALS.count(state) == 0

    def refused(_state: Overlay) -> Iterator[tuple[bytes, tuple[CreditBucket, ...]]]:
        raise AssertionError("the histories were read after the migration")

    monkeypatch.setattr(storage.credit_history, "items", refused)
    assert credit.total_in_window(state, 59, 30) == 7 + 2 * 9
    assert credit.total_in_window(state, 59, 14) == 2 * 9  # (45, 59]: epoch 45 left out


def test_credit_maturing_between_steps_is_totalled_once_whichever_side_of_the_cursor() -> None:
    state = fresh_state(3)
    for i, p in enumerate(PROVIDERS[:4]):
        storage.credit_history.put(state, p, (CreditBucket(3, 100), CreditBucket(12, 10 + i)))
    storage.credit_floor.put(state, 10)  # epoch 3's credit counts for nobody any more
    cursor, done = CREDIT_TOTALS.step(state, b"", 2)
    assert (cursor, done) == (PROVIDERS[1], 2) and storage.credit_totals_passed.get(state) == PROVIDERS[1]
    assert dict(storage.credit_totals.items(state)) == {12: 10 + 11}
    credit.add_matured(state, PROVIDERS[0], 12, 1_000, 30)  # passed: straight to its total
    credit.add_matured(state, PROVIDERS[3], 12, 5_000, 30)  # not yet: in its history, which the next step reads
    assert dict(storage.credit_totals.items(state)) == {12: 10 + 11 + 1_000}
    assert _credit_totals(state) == []
    assert CREDIT_TOTALS.step(state, cursor, 5) == (None, 2)
    assert storage.credit_totals_passed.get(state) is None  # nothing of the migration left in the state
    put_storage_version(state, "compute", credit.TOTALS_VERSION)
    assert dict(storage.credit_totals.items(state)) == {12: 10 + 11 + 12 + 13 + 1_000 + 5_000}
    assert _credit_totals(state) == []
    assert credit.total_in_window(state, 12, 5) == sum(credit.recent_credit(state, p, 12, 5) for p in PROVIDERS)


def test_before_the_migration_begins_nothing_is_totalled() -> None:
    state = fresh_state(3)  # spec 20's code runs, its migration has not begun
    credit.add_matured(state, PROVIDERS[0], 10, 5, 30)
    assert list(storage.credit_totals.items(state)) == []
    assert credit.total_in_window(state, 10, 30) == 5
    assert _credit_totals(state) == []
