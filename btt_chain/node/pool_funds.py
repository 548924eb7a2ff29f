"""What pooled transactions take from their senders' balances, and which of them a balance pays for.

A pooled transaction commits its sender to its fee, its tip and its spend: what its call takes from the sender's
free balance (moves, reserves, stakes or burns). `compute_call_spend` maps a decoded call to that spend, purely
from the call's arguments:

- `balances.transfer`, `balances.transfer_keep_alive`, `balances.burn`, `vesting.vested_transfer`,
  `payments.pay`, `payments.refund`: the `amount` they move or burn (`payments.pay`'s payment fee is a share of
  the amount set by a parameter and is not counted);
- `staking.stake`, `bonds.bond`, `bonds.bond_extra`: the `amount` reserved;
- `compute.post_job`: the `price` reserved; `governance.propose`: the `deposit` reserved;
- `balances.transfer_all`: everything that is left (`Spend.rest`): no later transaction of the sender can be paid.

Every other call counts 0. Some take balance by an amount that only the state knows (`payments.pay_invoice` the
invoice's amount, `assets.accept` an offer's price, `assets` fees set by valuation, `compute.demand_outputs` a
posting deposit, `multisig.approve` the deposit of a first approval); `governance.vote` locks rather than spends
(locks overlap). For those the pool's admission check is short by that amount, and the re-check after the block
that includes them drops whatever their sender can no longer pay. Calls that pay the sender (`unstake`,
`withdraw_unbonded`, `incentives.redeem`) do not fund its later transactions in the pool either: the pool counts
what leaves, never what arrives, until a block says so.

`find_unpayable` walks a sender's transactions in nonce order (ready and future together) and names the first one
its spendable balance cannot pay: that one and every later nonce go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from btt_chain.primitives.extrinsic import Call
from runtime.balances.locks import account_at
from runtime.dispatch import DecodedCall, Runtime
from runtime.system import storage as system
from runtime.system.types import AccountInfo

if TYPE_CHECKING:
    from btt_chain.node.chain import Chain


@dataclass(frozen=True, slots=True)
class Spend:
    """What a call takes from its sender's free balance, beyond the fee and tip."""

    amount: int = 0
    """Base units it moves, reserves, stakes or burns."""
    rest: bool = False
    """It takes whatever spendable balance is left when it runs (`balances.transfer_all`)."""


NO_SPEND = Spend()

SPEND_ARGUMENTS: dict[str, str] = {
    "balances.transfer_allow_death": "value",
    "balances.transfer_keep_alive": "value",
    "balances.burn": "value",
    "vesting.vested_transfer": "amount",
    "payments.pay": "amount",
    "payments.refund": "amount",
    "staking.stake": "amount",
    "bonds.bond": "amount",
    "bonds.bond_extra": "amount",
    "compute.post_job": "price",
    "governance.propose": "deposit",
}
"""Calls that take a balance named by one of their arguments: call name -> that argument."""

TAKES_REST = frozenset({"balances.transfer_all"})
"""Calls that take everything spendable that is left."""


def compute_call_spend(decoded: DecodedCall) -> Spend:
    """The base units `decoded` takes from its sender's free balance (0 for calls not listed above)."""
    name = decoded.full_name
    if name in TAKES_REST:
        return Spend(rest=True)
    argument = SPEND_ARGUMENTS.get(name)
    if argument is None:
        return NO_SPEND
    for (arg_name, _), value in zip(decoded.call.args, decoded.args, strict=True):
        if arg_name == argument:
            return Spend(value) if isinstance(value, int) else NO_SPEND
    return NO_SPEND


def get_call_spend(runtime: Runtime, call: Call) -> Spend:
    """`compute_call_spend` of an encoded call; the caller has checked that it decodes."""
    return compute_call_spend(runtime.decode_call(call))


class Charge(Protocol):
    """What one pooled transaction commits its sender to."""

    @property
    def fee(self) -> int: ...
    @property
    def tip(self) -> int: ...
    @property
    def spend(self) -> int: ...
    @property
    def takes_rest(self) -> bool: ...


def find_unpayable(txs: Sequence[Charge], spendable: int) -> tuple[int, int] | None:
    """(index, need) of the first of `txs` (one sender's, in nonce order) that `spendable` cannot pay, `need` being
    what it and those before it take; None when the balance pays them all."""
    need = 0
    for i, tx in enumerate(txs):
        need += tx.fee + tx.tip + (0 if tx.takes_rest else tx.spend)
        if need > spendable:
            return i, need
        if tx.takes_rest:
            need = spendable
    return None


class HeadAccounts(Protocol):
    """The accounts at the head, as the pool's re-check after a block reads them."""

    def account(self, who: bytes) -> AccountInfo:
        """The stored record (nonce and balances): one read. Its `spendable` is a floor of what the next block
        sees, since locks only loosen with time and every call that tightens one writes the record."""
        ...

    def spendable(self, who: bytes) -> int:
        """The spendable balance with locks as they stand at the next block's time (what admission sees)."""
        ...


class ChainAccounts:
    """`HeadAccounts` of a node's chain."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain

    def account(self, who: bytes) -> AccountInfo:
        return system.account.get(self._chain.state(), who)

    def spendable(self, who: bytes) -> int:
        chain = self._chain
        return account_at(chain.state(), who, chain.next_env().timestamp_ms, chain.executive.runtime).spendable
