"""A clinic's own cases on disk (issue 51): `FILE.npz` holding

    inputs   int8, (n, width) or (n, *input_shape): one row per case, the model's quantised input
    labels   optional integers, (n,): each case's true class, 0 .. classes-1 (read against the diagnoses)

and nothing else; `x` and `y` are read as `inputs` and `labels` (the names `btt-chain model run --cases` and
`model import --data` use), the int8 form only. `read_case_file` checks the file against the model the job will run
and refuses it with one line naming the problem: no file, not an .npz, an unknown or repeated array, no `inputs`,
Python objects (a pickle: read with allow_pickle=False and refused from the array's header, before any data), a dtype
other than int8, rows of another width, no rows or more than a job takes, labels of another count or outside the
model's classes. The array headers are checked before their data is read, so a header claiming a huge array costs
nothing.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.imported import NPZ_READ_ERRORS, npz_read_failure
from btt_chain.primitives.errors import ConfigError
from runtime.compute.model import ModelSpec, classes, input_bytes
from runtime.compute.types import MAX_JOB_ITEMS

I8 = npt.NDArray[np.int8]
INPUTS = "inputs"
LABELS = "labels"
_ARRAYS = (INPUTS, LABELS)
ALIASES = {"x": INPUTS, "y": LABELS}
"""The names of the model tools' case files, read as these."""


class CaseFileError(ConfigError):
    """A clinic's case file is missing, unreadable, or does not fit the model."""


@dataclass(frozen=True)
class CaseFile:
    """A clinic's cases: one input item per case and, if the file has them, the true classes."""

    inputs: tuple[bytes, ...]
    labels: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.inputs)


def _header(f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """(shape, dtype) from an .npy header, reading no data."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f".npy format version {version[0]}.{version[1]} (write the file with numpy.savez)")
    return tuple(int(d) for d in shape), dtype


def _members(path: Path, z: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in z.infolist():
        key = info.filename.removesuffix(".npy")
        key = ALIASES.get(key, key) if key != info.filename else key
        if key == info.filename or key not in _ARRAYS:
            raise CaseFileError(f"{path}: unknown array '{key}' (a case file holds '{INPUTS}' and optionally "
                                f"'{LABELS}')")
        if key in members:
            raise CaseFileError(f"{path}: array '{key}' appears twice (or as '{key}' and its alias)")
        members[key] = info
    if INPUTS not in members:
        raise CaseFileError(f"{path}: no array '{INPUTS}' (it has: {', '.join(members) or 'none'})")
    return members


def _check_inputs(path: Path, shape: tuple[int, ...], dtype: np.dtype[Any], spec: ModelSpec, max_rows: int) -> None:
    width = input_bytes(spec)
    if dtype != np.int8:
        raise CaseFileError(f"{path}: array '{INPUTS}' must be int8 (the model's quantised input), got {dtype}")
    rows_of = ((width,), tuple(spec.input_shape))
    if len(shape) < 2 or tuple(shape[1:]) not in rows_of:
        want = " or ".join(str(("n", *r)).replace("'", "") for r in dict.fromkeys(rows_of))
        raise CaseFileError(f"{path}: array '{INPUTS}' must be rows of {width} values, the input of {spec.name}: "
                            f"shape {want}, got {shape}")
    if shape[0] == 0:
        raise CaseFileError(f"{path}: array '{INPUTS}' holds no cases")
    if shape[0] > max_rows:
        raise CaseFileError(f"{path}: array '{INPUTS}' holds {shape[0]} cases; a job takes at most {max_rows}")


def _check_labels(path: Path, shape: tuple[int, ...], dtype: np.dtype[Any], rows: int) -> None:
    if dtype.kind not in "iu" or shape != (rows,):
        raise CaseFileError(f"{path}: array '{LABELS}' must be one integer class per case ({rows}), got {dtype} "
                            f"of shape {shape}")


def read_case_file(path: Path, spec: ModelSpec, max_rows: int = MAX_JOB_ITEMS) -> CaseFile:
    """The cases in `path` for model `spec`, at most `max_rows` of them (the chain's `compute.max_job_items`);
    CaseFileError naming the one problem (see the module docstring)."""
    if not path.is_file():
        raise CaseFileError(f"{path}: no such file")
    try:
        if not zipfile.is_zipfile(path):
            raise CaseFileError(f"{path}: not an .npz (not a zip archive of arrays); write it with "
                                f"numpy.savez(FILE, inputs=rows, labels=classes)")
        with zipfile.ZipFile(path) as z:
            members = _members(path, z)
            headers = {}
            for key, info in members.items():
                with z.open(info) as f:
                    shape, dtype = _header(f)
                if dtype.hasobject:
                    raise CaseFileError(f"{path}: array '{key}' holds Python objects (a pickle), which are refused")
                headers[key] = (shape, dtype)
            _check_inputs(path, *headers[INPUTS], spec, max_rows)
            rows = headers[INPUTS][0][0]
            if LABELS in headers:
                _check_labels(path, *headers[LABELS], rows)
            arrays = {}
            for key, info in members.items():
                with z.open(info) as f:
                    arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
    except NPZ_READ_ERRORS as exc:
        raise CaseFileError(npz_read_failure(path, exc)) from None
    inputs = np.ascontiguousarray(arrays[INPUTS]).reshape(rows, input_bytes(spec))
    labels = None
    if LABELS in arrays:
        values = arrays[LABELS].astype(np.int64)
        top = classes(spec)
        outside = values[(values < 0) | (values >= top)]
        if len(outside):
            raise CaseFileError(f"{path}: array '{LABELS}' holds classes 0 to {top - 1} of {spec.name}, got "
                                f"{int(outside[0])}")
        labels = tuple(int(v) for v in values)
    return CaseFile(tuple(row.tobytes() for row in inputs), labels)


def write_case_file(path: Path, inputs: npt.ArrayLike, labels: npt.ArrayLike | None = None) -> None:
    """Write cases in the form `read_case_file` reads: int8 `inputs` rows and optional integer `labels`."""
    rows = np.asarray(inputs)
    if rows.dtype != np.int8:
        raise CaseFileError(f"cases are int8 rows, got {rows.dtype}")
    arrays: dict[str, Any] = {INPUTS: rows}  # Any: numpy's stubs read ** as allow_pickle
    if labels is not None:
        arrays[LABELS] = np.asarray(labels, dtype=np.int64)
    try:
        with path.open("wb") as f:  # a file object: numpy.savez given a path would add ".npz" to it
            np.savez(f, **arrays)
    except OSError as exc:
        raise CaseFileError(f"cannot write {path}: {exc.strerror or exc}") from None
