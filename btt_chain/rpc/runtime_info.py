"""The runtime as clients identify it at a block: which spec's runtime it is, its version, its SCALE metadata, and
the value served at `:code`.

The runtime *at* a block B is the one that runs B's child: `spec_for_block(state of B, B.number + 1)`, as
Substrate's runtime at a block is the `:code` in its state (a `set_code` in block B puts the new runtime there, and
B's child is the first block it runs). So the last block before an upgrade's first block already shows the new spec,
and polkadot.js, which decodes a block with the runtime version at its parent, decodes every block with the spec
that ran it. It is a function of the block's state alone (`spec_at`): two reads (`system.scheduled_spec` and
`system.spec_version`) beside the block's number.

The metadata of a block is built by that spec's own metadata module (`runtime.specs.package_module`: each spec lists
its own calls, events and errors) from the figures the block's state holds (`runtime.metadata.chain_constants`: the
existential deposit, the block's limits and the slot length are parameters), once per spec and distinct set of
figures and version (`METADATA_KEPT` of them, about 70-80 kB and 15-45 ms to build each). V14 is what
`state_getMetadata` serves and `:code` hashes; V15 is served only on request (`Metadata_metadata_at_version`).

`:code` (`0x3a636f6465`) holds a Substrate chain's wasm runtime. btt's runtime is not wasm, so its `:code` holds a
descriptor of the runtime at a block instead:

    :code = SCALE RuntimeVersion ++ blake2_256(the block's SCALE metadata)

It is the same at every block whose runtime is the same spec with the same published figures, and it changes exactly
when what a client caches per runtime changes: polkadot-api keys its runtimes by the hash of `:code` (then reads
the metadata and `System.Version` once per key). It reads `:code` again when it starts following the chain and at a
block whose header carries `RuntimeEnvironmentUpdated` (`Header.runtime_updated`: the last block before an upgrade,
where the spec changes), so a running client takes a new spec at the block it starts; a parameter the metadata
publishes, changed by governance, changes `:code` without that item, and a running polkadot-api client sees it only
once it follows the chain anew. `state_getStorageHash(:code)` is the blake2_256 of this value, as for every key.

A block whose runtime this node cannot run (a spec scheduled that this release lacks, or above `--max-spec`) has no
metadata here: `unsupported` is the RPC error every method gives for it.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import TYPE_CHECKING, Any

from btt_chain.primitives.hashing import blake2b_256
from btt_chain.rpc.errors import UNSUPPORTED_SPEC, RpcError
from runtime.overlay import Overlay, StateReader
from runtime.specs import (
    UnsupportedSpec,
    package_module,
    running_spec,
    runtime_for_block,
    runtime_of,
    spec_for_block,
)
from runtime.system import storage as system

if TYPE_CHECKING:
    from runtime.dispatch import Runtime

CODE_KEY = b":code"
METADATA_KEPT = 8
"""Metadata builds kept (per version, spec and set of published figures): a chain across one upgrade needs two of
each version."""


def _overlay(state: Overlay | StateReader) -> Overlay:
    return state if isinstance(state, Overlay) else Overlay(state)


def spec_at(state: Overlay | StateReader) -> int:
    """The spec of the runtime at the block whose post-state is `state`: the one that runs its child."""
    view = _overlay(state)
    return spec_for_block(view, system.number.get(view) + 1)


def runtime_at(state: Overlay | StateReader) -> Runtime:
    """The runtime at the block whose post-state is `state` (see `spec_at`); RpcError `unsupported` if this node
    cannot run its spec."""
    view = _overlay(state)
    try:
        return runtime_for_block(view, system.number.get(view) + 1)
    except UnsupportedSpec as exc:
        raise unsupported(exc) from None


def reading_runtime(state: Overlay | StateReader) -> Runtime:
    """The runtime to decode what the block's state holds with (a referendum's call): the runtime at the block, or,
    where this node cannot run that one (an upgrade it lacks is due next), the one that ran the block, so that a
    node left behind still shows the chain it stopped on."""
    try:
        return runtime_at(state)
    except RpcError:
        try:
            return runtime_of(running_spec(_overlay(state)))
        except UnsupportedSpec as exc:
            raise unsupported(exc) from None


def unsupported(exc: UnsupportedSpec) -> RpcError:
    """The error for a block whose runtime this node has no rules for: the spec, from which block, what this node
    runs and what to install, in one line (`btt_upgrade` gives the figures)."""
    return RpcError(UNSUPPORTED_SPEC, str(exc))


def module_of(runtime: Runtime, name: str) -> ModuleType:
    """`runtime`'s own copy of the runtime module `name` (`runtime.balances.locks`)."""
    return package_module(runtime.spec_version, name)


def version_of(runtime: Runtime) -> Any:
    """`runtime`'s `RuntimeVersion` (its spec's own `runtime.version`)."""
    return module_of(runtime, "runtime.version").runtime_version(runtime)


def metadata_versions(state: Overlay | StateReader) -> tuple[int, ...]:
    """The metadata versions the runtime at the block whose state is `state` serves: its spec's
    `runtime.metadata.METADATA_VERSIONS` ((14,) for a spec from before V15)."""
    versions: tuple[int, ...] = getattr(module_of(runtime_at(state), "runtime.metadata"), "METADATA_VERSIONS", (14,))
    return versions


def metadata(state: Overlay | StateReader, ss58_prefix: int, version: int = 14) -> bytes:
    """`RuntimeMetadataPrefixed` (V14, or `version`, one of `metadata_versions`) of the runtime at the block whose
    state is `state`, with its figures."""
    view = _overlay(state)
    runtime = runtime_at(view)
    if version != 14 and version not in metadata_versions(view):  # every spec serves V14
        raise ValueError(f"spec {runtime.spec_version} serves no metadata V{version}")
    c = module_of(runtime, "runtime.metadata").chain_constants(view, ss58_prefix, runtime)
    return _built(version, runtime.spec_version, c.ss58_prefix, c.block_hash_count, c.existential_deposit,
                  c.limits.max_weight, c.limits.max_bytes, c.slot_ms)


@functools.lru_cache(maxsize=METADATA_KEPT)
def _built(version: int, spec: int, ss58_prefix: int, block_hash_count: int, existential_deposit: int,
           max_weight: int, max_bytes: int, slot_ms: int) -> bytes:
    runtime = runtime_of(spec)
    meta = module_of(runtime, "runtime.metadata")
    constants = meta.ChainConstants(ss58_prefix, block_hash_count, existential_deposit, version_of(runtime),
                                    meta.BlockLimits(max_weight, max_bytes), slot_ms)
    build = meta.build_metadata if version == 14 else meta.build_metadata_v15
    built: bytes = build(runtime, constants)
    return built


def code(state: Overlay | StateReader, ss58_prefix: int) -> bytes:
    """The value at `:code` in the block whose state is `state` (see above)."""
    view = _overlay(state)
    return _descriptor(spec_at(view), metadata(view, ss58_prefix))


@functools.lru_cache(maxsize=METADATA_KEPT)
def _descriptor(spec: int, metadata_bytes: bytes) -> bytes:
    encoded: bytes = version_of(runtime_of(spec)).encode()
    return encoded + blake2b_256(metadata_bytes)


def version_json(state: Overlay | StateReader) -> dict[str, Any]:
    """Substrate's `RuntimeVersion` JSON (`state_getRuntimeVersion`) of the runtime at the block whose state is
    `state`."""
    as_json: dict[str, Any] = version_of(runtime_at(state)).to_json()
    return as_json
