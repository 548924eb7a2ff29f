"""The key authorizations a node keeps: for every session key named by a `session.set_keys` or
`bonds.register_validator` that succeeded in a block this node executed, that signed extrinsic with what it was signed
against (`btt_chain.primitives.key_authorization`), and the ones peers sent it (verified before they are kept).

An authorization is the account's own signature asking for the key to sign for it, valid on every fork alike: it is how
a node places a key that no set on its own chain names (a coalition's key rotated on a fork this node never executed:
issue 49, finding 1), so that the finality tracker judges that key's votes as the account's
(`CheckpointView.key_owner`), and how a slashing report convinces a chain that never saw the key (`evidence` calls 2
and 3). Nodes serve theirs to peers over `keys/auth`. Kept in the chain database (`schema.KEY_AUTHORIZATION`): a few
hundred bytes per rotation, which are rare.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Extrinsic
from btt_chain.primitives.key_authorization import (
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


class KeyAuthorizations:
    """Session key -> its verified authorization (see the module docstring)."""

    def __init__(self, chain: Chain, spec_version: int) -> None:
        self.chain = chain
        self.spec_version = spec_version
        self._owners: dict[bytes, bytes] = {}
        """Session key -> account, for the authorizations read or written in this run (the rest are on disk)."""

    def owner(self, session_key: bytes) -> bytes | None:
        """The account a key signs for, by its kept authorization; None if none is kept."""
        account = self._owners.get(session_key)
        if account is None:
            auth = self.get(session_key)
            if auth is None:
                return None
            account = self._owners[session_key] = auth.account
        return account

    def get(self, session_key: bytes) -> KeyAuthorization | None:
        raw = self.chain.db.key_authorization(session_key)
        if raw is None:
            return None
        try:
            return decode_key_authorization(raw)
        except DecodeError:
            log.warning("the key authorization kept for 0x%s does not decode: the database is damaged",
                        session_key.hex()[:16])
            return None

    def encoded(self, session_key: bytes) -> bytes | None:
        return self.chain.db.key_authorization(session_key)

    def add(self, raw: bytes) -> KeyAuthorization | None:
        """Keep an authorization a peer sent, once verified for this chain; None (nothing kept) if it does not hold."""
        try:
            auth = decode_key_authorization(raw)
        except DecodeError:
            return None
        key = auth.session_key
        if key is None or key_authorization_problem(auth, self.chain.genesis_hash) is not None:
            return None
        self._keep(key, auth)
        return auth

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
            if not isinstance(xt, Extrinsic) or self.chain.db.key_authorization(event.session_key) is not None:
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

    def _keep(self, key: bytes, auth: KeyAuthorization) -> None:
        self.chain.db.store_key_authorization(key, auth.encode())
        self._owners[key] = auth.account
