"""Real cases for a clinic to post: the held-out cases a model's owner published in its weights' metadata
(already quantised to the model's int8 input, with their true labels), and how a job's outputs read against them.

The metadata is the owner's word, not the chain's: the figures it states (held-out accuracy of the float and the
int8 model) are shown as stated, and `agreement` measures what the providers' outputs really say about the cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.errors import BttError
from runtime.compute.model import Model, input_bytes


class NoCases(BttError):
    """The model's metadata carries no usable held-out cases."""


@dataclass(frozen=True)
class CaseBook:
    """Held-out cases of one model: int8 input items, true class indices, class names and the stated figures."""

    inputs: tuple[bytes, ...]
    labels: tuple[int, ...]
    class_names: tuple[str, ...]
    float_accuracy: float | None = None
    int8_accuracy: float | None = None

    def batch(self, start: int, count: int) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
        """`count` cases from `start` on, wrapping around (a job may hold more items than there are cases)."""
        n = len(self.inputs)
        picks = [(start + i) % n for i in range(count)]
        return tuple(self.inputs[i] for i in picks), tuple(self.labels[i] for i in picks)

    def name(self, index: int) -> str:
        return self.class_names[index] if 0 <= index < len(self.class_names) else f"class {index}"

    def stated(self) -> str:
        """The owner's held-out figures, as a phrase."""
        if self.int8_accuracy is None:
            return "the owner states no held-out accuracy"
        text = f"held-out accuracy {self.int8_accuracy:.1%} (int8)"
        if self.float_accuracy is not None:
            text += f", {self.float_accuracy:.1%} (float)"
        return f"{text} on {len(self.inputs)} cases, as the owner states"


def held_out_cases(model: Model) -> CaseBook:
    """The held-out cases in `model`'s metadata; NoCases if there are none or they do not fit the model."""
    meta: dict[str, Any] = model.metadata
    held = meta.get("heldOut")
    if not isinstance(held, dict):
        raise NoCases(f"model {model.spec.name} publishes no held-out cases")
    width = input_bytes(model.spec)
    try:
        raw = bytes.fromhex(held["inputs"])
        labels = tuple(int(x) for x in held["labels"])
    except (KeyError, TypeError, ValueError):
        raise NoCases(f"model {model.spec.name}: its held-out cases are malformed") from None
    classes = max(1, len(model.spec.labels) or 256)
    if not raw or len(raw) % width or len(raw) // width != len(labels) or any(not 0 <= x < classes for x in labels):
        raise NoCases(f"model {model.spec.name}: its held-out cases do not fit its input of {width} bytes")
    inputs = tuple(raw[i:i + width] for i in range(0, len(raw), width))
    stated = meta.get("accuracy")
    acc: dict[str, Any] = stated if isinstance(stated, dict) else {}

    def figure(key: str) -> float | None:
        v = acc.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    return CaseBook(inputs, labels, tuple(model.spec.labels), figure("float"), figure("int8"))


@dataclass(frozen=True)
class Agreement:
    """How one provider's outputs of a job read against the cases' true labels."""

    predicted: tuple[int, ...]
    truth: tuple[int, ...]

    @property
    def correct(self) -> int:
        return sum(p == t for p, t in zip(self.predicted, self.truth, strict=True))

    def summary(self, book: CaseBook, shown: int = 4) -> str:
        n = len(self.truth)
        head = ", ".join(f"{book.name(p)}" + ("" if p == t else f" (truly {book.name(t)})")
                         for p, t in list(zip(self.predicted, self.truth, strict=True))[:shown])
        more = f", ... ({n - shown} more)" if n > shown else ""
        return f"{self.correct}/{n} match the recorded diagnosis ({self.correct / n:.0%}): {head}{more}"


def agreement(outputs: Sequence[bytes], truth: Sequence[int]) -> Agreement:
    """The class each output names (its first byte) against the true labels."""
    return Agreement(tuple(o[0] for o in outputs), tuple(truth))
