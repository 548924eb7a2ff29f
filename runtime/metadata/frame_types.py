"""The FRAME types Substrate clients key on, with FRAME's exact paths, fields and variant indices.

@polkadot/api and substrate-interface recognise these by their path (`sp_runtime::generic::era::Era`,
`frame_system::EventRecord`, `sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic`, ...) and decode them
with their own code or by the shape given here; the shapes are those of polkadot-sdk's metadata as @polkadot/types
16.5.6 ships it (`@polkadot/types-support/metadata/v14/substrate-types.json`, `v16/substrate-types.json`).

Every function takes the registry being built and returns the type's id (built once, then looked up by path). A
storage item, a Struct or a Field whose value is one of these types returns it from its `scale_type` hook (see
`runtime.metadata.types`): `System.Account`'s value is `account_info(reg)`, `System.Events`' is
`event_records(reg)`, `System.Digest`'s is `digest(reg)`.
"""

from __future__ import annotations

from ..metadata.registry import Composite, FieldInfo, Registry, TypeInfo, TypeParam, Variant, VariantInfo

RUNTIME_CRATE = "btt_runtime"
"""The runtime's crate name in type paths: `btt_runtime::RuntimeCall` (pjs matches `*_runtime::RuntimeCall`)."""
RUNTIME_CALL = f"{RUNTIME_CRATE}::RuntimeCall"
RUNTIME_EVENT = f"{RUNTIME_CRATE}::RuntimeEvent"
RUNTIME = f"{RUNTIME_CRATE}::Runtime"


def _path(key: str) -> tuple[str, ...]:
    return tuple(key.split("::"))


def _composite(reg: Registry, key: str, fields: tuple[FieldInfo, ...], params: tuple[TypeParam, ...] = ()) -> int:
    return reg.named(key, lambda: TypeInfo(Composite(fields), _path(key), params))


def _enum(reg: Registry, key: str, variants: tuple[VariantInfo, ...], params: tuple[TypeParam, ...] = ()) -> int:
    return reg.named(key, lambda: TypeInfo(Variant(variants), _path(key), params))


def _unit_enum(reg: Registry, key: str, names: tuple[str, ...]) -> int:
    return _enum(reg, key, tuple(VariantInfo(name, i) for i, name in enumerate(names)))


def byte_array(reg: Registry, length: int) -> int:
    """`[u8; length]`."""
    return reg.array(length, reg.primitive("u8"))


# --- accounts, hashes, signatures ----------------------------------------------------------------------------------


def h256(reg: Registry) -> int:
    return _composite(reg, "primitive_types::H256", (FieldInfo(byte_array(reg, 32), type_name="[u8; 32]"),))


def account_id32(reg: Registry) -> int:
    return _composite(reg, "sp_core::crypto::AccountId32", (FieldInfo(byte_array(reg, 32), type_name="[u8; 32]"),))


def multi_address(reg: Registry) -> int:
    """`MultiAddress<AccountId32, ()>` with all five of FRAME's variants (btt accepts only `Id`)."""
    account = account_id32(reg)
    unit = reg.tuple_of()
    variants = (
        VariantInfo("Id", 0, (FieldInfo(account, type_name="AccountId"),)),
        VariantInfo("Index", 1, (FieldInfo(reg.compact(unit), type_name="AccountIndex"),)),
        VariantInfo("Raw", 2, (FieldInfo(reg.byte_vec(), type_name="Vec<u8>"),)),
        VariantInfo("Address32", 3, (FieldInfo(byte_array(reg, 32), type_name="[u8; 32]"),)),
        VariantInfo("Address20", 4, (FieldInfo(byte_array(reg, 20), type_name="[u8; 20]"),)),
    )
    params = (TypeParam("AccountId", account), TypeParam("AccountIndex", unit))
    return _enum(reg, "sp_runtime::multiaddress::MultiAddress", variants, params)


def multi_signature(reg: Registry) -> int:
    """`MultiSignature`: Ed25519 0 and Sr25519 1 (`[u8; 64]`), Ecdsa 2 (`[u8; 65]`); btt accepts only Ed25519."""
    sig64 = byte_array(reg, 64)
    return _enum(reg, "sp_runtime::MultiSignature", (
        VariantInfo("Ed25519", 0, (FieldInfo(sig64, type_name="ed25519::Signature"),)),
        VariantInfo("Sr25519", 1, (FieldInfo(sig64, type_name="sr25519::Signature"),)),
        VariantInfo("Ecdsa", 2, (FieldInfo(byte_array(reg, 65), type_name="ecdsa::Signature"),)),
    ))


