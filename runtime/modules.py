"""The assembled runtime: every module at its fixed index. Indices are never reused."""

from __future__ import annotations

from btt_chain.primitives.extrinsic import register_call_schema
from runtime.dispatch import Runtime
from runtime.specs import newest_call_end

from .assets.calls import MODULE as ASSETS
from .balances.calls import MODULE as BALANCES
from .balances.locks import register_lock_source
from .bonds.calls import MODULE as BONDS
from .bonds.floors import register_bond_floor
from .compute.calls import MODULE as COMPUTE
from .compute.providers import bond_floor as provider_bond_floor
from .consensus.calls import MODULE as CONSENSUS
from .evidence.calls import MODULE as EVIDENCE
from .governance.calls import MODULE as GOVERNANCE
from .governance.logic import vote_lock
from .governance.types import Referendum
from .incentives.calls import MODULE as INCENTIVES
from .migrations import MIGRATIONS, STORAGE_VERSIONS
from .multisig.calls import MODULE as MULTISIG
from .params.calls import MODULE as PARAMS
from .payments.calls import MODULE as PAYMENTS
from .proxy.calls import MODULE as PROXY
from .roles.calls import MODULE as ROLES
from .session.calls import MODULE as SESSION
from .staking.calls import MODULE as STAKING
from .system.calls import MODULE as SYSTEM
from .timestamp.calls import MODULE as TIMESTAMP
from .treasury.calls import MODULE as TREASURY
from .utility.calls import MODULE as UTILITY
from .vesting.calls import MODULE as VESTING
from .vesting.logic import vesting_lock

SPEC_VERSION = 20
"""Bumped whenever the state transition changes; part of every signing payload."""

RUNTIME = Runtime(
    spec_version=SPEC_VERSION,
    modules=(
        SYSTEM, CONSENSUS, BALANCES, PARAMS, SESSION, EVIDENCE, VESTING, TREASURY, ROLES, STAKING, BONDS, COMPUTE,
        MULTISIG, GOVERNANCE, ASSETS, PAYMENTS, INCENTIVES, TIMESTAMP, UTILITY, PROXY,
    ),
    storage_versions=STORAGE_VERSIONS,
    migrations=MIGRATIONS,
    stored_calls=(Referendum,),
)
"""Hooks run in this order: consensus first (the leader and the reveal are checked against the state at the end
of the previous block; at an epoch's first block the session sets then rotate and the next schedule is drawn),
compute later (its draws use the randomness with this block's reveal in it), then governance (an enacted call
sees the block's state after those hooks), incentives last (an ended epoch's redemption requests are paid under
the parameters and from the pool as an enacted call left them, before any extrinsic of the block)."""

register_call_schema(newest_call_end)
"""A call inside a value decoded outside any runtime (an RPC parameter) ends where the newest spec's table says (the
same function whichever spec registers it); this runtime decodes the calls in its calls' arguments and in its stored
referenda by its own table (`stored_calls`)."""

register_lock_source(vesting_lock)
"""Vesting keeps each holder's frozen balance equal to what its schedules still lock."""

register_lock_source(vote_lock)
"""Governance keeps a voter's counted free balance frozen until the end of the referendum it voted in."""

register_bond_floor(provider_bond_floor)
"""A compute provider keeps one fixed slash bonded for every assignment not yet final."""
