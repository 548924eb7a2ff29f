"""Training the reference models from data that ships inside scikit-learn, with fixed seeds, in float64 numpy
(backpropagation written out here, Adam, softmax cross-entropy), then quantising them to int8.

- "breast-cancer-v1": the Wisconsin breast-cancer diagnostic set (569 cases, 30 features), stratified 80/20
  split, features standardised with the training mean and standard deviation, MLP 30-16-2 with ReLU.
- "digits-conv-v1": the 8x8 digit images (1,797), stratified 80/20 split, pixels 0..16 scaled to [0, 1], a small
  CNN: conv 3x3 (8) -> relu -> maxpool 2x2 -> conv 3x3 (16) -> relu -> maxpool 2x2 -> flatten -> dense 10.

Reproducibility: float64 throughout, numpy's PCG64 generator with fixed seeds for the split, the initial weights
and the batch order, and BLAS held to one thread while training. A different CPU or BLAS may still round a sum
differently in the last bit, so a retrained model can differ slightly from the shipped one: the files in
`runtime/compute/reference_models/` are the canonical models.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from btt_chain.models.float_net import (
    F64,
    Conv2d,
    Dense,
    Flatten,
    FloatLayer,
    Pool,
    Relu,
    activations,
    im2col,
    predict,
    windows,
)
from btt_chain.models.quantize import QParams, Quantized, predict_int8, quantize, with_metadata

I64 = npt.NDArray[np.int64]

BREAST_CANCER = "breast-cancer-v1"
DIGITS = "digits-conv-v1"
SEED = 20261123
"""The fixed seed of the reference models' splits, initial weights and batch orders."""
HELD_OUT_FRACTION = 0.2


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Hold BLAS to one thread (the order of a matrix product's sums then depends on the machine only)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1):
        yield


# --- backpropagation ------------------------------------------------------------------------------------------


def _conv_backward(layer: Conv2d, x: F64, dy: F64) -> tuple[F64, F64, F64]:
    """Gradients (dx, dweight, dbias) of a convolution given its input and the output's gradient."""
    out, c, kh, kw = layer.weight.shape
    n = x.shape[0]
    sh, sw = layer.stride
    top, left, bottom, right = layer.pads
    cols, oh, ow = im2col(x, kh, kw, layer.stride, layer.pads)
    dyr = dy.transpose(0, 2, 3, 1).reshape(n * oh * ow, out)
    dw = (dyr.T @ cols).reshape(layer.weight.shape)
    db = dyr.sum(axis=0)
    dcols = (dyr @ layer.weight.reshape(out, -1)).reshape(n, oh, ow, c, kh, kw)
    dxp = np.zeros((n, c, x.shape[2] + top + bottom, x.shape[3] + left + right))
    for a in range(kh):
        for b in range(kw):
            dxp[:, :, a:a + sh * oh:sh, b:b + sw * ow:sw] += dcols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return dxp[:, :, top:top + x.shape[2], left:left + x.shape[3]], dw, db


def _pool_backward(layer: Pool, x: F64, dy: F64) -> F64:
    kh, kw = layer.kernel
    sh, sw = layer.stride
    oh, ow = dy.shape[2], dy.shape[3]
    dx = np.zeros_like(x)
    if layer.kind == "max":
        win = windows(np.ascontiguousarray(x), kh, kw, sh, sw)
        first = np.argmax(win.reshape(*win.shape[:4], kh * kw), axis=4)  # the first maximum takes the gradient
        for a in range(kh):
            for b in range(kw):
                dx[:, :, a:a + sh * oh:sh, b:b + sw * ow:sw] += dy * (first == a * kw + b)
    else:
        for a in range(kh):
            for b in range(kw):
                dx[:, :, a:a + sh * oh:sh, b:b + sw * ow:sw] += dy / (kh * kw)
    return dx


def gradients(layers: list[FloatLayer], x: F64, y: I64) -> tuple[float, list[tuple[F64, F64] | None]]:
    """Mean softmax cross-entropy of the batch and each weight layer's (dweight, dbias) (None for the others)."""
    acts = activations(layers, x)
    scores = acts[-1]
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    loss = float(-logp[np.arange(n), y].mean())
    d = np.exp(logp)
    d[np.arange(n), y] -= 1.0
    d /= n
    grads: list[tuple[F64, F64] | None] = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        layer, inp = layers[i], acts[i]
        if isinstance(layer, Dense):
            grads[i] = (d.T @ inp, d.sum(axis=0))
            d = d @ layer.weight
        elif isinstance(layer, Conv2d):
            d, dw, db = _conv_backward(layer, inp, d)
            grads[i] = (dw, db)
        elif isinstance(layer, Pool):
            d = _pool_backward(layer, inp, d)
        elif isinstance(layer, Relu):
            d = d * (inp > 0)
        else:
            d = d.reshape(inp.shape)
    return loss, grads


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch: int
    learning_rate: float
    weight_decay: float = 0.0


def train(layers: list[FloatLayer], x: F64, y: I64, config: TrainConfig, rng: np.random.Generator) -> float:
    """Adam on mini-batches in a seeded order, in place; the last epoch's mean loss."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    weighted = [layer for layer in layers if isinstance(layer, Dense | Conv2d)]
    moments = [[np.zeros_like(p) for p in (layer.weight, layer.bias) for _ in range(2)] for layer in weighted]
    step = 0
    loss = 0.0
    for _ in range(config.epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), config.batch):
            idx = order[start:start + config.batch]
            batch_loss, grads = gradients(layers, x[idx], y[idx])
            total += batch_loss * len(idx)
            step += 1
            k = 0
            for layer, g in zip(layers, grads, strict=True):
                if g is None:
                    continue
                assert isinstance(layer, Dense | Conv2d)
                m_w, v_w, m_b, v_b = moments[k]
                k += 1
                for param, grad, m, v in ((layer.weight, g[0] + config.weight_decay * layer.weight, m_w, v_w),
                                          (layer.bias, g[1], m_b, v_b)):
                    m *= beta1
                    m += (1 - beta1) * grad
                    v *= beta2
                    v += (1 - beta2) * grad * grad
                    m_hat = m / (1 - beta1**step)
                    v_hat = v / (1 - beta2**step)
                    param -= config.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        loss = total / len(x)
    return loss


def he_dense(rng: np.random.Generator, n_in: int, n_out: int) -> Dense:
    return Dense(rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out))


def he_conv(rng: np.random.Generator, c_in: int, c_out: int, k: int, pad: int) -> Conv2d:
    fan_in = c_in * k * k
    return Conv2d(rng.normal(0.0, np.sqrt(2.0 / fan_in), (c_out, c_in, k, k)), np.zeros(c_out), (1, 1),
                  (pad, pad, pad, pad))


# --- data -----------------------------------------------------------------------------------------------------


def stratified_split(y: I64, fraction: float, rng: np.random.Generator) -> tuple[I64, I64]:
    """(train, held-out) indices, sorted: each class contributes round(fraction * its count) held-out cases."""
    held: list[int] = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        picked = rng.permutation(members)[: int(round(fraction * len(members)))]
        held.extend(int(i) for i in picked)
    held_idx = np.array(sorted(held), dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), held_idx).astype(np.int64)
    return train_idx, held_idx


@dataclass(frozen=True, eq=False)
class Trained:
    """A trained, quantised reference model with its held-out results."""

    name: str
    float_layers: list[FloatLayer]
    quantized: Quantized
    held_out_inputs: npt.NDArray[np.int8]
    """The held-out cases quantised, (n, *input_shape)."""
    held_out_labels: I64
    float_correct: int
    int8_correct: int

    @property
    def cases(self) -> int:
        return len(self.held_out_labels)

    @property
    def float_accuracy(self) -> float:
        return self.float_correct / self.cases

    @property
    def int8_accuracy(self) -> float:
        return self.int8_correct / self.cases


def _accuracy_json(float_correct: int, int8_correct: int, cases: int) -> dict[str, Any]:
    return {"heldOutCases": cases, "floatCorrect": float_correct, "int8Correct": int8_correct,
            "float": round(float_correct / cases, 4), "int8": round(int8_correct / cases, 4)}


def _finish(name: str, layers: list[FloatLayer], quantized: Quantized, x_held: F64, y_held: I64,
            metadata: dict[str, Any]) -> Trained:
    q_held = quantized.input_qparams.quantize(x_held)
    float_correct = int((predict(layers, x_held) == y_held).sum())
    int8_correct = int((predict_int8(quantized.model, q_held) == y_held).sum())
    metadata = {
        **metadata,
        "accuracy": _accuracy_json(float_correct, int8_correct, len(y_held)),
        "heldOut": {"count": len(y_held), "inputs": q_held.tobytes().hex(),
                    "labels": [int(v) for v in y_held]},
    }
    final = with_metadata(quantized, metadata)
    return Trained(name, layers, final, q_held, y_held, float_correct, int8_correct)


def train_breast_cancer(seed: int = SEED) -> Trained:
    """The breast-cancer-v1 reference model (see the module docstring)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x_all = np.asarray(data.data, dtype=np.float64)
    y_all = np.asarray(data.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    train_idx, held_idx = stratified_split(y_all, HELD_OUT_FRACTION, rng)
    mean = x_all[train_idx].mean(axis=0)
    std = x_all[train_idx].std(axis=0)
    x_train, x_held = (x_all[train_idx] - mean) / std, (x_all[held_idx] - mean) / std
    layers: list[FloatLayer] = [he_dense(rng, 30, 16), Relu(), he_dense(rng, 16, 2)]
    config = TrainConfig(epochs=60, batch=32, learning_rate=3e-3, weight_decay=1e-3)
    with single_thread():
        loss = train(layers, x_train, y_all[train_idx], config, rng)
    labels = tuple(str(v) for v in data.target_names)
    quantized = quantize(BREAST_CANCER, (30,), layers, x_train, labels)
    qp = quantized.input_qparams
    metadata = {
        "task": "breast tumour diagnosis from 30 fine-needle-aspirate features (Wisconsin diagnostic set)",
        "dataset": {"name": "sklearn.datasets.load_breast_cancer", "cases": len(y_all),
                    "trainCases": len(train_idx), "split": "stratified 80/20", "seed": seed},
        "architecture": "dense 30->16, relu, dense 16->2",
        "training": {"optimizer": "adam", "epochs": config.epochs, "batch": config.batch,
                     "learningRate": config.learning_rate, "weightDecay": config.weight_decay,
                     "finalLoss": round(loss, 6), "dtype": "float64"},
        "input": {"features": [str(f) for f in data.feature_names], "featureMeans": [float(v) for v in mean],
                  "featureStds": [float(v) for v in std], **qp.to_json(),
                  "quantize": "q_i = clamp(round_half_even((raw_i - featureMeans[i]) / featureStds[i] / scale) "
                              "+ zeroPoint, -128, 127), one int8 per feature in the order of 'features'"},
    }
    return _finish(BREAST_CANCER, layers, quantized, x_held, y_all[held_idx], metadata)


def train_digits(seed: int = SEED) -> Trained:
    """The digits-conv-v1 reference model (see the module docstring)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x_all = np.asarray(data.images, dtype=np.float64).reshape(-1, 1, 8, 8) / 16.0
    y_all = np.asarray(data.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    train_idx, held_idx = stratified_split(y_all, HELD_OUT_FRACTION, rng)
    layers: list[FloatLayer] = [
        he_conv(rng, 1, 8, 3, 1), Relu(), Pool("max", (2, 2), (2, 2)),
        he_conv(rng, 8, 16, 3, 1), Relu(), Pool("max", (2, 2), (2, 2)),
        Flatten(), he_dense(rng, 64, 10),
    ]
    config = TrainConfig(epochs=30, batch=32, learning_rate=3e-3, weight_decay=1e-4)
    with single_thread():
        loss = train(layers, x_all[train_idx], y_all[train_idx], config, rng)
    # pixel p (0..16) is p / 16 in float: scale 1/16 and zero point -128 make q = p - 128 exactly
    input_qp = QParams(1.0 / 16.0, -128)
    quantized = quantize(DIGITS, (1, 8, 8), layers, x_all[train_idx], tuple(str(d) for d in range(10)), input_qp)
    metadata = {
        "task": "handwritten digit recognition from 8x8 images (the image path end to end)",
        "dataset": {"name": "sklearn.datasets.load_digits", "cases": len(y_all), "trainCases": len(train_idx),
                    "split": "stratified 80/20", "seed": seed},
        "architecture": "conv2d 3x3 1->8 pad 1, relu, maxpool 2x2, conv2d 3x3 8->16 pad 1, relu, maxpool 2x2, "
                        "flatten, dense 64->10",
        "training": {"optimizer": "adam", "epochs": config.epochs, "batch": config.batch,
                     "learningRate": config.learning_rate, "weightDecay": config.weight_decay,
                     "finalLoss": round(loss, 6), "dtype": "float64"},
        "input": {"pixelScaling": "float pixel = raw / 16 (raw 0..16)", **input_qp.to_json(),
                  "quantize": "q = raw - 128 for each of the 64 pixels, row by row (shape 1x8x8)"},
    }
    return _finish(DIGITS, layers, quantized, x_all[held_idx], y_all[held_idx], metadata)


TRAINERS = {BREAST_CANCER: train_breast_cancer, DIGITS: train_digits}
