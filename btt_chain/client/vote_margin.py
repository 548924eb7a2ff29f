"""What a vote locks by default (`btt-chain vote`, and `Wallet.vote` without a balance): the free balance less a
margin for fees.

A vote locks the free balance it counts until voting ends, and a locked balance pays nothing: no transfer, no
reserve, no fee, no tip (`runtime/governance/logic.py`). That is Substrate's rule too: conviction-voting locks
are `WithdrawReasons::except(RESERVE)` since substrate#13914, so `TRANSACTION_PAYMENT` and `TIP` are barred, and
the fungible balances pallet's single `frozen` ignores reasons altogether. Letting fees come out of a vote lock
would hand counted tokens to the block author (its half of the fee, and any tip), who could vote with them.

So a voter that locked its whole free balance could not pay any fee, not even to `unstake`, until voting ends.
The command's default keeps a margin out of the vote instead: `FEE_MARGIN_FEES` fees of the dearest of a few
typical transactions (this vote, a transfer, an unstake) as the node quotes them for this signer
(`payment_queryInfo`, its fee discount included). It prints what it locks and what it leaves before sending;
`--balance` chooses another amount (`all`: the whole free balance, and no fees until voting ends).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import RpcClient
from btt_chain.client.submit import sign_call
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Signer

FEE_MARGIN_FEES = 10
"""The default vote leaves the fees of this many typical transactions spendable until voting ends."""

TYPICAL_CALLS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("balances.transfer_keep_alive", (bytes(32), 1)),
    ("staking.unstake", (0,)),
)
"""Transactions a voter is likely to send while its vote is open (besides voting again); their fees, with the
vote's own, size the margin. The arguments only fix the encoded length: nothing is sent."""


@dataclass(frozen=True, slots=True)
class VotePlan:
    """What a vote would lock and leave, in base units, computed before anything is sent."""

    amount: int
    """The `balance` argument to send (the runtime locks at most the free balance left after the fee)."""
    locked: int
    """The free balance the vote counts in the holders' house and locks until voting ends."""
    left: int
    """The spendable balance after the vote's fee and lock: what pays fees until voting ends."""
    free_after_fee: int
    """The free balance once the vote's fee is paid."""
    vote_fee: int
    typical_fee: int
    """The dearest of the typical transactions' fees (the vote's own included)."""
    margin: int
    """`FEE_MARGIN_FEES` x `typical_fee`: what the default keeps out of the vote."""
    default: bool
    """No `--balance` was given."""
    spendable: int
    """The spendable balance before the vote: below `vote_fee`, the vote itself cannot be paid."""
    pending: int = 0
    """Transactions of the account still in the node's pool: what they spend comes out of the margin first."""


def plan_vote(free: int, frozen: int, vote_fee: int, typical_fee: int, requested: int | None) -> VotePlan:
    """The vote's lock and what it leaves for fees, from the account's `free` and `frozen` (its locks at the head).

    `requested` None (the default): all of the free balance after the fee except the margin; but never less than
    what other locks (vesting, an earlier vote) already hold, since voting with those tokens costs no spendable
    balance. Locks overlap (the largest holds), so what stays spendable is the free balance after the fee less the
    larger of the existing locks and this vote's. With `requested`, the runtime locks at most the free balance."""
    typical = max(typical_fee, vote_fee)
    margin = FEE_MARGIN_FEES * typical
    free_after = max(0, free - vote_fee)
    if requested is None:
        locked = max(0, free_after - margin, min(frozen, free_after))
        amount = locked
    else:
        locked = min(requested, free_after)
        amount = requested
    left = max(0, free_after - max(frozen, locked))
    return VotePlan(amount, locked, left, free_after, vote_fee, typical, margin, requested is None,
                    max(0, free - frozen))


def quote_fee(client: RpcClient, info: ChainInfo, signer: Signer, call: Call) -> int:
    """The inclusion fee the node quotes for `call` signed by `signer` now (signed, never sent)."""
    xt = sign_call(client, info, signer, call)
    return int(client.call("payment_queryInfo", "0x" + xt.encode().hex())["partialFee"])


def fetch_plan(client: RpcClient, info: ChainInfo, signer: Signer, vote_call: Call,
               requested: int | None) -> VotePlan:
    """`plan_vote` with the signer's account at the head and the node's fee quotes."""
    who = "0x" + signer.account.hex()
    account = client.call("btt_account", who)
    vote_fee = quote_fee(client, info, signer, vote_call)
    typical = vote_fee
    for name, args in TYPICAL_CALLS:
        if name in info.calls:
            typical = max(typical, quote_fee(client, info, signer, info.calls.build_call(name, *args)))
    plan = plan_vote(int(account["free"]), int(account["frozen"]), vote_fee, typical, requested)
    pending = int(client.call("system_accountNextIndex", who)) - int(account["nonce"])
    return replace(plan, pending=max(0, pending))


def has_other_weight(voter: dict[str, Any]) -> bool:
    """`btt_voter`'s answer shows weight beside the free balance: an institution's allocation, work credit, a
    representative's seat, or a term deposit (turnout counts free balance plus staked principal)."""
    weights = voter["weights"]
    if any(int(weights[h]) for h in ("institutions", "compute", "representatives")):
        return True
    return int(voter["turnout"]) > int(voter["lockable"])
