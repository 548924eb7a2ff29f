"""What each proxy type lets a delegate do: a filter over this runtime's calls, read from each call's own declaration
of what it takes (`runtime.dispatch.Spends`) and its module, so a call added later is judged without a list to edit.

- Any: every call.
- NonTransfer: only calls that take nothing from the account (no transfer, burn, deposit, stake, bond, asset move,
  and no call that runs another call as someone else, such as a multisig approval). It may vote, claim, unstake,
  unbond, set keys, remark.
- Governance: the governance module's calls (propose, vote, cancel).
- Staking: the bonds, staking and session modules' calls (bond, unbond, rebond, register a validator, stake, unstake,
  set keys).

A call that carries calls (a batch, a proxy call) passes every type's filter itself: each call it carries meets the
filter when it runs (`runtime.utility.nested`), at any depth. And as FRAME's: a proxy adds or removes only proxies of
no more power than its own (`is_superset`), and only an Any proxy removes them all.
"""

from __future__ import annotations

from runtime.dispatch import DecodedCall

from ..proxy import errors
from ..proxy.types import ANY, GOVERNANCE, NON_TRANSFER, PROXY_TYPES, STAKING
from ..utility.nested import CallFilter

STAKING_MODULES = frozenset({"bonds", "staking", "session"})
GOVERNANCE_MODULES = frozenset({"governance"})
_CHANGES_PROXIES = frozenset({"proxy.add_proxy", "proxy.remove_proxy"})


def is_superset(power: int, other: int) -> bool:
    """Whether a proxy of type `power` may do all that one of type `other` may (Polkadot's rule)."""
    return power == other or power == ANY or (power == NON_TRANSFER and other != ANY)


def allows(proxy_type: int, decoded: DecodedCall) -> bool:
    """Whether a proxy of `proxy_type` may make `decoded` (the proxy module's own rules aside)."""
    if proxy_type == ANY:
        return True
    spends = decoded.call.spends
    if spends is not None and spends.calls is not None:
        return True  # what it carries meets this filter as it runs
    if proxy_type == NON_TRANSFER:
        return spends is not None and spends.takes_nothing
    if proxy_type == GOVERNANCE:
        return decoded.module.name in GOVERNANCE_MODULES
    if proxy_type == STAKING:
        return decoded.module.name in STAKING_MODULES
    return False


def filter_for(proxy_type: int) -> CallFilter:
    """The filter a proxy of `proxy_type` dispatches under: raises Unproxyable or NoPermission for a call it may not
    make."""
    name = PROXY_TYPES[proxy_type]

    def check(decoded: DecodedCall) -> None:
        call = decoded.full_name
        if call in _CHANGES_PROXIES and not is_superset(proxy_type, decoded.args[1]):
            raise errors.NoPermission(f"a {name} proxy cannot add or remove a {PROXY_TYPES[decoded.args[1]]} proxy")
        if call == "proxy.remove_proxies" and proxy_type != ANY:
            raise errors.NoPermission(f"only an Any proxy removes every proxy, not a {name} one")
        if not allows(proxy_type, decoded):
            raise errors.Unproxyable(f"a {name} proxy may not make {call}")

    return check
