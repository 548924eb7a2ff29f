"""Model commands: `btt-chain model example|import|inspect|run|register`. A model on disk is NAME.model.json beside
NAME.weights (docs/model-import.md); `import` makes them from a statically quantised ONNX model or the documented
.npz form and reports how well the int8 model agrees with the source on given cases, `inspect` shows a model's layers,
costs and stated accuracy, `run` runs the chain's integer inference locally and decodes the classes; `example`
writes an ONNX model and cases to try them on (btt_chain/models/example.py).

Add a subcommand with `@model.command("NAME")`; the heavy imports (numpy, onnx) happen inside the commands.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import click

from btt_chain.client.rpc import DEFAULT_RPC
from btt_chain.primitives.errors import ConfigError
from cli.output import print_json

SPEC_SUFFIX = ".model.json"
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_path = click.Path(dir_okay=False, path_type=Path)


@click.group()
def model() -> None:
    """Trained models: import from ONNX or .npz, inspect, run locally."""


def _spec_file(path: Path) -> Path:
    if not path.name.endswith(SPEC_SUFFIX):
        raise ConfigError(f"{path}: a model is given by its spec file, NAME{SPEC_SUFFIX} (beside NAME.weights)")
    return path


def _labels(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    labels = tuple(v.strip() for v in text.split(","))
    if any(not v for v in labels):
        raise ConfigError(f"--labels must be class names separated by commas, got {text!r}")
    return labels


def _classes(spec: Any) -> int:
    from runtime.compute.model import classes

    return int(classes(spec))


def _label(spec: Any, index: int) -> str:
    return spec.labels[index] if index < len(spec.labels) else str(index)


def _summary(spec: Any, blob_size: int) -> list[tuple[str, Any]]:
    from runtime.compute.model import macs_per_item, model_hash

    return [("name", spec.name), ("model hash", "0x" + model_hash(spec).hex()),
            ("weights hash", "0x" + spec.weights_hash.hex()), ("weights size", f"{blob_size:,} bytes"),
            ("MACs per item", f"{macs_per_item(spec):,}"), ("input", f"{list(spec.input_shape)} int8, zero point "
                                                                      f"{spec.input_zp}"),
            ("classes", ", ".join(spec.labels) if spec.labels else str(_classes(spec)))]


def _echo_fields(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k.ljust(width)}  {v}")


@model.command("example")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory to write NAME.onnx and cases.npz to (made if missing).")
@click.option("--name", default="my-model", show_default=True, help="The ONNX file's name, without .onnx.")
@click.option("--force", is_flag=True, help="Replace the files if they are there already.")
@_json
def model_example(out_dir: Path, name: str, force: bool, as_json: bool) -> None:
    """Write an example model and cases to bring: NAME.onnx and cases.npz.

    NAME.onnx is a statically quantised ONNX model of two classes (the shipped breast-cancer model, exported) and
    cases.npz its 113 held-out cases (int8 inputs `x`, recorded classes `y`): the files `model import`, `model run
    --cases` and `job clinic --cases` take. Needs the model tooling (./scripts/bootstrap models)."""
    from btt_chain.models.example import write_example

    made = write_example(out_dir, name, overwrite=force)
    if as_json:
        print_json({"onnx": str(made.onnx), "cases": str(made.cases), "labels": list(made.labels),
                    "cases_count": made.count})
        return
    click.echo(f"wrote {made.onnx} (a quantised ONNX model; classes {', '.join(made.labels)}) and {made.cases} "
               f"({made.count} cases)")
    click.echo(f"next: btt-chain model import {made.onnx} --out models/ --data {made.cases}")


@model.command("import")
@click.argument("file", type=_path)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory to write NAME.model.json and NAME.weights to.")
@click.option("--name", default=None, help="Model name [default: the file's name without its extension].")
@click.option("--labels", default=None, help="Class names in logit order, separated by commas.")
@click.option("--data", type=_path, default=None,
              help="An .npz of cases: float (or int8) inputs `x` and optional class labels `y`, for the agreement "
                   "report.")
@_json
def model_import(file: Path, out_dir: Path, name: str | None, labels: str | None, data: Path | None,
                 as_json: bool) -> None:
    """Import an ONNX or .npz model as NAME.model.json + NAME.weights.

    FILE is a statically quantised ONNX model (QOperator form) or the .npz form of docs/model-import.md. Prints
    the model and weights hashes, the size, the multiply-accumulates per item and, with --data, how often the
    int8 model predicts the same class as the source model (and the accuracy of both against the labels)."""
    from btt_chain.models.files import write_model
    from btt_chain.models.imported import ModelImportError, agreement, load_cases

    suffix = file.suffix.lower()
    if suffix not in (".onnx", ".npz"):
        raise ConfigError(f"{file}: the file to import must end in .onnx or .npz")
    if not file.is_file():
        raise ConfigError(f"{file}: no such file")
    cases = load_cases(data) if data is not None else None
    extra: dict[str, Any] = {}
    notes: list[str] = []
    if suffix == ".onnx":
        from btt_chain.models.onnx_import import import_onnx, onnx_reference

        imported = import_onnx(file, name, _labels(labels))
        if cases is not None:
            try:
                extra["onnx's reference evaluator (quantised)"] = onnx_reference(file)
            except ModelImportError as exc:
                notes.append(f"no comparison with onnx's reference evaluator: {exc}")
    else:
        from btt_chain.models.npz_format import import_npz

        imported = import_npz(file, name, _labels(labels))
    if cases is not None and imported.float_reference is None and imported.input_qparams is not None:
        from btt_chain.models.imported import float_semantics

        imported = dataclasses.replace(imported, float_reference=float_semantics(imported.model,
                                                                                  imported.input_qparams),
                                       reference_name="the same model without rounding")
    report = None
    if cases is not None:
        try:
            report = agreement(imported, cases[0], cases[1], extra)
        except ModelImportError:
            raise
        except Exception as exc:  # onnx's evaluator failing on a model it loaded: report without it
            if not extra:
                raise
            reason = str(exc).splitlines()[0] if str(exc) else repr(exc)
            notes.append(f"no comparison with onnx's reference evaluator: {reason}")
            report = agreement(imported, cases[0], cases[1])
    spec_path, blob_path = write_model(out_dir, imported.spec, imported.blob)
    if as_json:
        from runtime.compute.model import macs_per_item, model_hash

        qp = imported.input_qparams
        print_json({"name": imported.spec.name, "modelHash": "0x" + model_hash(imported.spec).hex(),
                    "weightsHash": "0x" + imported.spec.weights_hash.hex(), "weightsSize": len(imported.blob),
                    "macsPerItem": macs_per_item(imported.spec), "spec": str(spec_path), "weights": str(blob_path),
                    "input": None if qp is None else qp.to_json(), "notes": [*imported.notes, *notes],
                    "agreement": None if report is None else report.to_json()})
        return
    click.echo(f"imported {file} -> {spec_path} + {blob_path.name}")
    rows = _summary(imported.spec, len(imported.blob))
    if imported.input_qparams is not None:
        rows.append(("input scale", f"{imported.input_qparams.scale:.9g}"))
    _echo_fields(rows)
    for note in (*imported.notes, *notes):
        click.echo(f"note: {note}")
    if report is not None:
        for line in report.lines():
            click.echo(line)


def _layer_rows(spec: Any) -> list[dict[str, Any]]:
    from runtime.compute.model import LAYER_KINDS, WEIGHT_KINDS, layer_macs, shapes, tensor_layout

    dims = shapes(spec)
    sizes: dict[int, int] = {}
    for slot in tensor_layout(spec):
        sizes[slot.layer] = sizes.get(slot.layer, 0) + slot.nbytes
    rows = []
    for i, layer in enumerate(spec.layers):
        detail = []
        if layer.kind in WEIGHT_KINDS:
            detail.append(f"out {layer.out}")
        if layer.kernel:
            detail.append(f"kernel {layer.kernel[0]}x{layer.kernel[1]} stride {layer.stride[0]}x{layer.stride[1]}")
        if any(layer.pads):
            detail.append("pads " + ",".join(str(p) for p in layer.pads))
        if layer.kind in WEIGHT_KINDS:
            detail.append(f"zero points w {layer.weight_zp} out {layer.output_zp}, "
                          f"{'per-channel' if layer.per_channel else 'per-tensor'}")
        rows.append({"index": i, "kind": LAYER_KINDS[layer.kind], "in": list(dims[i]), "out": list(dims[i + 1]),
                     "macs": layer_macs(layer, dims[i], dims[i + 1]), "bytes": sizes.get(i, 0),
                     "detail": "; ".join(detail)})
    return rows


@model.command("inspect")
@click.argument("file", type=_path)
@_json
def model_inspect(file: Path, as_json: bool) -> None:
    """Show a model's layers, hashes, costs and stated accuracy.

    Per layer: shapes, multiply-accumulates per item and parameter bytes; then the metadata's sections and the
    held-out accuracy it states."""
    from btt_chain.models.files import read_model
    from runtime.compute.model import macs_per_item, model_hash

    loaded, blob = read_model(_spec_file(file))
    spec = loaded.spec
    rows = _layer_rows(spec)
    meta = loaded.metadata
    accuracy = meta.get("accuracy") if isinstance(meta.get("accuracy"), dict) else None
    if as_json:
        print_json({"name": spec.name, "modelHash": "0x" + model_hash(spec).hex(),
                    "weightsHash": "0x" + spec.weights_hash.hex(), "weightsSize": len(blob),
                    "macsPerItem": macs_per_item(spec), "inputShape": list(spec.input_shape),
                    "inputZeroPoint": spec.input_zp, "labels": list(spec.labels), "layers": rows,
                    "metadataKeys": sorted(meta), "accuracy": accuracy})
        return
    _echo_fields(_summary(spec, len(blob)))
    click.echo("layers:")
    for r in rows:
        shape = f"{'x'.join(map(str, r['in']))} -> {'x'.join(map(str, r['out']))}"
        click.echo(f"  {r['index']:>2} {r['kind']:<8} {shape:<20} {r['macs']:>10,} MACs {r['bytes']:>9,} B"
                   + (f"  {r['detail']}" if r["detail"] else ""))
    tensors = sum(r["bytes"] for r in rows)
    click.echo(f"tensors {tensors:,} bytes, metadata {len(blob) - tensors - 4:,} bytes"
               + (f" ({', '.join(sorted(meta))})" if meta else ""))
    if accuracy is not None:
        try:
            click.echo(f"held-out accuracy: float {float(accuracy['float']):.2%}, int8 {float(accuracy['int8']):.2%} "
                       f"on {int(accuracy['heldOutCases'])} cases (as the metadata states)")
        except (KeyError, TypeError, ValueError):
            click.echo("held-out accuracy: the metadata's accuracy section is not in the usual form")


def _hex_item(text: str, width: int) -> bytes:
    raw = text[2:] if text.lower().startswith("0x") else text
    try:
        item = bytes.fromhex(raw)
    except ValueError:
        raise ConfigError(f"--input must be hex digits, got {text[:40]!r}") from None
    if len(item) != width:
        raise ConfigError(f"--input must be one item of {width} bytes ({2 * width} hex digits), got {len(item)} bytes")
    return item


def _case_items(path: Path, loaded: Any) -> tuple[list[bytes], Any]:
    """The int8 items of an .npz of cases (float cases quantised with the metadata's input scale) and labels."""
    import numpy as np

    from btt_chain.models.imported import load_cases
    from btt_chain.models.quantize import QParams

    x, y = load_cases(path)
    spec = loaded.spec
    width = math.prod(spec.input_shape)
    if x.ndim < 1 or not len(x) or x[0].size != width:
        raise ConfigError(f"{path}: each case in 'x' must be {list(spec.input_shape)} ({width} values), got shape "
                          f"{list(x.shape)}")
    x = x.reshape(len(x), width)
    if x.dtype.kind == "f":
        info = loaded.metadata.get("input")
        scale = info.get("scale") if isinstance(info, dict) else None
        if not isinstance(scale, (int, float)) or not scale > 0:
            raise ConfigError(f"{path}: float cases need the input scale, which this model's metadata does not state; "
                              "give int8 cases")
        q = QParams(float(scale), spec.input_zp).quantize(x)
    else:
        if x.min() < -128 or x.max() > 127:
            raise ConfigError(f"{path}: integer cases in 'x' must be int8 values (-128 to 127)")
        q = x.astype(np.int8)
    if y is not None and len(y) and (y.min() < 0 or y.max() >= _classes(spec)):
        raise ConfigError(f"{path}: labels in 'y' must be class indices 0 to {_classes(spec) - 1}")
    return [row.tobytes() for row in q], y


@model.command("run")
@click.argument("file", type=_path)
@click.option("--input", "inputs", multiple=True, help="One input item as hex (repeatable).")
@click.option("--cases", type=_path, default=None,
              help="An .npz of cases: inputs `x` (int8, or float quantised with the model's input scale) and "
                   "optional labels `y`.")
@_json
def model_run(file: Path, inputs: tuple[str, ...], cases: Path | None, as_json: bool) -> None:
    """Run a model locally on input items and decode their classes.

    The chain's integer inference, exactly as providers and verifiers run it; with labelled cases it also prints
    the accuracy."""
    from btt_chain.models.files import read_model
    from runtime.compute.inference import decode_output, infer
    from runtime.compute.model import input_bytes

    if bool(inputs) == (cases is not None):
        raise ConfigError("give the items with --input HEX (repeatable) or --cases FILE.npz, not both or neither")
    loaded, _ = read_model(_spec_file(file))
    spec = loaded.spec
    labels = None
    if cases is not None:
        items, labels = _case_items(cases, loaded)
    else:
        items = [_hex_item(text, input_bytes(spec)) for text in inputs]
    outputs = infer(loaded, items)
    rows = []
    for i, out in enumerate(outputs):
        index, logits = decode_output(out)
        row: dict[str, Any] = {"item": i, "class": index, "label": _label(spec, index),
                               "logits": [int(v) for v in memoryview(logits).cast("b")], "output": "0x" + out.hex()}
        if labels is not None:
            row["expected"] = int(labels[i])
        rows.append(row)
    correct = sum(1 for r in rows if r.get("expected") == r["class"]) if labels is not None else None
    if as_json:
        print_json({"model": spec.name, "results": rows,
                    "accuracy": None if correct is None else {"correct": correct, "cases": len(rows)}})
        return
    for r in rows:
        mark = "" if labels is None else ("  ok" if r["expected"] == r["class"] else
                                          f"  expected {_label(spec, r['expected'])}")
        click.echo(f"{r['item']}: {r['label']} (class {r['class']}, logits {r['logits']}){mark}")
    if correct is not None:
        click.echo(f"accuracy: {correct}/{len(rows)} ({correct / len(rows):.2%})")


@model.command("register")
@click.argument("file", type=_path)
@click.option("--key", "--from", "key", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
@click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
@_json
def model_register(file: Path, key: str, rpc: str, as_json: bool) -> None:
    """Bring a trained model to the chain: register NAME.model.json with KEY's deposit (the chain's
    compute.model_deposit_base plus compute.model_deposit_per_kib per KiB of weights), then hand NAME.weights to
    the node chunk by chunk (it takes the weights a registered model names, checked against their hash). Every
    node then fetches the weights by hash from its peers; jobs may name the model at once."""
    from btt_chain.client.chain import ChainInfo
    from btt_chain.client.rpc import RpcClient
    from btt_chain.miner.weights import upload_weights
    from btt_chain.models.files import read_model
    from cli.accounts import resolve_signer
    from cli.submit import submit_call
    from runtime.compute.model import model_hash

    built, blob = read_model(_spec_file(file))
    spec = built.spec
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    h = "0x" + model_hash(spec).hex()
    sub = submit_call(client, info, signer, "compute.register_model", (spec,), wait=True)
    if sub.status is not None and not sub.status.get("success", True):
        raise ConfigError(f"registering {spec.name} failed in block #{sub.status.get('blockNumber')}: "
                          f"{sub.status.get('error')}")
    upload_weights(client, spec.weights_hash, blob)  # registered: the node takes the weights the chain names
    row = client.call("btt_model", h)
    if as_json:
        print_json({"modelHash": h, "weightsHash": "0x" + spec.weights_hash.hex(), "hash": sub.hash,
                    "deposit": row["deposit"], "owner": row["owner"], **(sub.status or {})})
        return
    block = (sub.status or {}).get("blockNumber")
    click.echo(f"registered {spec.name}: model {h} in block #{block}, "
               f"{len(blob):,} bytes of weights (0x{spec.weights_hash.hex()}), deposit "
               f"{info.format_amount(int(row['deposit']))} reserved by {row['owner']}")
