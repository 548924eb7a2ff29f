"""Fee discounts other modules grant (staking's 180-day tier): a registry of functions returning basis points.

Modules register once, at import, when the runtime is assembled. The fee calculation applies the largest
discount any registered function grants; discounts never stack.
"""

from __future__ import annotations

from collections.abc import Callable

from runtime.overlay import Overlay

DiscountFn = Callable[[Overlay, bytes], int]
"""(state, account) -> discount in basis points of the inclusion fee (0 for none)."""

MAX_DISCOUNT_BPS = 10_000

_REGISTRY: dict[str, DiscountFn] = {}


def register_fee_discount(fn: DiscountFn, name: str | None = None) -> None:
    """Register `fn` under `name` (default: its qualified name); registering the same name again replaces it."""
    _REGISTRY[name or f"{fn.__module__}.{fn.__qualname__}"] = fn


def registered() -> tuple[DiscountFn, ...]:
    """The registered discount functions, in their order."""
    return tuple(_REGISTRY.values())


def get_fee_discount_bps(state: Overlay, who: bytes) -> int:
    """The largest discount any registered function grants `who`, clamped to [0, 10,000] bps."""
    best = 0
    for fn in _REGISTRY.values():
        bps = fn(state, who)
        if bps > best:  # max() and min() spelt out: asked for every extrinsic
            best = bps
    return best if best < MAX_DISCOUNT_BPS else MAX_DISCOUNT_BPS


def apply_discount(amount: int, discount_bps: int) -> int:
    """The discount on `amount`, rounded down: the payer never gets more off than the exact share."""
    return amount * discount_bps // MAX_DISCOUNT_BPS
