"""What the metadata says of each storage item: the one schema both the state layout and `state_getMetadata` read.

Every typed storage item (`runtime.items`) registers one `StorageEntry` here when it is created, so a module added
later appears in the metadata with no hand work. Keys are FRAME's: `twox128(pallet) ++ twox128(item)`, then for each
key part `hasher(SCALE(part))`; values are the SCALE encoding of `value`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.codec import Field, Struct

HASHERS = ("Blake2_128", "Blake2_256", "Blake2_128Concat", "Twox128", "Twox256", "Twox64Concat", "Identity")
"""FRAME's `StorageHasher` variants, in their metadata index order (frame-metadata `v14.rs`)."""


def pascal_case(name: str) -> str:
    """btt's snake_case module and item names as FRAME's pallet and item names: `block_hash` -> `BlockHash`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class StorageEntry:
    module: str
    """btt's module name (`system`); the pallet name and key prefix are `pascal_case(module)`."""
    item: str
    """btt's item name (`block_hash`); the metadata name and key prefix are `pascal_case(item)`."""
    keys: tuple[Field, ...]
    """The key parts' types, in order (empty for a plain value)."""
    hashers: tuple[str, ...]
    """One FRAME hasher name (from HASHERS) per key part."""
    value: Field | type[Struct]
    default: Any
    """The value read where nothing is stored (metadata modifier Default, its SCALE as the default bytes), or None
    (modifier Optional)."""
    doc: str = ""

    @property
    def pallet(self) -> str:
        return pascal_case(self.module)

    @property
    def name(self) -> str:
        return pascal_case(self.item)


ENTRIES: list[StorageEntry] = []
"""Every registered storage item, in the order the modules created them."""


def register(entry: StorageEntry) -> None:
    ENTRIES.append(entry)


def entries_of(module: str) -> list[StorageEntry]:
    """The storage items of one module, in the order it created them."""
    return [e for e in ENTRIES if e.module == module]
