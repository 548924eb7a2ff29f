"""Session keys' hash chains built off the event loop: in a child process, one at a time, a few callers waiting.

A new session key needs its hash chain's commitment (`author_rotateKeys`), and building the chain is
`consensus.hash_chain_length` hashes of pure Python: 2**20 (dev) ~0.45 s of CPU, 2**24 (btt-21m) ~7 s. On the node's
event loop that is that long without authoring, importing or voting (ten rotateKeys calls: about 20 missed slots on
a dev node). A thread would not do: blake2b of 42 bytes holds the GIL, so the loop would run at half speed for the
whole build (measured: a 5 ms sleep on the loop took 10 ms on average while a thread built a chain, 5.2 ms while a
child process did). So `HashChainBuilder.build` runs `python -m btt_chain.node.hash_chain_builder` and awaits it:
the loop goes on serving while the child hashes.

- One build at a time (a second would only halve the speed of both and take a second core from the node); at most
  `max_waiting` more callers wait their turn, in order; past that `build` raises `BuilderBusy` at once (RPC: "busy,
  try again"), before anything is made.
- The child is given the chain's seed (`hash_chain_seed`, derived from the session key's seed), never the key, on
  its stdin (not in its arguments, which any user can read); it answers with the commitment and the chain's
  checkpoints, from which the parent rebuilds the same `HashChain` without hashing it again and keeps it
  (`remember_hash_chain`), so the key's first block does not build it on the loop either.
- The child dies with the node (PR_SET_PDEATHSIG), and a caller that is cancelled (its server stopping) kills its
  child: no build outlives its reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import weakref
from collections.abc import Sequence

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hash_chain import (
    DEFAULT_CHECKPOINT_EVERY,
    HashChain,
    cached_hash_chain,
    hash_chain_seed,
    remember_hash_chain,
)
from btt_chain.process_supervision import die_with

MAX_WAITING = 3
"""Callers that may wait while another build runs; one more is refused with `BuilderBusy`. Four pending builds of
2**24 reveals are about 28 s of waiting for the last."""
COMMAND = (sys.executable, "-m", "btt_chain.node.hash_chain_builder")
"""The child: this module run as a program (it imports only the primitives)."""


class BuilderBusy(BttError):
    """The node is already building session keys' hash chains for other callers: try again in a few seconds."""


class BuildFailed(BttError):
    """The child process that builds a hash chain failed (its stderr says why)."""


class HashChainBuilder:
    """Builds hash chains in a child process, one at a time, with at most `max_waiting` callers waiting."""

    def __init__(self, max_waiting: int = MAX_WAITING, command: Sequence[str] = COMMAND) -> None:
        if max_waiting < 0:
            raise ValueError(f"max_waiting must be at least 0, got {max_waiting}")
        self.max_waiting = max_waiting
        self.command = tuple(command)
        self._turn: asyncio.Lock | None = None
        self._pending = 0
        self.running: int | None = None
        """The pid of the child building now, or None."""
        self.built = 0
        """Chains built by children (a chain this process held already is not built again)."""

    @property
    def pending(self) -> int:
        """Builds running or waiting."""
        return self._pending

    def has_room(self) -> bool:
        """Whether `build` would take another caller now (one running, `max_waiting` waiting)."""
        return self._pending < 1 + self.max_waiting

    async def build(self, secret_seed: bytes, length: int, generation: int = 0) -> HashChain:
        """The session key's hash chain of that generation (`hash_chain_for`'s, built in a child process), kept for
        `hash_chain_for`. BuilderBusy at once if the builder is full; BuildFailed if the child fails."""
        held = cached_hash_chain(secret_seed, length, generation)
        if held is not None:
            return held
        if not self.has_room():
            raise BuilderBusy(f"busy: the node is building {self._pending} session keys' hash chains (each "
                              f"{length:,} hashes); try again in a few seconds")
        seed = hash_chain_seed(secret_seed, generation)  # bad seeds and generations fail here, not in the child
        if self._turn is None:
            self._turn = asyncio.Lock()  # first use: bound to the running loop
        self._pending += 1
        try:
            async with self._turn:  # FIFO: callers build in the order they came
                held = cached_hash_chain(secret_seed, length, generation)  # built for another caller meanwhile
                if held is not None:
                    return held
                chain = await self._run_child(seed, length)
                remember_hash_chain(secret_seed, generation, chain)
                self.built += 1
                return chain
        finally:
            self._pending -= 1

    async def _run_child(self, seed: bytes, length: int) -> HashChain:
        request = json.dumps({"seed": seed.hex(), "length": length, "every": DEFAULT_CHECKPOINT_EVERY,
                              "parent": os.getpid()}).encode()
        try:
            child = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:  # no such program, no process left (EAGAIN), no memory
            raise BuildFailed(f"building a hash chain failed: cannot start {self.command[0]}: {exc}") from None
        self.running = child.pid
        try:
            out, err = await child.communicate(request)
        except BaseException:  # cancelled (the caller or the server stopped): the build has no one to answer
            if child.returncode is None:
                child.kill()
                await child.wait()
            raise
        finally:
            self.running = None
        if child.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
            raise BuildFailed(f"building a hash chain failed: {reason[0]}")
        return decode_answer(out, length, DEFAULT_CHECKPOINT_EVERY)


_builders: weakref.WeakKeyDictionary[object, HashChainBuilder] = weakref.WeakKeyDictionary()


def builder_of(node: object) -> HashChainBuilder:
    """The node's one builder (made at first use, gone with the node): every hash chain the node builds while it
    runs goes through it, so there is one build at a time whoever asks."""
    builder = _builders.get(node)
    if builder is None:
        builder = _builders[node] = HashChainBuilder()
    return builder


def use_builder(node: object, builder: HashChainBuilder) -> None:
    """Give the node this builder (tests: a smaller queue, a child that waits for the test)."""
    _builders[node] = builder


def encode_answer(chain: HashChain) -> bytes:
    """The child's answer: the commitment, then every checkpoint (32 bytes each, the seed first)."""
    return chain.commitment + b"".join(chain.checkpoints)


def decode_answer(raw: bytes, length: int, every: int) -> HashChain:
    """The chain a child answered with (`encode_answer`); BuildFailed if it is not one of that shape."""
    if len(raw) % 32 or len(raw) < 64:
        raise BuildFailed(f"building a hash chain failed: the child answered {len(raw)} bytes, not 32-byte values")
    values = [raw[i:i + 32] for i in range(0, len(raw), 32)]
    try:
        return HashChain.from_checkpoints(values[1:], length, values[0], every)
    except ValueError as exc:
        raise BuildFailed(f"building a hash chain failed: the child's answer is not a chain: {exc}") from None


def _die_with_parent(parent: int) -> None:
    """End with the node however it ends (SIGKILL: nothing of the child's is worth a clean exit)."""
    die_with(parent, signal.SIGKILL)


def main() -> int:
    """The child: read {"seed", "length", "every", "parent"} (JSON) from stdin, write `encode_answer` to stdout."""
    try:
        request = json.loads(sys.stdin.buffer.read())
        _die_with_parent(int(request["parent"]))
        chain = HashChain(bytes.fromhex(request["seed"]), int(request["length"]), int(request["every"]))
    except (ValueError, KeyError, TypeError) as exc:
        print(f"hash chain builder: {exc}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(encode_answer(chain))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
