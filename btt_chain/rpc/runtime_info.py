"""The runtime as clients identify it at a block: its SCALE metadata, and the value served at `:code`.

The metadata of a block is built from the one runtime and the figures that block's state holds
(`runtime.metadata.chain_constants`: the existential deposit and the block's limits are parameters), once per
distinct set of figures.

`:code` (`0x3a636f6465`) holds a Substrate chain's wasm runtime. btt's runtime is not wasm, so its `:code` holds a
descriptor of the runtime a block runs instead:

    :code = SCALE RuntimeVersion ++ blake2_256(the block's SCALE metadata)

It is the same at every block that runs the same runtime with the same published figures, and it changes exactly
when what a client caches per runtime changes: polkadot-api keys its runtimes by the hash of `:code` (then reads
the metadata and `System.Version` once per key), so a new runtime version, or a parameter the metadata publishes
being changed by governance, makes it read them again. `state_getStorageHash(:code)` is the blake2_256 of this value,
as for every key.
"""

from __future__ import annotations

import functools

from btt_chain.primitives.hashing import blake2b_256
from runtime.metadata import BlockLimits, ChainConstants, build_metadata, chain_constants
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.version import RuntimeVersion, runtime_version

CODE_KEY = b":code"


def metadata(state: Overlay, ss58_prefix: int) -> bytes:
    """`RuntimeMetadataPrefixed` (V14) as the block whose state is `state` publishes it."""
    c = chain_constants(state, ss58_prefix, RUNTIME)
    return _built(c.ss58_prefix, c.block_hash_count, c.existential_deposit, c.version, c.limits)


@functools.lru_cache(maxsize=8)
def _built(ss58_prefix: int, block_hash_count: int, existential_deposit: int, version: RuntimeVersion,
           limits: BlockLimits) -> bytes:
    return build_metadata(RUNTIME, ChainConstants(ss58_prefix, block_hash_count, existential_deposit, version, limits))


def code(state: Overlay, ss58_prefix: int) -> bytes:
    """The value at `:code` in the block whose state is `state` (see above)."""
    return _descriptor(metadata(state, ss58_prefix))


@functools.lru_cache(maxsize=8)
def _descriptor(metadata_bytes: bytes) -> bytes:
    return runtime_version(RUNTIME).encode() + blake2b_256(metadata_bytes)
