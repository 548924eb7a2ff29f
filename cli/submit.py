"""Sign a runtime call, submit it over RPC and wait for its inclusion: shared by every wallet command."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import click

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.extrinsic import Era, sign_extrinsic
from btt_chain.primitives.keys import Keypair
from cli.chain_info import ChainInfo
from cli.rpc_client import RpcClient
from runtime.modules import RUNTIME

DEFAULT_MORTALITY = 64
"""Blocks a wallet's extrinsic stays valid for: after that it can never be included (or replayed)."""


class ExtrinsicFailed(BttError):
    """The extrinsic was included and paid its fee, but its call failed."""


@dataclass(frozen=True)
class Submitted:
    hash: str
    status: dict[str, Any] | None


def submit_call(
    rpc: RpcClient,
    info: ChainInfo,
    signer: Keypair,
    call_name: str,
    args: tuple[Any, ...],
    tip: int = 0,
    wait: bool = True,
    timeout: float = 60.0,
) -> Submitted:
    """Sign `call_name(*args)` with the next nonce, mortal for DEFAULT_MORTALITY blocks from the head; submit."""
    call = RUNTIME.call(call_name, *args)
    header = rpc.call("chain_getHeader")
    birth = int(header["number"], 16)
    birth_hash = bytes.fromhex(header["hash"][2:])
    nonce = int(rpc.call("system_accountNextIndex", "0x" + signer.public.hex()))
    xt = sign_extrinsic(
        signer, call, nonce, info.genesis_hash, info.spec_version, tip=tip,
        era=Era(birth, DEFAULT_MORTALITY), birth_hash=birth_hash,
    )
    xt_hash = rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    if not wait:
        return Submitted(xt_hash, None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = rpc.call("btt_extrinsicStatus", xt_hash)
        if status is not None and status.get("status") == "included":
            if not status.get("success"):
                raise ExtrinsicFailed(
                    f"included in block #{status['blockNumber']} but failed: {status.get('error')} "
                    f"(fee {status.get('fee')} base units paid)"
                )
            return Submitted(xt_hash, status)
        time.sleep(0.2)
    raise BttError(f"extrinsic {xt_hash} was not included within {timeout:.0f} s; it may still be")


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


def submit_as(sender: str, rpc: str, as_json: bool, call_name: str, *args: Any, wait: bool = True) -> None:
    """The whole wallet flow of a simple command: fetch chain info, resolve the signer, sign, submit, report."""
    from cli.accounts import resolve_signer

    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    echo_submitted(submit_call(client, info, signer, call_name, args, wait=wait), as_json, info.decimals, info.symbol)
