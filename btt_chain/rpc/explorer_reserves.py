"""What makes up an account's reserved balance, row by row (issue 53: the explorer said "reserved 9 BTT" above a
Reserved table that said "none"). `reserve_rows` reads every runtime module that reserves balance, at one block,
beside the account's `reserved` read at the same block, so the page's total and its rows come from one answer:

- bonds: the active bond (validator or provider) and each unbonding chunk (reserved until withdrawn);
- staking: each term deposit's principal;
- governance: the deposit of each open referendum the account proposed (released or burned at the close);
- multisig: the deposit of each call awaiting approval that the account approved first;
- compute: per job it requested, the escrow still held (its unassigned price while open, each assignment's portion
  while neither final nor late, unspent posting deposits), its place's rent deposit and its decoy-reveal deposit,
  and the deposit of each model it registered: `runtime.compute.invariants.held_by_compute`'s rules, job by job;
- proxy: the deposit for its proxies (spec 15).

A payment's fee passes through the reserve within its own call, so none stays. Whatever the rows do not cover is
returned as `unattributed` (never hidden): a scan cut short by its budget, or a reserve of a module this view does
not read yet.

Cost: the account's own records (bond, staking deposits under its key prefix, proxies) plus at most
`RESERVE_SCAN_ITEMS` index entries and records read across the open referenda, pending multisig calls, open and
maturing jobs and registered models; `complete` is false when the budget ran out first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runtime.bonds import storage as bonds
from runtime.compute import rent
from runtime.compute import storage as compute
from runtime.compute.types import AT_RISK_STATES, JOB_OPEN, LATE
from runtime.governance import storage as governance
from runtime.multisig import storage as multisig
from runtime.overlay import Overlay
from runtime.proxy import storage as proxy
from runtime.staking import storage as staking
from runtime.staking.logic import TIERS
from runtime.system import storage as system

RESERVE_SCAN_ITEMS = 20_000
"""Index entries and records one call reads beyond the account's own (see the module's docstring)."""


@dataclass(frozen=True)
class ReserveRow:
    """One part of an account's reserved balance: the module that holds it, what for, how much, and what it names
    (a job id, a referendum id, a model hash, a call hash; None for a bond or a stake)."""

    source: str
    what: str
    amount: int
    ref: str | None = None
    until_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "what": self.what, "amount": str(self.amount), "ref": self.ref,
                "untilMs": self.until_ms}


@dataclass(frozen=True)
class Reserves:
    """The account's `reserved` and the rows that make it up, read at one block."""

    reserved: int
    rows: tuple[ReserveRow, ...]
    complete: bool

    @property
    def attributed(self) -> int:
        return sum(r.amount for r in self.rows)

    @property
    def unattributed(self) -> int:
        """What the rows leave out (0 when they add up to `reserved`; negative would mean rows counted twice)."""
        return self.reserved - self.attributed


class _Budget:
    def __init__(self, items: int) -> None:
        self.left = items

    def take(self, it: Iterator[Any]) -> Iterator[Any]:
        for item in it:
            if self.left <= 0:
                return
            self.left -= 1
            yield item

    @property
    def spent(self) -> bool:
        return self.left <= 0


def reserve_rows(state: Overlay, who: bytes, scan_items: int = RESERVE_SCAN_ITEMS) -> Reserves:
    """Every reserve of `who` in `state`, by module (see the module's docstring), and its `reserved`."""
    budget = _Budget(scan_items)
    rows = [*_bonds(state, who), *_staking(state, who), *_governance(state, who, budget),
            *_multisig(state, who, budget), *_compute(state, who, budget), *_proxy(state, who)]
    return Reserves(system.account.get(state, who).reserved, tuple(r for r in rows if r.amount), not budget.spent)


