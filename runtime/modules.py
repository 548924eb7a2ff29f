"""The assembled runtime: every module at its fixed index. Indices are never reused."""

from __future__ import annotations

from runtime.balances.calls import MODULE as BALANCES
from runtime.balances.locks import register_lock_source
from runtime.bonds.calls import MODULE as BONDS
from runtime.dispatch import Runtime
from runtime.evidence.calls import MODULE as EVIDENCE
from runtime.multisig.calls import MODULE as MULTISIG
from runtime.params.calls import MODULE as PARAMS
from runtime.session.calls import MODULE as SESSION
from runtime.staking.calls import MODULE as STAKING
from runtime.system.calls import MODULE as SYSTEM
from runtime.treasury.calls import MODULE as TREASURY
from runtime.vesting.calls import MODULE as VESTING
from runtime.vesting.logic import vesting_lock

SPEC_VERSION = 1
"""Bumped whenever the state transition changes; part of every signing payload."""

RUNTIME = Runtime(
    spec_version=SPEC_VERSION,
    modules=(SYSTEM, BALANCES, PARAMS, SESSION, EVIDENCE, VESTING, TREASURY, STAKING, BONDS, MULTISIG),
)

register_lock_source(vesting_lock)
"""Vesting keeps each holder's frozen balance equal to what its schedules still lock."""
