"""Node-test support: a dev chain with a fixed genesis time on a memory or LevelDB store."""

from __future__ import annotations

from typing import Any

from btt_chain.node.chain import Chain
from btt_chain.node.pool_funds import ChainAccounts
from btt_chain.node.txpool import PoolConfig, TxPool
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from genesis.build import Genesis, build_genesis
from genesis.loader import as_of_spec, load_chain_spec, materialise, parse_chain_spec
from runtime.modules import RUNTIME
from runtime.system import storage as system
from storage.kv import KeyValueStore
from storage.memory import MemoryStore

GENESIS_TIME_MS = 1_700_000_000_000
UNIT = 10**18


def dev_genesis(
    genesis_time_ms: int = GENESIS_TIME_MS, preset: str = "dev", spec_version: int | None = None
) -> Genesis:
    """The dev chain's genesis; `spec_version` starts it at another spec than the preset's (11: as the dev chain was
    before specs were recorded, the file without the field)."""
    raw = dict(load_chain_spec(preset).raw)  # a preset's name, or the path of a chain spec file
    if spec_version is not None:
        raw = as_of_spec(raw, spec_version)
    return build_genesis(parse_chain_spec(materialise(raw, genesis_time_ms)))


def far_future_ms() -> int:
    return GENESIS_TIME_MS + 10**9


def new_chain(kv: KeyValueStore | None = None, genesis: Genesis | None = None) -> Chain:
    return Chain(kv if kv is not None else MemoryStore(), genesis or dev_genesis())


def block_bytes(chain: Chain, number: int) -> bytes:
    """The encoded block `number` of `chain`'s canonical chain (asserted present)."""
    h = chain.db.canonical_hash(number)
    raw = None if h is None else chain.db.get_block_bytes(h)
    assert raw is not None, f"no block #{number}"
    return raw


def transfer(chain: Chain, sender: str, dest: str, amount: int, nonce: int | None = None, tip: int = 0) -> Extrinsic:
    pair = dev_keypair(sender)
    if nonce is None:
        nonce = system.account.get(chain.state(), pair.public).nonce
    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair(dest).public, amount)
    return sign_extrinsic(pair, call, nonce, chain.genesis_hash, RUNTIME.spec_version, tip=tip)


def author_next(chain: Chain, xts: list[Extrinsic] = ()):  # type: ignore[assignment]
    """Author the next block as alice (the dev validator) in the next slot."""
    return chain.author_block(chain.head.slot + 1, dev_keypair("alice"), [(x, len(x.encode())) for x in xts])


def devnet_genesis(nodes: int, epoch_slots: int = 5, genesis_time_ms: int = GENESIS_TIME_MS) -> Genesis:
    from genesis.devnet import devnet_spec_doc

    return build_genesis(parse_chain_spec(devnet_spec_doc(nodes, genesis_time_ms, epoch_slots)))


def author_as_leader(chain: Chain, names: tuple[str, ...], xts: list[Extrinsic] = (), max_slots: int = 50,  # type: ignore[assignment]
                     from_slot: int = 0):
    """Author the next block in the first slot after the head (and at `from_slot` or later) that one of `names`
    leads."""
    keys = {dev_keypair(n).public: dev_keypair(n) for n in names}
    first = max(chain.head.slot + 1, from_slot)
    for slot in range(first, first + max_slots):
        leader = chain.leader(slot)
        if leader in keys:
            return chain.author_block(slot, keys[leader], [(x, len(x.encode())) for x in xts])[0]
    raise AssertionError(f"none of {names} leads a slot soon")


def new_pool(chain: Chain, **cfg: Any) -> tuple[TxPool, list[float]]:
    """A pool admitting against `chain`'s head, with `PoolConfig(**cfg)` and a clock the test moves (clock[0])."""
    clock = [0.0]
    pool = TxPool(
        chain.validate_transaction,
        lambda who: system.account.get(chain.state(), who).nonce,
        PoolConfig(**cfg),
        clock=lambda: clock[0],
        accounts=ChainAccounts(chain),
        next_block=lambda: chain.head.number + 1,
    )
    return pool, clock
