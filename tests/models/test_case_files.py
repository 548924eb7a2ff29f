"""A clinic's case file (`inputs` int8 rows, optional `labels`): a good file reads back as the model's input items
and classes, in 2-D or the model's own shape; every malformed file is refused with the one line naming its problem,
a pickle is refused from its header without ever being loaded, and a header claiming a huge array costs nothing."""

from __future__ import annotations

import io
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from btt_chain.models.case_files import CaseFile, CaseFileError, read_case_file, write_case_file
from runtime.compute.model import ModelSpec
from runtime.compute.reference import reference_model

BC: ModelSpec = reference_model("breast-cancer-v1").spec
DIGITS: ModelSpec = reference_model("digits-conv-v1").spec


def _rows(n: int, width: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, width), dtype=np.int8)


def _npy(array: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version, allow_pickle=True)
    return buf.getvalue()


def _zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a repeated name, which one test means to write
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members:
                z.writestr(name, data)
    return path


def test_a_good_file_reads_back_as_items_and_classes(tmp_path: Path) -> None:
    rows = _rows(5)
    path = tmp_path / "cases"  # no .npz suffix: written and read under exactly this name
    write_case_file(path, rows, [0, 1, 1, 0, 1])
    cases = read_case_file(path, BC)
    assert cases == CaseFile(tuple(r.tobytes() for r in rows), (0, 1, 1, 0, 1)) and len(cases) == 5
    write_case_file(tmp_path / "unlabelled.npz", rows)
    assert read_case_file(tmp_path / "unlabelled.npz", BC).labels is None


def test_the_model_tools_names_x_and_y_read_as_inputs_and_labels(tmp_path: Path) -> None:
    rows = _rows(4)
    np.savez(tmp_path / "tools.npz", x=rows, y=np.array([1, 0, 0, 1]))
    assert read_case_file(tmp_path / "tools.npz", BC) == CaseFile(tuple(r.tobytes() for r in rows), (1, 0, 0, 1))


def test_image_rows_may_keep_the_models_shape_and_fortran_order(tmp_path: Path) -> None:
    images = _rows(3, 64).reshape(3, 1, 8, 8)
    path = _zip(tmp_path / "d.npz", [("inputs.npy", _npy(np.asfortranarray(images))),
                                     ("labels.npy", _npy(np.array([3, 9, 0], dtype=np.uint8)))])
    cases = read_case_file(path, DIGITS)
    assert cases.inputs == tuple(img.tobytes() for img in images) and cases.labels == (3, 9, 0)


def test_the_largest_job_is_accepted_and_one_more_case_is_not(tmp_path: Path) -> None:
    write_case_file(tmp_path / "c.npz", _rows(4))
    assert len(read_case_file(tmp_path / "c.npz", BC, max_rows=4)) == 4
    with pytest.raises(CaseFileError, match="holds 4 cases; a job takes at most 3"):
        read_case_file(tmp_path / "c.npz", BC, max_rows=3)


