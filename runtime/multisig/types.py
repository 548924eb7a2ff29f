"""Types of the multisig module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64, ListOf, Struct

MAX_SIGNATORIES = 100
"""Wire bound on a signatory list; the parameter `multisig.max_signatories` is the real limit."""


@dataclass(frozen=True)
class Pending(Struct):
    """Approvals collected so far for one (multisig account, call hash)."""

    depositor: bytes
    """The first approver: holds the deposit and alone may cancel."""
    deposit: int
    approvals: tuple[bytes, ...]
    """Signatories that approved, in order of approval."""
    since: int
    """Block number of the first approval."""
    WIRE = (("depositor", ACCOUNT), ("deposit", AMOUNT), ("approvals", ListOf(ACCOUNT, MAX_SIGNATORIES)),
            ("since", U64))
