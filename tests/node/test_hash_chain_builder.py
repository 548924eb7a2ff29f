"""The off-loop hash-chain builder (issue 49, finding 7): a child process builds exactly the chain the node would build
itself (same commitment, same reveals, every generation), one at a time; callers past the queue's bound are refused
at once and nothing is built for them; a cancelled caller's child is killed; a child that fails or answers garbage
is an error, and nothing is kept. Ordering is asserted by events (a child held at a gate), never by the clock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.node.hash_chain_builder import (
    BuilderBusy,
    BuildFailed,
    HashChainBuilder,
    decode_answer,
    encode_answer,
)
from btt_chain.primitives.hash_chain import (
    HashChain,
    cached_hash_chain,
    hash_chain_for,
    hash_chain_seed,
)
from btt_chain.primitives.keys import Keypair
from tests.support.gated_builder import children_at, gated_builder, let_through, wait_for

LENGTH = 5_000
"""Not a multiple of the checkpoint spacing (1024): the last reveals come after the last checkpoint."""


def in_process(pair: Keypair, length: int, generation: int = 0) -> HashChain:
    """The chain built here, from the definition (not through the cache)."""
    return HashChain(hash_chain_seed(pair.seed, generation), length)


@pytest.mark.asyncio
@pytest.mark.parametrize("generation", [0, 3])
async def test_a_child_builds_the_chain_this_process_would(generation: int) -> None:
    pair = Keypair.generate()
    builder = HashChainBuilder()
    chain = await builder.build(pair.seed, LENGTH, generation)
    own = in_process(pair, LENGTH, generation)
    assert builder.built == 1 and builder.pending == 0 and builder.running is None
    assert chain.commitment == own.commitment and chain.checkpoints == own.checkpoints
    assert [chain.reveal(k) for k in (1, 2, 903, 904, 4096, LENGTH)] == [own.reveal(k) for k in
                                                                          (1, 2, 903, 904, 4096, LENGTH)]
    # kept: the key's first block finds it, and asking again builds nothing
    assert cached_hash_chain(pair.seed, LENGTH, generation) is chain
    assert hash_chain_for(pair.seed, LENGTH, generation) is chain
    assert await builder.build(pair.seed, LENGTH, generation) is chain and builder.built == 1
    assert cached_hash_chain(pair.seed, LENGTH, generation + 1) is None  # another generation is another chain


@pytest.mark.asyncio
async def test_one_build_at_a_time_a_bounded_queue_and_busy_past_it(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    builder = gated_builder(gate, max_waiting=1)
    first, second, third = Keypair.generate(), Keypair.generate(), Keypair.generate()
    done: list[str] = []

    async def build(name: str, pair: Keypair) -> HashChain:
        chain = await builder.build(pair.seed, LENGTH)
        done.append(name)
        return chain

    a = asyncio.create_task(build("first", first))
    b = asyncio.create_task(build("second", second))
    await wait_for(lambda: builder.running is not None and builder.pending == 2, "a build running and one waiting")
    assert not builder.has_room()
    with pytest.raises(BuilderBusy, match="busy.*try again"):
        await builder.build(third.seed, LENGTH)
    assert builder.pending == 2 and cached_hash_chain(third.seed, LENGTH) is None  # nothing for the refused one
    assert children_at(gate) == [builder.running]  # one child, the first's; the second waits without a process
    await let_through(builder, gate)
    await wait_for(lambda: builder.running is not None, "the second build's child")
    assert done == ["first"] and children_at(gate) == [builder.running]
    await let_through(builder, gate)
    chains = await asyncio.gather(a, b)
    assert done == ["first", "second"] and builder.pending == 0 and builder.has_room()
    assert [c.commitment for c in chains] == [in_process(p, LENGTH).commitment for p in (first, second)]
    assert children_at(gate) == []


@pytest.mark.asyncio
async def test_a_cancelled_caller_kills_its_child_and_keeps_nothing(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    builder = gated_builder(gate)
    pair = Keypair.generate()
    task = asyncio.create_task(builder.build(pair.seed, LENGTH))
    await wait_for(lambda: builder.running is not None, "the child")
    child = builder.running
    assert child is not None and child != os.getpid() and children_at(gate) == [child]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert children_at(gate) == [] and builder.running is None and builder.pending == 0
    assert cached_hash_chain(pair.seed, LENGTH) is None and builder.built == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("code, why", [
    ("import sys; sys.exit('the disk is on fire')", "the disk is on fire"),
    ("import sys; sys.stdout.buffer.write(bytes(100))", "not 32-byte values"),
    ("import sys; sys.stdout.buffer.write(bytes(32 * 7))", "not a chain"),
    ("pass", "answered 0 bytes"),
    ("", "cannot start /nonexistent/python"),
])
async def test_a_failing_or_lying_child_is_an_error_and_nothing_is_kept(code: str, why: str) -> None:
    pair = Keypair.generate()
    builder = HashChainBuilder(command=(sys.executable, "-c", code) if code else ("/nonexistent/python",))
    with pytest.raises(BuildFailed, match=why):
        await builder.build(pair.seed, LENGTH)
    assert cached_hash_chain(pair.seed, LENGTH) is None and builder.built == 0 and builder.pending == 0


@pytest.mark.asyncio
async def test_bad_arguments_fail_here_before_any_child() -> None:
    builder = HashChainBuilder(command=(sys.executable, "-c", "raise SystemExit('a child was started')"))
    with pytest.raises(ValueError, match="32-byte"):
        await builder.build(b"short", LENGTH)
    with pytest.raises(ValueError, match="generation"):
        await builder.build(Keypair.generate().seed, LENGTH, -1)
    assert builder.pending == 0 and builder.built == 0
    with pytest.raises(ValueError, match="max_waiting"):
        HashChainBuilder(max_waiting=-1)


def test_an_answer_is_the_chain_it_encodes_and_a_tampered_one_is_refused() -> None:
    own = in_process(Keypair.generate(), LENGTH)
    assert decode_answer(encode_answer(own), LENGTH, 1024).reveal(777) == own.reveal(777)
    raw = bytearray(encode_answer(own))
    raw[-1] ^= 1  # the last checkpoint no longer leads to the commitment
    with pytest.raises(BuildFailed, match="does not lead to the commitment"):
        decode_answer(bytes(raw), LENGTH, 1024)
    with pytest.raises(BuildFailed, match="checkpoints"):
        decode_answer(encode_answer(own), LENGTH + 1024, 1024)  # one checkpoint short for that length


def test_the_child_refuses_a_bad_request_in_one_line_and_an_orphan_ends() -> None:
    def child(request: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "btt_chain.node.hash_chain_builder"], input=request,
                              capture_output=True, timeout=120, check=False)

    me = os.getpid()
    bad = child(b'{"seed": "zz", "length": 8, "every": 4, "parent": %d}' % me)
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.startswith(b"hash chain builder:") and len(bad.stderr.strip().splitlines()) == 1
    assert child(b"not json").returncode == 2
    # a child whose parent is not the one named (it died before the child could watch it) builds nothing
    orphan = child(b'{"seed": "%s", "length": 8, "every": 4, "parent": %d}' % (b"ab" * 32, me + 1_000_000))
    assert orphan.returncode == 1 and orphan.stdout == b""
    good = child(b'{"seed": "%s", "length": 8, "every": 4, "parent": %d}' % (b"ab" * 32, me))
    assert good.returncode == 0
    assert decode_answer(good.stdout, 8, 4).commitment == HashChain(bytes.fromhex("ab" * 32), 8, 4).commitment
