"""Storage of the treasury module: the milestone burns named in the genesis file."""

from __future__ import annotations

from btt_chain.primitives.codec import Nested

from ..items import StorageMap, str_from_key, str_key
from ..treasury.types import Milestone

M = "treasury"

milestones: StorageMap[Milestone] = StorageMap(M, "milestones", Nested(Milestone), str_key, str_from_key)
"""Milestone name -> its amount and whether it has been burned (genesis milestones are stored burned)."""