def _refused(path: Path, message: str, spec: ModelSpec = BC) -> None:
    with pytest.raises(CaseFileError, match=message) as info:
        read_case_file(path, spec)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"labels": np.zeros(3, np.int64)}, r"no array 'inputs' \(it has: labels\)"),
    ({"input": _rows(3)}, "unknown array 'input'"),
    ({"inputs": _rows(3), "notes": np.array("x")}, "unknown array 'notes'"),
    ({"inputs": _rows(3).astype(np.float64)}, "'inputs' must be int8 .* got float64"),
    ({"inputs": _rows(3).astype(np.int16)}, "'inputs' must be int8 .* got int16"),
    ({"inputs": _rows(3).astype(np.uint8)}, "'inputs' must be int8 .* got uint8"),
    ({"inputs": _rows(3, 29)}, r"rows of 30 values, the input of breast-cancer-v1: shape \(n, 30\), got \(3, 29\)"),
    ({"inputs": _rows(1)[0]}, r"rows of 30 values.*got \(30,\)"),
    ({"inputs": np.zeros((0, 30), np.int8)}, "holds no cases"),
    ({"inputs": _rows(3), "labels": np.zeros(2, np.int64)}, r"one integer class per case \(3\), got int64 of shape"),
    ({"inputs": _rows(3), "labels": np.zeros(3, np.float64)}, "one integer class per case .* got float64"),
    ({"inputs": _rows(3), "labels": np.zeros((3, 1), np.int64)}, r"shape \(3, 1\)"),
    ({"inputs": _rows(3), "labels": np.array([0, 2, 1])}, "classes 0 to 1 of breast-cancer-v1, got 2"),
    ({"inputs": _rows(3), "labels": np.array([0, -1, 1])}, "got -1"),
    ({"inputs": _rows(3), "x": _rows(3)}, "array 'inputs' appears twice"),
    ({"x": _rows(3).astype(np.float32)}, "'inputs' must be int8 .* got float32"),
])
def test_malformed_files_are_refused_with_one_line_each(tmp_path: Path, arrays: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    _refused(path, message)


def test_image_rows_of_another_shape_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", inputs=_rows(2, 64).reshape(2, 8, 8))
    _refused(tmp_path / "d.npz", r"rows of 64 values.*shape \(n, 64\) or \(n, 1, 8, 8\), got \(2, 8, 8\)", DIGITS)


def test_missing_and_non_npz_files_are_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "absent.npz", "no such file")
    (tmp_path / "text.npz").write_text("inputs = [1, 2, 3]\n")
    _refused(tmp_path / "text.npz", "not an .npz")
    np.save(tmp_path / "plain.npy", _rows(2))
    _refused(tmp_path / "plain.npy", "not an .npz")
    write_case_file(tmp_path / "cut.npz", _rows(50))
    data = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.npz", "not an .npz|not a readable .npz")


def test_a_repeated_or_non_array_member_is_refused(tmp_path: Path) -> None:
    twice = _zip(tmp_path / "twice.npz", [("inputs.npy", _npy(_rows(2))), ("inputs.npy", _npy(_rows(2, seed=1)))])
    _refused(twice, "array 'inputs' appears twice")
    other = _zip(tmp_path / "other.npz", [("inputs.npy", _npy(_rows(2))), ("readme.txt", b"hello")])
    _refused(other, "unknown array 'readme.txt'")


class _Payload:
    """Unpickling this would write a marker file: proof that a reader loaded a pickle."""

    marker: Path | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "unpickled"))


def test_a_pickle_is_refused_without_being_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payload = _Payload()
    payload.marker = marker
    objects = np.empty(3, dtype=object)
    objects[:] = [payload, payload, payload]
    for arrays in ({"inputs": objects}, {"inputs": _rows(3), "labels": objects}):
        path = _zip(tmp_path / "pickle.npz", [(f"{k}.npy", _npy(v)) for k, v in arrays.items()])
        _refused(path, "holds Python objects \\(a pickle\\), which are refused")
        assert not marker.exists()


def test_a_header_claiming_a_huge_array_is_refused_before_any_data(tmp_path: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|i1", "fortran_order": False, "shape": (10**12, 30)})
    path = _zip(tmp_path / "huge.npz", [("inputs.npy", header.getvalue() + bytes(30))])
    start = time.monotonic()
    _refused(path, "holds 1000000000000 cases; a job takes at most 4096")
    assert time.monotonic() - start < 1.0


def test_a_header_claiming_more_rows_than_the_data_holds_is_refused(tmp_path: Path) -> None:
    short = _npy(_rows(4))[:-30]  # the header says 4 rows, the data holds 3
    _refused(_zip(tmp_path / "short.npz", [("inputs.npy", short)]), "not a readable .npz")


def test_an_npy_format_version_numpy_savez_never_writes_for_int8_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "v3.npz", [("inputs.npy", _npy(_rows(2), version=(3, 0)))])
    _refused(path, r"format version 3\.0")


def test_writing_refuses_non_int8_rows_and_reports_an_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="int8 rows, got float64"):
        write_case_file(tmp_path / "c.npz", np.zeros((2, 30)))
    assert not (tmp_path / "c.npz").exists()
    with pytest.raises(CaseFileError, match="cannot write"):
        write_case_file(tmp_path / "no-such-dir" / "c.npz", _rows(2))
