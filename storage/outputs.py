"""The node's store of compute job outputs: (job id, provider) -> output root and every output item.

Kept in the chain's key-value store under `schema.JOB_OUTPUTS`, outside the state tree: these are not
consensus data, only what a node serves to requesters and challengers. Bounded in entries and bytes; an
insert over a bound raises `OutputsStoreFull` and changes nothing. Knows no rules: whether a set of
outputs deserves a place (its root is a revealed root on chain) is for `btt_chain.node.job_outputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import BttError, DecodeError
from storage import schema
from storage.kv import KeyValueStore

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_PREFIX_LEN = len(schema.JOB_OUTPUTS)
_KEY_LEN = _PREFIX_LEN + 8 + 32
MAX_ENTRY_BYTES = 8 * 1024 * 1024
"""An encoded entry larger than this is never read back (a bound on what one decode may cost)."""


class OutputsStoreFull(BttError):
    """The node's outputs store is at its bound of entries or bytes."""


@dataclass(frozen=True)
class StoredOutputs:
    root: bytes
    outputs: tuple[bytes, ...]


def encode_entry(root: bytes, outputs: Sequence[bytes]) -> bytes:
    return pack([root, list(outputs)])


def decode_entry(raw: bytes) -> StoredOutputs:
    value = unpack(raw, max_size=MAX_ENTRY_BYTES)
    if not (
        isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes) and len(value[0]) == 32
        and isinstance(value[1], list) and all(isinstance(x, bytes) for x in value[1])
    ):
        raise DecodeError("an outputs entry must be [root32, [bytes, ...]]")
    return StoredOutputs(value[0], tuple(value[1]))


class OutputsStore:
    """Bounded (job id, provider) -> StoredOutputs over a KeyValueStore; sizes are indexed in memory."""

    def __init__(
        self, kv: KeyValueStore, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.kv = kv
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._sizes: dict[bytes, int] = {}
        for key, value in kv.iterate(schema.JOB_OUTPUTS):
            if len(key) == _KEY_LEN:
                self._sizes[key] = len(value)

    @property
    def entries(self) -> int:
        return len(self._sizes)

    @property
    def bytes_used(self) -> int:
        return sum(self._sizes.values())

    def get(self, job_id: int, provider: bytes) -> StoredOutputs | None:
        """The entry, or None if absent or unreadable (an unreadable one is dropped)."""
        key = schema.job_outputs_key(job_id, provider)
        raw = self.kv.get(key)
        if raw is None:
            return None
        try:
            return decode_entry(raw)
        except DecodeError:
            self.remove(job_id, provider)
            return None

    def contains(self, job_id: int, provider: bytes) -> bool:
        return schema.job_outputs_key(job_id, provider) in self._sizes

    def would_fit(self, size: int, replacing: bytes | None = None) -> bool:
        old = self._sizes.get(replacing, 0) if replacing is not None else 0
        entries = self.entries + (0 if replacing in self._sizes else 1)
        return entries <= self.max_entries and self.bytes_used - old + size <= self.max_bytes

    def put(self, job_id: int, provider: bytes, root: bytes, outputs: Sequence[bytes]) -> None:
        """Store (or replace) an entry; OutputsStoreFull, with nothing changed, if it would pass a bound."""
        key = schema.job_outputs_key(job_id, provider)
        raw = encode_entry(root, outputs)
        if len(raw) > MAX_ENTRY_BYTES or not self.would_fit(len(raw), key):
            raise OutputsStoreFull(
                f"the outputs store holds {self.entries} entries, {self.bytes_used} bytes (bounds "
                f"{self.max_entries} entries, {self.max_bytes} bytes); {len(raw)} more bytes do not fit"
            )
        self.kv.write({key: raw})
        self._sizes[key] = len(raw)

    def remove(self, job_id: int, provider: bytes) -> None:
        key = schema.job_outputs_key(job_id, provider)
        self.kv.write({}, [key])
        self._sizes.pop(key, None)

    def keys(self) -> list[tuple[int, bytes]]:
        """(job id, provider) of every entry, oldest job first."""
        n = _PREFIX_LEN
        return [(int.from_bytes(k[n:n + 8], "big"), k[n + 8:]) for k in sorted(self._sizes)]
