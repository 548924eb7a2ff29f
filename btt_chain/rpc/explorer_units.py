"""The unit of every amount a client reads in an event or a call, so that a page shows each in its own unit.

On the wire every large amount is a `u128`, whatever it counts: BTT base units, fractions of an asset's token,
work credit (verified multiply-accumulates, never BTT), or a parameter's value. `units()` says which, by event
field and call argument: every `u128` field is listed (BTT unless named otherwise below), and so are the `u64`
fields that count incentive points. A unit is one of

- `btt`: base units of BTT (the chain's token, `system_properties` gives its decimals);
- `credit`: work credit units;
- `points`: incentive points (whole numbers);
- `bps`, `ppm`: basis points (10,000 = 100%), parts per million;
- `fractions:<field>`: base units of the token of the asset whose id is in `<field>` (its symbol and decimals
  are the asset's, `btt_asset`);
- `param:<field>`: in the unit of the parameter named in `<field>` (`btt_params` gives each one's unit).
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import U128, Compact, Field
from runtime.governance import params as gparams
from runtime.specs import package_module, runtime_of, supported

BTT = "btt"
CREDIT = "credit"
POINTS = "points"
BPS = "bps"
PPM = "ppm"
VOTES = "votes"


def fractions(asset_field: str) -> str:
    return f"fractions:{asset_field}"


def param(name_field: str) -> str:
    return f"param:{name_field}"


EVENT_UNITS: dict[tuple[str, str], dict[str, str]] = {
    ("assets", "Tokenised"): {"supply": fractions("asset_id"), "min_balance": fractions("asset_id")},
    ("assets", "Transferred"): {"amount": fractions("asset_id")},
    ("assets", "OfferPosted"): {"amount": fractions("asset_id")},
    ("assets", "OfferCancelled"): {"amount": fractions("asset_id")},
    ("assets", "OfferAccepted"): {"amount": fractions("asset_id")},
    ("assets", "Retired"): {"supply": fractions("asset_id")},
    ("compute", "JobReceipt"): {"credit": CREDIT},
    ("compute", "MiningRewarded"): {"credit": CREDIT},
    ("incentives", "Attested"): {"points": POINTS},
    ("incentives", "RedeemRequested"): {"points": POINTS, "requested": POINTS},
    ("incentives", "RedeemPaid"): {"requested": POINTS, "paid": POINTS},
    ("params", "ParameterChanged"): {"old": param("parameter"), "new": param("parameter")},
    ("params", "BoundsChanged"): {k: param("parameter") for k in ("old_min", "old_max", "new_min", "new_max")},
    ("params", "SharesChanged"): {"values": BPS},
    ("governance", "VotingClosed"): {"aye_share_ppm": PPM},
}
"""Event fields that are not BTT (read from each event's docstring and the code that emits it)."""

CALL_UNITS: dict[tuple[str, str], dict[str, str]] = {
    ("assets", "tokenize"): {"supply": fractions("asset_id"), "min_balance": fractions("asset_id")},
    ("assets", "transfer"): {"amount": fractions("asset_id")},
    ("assets", "offer"): {"amount": fractions("asset_id")},
    ("incentives", "redeem"): {"points": POINTS},
    ("params", "set_parameter"): {"value": param("name")},
    ("params", "set_bounds"): {"min": param("name"), "max": param("name")},
    ("params", "set_shares"): {"values": BPS},
}
"""Call arguments that are not BTT."""

HOUSE_UNITS = {"institutions": BTT, "compute": CREDIT, "holders": BTT, "representatives": VOTES}
"""What a governance house's aye and nay weight counts (`runtime.governance.electorate`): an institution's
genesis allocation, matured work credit, balance, one vote per representative."""

DESCRIPTIONS = {
    BTT: "BTT, the chain's token",
    CREDIT: "work credit: verified multiply-accumulates of compute, capped by the fee burned for them (not BTT)",
    POINTS: "incentive points, redeemable for BTT at the epoch's rate",
    BPS: "basis points (10,000 = 100%)",
    PPM: "parts per million (1,000,000 = 100%)",
    VOTES: "votes (one per community representative)",
    "fractions": "fractions of an asset's token, in that token's decimals and symbol",
    "param": "the unit of the parameter named beside it",
}


def is_amount(f: Field) -> bool:
    """A field that holds a u128 amount (plain or compact)."""
    return isinstance(f, U128) or (isinstance(f, Compact) and f.bits > 64) or (
        hasattr(f, "item") and is_amount(f.item))


def _units_of(fields: Any, overrides: dict[str, str]) -> dict[str, str]:
    out = {name: overrides.get(name, BTT) for name, f in fields if is_amount(f)}
    out.update({name: unit for name, unit in overrides.items() if name not in out})
    return out


def units() -> dict[str, Any]:
    """The whole table: `events` ("module.Event" -> field -> unit), `calls` ("module.call" -> argument -> unit),
    `houses` (governance house -> unit of its weight) and `descriptions` (unit -> what it means). Every spec this node
    runs is in it (the explorer shows blocks of each; where specs differ on an event or a call of one name, the
    newest spec's units are listed), built once per set of specs."""
    specs = supported()
    table = _UNITS.get(specs)
    if table is None:
        events: dict[str, dict[str, str]] = {}
        calls: dict[str, dict[str, str]] = {}
        for spec in specs:
            runtime = runtime_of(spec)
            for pallet in package_module(spec, "runtime.metadata.catalog").pallet_sources(runtime):
                for cls in pallet.events:
                    found = _units_of(cls.WIRE, EVENT_UNITS.get((pallet.module, cls.__name__), {}))
                    if found:
                        events[f"{pallet.module}.{cls.__name__}"] = found
                for call in pallet.calls:
                    found = _units_of(call.args, CALL_UNITS.get((pallet.module, call.name), {}))
                    if found:
                        calls[f"{pallet.module}.{call.name}"] = found
        assert tuple(HOUSE_UNITS) == gparams.HOUSES, "a governance house without a unit"
        table = _UNITS[specs] = {"events": events, "calls": calls,
                                 "houses": dict(HOUSE_UNITS), "descriptions": dict(DESCRIPTIONS)}
    return table


_UNITS: dict[tuple[int, ...], dict[str, Any]] = {}
