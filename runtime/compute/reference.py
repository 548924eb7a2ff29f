"""Reference models that ship with the package: trained, quantised specs and weights in `reference_models/`
(`NAME.model.json` and `NAME.weights`, written by `scripts/train_reference_models.py`). Every node has them, so
a chain whose genesis registers them needs no fetch."""

from __future__ import annotations

import functools
import json
from importlib import resources

from ..compute.model import Model, ModelSpec, UnknownModel, parse_weights
from ..compute.model_json import spec_from_json

PACKAGE = "runtime.compute.reference_models"


@functools.cache
def reference_names() -> tuple[str, ...]:
    """The names of the shipped models, sorted."""
    files = resources.files(PACKAGE)
    return tuple(sorted(p.name[: -len(".model.json")] for p in files.iterdir() if p.name.endswith(".model.json")))


def _require(name: str) -> None:
    if name not in reference_names():
        raise UnknownModel(f"unknown reference model {name!r}; known: {', '.join(reference_names())}")


@functools.cache
def reference_spec(name: str) -> ModelSpec:
    """The spec of the shipped model `name`; UnknownModel (a KeyError) listing the known names."""
    _require(name)
    text = resources.files(PACKAGE).joinpath(f"{name}.model.json").read_text(encoding="utf-8")
    return spec_from_json(json.loads(text))


@functools.cache
def reference_weights(name: str) -> bytes:
    """The weights blob of the shipped model `name`."""
    _require(name)
    return resources.files(PACKAGE).joinpath(f"{name}.weights").read_bytes()


@functools.cache
def reference_model(name: str) -> Model:
    """The parsed shipped model `name`."""
    return parse_weights(reference_spec(name), reference_weights(name))


def reference_blobs() -> dict[bytes, bytes]:
    """weights hash -> blob of every shipped model (what a node's content store starts with)."""
    return {reference_spec(n).weights_hash: reference_weights(n) for n in reference_names()}
