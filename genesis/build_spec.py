"""Writing a chain spec from a base (`btt-chain build-spec`, and `genesis build`, which only fixes the start time):
a new id and name, consensus figures, the start time, and the chain's own validators with their bonds and
hash-chain commitments. Pure: keys are resolved and commitments computed by the caller (the CLI); this module
edits the document and says what it moved."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.errors import GenesisError
from genesis.loader import genesis_document, materialise
from genesis.spec import ChainSpec


@dataclass(frozen=True)
class NewValidator:
    """One validator of the spec being built."""

    account: bytes
    label: str
    """How the spec names it: an SS58 address, or a dev name on dev and local chains."""
    bond: int
    """Base units."""
    commitment: bytes
    """The end of its session key's hash chain (generation 0) at the spec's own `consensus.hash_chain_length`."""


@dataclass(frozen=True)
class SpecChanges:
    """What build-spec changes in its base; None leaves the base's value."""

    id: str | None = None
    name: str | None = None
    chain_type: str | None = None
    slot_ms: int | None = None
    epoch_slots: int | None = None
    hash_chain_length: int | None = None
    genesis_time_ms: int | None = None
    validators: tuple[NewValidator, ...] = ()
    """Empty: the base's validators stay."""
    fee_margin: int = 0
    """Base units a validator holds beside its bond (given with it where it is given its bond): what its stash pays
    fees with (session keys, unbonding, a rotation of its hash chain)."""


def hash_chain_length_after(base: ChainSpec, changes: SpecChanges) -> int:
    """The `consensus.hash_chain_length` the built spec will have: what its validators' commitments are computed at."""
    return changes.hash_chain_length or base.consensus.hash_chain_length


def build_spec_doc(base: ChainSpec, changes: SpecChanges, source: str) -> tuple[dict[str, Any], list[str]]:
    """The base's document with `changes` applied, and one line per thing moved beside what was asked (a holding
    given to a validator, a checkpoint dropped). Not yet validated: `parse_chain_spec` says what is wrong with it.

    Validators replace the base's. Each must hold its bond (and `fee_margin` beside it) in a liquid allocation row:
    one that holds less is given the rest in the first liquid row, taken from that row's largest holder that is not a
    new validator (a row's amount is fixed by its percentage, so the row's total never changes). The base's other
    holders, its old validators among them, keep their allocations."""
    doc = copy.deepcopy(base.raw)
    notes: list[str] = []
    for key, value in (("id", changes.id), ("name", changes.name), ("chain_type", changes.chain_type)):
        if value is not None:
            doc[key] = value
    consensus = doc.setdefault("consensus", {})
    for field, figure in (("slot_ms", changes.slot_ms), ("epoch_slots", changes.epoch_slots),
                          ("hash_chain_length", changes.hash_chain_length)):
        if figure is not None:
            consensus[field] = figure
    if changes.validators:
        _fund_validators(base, doc, changes.validators, notes, changes.fee_margin)
        doc["validators"] = [
            {"account": v.label, "bond": format_btt(v.bond, base.token.decimals),
             "hash_chain_commitment": "0x" + v.commitment.hex()}
            for v in changes.validators
        ]
    if changes.id is not None or changes.validators:
        doc["description"] = (f"{doc['name']}: built by `btt-chain build-spec` from {source} "
                              f"({len(doc['validators'])} validators).")
    if changes.genesis_time_ms is not None:
        doc = materialise(doc, changes.genesis_time_ms)
    if "checkpoint" in doc and genesis_document(doc) != genesis_document(base.raw):
        del doc["checkpoint"]  # a block of the base's chain, which this genesis does not start
        notes.append(f"dropped the base's trusted checkpoint {base.checkpoint}: it is a block of another genesis")
    return doc, notes


def _fund_validators(base: ChainSpec, doc: dict[str, Any], validators: tuple[NewValidator, ...],
                     notes: list[str], fee_margin: int = 0) -> None:
    dec = base.token.decimals
    liquid_rows = [i for i, row in enumerate(base.allocations) if row.release.kind == "liquid"]
    if not liquid_rows:
        raise GenesisError(f"{base.id} has no liquid allocation row for validators to bond from")
    held: dict[bytes, int] = {}
    where: dict[bytes, str] = {}
    for row in base.allocations:
        for h in row.holders:
            where[h.account] = f"allocation row {row.index} ({row.category})"
            if row.release.kind == "liquid":
                held[h.account] = held.get(h.account, 0) + h.amount
    first = liquid_rows[0]
    row = base.allocations[first]
    raw_holders: list[dict[str, Any]] = doc["allocations"][first]["holders"]
    amounts = [h.amount for h in row.holders]
    new_accounts = {v.account for v in validators}
    for v in validators:
        need = v.bond + fee_margin - held.get(v.account, 0)
        if need <= 0:
            continue
        if v.account in where and v.account not in held:
            raise GenesisError(f"validator {v.label} holds {where[v.account]}, which is not liquid: a validator bonds "
                               "from a liquid holding, and an account holds in one row only")
        funder = max((j for j, h in enumerate(row.holders) if h.account not in new_accounts),
                     key=lambda j: amounts[j], default=None)
        if funder is None or amounts[funder] <= need:
            raise GenesisError(
                f"the liquid row {row.index} ({row.category}) cannot fund validator {v.label}'s bond: it needs "
                f"{format_btt(need, dec)} BTT more, and the row's largest other holder has "
                f"{format_btt(0 if funder is None else amounts[funder], dec)} BTT")
        amounts[funder] -= need
        raw_holders[funder]["amount"] = format_btt(amounts[funder], dec)
        mine = next((j for j, h in enumerate(row.holders) if h.account == v.account), None)
        if mine is None and v.account in held:
            raise GenesisError(f"validator {v.label} holds less than its bond in {where[v.account]}: bond what it "
                               "holds, or give it more there")
        if mine is None:
            raw_holders.append({"account": v.label, "amount": format_btt(need, dec), "note": "validator's bond"})
        else:
            amounts[mine] += need
            raw_holders[mine]["amount"] = format_btt(amounts[mine], dec)
        held[v.account] = v.bond + fee_margin
        source = row.holders[funder].label
        notes.append(f"validator {v.label} given {format_btt(need, dec)} BTT to bond (and pay fees with) in allocation "
                     f"row {row.index} "
                     f"({row.category}), from {source if len(source) <= 50 else source[:49] + '…'}")
