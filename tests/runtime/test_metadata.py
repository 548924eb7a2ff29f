"""Metadata V14: decoded by scalecodec (the codec under substrate-interface) as an oracle and checked against the
runtime: pallets, calls, events, errors, storage, constants, signed extensions and the FRAME types clients key on."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

import runtime
from btt_chain.primitives.codec import Field, Struct
from runtime import storage_schema
from runtime.errors import ModuleError
from runtime.events import Event
from runtime.metadata import build_metadata, error_index, event_index
from runtime.metadata.catalog import METADATA_ONLY_PALLETS, pallet_sources
from runtime.metadata.types import field_type_name
from runtime.modules import RUNTIME
from runtime.specs import PACKAGES, SHARED, absent_in, package_module, runtime_of
from tests.support.metadata_fixtures import CONSTANTS, TEST_ENTRIES, FrameAccountInfo, event_records

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def metadata_bytes() -> bytes:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(storage_schema, "ENTRIES", list(TEST_ENTRIES))
        return build_metadata(RUNTIME, CONSTANTS)


@dataclass
class Decoded:
    obj: Any
    rc: RuntimeConfigurationObject
    v14: dict[str, Any]
    types: dict[int, dict[str, Any]]
    pallets: dict[str, dict[str, Any]]

    def by_path(self, path: str) -> tuple[int, dict[str, Any]]:
        found = [(i, t) for i, t in self.types.items() if "::".join(t["path"]) == path]
        assert len(found) == 1, f"{path}: {len(found)} types"
        return found[0]

    def variants(self, type_id: int) -> dict[str, dict[str, Any]]:
        return {v["name"]: v for v in self.types[type_id]["def"]["variant"]["variants"]}

    def describe(self, type_id: int) -> str:
        """A type as Rust would write it (for readable assertions)."""
        t = self.types[type_id]
        d = t["def"]
        if t["path"]:
            return "::".join(t["path"])
        if "primitive" in d:
            return str(d["primitive"])
        if "compact" in d:
            return f"Compact<{self.describe(d['compact']['type'])}>"
        if "sequence" in d:
            return f"Vec<{self.describe(d['sequence']['type'])}>"
        if "array" in d:
            return f"[{self.describe(d['array']['type'])}; {d['array']['len']}]"
        if "tuple" in d:
            return "(" + ", ".join(self.describe(x) for x in d["tuple"]) + ")"
        raise AssertionError(d)

    def fields(self, fields: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
        return [(f["name"], self.describe(f["type"])) for f in fields]


@pytest.fixture(scope="module")
def decoded(metadata_bytes: bytes) -> Decoded:
    rc = RuntimeConfigurationObject()
    rc.update_type_registry(load_type_registry_preset("core"))
    obj = rc.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata_bytes))
    value = obj.decode()
    assert obj.data.offset == len(metadata_bytes), "trailing bytes after the metadata"
    rc.add_portable_registry(obj)
    v14 = value[1]["V14"]
    types = {t["id"]: t["type"] for t in v14["types"]["types"]}
    return Decoded(obj, rc, v14, types, {p["name"]: p for p in v14["pallets"]})


# --- layout --------------------------------------------------------------------------------------------------------


def test_prefix_is_meta_and_v14(metadata_bytes: bytes, decoded: Decoded) -> None:
    assert metadata_bytes[:5] == bytes.fromhex("6d657461") + b"\x0e"
    assert decoded.obj.value[0] == "0x6d657461"
    assert sorted(decoded.types) == list(range(len(decoded.types)))


def test_types_are_deduplicated(decoded: Decoded) -> None:
    seen: dict[str, int] = {}
    for type_id, t in decoded.types.items():
        key = repr(t)
        assert key not in seen, f"types {seen.get(key)} and {type_id} are the same"
        seen[key] = type_id
    by_path: dict[str, list[Any]] = {}
    for t in decoded.types.values():
        if t["path"]:
            by_path.setdefault("::".join(t["path"]), []).append(t)
    for path, found in by_path.items():
        if len(found) > 1:  # FRAME's generics (PerDispatchClass<u32>, PerDispatchClass<WeightsPerClass>): polkadot.js
            params = [repr(t["params"]) for t in found]  # names each by its type parameters, which must differ
            assert all(t["params"] for t in found) and len(set(params)) == len(params), \
                f"the path {path} names two types polkadot.js would name alike"


def test_pallets_in_index_order(decoded: Decoded) -> None:
    pallets = decoded.v14["pallets"]
    expected = [(storage_schema.pascal_case(m.name), m.index) for m in RUNTIME.modules]
    expected += [(storage_schema.pascal_case(p.module), p.index) for p in METADATA_ONLY_PALLETS]
    expected.sort(key=lambda pallet: pallet[1])
    assert [(p["name"], p["index"]) for p in pallets] == expected
    assert pallets[0]["name"] == "System" and pallets[1]["name"] == "Balances"
    assert ("TransactionPayment", 17) in expected


def test_calls_match_the_runtime(decoded: Decoded) -> None:
    total = 0
    for module in RUNTIME.modules:
        pallet = decoded.pallets[storage_schema.pascal_case(module.name)]
        if not module.calls:
            assert pallet["calls"] is None
            continue
        variants = decoded.types[pallet["calls"]["ty"]]["def"]["variant"]["variants"]
        assert "::".join(decoded.types[pallet["calls"]["ty"]]["path"]) == f"{module.name}::pallet::Call"
        assert [(v["name"], v["index"]) for v in variants] == [(c.name, c.index) for c in module.calls]
        for v, c in zip(variants, module.calls, strict=True):
            assert [f["name"] for f in v["fields"]] == [a for a, _ in c.args]
            assert [f["typeName"] for f in v["fields"]] == [field_type_name(f) for _, f in c.args]
            assert v["docs"] == ([c.doc.strip().splitlines()[0]] if c.doc.strip() else [])
        total += len(variants)
    assert total == sum(len(m.calls) for m in RUNTIME.modules)


def test_balances_calls_are_frames(decoded: Decoded) -> None:
    calls = decoded.variants(decoded.pallets["Balances"]["calls"]["ty"])
    assert {n: v["index"] for n, v in calls.items()} == {
        "transfer_allow_death": 0, "transfer_keep_alive": 1, "transfer_all": 2, "burn": 3}
    address, amount = "sp_runtime::multiaddress::MultiAddress", "Compact<u128>"
    assert decoded.fields(calls["transfer_keep_alive"]["fields"]) == [("dest", address), ("value", amount)]
    assert decoded.fields(calls["transfer_all"]["fields"]) == [("dest", address), ("keep_alive", "bool")]
    assert decoded.fields(calls["burn"]["fields"]) == [("value", amount), ("keep_alive", "bool")]
    assert calls["transfer_keep_alive"]["fields"][1]["typeName"] == "T::Balance"


def test_a_call_inside_a_call_is_the_runtime_call(decoded: Decoded) -> None:
    propose = decoded.variants(decoded.pallets["Governance"]["calls"]["ty"])["propose"]
    kinds = {f["name"]: decoded.describe(f["type"]) for f in propose["fields"]}
    assert kinds["call"] == "btt_runtime::RuntimeCall"


def test_runtime_call_and_event_variants_are_pallet_indices(decoded: Decoded) -> None:
    for path, key in (("btt_runtime::RuntimeCall", "calls"), ("btt_runtime::RuntimeEvent", "event")):
        _, t = decoded.by_path(path)
        variants = t["def"]["variant"]["variants"]
        with_part = [p for p in decoded.v14["pallets"] if p[key] is not None]
        assert [(v["name"], v["index"]) for v in variants] == [(p["name"], p["index"]) for p in with_part]
        for v, p in zip(variants, with_part, strict=True):
            assert [f["type"] for f in v["fields"]] == [p[key]["ty"]]
    calls = decoded.variants(decoded.by_path("btt_runtime::RuntimeCall")[0])
    assert "Session" in calls and "TransactionPayment" not in calls  # session.set_keys (issue 43)


# --- events and errors ---------------------------------------------------------------------------------------------


def _import_all_runtime_modules() -> None:
    for info in pkgutil.walk_packages(runtime.__path__, "runtime."):
        importlib.import_module(info.name)
    for spec in PACKAGES:  # an older spec's package loads every runtime module again under its own name
        package = importlib.import_module(PACKAGES[spec])
        for info in pkgutil.walk_packages(runtime.__path__, PACKAGES[spec] + "."):
            rest = info.name[len(PACKAGES[spec]) + 1:].replace(".", "/")
            if not info.name.startswith(PACKAGES[spec] + ".specs") and rest not in absent_in(f"spec{spec}"):
                importlib.import_module(info.name)
        del package


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


@pytest.mark.parametrize("spec", sorted(PACKAGES))
def test_every_event_and_error_has_exactly_one_fixed_index(spec: int) -> None:
    """In every spec's package: each event and error class it defines is listed once in its own runtime's pallets
    (an older spec's classes are its own: its modules are loaded again under `runtime.specs.specNN`)."""
    _import_all_runtime_modules()
    package = PACKAGES[spec]
    others = tuple(f"{p}." for p in PACKAGES.values() if p != package and p.startswith(package + "."))

    def of_spec(c: type) -> bool:
        return (c.__module__.startswith(package + ".") or c.__module__ in SHARED) and \
            not c.__module__.startswith(others)

    sources = package_module(spec, "runtime.metadata.catalog").pallet_sources(runtime_of(spec))
    listed_events = [e for p in sources for e in p.events]
    listed_errors = [e for p in sources for e in p.errors]
    defined_events = [c for c in _subclasses(Event) if of_spec(c) and not c.__subclasses__()]
    defined_errors = [c for c in _subclasses(ModuleError) if of_spec(c)]
    bases = [c for c in defined_errors if c.__subclasses__()]
    assert all(c.__name__.endswith("Error") and c.__module__.endswith(".errors") for c in bases), bases
    leaves = [c for c in defined_errors if not c.__subclasses__()]
    assert len(listed_events) == len(set(listed_events))
    assert len(listed_errors) == len(set(listed_errors))
    assert set(defined_events) == set(listed_events), set(defined_events) ^ set(listed_events)
    assert set(leaves) == set(listed_errors), set(leaves) ^ set(listed_errors)


@pytest.mark.parametrize("spec", sorted(PACKAGES))
def test_no_event_field_shadows_the_keys_its_json_names_it_by(spec: int) -> None:
    """An event's JSON is {"module", "event", fields...}: a field named like those keys would rename the event in
    btt_events and the explorer (system.MigrationCompleted once showed as session.MigrationCompleted)."""
    sources = package_module(spec, "runtime.metadata.catalog").pallet_sources(runtime_of(spec))
    shadowing = [(cls.__name__, name) for p in sources for cls in p.events for name, _ in cls.WIRE
                 if name in ("module", "event", "phase")]
    assert not shadowing


def test_event_and_error_variants_follow_the_tuples(decoded: Decoded) -> None:
    for source in pallet_sources(RUNTIME):
        pallet = decoded.pallets[source.name]
        for key, classes in (("event", source.events), ("error", source.errors)):
            if not classes:
                assert pallet[key] is None
                continue
            t = decoded.types[pallet[key]["ty"]]
            assert t["path"] == [source.module, "pallet", key.capitalize()]
            variants = t["def"]["variant"]["variants"]
            assert [(v["name"], v["index"]) for v in variants] == [(c.__name__, i) for i, c in enumerate(classes)]
            for v, c in zip(variants, classes, strict=True):
                if key == "event":
                    assert event_index(c) == (source.index, v["index"])
                else:
                    assert v["fields"] == []
                    assert error_index(source.module, c.__name__) == (source.index, v["index"])
                    doc = (c.__doc__ or "").strip()
                    assert v["docs"] == ([doc.splitlines()[0]] if doc else [])


def test_indices_of_instances_and_unknowns() -> None:
    from runtime.balances.errors import KeepAlive
    from runtime.balances.events import Transfer
    from runtime.fees.events import FeesDistributed
    from runtime.transaction_payment.events import TransactionFeePaid

    assert event_index(Transfer(b"\x01" * 32, b"\x02" * 32, 5)) == (1, 0)
    assert event_index(TransactionFeePaid) == (17, 0)
    assert event_index(FeesDistributed) == (18, 0)
    assert error_index("balances", KeepAlive.__name__) == (1, 2)
    assert error_index("system", "BadOrigin") == (0, 0)
    with pytest.raises(KeyError):
        error_index("balances", "NoSuchError")
    with pytest.raises(KeyError):
        event_index(Event)


def test_system_events_have_frames_shapes(decoded: Decoded) -> None:
    t = decoded.types[decoded.pallets["System"]["event"]["ty"]]
    variants = t["def"]["variant"]["variants"]
    assert [(v["name"], v["index"]) for v in variants[:2]] == [("ExtrinsicSuccess", 0), ("ExtrinsicFailed", 1)]
    assert decoded.fields(variants[0]["fields"]) == [("dispatch_info", "frame_support::dispatch::DispatchInfo")]
    assert decoded.fields(variants[1]["fields"]) == [
        ("dispatch_error", "sp_runtime::DispatchError"), ("dispatch_info", "frame_support::dispatch::DispatchInfo")]
    assert [v["name"] for v in variants[2:]] == [
        "NewAccount", "Remarked", "SpecScheduled", "SpecCancelled", "SpecUpgraded", "MigrationCompleted",
        "MigrationsCompleted"]


def test_balances_events_carry_frames_field_names(decoded: Decoded) -> None:
    events = decoded.variants(decoded.pallets["Balances"]["event"]["ty"])
    account, amount = "sp_core::crypto::AccountId32", "u128"
    assert decoded.fields(events["Transfer"]["fields"]) == [("from", account), ("to", account), ("amount", amount)]
    assert decoded.fields(events["Endowed"]["fields"]) == [("account", account), ("free_balance", amount)]
    assert decoded.fields(events["Burned"]["fields"]) == [("who", account), ("amount", amount)]


def test_transaction_payment_pallet(decoded: Decoded) -> None:
    pallet = decoded.pallets["TransactionPayment"]
    assert pallet["index"] == 17 and pallet["calls"] is None and pallet["storage"] is None
    events = decoded.variants(pallet["event"]["ty"])
    assert decoded.fields(events["TransactionFeePaid"]["fields"]) == [
        ("who", "sp_core::crypto::AccountId32"), ("actual_fee", "u128"), ("tip", "u128")]


def test_events_decode_with_scalecodec(decoded: Decoded) -> None:
    data, names = event_records()
    records = decoded.rc.create_scale_object("Vec<frame_system::eventrecord>", data=ScaleBytes(data),
                                             metadata=decoded.obj)
    value = records.decode()
    assert records.data.offset == len(data)
    assert [(r["module_id"], r["event_id"]) for r in value] == names
    assert value[0]["attributes"] == {"from": "0x" + "01" * 32, "to": "0x" + "02" * 32, "amount": 10**18}
    assert value[1]["attributes"]["actual_fee"] == 1234
    assert value[2]["attributes"]["dispatch_info"]["weight"] == {"ref_time": 1_000_000, "proof_size": 0}
    failed = value[3]["attributes"]
    assert failed["dispatch_error"] == {"Module": {"index": 1, "error": "0x02000000"}}
    assert (value[3]["phase"], value[3]["extrinsic_idx"]) == ("ApplyExtrinsic", 1)
    assert value[4]["phase"] == "Finalization"


# --- the FRAME types clients key on --------------------------------------------------------------------------------


def test_unchecked_extrinsic_and_signed_extensions(decoded: Decoded) -> None:
    ext = decoded.v14["extrinsic"]
    xt_id, xt = decoded.by_path("sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic")
    assert ext["ty"] == xt_id and ext["version"] == 4
    assert [p["name"] for p in xt["params"]] == ["Address", "Call", "Signature", "Extra"]
    assert [decoded.describe(p["type"]) for p in xt["params"][:3]] == [
        "sp_runtime::multiaddress::MultiAddress", "btt_runtime::RuntimeCall", "sp_runtime::MultiSignature"]
    assert decoded.fields(xt["def"]["composite"]["fields"]) == [(None, "Vec<u8>")]
    got = [(s["identifier"], decoded.describe(s["ty"]), decoded.describe(s["additional_signed"]))
           for s in ext["signed_extensions"]]
    ext_path = "frame_system::extensions::"
    assert got == [
        ("CheckNonZeroSender", ext_path + "check_non_zero_sender::CheckNonZeroSender", "()"),
        ("CheckSpecVersion", ext_path + "check_spec_version::CheckSpecVersion", "u32"),
        ("CheckTxVersion", ext_path + "check_tx_version::CheckTxVersion", "u32"),
        ("CheckGenesis", ext_path + "check_genesis::CheckGenesis", "primitive_types::H256"),
        ("CheckMortality", ext_path + "check_mortality::CheckMortality", "primitive_types::H256"),
        ("CheckNonce", ext_path + "check_nonce::CheckNonce", "()"),
        ("CheckWeight", ext_path + "check_weight::CheckWeight", "()"),
        ("ChargeTransactionPayment", "pallet_transaction_payment::ChargeTransactionPayment", "()"),
    ]
    inner = {s["identifier"]: decoded.fields(decoded.types[s["ty"]]["def"]["composite"]["fields"])
             for s in ext["signed_extensions"]}
    assert inner["CheckMortality"] == [(None, "sp_runtime::generic::era::Era")]
    assert inner["CheckNonce"] == [(None, "Compact<u32>")]
    assert inner["ChargeTransactionPayment"] == [(None, "Compact<u128>")]
    assert inner["CheckGenesis"] == []
    extra = xt["params"][3]["type"]
    assert decoded.types[extra]["def"]["tuple"] == [s["ty"] for s in ext["signed_extensions"]]


def test_event_record_and_phase(decoded: Decoded) -> None:
    _, record = decoded.by_path("frame_system::EventRecord")
    assert [p["name"] for p in record["params"]] == ["E", "T"]
    assert [decoded.describe(p["type"]) for p in record["params"]] == [
        "btt_runtime::RuntimeEvent", "primitive_types::H256"]
    assert decoded.fields(record["def"]["composite"]["fields"]) == [
        ("phase", "frame_system::Phase"), ("event", "btt_runtime::RuntimeEvent"),
        ("topics", "Vec<primitive_types::H256>")]
    phase = decoded.variants(decoded.by_path("frame_system::Phase")[0])
    assert {n: (v["index"], decoded.fields(v["fields"])) for n, v in phase.items()} == {
        "ApplyExtrinsic": (0, [(None, "u32")]), "Finalization": (1, []), "Initialization": (2, [])}


def test_addresses_and_signatures(decoded: Decoded) -> None:
    _, account = decoded.by_path("sp_core::crypto::AccountId32")
    assert decoded.fields(account["def"]["composite"]["fields"]) == [(None, "[u8; 32]")]
    address_id, address = decoded.by_path("sp_runtime::multiaddress::MultiAddress")
    assert [(p["name"], decoded.describe(p["type"])) for p in address["params"]] == [
        ("AccountId", "sp_core::crypto::AccountId32"), ("AccountIndex", "()")]
    assert {n: (v["index"], decoded.fields(v["fields"])) for n, v in decoded.variants(address_id).items()} == {
        "Id": (0, [(None, "sp_core::crypto::AccountId32")]), "Index": (1, [(None, "Compact<()>")]),
        "Raw": (2, [(None, "Vec<u8>")]), "Address32": (3, [(None, "[u8; 32]")]),
        "Address20": (4, [(None, "[u8; 20]")])}
    signature = decoded.variants(decoded.by_path("sp_runtime::MultiSignature")[0])
    assert {n: (v["index"], decoded.fields(v["fields"]), v["fields"][0]["typeName"])
            for n, v in signature.items()} == {
        "Ed25519": (0, [(None, "[u8; 64]")], "ed25519::Signature"),
        "Sr25519": (1, [(None, "[u8; 64]")], "sr25519::Signature"),
        "Ecdsa": (2, [(None, "[u8; 65]")], "ecdsa::Signature")}


def test_era_is_scale_infos_256_variants(decoded: Decoded) -> None:
    variants = decoded.types[decoded.by_path("sp_runtime::generic::era::Era")[0]]["def"]["variant"]["variants"]
    assert len(variants) == 256
    assert (variants[0]["name"], variants[0]["index"], variants[0]["fields"]) == ("Immortal", 0, [])
    for i in range(1, 256):
        assert (variants[i]["name"], variants[i]["index"]) == (f"Mortal{i}", i)
        assert decoded.fields(variants[i]["fields"]) == [(None, "u8")]


def test_digest_weight_and_dispatch_types(decoded: Decoded) -> None:
    items = decoded.variants(decoded.by_path("sp_runtime::generic::digest::DigestItem")[0])
    pair = [(None, "[u8; 4]"), (None, "Vec<u8>")]
    assert {n: (v["index"], decoded.fields(v["fields"])) for n, v in items.items()} == {
        "PreRuntime": (6, pair), "Consensus": (4, pair), "Seal": (5, pair), "Other": (0, [(None, "Vec<u8>")]),
        "RuntimeEnvironmentUpdated": (8, [])}
    _, digest = decoded.by_path("sp_runtime::generic::digest::Digest")
    assert decoded.fields(digest["def"]["composite"]["fields"]) == [
        ("logs", "Vec<sp_runtime::generic::digest::DigestItem>")]
    _, weight = decoded.by_path("sp_weights::weight_v2::Weight")
    assert decoded.fields(weight["def"]["composite"]["fields"]) == [
        ("ref_time", "Compact<u64>"), ("proof_size", "Compact<u64>")]
    _, info = decoded.by_path("frame_support::dispatch::DispatchInfo")
    assert decoded.fields(info["def"]["composite"]["fields"]) == [
        ("weight", "sp_weights::weight_v2::Weight"), ("class", "frame_support::dispatch::DispatchClass"),
        ("pays_fee", "frame_support::dispatch::Pays")]
    classes = decoded.variants(decoded.by_path("frame_support::dispatch::DispatchClass")[0])
    assert {n: v["index"] for n, v in classes.items()} == {"Normal": 0, "Operational": 1, "Mandatory": 2}
    assert {n: v["index"] for n, v in decoded.variants(decoded.by_path("frame_support::dispatch::Pays")[0]).items()} \
        == {"Yes": 0, "No": 1}


def test_dispatch_error_is_frames(decoded: Decoded) -> None:
    variants = decoded.types[decoded.by_path("sp_runtime::DispatchError")[0]]["def"]["variant"]["variants"]
    assert [(v["name"], v["index"]) for v in variants] == [(n, i) for i, n in enumerate((
        "Other", "CannotLookup", "BadOrigin", "Module", "ConsumerRemaining", "NoProviders", "TooManyConsumers",
        "Token", "Arithmetic", "Transactional", "Exhausted", "Corruption", "Unavailable", "RootNotAllowed",
        "Trie"))]
    inner = {v["name"]: decoded.fields(v["fields"]) for v in variants if v["fields"]}
    assert inner == {
        "Module": [(None, "sp_runtime::ModuleError")], "Token": [(None, "sp_runtime::TokenError")],
        "Arithmetic": [(None, "sp_arithmetic::ArithmeticError")],
        "Transactional": [(None, "sp_runtime::TransactionalError")],
        "Trie": [(None, "sp_runtime::proving_trie::TrieError")]}
    _, module_error = decoded.by_path("sp_runtime::ModuleError")
    assert decoded.fields(module_error["def"]["composite"]["fields"]) == [("index", "u8"), ("error", "[u8; 4]")]
    tokens = decoded.variants(decoded.by_path("sp_runtime::TokenError")[0])
    assert [n for n, _ in sorted(tokens.items(), key=lambda kv: kv[1]["index"])] == [
        "FundsUnavailable", "OnlyProvider", "BelowMinimum", "CannotCreate", "UnknownAsset", "Frozen",
        "Unsupported", "CannotCreateHold", "NotExpendable", "Blocked"]


def test_account_info_is_frames(decoded: Decoded) -> None:
    _, info = decoded.by_path("frame_system::AccountInfo")
    assert decoded.fields(info["def"]["composite"]["fields"]) == [
        ("nonce", "u32"), ("consumers", "u32"), ("providers", "u32"), ("sufficients", "u32"),
        ("data", "pallet_balances::types::AccountData")]
    _, data = decoded.by_path("pallet_balances::types::AccountData")
    assert decoded.fields(data["def"]["composite"]["fields"]) == [
        ("free", "u128"), ("reserved", "u128"), ("frozen", "u128"), ("flags", "pallet_balances::types::ExtraFlags")]
    _, flags = decoded.by_path("pallet_balances::types::ExtraFlags")
    assert decoded.fields(flags["def"]["composite"]["fields"]) == [(None, "u128")]


def test_account_info_is_there_with_no_storage_registered() -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(storage_schema, "ENTRIES", [])
        data = build_metadata(RUNTIME, CONSTANTS)
    rc = RuntimeConfigurationObject()
    rc.update_type_registry(load_type_registry_preset("core"))
    obj = rc.create_scale_object("MetadataVersioned", data=ScaleBytes(data))
    paths = {"::".join(t["type"]["path"]) for t in obj.decode()[1]["V14"]["types"]["types"]}
    for required in ("frame_system::AccountInfo", "pallet_balances::types::AccountData", "frame_system::EventRecord",
                     "sp_runtime::generic::digest::Digest", "sp_runtime::generic::digest::DigestItem",
                     "sp_weights::weight_v2::Weight", "sp_runtime::generic::era::Era", "sp_runtime::DispatchError"):
        assert required in paths


def test_outer_runtime_type(decoded: Decoded) -> None:
    runtime_id, t = decoded.by_path("btt_runtime::Runtime")
    assert decoded.v14["runtime_type"] == runtime_id
    assert t["def"]["composite"]["fields"] == []


def test_struct_arguments_are_composites_of_their_wire(decoded: Decoded) -> None:
    from runtime.compute.model import LayerSpec, ModelSpec

    _, spec = decoded.by_path("btt_runtime::compute::model::ModelSpec")
    assert [f["name"] for f in spec["def"]["composite"]["fields"]] == [n for n, _ in ModelSpec.WIRE]
    _, layer = decoded.by_path("btt_runtime::compute::model::LayerSpec")
    kinds = dict(decoded.fields(layer["def"]["composite"]["fields"]))
    assert [n for n, _ in LayerSpec.WIRE] == list(kinds)
    assert kinds["kind"] == "u8" and kinds["kernel"] == "Vec<u8>" and kinds["weight_zp"] == "i8"


def test_reachable_structs_encode_as_their_wire() -> None:
    """A Struct given as a composite of its WIRE must not encode otherwise (else it needs a `scale_type` hook)."""
    from btt_chain.primitives.codec import ListOf, Nested
    from btt_chain.primitives.extrinsic import Call, Era

    seen: set[type] = set()

    def walk(f: Field) -> None:
        if isinstance(f, ListOf):
            walk(f.item)
        elif isinstance(f, Nested) and f.cls not in seen and f.cls not in (Call, Era):
            seen.add(f.cls)
            if not hasattr(f.cls, "scale_type"):
                assert f.cls.encode_scale is Struct.encode_scale, f.cls
            for _, inner in f.cls.WIRE:
                walk(inner)

    for module in RUNTIME.modules:
        for c in module.calls:
            for _, f in c.args:
                walk(f)
    for source in pallet_sources(RUNTIME):
        for e in source.events:
            for _, f in e.WIRE:
                walk(f)
    assert seen


# --- storage and constants -----------------------------------------------------------------------------------------


def raw(value: str) -> bytes:
    """scalecodec shows `Vec<u8>` as text where it is UTF-8, else as hex."""
    return bytes.fromhex(value[2:]) if value.startswith("0x") else value.encode()


def test_storage_entries(decoded: Decoded) -> None:
    system = decoded.pallets["System"]["storage"]
    assert system["prefix"] == "System"
    items = {e["name"]: e for e in system["entries"]}
    assert list(items) == ["Account", "Number", "BlockHash", "Events"]
    account = items["Account"]
    assert account["modifier"] == "Default"
    assert account["documentation"] == ["The full account information for a particular account ID."]
    amap = account["type"]["Map"]
    assert amap["hashers"] == ["Blake2_128Concat"]
    assert decoded.describe(amap["key"]) == "sp_core::crypto::AccountId32"
    assert decoded.describe(amap["value"]) == "frame_system::AccountInfo"
    assert raw(account["default"]) == bytes(64) + (1 << 127).to_bytes(16, "little")
    assert decoded.describe(items["Number"]["type"]["Plain"]) == "u32"
    assert raw(items["Number"]["default"]) == bytes(4)
    bmap = items["BlockHash"]["type"]["Map"]
    assert bmap["hashers"] == ["Twox64Concat"] and decoded.describe(bmap["value"]) == "primitive_types::H256"
    assert decoded.describe(items["Events"]["type"]["Plain"]) == "Vec<frame_system::EventRecord>"
    pot = decoded.pallets["Staking"]["storage"]["entries"][0]
    assert (pot["name"], pot["modifier"], raw(pot["default"])) == ("Pot", "Optional", b"\x00")
    assert pot["type"]["Map"]["hashers"] == ["Blake2_128Concat", "Twox64Concat"]
    assert decoded.describe(pot["type"]["Map"]["key"]) == "(sp_core::crypto::AccountId32, u64)"
    assert decoded.describe(pot["type"]["Map"]["value"]) == "u256"
    assert decoded.pallets["Balances"]["storage"] is None


def test_storage_functions_as_substrate_interface_reads_them(decoded: Decoded) -> None:
    account = decoded.obj.get_metadata_pallet("System").get_storage_function("Account")
    assert account.get_params_type_string() == ["scale_info::" + str(decoded.by_path(
        "sp_core::crypto::AccountId32")[0])]
    value = decoded.rc.create_scale_object(account.get_value_type_string(), metadata=decoded.obj)
    encoded = FrameAccountInfo(nonce=3, providers=1, free=10**18).encode()
    assert len(encoded) == 80
    got = value.decode(ScaleBytes(encoded))
    assert got["nonce"] == 3 and got["providers"] == 1 and got["data"]["free"] == 10**18


def test_constants(decoded: Decoded) -> None:
    def constant(pallet: str, name: str) -> Any:
        [c] = [c for c in decoded.obj.get_metadata_pallet(pallet).constants if c.name == name]
        obj = decoded.rc.create_scale_object(c.type, data=ScaleBytes(bytes(c.constant_value)), metadata=decoded.obj)
        return obj.decode()

    assert constant("System", "SS58Prefix") == 42
    assert constant("System", "BlockHashCount") == 2400
    assert constant("Balances", "ExistentialDeposit") == 10**15
    assert constant("Vesting", "MaxSchedules") == 8
    names = {p["name"]: [c["name"] for c in p["constants"]] for p in decoded.v14["pallets"]}
    assert names["System"] == ["BlockWeights", "BlockLength", "BlockHashCount", "DbWeight", "Version", "SS58Prefix"]
    assert names["Balances"] == ["ExistentialDeposit"]
    assert names["TransactionPayment"] == ["OperationalFeeMultiplier"]


# --- determinism ---------------------------------------------------------------------------------------------------


def test_building_twice_gives_the_same_bytes(metadata_bytes: bytes) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(storage_schema, "ENTRIES", list(TEST_ENTRIES))
        assert build_metadata(RUNTIME, CONSTANTS) == metadata_bytes


BUILD_AND_HASH = """
import hashlib
from tests.support.metadata_fixtures import CONSTANTS
from runtime.metadata import build_metadata
from runtime.modules import RUNTIME
from runtime.specs import PACKAGES, SHARED, absent_in, package_module, runtime_of
data = build_metadata(RUNTIME, CONSTANTS)
print(hashlib.blake2b(data, digest_size=32).hexdigest())
"""


def test_metadata_hash_is_stable_across_processes() -> None:
    hashes = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", BUILD_AND_HASH], cwd=ROOT, env=env, capture_output=True,
                             text=True, check=True, timeout=120)
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1
