"""Types of the proxy module: the proxy types, a proxy's definition, an account's proxies with their deposit, and the
result a proxied call had."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, U32, Field, ListOf, Nested, Struct, UInt
from btt_chain.primitives.errors import DecodeError

from ..system.dispatch_types import OTHER, DispatchErrorValue

if TYPE_CHECKING:
    from ..metadata.registry import Registry

ANY, NON_TRANSFER, GOVERNANCE, STAKING = 0, 1, 2, 3
PROXY_TYPES = ("Any", "NonTransfer", "Governance", "Staking")
"""The proxy types by index (Polkadot's indices for the same four): what a delegate may do for the account."""
MAX_PROXIES = 100
"""Wire bound on an account's proxy list; the parameter `proxy.max_proxies` is the real limit (bounds within it)."""


def proxy_type_index(name: str) -> int:
    """A proxy type's index by name (case and `-`/`_` ignored: `non-transfer`, `NonTransfer`)."""
    wanted = name.replace("-", "").replace("_", "").lower()
    for i, known in enumerate(PROXY_TYPES):
        if known.lower() == wanted:
            return i
    raise ValueError(f"unknown proxy type {name!r}: one of {', '.join(PROXY_TYPES)}")


class ProxyTypeField(UInt):
    """A proxy type: its index as one byte (FRAME's unit enum `ProxyType`, the same bytes), only a known one."""

    SCALE_TYPE_NAME = "ProxyType"

    def __init__(self) -> None:
        super().__init__(8)

    def _check(self, value: Any) -> int:
        if type(value) is not int or not 0 <= value < len(PROXY_TYPES):
            raise DecodeError(f"not a proxy type: {value!r} (0 to {len(PROXY_TYPES) - 1}: {', '.join(PROXY_TYPES)})")
        return value

    def to_wire(self, value: Any) -> Any:
        return self._check(value)

    def from_wire(self, wire: Any) -> Any:
        return self._check(wire)

    def encode_scale(self, value: Any) -> bytes:
        return bytes((self._check(value),))

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        value, pos = super().decode_scale(data, pos)
        return self._check(value), pos

    def scale_type(self, reg: Registry) -> int:
        """Its type in the metadata: the enum `btt_runtime::ProxyType` (polkadot.js takes the names: 'Any')."""
        from ..metadata.registry import TypeInfo, Variant, VariantInfo

        return reg.named("btt_runtime::ProxyType", lambda: TypeInfo(
            Variant(tuple(VariantInfo(name, i) for i, name in enumerate(PROXY_TYPES))), ("btt_runtime", "ProxyType")))


PROXY_TYPE = ProxyTypeField()


class OptionalProxyType(Field):
    """`Option<ProxyType>`: None (0x00) or a proxy type (0x01 ++ its index)."""

    name = "option<proxy_type>"
    SCALE_TYPE_NAME = "Option<ProxyType>"

    def to_wire(self, value: Any) -> Any:
        return None if value is None else PROXY_TYPE.to_wire(value)

    def from_wire(self, wire: Any) -> Any:
        return None if wire is None else PROXY_TYPE.from_wire(wire)

    def encode_scale(self, value: Any) -> bytes:
        return b"\x00" if value is None else b"\x01" + PROXY_TYPE.encode_scale(value)

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        tag, pos = scale.decode_variant_index(data, pos, {0, 1}, "option")
        if tag == 0:
            return None, pos
        return PROXY_TYPE.decode_scale(data, pos)

    def scale_type(self, reg: Registry) -> int:
        from ..metadata import frame_types

        return frame_types.option(reg, PROXY_TYPE.scale_type(reg))


@dataclass(frozen=True)
class ProxyDefinition(Struct):
    """One delegate of an account (FRAME's `ProxyDefinition`)."""

    delegate: bytes
    """The account that may act for the delegator."""
    proxy_type: int
    """What it may do (an index of PROXY_TYPES)."""
    delay: int
    """Blocks an announcement must wait (always 0 here: this chain has no announcements)."""
    WIRE = (("delegate", ACCOUNT), ("proxy_type", PROXY_TYPE), ("delay", U32))

    @property
    def order(self) -> tuple[bytes, int, int]:
        return self.delegate, self.proxy_type, self.delay


@dataclass(frozen=True)
class ProxyRecord(Struct):
    """An account's proxies, in (delegate, type, delay) order, and the deposit reserved for them (FRAME's
    `(BoundedVec<ProxyDefinition>, Balance)`: the same bytes, and the same tuple type in the metadata)."""

    definitions: tuple[ProxyDefinition, ...]
    deposit: int
    WIRE = (("definitions", ListOf(Nested(ProxyDefinition), MAX_PROXIES)), ("deposit", AMOUNT))

    @classmethod
    def scale_type(cls, reg: Registry) -> int:
        from ..metadata.types import struct_type

        return reg.tuple_of(reg.sequence(struct_type(reg, ProxyDefinition)), reg.primitive("u128"))


@dataclass(frozen=True)
class DispatchResultValue(Struct):
    """FRAME's `DispatchResult` (`Result<(), DispatchError>`): Ok (0x00), or Err (0x01 ++ the error)."""

    ok: bool
    error: DispatchErrorValue = DispatchErrorValue(OTHER)
    WIRE = (("ok", BOOL), ("error", Nested(DispatchErrorValue)))

    def encode_scale(self) -> bytes:
        return b"\x00" if self.ok else b"\x01" + self.error.encode_scale()

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[DispatchResultValue, int]:
        tag, pos = scale.decode_variant_index(data, pos, {0, 1}, "dispatch result")
        if tag == 0:
            return cls(True), pos
        error, pos = DispatchErrorValue.decode_at(data, pos)
        return cls(False, error), pos

    @classmethod
    def scale_type(cls, reg: Registry) -> int:
        """`Result<(), DispatchError>` as FRAME's metadata has it."""
        from ..metadata import frame_types
        from ..metadata.registry import FieldInfo, TypeInfo, TypeParam, Variant, VariantInfo

        unit, error = reg.tuple_of(), frame_types.dispatch_error(reg)
        return reg.add(TypeInfo(Variant((
            VariantInfo("Ok", 0, (FieldInfo(unit),)), VariantInfo("Err", 1, (FieldInfo(error),)),
        )), ("Result",), (TypeParam("T", unit), TypeParam("E", error))))


OK = DispatchResultValue(True)
