"""The session module has no calls yet: the set is fixed at genesis until staking adds bonding."""

from __future__ import annotations

from runtime.dispatch import ModuleDef

MODULE = ModuleDef(index=3, name="session")
