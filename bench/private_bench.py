"""What a private job costs beside a public one (issue 51): for a few job shapes on the shipped models, the sealing and
opening per item and per job, the bytes it adds, the weight it adds, its two decoy calls' import time against their
weight, and the fees that follow at btt-21m's parameters. `btt-chain bench sealing` prints it.

Run: python -m bench.private_bench [--quick]

How each figure is had:
- Sealing and opening: `bench.sealing_bench` (the primitives, median of `rounds` runs over a job's items).
- Bytes: real signed extrinsics, encoded: `post_private_job`, `submit_sealed_inputs`, the sealed items' `post_inputs`
  chunks and `reveal_decoys`, and the provider's `reveal_private_result`, against the public job of the same cases
  (`post_job` with the root over them, its inputs' `post_inputs` chunks, and a `reveal_result` of
  `compute.sample_size` items in the clear). From spec 17 both jobs' inputs are on chain (a sealed item is 48 bytes
  longer than its case); the sealed outputs travel and are held off chain, each 48 bytes longer than its output.
- Weight: the runtime's own `Runtime.weight` of each call (its CallDef weight plus its extra weight), as the executive
  charges it.
- Measured: every job is run for real on a dev chain (`bench.private_chain`); blocks of `reveal_decoys`, then of
  `reveal_private_result`, are authored and imported by a second node (decode, signatures, execution with every decoy
  re-sealed and its path checked, state root, commit), timed less an empty block's import, as `bench.receipt_bench`
  times the work-proof calls. One weight unit is meant to be one microsecond of import: the weight must be at least the
  time.
- Fees: `btt_chain.rpc.fee_info.compute_fee` (what `payment_queryInfo` charges for a length and weight, undiscounted)
  on the btt-21m genesis state; the floor price is `runtime.compute.costs.min_price` on that state.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from bench import private_chain as pc
from bench.sealing_bench import SealingCosts, median_us_per_item, sealing_costs
from btt_chain.miner.clinic import input_chunk_args
from btt_chain.primitives import sealed_cases as sc
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.rpc.fee_info import compute_fee
from genesis.build import build_genesis, genesis_config
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.compute import costs
from runtime.compute import weights as compute_weights
from runtime.compute.inputs import input_root
from runtime.compute.model import MAX_INPUT_BYTES, input_bytes, model_hash, output_bytes
from runtime.compute.reference import reference_spec
from runtime.overlay import DictState, Overlay
from runtime.params.storage import get_param

FEE_PRESET = "btt-21m"
BLOCK_WORK_US = 40_000
"""Weight aimed at per timed block of decoy reveals, so that the block's own import cost is small beside its calls'."""
MAX_PER_BLOCK = 16


@dataclass(frozen=True)
class Shape:
    model: str
    items: int
    decoys: int

    @property
    def label(self) -> str:
        return f"{self.items}/{self.decoys} {self.model.split('-')[0]}"


SHAPES = (
    Shape("breast-cancer-v1", 16, 8),
    Shape("breast-cancer-v1", 64, 8),
    Shape("digits-conv-v1", 256, 16),
    Shape("digits-conv-v1", 1024, 64),
)
QUICK_SHAPES = SHAPES[:1]
MAX_ROUNDS = 7
"""Rounds of timed blocks at most: every bench job stays assigned to alice until its reveal (`pc.CAPACITY`)."""


@dataclass(frozen=True)
class CallCost:
    """One encoded, signed extrinsic: its bytes, the weight the runtime charges it and its fee at btt-21m's fees."""

    name: str
    encoded: bytes
    weight: int
    fee: int

    @property
    def size(self) -> int:
        return len(self.encoded)


@dataclass(frozen=True)
class Timed:
    """A call's import time per call in each timed block (microseconds, an empty block's taken off)."""

    runs_us: tuple[float, ...]

    @property
    def median_us(self) -> float:
        return statistics.median(self.runs_us)


