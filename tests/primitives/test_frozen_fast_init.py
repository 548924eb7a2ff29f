"""`fast_init`: the cheaper constructor builds exactly the instance the dataclass's own `__init__` builds (same
fields, same defaults, same refusals of missing or extra arguments), and refuses classes it cannot serve."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from btt_chain.primitives.frozen import fast_init
from runtime.balances.events import DustLost, Transfer
from runtime.context import Origin
from runtime.dispatch import DecodedCall
from runtime.executive import ApplyOutcome, CheckedExtrinsic
from runtime.system.dispatch_types import DispatchErrorValue, DispatchInfo
from runtime.system.events import ExtrinsicFailed, ExtrinsicSuccess, NewAccount
from runtime.transaction_payment.events import TransactionFeePaid

FAST = [Transfer, DustLost, TransactionFeePaid, ExtrinsicSuccess, ExtrinsicFailed, NewAccount, DispatchInfo,
        DispatchErrorValue, Origin, DecodedCall, ApplyOutcome, CheckedExtrinsic]


def _parameters(init: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(init).parameters.values()]  # type: ignore[arg-type]


def _built(cls: type, init: object, *args: object, **kwargs: object) -> object:
    obj = cls.__new__(cls)
    init(obj, *args, **kwargs)  # type: ignore[operator]
    return obj


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_the_fast_constructor_builds_what_the_generated_one_builds(cls: type) -> None:
    fields = dataclasses.fields(cls)
    values = [object() for _ in fields]
    generated = cls.generated_init  # type: ignore[attr-defined]
    assert _parameters(cls.__init__) == _parameters(generated)
    assert vars(cls(*values)) == vars(_built(cls, generated, *values))
    by_name = {f.name: v for f, v in zip(fields, values, strict=True)}
    assert vars(cls(**by_name)) == vars(_built(cls, generated, **by_name))
    required = [v for f, v in zip(fields, values, strict=True) if f.default is dataclasses.MISSING]
    assert vars(cls(*required)) == vars(_built(cls, generated, *required))  # the defaults filled in alike
    assert cls(*values) == _built(cls, generated, *values)
    with pytest.raises(TypeError):
        cls(*values, object())
    if required:
        with pytest.raises(TypeError):
            cls(*required[:-1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cls(*values).x = 1


def test_classes_it_cannot_serve_are_refused() -> None:
    with pytest.raises(TypeError, match="frozen"):
        fast_init(dataclasses.dataclass(type("Plain", (), {"__annotations__": {"a": "int"}})))

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    for cls in (Checked, Factory, KeywordOnly, Slotted):
        with pytest.raises(TypeError):
            fast_init(cls)
