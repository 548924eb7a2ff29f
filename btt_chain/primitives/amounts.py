"""Exact conversion between decimal BTT strings and integer base units (18 decimals); never a float."""

from __future__ import annotations

import re

from btt_chain.primitives.codec import U128_MAX
from btt_chain.primitives.errors import ConfigError

DECIMALS = 18
UNIT = 10**DECIMALS
_AMOUNT_RE = re.compile(r"^(\d+)(?:\.(\d+))?$")


def parse_btt(text: str, decimals: int = DECIMALS) -> int:
    """'12.5' -> 12_500_000_000_000_000_000. More than `decimals` decimals, signs or exponents are errors."""
    text = str(text).strip().replace("_", "")
    m = _AMOUNT_RE.match(text)
    if not m:
        raise ConfigError(f"{text!r} is not an amount: use digits with an optional decimal point, e.g. 12.5")
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > decimals:
        raise ConfigError(f"{text!r} has {len(frac)} decimals; BTT has at most {decimals}")
    value = int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0")
    if value > U128_MAX:
        raise ConfigError(f"{text!r} is too large")
    return value


def format_btt(base_units: int, decimals: int = DECIMALS) -> str:
    """12_500_000_000_000_000_000 -> '12.5' (exact, trailing zeros dropped)."""
    whole, frac = divmod(int(base_units), 10**decimals)
    if not frac:
        return str(whole)
    return f"{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"
