"""Parameter parsers: JSON values to typed arguments, raising RpcError -32602 that says what is wrong."""

from __future__ import annotations

import re
from typing import Any

from btt_chain.primitives.address import decode_address
from btt_chain.primitives.codec import U64_MAX
from btt_chain.primitives.errors import ConfigError
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.registry import RpcContext

MAX_HEX_BYTES = 8 * 1024 * 1024
MAX_STORAGE_KEY_BYTES = 1024
_MAX_ADDRESS_CHARS = 64
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})*")


def describe(value: Any) -> str:
    """A client's value as an error message quotes it: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def u64_id(value: Any, what: str) -> int:
    """A record id (job, asset, invoice, referendum ...): an integer from 0 to 2^64-1, or -32602 naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        raise invalid_params(f"{what}: expected an integer from 0 to 2^64-1, got {describe(value)}")
    return value


def decode_hex(value: Any, what: str, size: int | None = None, max_len: int = MAX_HEX_BYTES) -> bytes:
    """'0x'-prefixed hex to bytes; exactly `size` bytes when given."""
    if not isinstance(value, str):
        raise invalid_params(f"{what}: expected a 0x-prefixed hex string, got {type(value).__name__}")
    if not value.startswith(("0x", "0X")):
        raise invalid_params(f"{what}: expected a 0x-prefixed hex string, got {describe(value)}")
    if len(value) - 2 > 2 * max_len:
        raise invalid_params(f"{what}: longer than {max_len} bytes")
    if not _HEX_RE.fullmatch(value, 2):
        raise invalid_params(f"{what}: {describe(value)} is not valid hex (an even number of 0-9a-f digits)")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise invalid_params(f"{what}: expected {size} bytes of hex, got {len(raw)}")
    return raw


def block_hash(value: Any, ctx: RpcContext) -> bytes:
    return decode_hex(value, "block hash", 32)


def any_hash(value: Any, ctx: RpcContext) -> bytes:
    return decode_hex(value, "hash", 32)


def extrinsic_bytes(value: Any, ctx: RpcContext) -> bytes:
    return decode_hex(value, "extrinsic")


def storage_key(value: Any, ctx: RpcContext) -> bytes:
    return decode_hex(value, "storage key", max_len=MAX_STORAGE_KEY_BYTES)


MAX_PROOF_KEYS = 64


def storage_keys(value: Any, ctx: RpcContext) -> list[bytes]:
    """A non-empty list of at most MAX_PROOF_KEYS storage keys."""
    if not isinstance(value, list) or not value:
        raise invalid_params("keys: expected a non-empty list of 0x-hex storage keys")
    if len(value) > MAX_PROOF_KEYS:
        raise invalid_params(f"keys: at most {MAX_PROOF_KEYS} keys per proof, got {len(value)}")
    return [storage_key(v, ctx) for v in value]


def block_number(value: Any, ctx: RpcContext) -> int:
    """A block number as a JSON integer or a 0x-hex string (Substrate's NumberOrHex)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid_params(f"block number: expected an integer or 0x-hex string, got {type(value).__name__}")
    if isinstance(value, str):
        if not value.startswith(("0x", "0X")) or len(value) > 18:
            raise invalid_params(f"block number: {describe(value)} is not a 0x-hex number of at most 16 digits")
        if len(value) == 2 or not all(c in "0123456789abcdefABCDEF" for c in value[2:]):
            raise invalid_params(f"block number: {describe(value)} is not a 0x-hex number")
        number = int(value[2:], 16)
    else:
        number = value
    if not 0 <= number <= U64_MAX:
        raise invalid_params(f"block number: {number} is out of range (0 to 2^64-1)")
    return number


def block_numbers(value: Any, ctx: RpcContext) -> int | list[int]:
    """One block number, or a list of them (Substrate's ListOrValue)."""
    if isinstance(value, list):
        if len(value) > 1000:
            raise invalid_params("block number list: at most 1000 numbers")
        return [block_number(v, ctx) for v in value]
    return block_number(value, ctx)


def account(value: Any, ctx: RpcContext) -> bytes:
    """An account as an SS58 address of this chain's network, or as 0x-hex of its 32-byte id."""
    if not isinstance(value, str):
        raise invalid_params(f"account: expected an SS58 address or 0x-hex string, got {type(value).__name__}")
    if value.startswith(("0x", "0X")):
        return decode_hex(value, "account", 32)
    if len(value) > _MAX_ADDRESS_CHARS:
        raise invalid_params(f"account: {describe(value)} is not an address: too long")
    try:
        return decode_address(value, ctx.node.spec.ss58_prefix)
    except ConfigError as exc:
        raise invalid_params(f"account: {exc}") from None


def subscription_id(value: Any, ctx: RpcContext) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise invalid_params(f"subscription id: expected a string, got {describe(value)}")
    return value


def call_bytes(value: Any, ctx: RpcContext) -> Any:
    """A runtime call, canonically encoded (0x hex): what `governance.propose` carries. Only its two indices are
    read here; its arguments run to the end of the bytes and are decoded by the runtime that judges the call (the
    head's spec), not by the newest table this node knows: a spec changes how a call's arguments encode."""
    from btt_chain.primitives.errors import DecodeError
    from btt_chain.primitives.extrinsic import Call

    raw = decode_hex(value, "call")
    try:
        return Call.decode_rest(raw, 0)
    except DecodeError as exc:
        raise invalid_params(f"call: malformed: {exc}") from None


def boolean(value: Any, ctx: RpcContext) -> bool:
    if not isinstance(value, bool):
        raise invalid_params(f"expected true or false, got {describe(value)}")
    return value
