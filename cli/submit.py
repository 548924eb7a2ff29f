"""The CLI's side of the wallet flow: `--force`, and printing what an included extrinsic did. Signing, dry run,
submission and watching are the light client's (`btt_chain.client.submit`)."""

from __future__ import annotations

from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import RpcClient
from btt_chain.client.submit import DEFAULT_MORTALITY, ExtrinsicFailed, NotSent, Submitted, readable
from btt_chain.client.submit import submit_call as client_submit_call
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Signer

__all__ = ["DEFAULT_MORTALITY", "ExtrinsicFailed", "NotSent", "Submitted", "readable", "submit_call"]

FORCE = False
"""`btt-chain --force ...`: send even what the dry run says will fail (it pays its fee and fails on chain)."""


def set_force(force: bool) -> None:
    global FORCE
    FORCE = force


def submit_call(
    rpc: RpcClient,
    info: ChainInfo,
    signer: Signer,
    call_name: str | Call,
    args: tuple[Any, ...] = (),
    tip: int = 0,
    wait: bool = True,
    timeout: float = 60.0,
    force: bool = False,
) -> Submitted:
    """The light client's submit_call with the command line's `--force` (or `force`: no dry run first)."""
    return client_submit_call(rpc, info, signer, call_name, args, tip=tip, wait=wait, timeout=timeout,
                              force=force or FORCE)


def echo_submitted(sub: Submitted, as_json: bool, decimals: int, symbol: str) -> None:
    from btt_chain.primitives.amounts import format_btt
    from cli.output import print_json

    if as_json:
        print_json({"hash": sub.hash, **(sub.status or {"status": "submitted"})})
        return
    if sub.status is None:
        click.echo(f"submitted {sub.hash}")
        return
    s = sub.status
    fee = format_btt(int(s["fee"]), decimals)
    click.echo(f"included in block #{s['blockNumber']} {s['blockHash']} (extrinsic {sub.hash}, fee {fee} {symbol})")
    for line in event_lines(s.get("events") or [], decimals, symbol):
        click.echo(f"  {line}")


QUIET_EVENTS = frozenset({
    ("system", "ExtrinsicSuccess"), ("transaction_payment", "TransactionFeePaid"), ("balances", "Withdraw"),
})
"""Bookkeeping every extrinsic emits: not worth a line."""


def event_lines(events: list[dict[str, Any]], decimals: int = 18, symbol: str = "BTT") -> list[str]:
    """What the extrinsic did, one event a line (`staking.Staked deposit_id=3 amount=1000 BTT ...`)."""
    out = []
    for e in events:
        module, name = e.get("module", "?"), e.get("event", "?")
        if (module, name) in QUIET_EVENTS:
            continue
        fields = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("module", "event", "phase"))
        out.append(readable(f"{module}.{name} {fields}".strip(), decimals, symbol))
    return out


def submit_as(sender: str, rpc: str, as_json: bool, call_name: str, *args: Any, wait: bool = True) -> None:
    """The whole wallet flow of a simple command: fetch chain info, resolve the signer, sign, submit, report."""
    from cli.accounts import resolve_signer

    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    echo_submitted(submit_call(client, info, signer, call_name, args, wait=wait), as_json, info.decimals, info.symbol)
