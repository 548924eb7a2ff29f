"""`btt-chain query upgrade`: where the chain's spec stands at a block (`btt_upgrade`): the spec that ran it, the one
its child runs, a scheduled upgrade with the blocks to go and whether the node asked can run it, migrations under
way, and the specs that node runs."""

from __future__ import annotations

from typing import Any

import click

from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.errors import ConfigError
from cli.output import print_fields, print_json


def _block_hash(client: RpcClient, at: str | None) -> str | None:
    """The hash of `--at` (a block number or a 0x hash), None for the head."""
    if at is None:
        return None
    if at.startswith(("0x", "0X")):
        return at
    if at.isascii() and at.isdigit():
        found = client.call("chain_getBlockHash", int(at))
        if found is None:
            raise ConfigError(f"no block #{at} on this chain")
        return str(found)
    raise ConfigError(f"--at {at!r} is neither a block number nor a 0x block hash")


def describe(info: dict[str, Any]) -> list[tuple[str, Any]]:
    """`btt_upgrade`'s answer as the command's lines."""
    supported = info["supported"]
    scheduled = info["scheduled"]
    if scheduled is None:
        upgrade = "none"
    else:
        upgrade = f"spec {scheduled['spec']} at block #{scheduled['at']} ({scheduled['blocksToGo']} blocks to go)"
        if not scheduled["supported"]:
            upgrade += (f"; this node cannot run spec {scheduled['spec']} and stops before block #{scheduled['at']}: "
                        f"install a btt-chain release that runs it")
    migration = info["migration"]
    migrating = "none" if migration is None else (
        f"spec {migration['spec']}, migration {migration['index']}, {migration['items']} items done, since block "
        f"#{migration['since']} (blocks carry the chain's inherents only until they end)")
    return [
        ("block", f"#{info['blockNumber']} {info['blockHash']}"),
        ("spec", info["specVersion"]),
        ("next block's spec", info["nextBlockSpec"]),
        ("scheduled upgrade", upgrade),
        ("migrations", migrating),
        ("this node runs specs", ", ".join(str(s) for s in supported)),
    ]


@click.command("upgrade")
@click.option("--at", "at", default=None, metavar="BLOCK", help="A block number or 0x hash (default: the head).")
@click.option("--json", "as_json", is_flag=True, help="Print btt_upgrade's JSON.")
@click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
def query_upgrade(at: str | None, as_json: bool, rpc: str) -> None:
    """The spec at a block and the one its child runs, a scheduled upgrade (its block and the blocks to go), the
    migrations under way, and the specs the node runs."""
    client = RpcClient(rpc)
    block_hash = _block_hash(client, at)
    info = client.call("btt_upgrade", block_hash) if block_hash is not None else client.call("btt_upgrade")
    if as_json:
        print_json(info)
        return
    print_fields(describe(info))
