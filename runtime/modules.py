"""The assembled runtime: every module at its fixed index. Indices are never reused."""

from __future__ import annotations

from runtime.balances.calls import MODULE as BALANCES
from runtime.dispatch import Runtime
from runtime.evidence.calls import MODULE as EVIDENCE
from runtime.params.calls import MODULE as PARAMS
from runtime.session.calls import MODULE as SESSION
from runtime.system.calls import MODULE as SYSTEM

SPEC_VERSION = 1
"""Bumped whenever the state transition changes; part of every signing payload."""

RUNTIME = Runtime(spec_version=SPEC_VERSION, modules=(SYSTEM, BALANCES, PARAMS, SESSION, EVIDENCE))
