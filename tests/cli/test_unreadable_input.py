"""Input the CLI cannot read is one `error:` line, never a traceback (issue 43, item 4): an address or secret URI
holding a lone surrogate (what Python makes of command-line bytes that are not UTF-8), a `.model.json` nested
deeper than the parser goes, and an `.npz` whose arrays use a zip compression method zipfile lacks or whose
deflate stream is corrupt, wherever the CLI reads one (`model import`, its `--data`, `model run --cases`)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from btt_chain.models.npz_format import write_npz
from runtime.compute.reference import reference_model
from tests.support.cli_runner import assert_one_error_line, run

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "runtime" / "compute" / "reference_models"


@pytest.mark.parametrize("text", ["\ud800", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ\ud800", "\udcff"])
def test_key_inspect_of_an_address_holding_a_lone_surrogate(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, _, err = run(capsys, "key", "inspect", text)
    assert_one_error_line(code, err, "(a lone surrogate: not valid UTF-8 text)")
    assert code == 1


@pytest.mark.parametrize("text", ["//\udcff", "sr25519://Alice//\udcff", "//Alice///pass\udcff", "ecdsa:///\udcff"])
def test_key_inspect_of_a_secret_uri_holding_one(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, _, err = run(capsys, "key", "inspect", text)
    assert_one_error_line(code, err, "the secret URI is not valid UTF-8 text (it holds a lone surrogate)")


def test_bytes_that_are_not_utf8_on_a_real_command_line() -> None:
    """The bytes of "\\ud800" encoded as UTF-8 would be (ED A0 80), which no UTF-8 decoder accepts: Python passes
    them to the command as lone surrogates."""
    for argv in ([b"key", b"inspect", b"\xed\xa0\x80"], [b"key", b"inspect", b"//Alice//\xff"]):
        done = subprocess.run([sys.executable.encode(), b"-m", b"cli", *argv], cwd=REPO, capture_output=True,
                              timeout=120)
        err = done.stderr.decode("utf-8", "backslashreplace")
        assert done.returncode == 1, err
        assert_one_error_line(done.returncode, err, "not valid UTF-8 text")


def test_model_inspect_and_run_of_a_deeply_nested_spec(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for text in ("[" * 6_000, '{"a":' * 3_000 + "1" + "}" * 3_000):
        spec = tmp_path / "deep.model.json"
        spec.write_text(text)
        for argv in (["model", "inspect", str(spec)], ["model", "run", str(spec), "--input", "00"]):
            code, _, err = run(capsys, *argv)
            assert_one_error_line(code, err, f"{spec}: not valid JSON: nested too deeply")


def with_compression(src: Path, dst: Path, method: int) -> Path:
    """`src`, a zip archive, with every member's compression method set to `method` (99: AES, which zipfile
    cannot read), in the local headers and the central directory alike."""
    data = bytearray(src.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset: at + offset + 2] = struct.pack("<H", method)
            at = data.find(signature, at + 4)
    dst.write_bytes(bytes(data))
    return dst


def corrupt_deflate(src: Path, dst: Path) -> Path:
    """`src` (written by numpy.savez_compressed) with bytes in the middle of its first member's deflate stream
    replaced, sizes and headers intact."""
    data = bytearray(src.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[26:30])
    start = 30 + name_len + extra_len
    data[start + 40: start + 60] = b"\xff" * 20
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def npz_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("npz")
    model = d / "digits.npz"
    write_npz(model, reference_model("digits-conv-v1"), 1 / 16)
    bc = reference_model("breast-cancer-v1")
    held = bc.metadata["heldOut"]
    x = np.frombuffer(bytes.fromhex(held["inputs"]), dtype=np.int8).reshape(held["count"], *bc.spec.input_shape)
    cases = d / "cases.npz"
    np.savez(cases, x=x, y=np.array(held["labels"]))
    compressed = d / "compressed.npz"
    np.savez_compressed(compressed, x=x, y=np.array(held["labels"]))
    return {
        "model": model,
        "model-aes": with_compression(model, d / "model-aes.npz", 99),
        "cases-aes": with_compression(cases, d / "cases-aes.npz", 99),
        "cases-corrupt": corrupt_deflate(compressed, d / "cases-corrupt.npz"),
    }


UNSUPPORTED = "its arrays use a zip compression method other than stored, deflate, bzip2 or lzma"


def test_an_npz_with_an_unsupported_compression(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                npz_files: dict[str, Path]) -> None:
    spec = str(SHIPPED / "breast-cancer-v1.model.json")
    for argv, fragment in (
        (["model", "import", str(npz_files["model-aes"]), "--out", str(tmp_path)], UNSUPPORTED),
        (["model", "import", str(npz_files["model"]), "--data", str(npz_files["cases-aes"]), "--out",
          str(tmp_path)], UNSUPPORTED),
        (["model", "run", spec, "--cases", str(npz_files["cases-aes"])], UNSUPPORTED),
        (["model", "run", spec, "--cases", str(npz_files["cases-corrupt"])], "not a readable .npz"),
    ):
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, fragment)
        assert not list(tmp_path.iterdir())  # nothing written