@dataclass(frozen=True)
class ShapeReport:
    shape: Shape
    sealing: SealingCosts
    post_job: CallCost
    """The public job of the same cases (encoded and weighed, not applied)."""
    post_private_job: CallCost
    submit_sealed_inputs: CallCost
    public_inputs: CallCost
    """The public job's inputs on chain: every `post_inputs` chunk (bytes, weight and fee summed)."""
    sealed_inputs: CallCost
    """The private job's sealed items on chain: every `post_inputs` chunk (bytes, weight and fee summed)."""
    reveal_decoys: CallCost
    public_reveal: CallCost
    """The provider's `reveal_result` of a public job of the same cases (encoded and weighed, not applied)."""
    private_reveal: CallCost
    """The provider's `reveal_private_result`: every decoy's output opened and re-sealed."""
    floor_price: int
    floor_reveal_fee: int
    """What the floor price allows the provider for its reveal (`costs.private_reveal_cost`: every decoy opened)."""
    reveal_decoys_time: Timed
    reveals_per_block: int
    """Decoy reveals in each timed block (the provider's reveals come as their samples are fixed, a round's at once)."""
    private_reveal_time: Timed

    @property
    def extra_chain_bytes(self) -> int:
        return (self.post_private_job.size - self.post_job.size + self.submit_sealed_inputs.size
                + self.sealed_inputs.size - self.public_inputs.size
                + self.reveal_decoys.size + self.private_reveal.size - self.public_reveal.size)

    @property
    def extra_weight(self) -> int:
        return (self.post_private_job.weight - self.post_job.weight + self.submit_sealed_inputs.weight
                + self.sealed_inputs.weight - self.public_inputs.weight
                + self.reveal_decoys.weight + self.private_reveal.weight - self.public_reveal.weight)

    @property
    def decoy_share(self) -> Fraction:
        return Fraction(self.shape.decoys, self.shape.items)

    @property
    def decoy_cost(self) -> int:
        """The decoys' part of the floor price: compute the clinic buys and does not need."""
        return self.floor_price * self.shape.decoys // self.shape.items

    @property
    def clinic_extra_fees(self) -> int:
        """The clinic's fees beyond a public job's: its private post, sealed root, its sealed items beyond the public
        inputs, and its decoy reveal."""
        return (self.post_private_job.fee - self.post_job.fee + self.submit_sealed_inputs.fee
                + self.sealed_inputs.fee - self.public_inputs.fee + self.reveal_decoys.fee)

    @property
    def provider_extra_fee(self) -> int:
        return self.private_reveal.fee - self.public_reveal.fee

    @property
    def provider_shortfall(self) -> int:
        """The provider's reveal fee beyond what the floor price allows it (0 when covered)."""
        return max(0, self.private_reveal.fee - self.floor_reveal_fee)

    def short_weights(self) -> list[str]:
        """The calls whose weight is below their measured import time."""
        return [f"{c.name} of {self.shape.label} ({c.weight:,} < {t.median_us:,.0f} us)"
                for c, t in ((self.reveal_decoys, self.reveal_decoys_time),
                             (self.private_reveal, self.private_reveal_time)) if c.weight < t.median_us]


@dataclass(frozen=True)
class Report:
    shapes: tuple[ShapeReport, ...]
    set_box_key: CallCost
    deposit: int
    """The reveal deposit a private job reserves at posting (returned when the decoys are revealed), at btt-21m's."""
    largest_case_reseal_us: float
    """One decoy re-sealed at the largest case a model may take (`MAX_INPUT_BYTES`)."""
    fee_parameters: tuple[tuple[str, int], ...]
    load_average: float
    """The host's 1-minute load average when the figures were done (times are CPU time: load does not count)."""


# --- measuring ---------------------------------------------------------------------------------------------------


def fee_state() -> Overlay:
    """The btt-21m genesis state: the parameters the fees and floor prices are at."""
    spec = parse_chain_spec(materialise(load_chain_spec(FEE_PRESET).raw, pc.GENESIS_TIME_MS))
    return Overlay(DictState(build_genesis(spec, genesis_config(spec)).state))


def call_cost(chain: pc.BenchChain, fees: Overlay, name: str, xt: Extrinsic) -> CallCost:
    encoded = xt.encode()
    weight = chain.weight(xt)
    return CallCost(name, encoded, weight, compute_fee(chain.author.runtime, fees, len(encoded), weight).inclusion_fee)


def chunks_cost(chain: pc.BenchChain, fees: Overlay, name: str, xts: Sequence[Extrinsic], weights: Sequence[int]
                ) -> CallCost:
    """A job's input chunks as one cost: their encodings, `weights` (each chunk's, as the runtime charges it) and fees
    summed."""
    encoded = [xt.encode() for xt in xts]
    fee = sum(compute_fee(chain.author.runtime, fees, len(e), w).inclusion_fee
              for e, w in zip(encoded, weights, strict=True))
    return CallCost(name, b"".join(encoded), sum(weights), fee)


