"""Building a whole state tree from nothing (a genesis state), on both cores when it is large.

The tree is the one `storage.smt` defines, node for node: the same root and the same nodes that updating the empty
tree with the same key/value pairs makes (tests hold the two to each other).

How: the leaves are sorted by path, and the tree's shape follows from the paths of neighbouring leaves alone: the
internal node where leaf i and leaf i+1 part sits at the depth of their common prefix. One pass over the sorted leaves
with a stack of unfinished left subtrees builds every node once, bottom-up, with no recursion and no search; a subtree
that is joined to its sibling deeper than where it starts is lifted by one-sided nodes (either child ZERO_HASH), as the
definition requires.

A large state (`PARALLEL_LEAVES` or more) is split at the first bit of the path: a forked worker process builds the
right half while this process builds the left, and the root joins the two. Each side returns its nodes as one run of
fixed-width records sorted by node hash (`PackedNodes`): a third of the memory of a dict of two million nodes, and the
order LevelDB takes fastest (a database written in key order flushes tables whose ranges do not overlap, so nothing is
compacted twice). A worker that fails in any way is not trusted: this process builds that half itself, and the answer
is the same.
"""

from __future__ import annotations

import hashlib
import os
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import HASH_LEN, ZERO_HASH

PATH_BITS = 8 * HASH_LEN
NODE_LEN = 1 + 2 * HASH_LEN
"""Both kinds of node encode to 65 bytes: tag + path + value hash, or tag + left + right (see `storage.smt`)."""
RECORD_LEN = HASH_LEN + NODE_LEN
"""A packed node: its hash, then its 65-byte encoding."""
PARALLEL_LEAVES = 100_000
"""From this many leaves on, half the tree is built in a forked worker (below it, a fork costs more than it saves)."""

_H32 = hashlib.blake2b(digest_size=HASH_LEN)
_LEAF = PATH_BITS + 1
"""The 'split depth' given to a leaf: a leaf's hash does not depend on its depth, so it is never lifted."""


