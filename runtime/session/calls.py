"""The session module has no calls: the bonds module computes the sets and the consensus hook rotates them."""

from __future__ import annotations

from runtime.dispatch import ModuleDef

MODULE = ModuleDef(index=3, name="session")
