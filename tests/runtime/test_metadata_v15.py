"""Metadata V15, decoded field by field by an independent strict decoder (tests/support/metadata_decoder.py) and held
to the runtime and to V14: the same pallets and types (V14's registry is the start of V15's, id for id), each pallet's
docs, the extrinsic by its parts, the outer call, event and error enums, and every runtime API with exactly the
functions `state_call` dispatches (btt_chain.rpc.runtime_api.RUNTIME_CALLS), their argument and result types."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from btt_chain.rpc.runtime_api import RUNTIME_CALLS
from runtime.metadata import METADATA_VERSIONS, apis, build_metadata, build_metadata_v15
from runtime.metadata.catalog import pallet_sources
from runtime.modules import RUNTIME
from runtime.specs import PACKAGES, package_module, runtime_of
from runtime.version import RUNTIME_APIS
from tests.support.metadata_decoder import decode_metadata, describe, path_of
from tests.support.metadata_fixtures import CONSTANTS

SIGNED_EXTENSIONS = ["CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality",
                     "CheckNonce", "CheckWeight", "ChargeTransactionPayment"]
UXT = "sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic"

SIGNATURES = {
    "Core_version": ([], "sp_version::RuntimeVersion"),
    "Metadata_metadata": ([], "sp_core::OpaqueMetadata"),
    "Metadata_metadata_at_version": ([("version", "u32")], "Option<sp_core::OpaqueMetadata>"),
    "Metadata_metadata_versions": ([], "Vec<u32>"),
    "AccountNonceApi_account_nonce": ([("account", "sp_core::crypto::AccountId32")], "u32"),
    "TransactionPaymentApi_query_info": ([("uxt", UXT), ("len", "u32")],
                                         "pallet_transaction_payment::types::RuntimeDispatchInfo"),
    "TransactionPaymentApi_query_fee_details": ([("uxt", UXT), ("len", "u32")],
                                                "pallet_transaction_payment::types::FeeDetails"),
    "TransactionPaymentApi_query_weight_to_fee": ([("weight", "sp_weights::weight_v2::Weight")], "u128"),
    "TransactionPaymentApi_query_length_to_fee": ([("length", "u32")], "u128"),
    "TaggedTransactionQueue_validate_transaction": (
        [("source", "sp_runtime::transaction_validity::TransactionSource"), ("tx", UXT),
         ("block_hash", "primitive_types::H256")],
        "Result<sp_runtime::transaction_validity::ValidTransaction, "
        "sp_runtime::transaction_validity::TransactionValidityError>"),
}
"""Every runtime API function with its arguments and result as the node encodes them (btt_chain.rpc.runtime_api)."""


@pytest.fixture(scope="module")
def v14_bytes() -> bytes:
    return build_metadata(RUNTIME, CONSTANTS)


@pytest.fixture(scope="module")
def v15_bytes() -> bytes:
    return build_metadata_v15(RUNTIME, CONSTANTS)


@pytest.fixture(scope="module")
def v14(v14_bytes: bytes) -> dict[str, Any]:
    return decode_metadata(v14_bytes)


@pytest.fixture(scope="module")
def v15(v15_bytes: bytes) -> dict[str, Any]:
    return decode_metadata(v15_bytes)


def functions(meta: dict[str, Any]) -> set[str]:
    return {f"{api['name']}_{m['name']}" for api in meta["apis"] for m in api["methods"]}


# --- layout --------------------------------------------------------------------------------------------------------


def test_prefix_and_strict_layout(v15_bytes: bytes, v15: dict[str, Any]) -> None:
    assert v15_bytes[:5] == b"meta\x0f" and v15["version"] == 15
    assert v15["custom"] == []
    with pytest.raises(ValueError, match="trailing"):
        decode_metadata(v15_bytes + b"\x00")
    with pytest.raises(ValueError):
        decode_metadata(v15_bytes[:-1])


def test_v14_types_are_the_start_of_v15s_id_for_id(v14: dict[str, Any], v15: dict[str, Any]) -> None:
    assert len(v15["types"]) > len(v14["types"])
    for type_id, ty in v14["types"].items():
        assert v15["types"][type_id] == ty, type_id
    assert v15["ty"] == v14["ty"] and path_of(v15["types"], v15["ty"]) == "btt_runtime::Runtime"


def test_pallets_are_v14s_with_docs(v14: dict[str, Any], v15: dict[str, Any]) -> None:
    assert [{k: v for k, v in p.items() if k != "docs"} for p in v15["pallets"]] == v14["pallets"]
    sources = {p.name: p for p in pallet_sources(RUNTIME)}
    assert [p["name"] for p in v15["pallets"]] == [p.name for p in sorted(sources.values(), key=lambda p: p.index)]
    for pallet in v15["pallets"]:
        assert len(pallet["docs"]) == 1 and pallet["docs"][0], pallet["name"]
        package = importlib.import_module(f"runtime.{sources[pallet['name']].module}")
        assert pallet["docs"][0].split()[:4] == (package.__doc__ or "").split()[:4], pallet["name"]
    balances = next(p for p in v15["pallets"] if p["name"] == "Balances")
    assert balances["docs"][0].startswith("Module `balances`: transfers, burns") and "\n" not in balances["docs"][0]


def test_extrinsic_by_its_parts(v14: dict[str, Any], v15: dict[str, Any]) -> None:
    types, ext = v15["types"], v15["extrinsic"]
    assert ext["version"] == 4
    assert path_of(types, ext["address_type"]) == "sp_runtime::multiaddress::MultiAddress"
    assert path_of(types, ext["signature_type"]) == "sp_runtime::MultiSignature"
    assert ext["call_type"] == v15["outer_enums"]["call"]
    assert [e["identifier"] for e in ext["signed_extensions"]] == SIGNED_EXTENSIONS
    assert ext["signed_extensions"] == v14["extrinsic"]["signed_extensions"]
    assert types[ext["extra_type"]]["def"] == ("tuple", [e["type"] for e in ext["signed_extensions"]])
    # the same parts V14's UncheckedExtrinsic names by its type parameters
    params = {p["name"]: p["type"] for p in types[v14["extrinsic"]["type"]]["params"]}
    assert params == {"Address": ext["address_type"], "Call": ext["call_type"],
                      "Signature": ext["signature_type"], "Extra": ext["extra_type"]}


@pytest.mark.parametrize(("kind", "path"), [
    ("call", "btt_runtime::RuntimeCall"), ("event", "btt_runtime::RuntimeEvent"),
    ("error", "btt_runtime::RuntimeError"),
])
def test_outer_enums_hold_each_pallets_enum_at_its_index(v15: dict[str, Any], kind: str, path: str) -> None:
    types = v15["types"]
    outer = v15["outer_enums"][kind]
    assert path_of(types, outer) == path
    key = {"call": "calls", "event": "event", "error": "error"}[kind]
    expected = {(p["name"], p["index"], p[key]) for p in v15["pallets"] if p[key] is not None}
    kind_def = types[outer]["def"]
    assert kind_def[0] == "variant"
    found = {(v["name"], v["index"], v["fields"][0]["type"]) for v in kind_def[1] if len(v["fields"]) == 1}
    assert found == expected and len(kind_def[1]) == len(expected)
    if kind == "error":
        assert ("Balances", 1) in {(name, index) for name, index, _ in found}


# --- runtime APIs --------------------------------------------------------------------------------------------------


def test_apis_are_the_announced_ones_in_order(v15: dict[str, Any]) -> None:
    assert [a["name"] for a in v15["apis"]] == [name for name, _ in RUNTIME_APIS]
    assert all(a["docs"] and all(m["docs"] for m in a["methods"]) for a in v15["apis"])


def test_every_api_lists_exactly_the_functions_state_call_dispatches(v15: dict[str, Any]) -> None:
    listed, served = functions(v15), set(RUNTIME_CALLS)
    assert listed == served, (f"in the metadata, not served: {sorted(listed - served)}; "
                              f"served, not in the metadata (add them to runtime/metadata/apis.py): "
                              f"{sorted(served - listed)}")


def test_each_function_has_the_types_the_node_encodes(v15: dict[str, Any]) -> None:
    types = v15["types"]
    found = {f"{api['name']}_{m['name']}": ([(i["name"], describe(types, i["type"])) for i in m["inputs"]],
                                            describe(types, m["output"]))
             for api in v15["apis"] for m in api["methods"]}
    assert found == SIGNATURES


def test_transaction_validity_types_are_frames(v15: dict[str, Any]) -> None:
    types = v15["types"]

    def variants(path: str) -> list[tuple[str, int, list[str]]]:
        (ty,) = [t for t in types.values() if "::".join(t["path"]) == path]
        return [(v["name"], v["index"], [describe(types, f["type"]) for f in v["fields"]]) for v in ty["def"][1]]

    invalid = variants("sp_runtime::transaction_validity::InvalidTransaction")
    assert [name for name, _, _ in invalid][:11] == [
        "Call", "Payment", "Future", "Stale", "BadProof", "AncientBirthBlock", "ExhaustsResources", "Custom",
        "BadMandatory", "MandatoryValidation", "BadSigner"]
    assert [i for _, i, _ in invalid] == list(range(len(invalid))) and invalid[7][2] == ["u8"]
    assert variants("sp_runtime::transaction_validity::UnknownTransaction") == [
        ("CannotLookup", 0, []), ("NoUnsignedValidator", 1, []), ("Custom", 2, ["u8"])]
    assert variants("sp_runtime::transaction_validity::TransactionSource") == [
        ("InBlock", 0, []), ("Local", 1, []), ("External", 2, [])]
    (valid,) = [t for t in types.values() if t["path"][-1:] == ["ValidTransaction"]]
    assert [(f["name"], describe(types, f["type"])) for f in valid["def"][1]] == [
        ("priority", "u64"), ("requires", "Vec<Vec<u8>>"), ("provides", "Vec<Vec<u8>>"), ("longevity", "u64"),
        ("propagate", "bool")]


def test_an_announced_api_without_metadata_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apis, "RUNTIME_APIS", (*RUNTIME_APIS, ("BlockBuilder", 6)))
    with pytest.raises(ValueError, match="BlockBuilder"):
        build_metadata_v15(RUNTIME, CONSTANTS)
    monkeypatch.setattr(apis, "RUNTIME_APIS", RUNTIME_APIS[1:])  # one declared and no longer announced
    with pytest.raises(ValueError, match="Core"):
        build_metadata_v15(RUNTIME, CONSTANTS)


def test_a_function_named_twice_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    core = apis.RUNTIME_API_METHODS[0]
    doubled = apis.Api(core.name, core.methods * 2, core.doc)
    monkeypatch.setattr(apis, "RUNTIME_API_METHODS", (doubled, *apis.RUNTIME_API_METHODS[1:]))
    with pytest.raises(ValueError, match="named twice"):
        build_metadata_v15(RUNTIME, CONSTANTS)


# --- every spec, determinism ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", sorted(PACKAGES))
def test_each_spec_serving_v15_builds_it_from_its_own_pallets(spec: int) -> None:
    """A spec from before V15 serves V14 only; one that serves V15 has V14's types and pallets in it."""
    meta = package_module(spec, "runtime.metadata")
    versions = getattr(meta, "METADATA_VERSIONS", (14,))
    assert 14 in versions and set(versions) <= {14, 15}
    if 15 not in versions:
        assert not hasattr(meta, "build_metadata_v15")
        return
    runtime = runtime_of(spec)
    constants = meta.ChainConstants(42, 2400, 10**15, package_module(spec, "runtime.version").runtime_version(runtime),
                                    meta.BlockLimits(10**6, 4 << 20))
    old, new = decode_metadata(meta.build_metadata(runtime, constants)), decode_metadata(
        meta.build_metadata_v15(runtime, constants))
    assert all(new["types"][i] == t for i, t in old["types"].items())
    assert [p["name"] for p in new["pallets"]] == [p["name"] for p in old["pallets"]]


def test_live_runtime_serves_v14_and_v15() -> None:
    assert METADATA_VERSIONS == (14, 15)


def test_building_twice_gives_the_same_bytes(v15_bytes: bytes) -> None:
    assert build_metadata_v15(RUNTIME, CONSTANTS) == v15_bytes
