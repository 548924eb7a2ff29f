"""Sign a runtime call, dry-run it against the head, submit it and watch it to inclusion: the one wallet flow
every helper and CLI command goes through."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from btt_chain.client.chain import ChainInfo
from btt_chain.client.headers import header_hash, header_number
from btt_chain.client.rpc import RpcClient
from btt_chain.client.watch import submit_and_watch
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.extrinsic import Call, Era, Extrinsic, born_at_finalized, sign_extrinsic
from btt_chain.primitives.keys import Signer

DEFAULT_MORTALITY = 64
"""Blocks a wallet's extrinsic stays valid for: after that it can never be included (or replayed)."""


class ExtrinsicFailed(BttError):
    """The extrinsic was included and paid its fee, but its call failed."""


class NotSent(BttError):
    """A dry run against the head showed the extrinsic would fail: it was not sent, and cost nothing."""


_BASE_UNITS = re.compile(r"(?<![0-9A-Za-z.])([0-9]{16,39})(?![0-9A-Za-z.])")


def readable(message: str, decimals: int = 18, symbol: str = "BTT") -> str:
    """A runtime message with its base-unit amounts in BTT: numbers of 16 digits or more are amounts (0.001 BTT
    and up); ids, counts and millisecond times are shorter."""
    from btt_chain.primitives.amounts import format_btt

    return _BASE_UNITS.sub(lambda m: f"{format_btt(int(m.group(1)), decimals)} {symbol}", message)


@dataclass(frozen=True)
class Submitted:
    """A submitted extrinsic: its hash, and once included its status (block, index, fee, success, events)."""

    hash: str
    status: dict[str, Any] | None

    @property
    def events(self) -> list[dict[str, Any]]:
        """The decoded events of the extrinsic (empty until it is included)."""
        return list((self.status or {}).get("events") or [])


def sign_call(
    rpc: RpcClient, info: ChainInfo, signer: Signer, call: Call, tip: int = 0, mortality: int = DEFAULT_MORTALITY,
    header: dict[str, Any] | None = None,
) -> Extrinsic:
    """Sign `call` with the signer's next nonce, mortal for `mortality` blocks from `signing_header` (or from
    `header`, a header as `chain_getHeader` gives it)."""
    if header is None:
        header = signing_header(rpc, mortality)
    birth = header_number(header)
    birth_hash = header_hash(header)  # computed, as every Substrate client does
    nonce = int(rpc.call("system_accountNextIndex", "0x" + signer.account.hex()))
    return sign_extrinsic(
        signer, call, nonce, info.genesis_hash, info.spec_version, tip=tip,
        era=Era.mortal(mortality, birth), birth_hash=birth_hash, tx_version=info.transaction_version,
    )


def signing_header(rpc: RpcClient, mortality: int = DEFAULT_MORTALITY) -> dict[str, Any]:
    """The block a wallet's extrinsic is born at (its mortal era starts there, and its signature commits to that
    block's hash), by `born_at_finalized`: the finalized block, or the head's parent when finality lags more than
    half the era. Born at the head, a transaction signed just before a reorganisation retracts it is refused by every
    node as a bad signature (what a loaded devnet showed `set-keys`)."""
    best = rpc.call("chain_getHeader")
    finalized = rpc.call("chain_getHeader", rpc.call("chain_getFinalizedHead"))
    if finalized is not None and born_at_finalized(header_number(best), header_number(finalized), mortality):
        return dict(finalized)
    if header_number(best) == 0:
        return dict(best)
    return dict(rpc.call("chain_getHeader", best["parentHash"]))


def dry_run(rpc: RpcClient, xt: Extrinsic, at: str | None = None) -> dict[str, Any]:
    """`btt_dryRun` against the head (or in a block built on the block `at`, 0x-hex): {"valid", "success", "error",
    ...}; nothing is sent or charged."""
    params = ["0x" + xt.encode().hex()] + ([at] if at is not None else [])
    result: dict[str, Any] = rpc.call("btt_dryRun", *params)
    return result


def is_queued_behind(dry: dict[str, Any]) -> bool:
    """A dry run refused only because the extrinsic's nonce follows the signer's still pooled transactions."""
    return not dry["valid"] and str(dry.get("error") or "").startswith("future nonce")


def judge_dry_run(dry: dict[str, Any], info: ChainInfo, force: bool) -> dict[str, Any]:
    """The dry run as the wallet acts on it: NotSent if the extrinsic could not be included, or if its call would
    fail (unless `force`); one queued behind the signer's pooled transactions counts as fine (the chain decides)."""
    if is_queued_behind(dry):
        # the signer's earlier transactions are still in the pool: the dry run against the head cannot judge
        # this one (its nonce is ahead of the account's); the pool orders it after them, the chain decides
        return {"valid": True, "success": True, "error": None, "fee": None, "queued": True}
    if not dry["valid"]:
        raise NotSent(f"not sent: {readable(dry['error'], info.decimals, info.symbol)} (nothing was charged)")
    if not dry["success"] and not force:
        raise NotSent(f"not sent: the call would fail: {readable(dry['error'], info.decimals, info.symbol)} "
                      "(nothing was charged; `btt-chain --force ...` sends it anyway)")
    return dry


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
    """Sign `call_name(*args)` (or a built Call), dry-run it, submit it; with `wait`, watch it to inclusion and
    return its status and events. A dry run that fails raises NotSent (unless `force`: then it is sent and
    pays its fee); a call that fails on chain raises ExtrinsicFailed."""
    call = call_name if isinstance(call_name, Call) else info.calls.build_call(call_name, *args)
    xt = sign_call(rpc, info, signer, call, tip)
    encoded = "0x" + xt.encode().hex()
    judge_dry_run(dry_run(rpc, xt), info, force)
    if not wait:
        return Submitted(rpc.call("author_submitExtrinsic", encoded), None)
    # watched: a transaction the pool drops is reported (TransactionDropped), never waited for in silence
    submit_and_watch(rpc.url, encoded, timeout, rpc.option)
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
            events = [e for e in rpc.call("btt_events", status["blockHash"], status["index"])
                      if e.get("phase") == status["index"]]
            return Submitted(xt_hash, {**status, "events": events})
        time.sleep(0.2)
    raise BttError(f"extrinsic {xt_hash} was not included within {timeout:.0f} s; it may still be")
