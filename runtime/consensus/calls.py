"""The consensus module has no calls: it runs in every block's initialisation."""

from __future__ import annotations

from runtime.consensus import logic
from runtime.dispatch import ModuleDef

MODULE = ModuleDef(index=11, name="consensus", on_initialize=logic.on_initialize)
