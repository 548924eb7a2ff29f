"""What sealing patient cases costs per item (issue 51), with the primitives the clinic, the provider and every node
run: the clinic derives each item's ephemeral secret and seals the case to the provider, the provider opens it and
seals the result back, the clinic opens the result, and every node re-seals a revealed decoy to check it. Each figure
is the median over `rounds` of a whole job's items done one after the other, divided by the items, in CPU time.

The job's chain costs (bytes, weight, fees) are `bench.private_bench`'s; `btt-chain bench sealing` prints both.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from btt_chain.primitives import sealed_cases as sc


@dataclass(frozen=True)
class SealingCosts:
    """Microseconds per item of a job of `items` items whose cases are `case_bytes` wide and results `result_bytes`."""

    case_bytes: int
    result_bytes: int
    items: int
    seal_case_us: float
    """The clinic: the item's ephemeral secret derived from its one secret, and the case sealed to the provider."""
    open_case_us: float
    """The provider: one sealed case opened."""
    seal_result_us: float
    """The provider: the item's result sealed back to the clinic."""
    open_result_us: float
    """The clinic: one sealed result opened."""
    reseal_us: float
    """Every node, per revealed decoy: re-sealed from its case and secret, and compared with the sealed item."""

    @property
    def clinic_job_ms(self) -> float:
        """The clinic's sealing and opening over the whole job."""
        return (self.seal_case_us + self.open_result_us) * self.items / 1000

    @property
    def provider_job_ms(self) -> float:
        """The provider's opening and sealing over the whole job."""
        return (self.open_case_us + self.seal_result_us) * self.items / 1000


def median_us_per_item(fn: Callable[[int], object], items: int, rounds: int) -> float:
    """The median over `rounds` of the microseconds fn(i) takes on average over i in range(items), in CPU time of this
    process (what other processes on a shared host take from it does not count)."""
    runs = []
    for _ in range(rounds):
        start = time.process_time()
        for i in range(items):
            fn(i)
        runs.append((time.process_time() - start) / items * 1e6)
    return statistics.median(runs)


def sealing_costs(case_bytes: int, result_bytes: int, items: int, rounds: int, rng: random.Random) -> SealingCosts:
    """Seal, open and re-seal `items` random items of each width, as a job's items are, timed `rounds` times.
    RuntimeError if an item does not open to what was sealed (the figures would be of something else)."""
    provider, clinic = sc.BoxKeypair(rng.randbytes(32)), sc.BoxKeypair(rng.randbytes(32))
    clinic_secret, provider_secret, genesis = rng.randbytes(32), rng.randbytes(32), rng.randbytes(32)
    cases = [rng.randbytes(case_bytes) for _ in range(items)]
    results = [rng.randbytes(result_bytes) for _ in range(items)]
    to_provider = [sc.SealBinding(genesis, 1, i, sc.CASE) for i in range(items)]
    to_clinic = [sc.SealBinding(genesis, 1, i, sc.RESULT) for i in range(items)]

    def seal_case(i: int) -> bytes:
        esk = sc.item_secret(clinic_secret, to_provider[i], provider.public, cases[i])
        return sc.seal_item(cases[i], provider.public, esk, to_provider[i])

    def seal_result(i: int) -> bytes:
        esk = sc.item_secret(provider_secret, to_clinic[i], clinic.public, results[i])
        return sc.seal_item(results[i], clinic.public, esk, to_clinic[i])

    sealed_cases = [seal_case(i) for i in range(items)]
    sealed_results = [seal_result(i) for i in range(items)]
    esks = [sc.item_secret(clinic_secret, to_provider[i], provider.public, cases[i]) for i in range(items)]
    if any(sc.open_item(s, provider, b) != c for s, b, c in zip(sealed_cases, to_provider, cases, strict=True)) or any(
            sc.open_item(s, clinic, b) != r for s, b, r in zip(sealed_results, to_clinic, results, strict=True)):
        raise RuntimeError("a sealed item did not open to what was sealed")
    return SealingCosts(
        case_bytes=case_bytes,
        result_bytes=result_bytes,
        items=items,
        seal_case_us=median_us_per_item(seal_case, items, rounds),
        open_case_us=median_us_per_item(lambda i: sc.open_item(sealed_cases[i], provider, to_provider[i]), items,
                                        rounds),
        seal_result_us=median_us_per_item(seal_result, items, rounds),
        open_result_us=median_us_per_item(lambda i: sc.open_item(sealed_results[i], clinic, to_clinic[i]), items,
                                          rounds),
        reseal_us=median_us_per_item(
            lambda i: sc.reseal_matches(sealed_cases[i], cases[i], esks[i], provider.public, to_provider[i]), items,
            rounds),
    )
