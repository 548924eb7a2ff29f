"""Genesis of the bonds module: genesis validators are bonded and registered with their genesis bond
(with their hash-chain commitments), and the epoch length is stored for the active-set rotation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runtime.overlay import Overlay

from ..bonds import logic, storage
from ..bonds.types import BondLedger, ValidatorRegistration
from ..params import storage as params
from ..session.types import ValidatorInfo

ZERO_COMMITMENT = bytes(32)


def build(
    state: Overlay, validators: Iterable[ValidatorInfo], epoch_slots: int, commitments: Mapping[bytes, bytes]
) -> None:
    """Write the bonds genesis; the caller already reserved each validator's bond. ValueError if the
    unbonding period is not longer than the evidence window (slashable funds could leave before an
    offence is reported)."""
    for v in validators:
        storage.ledger.put(state, v.account, BondLedger(v.bond, ()))
        commitment = commitments.get(v.session_key, ZERO_COMMITMENT)
        storage.validators.put(state, v.account, ValidatorRegistration(v.session_key, commitment, v.payee))
    storage.epoch_slots.put(state, epoch_slots)
    storage.current_epoch.put(state, 0)
    period = params.value.get(state, logic.UNBONDING_PARAM)
    window = params.value.get(state, logic.EVIDENCE_WINDOW_PARAM)
    if (period is None) != (window is None):
        raise ValueError(f"{logic.UNBONDING_PARAM} and {logic.EVIDENCE_WINDOW_PARAM} go together")
    if period is not None and window is not None and period <= window:
        raise ValueError(
            f"{logic.UNBONDING_PARAM} ({period}) must be longer than {logic.EVIDENCE_WINDOW_PARAM} ({window})"
        )
