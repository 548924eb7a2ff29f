"""A cheaper constructor for the frozen dataclasses a block builds thousands of (events, outcomes, decoded calls).

`@dataclass(frozen=True)` generates an `__init__` that assigns each field through `object.__setattr__` (a frozen
class refuses plain assignment); `fast_init` replaces it with one that writes the same values into the instance
dict directly, as the generated one ends up doing, at about half the cost. Same signature, same defaults, same
instance: `generated_init` keeps the dataclass's own `__init__` so tests compare the two.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Replace frozen dataclass `cls`'s generated `__init__` (decorate above `@dataclass(frozen=True)`).

    Only for what a plain generated `__init__` does: every field an init parameter, positional, with at most a
    plain default; no `__post_init__`, no `__slots__`, no field a class attribute intercepts. Anything else is
    refused at import, so a class never silently loses a check."""
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: fast_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init does not run __post_init__ nor fill slots")
    params: list[str] = []
    body: list[str] = []
    env: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init takes plain positional fields only")
        if hasattr(getattr(cls, f.name, None), "__set__"):
            raise TypeError(f"{cls.__name__}.{f.name}: a descriptor would intercept the field")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            env[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    fields[{f.name!r}] = {f.name}")
    source = "\n".join([f"def __init__(self, {', '.join(params)}):", "    fields = self.__dict__", *body])
    exec(source, env)  # noqa: S102 - built from the class's own field names, which are identifiers
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.generated_init = cls.__init__  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
