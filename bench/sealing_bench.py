"""What sealing patient cases costs (issue 51): per item, for each shipped model's input width (the cases) and output
width (the results sealed back to the clinic), the microseconds to derive the item's ephemeral secret, seal, open
(the provider) and re-seal a revealed decoy (every node), and the bytes a sealed item adds; per 16-case job with 8
decoys, the decoy commitment and its check, the bytes added and the share of the provider's compute spent on decoys.

Run: python -m bench.sealing_bench [items]   (or `btt-chain bench sealing`)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from btt_chain.primitives import sealed_cases as sc
from runtime.compute.model import input_bytes, output_bytes
from runtime.compute.reference import reference_names, reference_spec

ROUNDS = 5
"""Timed rounds per figure (the median is printed)."""
JOB_ITEMS = 16
JOB_DECOYS = 8


def _us_per_call(fn: Callable[[int], object], calls: int) -> float:
    """The median over ROUNDS of the microseconds one call of fn(i), i in range(calls), takes."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(calls):
            fn(i)
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return round(statistics.median(rounds), 1)


def width_figures(label: str, width: int, items: int, direction: int, rng: random.Random) -> dict[str, Any]:
    """The per-item figures for items of `width` bytes."""
    recipient = sc.BoxKeypair(rng.randbytes(32))
    secret = rng.randbytes(32)
    genesis = rng.randbytes(32)
    plains = [rng.randbytes(width) for _ in range(items)]
    bindings = [sc.SealBinding(genesis, 1, i, direction) for i in range(items)]
    esks = [sc.item_secret(secret, b, recipient.public, p) for b, p in zip(bindings, plains, strict=True)]
    sealed = [sc.seal_item(p, recipient.public, e, b) for p, e, b in zip(plains, esks, bindings, strict=True)]
    if any(sc.open_item(s, recipient, b) != p for s, b, p in zip(sealed, bindings, plains, strict=True)):
        raise RuntimeError("a sealed item did not open to its case")
    return {
        f"{label}_width_bytes": width,
        f"{label}_sealed_bytes": len(sealed[0]),
        f"{label}_extra_bytes": len(sealed[0]) - width,
        f"{label}_item_secret_us": _us_per_call(lambda i: sc.item_secret(secret, bindings[i], recipient.public,
                                                                         plains[i]), items),
        f"{label}_seal_us": _us_per_call(lambda i: sc.seal_item(plains[i], recipient.public, esks[i], bindings[i]),
                                         items),
        f"{label}_open_us": _us_per_call(lambda i: sc.open_item(sealed[i], recipient, bindings[i]), items),
        f"{label}_reseal_check_us": _us_per_call(
            lambda i: sc.reseal_matches(sealed[i], plains[i], esks[i], recipient.public, bindings[i]), items),
    }


def job_figures(width: int, rng: random.Random) -> dict[str, Any]:
    """A 16-case job with 8 decoys: its commitment, the check of its opening, and what it adds."""
    plains = [rng.randbytes(width) for _ in range(JOB_ITEMS)]
    positions = sc.choose_decoy_positions(JOB_ITEMS, JOB_DECOYS, rng)
    salt = rng.randbytes(32)
    decoys = [plains[p] for p in positions]
    commitment = sc.decoy_commitment(salt, JOB_ITEMS, positions, [sc.decoy_item_hash(d) for d in decoys])
    calls = 200
    return {
        "job_items": JOB_ITEMS,
        "job_decoys": JOB_DECOYS,
        "job_commit_us": _us_per_call(lambda _: sc.decoy_commitment(
            salt, JOB_ITEMS, positions, [sc.decoy_item_hash(d) for d in decoys]), calls),
        "job_commitment_check_us": _us_per_call(lambda _: sc.opens_commitment(
            commitment, salt, JOB_ITEMS, positions, decoys), calls),
        "job_extra_bytes": JOB_ITEMS * sc.SEAL_OVERHEAD,
        "job_decoy_compute_share_pct": round(100 * JOB_DECOYS / JOB_ITEMS, 1),
        "job_escape_faking_1": str(sc.escape_probability(JOB_ITEMS, JOB_DECOYS, 1)),
        "job_escape_faking_half": str(sc.escape_probability(JOB_ITEMS, JOB_DECOYS, JOB_ITEMS // 2)),
    }


def run(items: int = 600, seed: int = 1) -> dict[str, Any]:
    """Every figure, the per-item ones over `items` items of each shipped model's widths."""
    rng = random.Random(seed)
    figures: dict[str, Any] = {}
    for name in reference_names():
        spec = reference_spec(name)
        figures |= width_figures(f"{name}_case", input_bytes(spec), items, sc.CASE, rng)
        figures |= width_figures(f"{name}_result", output_bytes(spec), items, sc.RESULT, rng)
    figures |= job_figures(input_bytes(reference_spec(reference_names()[0])), rng)
    return figures


if __name__ == "__main__":
    for key, value in run(int(sys.argv[1]) if len(sys.argv) > 1 else 600).items():
        print(f"{key}  {value}")
