"""`bench sealing` (issue 51's costs of a private job) on its smallest shape, run once for the module: every size is
its encoded call's, every weight the runtime's own function of the job, every fee btt-21m's parameters applied to
them, every timing positive; the verdict on weight against time and the floor-price shortfall are printed exactly
when the figures say so; the command prints the table, refuses bad options before any work and turns a bench failure
into one line, not a traceback."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench import private_bench as pb
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.sealed_cases import SEAL_OVERHEAD
from cli.main import cli
from runtime.compute import weights
from runtime.compute.model import input_bytes, output_bytes
from runtime.compute.reference import reference_spec
from runtime.modules import RUNTIME

PRESET = Path(__file__).parents[2] / "genesis" / "presets" / "btt-21m.json"


@pytest.fixture(scope="module")
def report() -> pb.Report:
    return pb.run(pb.QUICK_SHAPES, rounds=1)


def _base_units(value: str) -> int:
    whole, _, frac = value.partition(".")
    return int(whole) * 10**18 + int(frac.ljust(18, "0"))


def _fee(size: int, weight: int) -> int:
    """btt-21m's fee of a length and weight, from the preset's own figures (an oracle beside the chain's function)."""
    params = json.loads(PRESET.read_text())["parameters"]
    base, per_byte, per_weight = (_base_units(params[n]["value"]) for n in ("fees.base", "fees.per_byte",
                                                                             "fees.per_weight"))
    return base + per_byte * size + per_weight * weight


def test_the_smallest_shape_is_a_16_case_job_with_8_decoys(report: pb.Report) -> None:
    (s,) = report.shapes
    assert (s.shape.items, s.shape.decoys) == (16, 8)
    assert s.decoy_share == Fraction(1, 2)
    assert s.decoy_cost == s.floor_price // 2 > 0


def test_each_size_is_its_encoded_calls_and_the_call_is_what_it_says(report: pb.Report) -> None:
    (s,) = report.shapes
    spec = reference_spec(s.shape.model)
    width, depth = input_bytes(spec), weights.tree_depth(s.shape.items)
    decoded = {}
    for cost in (s.post_job, s.post_private_job, s.submit_sealed_inputs, s.reveal_decoys, s.public_reveal,
                 s.private_reveal, report.set_box_key):
        xt = Extrinsic.decode_checked(cost.encoded)
        call = RUNTIME.decode_call(xt.call)
        assert call.full_name == f"compute.{cost.name}" and cost.size == len(cost.encoded)
        decoded[cost.name] = call.args
    _, _, openings = decoded["reveal_decoys"]
    assert len(openings) == s.shape.decoys
    assert all(len(o.case) == width and len(o.proof) == depth for o in openings)
    assert s.reveal_decoys.size > s.shape.decoys * (width + 32 + 32 * depth)
    assert len(decoded["reveal_private_result"][3]) == s.shape.decoys
    assert len(decoded["reveal_result"][3]) == 8  # a public job's sample: compute.sample_size
    assert decoded["post_private_job"][1:3] == (s.shape.items, s.shape.decoys)
    # spec 17: both jobs' inputs on chain, one chunk each at 16 items; a sealed item is 48 bytes longer than its case
    for cost, sealed in ((s.public_inputs, False), (s.sealed_inputs, True)):
        call = RUNTIME.decode_call(Extrinsic.decode_checked(cost.encoded).call)
        assert call.full_name == "compute.post_inputs" and len(call.args[2]) == s.shape.items
        assert all(len(x) == width + (SEAL_OVERHEAD if sealed else 0) for x in call.args[2])
    assert s.sealed_inputs.size - s.public_inputs.size >= s.shape.items * SEAL_OVERHEAD
    assert s.extra_chain_bytes == (s.post_private_job.size - s.post_job.size + s.submit_sealed_inputs.size
                                   + s.sealed_inputs.size - s.public_inputs.size
                                   + s.reveal_decoys.size + s.private_reveal.size - s.public_reveal.size)


def test_each_weight_is_the_runtimes_charge_for_the_job(report: pb.Report) -> None:
    (s,) = report.shapes
    spec, n, d = reference_spec(s.shape.model), s.shape.items, s.shape.decoys
    assert s.reveal_decoys.weight == weights.reveal_decoys_weight(spec, n, d) > weights.REVEAL_DECOYS
    assert s.private_reveal.weight == weights.reveal_private_weight(spec, n, d)
    assert s.public_reveal.weight == weights.reveal_weight(spec, n, 8)
    assert s.post_private_job.weight == s.post_job.weight == weights.POST_JOB
    assert s.submit_sealed_inputs.weight == weights.SUBMIT_SEALED
    assert s.public_inputs.weight == weights.input_chunk_weight(spec, n, n, False)
    assert s.sealed_inputs.weight == weights.input_chunk_weight(spec, n, n, True) > s.public_inputs.weight
    assert s.extra_weight == (weights.SUBMIT_SEALED + s.sealed_inputs.weight - s.public_inputs.weight
                              + s.reveal_decoys.weight + s.private_reveal.weight - s.public_reveal.weight)


def test_each_fee_is_btt21m_parameters_applied_to_the_size_and_weight(report: pb.Report) -> None:
    (s,) = report.shapes
    for cost in (s.post_job, s.post_private_job, s.submit_sealed_inputs, s.reveal_decoys, s.public_reveal,
                 s.private_reveal, report.set_box_key, s.public_inputs, s.sealed_inputs):  # one chunk each here
        assert cost.fee == _fee(cost.size, cost.weight), cost.name
    assert s.clinic_extra_fees == s.post_private_job.fee - s.post_job.fee + s.submit_sealed_inputs.fee + \
        s.sealed_inputs.fee - s.public_inputs.fee + s.reveal_decoys.fee
    assert report.deposit == _base_units(json.loads(PRESET.read_text())["parameters"]
                                         ["compute.missed_assignment_fee"]["value"])


def test_timings_are_measured(report: pb.Report) -> None:
    (s,) = report.shapes
    c = s.sealing
    assert (c.case_bytes, c.result_bytes) == (input_bytes(reference_spec(s.shape.model)),
                                              output_bytes(reference_spec(s.shape.model)))
    for us in (c.seal_case_us, c.open_case_us, c.seal_result_us, c.open_result_us, c.reseal_us,
               report.largest_case_reseal_us):
        assert 1 < us < 10_000
    assert c.clinic_job_ms == pytest.approx((c.seal_case_us + c.open_result_us) * 16 / 1000)
    assert len(s.reveal_decoys_time.runs_us) == 1 and s.reveal_decoys_time.median_us > 0
    assert s.private_reveal_time.runs_us and s.private_reveal_time.median_us > 0


def test_the_printed_table_holds_the_figures_and_the_verdict_follows_them(report: pb.Report) -> None:
    text = pb.render(report)
    (s,) = report.shapes
    assert text.splitlines()[0].split()[-2:] == ["16/8", "breast"]
    row = next(line for line in text.splitlines() if line.startswith("reveal_decoys bytes"))
    assert row.split()[-1] == f"{s.reveal_decoys.size:,}"
    assert f"{16 * SEAL_OVERHEAD}" in next(line for line in text.splitlines() if line.startswith("sealed outputs"))
    row = next(line for line in text.splitlines() if line.startswith("inputs on chain bytes"))
    assert row.split()[-3:] == [f"{s.public_inputs.size:,}", "/", f"{s.sealed_inputs.size:,}"]
    verdict = next(line for line in text.splitlines() if line.startswith("weight >= measured"))
    assert verdict.endswith("yes, every shape") == (not s.short_weights())
    slow = dataclasses.replace(s, reveal_decoys_time=pb.Timed((s.reveal_decoys.weight + 1.0,)))
    verdict = next(line for line in pb.render(dataclasses.replace(report, shapes=(slow,))).splitlines()
                   if line.startswith("weight >= measured"))
    assert "NO: reveal_decoys of 16/8 breast" in verdict
    assert "short by" not in text or s.provider_shortfall
    dear = dataclasses.replace(s, private_reveal=dataclasses.replace(s.private_reveal, fee=s.floor_reveal_fee + 7))
    assert "short by 0.000000000000000007 BTT for 16/8 breast" in pb.render(dataclasses.replace(report,
                                                                                                shapes=(dear,)))


def test_the_command_prints_the_table_and_refuses_bad_options(report: pb.Report,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    monkeypatch.setattr(pb, "run", lambda shapes, rounds: asked.append((shapes, rounds)) or report)
    result = CliRunner().invoke(cli, ["bench", "sealing", "--quick"])
    assert result.exit_code == 0, result.output
    assert asked == [(pb.QUICK_SHAPES, 3)]
    assert "reveal_decoys weight" in result.output and "weight >= measured import time" in result.output
    for bad in ("0", "8"):
        refused = CliRunner().invoke(cli, ["bench", "sealing", "--rounds", bad])
        assert refused.exit_code == 2 and "--rounds" in refused.output
    assert len(asked) == 1

    def failing(shapes: object, rounds: int) -> pb.Report:
        raise RuntimeError("bench extrinsic 1 failed: compute.BadDecoys")

    monkeypatch.setattr(pb, "run", failing)
    failed = CliRunner().invoke(cli, ["bench", "sealing", "--quick"])
    assert failed.exit_code == 1 and "compute.BadDecoys" in failed.output and "Traceback" not in failed.output


def test_rounds_out_of_range_are_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="rounds"):
        pb.run(pb.QUICK_SHAPES, rounds=pb.MAX_ROUNDS + 1)
