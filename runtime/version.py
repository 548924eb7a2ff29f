"""The runtime's `RuntimeVersion`, as Substrate's `sp_version::RuntimeVersion` says it: names, versions and the runtime
APIs the node answers through `state_call`.

One description serves every place a client reads it, so they cannot disagree: `state_getRuntimeVersion` (JSON),
`Core_version` (SCALE), the metadata constant `System.Version` (SCALE, what polkadot-api builds `CheckSpecVersion`
and `CheckTxVersion` from) and the `:code` descriptor.

    RuntimeVersion = spec_name: str ++ impl_name: str ++ authoring_version: u32 ++ spec_version: u32
                     ++ impl_version: u32 ++ apis: Vec<([u8; 8], u32)> ++ transaction_version: u32
                     ++ system_version: u8

An API's id is the first 8 bytes of blake2b-512 of its trait name (`sp_api`'s `blake2_64`). Source: polkadot-sdk
`substrate/primitives/version/src/lib.rs`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.primitives import scale

if TYPE_CHECKING:
    from runtime.dispatch import Runtime

SPEC_NAME = "btt"
IMPL_NAME = "btt-chain"
AUTHORING_VERSION = 1
IMPL_VERSION = 1
SYSTEM_VERSION = 1
"""FRAME's `system_version` (formerly `state_version`): 1, the state layout clients assume for keys and proofs."""

RUNTIME_APIS: tuple[tuple[str, int], ...] = (
    ("Core", 4), ("Metadata", 2), ("AccountNonceApi", 1), ("TransactionPaymentApi", 4),
    ("TaggedTransactionQueue", 3),
)
"""The runtime APIs `state_call` answers, by trait name and version (`btt_chain.rpc.methods_state` serves them):
Metadata at version 2 offers `Metadata_metadata_versions`; TaggedTransactionQueue at 3 takes (source, extrinsic,
block hash)."""


def api_id(name: str) -> bytes:
    """A runtime API's 8-byte id: blake2b-64 of its trait name (`Core` -> 0xdf6acb689907609b)."""
    return hashlib.blake2b(name.encode(), digest_size=8).digest()


@dataclass(frozen=True)
class RuntimeVersion:
    """Substrate's `RuntimeVersion` of a runtime."""

    spec_name: str
    impl_name: str
    authoring_version: int
    spec_version: int
    impl_version: int
    apis: tuple[tuple[bytes, int], ...]
    """(8-byte API id, version) for each runtime API."""
    transaction_version: int
    system_version: int

    def encode(self) -> bytes:
        """The SCALE encoding (`Core_version`'s result, the `System.Version` constant)."""
        return b"".join((
            scale.encode_str(self.spec_name), scale.encode_str(self.impl_name),
            scale.encode_uint(self.authoring_version, 4), scale.encode_uint(self.spec_version, 4),
            scale.encode_uint(self.impl_version, 4),
            scale.encode_vec([api + scale.encode_uint(version, 4) for api, version in self.apis]),
            scale.encode_uint(self.transaction_version, 4), scale.encode_uint(self.system_version, 1),
        ))

    def to_json(self) -> dict[str, Any]:
        """The JSON `state_getRuntimeVersion` returns (`stateVersion`: Substrate's RPC keeps the old name)."""
        return {
            "specName": self.spec_name,
            "implName": self.impl_name,
            "authoringVersion": self.authoring_version,
            "specVersion": self.spec_version,
            "implVersion": self.impl_version,
            "apis": [["0x" + api.hex(), version] for api, version in self.apis],
            "transactionVersion": self.transaction_version,
            "stateVersion": self.system_version,
        }


def runtime_version(runtime: Runtime) -> RuntimeVersion:
    """The version of `runtime` (the same at every block: one runtime for the chain's life)."""
    return RuntimeVersion(
        SPEC_NAME, IMPL_NAME, AUTHORING_VERSION, runtime.spec_version, IMPL_VERSION,
        tuple((api_id(name), version) for name, version in RUNTIME_APIS), runtime.transaction_version,
        SYSTEM_VERSION,
    )