# --- extrinsics ----------------------------------------------------------------------------------------------------


def era(reg: Registry) -> int:
    """scale-info's `Era`: `Immortal` (0) and `Mortal1`..`Mortal255`, each one `u8`. A mortal era's two bytes are
    read as the variant index (the low byte, never 0) and that `u8` (the high byte)."""
    u8 = reg.primitive("u8")
    variants = (VariantInfo("Immortal", 0),) + tuple(
        VariantInfo(f"Mortal{i}", i, (FieldInfo(u8),)) for i in range(1, 256)
    )
    return _enum(reg, "sp_runtime::generic::era::Era", variants)


def runtime_call(reg: Registry) -> int:
    """`btt_runtime::RuntimeCall`, reserved here and defined by the builder once every pallet's calls exist."""
    return reg.reserve(RUNTIME_CALL)


def runtime_event(reg: Registry) -> int:
    """`btt_runtime::RuntimeEvent`, reserved here and defined by the builder once every pallet's events exist."""
    return reg.reserve(RUNTIME_EVENT)


SIGNED_EXTENSIONS = (
    "CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality", "CheckNonce",
    "CheckWeight", "ChargeTransactionPayment",
)
"""FRAME's signed extensions, in FRAME's order (polkadot-sdk `templates/solochain/runtime` `SignedExtra`): what btt's
extrinsic format carries (`btt_chain.primitives.extrinsic`). No CheckMetadataHash."""


def signed_extensions(reg: Registry) -> tuple[tuple[str, int, int], ...]:
    """(identifier, type in the extrinsic, type of the `additional_signed` data) for each signed extension: each
    type is FRAME's extension struct (`frame_system::extensions::check_nonce::CheckNonce` holding `Compact<u32>`)."""
    unit = reg.tuple_of()
    u32 = reg.primitive("u32")
    hash_ = h256(reg)
    open_t = (TypeParam("T"),)

    def ext(module: str, name: str, fields: tuple[FieldInfo, ...] = ()) -> int:
        path = f"frame_system::extensions::{module}::{name}" if module else name
        return _composite(reg, path, fields, open_t)

    return (
        ("CheckNonZeroSender", ext("check_non_zero_sender", "CheckNonZeroSender"), unit),
        ("CheckSpecVersion", ext("check_spec_version", "CheckSpecVersion"), u32),
        ("CheckTxVersion", ext("check_tx_version", "CheckTxVersion"), u32),
        ("CheckGenesis", ext("check_genesis", "CheckGenesis"), hash_),
        ("CheckMortality", ext("check_mortality", "CheckMortality", (FieldInfo(era(reg), type_name="Era"),)), hash_),
        ("CheckNonce", ext("check_nonce", "CheckNonce",
                           (FieldInfo(reg.compact(u32), type_name="T::Nonce"),)), unit),
        ("CheckWeight", ext("check_weight", "CheckWeight"), unit),
        ("ChargeTransactionPayment", ext("", "pallet_transaction_payment::ChargeTransactionPayment",
                                         (FieldInfo(reg.compact(reg.primitive("u128")), type_name="BalanceOf<T>"),)),
         unit),
    )


def unchecked_extrinsic(reg: Registry) -> int:
    """`UncheckedExtrinsic<Address, Call, Signature, Extra>`: opaque bytes (`Vec<u8>`) whose type parameters tell
    clients the address, call, signature and extra types."""
    extra = reg.tuple_of(*(ty for _, ty, _ in signed_extensions(reg)))
    params = (
        TypeParam("Address", multi_address(reg)),
        TypeParam("Call", runtime_call(reg)),
        TypeParam("Signature", multi_signature(reg)),
        TypeParam("Extra", extra),
    )
    key = "sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic"
    return _composite(reg, key, (FieldInfo(reg.byte_vec()),), params)


# --- headers -------------------------------------------------------------------------------------------------------


def digest_item(reg: Registry) -> int:
    """`DigestItem`: PreRuntime 6, Consensus 4, Seal 5 (`([u8; 4], Vec<u8>)`), Other 0, RuntimeEnvironmentUpdated 8,
    in FRAME's declaration order."""
    engine = FieldInfo(byte_array(reg, 4), type_name="ConsensusEngineId")
    data = FieldInfo(reg.byte_vec(), type_name="Vec<u8>")
    return _enum(reg, "sp_runtime::generic::digest::DigestItem", (
        VariantInfo("PreRuntime", 6, (engine, data)),
        VariantInfo("Consensus", 4, (engine, data)),
        VariantInfo("Seal", 5, (engine, data)),
        VariantInfo("Other", 0, (data,)),
        VariantInfo("RuntimeEnvironmentUpdated", 8),
    ))


