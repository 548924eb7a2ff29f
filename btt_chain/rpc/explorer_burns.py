"""Burns by source for the explorer, each burn counted once.

Issuance falls in one place only: `runtime.balances.logic._reduce_issuance`, which adds to `System.total_burned`
and is always followed by one ledger event, `balances.Burned` (a burn or a slash of reserved balance to nobody)
or `balances.DustLost` (a sender left below the existential deposit). So the ledger events of a range of blocks
add up to exactly what `total_burned` grew by over it: they are what is counted.

Other modules report the same burns again in their own events (`assets.OfferAccepted.burned`,
`payments.Paid.burned`, `governance.VotingClosed.deposit_burned`, `treasury.MilestoneBurned.amount`, ...):
those only name the source. Within one phase of a block (an extrinsic, initialization or finalization), a
report claims the latest ledger burn of the same amount emitted before it; a report emitted later claims it
again from an earlier claimant (the caller emits after its callee: `evidence.Slashed` after `bonds.BondSlashed`
names the offence, not the bond), and a ledger burn no report claims stays `balances` (a `balances.burn` call)
or `dust`. However a report matches, the amount counted is the ledger's, so the sources are disjoint and add
up to the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from btt_chain.primitives.codec import Field
from btt_chain.primitives.errors import DecodeError
from btt_chain.rpc.render import event_type

LEDGER_BURN = ("balances", "Burned")
LEDGER_DUST = ("balances", "DustLost")
LEDGER_KINDS = (LEDGER_BURN, LEDGER_DUST)
"""The events `_reduce_issuance` is followed by: one per burn, with the amount in field 1."""
REPORT_FIELDS = ("burned", "deposit_burned")
"""Fields in which other modules report a burn (claims on a ledger burn, never counted themselves)."""
REPORT_FIELDS_BY_KIND = {("treasury", "MilestoneBurned"): "amount", ("compute", "InputsNotSealed"): "fee"}
"""Events that report a burn in a field of another name: a treasury milestone's `amount`; the missed-assignment
`fee` burned from a private job's price when its clinic never sealed the inputs."""
GENESIS = "genesis"
DUST = "dust"
UNCLAIMED = "balances"

SOURCE_LABELS = {
    GENESIS: "milestones burned at genesis (treasury)",
    UNCLAIMED: "balances.burn calls",
    DUST: "dust (an account left below the existential deposit)",
    "assets": "asset fees (burned part)",
    "bonds": "bond slashes",
    "compute": "job fees (burned part) and place rent",
    "evidence": "validator slashes for offences",
    "governance": "deposits of referenda nobody backed",
    "payments": "payment fees (burned part)",
    "staking": "staking yield burned at unstaking",
    "treasury": "treasury milestone burns",
}
"""What each source means, for the page; a source not listed is shown by its module name."""


def report_fields(module: str, name: str) -> tuple[tuple[int, Field], ...]:
    """(position in the wire fields, field) of each field in which this kind of event reports a burn; none for
    the ledger events themselves and for events of unknown kind."""
    key = (module, name)
    if key not in _REPORT_FIELDS:
        cls = event_type(module, name)
        if cls is None or key in LEDGER_KINDS or module == "balances":
            _REPORT_FIELDS[key] = ()
        else:
            names = set(REPORT_FIELDS) | ({REPORT_FIELDS_BY_KIND[key]} if key in REPORT_FIELDS_BY_KIND else set())
            _REPORT_FIELDS[key] = tuple((i, f) for i, (n, f) in enumerate(cls.WIRE) if n in names)
    return _REPORT_FIELDS[key]


_REPORT_FIELDS: dict[tuple[str, str], tuple[tuple[int, Field], ...]] = {}


def is_burn_kind(module: str, name: str) -> bool:
    """Whether events of this kind are ledger burns or reports of one (the only ones decoded when counting)."""
    return (module, name) in LEDGER_KINDS or bool(report_fields(module, name))


def _amount(record: Any, i: int, f: Field) -> int:
    try:
        value = f.from_wire(record[3][i])
    except (DecodeError, IndexError, TypeError, ValueError):
        return 0
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


_LEDGER_AMOUNT: dict[tuple[str, str], tuple[int, Field]] = {}


def ledger_amount(record: Any) -> int:
    """The base units a ledger burn record took out of issuance (0 if it is not one)."""
    key = (record[1], record[2])
    if key not in LEDGER_KINDS:
        return 0
    if key not in _LEDGER_AMOUNT:
        cls = event_type(*key)
        assert cls is not None, key
        _LEDGER_AMOUNT[key] = next((i, f) for i, (n, f) in enumerate(cls.WIRE) if n == "amount")
    return _amount(record, *_LEDGER_AMOUNT[key])


def reported(record: Any) -> int:
    """What a report record says was burned (the sum of its report fields); 0 for anything else."""
    return sum(_amount(record, i, f) for i, f in report_fields(record[1], record[2]))


def attribute(records: Iterable[Any]) -> dict[str, int]:
    """Burns by source of the records of one block (in emission order, any kinds; the phase is field 0): every
    ledger burn counted once under the source that reported it last in its phase (see the module docstring)."""
    totals: dict[str, int] = {}
    for phase_records in _by_phase(records):
        ledger: list[list[Any]] = []  # [amount, source or None]
        for record in phase_records:
            amount = ledger_amount(record)
            if amount:
                ledger.append([amount, DUST if (record[1], record[2]) == LEDGER_DUST else None])
                continue
            claim = reported(record)
            if claim:
                _claim(ledger, claim, str(record[1]))
        for amount, source in ledger:
            key = UNCLAIMED if source is None else source
            totals[key] = totals.get(key, 0) + amount
    return totals


def _claim(ledger: Sequence[list[Any]], amount: int, module: str) -> None:
    """Name `module` the source of the latest unclaimed ledger burn of `amount`, else of the latest one another
    module claimed (an outer caller reporting its callee's burn); dust is never claimed."""
    claimed = None
    for entry in reversed(ledger):
        if entry[0] != amount or entry[1] == DUST or entry[1] == module:
            continue
        if entry[1] is None:
            entry[1] = module
            return
        if claimed is None:
            claimed = entry
    if claimed is not None:
        claimed[1] = module


def _by_phase(records: Iterable[Any]) -> list[list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for record in records:
        groups.setdefault(record[0], []).append(record)
    return list(groups.values())
