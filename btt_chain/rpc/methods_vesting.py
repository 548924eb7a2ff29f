"""Vesting RPC method: `btt_vesting` (an account's schedules and what they lock at the head's time).
Amounts are decimal strings of base units; times are milliseconds since the Unix epoch."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from runtime.overlay import Overlay
from runtime.system import storage as system
from runtime.vesting import storage as vesting
from runtime.vesting.types import MILESTONE, compute_locked, compute_unlocked

method = REGISTRY.method


def vesting_report(state: Overlay, who: bytes, ss58_prefix: int) -> dict[str, Any]:
    """Every schedule of `who` with its unlocked and locked amounts at the state's block time."""
    now = system.timestamp_ms.get(state)
    schedules = []
    for s in vesting.schedules.get(state, who):
        entry: dict[str, Any] = {
            "total": str(s.total),
            "start": s.start_ms,
            "cliff": s.cliff_ms,
            "end": s.end_ms,
            "kind": s.kind,
            "unlocked": str(compute_unlocked(s, now)),
            "locked": str(compute_locked(s, now)),
        }
        if s.kind == MILESTONE:
            entry["approved"] = str(s.approved)
        schedules.append(entry)
    return {
        "address": encode_address(who, ss58_prefix),
        "at": now,
        "schedules": schedules,
        "locked": str(sum(int(e["locked"]) for e in schedules)),
        "unlocked": str(sum(int(e["unlocked"]) for e in schedules)),
    }


@method("btt_vesting", Param("account", p.account), optional("at", p.block_hash))
def btt_vesting(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """An account's vesting schedules at the block `at` (default the head): total, start, cliff, end, kind,
    unlocked, locked."""
    return vesting_report(state_view(ctx, at), who, ctx.node.spec.ss58_prefix)
