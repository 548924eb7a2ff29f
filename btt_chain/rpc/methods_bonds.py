"""RPC methods of the bonds and multisig modules: `btt_bonds` and `btt_multisig` (at the head, or at a past
block given by an optional `at` hash)."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.paging import bounded_scan, state_views
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.bonds import storage as bonds
from runtime.multisig import storage as multisig

method = REGISTRY.method

PENDING_LISTED = 200
"""Calls awaiting approval `btt_multisig` lists per call."""


@method("btt_bonds", Param("account", p.account), optional("at", p.block_hash))
def btt_bonds(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """The account's bond at the block `at` (default the head): active (bonded), unlocking chunks, and its
    validator registration or null."""
    state = state_view(ctx, at)
    led = bonds.ledger.get(state, who)
    reg = bonds.validators.get(state, who)
    prefix = ctx.node.spec.ss58_prefix
    return {
        "bonded": str(led.active if led else 0),
        "unlocking": [{"amount": str(c.amount), "unlockAtMs": c.unlock_at_ms} for c in (led.unlocking if led else ())],
        "validator": None if reg is None else {
            "sessionKey": hex0x(reg.session_key),
            "hashChainCommitment": hex0x(reg.hash_chain_commitment),
            "payee": encode_address(reg.payee, prefix),
        },
    }


@method(
    "btt_multisig", Param("account", p.account), optional("at", p.block_hash), optional("after", p.any_hash)
)
def btt_multisig(ctx: RpcContext, account: bytes, at: bytes | None, after: bytes | None) -> list[dict[str, Any]]:
    """Calls awaiting approval by the multisig `account` at the block `at` (default the head), in call-hash order
    after the call hash `after` (found by a seek), at most 200 per call (page on with the last one's hash): call
    hash, approvals, depositor and deposit."""
    reader, _ = state_views(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    index = multisig.pending.prefix + account
    scan = bounded_scan(reader, index, PENDING_LISTED, None if after is None else index + after)
    out = []
    for key, raw in scan.items:
        pending = multisig.pending.codec.decode(raw)
        out.append({
            "callHash": hex0x(key[len(index):]),
            "approvals": [encode_address(a, prefix) for a in pending.approvals],
            "depositor": encode_address(pending.depositor, prefix),
            "deposit": str(pending.deposit),
            "since": pending.since,
        })
    return out
