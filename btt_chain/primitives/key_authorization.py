"""Key authorizations: an account's own signed word that a session key signs for it, portable between forks.

A validator moves its signing to a new session key with a transaction (`session.set_keys`, or the key it registers
with, `bonds.register_validator`). A coalition can have that transaction included on one fork only; on the other fork
the new key has no owner, and a vote or block it signed there could not be pinned on the account. A key
authorization carries the transaction itself, with what its signature was made against:

    KeyAuthorization = extrinsic (the signed extrinsic, as in a block) ++ birth_hash[32] ++ spec_version u32
                       ++ transaction_version u32

What it proves, checked by `key_authorization_problem` with no chain state:
- the extrinsic decodes strictly and its call is `session.set_keys` (module 3, call 0: keys = session key[32] ++
  hash-chain commitment[32], then the ownership proof as `Bytes`, at most 64) or `bonds.register_validator` (module
  7, call 5: session key[32] ++ commitment[32], then, from spec 17 on (`REGISTER_PROOF_SPEC`, by the spec version the
  authorization carries, which its signature commits to), the ownership proof as `Bytes` as `set_keys` has it), with
  no byte left over: a `register_validator` signed for spec 17 or later without a proof, or one signed for an older
  spec with one, names no key;
- where the call carries a proof (`set_keys`, and `register_validator` from spec 17), it is the named key's own
  ed25519 signature of "btt-session-keys" ++ account ++ key ++ commitment (the check `session.set_keys` and, from spec
  17, `bonds.register_validator` themselves make: the key's holder lets this account use it);
- the extrinsic's MultiSignature verifies against the signing payload rebuilt from the call, its era, nonce and tip,
  the spec and transaction versions, the birth block hash and the genesis hash of the chain that checks it. The
  payload commits to the genesis hash, so an authorization signed for another chain fails here.
So it proves that the account (the extrinsic's signer) asked, on some fork of this chain, for the named key to sign
for it. It need not have been included anywhere: a signed request is the account's word all the same.

Why a forged one cannot hurt anyone: the only account an authorization ever convicts is its own signer, and only the
signer's key can make the signature. A bad signature, another chain's genesis hash, another call, a tampered birth
hash or version, or a key other than the one named all fail the check (or name nothing the evidence holds). Without
a proof of possession (a `register_validator` signed for a spec before 17, which old forks' authorizations still
are), an account can name a key it does not hold: then it answers for what that key's holder signs, which only ever
hurts the account that signed the claim.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives import ed25519, scale
from btt_chain.primitives.codec import HASH, U32, Nested, Struct
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import Call, Extrinsic
from btt_chain.primitives.signatures import verify_multi

SESSION_MODULE = 3
SET_KEYS = 0
"""`session.set_keys(keys: SessionKeys, proof: Bytes)` (runtime/session/calls.py)."""
BONDS_MODULE = 7
REGISTER_VALIDATOR = 5
"""`bonds.register_validator(session_key, hash_chain_commitment, proof)` (runtime/bonds/calls.py; before spec 17
without `proof`)."""
REGISTER_PROOF_SPEC = 17
"""The first spec whose `register_validator` carries the key's proof of possession, as `set_keys` does."""
MAX_PROOF_BYTES = 64
"""`set_keys`'s proof (and `register_validator`'s from spec 17) is `Bytes(max_len=64)`."""
MAX_KEY_AUTHORIZATION_BYTES = 512
"""Largest encoded authorization accepted (a `set_keys` one is about 280 bytes)."""
SESSION_KEYS_DOMAIN = b"btt-session-keys"


def session_keys_ownership_message(owner: bytes, session_key: bytes, commitment: bytes) -> bytes:
    """What a session key signs to let `owner` use it (proof of possession), as `session.set_keys` checks it."""
    return SESSION_KEYS_DOMAIN + owner + session_key + commitment


@dataclass(frozen=True)
class NamedKey:
    """The session key a `set_keys` or `register_validator` call names, with its commitment and (`set_keys`, and
    `register_validator` from spec 17 on) the key's ownership proof."""

    session_key: bytes
    commitment: bytes
    proof: bytes | None


