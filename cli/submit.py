"""The CLI's side of the wallet flow: `--force`, `--fee-only`, and printing what an included extrinsic did. Signing,
dry run, fee estimate, submission and watching are the light client's (`btt_chain.client.submit`, `.fee_estimate`).

`btt-chain --fee-only <wallet command>` (and `btt-chain transfer --fee-only`): every wallet command reaches the
chain through `submit_call` here, which then signs the extrinsic, dry-runs it and prints its fee, weight and hex
instead of sending it, and ends the command (exit code 0, `FeeShown`). A command that sends several extrinsics in a
row (a private job registers its clinic key first) shows the first one's and stops there."""

from __future__ import annotations

from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.fee_estimate import FeeEstimate, estimate_fee
from btt_chain.client.rpc import RpcClient
from btt_chain.client.submit import DEFAULT_MORTALITY, ExtrinsicFailed, NotSent, Submitted, readable
from btt_chain.client.submit import submit_call as client_submit_call
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Signer

__all__ = ["DEFAULT_MORTALITY", "ExtrinsicFailed", "FeeShown", "NotSent", "Submitted", "fee_only_option", "readable",
           "submit_call"]

FORCE = False
"""`btt-chain --force ...`: send even what the dry run says will fail (it pays its fee and fails on chain)."""
FEE_ONLY = False
"""`btt-chain --fee-only ...`: print what the extrinsic would pay, and send nothing."""


def set_force(force: bool) -> None:
    global FORCE
    FORCE = force


def set_fee_only(fee_only: bool) -> None:
    global FEE_ONLY
    FEE_ONLY = fee_only


class FeeShown(click.exceptions.Exit):
    """`--fee-only`: the fee was printed and nothing was sent; the command ends here, successfully."""

    def __init__(self) -> None:
        super().__init__(0)


def _fee_only_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        set_fee_only(True)


fee_only_option = click.option(
    "--fee-only", is_flag=True, expose_value=False, callback=_fee_only_flag,
    help="Print the fee it would pay (BTT and base units), its weight and the signed extrinsic's hex; send nothing.")
"""A wallet command's own `--fee-only` (the same as `btt-chain --fee-only <command>`)."""


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
    """The light client's submit_call with the command line's `--force` (or `force`: no dry run first); with
    `--fee-only`, print what it would pay instead and end the command (FeeShown)."""
    if FEE_ONLY:
        echo_fee(estimate_fee(rpc, info, signer, call_name, args, tip=tip, force=force or FORCE), info)
        raise FeeShown()
    return client_submit_call(rpc, info, signer, call_name, args, tip=tip, wait=wait, timeout=timeout,
                              force=force or FORCE)


def _wants_json() -> bool:
    """Whether the running command was given `--json` (every wallet command names that flag `as_json`)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.params.get("as_json"))


def echo_fee(estimate: FeeEstimate, info: ChainInfo, withheld: str | None = None) -> None:
    """`--fee-only`'s report: the fee in BTT and base units, the weight, the dry run's verdict and the extrinsic (or,
    `withheld`, why the extrinsic is not shown: JSON's `extrinsic` and `hash` are then null)."""
    from btt_chain.primitives.amounts import format_btt
    from cli.output import print_json

    if _wants_json():
        report = estimate.to_json(info)
        if withheld is not None:
            report.update(extrinsic=None, hash=None, withheld=withheld)
        print_json(report)
        return
    fee, symbol = estimate.fee, info.symbol
    parts = f"inclusion fee {estimate.inclusion_fee}" + (f" + tip {estimate.tip}" if estimate.tip else "")
    click.echo(f"fee: {format_btt(fee, info.decimals)} {symbol} ({fee} base units: {parts}), weight {estimate.weight}")
    if estimate.queued:
        verdict = "follows the sender's pooled transactions: the chain judges it after them"
    elif estimate.success:
        verdict = "would succeed"
    else:
        verdict = f"would fail and still pay the fee: {readable(str(estimate.error), info.decimals, symbol)}"
    click.echo(f"dry run in a block on #{estimate.block_number}: the call {verdict}")
    if withheld is not None:
        click.echo(f"not sent, nothing charged; the signed extrinsic quoted: {withheld}")
        return
    click.echo(f"not sent, nothing charged; the signed extrinsic (nonce {estimate.nonce}, valid from block "
               f"#{estimate.birth} up to block #{estimate.valid_until}):")
    click.echo(estimate.extrinsic)


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
    fee = f"fee {format_btt(int(s['fee']), decimals)} {symbol}"
    tip = tip_paid(s.get("events") or [])
    if tip:  # the status's fee is the inclusion fee alone; the tip was paid too (--fee-only's fee counts both)
        fee += f" + tip {format_btt(tip, decimals)} {symbol}"
    click.echo(f"included in block #{s['blockNumber']} {s['blockHash']} (extrinsic {sub.hash}, {fee})")
    for line in event_lines(s.get("events") or [], decimals, symbol):
        click.echo(f"  {line}")


def tip_paid(events: list[dict[str, Any]]) -> int:
    """The tip the extrinsic paid on top of its inclusion fee, by its TransactionFeePaid event (0 without one)."""
    for e in events:
        if (e.get("module"), e.get("event")) == ("transaction_payment", "TransactionFeePaid"):
            return int(e.get("tip") or 0)
    return 0


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
