"""The runtime APIs in metadata V15: every function the node answers through `state_call`, with its arguments and its
result as the node encodes them (`btt_chain.rpc.runtime_api`), by Substrate's names (`sp_api::decl_runtime_apis!`).

`RUNTIME_API_METHODS` is the declaration; `runtime_apis(reg)` turns it into `RuntimeApiMetadata`, in the order of
`runtime.version.RUNTIME_APIS` (the APIs `Core_version` announces), and refuses an API announced there and not
declared here, or declared and not announced. A function FRAME's trait has and the node does not answer
(`Core_execute_block`, `Core_initialize_block`) is not listed: a client that finds it here would call it.
tests/runtime/test_metadata_v15.py holds each API's functions to the ones `state_call` dispatches, so a function
added to the node without its metadata (or the reverse) fails there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..metadata import api_types, frame_types
from ..metadata.registry import Registry
from ..metadata.v15 import RuntimeApiMetadata, RuntimeApiMethodMetadata, RuntimeApiParam
from ..version import RUNTIME_APIS

TypeOf = Callable[[Registry], int]


def _u32(reg: Registry) -> int:
    return reg.primitive("u32")


@dataclass(frozen=True)
class ApiMethod:
    name: str
    inputs: tuple[tuple[str, TypeOf], ...]
    output: TypeOf
    doc: str

    def metadata(self, reg: Registry) -> RuntimeApiMethodMetadata:
        params = tuple(RuntimeApiParam(name, ty(reg)) for name, ty in self.inputs)
        return RuntimeApiMethodMetadata(self.name, params, self.output(reg), (self.doc,))


@dataclass(frozen=True)
class Api:
    name: str
    methods: tuple[ApiMethod, ...]
    doc: str

    def metadata(self, reg: Registry) -> RuntimeApiMetadata:
        return RuntimeApiMetadata(self.name, tuple(m.metadata(reg) for m in self.methods), (self.doc,))


_EXTRINSIC: tuple[str, TypeOf] = ("uxt", frame_types.unchecked_extrinsic)
_LENGTH: tuple[str, TypeOf] = ("len", _u32)

RUNTIME_API_METHODS: tuple[Api, ...] = (
    Api("Core", (
        ApiMethod("version", (), frame_types.runtime_version, "Returns the version of the runtime."),
    ), "The `Core` runtime api that every Substrate runtime needs to implement."),
    Api("Metadata", (
        ApiMethod("metadata", (), api_types.opaque_metadata, "Returns the metadata of a runtime (V14)."),
        ApiMethod("metadata_at_version", (("version", _u32),), api_types.option_opaque_metadata,
                  "Returns the metadata at a given version; None if the version is not supported."),
        ApiMethod("metadata_versions", (), api_types.metadata_versions,
                  "Returns the supported metadata versions."),
    ), "The `Metadata` api trait that returns metadata for the runtime."),
    Api("AccountNonceApi", (
        ApiMethod("account_nonce", (("account", frame_types.account_id32),), _u32, "Get current account nonce of "
                  "given `AccountId`."),
    ), "The API to query account nonce."),
    Api("TransactionPaymentApi", (
        ApiMethod("query_info", (_EXTRINSIC, _LENGTH), api_types.runtime_dispatch_info,
                  "The weight, class and inclusion fee of an extrinsic (its signature is not checked)."),
        ApiMethod("query_fee_details", (_EXTRINSIC, _LENGTH), api_types.fee_details,
                  "The parts of an extrinsic's inclusion fee (its signature is not checked)."),
        ApiMethod("query_weight_to_fee", (("weight", frame_types.weight),), api_types.balance,
                  "The fee of a weight."),
        ApiMethod("query_length_to_fee", (("length", _u32),), api_types.balance,
                  "The fee of an encoded length."),
    ), "The fee an extrinsic pays, before sending it."),
    Api("TaggedTransactionQueue", (
        ApiMethod("validate_transaction", (
            ("source", api_types.transaction_source), ("tx", frame_types.unchecked_extrinsic),
            ("block_hash", frame_types.h256),
        ), api_types.transaction_validity,
            "Validate the transaction as the block after `block_hash` would (the transaction pool's check)."),
    ), "The `TaggedTransactionQueue` api trait for interfering with the transaction queue."),
)
"""Each API the node answers, with every function `state_call` dispatches for it."""


def runtime_apis(reg: Registry) -> tuple[RuntimeApiMetadata, ...]:
    """`RUNTIME_API_METHODS` as V15's `apis`, in `RUNTIME_APIS` order; ValueError if the two name different APIs."""
    declared = {api.name: api for api in RUNTIME_API_METHODS}
    announced = [name for name, _ in RUNTIME_APIS]
    if sorted(declared) != sorted(announced) or len(declared) != len(RUNTIME_API_METHODS):
        raise ValueError(f"runtime APIs announced by runtime.version ({sorted(announced)}) and declared for the "
                         f"metadata ({sorted(a.name for a in RUNTIME_API_METHODS)}) differ")
    return tuple(declared[name].metadata(reg) for name in announced)
