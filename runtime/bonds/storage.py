"""Storage of the bonds module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, U64, Nested

from ..bonds.types import BondLedger, ValidatorRegistration
from ..items import StorageMap, StorageValue

M = "bonds"

ledger: StorageMap[BondLedger] = StorageMap(M, "ledger", Nested(BondLedger), key_types=(ACCOUNT,))
"""Account -> its bond ledger; absent when nothing is bonded or unlocking."""

validators: StorageMap[ValidatorRegistration] = StorageMap(M, "validators", Nested(ValidatorRegistration),
                                                                   key_types=(ACCOUNT,))
"""Account -> its validator registration; the queued set is computed from these at each epoch's start."""

epoch_slots: StorageValue[int] = StorageValue(M, "epoch_slots", U64, default=0)
"""Slots per epoch (from the chain spec's consensus section), as written at genesis; the rotation itself
follows the consensus module's epochs (0 there too: the sets never rotate)."""

current_epoch: StorageValue[int] = StorageValue(M, "current_epoch", U64, default=0)
"""The epoch of the last rotation (`logic.rotate_session`)."""
