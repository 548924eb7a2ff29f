"""What a wallet command would pay, found without sending anything (`btt-chain --fee-only ...`): the extrinsic is
signed as it would be sent, dry-run against the head (so a mistake is refused exactly as it would be at submission),
and its fee is the node's own figure for those very bytes, `payment_queryInfo` at the same block: the fee code the
executive charges with (`btt_chain.rpc.fee_info`), the signer's fee discount included. What is charged is that
inclusion fee plus the tip. Nothing reaches the pool and nothing is charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.client.chain import ChainInfo
from btt_chain.client.headers import header_hash, header_number
from btt_chain.client.rpc import RpcClient
from btt_chain.client.submit import DEFAULT_MORTALITY, dry_run, judge_dry_run, sign_call, signing_header
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Signer


@dataclass(frozen=True)
class FeeEstimate:
    """A signed extrinsic that was not sent, and what sending it would cost."""

    extrinsic: str
    """The signed extrinsic, 0x-hex: what `author_submitExtrinsic` (or Sidecar's `POST /transaction`) takes."""
    hash: str
    """Its hash (blake2b-256 of those bytes), 0x-hex."""
    nonce: int
    inclusion_fee: int
    """`payment_queryInfo`'s `partialFee` for these bytes: base + length + weight fees, less any discount."""
    tip: int
    weight: int
    """The call's weight (ref time; btt measures no proof size)."""
    block_number: int
    """The head it was dry-run and quoted at."""
    block_hash: str
    birth: int
    """The block its mortal era starts at (`submit.signing_header`: the finalized block unless finality lags)."""
    valid_until: int
    """The last block that can include it (its mortal era's end)."""
    success: bool
    """Whether the dry run says its call would succeed (False only with `--force`: it would pay and fail)."""
    error: str | None
    """Why the call would fail, when it would."""
    queued: bool = False
    """Its nonce follows the signer's still pooled transactions: the dry run at the head could not judge the call
    (the fee is quoted all the same)."""

    @property
    def fee(self) -> int:
        """What sending it would take from the signer: the inclusion fee and the tip."""
        return self.inclusion_fee + self.tip

    def to_json(self, info: ChainInfo) -> dict[str, Any]:
        from btt_chain.primitives.amounts import format_btt

        return {
            "sent": False, "fee": str(self.fee), "feeBtt": format_btt(self.fee, info.decimals),
            "partialFee": str(self.inclusion_fee), "tip": str(self.tip),
            "weight": {"refTime": self.weight, "proofSize": 0}, "extrinsic": self.extrinsic, "hash": self.hash,
            "nonce": self.nonce, "at": {"number": self.block_number, "hash": self.block_hash},
            "birth": self.birth, "validUntil": self.valid_until, "success": self.success, "error": self.error,
            "queued": self.queued,
        }


def estimate_fee(
    rpc: RpcClient,
    info: ChainInfo,
    signer: Signer,
    call_name: str | Call,
    args: tuple[Any, ...] = (),
    tip: int = 0,
    force: bool = False,
    mortality: int = DEFAULT_MORTALITY,
) -> FeeEstimate:
    """Sign `call_name(*args)` as `submit_call` would, dry-run it and quote its fee, all at one head, sending
    nothing. Refused as submission would refuse it (NotSent: it could not be included, or its call would fail and
    `force` is off)."""
    call = call_name if isinstance(call_name, Call) else info.calls.build_call(call_name, *args)
    born = signing_header(rpc, mortality)
    head = rpc.call("chain_getHeader")
    at = "0x" + header_hash(head).hex()
    xt = sign_call(rpc, info, signer, call, tip, mortality, header=born)
    encoded = "0x" + xt.encode().hex()
    dry = judge_dry_run(dry_run(rpc, xt, at), info, force)
    quoted = rpc.call("payment_queryInfo", encoded, at)
    birth = header_number(born)
    return FeeEstimate(
        extrinsic=encoded, hash="0x" + xt.hash().hex(), nonce=xt.nonce, inclusion_fee=int(quoted["partialFee"]),
        tip=xt.tip, weight=int(quoted["weight"]["refTime"]), block_number=header_number(head), block_hash=at,
        birth=birth, valid_until=birth + mortality - 1, success=bool(dry["success"]), error=dry.get("error"),
        queued=bool(dry.get("queued")),
    )
