"""The clinic's private order off chain (issue 51): mixing decoys among cases, the commitment, sealing, the decoy
openings and the order file; where decoys come from, and each way that is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from btt_chain.miner.private_cases import decoys_for, generated_cases
from btt_chain.miner.private_order import OrderError, PrivateOrder, mix
from btt_chain.models.case_files import write_case_file
from btt_chain.models.decoys import DecoyError
from btt_chain.primitives.hashing import merkle_root
from btt_chain.primitives.merkle import verify_merkle_proof
from btt_chain.primitives.sealed_cases import (
    CASE,
    BoxKeypair,
    SealBinding,
    SealedItemUnreadable,
    commitment_problem,
    open_item,
    reseal_problem,
)
from runtime.compute.reference import reference_spec

GENESIS = b"\x07" * 32
MODEL = b"\x01" * 32
PROVIDER = BoxKeypair.from_seed(b"\x02" * 32)
CLINIC = BoxKeypair.from_seed(b"\x03" * 32)


def order(cases: int = 6, decoys: int = 3) -> PrivateOrder:
    rows, labels = generated_cases("breast-cancer-v1", cases, b"\x05" * 32)
    fake, fake_labels = decoys_for("breast-cancer-v1", rows, decoys, labels)
    o = mix(MODEL, rows, fake, labels, fake_labels)
    o.job_id = 9
    return o


def test_decoys_are_mixed_in_at_random_and_the_commitment_opens_with_them() -> None:
    o = order()
    assert len(o.items) == 9 and len(o.positions) == 3 and list(o.positions) == sorted(set(o.positions))
    assert len(o.real) == 6
    assert commitment_problem(o.commitment(), o.salt, 9, o.positions, [o.items[p] for p in o.positions]) is None
    # another salt or other positions do not open it
    assert commitment_problem(o.commitment(), b"\x00" * 32, 9, o.positions, [o.items[p] for p in o.positions])
    others = tuple(p for p in range(9) if p not in o.positions)[:3]
    assert commitment_problem(o.commitment(), o.salt, 9, others, [o.items[p] for p in others])
    with pytest.raises(OrderError):
        mix(MODEL, [], [b"x"])


def test_sealed_items_open_only_for_the_provider_and_the_decoy_openings_reseal() -> None:
    o = order()
    sealed = o.sealed(GENESIS, PROVIDER.public.raw)
    root = merkle_root(sealed)
    assert o.sealed_root(GENESIS, PROVIDER.public.raw) == root
    assert [open_item(s, PROVIDER, SealBinding(GENESIS, 9, i, CASE)) for i, s in enumerate(sealed)] == o.items
    with pytest.raises(SealedItemUnreadable):
        open_item(sealed[0], CLINIC, SealBinding(GENESIS, 9, 0, CASE))
    for d in o.decoy_openings(GENESIS, PROVIDER.public.raw):
        assert reseal_problem(sealed[d.index], d.case, d.secret, PROVIDER.public,
                              SealBinding(GENESIS, 9, d.index, CASE)) is None
        assert verify_merkle_proof(root, sealed[d.index], d.index, len(sealed), d.proof)
    unposted = order()
    unposted.job_id = None
    with pytest.raises(OrderError):
        unposted.sealed(GENESIS, PROVIDER.public.raw)


def test_the_order_file_round_trips_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    o = order()
    o.provider_key = PROVIDER.public.raw
    path = tmp_path / "o" / "job-9.json"
    o.save(path)
    back = PrivateOrder.load(path)
    assert back.to_json() == o.to_json()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(OrderError):
        PrivateOrder.load(tmp_path / "bad.json")
    (tmp_path / "v2.json").write_text(json.dumps({**o.to_json(), "version": 2}))
    with pytest.raises(OrderError):
        PrivateOrder.load(tmp_path / "v2.json")


def test_results_that_do_not_open_read_as_none() -> None:
    o = order()
    assert o.read_results(GENESIS, CLINIC, [b"\x00" * 60, b"short"]) == [None, None]


def test_generated_cases_are_fresh_and_repeatable_by_seed() -> None:
    a, la = generated_cases("breast-cancer-v1", 5, b"\x09" * 32)
    b, lb = generated_cases("breast-cancer-v1", 5, b"\x09" * 32)
    c, _ = generated_cases("breast-cancer-v1", 5, b"\x0a" * 32)
    assert (a, la) == (b, lb) and a != c and all(v in (0, 1) for v in la)


def test_decoys_from_a_file_or_fitted_on_the_clinics_own_labelled_cases(tmp_path: Path) -> None:
    spec = reference_spec("breast-cancer-v1")
    rows, labels = generated_cases("breast-cancer-v1", 24, b"\x0b" * 32)
    decoy_rows, _ = generated_cases("breast-cancer-v1", 4, b"\x0c" * 32)
    f = tmp_path / "decoys.npz"
    write_case_file(f, np.frombuffer(b"".join(decoy_rows), np.int8).reshape(4, -1))
    got, got_labels = decoys_for("breast-cancer-v1", rows, 3, labels, f, spec)
    assert got == decoy_rows[:3] and got_labels == [None] * 3
    with pytest.raises(DecoyError, match="needs 5"):
        decoys_for("breast-cancer-v1", rows, 5, labels, f, spec)
    with pytest.raises(DecoyError, match="one of the job's own cases"):
        decoys_for("breast-cancer-v1", decoy_rows, 2, [None] * 4, f, spec)
    # a model no generator ships for: fitted on the clinic's own labelled cases, kept away from them
    assert min(labels.count(0), labels.count(1)) >= 8  # the seeded draw: 10 and 14, enough to fit each class
    fitted, _ = decoys_for("an-owners-model", rows, 4, labels)
    assert len(fitted) == 4 and not set(fitted) & set(rows)
    with pytest.raises(DecoyError, match="no labels"):
        decoys_for("an-owners-model", rows, 4, [None] * len(rows))
