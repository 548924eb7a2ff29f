"""A model on disk: `NAME.model.json` (the spec as `runtime.compute.model_json` writes it) beside `NAME.weights`
(the blob). Reading checks the blob against the spec (size, weights hash, layout, value ranges, metadata)."""

from __future__ import annotations

import json
from pathlib import Path

from btt_chain.primitives.errors import ConfigError
from runtime.compute.model import Model, ModelSpec, parse_weights, validate_spec, weights_hash
from runtime.compute.model_json import spec_from_json, spec_to_json

SPEC_SUFFIX = ".model.json"
WEIGHTS_SUFFIX = ".weights"


class ModelFileError(ConfigError):
    """A model file is missing, unreadable, or does not describe a valid model."""


def model_paths(directory: Path, name: str) -> tuple[Path, Path]:
    """(spec path, weights path) of model `name` in `directory`."""
    return directory / f"{name}{SPEC_SUFFIX}", directory / f"{name}{WEIGHTS_SUFFIX}"


def weights_path_for(spec_path: Path) -> Path:
    """`DIR/NAME.weights` beside `DIR/NAME.model.json`."""
    if not spec_path.name.endswith(SPEC_SUFFIX):
        raise ModelFileError(f"{spec_path}: a model spec file's name ends in {SPEC_SUFFIX}")
    return spec_path.with_name(spec_path.name[: -len(SPEC_SUFFIX)] + WEIGHTS_SUFFIX)


def write_model(directory: Path, spec: ModelSpec, blob: bytes) -> tuple[Path, Path]:
    """Write `spec` (which must name `blob`) and `blob` as `directory/NAME.model.json` and `.weights`."""
    if spec.weights_hash != weights_hash(blob) or spec.weights_size != len(blob):
        raise ValueError("the spec does not name this weights blob (use runtime.compute.model.with_weights)")
    validate_spec(spec)
    spec_path, blob_path = model_paths(directory, spec.name)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec_to_json(spec), indent=1) + "\n", encoding="utf-8")
        blob_path.write_bytes(blob)
    except OSError as exc:
        raise ModelFileError(f"cannot write the model to {directory}: {exc.strerror or exc}") from None
    return spec_path, blob_path


def read_spec(spec_path: Path) -> ModelSpec:
    """The spec in `spec_path`; ModelFileError naming the file and the problem."""
    weights_path_for(spec_path)
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"{spec_path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{spec_path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ModelFileError(f"{spec_path}: not JSON ({exc})") from None
    except RecursionError:  # 6 KB of "[" nest deeper than the parser goes
        raise ModelFileError(f"{spec_path}: not valid JSON: nested too deeply") from None
    try:
        return spec_from_json(value)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(f"{spec_path}: {reason}") from None


def read_model(spec_path: Path) -> tuple[Model, bytes]:
    """The model of `DIR/NAME.model.json` and `DIR/NAME.weights`, and the blob; ModelFileError if either is
    missing or the blob is not the spec's."""
    spec = read_spec(spec_path)
    blob_path = weights_path_for(spec_path)
    try:
        blob = blob_path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{blob_path}: no such file (the weights of {spec_path.name})") from None
    except OSError as exc:
        raise ModelFileError(f"{blob_path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return parse_weights(spec, blob), blob
    except ValueError as exc:
        raise ModelFileError(f"{blob_path}: {exc}") from None
