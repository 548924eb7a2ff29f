"""What a warp sync may trust beyond each proof's own checks (issue 49, finding 6): the age of its trusted start, and
what two peers' proofs that verify but disagree leave behind.

- Weak subjectivity. A warp proof's trust starts with the validators of its trusted start (genesis, or a trusted
  checkpoint) and is carried on only by validators that are still bonded. A start more than the warp's max gap (half
  the unbonding period, in epochs) behind the local clock is refused: its validators may have unbonded and can sign a
  long-range fork for nothing. `start_too_old` says so in one line, with how both figures are computed and what to
  pass instead.
- Conflicting proofs. `PeerProof` is one peer's verified proof: where it ends, the checkpoints it went through and the
  answers it was made of, exactly as received. Two that end at conflicting finalized checkpoints are evidence that
  keys trusted from the start signed two histories: `keep_evidence` writes both to one JSON file, from which anyone
  can verify them again (`btt_chain.consensus.warp.verify_proof_part` from the same start), and `conflict_line` is
  the alarm an operator reads.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from btt_chain.consensus.warp import (
    Trusted,
    WarpProgress,
    compute_clock_epoch,
    is_within_weak_subjectivity_period,
)
from btt_chain.primitives.vote import Checkpoint
from genesis.spec import ChainSpec

EVIDENCE_PREFIX = "warp-conflict-"


def start_too_old(spec: ChainSpec, now_ms: int, start_epoch: int, start: str, max_gap: int) -> str | None:
    """The one-line refusal of a warp from `start` (which opens `start_epoch`) at `now_ms`, or None when the start is
    recent enough (`is_within_weak_subjectivity_period`)."""
    c = spec.consensus
    clock = compute_clock_epoch(now_ms, spec.genesis_time_ms, c.slot_ms, c.epoch_slots)
    if is_within_weak_subjectivity_period(clock, start_epoch, max_gap):
        return None
    return (f"--sync warp from {start} is refused: the local clock is in epoch {clock} ((now - the spec's genesis "
            f"time) / {c.slot_ms} ms a slot / {c.epoch_slots} slots an epoch), {clock - start_epoch} epochs after "
            f"epoch {start_epoch} where the warp would start, more than the warp's max gap of {max_gap} epochs (half "
            "the unbonding period, bonds.unbonding_period_ms, in epochs): the validators trusted there may have "
            "unbonded and could sign a long-range fork unpunished; pass --checkpoint HASH@NUMBER of a recent "
            'finalized block from a source you trust, or a chain spec carrying a recent "checkpoint"')


@dataclass(frozen=True)
class ProofPart:
    """One answer a proof is made of, as exchanged."""

    peer: str
    request: bytes
    """The `sync/warp` request (msgpack: [0, epoch, hash] or [1, number, hash])."""
    response: bytes
    """The `WarpProof` it was answered with (SCALE), as received."""


@dataclass(frozen=True)
class PeerProof:
    """A verified warp proof to a finalized checkpoint, from one peer (or continued by one peer from a checkpoint
    another peer proved: then its first parts are the other's)."""

    peer: str
    """The peer that proved its end."""
    progress: WarpProgress
    checkpoints: tuple[Checkpoint, ...]
    """Every checkpoint it went through: its trusted start first, its finalized end last."""
    parts: tuple[ProofPart, ...]
    fragments: int
    """Fragments verified (the trusted checkpoint's own, when it starts at one, counted)."""
    justification: bytes
    """The encoded justification of its end as that epoch's checkpoint (empty when the end is the start itself)."""

    @property
    def end(self) -> Trusted:
        return self.progress.trusted

    def describe(self) -> str:
        t = self.end
        return f"epoch {t.epoch} block #{t.number} 0x{t.block_hash.hex()}"

    def to_json(self) -> dict[str, object]:
        t = self.end
        return {
            "peer": self.peer,
            "finalized": {"epoch": t.epoch, "number": t.number, "hash": "0x" + t.block_hash.hex()},
            "checkpoints": [{"epoch": cp.epoch, "hash": "0x" + cp.block_hash.hex()} for cp in self.checkpoints],
            "parts": [{"peer": p.peer, "request": "0x" + p.request.hex(), "response": "0x" + p.response.hex()}
                      for p in self.parts],
        }


def keep_evidence(directory: Path, chain_id: str, genesis_hash: bytes, start: str, proofs: Sequence[PeerProof],
                  why: str) -> Path:
    """Write the conflicting proofs to a new `warp-conflict-<UTC time>.json` in `directory` (whole, or not at all)
    and return its path."""
    doc = {
        "what": "two warp proofs that verify from the same trusted start and end at conflicting finalized checkpoints",
        "why": why,
        "chain": chain_id,
        "genesis": "0x" + genesis_hash.hex(),
        "start": start,
        "found": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "proofs": [p.to_json() for p in proofs],
    }
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = directory / f"{EVIDENCE_PREFIX}{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{EVIDENCE_PREFIX}{stamp}-{n}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def conflict_line(low: PeerProof, high: PeerProof, why: str, kept: str) -> str:
    """The alarm: one line naming both peers and both finalized checkpoints, where the proofs are, what to do."""
    return (f"warp sync refused: two warp proofs verify but end at conflicting finalized checkpoints: peer "
            f"{low.peer} at {low.describe()} and peer {high.peer} at {high.describe()} ({why}); both proofs are kept "
            f"in {kept}; nobody was banned (either may be the honest one): start again with --checkpoint HASH@NUMBER "
            "of a recent finalized block taken from a source you trust")
