"""Events of the roles module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, U32, Text
from runtime.events import Event

from ..roles.types import MAX_ACTIVITY_NAME


@dataclass(frozen=True)
class VerifierAppointed(Event):
    """Governance appointed an asset verifier."""

    MODULE: ClassVar[str] = "roles"
    who: bytes
    WIRE = (("who", ACCOUNT),)


@dataclass(frozen=True)
class VerifierRemoved(Event):
    """Governance removed an asset verifier."""

    MODULE: ClassVar[str] = "roles"
    who: bytes
    WIRE = (("who", ACCOUNT),)


@dataclass(frozen=True)
class OracleAppointed(Event):
    """Governance appointed a health oracle for one activity type."""

    MODULE: ClassVar[str] = "roles"
    activity: str
    who: bytes
    WIRE = (("activity", Text(MAX_ACTIVITY_NAME)), ("who", ACCOUNT))


@dataclass(frozen=True)
class OracleRemoved(Event):
    """Governance removed a health oracle of one activity type."""

    MODULE: ClassVar[str] = "roles"
    activity: str
    who: bytes
    WIRE = (("activity", Text(MAX_ACTIVITY_NAME)), ("who", ACCOUNT))


@dataclass(frozen=True)
class RepresentativesChanged(Event):
    """Governance replaced the community representatives; `count` accounts sit in the house now."""

    MODULE: ClassVar[str] = "roles"
    count: int
    WIRE = (("count", U32),)


EVENTS = (
    VerifierAppointed,
    VerifierRemoved,
    OracleAppointed,
    OracleRemoved,
    RepresentativesChanged,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
