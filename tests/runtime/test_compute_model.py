"""compute: reference model golden vectors, integer inference, synthetic inputs and roots, item sampling and
the chance that sampling catches faked items."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import numpy as np
import pytest

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256, merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_proof, verify_merkle_proof
from runtime.compute.inference import infer, infer_one, input_bytes, output_bytes
from runtime.compute.inputs import input_root, output_root, synthetic_input, synthetic_inputs
from runtime.compute.model import (
    CARIES_CLASSES,
    REFERENCE_MODELS,
    ModelSpec,
    UnknownModel,
    build_model,
    macs_per_item,
    model_by_hash,
    model_hash,
    reference_model,
    validate_spec,
)
from runtime.compute.sampling import caught_probability, sample_indices

CARIES = "dental-caries-v1"
SEED = blake2b_256(b"btt-reference-model/dental-caries-v1")

# --- golden vectors: any change to weight derivation, hashing or inference breaks these ---------------

GOLDEN_MODEL_HASH = "3db72060884a6ba05c293415db46a47fc6ae403725a90b20ea33cab48b9cc744"
GOLDEN_OUTPUTS = [
    "02dacf01ccfd",  # synthetic_inputs(bytes(32), 4, 64)[0]
    "04a08703fc47",
    "04e2cde4e540",
    "04e3b5dda820",
    "01ff0000ff00",  # all zero: logits tie at 0 on classes 1, 2 and 4, the lowest index wins
    "006180838a80",  # all 127
    "048ac92f174c",  # all -128
]


def golden_inputs() -> list[bytes]:
    return synthetic_inputs(bytes(32), 4, 64) + [bytes(64), bytes([127]) * 64, bytes([0x80]) * 64]


def test_reference_spec() -> None:
    spec = REFERENCE_MODELS[CARIES]
    assert spec == ModelSpec(CARIES, SEED, (64, 32, 16, 5), (10, 8, 7))
    assert len(CARIES_CLASSES) == spec.layers[-1] == 5
    assert macs_per_item(spec) == 64 * 32 + 32 * 16 + 16 * 5 == 2640
    assert input_bytes(spec) == 64 and output_bytes(spec) == 6
    assert ModelSpec.decode(spec.encode()) == spec


def test_golden_model_hash() -> None:
    assert model_hash(reference_model(CARIES)).hex() == GOLDEN_MODEL_HASH


def test_golden_outputs() -> None:
    model = reference_model(CARIES)
    assert [o.hex() for o in infer(model, golden_inputs())] == GOLDEN_OUTPUTS


def test_golden_synthetic_input() -> None:
    assert synthetic_input(bytes(32), 0, 8).hex() == "d29209a720aa0b87"
    assert synthetic_inputs(bytes(32), 1, 64)[0][:8] == synthetic_input(bytes(32), 0, 8)
    item = synthetic_input(b"\x01" * 32, 7, 16)
    assert item == hashlib.shake_256(b"btt-job-input" + b"\x01" * 32 + (7).to_bytes(8, "big")).digest(16)


# --- model ------------------------------------------------------------------------------------------


def test_weights_are_derived_from_the_seed_with_the_expected_shapes_and_dtypes() -> None:
    model = reference_model(CARIES)
    assert [w.shape for w in model.weights] == [(32, 64), (16, 32), (5, 16)]
    assert [b.shape for b in model.biases] == [(32,), (16,), (5,)]
    assert all(w.dtype == np.int8 for w in model.weights)
    assert all(b.dtype == np.int32 for b in model.biases)
    assert all(int(b.min()) >= -128 and int(b.max()) <= 127 for b in model.biases)
    # weights use the full int8 range
    assert int(model.weights[0].min()) == -128 and int(model.weights[0].max()) == 127
    rebuilt = build_model(REFERENCE_MODELS[CARIES])
    assert rebuilt is not model and model_hash(rebuilt) == model_hash(model)
    for a, b in zip(rebuilt.weights + rebuilt.biases, model.weights + model.biases, strict=True):
        assert np.array_equal(a, b)


def test_model_arrays_are_read_only() -> None:
    model = reference_model(CARIES)
    with pytest.raises(ValueError):
        model.weights[0][0, 0] = 1
    with pytest.raises(ValueError):
        model.biases[0][0] = 1


def test_reference_model_is_cached_and_found_by_hash() -> None:
    model = reference_model(CARIES)
    assert reference_model(CARIES) is model
    assert model_by_hash(model_hash(model)) is model
    assert model_by_hash(bytes(32)) is None


def test_unknown_reference_model_lists_known_names() -> None:
    with pytest.raises(KeyError) as info:
        reference_model("dental-caries-v0")
    assert isinstance(info.value, UnknownModel)
    assert "dental-caries-v0" in str(info.value) and CARIES in str(info.value)


def test_any_spec_change_changes_the_hash() -> None:
    base = REFERENCE_MODELS[CARIES]
    hashes = {
        model_hash(build_model(spec))
        for spec in (
            base,
            base.replace(name="dental-caries-v2"),
            base.replace(seed=blake2b_256(b"other")),
            base.replace(shifts=(10, 8, 8)),
            base.replace(layers=(64, 32, 16, 6)),
        )
    }
    assert len(hashes) == 5


@pytest.mark.parametrize(
    ("layers", "shifts", "message"),
    [
        ((64,), (), "at least 2"),
        ((), (), "at least 2"),
        ((64, 0, 5), (8, 8), "widths"),
        ((64, 1025, 5), (8, 8), "widths"),
        ((64, -1, 5), (8, 8), "widths"),
        ((64, 32, 5), (8,), "shifts"),
        ((64, 32, 5), (8, 8, 8), "shifts"),
        ((64, 32, 5), (8, 32), "0 to 31"),
        ((64, 32, 5), (-1, 8), "0 to 31"),
        ((8,) * 9, (1,) * 8, "at most 8"),
    ],
)
def test_bad_specs_are_refused(layers: tuple[int, ...], shifts: tuple[int, ...], message: str) -> None:
    spec = ModelSpec("bad", SEED, layers, shifts)
    with pytest.raises(ValueError, match=message):
        validate_spec(spec)
    with pytest.raises(ValueError):
        build_model(spec)


def test_bad_name_or_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="name"):
        validate_spec(ModelSpec("", SEED, (4, 2), (1,)))
    with pytest.raises(ValueError, match="seed"):
        validate_spec(ModelSpec("x", b"short", (4, 2), (1,)))


def test_limits_are_accepted() -> None:
    validate_spec(ModelSpec("wide", SEED, (1024, 1), (31,)))
    validate_spec(ModelSpec("deep", SEED, (1,) * 8, (0,) * 7))
    out = infer(build_model(ModelSpec("tiny", SEED, (1, 1), (0,))), [b"\x05"])
    assert len(out) == 1 and len(out[0]) == 2 and out[0][0] == 0


def test_spec_encoding_rejects_what_the_wire_cannot_carry() -> None:
    with pytest.raises(DecodeError):
        ModelSpec("x", SEED, (64, 70000), (8,)).encode()
    with pytest.raises(DecodeError):
        ModelSpec("x", SEED, (64, 5), (256,)).encode()


# --- inference --------------------------------------------------------------------------------------


def test_inference_is_deterministic_and_batch_equals_one_by_one() -> None:
    model = reference_model(CARIES)
    items = synthetic_inputs(b"\x02" * 32, 50, 64)
    batch = infer(model, items)
    assert infer(model, items) == batch
    assert [infer_one(model, item) for item in items] == batch
    assert infer(model, items[10:20]) == batch[10:20]
    assert infer(model, []) == []


def test_output_layout_is_argmax_then_logits() -> None:
    model = reference_model(CARIES)
    for out in infer(model, synthetic_inputs(b"\x03" * 32, 200, 64)):
        assert len(out) == 6
        logits = np.frombuffer(out[1:], dtype=np.int8)
        assert out[0] == int(np.argmax(logits))
        assert out[0] == min(i for i, v in enumerate(logits) if v == logits.max())


def test_inference_matches_a_pure_python_reference() -> None:
    """The numpy path against plain Python integers (floor shift, clip, ReLU between layers)."""
    model = reference_model(CARIES)
    for item in golden_inputs() + synthetic_inputs(b"\x04" * 32, 20, 64):
        x = [v - 256 if v > 127 else v for v in item]
        for i, (w, b, s) in enumerate(zip(model.weights, model.biases, model.spec.shifts, strict=True)):
            rows = w.tolist()
            y = [
                max(-128, min(127, (sum(a * c for a, c in zip(row, x, strict=True)) + int(bias)) >> s))
                for row, bias in zip(rows, b.tolist(), strict=True)
            ]
            x = [max(0, v) for v in y] if i < len(model.weights) - 1 else y
        expected = bytes([x.index(max(x))]) + bytes(v & 0xFF for v in x)
        assert infer_one(model, item) == expected


def test_eight_items_run_on_integer_arrays() -> None:
    model = reference_model(CARIES)
    items = synthetic_inputs(b"\x05" * 32, 8, 64)
    x = np.frombuffer(b"".join(items), dtype=np.int8).reshape(8, 64)
    assert x.dtype == np.int8 and model.weights[0].dtype == np.int8
    acc = x.astype(np.int64) @ model.weights[0].astype(np.int64).T
    assert acc.dtype == np.int64
    out = infer(model, items)
    assert len(out) == 8 and all(len(o) == 6 and o[0] < 5 for o in out)


def test_wrong_input_length_raises() -> None:
    model = reference_model(CARIES)
    good = bytes(64)
    for bad in (bytes(63), bytes(65), b""):
        with pytest.raises(ValueError, match="input item 1 must be 64 bytes"):
            infer(model, [good, bad])
    with pytest.raises(ValueError):
        infer_one(model, bytes(10))
    with pytest.raises(ValueError):
        infer(model, [good, "x" * 64])  # type: ignore[list-item]


def test_every_class_wins_for_some_inputs_and_hidden_activations_are_spread() -> None:
    model = reference_model(CARIES)
    outputs = infer(model, synthetic_inputs(b"\x06" * 32, 2000, 64))
    counts = [0] * 5
    for out in outputs:
        counts[out[0]] += 1
    assert all(c >= 40 for c in counts), counts  # no class below 2 %
    logits = np.frombuffer(b"".join(o[1:] for o in outputs), dtype=np.int8)
    assert len(set(logits.tolist())) > 200  # the logits use most of the int8 range
    assert np.mean((logits == 127) | (logits == -128)) < 0.1  # and rarely saturate


# --- inputs and roots -------------------------------------------------------------------------------


def test_synthetic_inputs_are_reproducible_and_distinct() -> None:
    a = synthetic_inputs(b"\x07" * 32, 20, 64)
    assert a == synthetic_inputs(b"\x07" * 32, 20, 64)
    assert a[5] == synthetic_input(b"\x07" * 32, 5, 64)
    assert len(set(a)) == 20
    assert synthetic_inputs(b"\x08" * 32, 20, 64) != a
    assert synthetic_inputs(b"\x07" * 32, 0, 64) == []
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            synthetic_input(b"\x07" * 32, bad, 64)
    with pytest.raises(ValueError):
        synthetic_input(b"\x07" * 32, 0, -1)
    with pytest.raises(ValueError):
        synthetic_inputs(b"\x07" * 32, -1, 64)


def test_roots_commit_to_items_and_open_with_merkle_proofs() -> None:
    model = reference_model(CARIES)
    items = synthetic_inputs(b"\x09" * 32, 37, 64)
    outputs = infer(model, items)
    assert input_root(items) == merkle_root(items)
    assert output_root(outputs) == merkle_root(outputs)
    in_levels, out_levels = merkle_levels(items), merkle_levels(outputs)
    for i in sample_indices(b"\x0a" * 32, len(items), 8):
        assert verify_merkle_proof(input_root(items), items[i], i, 37, merkle_proof(in_levels, i))
        assert verify_merkle_proof(output_root(outputs), outputs[i], i, 37, merkle_proof(out_levels, i))
        assert infer_one(model, items[i]) == outputs[i]
    forged = outputs[:3] + [bytes([(outputs[3][0] + 1) % 5]) + outputs[3][1:]] + outputs[4:]
    assert output_root(forged) != output_root(outputs)


# --- sampling ---------------------------------------------------------------------------------------


def test_sample_indices_are_distinct_sorted_in_range_and_deterministic() -> None:
    for n, (items, count) in enumerate([(1, 1), (1, 5), (2, 2), (10, 3), (100, 8), (100, 100), (10**12, 16)]):
        seed = blake2b_256(bytes([n]))
        picked = sample_indices(seed, items, count)
        assert len(picked) == min(items, count)
        assert list(picked) == sorted(set(picked))
        assert all(0 <= i < items for i in picked)
        assert sample_indices(seed, items, count) == picked
    assert sample_indices(bytes(32), 100, 100) == tuple(range(100))
    assert sample_indices(b"a" * 32, 10**6, 8) != sample_indices(b"b" * 32, 10**6, 8)


def test_sample_indices_golden() -> None:
    assert sample_indices(bytes(32), 100, 8) == (23, 28, 37, 45, 50, 54, 73, 86)


def test_sample_indices_bad_arguments() -> None:
    for items, count in [(0, 1), (-5, 1), (10, 0), (10, -1), (2**64, 1)]:
        with pytest.raises(ValueError):
            sample_indices(bytes(32), items, count)


def test_sample_indices_are_roughly_uniform() -> None:
    """2,000 seeds each pick 10 of 50 indices: every index is expected 400 times (sd about 18)."""
    hits = [0] * 50
    smallest = [0] * 41
    for n in range(2000):
        picked = sample_indices(blake2b_256(n.to_bytes(4, "big")), 50, 10)
        for i in picked:
            hits[i] += 1
        smallest[picked[0]] += 1
    assert min(hits) > 320 and max(hits) < 480, hits
    # P(min index = 0) = 10/50: 400 expected
    assert 320 < smallest[0] < 480


def test_caught_probability_known_values() -> None:
    # C(90, 8) / C(100, 8) = 77515521435 / 186087894300: caught about 58.3 % of the time
    assert caught_probability(100, 10, 8) == 1 - Fraction(77515521435, 186087894300)
    assert caught_probability(100, 10, 8) == Fraction(219338127, 375935140)
    assert caught_probability(100, 0, 8) == 0
    assert caught_probability(100, 100, 1) == 1
    assert caught_probability(100, 93, 8) == 1  # 8 samples cannot all miss 93 of 100
    assert caught_probability(10, 1, 1) == Fraction(1, 10)
    assert caught_probability(10, 3, 20) == 1  # samples capped at the item count
    assert caught_probability(10, 3, 0) == 0
    for items, faked, samples in [(0, 0, 1), (10, 11, 1), (10, -1, 1), (10, 1, -1)]:
        with pytest.raises(ValueError):
            caught_probability(items, faked, samples)


def test_sampling_catches_faked_items_as_often_as_predicted() -> None:
    faked = set(range(5, 100, 10))  # 10 faked items among 100
    seeds = [blake2b_256(b"catch" + n.to_bytes(4, "big")) for n in range(400)]
    caught = sum(1 for seed in seeds if faked & set(sample_indices(seed, 100, 8)))
    expected = caught_probability(100, 10, 8)
    assert abs(Fraction(caught, 400) - expected) <= Fraction(7, 100), (caught, float(expected))
