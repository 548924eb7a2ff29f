"""Proxy commands: `btt-chain proxy add|remove|list|call`. A proxy is an account that may make calls for yours, within
its type: Any, NonTransfer (nothing that takes balance), Governance, Staking (bonds, staking, session keys)."""

from __future__ import annotations

from pathlib import Path

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives import scale
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.errors import ConfigError, DecodeError
from btt_chain.primitives.hashing import twox64, twox128
from cli.accounts import resolve_account, resolve_signer
from cli.batch_cmd import build_calls, calls_option, refuse_inner_failures
from cli.output import print_json
from cli.submit import echo_submitted, submit_call

PROXY_TYPES = ("Any", "NonTransfer", "Governance", "Staking")
"""The runtime's proxy types by index (`runtime.proxy.types.PROXY_TYPES`; a test holds the two equal): the light
client names them without the runtime."""

_from = click.option("--from", "sender", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def type_index(name: str) -> int:
    wanted = name.replace("-", "").replace("_", "").lower()
    for i, known in enumerate(PROXY_TYPES):
        if known.lower() == wanted:
            return i
    raise ConfigError(f"--type {name!r}: one of {', '.join(PROXY_TYPES)}")


_type = click.option("--type", "proxy_type", default="Any", show_default=True,
                     help=f"The proxy's type: {', '.join(PROXY_TYPES)}.")


@click.group()
def proxy() -> None:
    """Proxies: accounts that may make calls for yours, each within its type (Any, NonTransfer, Governance,
    Staking); each holds a deposit of yours reserved until it is removed."""


@proxy.command()
@_from
@click.option("--delegate", required=True, help="The account that may act for yours: name, address or 0x id.")
@_type
@_json
@_rpc
def add(sender: str, delegate: str, proxy_type: str, as_json: bool, rpc: str) -> None:
    """Make --delegate a proxy of the --from account (reserves proxy.deposit_base, once, and proxy.deposit_factor)."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    who = resolve_account(delegate, info.chain_type, info.ss58_prefix)
    sub = submit_call(client, info, signer, "proxy.add_proxy", (who, type_index(proxy_type), 0))
    echo_submitted(sub, as_json, info.decimals, info.symbol)


@proxy.command()
@_from
@click.option("--delegate", help="The proxy to remove: name, address or 0x id.")
@_type
@click.option("--all", "remove_all", is_flag=True, help="Remove every proxy of the account.")
@_json
@_rpc
def remove(sender: str, delegate: str | None, proxy_type: str, remove_all: bool, as_json: bool, rpc: str) -> None:
    """Remove one proxy (--delegate and its --type) or all of them (--all); their deposit returns."""
    if remove_all == (delegate is not None):
        raise ConfigError("give --delegate (with its --type) or --all")
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    if remove_all:
        sub = submit_call(client, info, signer, "proxy.remove_proxies", ())
    else:
        assert delegate is not None
        who = resolve_account(delegate, info.chain_type, info.ss58_prefix)
        sub = submit_call(client, info, signer, "proxy.remove_proxy", (who, type_index(proxy_type), 0))
    echo_submitted(sub, as_json, info.decimals, info.symbol)


def proxies_key(account: bytes) -> bytes:
    """FRAME's `Proxy.Proxies` key of `account` (Twox64Concat)."""
    return twox128(b"Proxy") + twox128(b"Proxies") + twox64(account) + account


def decode_proxies(raw: bytes) -> tuple[list[tuple[bytes, int, int]], int]:
    """`(Vec<ProxyDefinition {delegate, proxy_type, delay}>, deposit)` as stored."""

    def definition(data: bytes, pos: int) -> tuple[tuple[bytes, int, int], int]:
        delegate, pos = scale.decode_fixed(data, pos, 32)
        kind, pos = scale.decode_variant_index(data, pos, len(PROXY_TYPES), "proxy type")
        delay, pos = scale.decode_uint(data, pos, 4)
        return (delegate, kind, delay), pos

    definitions, pos = scale.decode_vec(raw, 0, definition, 100)
    deposit, pos = scale.decode_uint(raw, pos, 16)
    scale.finish(raw, pos, "proxies")
    return list(definitions), deposit


@proxy.command(name="list")
@click.argument("account")
@_json
@_rpc
def list_proxies(account: str, as_json: bool, rpc: str) -> None:
    """The proxies of ACCOUNT (name, address or 0x id) and the deposit they hold."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    who = resolve_account(account, info.chain_type, info.ss58_prefix)
    raw = client.call("state_getStorage", "0x" + proxies_key(who).hex())
    definitions: list[tuple[bytes, int, int]] = []
    deposit = 0
    if raw is not None:
        try:
            definitions, deposit = decode_proxies(bytes.fromhex(str(raw)[2:]))
        except (DecodeError, ValueError) as exc:
            raise ConfigError(f"the node's Proxy.Proxies record of {account} does not decode: {exc}") from None
    rows = [{"delegate": encode_address(d, info.ss58_prefix), "type": PROXY_TYPES[k], "delay": delay}
            for d, k, delay in definitions]
    if as_json:
        print_json({"account": encode_address(who, info.ss58_prefix), "proxies": rows, "deposit": str(deposit)})
        return
    if not rows:
        click.echo(f"{encode_address(who, info.ss58_prefix)} has no proxies")
        return
    click.echo(f"{encode_address(who, info.ss58_prefix)}: {len(rows)} proxies, deposit "
               f"{format_btt(deposit, info.decimals)} {info.symbol} reserved")
    for r in rows:
        click.echo(f"  {r['delegate']}  {r['type']}")


@proxy.command()
@_from
@click.option("--real", required=True, help="The account to act for (it made --from its proxy).")
@click.option("--type", "proxy_type", default=None, help="Act only as a proxy of this type (default: any it is).")
@calls_option
@_json
@_rpc
def call(sender: str, real: str, proxy_type: str | None, call_names: tuple[str, ...], call_args: tuple[str, ...],
         calls_file: Path | None, as_json: bool, rpc: str) -> None:
    """Make calls for --real as its proxy: one --call/--args pair, or several (sent as one utility.batch_all for
    --real). Your key signs and pays the fee; nothing is sent if the dry run shows the call refused or failing."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    account = resolve_account(real, info.chain_type, info.ss58_prefix)
    calls = build_calls(info, call_names, call_args, calls_file)
    inner = calls[0][1] if len(calls) == 1 else info.calls.build_call("utility.batch_all", [c for _, c in calls])
    forced = b"\x00" if proxy_type is None else b"\x01" + bytes((type_index(proxy_type),))
    wrapped = info.calls.build_call("proxy.proxy", account, forced, inner)
    refuse_inner_failures(client, info, signer, wrapped, [n for n, _ in calls])
    echo_submitted(submit_call(client, info, signer, wrapped), as_json, info.decimals, info.symbol)
