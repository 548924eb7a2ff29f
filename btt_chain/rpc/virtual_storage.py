"""Storage items FRAME keeps in state that btt keeps beside its blocks: `System.Events` (the block's events, kept
with the block, not in the state tree) and `System.Digest` (the block's digest items but the seal, in its header).
The state methods serve them at their FRAME keys for any block they serve, from the block's own records, so a
client that reads `System.Events` after inclusion (@polkadot/api's `derive.tx.events`, substrate-interface's
receipts) finds the events it expects.

Three more are computed from the block's state rather than stored: `:code`, the descriptor of the runtime at the block
(`btt_chain.rpc.runtime_info`: it changes with the spec, at the last block before an upgrade), `Balances.Locks`, an
account's locks as the lock sources of the runtime at the block hold them (`runtime.balances.storage`), and
`Vesting.Vesting`, an account's schedules as FRAME's records at the block (`runtime.vesting.frame_view`, from spec 15
on: an older spec's metadata has no such item, and nothing is served under it). And
`System.BlockHash(0)`, the genesis hash, which the state holds from block 1 on (the genesis state cannot hold its own
block's hash), is served at genesis too: polkadot-api reads the chain's genesis hash there. Every state method and
storage subscription reads through `read`, so they all agree.

    System.Events = Vec<EventRecord { phase: Phase, event: RuntimeEvent, topics: Vec<H256> }>
    phase         = 0x00 ++ u32 extrinsic index | 0x01 (Finalization) | 0x02 (Initialization)
    event         = pallet index u8 ++ variant index u8 ++ SCALE(fields)          (runtime.metadata.indices)

Each block's encoding is computed once and kept for the last KEEP blocks asked for.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import U128, AccountId, Bool, Bytes, Field, ListOf, Nested, Struct, UInt
from btt_chain.primitives.hashing import twox128
from btt_chain.rpc import runtime_info
from btt_chain.rpc.render import PHASE_FINALIZATION, PHASE_INITIALIZATION, event_type
from runtime.balances import storage as balances_storage
from runtime.metadata.indices import event_index
from runtime.overlay import Overlay
from runtime.system import storage as system_storage
from runtime.vesting import frame_view as vesting_frame_view

if TYPE_CHECKING:
    from btt_chain.node.chain import Chain

EVENTS_KEY = twox128(b"System") + twox128(b"Events")
DIGEST_KEY = twox128(b"System") + twox128(b"Digest")
KEEP = 8
_NO_TOPICS = b"\x00"


LOCKS_PREFIX = balances_storage.LOCKS_PREFIX
VESTING_PREFIX = vesting_frame_view.VESTING_PREFIX
GENESIS_HASH_KEY = system_storage.block_hash.key(0)


def is_virtual(key: bytes) -> bool:
    return (key == EVENTS_KEY or key == DIGEST_KEY or key == runtime_info.CODE_KEY or key.startswith(LOCKS_PREFIX)
            or key.startswith(VESTING_PREFIX))


def read(chain: Chain, reader: Any, key: bytes, block_hash: bytes) -> bytes | None:
    """A storage value at a block as clients read it: a virtual item's from the block's records or computed from
    its state (`reader`), else the state's."""
    if key == EVENTS_KEY or key == DIGEST_KEY:
        return virtual_storage(chain).get(key, block_hash)
    if key == runtime_info.CODE_KEY:
        return runtime_info.code(Overlay(reader), chain.genesis.spec.ss58_prefix)
    if key[:32] == LOCKS_PREFIX:
        state = Overlay(reader)
        runtime = runtime_info.runtime_at(state)
        value: bytes | None = runtime_info.module_of(runtime, "runtime.balances.storage").locks_value(state, key,
                                                                                                      runtime)
        return value
    if key[:32] == VESTING_PREFIX:
        return _vesting(Overlay(reader), key)
    value = reader.get(key)
    if value is None and key == GENESIS_HASH_KEY:
        return chain.genesis_hash
    return value


def _vesting(state: Overlay, key: bytes) -> bytes | None:
    """`Vesting.Vesting` at `key` by the runtime at the block, or None where that runtime has no such item (a spec
    before 15)."""
    runtime = runtime_info.runtime_at(state)
    try:
        view = runtime_info.module_of(runtime, "runtime.vesting.frame_view")
    except ModuleNotFoundError:
        return None
    value: bytes | None = view.vesting_value(state, key, runtime)
    return value


