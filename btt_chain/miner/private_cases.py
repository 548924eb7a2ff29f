"""Where a private job's cases and decoys come from (issue 51).

- A clinic's own cases: an .npz file (`btt_chain.models.case_files`), with labels if it has them.
- Generated cases (`generated_cases`): fresh labelled cases the model's decoy generator draws, standing in for a
  clinic's own in the demo economy and in tests. They are not the model's published held-out cases (which every
  provider can look up and compute alone) and are drawn away from them.
- Decoys (`decoys_for`): from the model's shipped generator (the reference models), drawn from a fresh secret seed
  away from the job's cases and every published case, in the cases' class mix where they carry labels; or the
  clinic's own decoy file (`--decoy-cases`) for a model no generator ships for. A decoy file's rows must be fresh and
  never published: the chain checks a provider only on them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from btt_chain.models.case_files import read_case_file
from btt_chain.models.decoy_sources import reference_generator
from btt_chain.models.decoys import DecoyError, draw_decoys
from runtime.compute.model import ModelSpec

Labelled = tuple[list[bytes], list[int | None]]


def generated_cases(model_name: str, count: int, seed: bytes | None = None) -> Labelled:
    """`count` fresh labelled cases of a reference model, drawn from `seed` (default: fresh randomness)."""
    gen = reference_generator(model_name)
    drawn = draw_decoys(gen, seed or secrets.token_bytes(32), count)
    return list(drawn.items()), [int(v) for v in drawn.labels]


def decoys_for(model_name: str, cases: Sequence[bytes], count: int, labels: Sequence[int | None] = (),
               decoy_file: Path | None = None, spec: ModelSpec | None = None) -> Labelled:
    """`count` decoys for a job of `cases`: the first rows of `decoy_file` (it must hold that many, for `spec`), else
    drawn from the model's shipped generator in the cases' class mix (DecoyError if none ships: give a file)."""
    if decoy_file is not None:
        if spec is None:
            raise DecoyError("a decoy file is read against its model's spec")
        found = read_case_file(decoy_file, spec)
        if len(found) < count:
            raise DecoyError(f"{decoy_file}: {len(found)} decoy rows, the job needs {count}")
        rows = list(found.inputs[:count])
        if set(rows) & set(cases):
            raise DecoyError(f"{decoy_file}: a decoy is one of the job's own cases")
        return rows, list(found.labels[:count]) if found.labels else [None] * count
    try:
        gen = reference_generator(model_name)
    except DecoyError:
        raise DecoyError(f"no decoy generator ships for model {model_name}: give the clinic's own fresh decoy cases "
                         "with --decoy-cases FILE.npz") from None
    known = [int(v) for v in labels if v is not None]
    shares = {label: float(n) for label, n in Counter(known).items() if label in gen.labels} or None
    drawn = draw_decoys(gen, secrets.token_bytes(32), count, shares, avoid=list(cases))
    return list(drawn.items()), [int(v) for v in drawn.labels]
