"""Each module's storage version in the state, where FRAME keeps a pallet's `StorageVersion`: the u16 at
`twox128(Pallet) ++ twox128(":__STORAGE_VERSION__:")`, absent for 0 (every module before versions were recorded).

A spec declares the version its code reads and writes for each module (`runtime.migrations.STORAGE_VERSIONS`); the
upgrade to it runs the migrations that take each module there, and refuses to finish with any module elsewhere."""

from __future__ import annotations

from btt_chain.primitives import scale
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import twox128
from runtime.overlay import Overlay, StateReader

from .storage_schema import pascal_case

STORAGE_VERSION_KEY = b":__STORAGE_VERSION__:"


def storage_version_key(module: str) -> bytes:
    return twox128(pascal_case(module).encode()) + twox128(STORAGE_VERSION_KEY)


def storage_version(state: Overlay | StateReader, module: str) -> int:
    """The module's storage version in `state` (0 when none is recorded)."""
    raw = state.get(storage_version_key(module))
    if raw is None:
        return 0
    if len(raw) != 2:
        raise DecodeError(f"the storage version of {module} is {len(raw)} bytes, not a u16")
    return int.from_bytes(raw, "little")


def put_storage_version(state: Overlay, module: str, version: int) -> None:
    state.set(storage_version_key(module), scale.encode_uint(version, 2))
