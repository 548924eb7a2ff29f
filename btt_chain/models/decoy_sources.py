"""The decoy generators of the shipped reference models, and the data they are fitted on.

Each reference model was trained on a scikit-learn dataset split 80/20 (`btt_chain.models.train`); its held-out
fifth is published in the model's metadata and the training four fifths are public too (anyone can load the
dataset and repeat the seeded split). `decoy_data/NAME.npz` holds, in the model's own int8 input encoding:

    fit_inputs      int8 (n, width)   the training split: what the generator is fitted on
    fit_labels      int64 (n,)        their classes
    published       int8 (m, width)   the held-out split, as the model's metadata publishes it
    components      int64 (classes,)  clusters per class (label order), calibrated when the file was built
    smooth          bool scalar       kernel-smoothed features (continuous measurements)

so that a clinic draws decoys with numpy alone (the node's install has no scikit-learn). `build_source` makes
the arrays from the datasets (the `models` extra) and checks that its encoding of the held-out split is the
model's published cases byte for byte; `scripts/build_decoy_sources.py` writes the files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.decoys import DecoyConfig, DecoyError, DecoyGenerator, calibrate, fit_generator
from runtime.compute.model import input_bytes
from runtime.compute.reference import reference_model

I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]

BREAST_CANCER = "breast-cancer-v1"
DIGITS = "digits-conv-v1"
DATA_PACKAGE = "btt_chain.models.decoy_data"
SMOOTH = {BREAST_CANCER: True, DIGITS: False}
"""Breast-cancer features are continuous measurements; digit pixels are counts of 0..16."""


@dataclass(frozen=True, eq=False)
class DecoySource:
    """A reference model's decoy data (see the module docstring)."""

    name: str
    fit_inputs: I8
    fit_labels: I64
    published: I8
    components: dict[int, int]
    smooth: bool

    def config(self) -> DecoyConfig:
        return DecoyConfig(smooth=self.smooth, components=self.components)

    def generator(self) -> DecoyGenerator:
        """The fitted generator (its published rows: the training and the held-out split)."""
        return fit_generator(self.fit_inputs, self.fit_labels, self.published, self.config())

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        labels = sorted(self.components)
        return {"fit_inputs": self.fit_inputs, "fit_labels": self.fit_labels, "published": self.published,
                "components": np.array([self.components[k] for k in labels], dtype=np.int64),
                "smooth": np.array(self.smooth)}


def _dataset(name: str) -> tuple[npt.NDArray[np.float64], I64]:
    """The raw features and labels of the dataset `name` was trained on (needs scikit-learn)."""
    from sklearn.datasets import load_breast_cancer, load_digits

    if name == BREAST_CANCER:
        data = load_breast_cancer()
        return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.int64)
    if name == DIGITS:
        data = load_digits()
        return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.int64)
    raise DecoyError(f"no decoy source for model {name!r}; known: {BREAST_CANCER}, {DIGITS}")


def encode(name: str, raw: npt.NDArray[np.float64]) -> I8:
    """Raw cases of model `name`'s dataset as its int8 input rows, by the quantisation its metadata states."""
    meta = reference_model(name).metadata["input"]
    if name == BREAST_CANCER:
        from btt_chain.models.quantize import QParams

        standard = (raw - np.array(meta["featureMeans"])) / np.array(meta["featureStds"])
        return QParams(float(meta["scale"]), int(meta["zeroPoint"])).quantize(standard)
    return np.clip(np.round(raw) - 128, -128, 127).astype(np.int8)  # "q = raw - 128 for each of the 64 pixels"


def dataset_rows(name: str) -> tuple[I8, I64, I8]:
    """(training rows, their labels, held-out rows) of reference model `name`'s dataset in its int8 encoding, by
    the seeded split it was trained with (needs scikit-learn); DecoyError unless the held-out rows are the
    model's published cases byte for byte."""
    from btt_chain.models.train import HELD_OUT_FRACTION, SEED, stratified_split

    raw, labels = _dataset(name)
    train_idx, held_idx = stratified_split(labels, HELD_OUT_FRACTION, np.random.default_rng(SEED))
    rows = encode(name, raw)
    model = reference_model(name)
    if rows[held_idx].tobytes() != bytes.fromhex(model.metadata["heldOut"]["inputs"]):
        raise DecoyError(f"{name}: the dataset's held-out split does not encode to the model's published cases")
    width = input_bytes(model.spec)
    return rows[train_idx].reshape(-1, width), labels[train_idx], rows[held_idx].reshape(-1, width)


def build_source(name: str) -> DecoySource:
    """The decoy data of reference model `name` from its dataset (needs scikit-learn), calibrated."""
    fit_inputs, fit_labels, held = dataset_rows(name)
    config = DecoyConfig(smooth=SMOOTH[name])
    return DecoySource(name, fit_inputs, fit_labels, held, calibrate(fit_inputs, fit_labels, config), SMOOTH[name])


def write_source(source: DecoySource, directory: Path) -> Path:
    """Write `source` as `directory/NAME.npz` (compressed)."""
    path = directory / f"{source.name}.npz"
    arrays: dict[str, Any] = source.arrays()  # Any: numpy's stubs read ** as allow_pickle
    np.savez_compressed(path, **arrays)
    return path


def _field(arrays: dict[str, npt.NDArray[Any]], key: str, kind: str, ndim: int) -> npt.NDArray[Any]:
    """Array `key`: of numpy kind `kind` ("i8" meaning int8 exactly) and `ndim` dimensions."""
    a = arrays.get(key)
    fits = a is not None and a.ndim == ndim and (a.dtype == np.int8 if kind == "i8" else a.dtype.kind == kind)
    if a is None or not fits:
        raise DecoyError(f"decoy data: array {key!r} is missing or not {kind} of {ndim} dimensions")
    return a


def parse_source(name: str, arrays: dict[str, npt.NDArray[Any]]) -> DecoySource:
    """The source of `name` from its arrays; DecoyError naming the array at fault."""
    fit_inputs = _field(arrays, "fit_inputs", "i8", 2)
    fit_labels = _field(arrays, "fit_labels", "i", 1).astype(np.int64)
    published = _field(arrays, "published", "i8", 2)
    comps = _field(arrays, "components", "i", 1)
    smooth = _field(arrays, "smooth", "b", 0)
    for a in (fit_inputs, fit_labels, published):
        a.setflags(write=False)  # a cached source is shared by every caller
    labels = sorted(int(v) for v in np.unique(fit_labels))
    if len(comps) != len(labels) or len(fit_labels) != len(fit_inputs) or published.shape[1] != fit_inputs.shape[1]:
        raise DecoyError("decoy data: the arrays do not fit together")
    return DecoySource(name, fit_inputs, fit_labels, published, dict(zip(labels, (int(c) for c in comps),
                                                                         strict=True)), bool(smooth))


@functools.cache
def reference_source(name: str) -> DecoySource:
    """The shipped decoy data of reference model `name`; DecoyError if none ships."""
    try:
        with resources.files(DATA_PACKAGE).joinpath(f"{name}.npz").open("rb") as f, \
                np.load(f, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except FileNotFoundError:
        raise DecoyError(f"no decoy data ships for model {name!r}") from None
    return parse_source(name, arrays)


@functools.cache
def reference_generator(name: str) -> DecoyGenerator:
    """The decoy generator of reference model `name`, fitted on its shipped data."""
    return reference_source(name).generator()
