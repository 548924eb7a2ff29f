"""What pooled transactions take from their senders' balances, and which of them a balance pays for.

A pooled transaction commits its sender to its fee, its tip and its spend: what its call takes from the sender's
free balance (moves, reserves, stakes or burns). Each call declares that beside itself (`CallDef.spends`,
`runtime.dispatch.Spends`) and `compute_call_spend` reads the declaration, purely from the call's arguments:

- an argument holding the amount (`balances.transfer_keep_alive`'s `value`, `bonds.bond`'s `amount`,
  `governance.propose`'s `deposit`, `compute.post_job`'s `price` ...);
- everything that is left (`balances.transfer_all`, `Spend.rest`): no later transaction of the sender can be paid;
- the calls it carries (`utility.batch`, `batch_all`, `force_batch`: the sum of what its calls take, at any depth);
  a call made as another account (`proxy.proxy`'s `real`) takes from that account, not the sender's: `Spend.others`,
  which admission holds to that account's spendable balance less what its own pooled transactions commit it to.

What a carried call takes is a must only where its failure fails the whole transaction (`batch_all`): a `batch` that
stops at a call the balance cannot pay (BatchInterrupted) or a `force_batch` that goes on past it (ItemFailed) is
still included and pays its fee, so what their calls take is `Spend.upto`: counted in full while the balance
covers it, else as everything left after the fee (like `transfer_all`). The pool so admits every batch the chain
accepts and both dry runs pass, and still holds the sender to the fee and tip of it and of every later transaction.

A call that takes an amount only the state knows declares it in words (`Spends.state`: `payments.pay_invoice` the
invoice's amount, `assets.accept` an offer's price, `multisig.approve` and `proxy.add_proxy` a deposit); it counts 0
here, and the re-check after the block that includes it drops whatever its sender can no longer pay.
`governance.vote` locks rather than spends (locks overlap). Calls that pay the sender (`unstake`,
`withdraw_unbonded`, `incentives.redeem`) do not fund its later transactions in the pool either: the pool counts
what leaves, never what arrives, until a block says so. A call of an older spec's table (no declaration) is read by
the newest spec's declaration of the same call.

`find_unpayable` walks a sender's transactions in nonce order (ready and future together) and names the first one
its spendable balance cannot pay: that one and every later nonce go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from runtime.balances.locks import account_at
from runtime.dispatch import DecodedCall, Runtime, Spends
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
    others: tuple[tuple[bytes, int], ...] = ()
    """(account, base units) it takes from accounts other than the sender (a proxy's `real`), by account."""
    upto: int = 0
    """Base units its carried calls may take whose failure does not fail it (a `batch` stops, a `force_batch` goes
    on, and either pays its fee): held to no more than what the balance has left after the fee and `amount`."""


NO_SPEND = Spend()


def declared(decoded: DecodedCall) -> Spends:
    """The call's own declaration; for an older spec's call (none), the newest spec's declaration of the same call."""
    spends = decoded.call.spends
    if spends is None:
        from runtime.modules import RUNTIME

        spends = RUNTIME.lookup(decoded.full_name)[1].spends
        if spends is None:
            raise AssertionError(f"{decoded.full_name} declares nothing of what it spends")
    return spends


def compute_call_spend(decoded: DecodedCall, runtime: Runtime | None = None, sender: bytes | None = None) -> Spend:
    """The base units `decoded` takes from its sender's free balance (and from other accounts, for calls it makes as
    them), by the declarations of the call and of every call it carries. `runtime` decodes carried calls (default:
    the newest)."""
    if runtime is None:
        from runtime.modules import RUNTIME

        runtime = RUNTIME
    totals: dict[bytes | None, int] = {}
    rest: set[bytes | None] = set()
    upto: list[int] = [0]
    _walk(runtime, decoded, None, sender, totals, rest, upto, False)
    others = tuple(sorted((who, amount) for who, amount in totals.items() if who is not None and amount))
    return Spend(totals.get(None, 0), None in rest, others, upto[0])


def _walk(runtime: Runtime, decoded: DecodedCall, payer: bytes | None, sender: bytes | None,
          totals: dict[bytes | None, int], rest: set[bytes | None], upto: list[int], may_fail: bool) -> None:
    """Add what `decoded` takes, made as `payer` (None: the sender), to `totals` and `rest`; what the sender's own
    calls take where their failure leaves the transaction standing (`may_fail`) goes to `upto[0]` instead."""
    spends = declared(decoded)
    args: dict[str, Any] = {name: value for (name, _), value in zip(decoded.call.args, decoded.args, strict=True)}
    if spends.argument is not None and isinstance(args.get(spends.argument), int):
        if may_fail and payer is None:
            upto[0] += args[spends.argument]
        else:
            totals[payer] = totals.get(payer, 0) + args[spends.argument]
    if spends.everything:
        rest.add(payer)
    if spends.calls is None:
        return
    carried = args.get(spends.calls)
    calls = carried if isinstance(carried, tuple) else (carried,)
    inner_payer = payer
    inner_may_fail = may_fail or spends.calls_may_fail  # declared beside the call (`Spends.calls_may_fail`)
    if spends.payer is not None:
        named = args.get(spends.payer)
        inner_payer = None if named == sender or not isinstance(named, bytes) else named
    for call in calls:
        if not isinstance(call, Call):
            continue
        try:
            inner = runtime.decode_call(call)
        except (DecodeError, InvalidExtrinsic):
            continue  # the extrinsic's decoding checked it: nothing to count for what cannot run
        _walk(runtime, inner, inner_payer, sender, totals, rest, upto, inner_may_fail)


def get_call_spend(runtime: Runtime, call: Call, sender: bytes | None = None) -> Spend:
    """`compute_call_spend` of an encoded call; the caller has checked that it decodes."""
    return compute_call_spend(runtime.decode_call(call), runtime, sender)


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
    @property
    def spend_upto(self) -> int: ...


def find_unpayable(txs: Sequence[Charge], spendable: int) -> tuple[int, int] | None:
    """(index, need) of the first of `txs` (one sender's, in nonce order) that `spendable` cannot pay, `need` being
    what it and those before it must take; None when the balance pays them all. What a transaction may take
    (`spend_upto`) never makes it unpayable: it counts up to what is left, and leaves nothing for later ones then."""
    need = 0
    for i, tx in enumerate(txs):
        need += tx.fee + tx.tip + (0 if tx.takes_rest else tx.spend)
        if need > spendable:
            return i, need
        need = spendable if tx.takes_rest else min(need + tx.spend_upto, spendable)
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
