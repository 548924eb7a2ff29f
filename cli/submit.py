"""Sign a runtime call, submit it over RPC and wait for its inclusion: shared by every wallet command."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import click

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.extrinsic import Era, sign_extrinsic
from btt_chain.primitives.keys import Keypair
from cli.chain_info import ChainInfo
from cli.rpc_client import RpcClient
from cli.watch_client import submit_and_watch
from runtime.modules import RUNTIME

DEFAULT_MORTALITY = 64
"""Blocks a wallet's extrinsic stays valid for: after that it can never be included (or replayed)."""


class ExtrinsicFailed(BttError):
    """The extrinsic was included and paid its fee, but its call failed."""


class NotSent(BttError):
    """A dry run against the head showed the extrinsic would fail: it was not sent, and cost nothing."""


FORCE = False
"""`btt-chain --force ...`: send even what the dry run says will fail (it pays its fee and fails on chain)."""


def set_force(force: bool) -> None:
    global FORCE
    FORCE = force


_BASE_UNITS = re.compile(r"(?<![0-9A-Za-z.])([0-9]{16,39})(?![0-9A-Za-z.])")


def readable(message: str, decimals: int = 18, symbol: str = "BTT") -> str:
    """A runtime message with its base-unit amounts in BTT: numbers of 16 digits or more are amounts (0.001 BTT
    and up); ids, counts and millisecond times are shorter."""
    from btt_chain.primitives.amounts import format_btt

    return _BASE_UNITS.sub(lambda m: f"{format_btt(int(m.group(1)), decimals)} {symbol}", message)


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
    encoded = "0x" + xt.encode().hex()
    dry = rpc.call("system_dryRun", encoded)
    if not dry["valid"]:
        raise NotSent(f"not sent: {readable(dry['error'], info.decimals, info.symbol)} (nothing was charged)")
    if not dry["success"] and not FORCE:
        raise NotSent(f"not sent: the call would fail: {readable(dry['error'], info.decimals, info.symbol)} "
                      "(nothing was charged; `btt-chain --force ...` sends it anyway)")
    if not wait:
        return Submitted(rpc.call("author_submitExtrinsic", encoded), None)
    # watched: a transaction the pool drops is reported (TransactionDropped), never waited for in silence
    submit_and_watch(rpc.url, "0x" + xt.encode().hex(), timeout)
    xt_hash = "0x" + xt.hash().hex()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = rpc.call("btt_extrinsicStatus", xt_hash)
        if status is not None and status.get("status") == "included":
            if not status.get("success"):
                fee = readable(str(status.get("fee")), info.decimals, info.symbol)
                raise ExtrinsicFailed(
                    f"included in block #{status['blockNumber']} but failed: "
                    f"{readable(str(status.get('error')), info.decimals, info.symbol)} (fee {fee} paid)"
                )
            events = [e for e in rpc.call("btt_events", status["blockHash"]) if e.get("phase") == status["index"]]
            return Submitted(xt_hash, {**status, "events": events})
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
    for line in event_lines(s.get("events") or [], decimals, symbol):
        click.echo(f"  {line}")


QUIET_EVENTS = frozenset({("system", "ExtrinsicSuccess"), ("fees", "FeePaid"), ("balances", "Withdraw")})
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