def digest(reg: Registry) -> int:
    logs = reg.sequence(digest_item(reg))
    return _composite(reg, "sp_runtime::generic::digest::Digest", (FieldInfo(logs, "logs", "Vec<DigestItem>"),))


# --- dispatch results ----------------------------------------------------------------------------------------------


def weight(reg: Registry) -> int:
    """Weight v2: `{ref_time: Compact<u64>, proof_size: Compact<u64>}`."""
    c64 = reg.compact(reg.primitive("u64"))
    return _composite(reg, "sp_weights::weight_v2::Weight", (
        FieldInfo(c64, "ref_time", "u64"), FieldInfo(c64, "proof_size", "u64"),
    ))


def dispatch_class(reg: Registry) -> int:
    return _unit_enum(reg, "frame_support::dispatch::DispatchClass", ("Normal", "Operational", "Mandatory"))


def pays(reg: Registry) -> int:
    return _unit_enum(reg, "frame_support::dispatch::Pays", ("Yes", "No"))


def dispatch_info(reg: Registry) -> int:
    return _composite(reg, "frame_support::dispatch::DispatchInfo", (
        FieldInfo(weight(reg), "weight", "Weight"),
        FieldInfo(dispatch_class(reg), "class", "DispatchClass"),
        FieldInfo(pays(reg), "pays_fee", "Pays"),
    ))


def module_error(reg: Registry) -> int:
    """`ModuleError {index: u8, error: [u8; 4]}`: the pallet index and the error's index in its first byte."""
    return _composite(reg, "sp_runtime::ModuleError", (
        FieldInfo(reg.primitive("u8"), "index", "u8"),
        FieldInfo(byte_array(reg, 4), "error", "[u8; MAX_MODULE_ERROR_ENCODED_SIZE]"),
    ))


def token_error(reg: Registry) -> int:
    return _unit_enum(reg, "sp_runtime::TokenError", (
        "FundsUnavailable", "OnlyProvider", "BelowMinimum", "CannotCreate", "UnknownAsset", "Frozen", "Unsupported",
        "CannotCreateHold", "NotExpendable", "Blocked",
    ))


def arithmetic_error(reg: Registry) -> int:
    return _unit_enum(reg, "sp_arithmetic::ArithmeticError", ("Underflow", "Overflow", "DivisionByZero"))


def transactional_error(reg: Registry) -> int:
    return _unit_enum(reg, "sp_runtime::TransactionalError", ("LimitReached", "NoLayer"))


def trie_error(reg: Registry) -> int:
    return _unit_enum(reg, "sp_runtime::proving_trie::TrieError", (
        "InvalidStateRoot", "IncompleteDatabase", "ValueAtIncompleteKey", "DecoderError", "InvalidHash",
        "DuplicateKey", "ExtraneousNode", "ExtraneousValue", "ExtraneousHashReference", "InvalidChildReference",
        "ValueMismatch", "IncompleteProof", "RootMismatch", "DecodeError",
    ))


DISPATCH_ERROR_MODULE = 3
"""`DispatchError::Module`'s variant index: a module error is `0x03 ++ pallet index ++ [error index, 0, 0, 0]`."""


def dispatch_error(reg: Registry) -> int:
    """`DispatchError` with every variant of current FRAME in order (Module 3; Trie 14 is the newest)."""

    def unit(name: str, index: int) -> VariantInfo:
        return VariantInfo(name, index)

    def one(name: str, index: int, ty: int, type_name: str) -> VariantInfo:
        return VariantInfo(name, index, (FieldInfo(ty, type_name=type_name),))

    return _enum(reg, "sp_runtime::DispatchError", (
        unit("Other", 0), unit("CannotLookup", 1), unit("BadOrigin", 2),
        one("Module", DISPATCH_ERROR_MODULE, module_error(reg), "ModuleError"),
        unit("ConsumerRemaining", 4), unit("NoProviders", 5), unit("TooManyConsumers", 6),
        one("Token", 7, token_error(reg), "TokenError"),
        one("Arithmetic", 8, arithmetic_error(reg), "ArithmeticError"),
        one("Transactional", 9, transactional_error(reg), "TransactionalError"),
        unit("Exhausted", 10), unit("Corruption", 11), unit("Unavailable", 12), unit("RootNotAllowed", 13),
        one("Trie", 14, trie_error(reg), "TrieError"),
    ))


# --- accounts and events in storage --------------------------------------------------------------------------------


