"""The key authorizations a node keeps: for every session key named by a `session.set_keys` or
`bonds.register_validator` that succeeded in a block this node executed, that signed extrinsic with what it was signed
against (`btt_chain.primitives.key_authorization`), and the ones peers sent it (verified before they are kept).

An authorization is the account's own signature asking for the key to sign for it, valid on every fork alike: it is how
a node places a key that no set on its own chain names (a coalition's key rotated on a fork this node never executed:
issue 49, finding 1), so that the finality tracker judges that key's votes as the account's
(`CheckpointView.key_owner`), and how a slashing report convinces a chain that never saw the key (`evidence` calls 2
and 3). Nodes serve theirs to peers over `keys/auth`. Kept in the chain database (`schema.KEY_AUTHORIZATION`): a few
hundred bytes per rotation, which are rare.

A key may have several claimants: a `register_validator` signed for a spec before 17 carries no proof that its signer
holds the key (from spec 17 it carries the key's proof of possession, as `set_keys` always has), so with an old-spec
one any account can name somebody else's key (issue 49, finding 1 of the review: a throwaway account claiming the key
a coalition member rotated to on its fork), and such claims stay valid on every fork: an authorization is checked by
the spec it was signed for. Such a claim only ever binds its own signer, but a node that kept one claimant per key
would let the first claim hide the genuine one. So every verified claim is kept, at most MAX_CLAIMANTS_PER_KEY
accounts a key (a claim with a proof of possession, a `set_keys` or a spec-17 `register_validator`, before one
without, and it displaces one without when the key is full), and the finality tracker counts a key for a claimant
that holds stake (`ChainTargetSets.key_owner`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Container
from typing import TYPE_CHECKING

from btt_chain.primitives.codec import Bytes, ListOf, decode_field
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Extrinsic
from btt_chain.primitives.key_authorization import (
    MAX_KEY_AUTHORIZATION_BYTES,
    KeyAuthorization,
    decode_key_authorization,
    key_authorization_problem,
)
from runtime.bonds.events import ValidatorRegistered
from runtime.events import is_event
from runtime.session.events import SessionKeysSet

if TYPE_CHECKING:
    from btt_chain.node.chain import Chain, ImportedBlock

log = logging.getLogger("btt.finality")

MAX_KEYS_PER_REQUEST = 64
"""Keys one `keys/auth` request may ask for (a justification names at most a set's members; the unplaced few)."""
MAX_CLAIMANTS_PER_KEY = 4
"""Accounts whose claims on one key are kept (a claim is an account's signed `set_keys` or `register_validator`)."""
CACHED_KEYS = 4096
"""Keys whose claims are kept decoded in memory (the owner lookup runs once a vote of a key no set names)."""

_CLAIMS = ListOf(Bytes(max_len=MAX_KEY_AUTHORIZATION_BYTES), MAX_CLAIMANTS_PER_KEY)
"""The record kept under `schema.KEY_AUTHORIZATION`: the encoded claims on one key, best first. A record written
before several were kept is one encoded `KeyAuthorization`, read as a list of one: its first byte is a two-byte
compact length (an extrinsic is over 63 bytes), which as a count of claims is over MAX_CLAIMANTS_PER_KEY, so the two
forms never read as each other."""


def has_possession_proof(auth: KeyAuthorization) -> bool:
    """Whether the claim carries the key's own signature for its account (a `set_keys`, or a `register_validator`
    signed for spec 17 or later; checked when it was kept)."""
    try:
        return auth.named_key().proof is not None
    except DecodeError:
        return False


class KeyAuthorizations:
    """Session key -> the verified claims on it, each an account's authorization (see the module docstring)."""

    def __init__(self, chain: Chain, spec_version: int) -> None:
        self.chain = chain
        self.spec_version = spec_version
        self._claims: OrderedDict[bytes, tuple[KeyAuthorization, ...]] = OrderedDict()
        """Session key -> its claims, best first, for the newest CACHED_KEYS keys looked up (the rest are on disk)."""

    def claims(self, session_key: bytes) -> tuple[KeyAuthorization, ...]:
        """The verified claims kept on a key, best first: those with a proof of possession, then in the order kept."""
        cached = self._claims.get(session_key)
        if cached is None:
            cached = self._read(session_key)
            self._cache(session_key, cached)
        else:
            self._claims.move_to_end(session_key)
        return cached

    def owner(self, session_key: bytes, holds_stake: Callable[[bytes], bool] | None = None) -> bytes | None:
        """The account a key signs for by its kept claims: the best claimant for which `holds_stake` says yes (any,
        without it); None if no claim is kept, or no claimant holds stake."""
        for auth in self.claims(session_key):
            if holds_stake is None or holds_stake(auth.account):
                return auth.account
        return None

    def authorization(self, session_key: bytes, account: bytes) -> KeyAuthorization | None:
        """The kept claim of `account` on a key, if any."""
        return next((a for a in self.claims(session_key) if a.account == account), None)

    def get(self, session_key: bytes) -> KeyAuthorization | None:
        """The best claim kept on a key, if any."""
        return next(iter(self.claims(session_key)), None)

    def encoded(self, session_key: bytes) -> bytes | None:
        """The best claim kept on a key, encoded (what `keys/auth` serves), if any."""
        auth = self.get(session_key)
        return None if auth is None else auth.encode()

    def encoded_all(self, session_key: bytes) -> list[bytes]:
        """Every claim kept on a key, best first, encoded."""
        return [a.encode() for a in self.claims(session_key)]

    def add(self, raw: bytes, asked: Container[bytes] | None = None) -> KeyAuthorization | None:
        """Keep a claim a peer sent, once verified for this chain, beside those kept on its key; None (nothing new
        kept) if it names a key not in `asked` (when given), does not verify, its account has a claim on the key
        already, or the key is full (see `_keep`)."""
        try:
            auth = decode_key_authorization(raw)
        except DecodeError:
            return None
        key = auth.session_key
        if key is None or (asked is not None and key not in asked):
            return None
        if key_authorization_problem(auth, self.chain.genesis_hash) is not None:
            return None
        return auth if self._keep(key, auth) else None

    def record_block(self, imported: ImportedBlock) -> None:
        """Keep the authorizations of a block this node executed: the extrinsics behind its `SessionKeysSet` and
        `ValidatorRegistered` events (a successful call names the key, and its signer is the account)."""
        result = imported.result
        if result is None:
            return
        for phase, event in result.events:
            if not (is_event(event, SessionKeysSet) or is_event(event, ValidatorRegistered)) or not 0 <= phase < len(
                    imported.block.extrinsics):
                continue
            xt = imported.block.extrinsics[phase]
            if not isinstance(xt, Extrinsic) or self.authorization(event.session_key, xt.signer) is not None:
                continue
            birth = self._birth_hash(xt, imported.block.header.number)
            if birth is None:
                continue
            auth = KeyAuthorization(xt, birth, result.spec_version or self.spec_version, TRANSACTION_VERSION)
            if auth.session_key == event.session_key and key_authorization_problem(auth, self.chain.genesis_hash) \
                    is None:
                self._keep(event.session_key, auth)

    def _birth_hash(self, xt: Extrinsic, number: int) -> bytes | None:
        if xt.era.immortal:
            return self.chain.genesis_hash
        return self.chain.db.canonical_hash(xt.era.birth(number))

    def _keep(self, key: bytes, auth: KeyAuthorization) -> bool:
        """Add a verified claim to those on `key`: one per account; with MAX_CLAIMANTS_PER_KEY kept, a claim with a
        proof of possession displaces the newest one without (only the key's holder can make it, so no flood of
        throwaway claims shuts the genuine one out), and any other is dropped. Whether it was kept."""
        kept = self.claims(key)
        if any(a.account == auth.account for a in kept):
            return False
        proven = has_possession_proof(auth)
        if len(kept) >= MAX_CLAIMANTS_PER_KEY:
            unproven = [i for i, a in enumerate(kept) if not has_possession_proof(a)]
            if not proven or not unproven:
                log.info("key 0x%s has %d claimants already: the claim of 0x%s is not kept", key.hex()[:16],
                         len(kept), auth.account.hex()[:16])
                return False
            kept = kept[:unproven[-1]] + kept[unproven[-1] + 1:]
        claims = tuple(sorted((*kept, auth), key=lambda a: not has_possession_proof(a)))  # stable: else as kept
        self.chain.db.store_key_authorization(key, _CLAIMS.encode_scale([a.encode() for a in claims]))
        self._cache(key, claims)
        return True

    def _read(self, key: bytes) -> tuple[KeyAuthorization, ...]:
        raw = self.chain.db.key_authorization(key)
        if raw is None:
            return ()
        try:
            try:
                items: tuple[bytes, ...] = decode_field(_CLAIMS, raw)
            except DecodeError:
                items = (raw,)  # a record written before several claims were kept
            return tuple(decode_key_authorization(item) for item in items)
        except DecodeError:
            log.warning("the key authorizations kept for 0x%s do not decode: the database is damaged", key.hex()[:16])
            return ()

    def _cache(self, key: bytes, claims: tuple[KeyAuthorization, ...]) -> None:
        self._claims[key] = claims
        self._claims.move_to_end(key)
        while len(self._claims) > CACHED_KEYS:
            self._claims.popitem(last=False)