class PackedNodes(Mapping[bytes, bytes]):
    """Read-only {node hash: encoding} held as runs of `RECORD_LEN`-byte records, each run sorted by hash.

    Lookups bisect each run; `key_ordered_chunks` hands the nodes out in ranges of hashes, for writing a database in key
    order. A node appears in at most one run (the builder makes every node once)."""

    __slots__ = ("_runs", "_keys")

    def __init__(self, runs: Sequence[bytes]) -> None:
        for run in runs:
            if len(run) % RECORD_LEN:
                raise StorageError(f"packed state-tree nodes: a run of {len(run)} bytes is not whole records")
        self._runs = tuple(run for run in runs if run)
        self._keys = tuple(_RunHashes(run) for run in self._runs)

    def __getitem__(self, node_hash: bytes) -> bytes:
        if type(node_hash) is bytes and len(node_hash) == HASH_LEN:
            for run, keys in zip(self._runs, self._keys, strict=True):
                i = bisect_left(keys, node_hash)
                if i < len(keys) and keys[i] == node_hash:
                    at = i * RECORD_LEN + HASH_LEN
                    return run[at : at + NODE_LEN]
        raise KeyError(node_hash)

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._keys)

    def __iter__(self) -> Iterator[bytes]:
        for run in self._runs:
            for at in range(0, len(run), RECORD_LEN):
                yield run[at : at + HASH_LEN]

    def key_ordered_chunks(self, prefix: bytes, size: int) -> Iterator[dict[bytes, bytes]]:
        """{prefix + hash: encoding} in chunks of about `size` nodes, chunk after chunk covering increasing ranges of
        hashes (within a chunk, in no particular order); together, every node once."""
        total = len(self)
        if not total:
            return
        parts = max(1, -(-total // max(1, size)))
        starts = [0] * len(self._runs)
        for part in range(1, parts + 1):
            bound = None if part == parts else (part * (1 << PATH_BITS) // parts).to_bytes(HASH_LEN, "big")
            chunk: dict[bytes, bytes] = {}
            for r, (run, keys) in enumerate(zip(self._runs, self._keys, strict=True)):
                end = len(keys) if bound is None else bisect_left(keys, bound, starts[r])
                if end > starts[r]:
                    chunk.update(_prefixed_records(run, starts[r], end, prefix))
                starts[r] = end
            if chunk:
                yield chunk


def _prefixed_records(run: bytes, start: int, end: int, prefix: bytes) -> zip[tuple[bytes, bytes]]:
    """(prefix + hash, encoding) of records [start, end) of a run, the bytes objects made by numpy in C (void items
    come back as bytes whole, trailing zero bytes included)."""
    count = end - start
    table = np.frombuffer(run, dtype=np.uint8, count=count * RECORD_LEN, offset=start * RECORD_LEN)
    table = table.reshape(count, RECORD_LEN)
    keyed = np.empty((count, len(prefix) + HASH_LEN), dtype=np.uint8)
    keyed[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    keyed[:, len(prefix) :] = table[:, :HASH_LEN]
    keys = keyed.view(f"V{len(prefix) + HASH_LEN}").ravel().tolist()
    encs = np.ascontiguousarray(table[:, HASH_LEN:]).view(f"V{NODE_LEN}").ravel().tolist()
    return zip(keys, encs, strict=True)


class _RunHashes(Sequence[bytes]):
    """The hashes of one run, as a sequence `bisect` can search without slicing every record."""

    __slots__ = ("_run", "_len")

    def __init__(self, run: bytes) -> None:
        self._run = run
        self._len = len(run) // RECORD_LEN

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):  # type: ignore[no-untyped-def,override]
        if not 0 <= i < self._len:
            raise IndexError(i)
        at = i * RECORD_LEN
        return self._run[at : at + HASH_LEN]


def sorted_leaves(changes: Mapping[bytes, bytes | None]) -> list[bytes]:
    """The leaf encodings (tag 0, path, value hash) of every key set to a value, sorted by path. Values are hashed once
    each however many keys hold them (a genesis gives a million accounts the same balance). Raises TypeError naming the
    first key or value that is not bytes."""
    leaves: list[bytes] = []
    value_hashes: dict[bytes, bytes] = {}
    h32 = _H32
    append = leaves.append
    for key, value in changes.items():
        if type(key) is not bytes:
            raise TypeError(f"state keys must be bytes, got {type(key).__name__}")
        if value is None:
            continue  # deleting from the empty tree changes nothing
        value_hash = value_hashes.get(value) if type(value) is bytes else None
        if value_hash is None:
            if type(value) is not bytes:
                raise TypeError(f"state values must be bytes or None, got {type(value).__name__}")
            hasher = h32.copy()
            hasher.update(value)
            value_hash = value_hashes[value] = hasher.digest()
        hasher = h32.copy()
        hasher.update(key)
        append(b"\x00" + hasher.digest() + value_hash)
    return sort_by_path(leaves)


def sort_by_path(leaves: list[bytes]) -> list[bytes]:
    """Leaf encodings sorted by path: by the path's first 64 bits in C; two paths sharing them (about one pair in 10^8
    at a million leaves) send the whole list to Python's sort, which compares whole encodings (the same tag byte, then
    the path)."""
    n = len(leaves)
    if n < 2:
        return leaves
    table = np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(n, NODE_LEN)
    heads = np.ascontiguousarray(table[:, 1:9]).view(">u8").ravel().astype(np.uint64)
    order = np.argsort(heads, kind="stable")
    ranked = heads[order]
    if bool((ranked[1:] == ranked[:-1]).any()):
        leaves.sort()
        return leaves
    blob = np.take(table, order, axis=0).tobytes()
    return [blob[at : at + NODE_LEN] for at in range(0, len(blob), NODE_LEN)]


def split_depths(leaves: Sequence[bytes]) -> list[int]:
    """For sorted leaf encodings, the depth where leaf i and leaf i+1 part (the length of their paths' common prefix),
    for every i: the first 64-bit word in which the paths differ, then that word's bit length, read exactly from the
    float exponents of its two 32-bit halves."""
    n = len(leaves)
    if n < 2:
        return []
    table = np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(n, NODE_LEN)
    paths = np.ascontiguousarray(table[:, 1 : 1 + HASH_LEN]).view(">u8").astype(np.uint64)  # (n, 4)
    differ = paths[1:] ^ paths[:-1]
    word = np.argmax(differ != 0, axis=1)
    bits = differ[np.arange(n - 1), word]
    high = np.frexp((bits >> np.uint64(32)).astype(np.float64))[1]
    low = np.frexp((bits & np.uint64(0xFFFFFFFF)).astype(np.float64))[1]
    length = np.where(high > 0, high + 32, low)
    depths: list[int] = (word * 64 + 64 - length).tolist()
    return depths


def _path_bit(leaf: bytes, depth: int) -> int:
    return (leaf[1 + (depth >> 3)] >> (7 - (depth & 7))) & 1


def _build_range(
    leaves: Sequence[bytes], depths: Sequence[int], lo: int, hi: int, depth: int, hashes: list[bytes], encs: list[bytes]
) -> bytes:
    """The subtree at `depth` holding leaves [lo, hi) (hi > lo, all sharing their first `depth` path bits; `depths` as
    `split_depths` gives them); every node made is appended to `hashes` and `encs`. Returns the subtree's hash."""
    h32 = _H32
    add_hash = hashes.append
    add_enc = encs.append

    def lift(node: bytes, split: int, to_depth: int, first: int) -> bytes:
        """`node`, a subtree that branches at depth `split`, as seen from `to_depth`: one-sided nodes in between."""
        leaf = leaves[first]
        for d in range(split - 1, to_depth - 1, -1):
            enc = b"\x01" + ZERO_HASH + node if _path_bit(leaf, d) else b"\x01" + node + ZERO_HASH
            hasher = h32.copy()
            hasher.update(enc)
            node = hasher.digest()
            add_hash(node)
            add_enc(enc)
        return node

    # pending: left subtrees waiting for their right sibling, as (depth of the joining node, hash, own split depth,
    # index of its first leaf); joining depths strictly increase up the stack
    pending: list[tuple[int, bytes, int, int]] = []
    cur, cur_split, cur_first = ZERO_HASH, _LEAF, lo  # the subtree ending at leaf i-1
    for i in range(lo, hi + 1):
        if i > lo:
            # the depth where leaf i-1 and leaf i part; at the end, above everything still pending
            joint = depths[i - 1] if i < hi else depth - 1
            while pending and pending[-1][0] > joint:
                at, left, left_split, left_first = pending.pop()
                if left_split != _LEAF and left_split > at + 1:
                    left = lift(left, left_split, at + 1, left_first)
                if cur_split != _LEAF and cur_split > at + 1:
                    cur = lift(cur, cur_split, at + 1, cur_first)
                enc = b"\x01" + left + cur
                hasher = h32.copy()
                hasher.update(enc)
                cur = hasher.digest()
                add_hash(cur)
                add_enc(enc)
                cur_split, cur_first = at, left_first
            if i == hi:
                break
            pending.append((joint, cur, cur_split, cur_first))
        enc = leaves[i]
        hasher = h32.copy()
        hasher.update(enc)
        cur = hasher.digest()
        add_hash(cur)
        add_enc(enc)
        cur_split, cur_first = _LEAF, i
    if cur_split != _LEAF and cur_split > depth:
        cur = lift(cur, cur_split, depth, cur_first)
    return cur


def build_nodes(changes: Mapping[bytes, bytes | None]) -> tuple[bytes, dict[bytes, bytes]]:
    """(root, {node hash: encoding}) of the tree holding `changes` (None values skipped), in this process."""
    leaves = sorted_leaves(changes)
    if not leaves:
        return ZERO_HASH, {}
    hashes: list[bytes] = []
    encs: list[bytes] = []
    root = _build_range(leaves, split_depths(leaves), 0, len(leaves), 0, hashes, encs)
    return root, dict(zip(hashes, encs, strict=True))


def build_packed(
    changes: Mapping[bytes, bytes | None], parallel_leaves: int | None = None
) -> tuple[bytes, PackedNodes]:
    """(root, nodes) of the tree holding `changes` (None values skipped), the nodes packed and sorted by hash. With
    `parallel_leaves` (default `PARALLEL_LEAVES`) leaves or more, and both path halves occupied, the right half is
    built in a forked worker."""
    if parallel_leaves is None:
        parallel_leaves = PARALLEL_LEAVES
    leaves = sorted_leaves(changes)
    if not leaves:
        return ZERO_HASH, PackedNodes(())
    depths = split_depths(leaves)
    n = len(leaves)
    mid = bisect_left(leaves, b"\x00\x80")  # the first leaf whose path starts with a 1 bit
    if n < max(2, parallel_leaves) or mid in (0, n) or not hasattr(os, "fork"):
        hashes: list[bytes] = []
        encs: list[bytes] = []
        root = _build_range(leaves, depths, 0, n, 0, hashes, encs)
        return root, PackedNodes((_pack(hashes, encs),))
    worker = _fork_half(leaves, depths, mid, n)
    try:
        hashes, encs = [], []
        left = _build_range(leaves, depths, 0, mid, 1, hashes, encs)
        left_run = _pack(hashes, encs)
        right_answer = _collect(worker)
        worker = None
    finally:
        if worker is not None:
            _abandon(worker)
    if right_answer is None:  # the worker failed: build its half here
        hashes, encs = [], []
        right = _build_range(leaves, depths, mid, n, 1, hashes, encs)
        right_run = _pack(hashes, encs)
    else:
        right, right_run = right_answer
    root_enc = b"\x01" + left + right
    hasher = _H32.copy()
    hasher.update(root_enc)
    root = hasher.digest()
    return root, PackedNodes((left_run, right_run, root + root_enc))


def _pack(hashes: list[bytes], encs: list[bytes]) -> bytes:
    """The nodes as one run of records sorted by hash (the lists are emptied): sorted by the hash's first 64 bits in C,
    by all 256 when two share them."""
    n = len(hashes)
    if not n:
        return b""
    joined_hashes = b"".join(hashes)
    joined_encs = b"".join(encs)
    hashes.clear()
    encs.clear()
    words = np.frombuffer(joined_hashes, dtype=">u8").reshape(n, 4).astype(np.uint64)
    order = np.argsort(words[:, 0], kind="stable")
    ranked = words[order, 0]
    if bool((ranked[1:] == ranked[:-1]).any()):
        order = np.lexsort((words[:, 3], words[:, 2], words[:, 1], words[:, 0]))
    table = np.hstack((
        np.frombuffer(joined_hashes, dtype=np.uint8).reshape(n, HASH_LEN),
        np.frombuffer(joined_encs, dtype=np.uint8).reshape(n, NODE_LEN),
    ))
    return np.take(table, order, axis=0).tobytes()


def _fork_half(leaves: list[bytes], depths: list[int], lo: int, hi: int) -> tuple[int, int] | None:
    """Fork a worker that builds the subtree at depth 1 holding leaves [lo, hi) and writes its hash, then its packed
    nodes, to a pipe. Returns (pid, read end), or None when no worker could be started."""
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the worker: compute, write, and leave without running any of the parent's exit handlers
        code = 1
        try:
            os.close(read_fd)
            hashes: list[bytes] = []
            encs: list[bytes] = []
            subtree = _build_range(leaves, depths, lo, hi, 1, hashes, encs)
            with open(write_fd, "wb", closefd=True) as out:
                out.write(subtree)
                out.write(_pack(hashes, encs))
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _collect(worker: tuple[int, int] | None) -> tuple[bytes, bytes] | None:
    """The worker's (subtree hash, packed run), or None if it did not start, failed or wrote something malformed."""
    if worker is None:
        return None
    pid, read_fd = worker
    try:
        with open(read_fd, "rb", closefd=True) as pipe:
            answer = pipe.read()
    except OSError:
        answer = b""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = -1
    if status != 0 or len(answer) < HASH_LEN or (len(answer) - HASH_LEN) % RECORD_LEN:
        return None
    return answer[:HASH_LEN], answer[HASH_LEN:]


def _abandon(worker: tuple[int, int]) -> None:
    """Stop a worker whose answer is no longer wanted (this process is unwinding from an error)."""
    pid, read_fd = worker
    try:
        os.kill(pid, 9)
    except OSError:
        pass
    try:
        os.close(read_fd)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
