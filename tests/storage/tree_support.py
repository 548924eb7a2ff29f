"""What the state-tree tests share: a state after changes, and the root the tree's definition gives it."""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256


def applied(state: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> dict[bytes, bytes]:
    """`state` with `changes` made (None: deleted)."""
    out = dict(state)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def reference_root(state: dict[bytes, bytes]) -> bytes:
    """The root straight from the definition, with no cleverness: split by bit until a subtree holds one leaf."""
    leaves = {blake2b_256(k): blake2b_256(v) for k, v in state.items()}

    def subtree(paths: list[bytes], depth: int) -> bytes:
        if not paths:
            return ZERO_HASH
        if len(paths) == 1:
            return blake2b_256(b"\x00" + paths[0] + leaves[paths[0]])
        bit = [(p[depth // 8] >> (7 - depth % 8)) & 1 for p in paths]
        left = subtree([p for p, b in zip(paths, bit, strict=True) if b == 0], depth + 1)
        right = subtree([p for p, b in zip(paths, bit, strict=True) if b == 1], depth + 1)
        return blake2b_256(b"\x01" + left + right)

    return subtree(list(leaves), 0)
