"""`btt-chain query account|block`: read chain state over RPC."""

from __future__ import annotations

from typing import Any

import click

from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.errors import ConfigError
from cli.accounts import resolve_account
from cli.lazy import LazyGroup
from cli.output import print_fields, print_json, utc

rpc_option = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")


SUBCOMMANDS = {
    "stakes": "cli.staking_cmd:query_stakes", "params": "cli.staking_cmd:query_params",
    "vesting": "cli.vesting_cmd:query_vesting",
    "power-table": "cli.compute_cmd:query_power_table", "jobs": "cli.compute_cmd:query_jobs",
    "providers": "cli.compute_cmd:query_providers", "mining": "cli.compute_cmd:query_mining",
    "models": "cli.compute_cmd:query_models",
    "referenda": "cli.governance_cmd:query_referenda", "referendum": "cli.governance_cmd:query_referendum",
    "voter": "cli.governance_cmd:query_voter",
    "assets": "cli.assets_cmd:query_assets", "asset": "cli.assets_cmd:query_asset",
    "points": "cli.incentives_cmd:query_points",
    "invoices": "cli.payments_cmd:query_invoices", "payments": "cli.payments_cmd:query_payments",
    "upgrade": "cli.query_upgrade_cmd:query_upgrade",
}
"""The other modules' queries, imported when used (see cli.lazy)."""
EVENTS_PAGE = 500
"""Events `btt_events` answers per call at most."""


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
def query() -> None:
    """Read chain state from a node."""


@query.command()
@click.argument("who")
@json_option
@rpc_option
def account(who: str, as_json: bool, rpc: str) -> None:
    """Balances and nonce of an ADDRESS, 0x account id, key file or dev name."""
    client = RpcClient(rpc)
    props = client.call("system_properties")
    chain_type = client.call("system_chainType")
    account_id = resolve_account(who, chain_type, int(props["ss58Format"]))
    info = client.call("btt_account", "0x" + account_id.hex())
    if as_json:
        print_json(info)
        return
    decimals, symbol = int(props["tokenDecimals"]), props["tokenSymbol"]
    print_fields(
        [("address", info["address"]), ("nonce", info["nonce"])]
        + [(k, f"{format_btt(int(info[k]), decimals)} {symbol}") for k in ("free", "reserved", "frozen", "spendable")]
    )


@query.command()
@click.argument("block", required=False)
@json_option
@rpc_option
def block(block: str | None, as_json: bool, rpc: str) -> None:
    """A block by NUMBER or 0x HASH (default: the head), with its events."""
    client = RpcClient(rpc)
    if block is None:
        block_hash = client.call("chain_getBlockHash")
    elif block.startswith("0x"):
        block_hash = block
    elif block.isascii() and block.isdigit():
        block_hash = client.call("chain_getBlockHash", int(block))
    else:
        raise ConfigError(f"{block!r} is neither a block number nor a 0x block hash")
    if block_hash is None:
        raise ConfigError(f"no block {block} on this chain")
    data = client.call("chain_getBlock", block_hash)
    if data is None:
        raise ConfigError(f"no block {block_hash} on this chain")
    events: list[Any] = []
    while True:  # a page at a time (btt_events answers at most 500)
        page = client.call("btt_events", block_hash, None, len(events))
        events += page
        if len(page) < EVENTS_PAGE:
            break
    if as_json:
        print_json({**data, "events": events})
        return
    h = client.call("btt_header", block_hash)
    print_fields(
        [
            ("number", int(h["number"], 16)),
            ("hash", h["hash"]),
            ("parent", h["parentHash"]),
            ("slot", int(h["slot"], 16)),
            ("timestamp", utc(int(h["timestamp"], 16))),
            ("author", h["author"]),
            ("state root", h["stateRoot"]),
            ("extrinsics", len(data["block"]["extrinsics"])),
        ]
    )
    for ev in events:
        fields = ", ".join(f"{k}={v}" for k, v in ev.items() if k not in ("phase", "module", "event"))
        click.echo(f"  [{ev['phase']}] {ev['module']}.{ev['event']}({fields})")

