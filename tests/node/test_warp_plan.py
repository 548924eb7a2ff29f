"""The warp server's plan (issue 54): prefixes of CHUNK_TARGET_KEYS to twice as many keys whatever the state's size.
The tree's bucket depth stops at its cap (21) from ~4 million keys, so a plan from the bucket depth alone gave ten
million keys prefixes of ~20,000 keys, each read longer than a slot (and read again when a block came meanwhile)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from btt_chain.node.warp_serve import CHUNK_TARGET_KEYS, WarpServer


@dataclass
class _Tree:
    bucket_bits: int
    leaves: int
    resident_share: float = 1.0
    counted: list[int] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        self.counted.append(1)
        buckets = 1 << self.bucket_bits
        resident = int(buckets * self.resident_share)
        return {"buckets": buckets, "resident_buckets": resident,
                "resident_leaves": int(self.leaves * self.resident_share)}


@dataclass
class _Chain:
    tree: _Tree


@dataclass
class _Node:
    chain: _Chain


def server(bits: int, leaves: int, share: float = 1.0) -> WarpServer:
    return WarpServer(_Node(_Chain(_Tree(bits, leaves, share))), 4)  # type: ignore[arg-type]


def test_prefixes_hold_the_target_to_twice_as_many_keys_at_any_size() -> None:
    for bits, leaves in ((6, 100), (12, 5_000), (19, 1_000_640), (21, 4_200_000), (21, 10_003_048), (21, 40_000_000)):
        s = server(bits, leaves)
        depth = s.plan_depth()
        per_prefix = leaves / (1 << depth)
        assert depth <= bits
        assert per_prefix < 2 * CHUNK_TARGET_KEYS
        assert depth == 0 or per_prefix >= CHUNK_TARGET_KEYS
    assert server(19, 1_000_640).plan_depth() == 7  # a million keys: as before
    assert server(21, 10_003_048).plan_depth() == 11  # ten million: 2,048 prefixes of ~4,900 (512 of ~19,500 before)


def test_the_key_count_scales_what_is_resident_and_is_counted_once_a_minute() -> None:
    s = server(21, 10_003_048, share=0.25)  # a budget holding a quarter of the buckets
    assert s.plan_depth() == 11
    s.plan_depth()
    assert s.node.chain.tree.counted == [1]  # type: ignore[attr-defined]
