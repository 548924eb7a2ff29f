"""Vesting commands: `btt-chain vest` (unlock what has vested) and `btt-chain query vesting`."""

from __future__ import annotations

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from cli.accounts import resolve_account
from cli.output import print_fields, print_json, utc
from cli.submit import submit_as

rpc_option = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")


@click.command()
@click.option("--from", "sender", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
@click.option("--no-wait", is_flag=True, help="Return once the node accepted it, without waiting for a block.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@rpc_option
def vest(sender: str, no_wait: bool, as_json: bool, rpc: str) -> None:
    """Bring your vesting lock up to date (submits vesting.vest).

    Not needed to spend: transfers already see what has unlocked at the block's time."""
    submit_as(sender, rpc, as_json, "vesting.vest", wait=not no_wait)


@click.command("vesting")
@click.argument("who")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
@rpc_option
def query_vesting(who: str, as_json: bool, rpc: str) -> None:
    """Vesting schedules of an ADDRESS, 0x account id, key file or dev name, at the head."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    account_id = resolve_account(who, info.chain_type, info.ss58_prefix)
    report = client.call("btt_vesting", "0x" + account_id.hex())
    if as_json:
        print_json(report)
        return

    btt = info.format_amount

    rows = [("address", report["address"]), ("at", utc(report["at"])), ("locked", btt(report["locked"])),
            ("unlocked", btt(report["unlocked"])), ("schedules", len(report["schedules"]))]
    print_fields(rows)
    for i, s in enumerate(report["schedules"]):
        approved = f", approved {btt(s['approved'])}" if "approved" in s else ""
        click.echo(
            f"  [{i}] {s['kind']}: total {btt(s['total'])}, cliff {utc(s['cliff'])}, end {utc(s['end'])}, "
            f"unlocked {btt(s['unlocked'])}, locked {btt(s['locked'])}{approved}"
        )
