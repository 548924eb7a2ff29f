"""Decoys of the shipped models (numpy only, no scikit-learn): the same seed gives the same decoys and another seed
fresh ones, no decoy equals or comes within `min_distance` of a published case (training or held-out split), of a
case the caller asks to avoid or of another decoy, rows have the model's width, classes follow the requested mix,
and every bad argument is refused with a DecoyError that leaves the generator as it was. The shipped decoy data is
the model's own: its held-out rows are the cases the model's metadata publishes."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from btt_chain.models.decoy_sources import BREAST_CANCER, DIGITS, parse_source, reference_generator, reference_source
from btt_chain.models.decoys import (
    DecoyConfig,
    DecoyError,
    DecoyGenerator,
    calibrate,
    close_distance,
    draw_decoys,
    fit_generator,
    nearest_l1,
)
from runtime.compute.inference import run
from runtime.compute.model import input_bytes
from runtime.compute.reference import reference_model

NAMES = [BREAST_CANCER, DIGITS]


def _seed(i: int) -> bytes:
    return b"clinic secret / job %08d......" % i


def _published(name: str) -> np.ndarray:
    source = reference_source(name)
    return np.concatenate([source.fit_inputs, source.published])


def _state(gen: DecoyGenerator) -> tuple[bytes, int, list[float]]:
    return gen.published.tobytes(), gen.min_distance, [c.share for c in gen.classes]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_data_is_the_models_own_split(name: str) -> None:
    source = reference_source(name)
    model = reference_model(name)
    width = input_bytes(model.spec)
    assert source.published.tobytes() == bytes.fromhex(model.metadata["heldOut"]["inputs"])
    assert source.fit_inputs.shape[1] == source.published.shape[1] == width
    assert set(source.components) == set(range(len(model.spec.labels)))
    assert len(source.fit_inputs) + len(source.published) == model.metadata["dataset"]["cases"]
    with pytest.raises(ValueError, match="read-only"):  # one cached source serves every caller
        source.fit_inputs[0, 0] = 0
    with pytest.raises(ValueError, match="read-only"):
        reference_generator(name).published[0, 0] = 0


@pytest.mark.parametrize("name", NAMES)
def test_shipped_data_is_the_dataset_in_the_models_encoding(name: str) -> None:
    """The training split the generator is fitted on is the dataset's, by the model's seeded split and input
    quantisation (calibrating the clusters again takes seconds: `scripts/build_decoy_sources.py --check`)."""
    pytest.importorskip("sklearn")
    from btt_chain.models.decoy_sources import dataset_rows

    fit_inputs, fit_labels, held = dataset_rows(name)
    source = reference_source(name)
    assert np.array_equal(fit_inputs, source.fit_inputs) and np.array_equal(fit_labels, source.fit_labels)
    assert np.array_equal(held, source.published)


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_decoys_and_another_seed_fresh_ones(name: str) -> None:
    gen = reference_generator(name)
    a = draw_decoys(gen, _seed(1), 16)
    b = draw_decoys(gen, _seed(1), 16)
    assert a.inputs.tobytes() == b.inputs.tobytes() and a.labels.tolist() == b.labels.tolist()
    seen: set[bytes] = set()
    for i in range(40):
        items = draw_decoys(gen, _seed(100 + i), 16).items()
        assert all(len(item) == gen.width for item in items)
        assert not seen & set(items), f"seed {i} repeated a decoy of an earlier seed"
        seen |= set(items)
    assert len(seen) == 40 * 16


@pytest.mark.parametrize("name", NAMES)
def test_no_decoy_is_or_comes_near_a_published_case(name: str) -> None:
    gen = reference_generator(name)
    published = _published(name)
    decoys = draw_decoys(gen, _seed(2), 1000)
    assert not {row.tobytes() for row in published} & set(decoys.items())
    assert int(nearest_l1(decoys.inputs, published).min()) > gen.min_distance > 0
    assert int(nearest_l1(decoys.inputs, decoys.inputs, exclude_self=True).min()) > gen.min_distance
    # min_distance is a low quantile of how near published cases lie to each other: a real case is rarely closer
    own = nearest_l1(published, published, exclude_self=True)
    assert (own <= gen.min_distance).mean() <= 0.02


def test_decoys_keep_away_from_the_cases_the_caller_names() -> None:
    gen = reference_generator(BREAST_CANCER)
    first = draw_decoys(gen, _seed(3), 8)
    # the same seed, told to avoid what it drew before, must draw other rows
    again = draw_decoys(gen, _seed(3), 8, avoid=first.items())
    assert not set(first.items()) & set(again.items())
    assert int(nearest_l1(again.inputs, first.inputs).min()) > gen.min_distance


@pytest.mark.parametrize("name", NAMES)
def test_classes_follow_the_requested_mix(name: str) -> None:
    gen = reference_generator(name)
    model = reference_model(name)
    only = draw_decoys(gen, _seed(4), 200, class_shares={1: 1.0})
    assert set(only.labels.tolist()) == {1}
    predicted = np.argmax(run(model, only.inputs.reshape(-1, *model.spec.input_shape)), axis=1)
    assert (predicted == 1).mean() >= 0.9  # drawn as class 1, the model mostly reads them as class 1
    mixed = draw_decoys(gen, _seed(5), 2000)
    shares = np.bincount(mixed.labels, minlength=len(gen.classes)) / 2000
    assert np.allclose(shares, [c.share for c in gen.classes], atol=0.04)


def test_zero_decoys_is_an_empty_batch() -> None:
    gen = reference_generator(DIGITS)
    empty = draw_decoys(gen, _seed(6), 0)
    assert empty.inputs.shape == (0, 64) and empty.items() == ()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": b"short"}, "at least 16 secret bytes"),
    ({"seed": "a text seed of thirty-two chars!"}, "at least 16 secret bytes"),
    ({"count": -1}, "not negative"),
    ({"class_shares": {7: 1.0}}, r"no decoys of class \[7\]"),
    ({"class_shares": {0: 0.0, 1: 0.0}}, "not all zero"),
    ({"class_shares": {0: -1.0, 1: 2.0}}, "non-negative"),
    ({"class_shares": {0: float("inf")}}, "finite"),
    ({"avoid": [bytes(30), bytes(29)]}, "item 1 is not"),
])
def test_bad_draws_are_refused_and_change_nothing(kwargs: dict[str, Any], message: str) -> None:
    gen = reference_generator(BREAST_CANCER)
    before = _state(gen)
    args: dict[str, Any] = {"seed": _seed(7), "count": 4, **kwargs}
    with pytest.raises(DecoyError, match=message):
        draw_decoys(gen, **args)
    assert _state(gen) == before


def test_a_published_set_crowding_every_draw_is_refused() -> None:
    gen = dataclasses.replace(reference_generator(BREAST_CANCER), min_distance=10**6)
    with pytest.raises(DecoyError, match="crowded"):
        draw_decoys(gen, _seed(8), 2)


def _blobs(n_per: int = 60, width: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    centres = rng.integers(-100, 100, (8, width))
    rows = np.concatenate([centres[i] + rng.normal(0, 2, (n_per, width)) for i in range(8)])
    labels = np.repeat(np.arange(8) % 2, n_per)  # two classes, four tight clusters each
    return np.clip(np.round(rows), -128, 127).astype(np.int8), labels


def test_fitting_is_deterministic_and_calibration_finds_the_clusters() -> None:
    rows, labels = _blobs()
    ks = calibrate(rows, labels)
    assert all(k >= 4 for k in ks.values()), ks  # one smooth copula per class would fill the space between blobs
    a = fit_generator(rows, labels, config=DecoyConfig(components=ks))
    b = fit_generator(rows, labels, config=DecoyConfig(components=ks))
    assert draw_decoys(a, _seed(9), 32).items() == draw_decoys(b, _seed(9), 32).items()
    one = fit_generator(rows, labels, config=DecoyConfig(components={0: 1, 1: 1}))
    # decoys of the calibrated mixture lie near the blobs, as real cases do; a single copula's do not
    near = float(np.median(nearest_l1(draw_decoys(a, _seed(9), 200).inputs, rows)))
    far = float(np.median(nearest_l1(draw_decoys(one, _seed(9), 200).inputs, rows)))
    assert near < far / 2, (near, far)


@pytest.mark.parametrize(("rows", "labels", "kwargs", "message"), [
    (np.zeros((20, 3), np.int16), np.zeros(20, int), {}, "must be int8 rows"),
    (np.zeros((20, 3), np.int8), np.zeros(19, int), {}, r"one integer per fit row \(20\)"),
    (np.zeros((20, 3), np.int8), np.zeros(20, float), {}, "one integer per fit row"),
    (np.zeros((0, 3), np.int8), np.zeros(0, int), {}, "no fit rows"),
    (np.zeros((20, 3), np.int8), np.r_[np.zeros(15, int), np.ones(5, int)], {}, r"too few of class 1 \(5\)"),
    (np.zeros((20, 3), np.int8), np.zeros(20, int), {"published": np.zeros((2, 4), np.int8)}, "rows of 3 values"),
    (np.zeros((20, 3), np.int8), np.zeros(20, int), {"config": DecoyConfig(components={0: 11})}, "half the class"),
    (np.zeros((20, 3), np.int8), np.zeros(20, int), {"config": DecoyConfig(components={1: 1})}, r"class \[0\]"),
    (np.zeros((20, 3), np.int8), np.zeros(20, int), {"config": DecoyConfig(shrinkage=2.0)}, "shrinkage"),
])
def test_bad_fits_are_refused(rows: np.ndarray, labels: np.ndarray, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DecoyError, match=message):
        fit_generator(rows, labels, **kwargs)


def test_close_distance_is_zero_for_fewer_than_two_rows() -> None:
    assert close_distance(np.zeros((0, 4), np.int8)) == 0
    assert close_distance(np.zeros((1, 4), np.int8)) == 0


def test_malformed_decoy_data_is_refused_with_the_array_named() -> None:
    arrays = reference_source(BREAST_CANCER).arrays()
    for key in arrays:
        broken = {k: v for k, v in arrays.items() if k != key}
        with pytest.raises(DecoyError, match=repr(key)):
            parse_source(BREAST_CANCER, broken)
    with pytest.raises(DecoyError, match="do not fit together"):
        parse_source(BREAST_CANCER, {**arrays, "fit_labels": arrays["fit_labels"][:-1]})
    with pytest.raises(DecoyError, match="do not fit together"):
        parse_source(BREAST_CANCER, {**arrays, "published": arrays["published"][:, :-1]})
    with pytest.raises(DecoyError, match="'published' is missing or not i8"):
        parse_source(BREAST_CANCER, {**arrays, "published": arrays["published"].astype(np.int16)})
    with pytest.raises(DecoyError, match="no decoy data ships"):
        reference_source("no-such-model")
