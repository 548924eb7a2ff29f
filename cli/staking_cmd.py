"""Staking commands: `btt-chain stake|unstake` (sign and submit) and `btt-chain query stakes|params` (read)."""

from __future__ import annotations

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.amounts import format_btt, parse_btt
from btt_chain.primitives.errors import ConfigError
from cli.accounts import resolve_account
from cli.output import print_fields, print_json, utc
from cli.submit import submit_as
from runtime.staking.logic import TIERS

rpc_option = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
from_option = click.option("--from", "sender", required=True,
                           help="Key file, or a dev name (alice, bob...) on dev chains.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")


@click.command()
@from_option
@click.option("--tier", required=True, type=click.Choice(TIERS), help="Lock length of the term deposit.")
@click.option("--amount", required=True, help="BTT, decimal; at least the tier's minimum.")
@json_option
@rpc_option
def stake(sender: str, tier: str, amount: str, as_json: bool, rpc: str) -> None:
    """Lock BTT in a term deposit; principal and yield are claimable when the lock ends."""
    value = parse_btt(amount)
    if value == 0:
        raise ConfigError("--amount must be above zero")
    submit_as(sender, rpc, as_json, "staking.stake", tier, value)


@click.command()
@from_option
@click.option("--deposit", "deposit_id", required=True, type=click.IntRange(0), help="Deposit id (see query stakes).")
@json_option
@rpc_option
def unstake(sender: str, deposit_id: int, as_json: bool, rpc: str) -> None:
    """Withdraw a deposit whose lock has ended: principal back plus its yield."""
    submit_as(sender, rpc, as_json, "staking.unstake", deposit_id)


@click.command("claim-fee-share")
@from_option
@json_option
@rpc_option
def claim_fee_share(sender: str, as_json: bool, rpc: str) -> None:
    """Collect your pro-rata share of the stakers' 30% of transaction fees."""
    submit_as(sender, rpc, as_json, "staking.claim_fee_share")


@click.command("stakes")
@click.argument("who")
@json_option
@rpc_option
def query_stakes(who: str, as_json: bool, rpc: str) -> None:
    """Term deposits, benefits and claimable fee share of an ADDRESS, 0x account id, key file or dev name."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    account_id = resolve_account(who, info.chain_type, info.ss58_prefix)
    report = client.call("btt_stakes", "0x" + account_id.hex())
    if as_json:
        print_json(report)
        return

    btt = info.format_amount

    b = report["benefits"]
    print_fields([
        ("address", report["address"]),
        ("staked", btt(report["stakedTotal"])),
        ("claimable fee share", btt(report["claimableFeeShare"])),
        ("fee discount", f"{b['feeDiscountBps'] / 100:g}%"),
        ("compute priority", "yes" if b["computePriority"] else "no"),
        ("governance multiplier", f"{b['governanceMultiplierBps'] / 10_000:g}x"),
        ("special access", "yes" if b["specialAccess"] else "no"),
    ])
    for d in report["deposits"]:
        state = "unlocked" if d["unlocked"] else f"locked until {utc(d['unlockMs'])}"
        click.echo(f"  #{d['id']} {d['tier']}: {btt(d['amount'])}, yield so far {btt(d['accruedYield'])}, {state}")


@click.command("params")
@json_option
@rpc_option
def query_params(as_json: bool, rpc: str) -> None:
    """Every bounded parameter with its value and range."""
    client = RpcClient(rpc)
    listed = client.call("btt_params")
    if as_json:
        print_json(listed)
        return
    info = ChainInfo.fetch(client)
    for p in listed:
        if p["unit"] == "btt":
            v, lo, hi = (format_btt(int(p[k]), info.decimals) for k in ("value", "min", "max"))
        else:
            v, lo, hi = (str(p[k]) for k in ("value", "min", "max"))
        click.echo(f"{p['name']} = {v} {p['unit']} [{lo}, {hi}]")
