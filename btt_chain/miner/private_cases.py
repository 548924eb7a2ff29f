"""Where a private job's cases and decoys come from (issue 51).

- A clinic's own cases: an .npz file (`btt_chain.models.case_files`), with labels if it has them.
- Generated cases (`generated_cases`): fresh labelled cases the model's decoy generator draws, standing in for a
  clinic's own in the demo economy and in tests. They are not the model's published held-out cases (which every
  provider can look up and compute alone) and are drawn away from them.
- Decoys (`decoys_for`): from the model's shipped generator (the reference models), drawn from a fresh secret seed
  away from the job's cases and every published case, in the cases' class mix where they carry labels; for a model
  no generator ships for, from one fitted on the clinic's own labelled cases; or the clinic's own decoy file
  (`--decoy-cases`). A decoy file's rows must be fresh and
  never published: the chain checks a provider only on them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from btt_chain.models.case_files import read_case_file
from btt_chain.models.decoy_sources import reference_generator
from btt_chain.models.decoys import DecoyError, DecoyGenerator, draw_decoys, fit_generator
from runtime.compute.model import ModelSpec

Labelled = tuple[list[bytes], list[int | None]]


def generated_cases(model_name: str, count: int, seed: bytes | None = None) -> Labelled:
    """`count` fresh labelled cases of a reference model, drawn from `seed` (default: fresh randomness)."""
    gen = reference_generator(model_name)
    drawn = draw_decoys(gen, seed or secrets.token_bytes(32), count)
    return list(drawn.items()), [int(v) for v in drawn.labels]


def own_generator(model_name: str, cases: Sequence[bytes], labels: Sequence[int | None]) -> DecoyGenerator:
    """For a model no generator ships for: one fitted on the clinic's own labelled cases (each class at least
    `decoys.MIN_CLASS_ROWS` of them), whose decoys keep away from every one of those cases."""
    if not cases or any(v is None for v in labels) or len(labels) != len(cases):
        raise DecoyError(f"no decoy generator ships for model {model_name}, and the cases carry no labels to fit one "
                         "on: give the clinic's own fresh decoy cases with --decoy-cases FILE.npz")
    rows = np.frombuffer(b"".join(cases), np.int8).reshape(len(cases), -1)
    try:
        return fit_generator(rows, np.array([int(v) for v in labels if v is not None]), rows)
    except DecoyError as exc:
        raise DecoyError(f"no decoy generator ships for model {model_name}, and none fits on these cases ({exc}): "
                         "give more labelled cases, or the clinic's own fresh decoys with --decoy-cases FILE.npz"
                         ) from None


def decoys_for(model_name: str, cases: Sequence[bytes], count: int, labels: Sequence[int | None] = (),
               decoy_file: Path | None = None, spec: ModelSpec | None = None,
               fit_on: Labelled | None = None, start: int = 0) -> Labelled:
    """`count` decoys for a job of `cases`: the rows of `decoy_file` from row `start` on (it must hold that many,
    for `spec`; a loop of jobs moves `start` on, since a decoy revealed once is public and checks nothing again),
    else drawn from the model's shipped generator in the cases' class mix, else from one fitted on `fit_on` (the
    clinic's whole labelled case file; default: the job's own cases)."""
    if decoy_file is not None:
        if spec is None:
            raise DecoyError("a decoy file is read against its model's spec")
        found = read_case_file(decoy_file, spec)
        if len(found) < start + count:
            raise DecoyError(f"{decoy_file}: {len(found)} decoy rows, {start} used by earlier jobs (revealed: public), "
                             f"the job needs {count} more: give a file of fresh decoys")
        rows = list(found.inputs[start:start + count])
        if set(rows) & set(cases):
            raise DecoyError(f"{decoy_file}: a decoy is one of the job's own cases")
        return rows, list(found.labels[start:start + count]) if found.labels else [None] * count
    try:
        gen = reference_generator(model_name)
    except DecoyError:
        gen = own_generator(model_name, *(fit_on or (list(cases), list(labels))))
    known = [int(v) for v in labels if v is not None]
    shares = {label: float(n) for label, n in Counter(known).items() if label in gen.labels} or None
    drawn = draw_decoys(gen, secrets.token_bytes(32), count, shares, avoid=list(cases))
    return list(drawn.items()), [int(v) for v in drawn.labels]