def input_chunk_costs(chain: pc.BenchChain, fees: Overlay, job: pc.PrivateJob) -> tuple[CallCost, CallCost]:
    """(the public job's inputs, the private job's sealed items) on chain, chunk by chunk as the chain's plan cuts
    them, weighed by `compute.post_inputs`' weight for each."""
    out = []
    for sealed, items in ((False, job.items), (True, job.sealed)):
        args = input_chunk_args(job.job_id, items, job.spec, sealed)
        xts = [chain.sign(chain.ferdie, "compute.post_inputs", *a, offset=i) for i, a in enumerate(args)]
        weights = [compute_weights.input_chunk_weight(job.spec, len(items), len(a[2]), sealed) for a in args]
        out.append(chunks_cost(chain, fees, "post_inputs sealed" if sealed else "post_inputs", xts, weights))
    return out[0], out[1]


def reveals_per_block(shape: Shape) -> int:
    weight = compute_weights.reveal_decoys_weight(reference_spec(shape.model), shape.items, shape.decoys)
    return max(2, min(MAX_PER_BLOCK, BLOCK_WORK_US // weight))


def measure_shape(chain: pc.BenchChain, fees: Overlay, shape: Shape, rounds: int, rng: random.Random) -> ShapeReport:
    """`rounds` timed blocks of decoy reveals, each of `reveals_per_block(shape)` jobs run from posting to the
    provider's reveal (timed too); each call's bytes, weight and fee from the first job."""
    spec = reference_spec(shape.model)
    per_block = reveals_per_block(shape)
    empty_us = chain.empty_block_us()
    runs, jobs, calls = [], [], {}
    inputs: tuple[CallCost, CallCost] | None = None
    for r in range(rounds):
        batch = pc.committed_jobs(chain, spec, shape.items, shape.decoys, per_block, rng)
        xts = pc.reveal_decoys_xts(chain, batch)
        if r == 0:
            job = batch[0]
            public_price, deadline = chain.job_terms(spec, shape.items)
            price, _ = chain.job_terms(spec, shape.items, shape.decoys)
            calls = {
                "post_job": chain.sign(chain.ferdie, "compute.post_job", model_hash(spec), input_root(job.items),
                                       bytes(32), shape.items, public_price, 1, deadline),
                "post_private_job": chain.sign(chain.ferdie, "compute.post_private_job",
                                               *pc.post_args(job, price, deadline)),
                "submit_sealed_inputs": chain.sign(chain.ferdie, "compute.submit_sealed_inputs", job.job_id,
                                                   input_root(job.sealed)),
                "reveal_decoys": xts[0],
                "reveal_result": chain.sign(chain.alice, "compute.reveal_result", *pc.public_reveal_args(chain, job)),
            }
            inputs = input_chunk_costs(chain, fees, job)
        runs.append((chain.timed_block(xts) - empty_us) / per_block)
        jobs += batch
    pc.checked(chain, jobs)
    cost = {name: call_cost(chain, fees, name, xt) for name, xt in calls.items()}
    private_reveal, reveal_runs = pc.provider_reveals(chain, jobs, empty_us)
    assert inputs is not None
    return ShapeReport(
        shape=shape,
        sealing=sealing_costs(input_bytes(spec), output_bytes(spec), shape.items, rounds, rng),
        post_job=cost["post_job"],
        post_private_job=cost["post_private_job"],
        submit_sealed_inputs=cost["submit_sealed_inputs"],
        public_inputs=inputs[0],
        sealed_inputs=inputs[1],
        reveal_decoys=cost["reveal_decoys"],
        public_reveal=cost["reveal_result"],
        private_reveal=call_cost(chain, fees, "reveal_private_result", private_reveal),
        floor_price=costs.min_price(fees, spec, shape.items, 1, shape.decoys),
        floor_reveal_fee=costs.private_reveal_cost(fees, spec, shape.items, shape.decoys),
        reveal_decoys_time=Timed(tuple(runs)),
        reveals_per_block=per_block,
        private_reveal_time=Timed(tuple(reveal_runs)),
    )


def largest_case_reseal_us(rounds: int, rng: random.Random) -> float:
    """One re-seal check at the largest case a model may take: the bound `weights.SEAL` is meant to hold."""
    items = 64
    key = sc.BoxKeypair(rng.randbytes(32))
    binding = sc.SealBinding(rng.randbytes(32), 1, 0, sc.CASE)
    cases = [rng.randbytes(MAX_INPUT_BYTES) for _ in range(items)]
    esks = [sc.clamp(rng.randbytes(32)) for _ in range(items)]
    sealed = [sc.seal_item(c, key.public, e, binding) for c, e in zip(cases, esks, strict=True)]
    return median_us_per_item(lambda i: sc.reseal_matches(sealed[i], cases[i], esks[i], key.public, binding), items,
                              rounds)


def run(shapes: Sequence[Shape] = SHAPES, rounds: int = 5, seed: int = 1) -> Report:
    """Every figure, for each of `shapes`, each timing the median of `rounds` runs."""
    if not 1 <= rounds <= MAX_ROUNDS:
        raise ValueError(f"rounds: 1 to {MAX_ROUNDS}, got {rounds}")
    rng = random.Random(seed)
    chain = pc.BenchChain()
    fees = fee_state()
    return Report(
        shapes=tuple(measure_shape(chain, fees, s, rounds, rng) for s in shapes),
        set_box_key=call_cost(chain, fees, "set_box_key", chain.set_box_key_xt),
        deposit=get_param(fees, "compute.missed_assignment_fee"),
        largest_case_reseal_us=largest_case_reseal_us(rounds, rng),
        fee_parameters=tuple((n, get_param(fees, n)) for n in ("fees.base", "fees.per_byte", "fees.per_weight")),
        load_average=os.getloadavg()[0],
    )


# --- the table -----------------------------------------------------------------------------------------------------


def _btt(amount: int) -> str:
    """An amount in BTT, exact, signed."""
    return ("-" if amount < 0 else "") + format_btt(abs(amount))


def _odds(p: Fraction) -> str:
    """Exact while short (1/12870), else in scientific notation."""
    return str(p) if p.denominator < 10**6 else f"{float(p):.1e}"


def _span(t: Timed) -> str:
    return f"{min(t.runs_us):,.0f}-{max(t.runs_us):,.0f}"


def _pair(a: object, b: object) -> str:
    return f"{a:,} / {b:,}" if isinstance(a, int) and isinstance(b, int) else f"{a} / {b}"


ROWS: tuple[tuple[str, Callable[[ShapeReport], object]], ...] = (
    ("case / result bytes", lambda s: _pair(s.sealing.case_bytes, s.sealing.result_bytes)),
    ("seal a case us (clinic)", lambda s: f"{s.sealing.seal_case_us:.1f}"),
    ("open a case us (provider)", lambda s: f"{s.sealing.open_case_us:.1f}"),
    ("seal a result us (provider)", lambda s: f"{s.sealing.seal_result_us:.1f}"),
    ("open a result us (clinic)", lambda s: f"{s.sealing.open_result_us:.1f}"),
    ("re-seal a decoy us (every node)", lambda s: f"{s.sealing.reseal_us:.1f}"),
    ("clinic ms/job / provider ms/job", lambda s: f"{s.sealing.clinic_job_ms:.1f} / {s.sealing.provider_job_ms:.1f}"),
    ("sealed outputs +bytes (off chain)", lambda s: f"{s.shape.items * sc.SEAL_OVERHEAD:,}"),
    ("post_job / post_private_job bytes", lambda s: _pair(s.post_job.size, s.post_private_job.size)),
    ("submit_sealed_inputs bytes", lambda s: s.submit_sealed_inputs.size),
    ("inputs on chain bytes public / sealed", lambda s: _pair(s.public_inputs.size, s.sealed_inputs.size)),
    ("reveal_decoys bytes", lambda s: f"{s.reveal_decoys.size:,}"),
    ("provider reveal bytes public / private", lambda s: _pair(s.public_reveal.size, s.private_reveal.size)),
    ("extra chain bytes/job", lambda s: f"{s.extra_chain_bytes:,}"),
    ("post_job / post_private_job weight", lambda s: _pair(s.post_job.weight, s.post_private_job.weight)),
    ("submit_sealed_inputs weight", lambda s: f"{s.submit_sealed_inputs.weight:,}"),
    ("inputs on chain weight public / sealed", lambda s: _pair(s.public_inputs.weight, s.sealed_inputs.weight)),
    ("reveal_decoys weight", lambda s: f"{s.reveal_decoys.weight:,}"),
    ("  measured us (median, CPU)", lambda s: f"{s.reveal_decoys_time.median_us:,.0f}"),
    ("  weight / measured", lambda s: f"{s.reveal_decoys.weight / max(s.reveal_decoys_time.median_us, 1):.2f}"),
    ("  runs us, calls a block", lambda s: f"{_span(s.reveal_decoys_time)} x{s.reveals_per_block}"),
    ("provider reveal weight public / private", lambda s: _pair(s.public_reveal.weight, s.private_reveal.weight)),
    ("  private measured us (median, CPU)", lambda s: f"{s.private_reveal_time.median_us:,.0f}"),
    ("  weight / measured", lambda s: f"{s.private_reveal.weight / max(s.private_reveal_time.median_us, 1):.2f}"),
    ("extra weight/job", lambda s: f"{s.extra_weight:,}"),
    ("escape odds faking 1 / half the items", lambda s: _pair(
        _odds(sc.escape_probability(s.shape.items, s.shape.decoys, 1)),
        _odds(sc.escape_probability(s.shape.items, s.shape.decoys, s.shape.items // 2)))),
    ("decoy share of compute", lambda s: f"{s.decoy_share} = {float(s.decoy_share):.1%}"),
    ("floor price BTT", lambda s: format_btt(s.floor_price)),
    ("  decoys' part BTT", lambda s: format_btt(s.decoy_cost)),
    ("clinic's extra fees BTT", lambda s: _btt(s.clinic_extra_fees)),
    ("provider's extra fee BTT", lambda s: _btt(s.provider_extra_fee)),
    ("provider reveal fee / floor allows BTT", lambda s: _pair(format_btt(s.private_reveal.fee),
                                                               format_btt(s.floor_reveal_fee))),
)


def render(report: Report) -> str:
    """One table (a row a figure, a column a job shape) and the lines that read it."""
    cells = [[str(fn(s)) for s in report.shapes] for _, fn in ROWS]
    label_w = max(len(label) for label, _ in ROWS)
    widths = [max(len(s.shape.label), *(len(row[i]) for row in cells)) for i, s in enumerate(report.shapes)]
    head = "items/decoys model".ljust(label_w) + "".join(f"  {s.shape.label:>{w}}"
                                                         for s, w in zip(report.shapes, widths, strict=True))
    lines = [head, "-" * len(head)]
    lines += [label.ljust(label_w) + "".join(f"  {v:>{w}}" for v, w in zip(row, widths, strict=True))
              for (label, _), row in zip(ROWS, cells, strict=True)]
    short = [line for s in report.shapes for line in s.short_weights()]
    seal = compute_weights.SEAL
    lines += [
        "",
        f"times are CPU time of this process (a second node's import of each timed block, less an empty block's; "
        f"the host's load average {report.load_average:.1f} on {os.cpu_count()} cores)",
        "weight >= measured import time (reveal_decoys, reveal_private_result): "
        + ("yes, every shape" if not short else "NO: " + "; ".join(short)),
        f"one re-seal at the largest case ({MAX_INPUT_BYTES:,} bytes): {report.largest_case_reseal_us:.1f} us, "
        f"SEAL weighs {seal} " + ("(covered)" if report.largest_case_reseal_us <= seal else "(NOT covered)"),
        f"once per clinic: set_box_key, {report.set_box_key.size} bytes, weight {report.set_box_key.weight}, fee "
        f"{format_btt(report.set_box_key.fee)} BTT; each job reserves a reveal deposit of {format_btt(report.deposit)} "
        "BTT, returned when the job closes (burned if the decoys are not revealed)",
        f"fees at {FEE_PRESET}'s " + ", ".join(f"{n} {format_btt(v)}" for n, v in report.fee_parameters)
        + " BTT, undiscounted; from spec 17 both jobs' inputs are on chain (the private job's sealed), the sealed "
        "outputs travel and are held off chain",
    ]
    shortfall = [s for s in report.shapes if s.provider_shortfall]
    if shortfall:
        gaps = ", ".join(f"{format_btt(s.provider_shortfall)} BTT for {s.shape.label}" for s in shortfall)
        lines.append(f"the floor price does not cover the provider's reveal of every decoy: short by {gaps}")
    return "\n".join(lines)


if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    print(render(run(QUICK_SHAPES if quick else SHAPES, 3 if quick else 5)))
