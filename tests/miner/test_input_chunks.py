"""A requester's inputs as the clinics post them on chain (spec 17, `compute.post_inputs`): cut as the chain's plan
cuts them, each chunk with a range proof to the root over all the items, from the chain's count on (a resumed clinic
sends only what is missing); sent at once, the first dry-run, the rest after it."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.miner.clinic import input_chunk_args, send_chunks
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import merkle_root
from btt_chain.primitives.merkle import verify_merkle_range
from runtime.compute.posted_inputs import input_chunk_plan
from runtime.compute.reference import reference_spec
from runtime.compute.types import SEAL_BYTES


@pytest.mark.parametrize(("model", "width", "sealed", "items", "cut"), [
    ("digits-conv-v1", 64, False, 1000, [(0, 722), (722, 278)]),
    ("breast-cancer-v1", 30, True, 700, [(0, 599), (599, 101)]),  # sealed: 48 bytes more each
    ("breast-cancer-v1", 30, False, 16, [(0, 16)]),
])
def test_the_chunks_follow_the_chains_plan_and_each_proof_leads_to_the_root(
        model: str, width: int, sealed: bool, items: int, cut: list[tuple[int, int]]) -> None:
    spec = reference_spec(model)
    leaves = [i.to_bytes(2, "big") * ((width + (SEAL_BYTES if sealed else 0)) // 2) for i in range(items)]
    root = merkle_root(leaves)
    assert input_chunk_plan(spec, items, sealed) == cut
    chunks = input_chunk_args(9, leaves, spec, sealed)
    assert [(c[0], c[1], len(c[2])) for c in chunks] == [(9, first, n) for first, n in cut]
    for _, first, part, proof in chunks:
        assert verify_merkle_range(root, part, first, items, proof)
    # from the chain's count on: only the chunks still missing
    assert input_chunk_args(9, leaves, spec, sealed, cut[-1][0]) == chunks[-1:]
    assert input_chunk_args(9, leaves, spec, sealed, items) == []


class Recorder:
    """A submit function: records (first item, wait, force); refuses the chunks whose first item is in `refuse`."""

    def __init__(self, refuse: tuple[int, ...] = ()) -> None:
        self.calls: list[tuple[int, bool, bool]] = []
        self.refuse = refuse

    def __call__(self, call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str:
        assert call == "compute.post_inputs"
        if args[1] in self.refuse:
            raise BttError(f"refused chunk {args[1]}")
        self.calls.append((args[1], wait, force))
        return f"0x{args[1]:064x}"


CHUNKS = [(0, 0, (), ()), (0, 10, (), ()), (0, 20, (), ())]


def test_chunks_are_sent_at_once_the_first_dry_run_the_last_watched_where_asked() -> None:
    sub = Recorder()
    assert send_chunks(sub, CHUNKS, True) == [f"0x{n:064x}" for n in (0, 10, 20)]
    assert sub.calls == [(0, False, False), (10, False, True), (20, True, True)]
    sub = Recorder()
    send_chunks(sub, CHUNKS, False)
    assert sub.calls == [(0, False, False), (10, False, True), (20, False, True)]


def test_a_refused_chunk_ends_the_sending() -> None:
    with pytest.raises(BttError, match="refused chunk 0"):
        send_chunks(Recorder(refuse=(0,)), CHUNKS, True)
    sub = Recorder(refuse=(10,))
    assert send_chunks(sub, CHUNKS, True) == [f"0x{0:064x}"]  # nothing after it: the chain's count says where to go on
    assert sub.calls == [(0, False, False)]
    with pytest.raises(BttError, match="refused chunk 20"):  # the watched last one failing is the caller's to hear
        send_chunks(Recorder(refuse=(20,)), CHUNKS, True)
    assert send_chunks(Recorder(refuse=(20,)), CHUNKS, False) == [f"0x{n:064x}" for n in (0, 10)]
