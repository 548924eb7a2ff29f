"""Print docs/costs.md's table of what a transfer costs, computed by the runtime's own fee code on each preset.

Each row is a real signed `balances.transfer_keep_alive` of 10 BTT from `//Alice` to bob at nonce 0, priced as
`payment_queryInfo` prices it (`btt_chain.rpc.fee_info.quote`: the call's weight from the runtime of the genesis
state, the length of the encoded extrinsic, the preset's `fees.*` parameters); the staker's row takes the runtime's
own discount (`runtime.fees.discounts.apply_discount`) at the preset's `staking.fee_discount_bps`.

Run: .venv/bin/python scripts/fee_table.py   (tests/docs/test_costs_figures.py keeps docs/costs.md equal)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from btt_chain.client.keys import keypair_from_uri
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.extrinsic import IMMORTAL, Era, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.fee_info import quote
from genesis.build import Genesis, build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from runtime.fees.discounts import apply_discount
from runtime.overlay import Overlay
from runtime.params.storage import get_params
from runtime.specs import runtime_for_block

PRESETS = ("btt-21m", "btt-210m", "dev")
UNIT = 10**18
AMOUNT = 10 * UNIT
MORTALITY = 64
"""The CLI's and the light client's era (`btt_chain.client.submit.DEFAULT_MORTALITY`)."""
GENESIS_TIME_MS = 1_767_225_600_000
"""A start time for a preset that has none (dev): fees do not depend on it."""


@dataclass(frozen=True)
class Variant:
    label: str
    scheme: str
    mortal: bool = True
    staker: bool = False


VARIANTS = (
    Variant("ed25519 signature, mortal (the CLI's and wallets' default era)", "ed25519"),
    Variant("sr25519 signature, mortal", "sr25519"),
    Variant("ECDSA signature (65 bytes), mortal", "ecdsa"),
    Variant("ed25519, immortal era", "ed25519", mortal=False),
    Variant("ed25519, mortal, the signer holding a 180-day stake (20% off)", "ed25519", staker=True),
)


@dataclass(frozen=True)
class Priced:
    length: int
    weight: int
    fee: int


@cache
def genesis_of(preset: str) -> Genesis:
    """`preset`'s genesis (a dev preset, which has no start time, given one: fees do not depend on it)."""
    doc = load_chain_spec_doc(preset)
    if not doc.get("genesis_time_ms"):
        doc = materialise(doc, GENESIS_TIME_MS)
    return build_genesis(parse_chain_spec(doc))


def price_call(preset: str, call_name: str, *args: object, scheme: str = "ed25519", mortal: bool = True,
               staker: bool = False) -> Priced:
    """What `call_name(*args)`, signed by `//Alice` of `scheme` at nonce 0, costs on `preset`'s genesis state, in
    base units."""
    genesis = genesis_of(preset)
    state = Overlay(genesis.state)  # a fresh view: nothing written to the genesis state
    runtime = runtime_for_block(state, 1)
    signer = keypair_from_uri("//Alice", scheme=scheme)
    era = Era.mortal(MORTALITY, 0) if mortal else IMMORTAL
    xt = sign_extrinsic(signer, runtime.call(call_name, *args), 0, genesis.hash, runtime.spec_version, era=era,
                        birth_hash=genesis.hash)
    encoded = xt.encode()
    quoted = quote(state, encoded, len(encoded), runtime)
    fee = quoted.fee.inclusion_fee
    if staker:
        (discount_bps,) = get_params(state, ("staking.fee_discount_bps",))
        fee -= apply_discount(fee, discount_bps)
    return Priced(len(encoded), quoted.weight, fee)


def price(preset: str, variant: Variant) -> Priced:
    """What `variant` of the transfer costs on `preset`'s genesis state, in base units."""
    return price_call(preset, "balances.transfer_keep_alive", dev_keypair("bob").public, AMOUNT,
                      scheme=variant.scheme, mortal=variant.mortal, staker=variant.staker)


def table() -> list[str]:
    rows = ["| `transfer_keep_alive` of 10 BTT, nonce below 64 | bytes | weight | "
            + " | ".join(f"`{p}`" for p in PRESETS) + " |",
            "|---|---|---|" + "---|" * len(PRESETS)]
    for variant in VARIANTS:
        priced = [price(p, variant) for p in PRESETS]
        shapes = {(x.length, x.weight) for x in priced}
        assert len(shapes) == 1, f"{variant.label}: the presets disagree on length or weight: {shapes}"
        rows.append(f"| {variant.label} | {priced[0].length} | {priced[0].weight} | "
                    + " | ".join(f"{format_btt(x.fee)} BTT" for x in priced) + " |")
    return rows


if __name__ == "__main__":
    print("\n".join(table()))
