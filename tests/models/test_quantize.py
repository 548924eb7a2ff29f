"""Quantisation: multipliers and shifts from exact fractions, activation zero points, and a quantised network that
runs through the chain's integer kernels close to its float original."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from btt_chain.models.float_net import Conv2d, Dense, Flatten, FloatLayer, Pool, Relu, forward, predict
from btt_chain.models.quantize import (
    MULTIPLIER_BITS,
    QParams,
    activation_qparams,
    predict_int8,
    quantize,
    quantize_multiplier,
)
from runtime.compute.model import MAX_SHIFT, MULTIPLIER_LIMIT


@pytest.mark.parametrize("real", [Fraction(1), Fraction(1, 2), Fraction(1, 3), Fraction(1234, 10**6), Fraction(37, 10),
                                  Fraction(1, 2**30), Fraction(7, 2**20)])
@pytest.mark.parametrize("bits", [31, MULTIPLIER_BITS])
def test_multiplier_is_normalised_and_nearest(real: Fraction, bits: int) -> None:
    m, s = quantize_multiplier(real, bits)
    assert 2**30 <= m < MULTIPLIER_LIMIT and 0 <= s <= MAX_SHIFT
    assert m % (1 << (31 - bits)) == 0
    step = Fraction(1 << (31 - bits), 2**s)
    assert abs(Fraction(m, 2**s) - real) <= step / 2
    if bits == MULTIPLIER_BITS:
        assert float(np.float32(m / 2**s)) == m / 2**s  # a float32 exactly: exports to ONNX without loss


def test_multiplier_edges() -> None:
    assert quantize_multiplier(0) == (0, 0)
    assert quantize_multiplier(Fraction(1, 2**80)) == (0, MAX_SHIFT)
    assert quantize_multiplier(Fraction(3, 2**63)) == (2, MAX_SHIFT)  # too small for the shift: a smaller M
    assert quantize_multiplier(2**31 - 1) == (2**31 - 1, 0)
    with pytest.raises(ValueError, match="too large"):
        quantize_multiplier(2**31)
    with pytest.raises(ValueError, match="negative"):
        quantize_multiplier(-1)


def test_activation_zero_points() -> None:
    assert activation_qparams(0.0, 2.55) == QParams(2.55 / 255, -128)
    qp = activation_qparams(-1.0, 1.0)
    assert qp.zero_point in (0, -1) and qp.scale == 2.0 / 255
    assert activation_qparams(1.0, 2.0).zero_point == -128  # widened to hold 0
    assert activation_qparams(-2.0, -1.0).zero_point == 127
    qp = QParams(0.5, 3)
    assert qp.quantize([0.0, 0.25, 0.75, 1000.0, -1000.0]).tolist() == [3, 3, 5, 127, -128]


def test_a_small_cnn_quantises_close_to_its_float_original() -> None:
    rng = np.random.default_rng(7)
    layers: list[FloatLayer] = [
        Conv2d(rng.normal(0, 0.5, (4, 2, 3, 3)), rng.normal(0, 0.1, 4), (1, 1), (1, 1, 1, 1)), Relu(),
        Pool("max", (2, 2), (2, 2)), Conv2d(rng.normal(0, 0.3, (6, 4, 2, 2)), rng.normal(0, 0.1, 6), (2, 2)),
        Pool("avg", (1, 1), (1, 1)), Flatten(), Dense(rng.normal(0, 0.3, (5, 24)), rng.normal(0, 0.1, 5)),
    ]
    x = rng.normal(0, 1, (400, 2, 8, 8))
    q = quantize("tiny-cnn", (2, 8, 8), layers, x[:300])
    assert q.spec.layers[0].output_zp == -128  # the ReLU is folded into the range
    held = x[300:]
    q_in = q.input_qparams.quantize(held)
    int8 = predict_int8(q.model, q_in)
    assert np.mean(int8 == predict(layers, held)) >= 0.9
    # the int8 logits dequantise close to the float scores
    from runtime.compute.inference import run

    logits = run(q.model, q_in.astype(np.int64))
    out_qp = q.output_qparams[6]
    err = np.abs(out_qp.dequantize(logits) - forward(layers, held))
    assert err.mean() < 0.05 * np.abs(forward(layers, held)).mean() + 4 * out_qp.scale
