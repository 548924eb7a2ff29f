"""A clinic's private job off chain (issue 51): its cases with decoys mixed in, the commitment it posts, the items
sealed to the provider drawn, the decoy reveal, and reading the results sealed back to it.

Everything the clinic must keep until the job ends is in one `PrivateOrder`, written to a file before the job is
posted (`save`): the items in job order, the decoy positions, the salt and the clinic's sealing secret. Without it a
clinic could not reveal its decoys (and would lose its deposit) nor read its results. The file holds the clinic's
real cases: it stays on the clinic's machine, with the clinic's key, readable by the clinic's user only (mode 0600 in a
0700 directory, as the keystore's key files).

Decoys come from the model's decoy generator (`btt_chain.models.decoys`), drawn from a secret seed fresh per job and
kept away from the job's real cases and the model's published ones; their classes follow the clinic's own mix where
its cases carry labels (a provider sees every item's predicted class).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from btt_chain.consensus.durable import write_json_durably
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hashing import merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from btt_chain.primitives.sealed_cases import (
    CASE,
    RESULT,
    BoxKeypair,
    BoxPublicKey,
    SealBinding,
    SealError,
    decoy_commitment,
    decoy_item_hash,
    item_secret,
    open_item,
    seal_item,
)
from runtime.compute.types import DecoyOpening

FORMAT_VERSION = 1


class OrderError(ConfigError):
    """A private order cannot be made, read or used as asked."""


@dataclass
class PrivateOrder:
    """One private job as its clinic holds it."""

    model: bytes
    items: list[bytes]
    """Every item in job order: the real cases and the decoys."""
    positions: tuple[int, ...]
    """The decoys' positions, increasing."""
    salt: bytes
    secret: bytes
    """The clinic's sealing secret for this job: each item's ephemeral key derives from it (`item_secret`)."""
    labels: list[int | None] = field(default_factory=list)
    """Per item: the true class where the clinic's case file (or the decoy generator) gives one."""
    job_id: int | None = None
    provider_key: bytes | None = None
    """The box key the items were sealed to (the provider drawn)."""

    @property
    def real(self) -> list[int]:
        return [i for i in range(len(self.items)) if i not in set(self.positions)]

    def commitment(self) -> bytes:
        hashes = [decoy_item_hash(self.items[p]) for p in self.positions]
        return decoy_commitment(self.salt, len(self.items), self.positions, hashes)

    # sealing ------------------------------------------------------------------------------------------------
    def binding(self, genesis: bytes, index: int, direction: int = CASE) -> SealBinding:
        if self.job_id is None:
            raise OrderError("the order has no job id yet: it is posted first")
        return SealBinding(genesis, self.job_id, index, direction)

    def item_esk(self, genesis: bytes, index: int, key: BoxPublicKey) -> bytes:
        return item_secret(self.secret, self.binding(genesis, index), key, self.items[index])

    def sealed(self, genesis: bytes, provider_key: bytes) -> list[bytes]:
        """Every item sealed to `provider_key` as this chain's job and item."""
        key = BoxPublicKey(provider_key)
        return [seal_item(x, key, self.item_esk(genesis, i, key), self.binding(genesis, i))
                for i, x in enumerate(self.items)]

    def sealed_root(self, genesis: bytes, provider_key: bytes) -> bytes:
        return merkle_root(self.sealed(genesis, provider_key))

    def decoy_openings(self, genesis: bytes, provider_key: bytes) -> tuple[DecoyOpening, ...]:
        """`compute.reveal_decoys`'s openings: each decoy's case, ephemeral secret and its sealed item's path."""
        key = BoxPublicKey(provider_key)
        levels = merkle_levels(self.sealed(genesis, provider_key))
        return tuple(DecoyOpening(p, self.items[p], self.item_esk(genesis, p, key), merkle_proof(levels, p))
                     for p in self.positions)

    def read_results(self, genesis: bytes, keypair: BoxKeypair, sealed_outputs: Sequence[bytes]) -> list[bytes | None]:
        """The provider's outputs opened with the clinic's key (None for one that does not open)."""
        out: list[bytes | None] = []
        for i, s in enumerate(sealed_outputs):
            try:
                out.append(open_item(s, keypair, self.binding(genesis, i, RESULT)))
            except SealError:
                out.append(None)
        return out

    # the file ----------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION, "model": self.model.hex(), "items": [x.hex() for x in self.items],
            "positions": list(self.positions), "salt": self.salt.hex(), "secret": self.secret.hex(),
            "labels": self.labels, "jobId": self.job_id,
            "providerKey": None if self.provider_key is None else self.provider_key.hex(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PrivateOrder:
        if doc.get("version") != FORMAT_VERSION:
            raise OrderError(f"unknown private order format {doc.get('version')!r}")
        return cls(bytes.fromhex(doc["model"]), [bytes.fromhex(x) for x in doc["items"]],
                   tuple(int(p) for p in doc["positions"]), bytes.fromhex(doc["salt"]), bytes.fromhex(doc["secret"]),
                   list(doc.get("labels") or []), doc.get("jobId"),
                   None if doc.get("providerKey") is None else bytes.fromhex(doc["providerKey"]))

    def save(self, path: Path) -> None:
        """Written durably before each step that needs it later (the post, the sealing): mode 0600 from its creation
        in a 0700 directory (it holds the real cases and the secret that opens every sealed item of the job)."""
        write_json_durably(path, self.to_json(), private=True)

    @classmethod
    def load(cls, path: Path) -> PrivateOrder:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OrderError(f"{path}: not a readable private order: {exc}") from None


def mix(model: bytes, cases: Sequence[bytes], decoys: Sequence[bytes], case_labels: Sequence[int | None] = (),
        decoy_labels: Sequence[int | None] = ()) -> PrivateOrder:
    """An order of `cases` with `decoys` placed at uniformly random positions (the operating system's randomness),
    a fresh salt and a fresh sealing secret."""
    if not cases or not decoys:
        raise OrderError("a private job needs at least one case and one decoy")
    n = len(cases) + len(decoys)
    rng = secrets.SystemRandom()
    positions = tuple(sorted(rng.sample(range(n), len(decoys))))
    items: list[bytes] = []
    labels: list[int | None] = []
    real, fake = iter(zip(cases, list(case_labels) or [None] * len(cases), strict=True)), \
        iter(zip(decoys, list(decoy_labels) or [None] * len(decoys), strict=True))
    for i in range(n):
        x, label = next(fake) if i in positions else next(real)
        items.append(bytes(x))
        labels.append(label)
    return PrivateOrder(model, items, positions, secrets.token_bytes(32), secrets.token_bytes(32), labels)


def shuffled(order: PrivateOrder) -> PrivateOrder:
    """`order`'s very items (its cases and its decoys, each with its label) in a fresh uniformly random order (the
    operating system's randomness), the decoys' positions wherever they fell, a fresh salt and a fresh sealing secret:
    the order a failed job's cases are posted again in while its decoys were never disclosed (`private_clinic`). A
    provider that saw both jobs sees the same items twice, in unrelated orders, under unrelated commitments and
    ciphertexts: which of them are the cases it learns nothing about. Not yet posted (no job id, no provider key)."""
    rng = secrets.SystemRandom()
    perm = list(range(len(order.items)))
    rng.shuffle(perm)
    labels = order.labels or [None] * len(order.items)
    decoys = set(order.positions)
    return PrivateOrder(order.model, [order.items[i] for i in perm],
                        tuple(k for k, i in enumerate(perm) if i in decoys), secrets.token_bytes(32),
                        secrets.token_bytes(32), [labels[i] for i in perm])