def named_key(call: Call, spec_version: int) -> NamedKey:
    """The key `call` names, read in the form of `spec_version`: a `register_validator` carries its proof from
    REGISTER_PROOF_SPEC on and none before. DecodeError if the call is neither `session.set_keys` nor
    `bonds.register_validator`, or its arguments do not decode strictly (to the last byte) in that spec's form."""
    args = call.args
    if (call.module, call.function) == (SESSION_MODULE, SET_KEYS):
        return _with_proof(args, "set_keys")
    if (call.module, call.function) == (BONDS_MODULE, REGISTER_VALIDATOR):
        if spec_version >= REGISTER_PROOF_SPEC:
            return _with_proof(args, f"register_validator (spec {spec_version})")
        if len(args) != 64:
            raise DecodeError(f"register_validator (spec {spec_version}): its arguments are 64 bytes, not {len(args)}")
        return NamedKey(args[:32], args[32:64], None)
    raise DecodeError(
        f"call ({call.module}, {call.function}) is neither session.set_keys ({SESSION_MODULE}, {SET_KEYS}) nor "
        f"bonds.register_validator ({BONDS_MODULE}, {REGISTER_VALIDATOR})"
    )


def form_spec(signed_for: int, running_spec: int | None) -> int:
    """The spec whose form a `register_validator` call signed for `signed_for` is read in, judged under the rules of
    `running_spec` (None: the newest's). A spec before REGISTER_PROOF_SPEC reads every one in the old form, as its own
    release did: an authorization's spec version is whatever its signer wrote, and a spec-16 chain's evidence must get
    the same verdict from every release that runs spec 16, or a self-convicting report signed "for spec 17" would
    split the releases before the upgrade."""
    if running_spec is not None and running_spec < REGISTER_PROOF_SPEC:
        return min(signed_for, REGISTER_PROOF_SPEC - 1)
    return signed_for


def _with_proof(args: bytes, name: str) -> NamedKey:
    """Session key[32] ++ commitment[32] ++ the proof as `Bytes` (at most MAX_PROOF_BYTES), to the last byte."""
    if len(args) < 64:
        raise DecodeError(f"{name}: its key and commitment are 64 bytes, then the proof")
    proof, end = scale.decode_bytes(args, 64, MAX_PROOF_BYTES)
    scale.finish(args, end, f"{name} arguments")
    return NamedKey(args[:32], args[32:64], proof)


@dataclass(frozen=True)
class KeyAuthorization(Struct):
    """A signed `session.set_keys` or `bonds.register_validator` extrinsic and what it was signed against."""

    extrinsic: Extrinsic
    """The signed extrinsic, as a block carries it."""
    birth_hash: bytes
    """The hash of the block its era was born at (the genesis hash for an immortal one)."""
    spec_version: int
    transaction_version: int

    WIRE = (
        ("extrinsic", Nested(Extrinsic)),
        ("birth_hash", HASH),
        ("spec_version", U32),
        ("transaction_version", U32),
    )

    @property
    def account(self) -> bytes:
        """The account the named key signs for: the extrinsic's signer."""
        return self.extrinsic.signer

    @property
    def session_key(self) -> bytes | None:
        """The key the call names, or None when the call names none (`key_authorization_problem` says why)."""
        try:
            return self.named_key().session_key
        except DecodeError:
            return None

    def named_key(self, running_spec: int | None = None) -> NamedKey:
        """The key, commitment and proof the call names, read in the form of the spec it was signed for (judged under
        `running_spec`'s rules: `form_spec`); DecodeError if it names none."""
        return named_key(self.extrinsic.call, form_spec(self.spec_version, running_spec))

    def signing_payload(self, genesis_hash: bytes) -> bytes:
        return self.extrinsic.signing_payload(genesis_hash, self.birth_hash, self.spec_version,
                                              self.transaction_version)


def decode_key_authorization(raw: bytes) -> KeyAuthorization:
    """An authorization from untrusted bytes: strictly, at most MAX_KEY_AUTHORIZATION_BYTES; DecodeError if not."""
    return KeyAuthorization.decode(raw, MAX_KEY_AUTHORIZATION_BYTES)


def key_authorization_problem(auth: KeyAuthorization, genesis_hash: bytes, running_spec: int | None = None
                              ) -> str | None:
    """Why `auth` does not prove that its signer asked, on the chain of `genesis_hash`, for the key it names to sign
    for it, judged by `running_spec`'s rules (`form_spec`; None: the newest's); None if it does."""
    try:
        key = auth.named_key(running_spec)
    except DecodeError as exc:
        return f"the authorization's call names no session key: {exc}"
    if key.proof is not None and not ed25519.verify(
        key.session_key, session_keys_ownership_message(auth.account, key.session_key, key.commitment), key.proof
    ):
        call = "set_keys" if auth.extrinsic.call.module == SESSION_MODULE else "register_validator"
        return f"the {call} proof is not 0x{key.session_key.hex()}'s signature for 0x{auth.account.hex()}"
    if not verify_multi(auth.account, auth.signing_payload(genesis_hash), auth.extrinsic.multi_signature):
        return "the authorization's signature does not verify for this chain, birth block and versions"
    return None
