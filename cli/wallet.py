"""Wallet commands that sign and submit: `btt-chain transfer`."""

from __future__ import annotations

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError
from cli.accounts import resolve_account, resolve_signer
from cli.submit import echo_submitted, fee_only_option, submit_call

rpc_option = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")


@click.command()
@click.option("--from", "sender", required=True,
              help="Key file, secret URI (ed25519 unless its scheme comes first: sr25519://Alice, ecdsa:<words>//0), "
                   "or a dev name (alice, bob...) on dev chains.")
@click.option("--to", "dest", required=True, help="Address, 0x account id, key file, or dev name.")
@click.option("--amount", required=True, help="BTT, decimal (e.g. 12.5); at most 18 decimals.")
@click.option("--tip", default="0", show_default=True, help="BTT tip for priority.")
@click.option("--keep-alive", is_flag=True, help="Fail rather than leave the sender below the existential deposit.")
@click.option("--no-wait", is_flag=True, help="Return once the node accepted it, without waiting for a block.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@fee_only_option
@rpc_option
def transfer(sender: str, dest: str, amount: str, tip: str, keep_alive: bool, no_wait: bool, as_json: bool,
             rpc: str) -> None:
    """Send BTT from one account to another."""
    value = parse_btt(amount)
    tip_value = parse_btt(tip)
    if value == 0:
        raise ConfigError("--amount must be above zero")
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    to = resolve_account(dest, info.chain_type, info.ss58_prefix)
    call = "balances.transfer_keep_alive" if keep_alive else "balances.transfer_allow_death"
    sub = submit_call(client, info, signer, call, (to, value), tip=tip_value, wait=not no_wait)
    echo_submitted(sub, as_json, info.decimals, info.symbol)