def _phase(phase: int) -> bytes:
    if phase == PHASE_FINALIZATION:
        return b"\x01"
    if phase == PHASE_INITIALIZATION:
        return b"\x02"
    return b"\x00" + phase.to_bytes(4, "little")


def encode_event_record(record: Any) -> bytes | None:
    """One stored record [phase, module, name, fields wire] as FRAME's `EventRecord` (None: an event no pallet
    lists, left out). The fields go from their stored wire form straight to SCALE (`_wire_to_scale`), without
    building the event: a block of 10,000 transfers has 30,000 of them."""
    phase, module, name, fields = record
    converter = _converters.get((module, name))
    if converter is None:
        cls = event_type(module, name)
        if cls is None:
            return None
        try:
            pallet, variant = event_index(cls)
        except KeyError:
            return None
        converter = _converters[(module, name)] = (bytes((pallet, variant)), _struct_converter(cls))
    head, convert = converter
    return _phase(phase) + head + convert(fields) + _NO_TOPICS


Converter = Callable[[Any], bytes]
_converters: dict[tuple[str, str], tuple[bytes, Converter]] = {}


def _struct_converter(cls: type[Struct]) -> Converter:
    """Wire form of a Struct -> its SCALE bytes: field by field, or through the Struct where it encodes itself."""
    if cls.encode_scale is not Struct.encode_scale:
        return lambda wire: cls.from_wire(wire).encode()
    parts = [_field_converter(f) for _, f in cls.WIRE]

    def convert(wire: Any) -> bytes:
        return b"".join([part(w) for part, w in zip(parts, wire, strict=True)])
    return convert


def _field_converter(f: Field) -> Converter:
    kind = type(f)
    if kind is UInt:
        size = f.size  # type: ignore[attr-defined]
        return lambda w: w.to_bytes(size, "little")  # type: ignore[no-any-return]
    if kind is U128:
        return lambda w: w[::-1]  # type: ignore[no-any-return]  # 16 bytes big-endian on the wire
    if kind is AccountId or (kind is Bytes and f.size is not None):  # type: ignore[attr-defined]
        return lambda w: w  # type: ignore[no-any-return]
    if kind is Bytes:
        return scale.encode_bytes
    if kind is Bool:
        return lambda w: b"\x01" if w else b"\x00"
    if kind is ListOf:
        item = _field_converter(f.item)  # type: ignore[attr-defined]
        return lambda w: scale.encode_compact(len(w)) + b"".join([item(v) for v in w])
    if kind is Nested:
        return _struct_converter(f.cls)  # type: ignore[attr-defined]
    return lambda w: f.encode_scale(f.from_wire(w))  # anything else: through the field itself


class VirtualStorage:
    """`System.Events` and `System.Digest` of any stored block, encoded once per block."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self._events: OrderedDict[bytes, bytes] = OrderedDict()

    def get(self, key: bytes, block_hash: bytes) -> bytes | None:
        if key == EVENTS_KEY:
            return self.events(block_hash)
        if key == DIGEST_KEY:
            header = self.chain.db.get_header(block_hash)
            # every item but the seal, which the author adds after execution (FRAME's System.Digest holds the
            # pre-runtime items and the runtime's own, a RuntimeEnvironmentUpdated among them)
            return None if header is None else scale.encode_vec(header.digest_items()[:-1])
        raise KeyError(key)

    def events(self, block_hash: bytes) -> bytes | None:
        cached = self._events.get(block_hash)
        if cached is not None:
            self._events.move_to_end(block_hash)
            return cached
        view = self.chain.db.block_meta_view(block_hash)
        if view is None:
            return b"\x00" if self.chain.db.get_header(block_hash) is not None else None  # genesis: no events
        records = [encode_event_record(r) for r in view.events(0, view.event_count)]
        kept = [r for r in records if r is not None]
        encoded = scale.encode_vec(kept)
        self._events[block_hash] = encoded
        while len(self._events) > KEEP:
            self._events.popitem(last=False)
        return encoded


_BY_CHAIN: dict[int, VirtualStorage] = {}


def virtual_storage(chain: Chain) -> VirtualStorage:
    """The one VirtualStorage of a chain (its cache shared by every RPC caller)."""
    found = _BY_CHAIN.get(id(chain))
    if found is None or found.chain is not chain:
        found = _BY_CHAIN[id(chain)] = VirtualStorage(chain)
    return found