def account_data(reg: Registry) -> int:
    """`pallet_balances::types::AccountData<u128> {free, reserved, frozen, flags: ExtraFlags(u128)}`."""
    u128 = reg.primitive("u128")
    flags = _composite(reg, "pallet_balances::types::ExtraFlags", (FieldInfo(u128, type_name="u128"),))
    return _composite(reg, "pallet_balances::types::AccountData", (
        FieldInfo(u128, "free", "Balance"), FieldInfo(u128, "reserved", "Balance"),
        FieldInfo(u128, "frozen", "Balance"), FieldInfo(flags, "flags", "ExtraFlags"),
    ), (TypeParam("Balance", u128),))


def account_info(reg: Registry) -> int:
    """`frame_system::AccountInfo<u32, AccountData> {nonce, consumers, providers, sufficients, data}`: the value of
    `System.Account` (80 bytes)."""
    u32 = reg.primitive("u32")
    data = account_data(reg)
    return _composite(reg, "frame_system::AccountInfo", (
        FieldInfo(u32, "nonce", "Nonce"), FieldInfo(u32, "consumers", "RefCount"),
        FieldInfo(u32, "providers", "RefCount"), FieldInfo(u32, "sufficients", "RefCount"),
        FieldInfo(data, "data", "AccountData"),
    ), (TypeParam("Nonce", u32), TypeParam("AccountData", data)))


def phase(reg: Registry) -> int:
    return _enum(reg, "frame_system::Phase", (
        VariantInfo("ApplyExtrinsic", 0, (FieldInfo(reg.primitive("u32"), type_name="u32"),)),
        VariantInfo("Finalization", 1),
        VariantInfo("Initialization", 2),
    ))


def event_record(reg: Registry) -> int:
    """`EventRecord<RuntimeEvent, H256> {phase, event, topics: Vec<H256>}`."""
    event = runtime_event(reg)
    hash_ = h256(reg)
    return _composite(reg, "frame_system::EventRecord", (
        FieldInfo(phase(reg), "phase", "Phase"), FieldInfo(event, "event", "E"),
        FieldInfo(reg.sequence(hash_), "topics", "Vec<T>"),
    ), (TypeParam("E", event), TypeParam("T", hash_)))


def event_records(reg: Registry) -> int:
    """`Vec<EventRecord>`: the value of `System.Events`."""
    return reg.sequence(event_record(reg))


def outer_runtime(reg: Registry) -> int:
    """`btt_runtime::Runtime`: the runtime as a type (V14's last field), a composite with no fields."""
    return _composite(reg, RUNTIME, ())


# --- constants: the runtime version and the block's limits ---------------------------------------------------------


def option(reg: Registry, ty: int) -> int:
    """`Option<T>`: None 0, Some(T) 1."""
    return reg.add(TypeInfo(Variant((
        VariantInfo("None", 0), VariantInfo("Some", 1, (FieldInfo(ty),)),
    )), ("Option",), (TypeParam("T", ty),)))


def runtime_version(reg: Registry) -> int:
    """`sp_version::RuntimeVersion`: the `System.Version` constant (`runtime.version.RuntimeVersion.encode`)."""
    u32 = reg.primitive("u32")
    string = reg.primitive("str")
    apis = reg.sequence(reg.tuple_of(byte_array(reg, 8), u32))
    cow = reg.add(TypeInfo(Composite((FieldInfo(apis),)), ("Cow",), (TypeParam("T", apis),)))
    return _composite(reg, "sp_version::RuntimeVersion", (
        FieldInfo(string, "spec_name", "Cow<'static, str>"), FieldInfo(string, "impl_name", "Cow<'static, str>"),
        FieldInfo(u32, "authoring_version", "u32"), FieldInfo(u32, "spec_version", "u32"),
        FieldInfo(u32, "impl_version", "u32"), FieldInfo(cow, "apis", "ApisVec"),
        FieldInfo(u32, "transaction_version", "u32"), FieldInfo(reg.primitive("u8"), "system_version", "u8"),
    ))


def _per_dispatch_class(reg: Registry, ty: int) -> int:
    """`frame_support::dispatch::PerDispatchClass<T> {normal, operational, mandatory}`."""
    return reg.add(TypeInfo(Composite((
        FieldInfo(ty, "normal", "T"), FieldInfo(ty, "operational", "T"), FieldInfo(ty, "mandatory", "T"),
    )), ("frame_support", "dispatch", "PerDispatchClass"), (TypeParam("T", ty),)))