def _bonds(state: Overlay, who: bytes) -> list[ReserveRow]:
    led = bonds.ledger.get(state, who)
    if led is None:
        return []
    role = "validator" if bonds.validators.get(state, who) is not None else \
        "provider" if compute.providers.get(state, who) is not None else None
    rows = [ReserveRow("bonds", f"bond ({role})" if role else "bond", led.active)]
    rows += [ReserveRow("bonds", "unbonding", c.amount, until_ms=c.unlock_at_ms) for c in led.unlocking]
    return rows


def _staking(state: Overlay, who: bytes) -> list[ReserveRow]:
    prefix = staking.deposits.prefix + who  # an owner's deposits sit under one key prefix
    rows = []
    for _key, raw in state.iterate(prefix):
        d = staking.deposits.codec.decode(raw)
        tier = TIERS[d.tier] if d.tier < len(TIERS) else str(d.tier)
        rows.append(ReserveRow("staking", f"stake #{d.id} ({tier})", d.amount, str(d.id), d.unlock_ms))
    return rows


def _governance(state: Overlay, who: bytes, budget: _Budget) -> list[ReserveRow]:
    rows = []
    for ref_id, _ in budget.take(governance.open_referenda.items(state)):
        ref = governance.referenda.get(state, ref_id)
        if ref is not None and ref.proposer == who:
            rows.append(ReserveRow("governance", f"referendum #{ref_id} deposit", ref.deposit, str(ref_id)))
    return rows


def _multisig(state: Overlay, who: bytes, budget: _Budget) -> list[ReserveRow]:
    rows = []
    n = len(multisig.pending.prefix)
    for key, raw in budget.take(state.iterate(multisig.pending.prefix)):
        pending = multisig.pending.codec.decode(raw)
        if pending.depositor == who:
            call_hash = "0x" + key[n + 32:].hex()
            rows.append(ReserveRow("multisig", f"multisig call {call_hash[:10]}… deposit", pending.deposit,
                                   call_hash))
    return rows


def _compute_job_ids(state: Overlay, budget: _Budget) -> list[int]:
    """The jobs that can hold anything: the open ones (the deadline index) and those with a verified assignment
    (the maturity index); a closed job holds no other assignment at risk, rent or decoy deposit."""
    ids: dict[int, None] = {}
    for key, _ in budget.take(state.iterate(compute.deadlines.prefix)):
        ids[int.from_bytes(key[len(compute.deadlines.prefix) + 8:][:8], "big")] = None
    for key, _ in budget.take(state.iterate(compute.maturing.prefix)):
        ids[int.from_bytes(key[len(compute.maturing.prefix) + 8:][:8], "big")] = None
    return list(ids)


def _compute(state: Overlay, who: bytes, budget: _Budget) -> list[ReserveRow]:
    rows = []
    for job_id in _compute_job_ids(state, budget):
        if budget.spent:
            break
        budget.left -= 1
        job = compute.jobs.get(state, job_id)
        if job is None or job.requester != who:
            continue
        held = job.unassigned_escrow if job.status == JOB_OPEN else 0
        held += sum(a.portion for a in job.assignments if a.state in AT_RISK_STATES and a.state != LATE)
        held += sum(a.posting_deposit for a in job.assignments)
        rows.append(ReserveRow("compute", f"job #{job_id} escrow", held, str(job_id)))
        place = rent.place_rents.get(state, job_id)
        if place is not None:
            rows.append(ReserveRow("compute", f"job #{job_id} place rent deposit", place.deposit, str(job_id)))
        private = compute.private_jobs.get(state, job_id)
        if private is not None and private.deposit:
            rows.append(ReserveRow("compute", f"job #{job_id} decoy reveal deposit", private.deposit, str(job_id)))
    for model, reg in budget.take(compute.models.items(state)):
        if reg.owner == who:
            rows.append(ReserveRow("compute", f"model {reg.spec.name} deposit", reg.deposit, "0x" + bytes(model).hex()))
    return rows


def _proxy(state: Overlay, who: bytes) -> list[ReserveRow]:
    record = proxy.proxies.get(state, who)
    deposit = getattr(record, "deposit", 0) if record is not None else 0
    return [ReserveRow("proxy", "proxies deposit", deposit)] if deposit else []
