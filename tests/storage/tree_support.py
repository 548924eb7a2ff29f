"""What the state-tree tests share: a state after changes, the root the tree's definition gives it, and the books a
database's flat state must agree with (its tree leaves and its index of keys by path)."""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage import schema
from storage.kv import KeyValueStore


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


def stored_flat_state(kv: KeyValueStore) -> dict[bytes, bytes]:
    n = len(schema.STATE)
    return {key[n:]: value for key, value in kv.iterate(schema.STATE)}


def assert_state_books(kv: KeyValueStore) -> dict[bytes, bytes]:
    """Every `s:` key has its `l:` leaf (its value's hash) and its `k:` entry (the key under its path), and no other
    leaf or key entry exists. Returns the flat state."""
    state = stored_flat_state(kv)
    leaves = dict(kv.iterate(schema.TREE_LEAF))
    assert leaves == {schema.tree_leaf_key(blake2b_256(k)): blake2b_256(v) for k, v in state.items()}
    index = dict(kv.iterate(schema.TREE_KEY))
    want = {schema.tree_key_key(blake2b_256(k)): k for k in state}
    assert index.keys() - want.keys() == set(), "k: entries of keys the flat state does not hold"
    assert want.keys() - index.keys() == set(), "flat-state keys without their k: entry"
    assert index == want
    assert kv.get(schema.META_TREE_KEYS) is not None
    return state