def block_weights(reg: Registry) -> int:
    """`frame_system::limits::BlockWeights {base_block, max_block, per_class: PerDispatchClass<WeightsPerClass>}`,
    `WeightsPerClass {base_extrinsic: Weight, max_extrinsic, max_total, reserved: Option<Weight>}`."""
    w = weight(reg)
    optional = option(reg, w)
    per_class = _composite(reg, "frame_system::limits::WeightsPerClass", (
        FieldInfo(w, "base_extrinsic", "Weight"), FieldInfo(optional, "max_extrinsic", "Option<Weight>"),
        FieldInfo(optional, "max_total", "Option<Weight>"), FieldInfo(optional, "reserved", "Option<Weight>"),
    ))
    return _composite(reg, "frame_system::limits::BlockWeights", (
        FieldInfo(w, "base_block", "Weight"), FieldInfo(w, "max_block", "Weight"),
        FieldInfo(_per_dispatch_class(reg, per_class), "per_class",
                  "PerDispatchClass<WeightsPerClass>"),
    ))


def block_length(reg: Registry) -> int:
    """`frame_system::limits::BlockLength {max: PerDispatchClass<u32>}`."""
    return _composite(reg, "frame_system::limits::BlockLength", (
        FieldInfo(_per_dispatch_class(reg, reg.primitive("u32")), "max", "PerDispatchClass<u32>"),
    ))


def db_weight(reg: Registry) -> int:
    """`sp_weights::RuntimeDbWeight {read: u64, write: u64}`."""
    u64 = reg.primitive("u64")
    return _composite(reg, "sp_weights::RuntimeDbWeight", (
        FieldInfo(u64, "read", "u64"), FieldInfo(u64, "write", "u64"),
    ))


# --- Balances' locks, freezes and holds ----------------------------------------------------------------------------


def _bounded_vec(reg: Registry, key: str, item: int) -> int:
    """`bounded_collections::...::BoundedVec<T, S>` / `WeakBoundedVec<T, S>`: a composite holding a `Vec<T>`."""
    return reg.add(TypeInfo(Composite((FieldInfo(reg.sequence(item), type_name="Vec<T>"),)), _path(key),
                            (TypeParam("T", item), TypeParam("S"))))


def balance_locks(reg: Registry) -> int:
    """`WeakBoundedVec<pallet_balances::types::BalanceLock<u128>>`, `BalanceLock {id: [u8; 8], amount, reasons}`,
    `Reasons`: Fee 0, Misc 1, All 2: the value of `Balances.Locks`."""
    u128 = reg.primitive("u128")
    reasons = _unit_enum(reg, "pallet_balances::types::Reasons", ("Fee", "Misc", "All"))
    lock = _composite(reg, "pallet_balances::types::BalanceLock", (
        FieldInfo(byte_array(reg, 8), "id", "LockIdentifier"), FieldInfo(u128, "amount", "Balance"),
        FieldInfo(reasons, "reasons", "Reasons"),
    ), (TypeParam("Balance", u128),))
    return _bounded_vec(reg, "bounded_collections::weak_bounded_vec::WeakBoundedVec", lock)


def balance_reserves(reg: Registry) -> int:
    """`BoundedVec<pallet_balances::types::ReserveData<[u8; 8], u128>>` (`{id, amount}`): the value of
    `Balances.Reserves`, FRAME's named reserves."""
    u128 = reg.primitive("u128")
    identifier = byte_array(reg, 8)
    data = _composite(reg, "pallet_balances::types::ReserveData", (
        FieldInfo(identifier, "id", "ReserveIdentifier"), FieldInfo(u128, "amount", "Balance"),
    ), (TypeParam("ReserveIdentifier", identifier), TypeParam("Balance", u128)))
    return _bounded_vec(reg, "bounded_collections::bounded_vec::BoundedVec", data)


def _id_amounts(reg: Registry, reason: str) -> int:
    """`BoundedVec<IdAmount<btt_runtime::Runtime<reason>, u128>>` with the reason enum empty (no pallet of this runtime
    freezes or holds): the value of `Balances.Freezes` and `Balances.Holds`."""
    u128 = reg.primitive("u128")
    reason_ty = _enum(reg, f"{RUNTIME_CRATE}::{reason}", ())
    id_amount = reg.add(TypeInfo(Composite((
        FieldInfo(reason_ty, "id", "Id"), FieldInfo(u128, "amount", "Balance"),
    )), ("frame_support", "traits", "tokens", "misc", "IdAmount"),
        (TypeParam("Id", reason_ty), TypeParam("Balance", u128))))
    return _bounded_vec(reg, "bounded_collections::bounded_vec::BoundedVec", id_amount)


def balance_freezes(reg: Registry) -> int:
    return _id_amounts(reg, "RuntimeFreezeReason")


def balance_holds(reg: Registry) -> int:
    return _id_amounts(reg, "RuntimeHoldReason")
