"""`bench sealing`: the per-item figures cover each shipped model's case and result widths, a sealed item is always
48 bytes longer, the job figures are the formula's, and a bad option is refused before any work."""

from __future__ import annotations

from click.testing import CliRunner

from bench.sealing_bench import run
from btt_chain.primitives.sealed_cases import SEAL_OVERHEAD
from cli.main import cli
from runtime.compute.model import input_bytes, output_bytes
from runtime.compute.reference import reference_names, reference_spec


def test_the_figures_cover_every_shipped_width() -> None:
    figures = run(items=10)
    for name in reference_names():
        spec = reference_spec(name)
        for label, width in ((f"{name}_case", input_bytes(spec)), (f"{name}_result", output_bytes(spec))):
            assert figures[f"{label}_width_bytes"] == width
            assert figures[f"{label}_sealed_bytes"] == width + SEAL_OVERHEAD
            assert figures[f"{label}_extra_bytes"] == SEAL_OVERHEAD == 48
            for op in ("item_secret", "seal", "open", "reseal_check"):
                assert figures[f"{label}_{op}_us"] > 0
    assert figures["job_extra_bytes"] == 16 * 48
    assert figures["job_escape_faking_half"] == "1/12870"
    assert figures["job_decoy_compute_share_pct"] == 50.0


def test_the_command_prints_the_figures_and_refuses_a_bad_count() -> None:
    result = CliRunner().invoke(cli, ["bench", "sealing", "--items", "10"])
    assert result.exit_code == 0, result.output
    assert "breast-cancer-v1_case_seal_us" in result.output and "job_escape_faking_1" in result.output
    refused = CliRunner().invoke(cli, ["bench", "sealing", "--items", "0"])
    assert refused.exit_code == 2 and "--items" in refused.output
