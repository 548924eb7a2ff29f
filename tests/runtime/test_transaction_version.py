"""`transaction_version` follows the calls' encodings, as FRAME's does (`sp_version::RuntimeVersion`: bump it when
a call's index or its arguments' types change, or a call goes). Every signature commits to it, so an offline signer
(txwrapper, a wallet with cached metadata) that built a call in the encoding of an older spec is refused, not
misread. A new spec that changes how an existing call encodes without bumping it fails here; spec 17 did before this
guard existed (`bonds.register_validator` gained the session key's proof) and shipped with version 1, which is on
record here rather than changed: the spec version changed with it, so no payload signed for spec 16 passes under 17.

Wallets built on `btt_chain.client` sign with the head's `transactionVersion` (`ChainInfo.fetch`), not a constant."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from btt_chain.client.chain import ChainInfo
from btt_chain.client.headers import header_hash
from btt_chain.client.submit import sign_call
from btt_chain.primitives import ed25519
from btt_chain.primitives.codec import U64
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, signing_payload
from btt_chain.primitives.keys import dev_keypair
from runtime.dispatch import Runtime
from runtime.metadata import frame_types
from runtime.metadata.registry import Registry
from runtime.metadata.types import fields_of
from runtime.modules import RUNTIME
from runtime.specs import NEWEST, OLDEST, runtime_of

UNBUMPED_ON_RECORD = {17: ["bonds.register_validator"]}
"""Specs that changed how an existing call encodes without bumping `transaction_version`, before this guard: no new
entry may join it (a new spec bumps the version instead: `Runtime(transaction_version=...)`)."""


def shape(reg: Registry, type_id: int, seen: frozenset[int] = frozenset()) -> Any:
    """The encoding of the type `type_id` as nested tuples: its structure only (names, paths and docs encode no byte).
    The outer call enum, reserved and defined last, is a leaf: its own changes are the calls' changes."""
    if type_id == reg.lookup(frame_types.RUNTIME_CALL):
        return "RuntimeCall"
    if type_id in seen:
        return ("recursive", type_id)
    seen = seen | {type_id}
    d = reg.get(type_id).definition
    kind = type(d).__name__  # by name: an older spec's own types (`scale_type`) build its own copies of the classes
    if kind == "Primitive":
        return d.name
    if kind == "Composite":
        return ("composite", tuple(shape(reg, f.ty, seen) for f in d.fields))
    if kind == "Variant":
        return ("variant", tuple((v.index, tuple(shape(reg, f.ty, seen) for f in v.fields))
                                 for v in sorted(d.variants, key=lambda v: v.index)))
    if kind == "Sequence":
        return ("vec", shape(reg, d.ty, seen))
    if kind == "Array":
        return ("array", d.length, shape(reg, d.ty, seen))
    if kind == "Tuple":
        return ("tuple", tuple(shape(reg, t, seen) for t in d.tys))
    if kind == "CompactOf":
        return ("compact", shape(reg, d.ty, seen))
    raise AssertionError(f"a type definition this guard does not know: {d!r}")


def call_encodings(runtime: Runtime) -> dict[tuple[int, int], tuple[str, Any]]:
    """(module index, call index) -> ("module.call", the encoding of its arguments, in order)."""
    reg = Registry()
    frame_types.runtime_call(reg)  # reserved: a call may carry calls
    return {
        (m.index, c.index): (f"{m.name}.{c.name}", tuple(shape(reg, f.ty) for f in fields_of(reg, c.args)))
        for m in runtime.modules for c in m.calls
    }


def changed_calls(old: Runtime, new: Runtime) -> list[str]:
    """The calls of `old` that `new` encodes differently, or has no more, or holds at their index under another
    name (calls `new` adds at free indices change nothing a signer built)."""
    before, after = call_encodings(old), call_encodings(new)
    return sorted(name for key, (name, args) in before.items() if after.get(key) != (name, args))


def test_a_spec_that_changes_how_an_existing_call_encodes_bumps_the_transaction_version() -> None:
    unbumped: dict[int, list[str]] = {}
    for spec in range(OLDEST + 1, NEWEST + 1):
        old, new = runtime_of(spec - 1), runtime_of(spec)
        assert new.transaction_version >= old.transaction_version, f"spec {spec} lowers transaction_version"
        changed = changed_calls(old, new)
        if changed and new.transaction_version == old.transaction_version:
            unbumped[spec] = changed
    assert unbumped == UNBUMPED_ON_RECORD


def test_the_guard_sees_an_argument_changed_a_call_moved_or_removed_and_ignores_a_call_added() -> None:
    modules = list(RUNTIME.modules)
    at = next(i for i, m in enumerate(modules) if m.name == "balances")
    balances = modules[at]

    def with_calls(calls: tuple[Any, ...]) -> Runtime:
        changed = list(modules)
        changed[at] = replace(balances, calls=calls)
        return Runtime(RUNTIME.spec_version + 1, changed)

    first = balances.calls[0]
    assert call_encodings(RUNTIME)[(balances.index, first.index)][1][-1] != "u64"
    retyped = replace(first, args=(*first.args[:-1], (first.args[-1][0], U64)))  # the amount as a plain u64
    assert changed_calls(RUNTIME, with_calls((retyped, *balances.calls[1:]))) == [f"balances.{first.name}"]
    renamed = replace(first, args=(*first.args[:-1], ("amount", first.args[-1][1])))  # no byte changes
    assert changed_calls(RUNTIME, with_calls((renamed, *balances.calls[1:]))) == []
    free = max(c.index for c in balances.calls) + 1
    moved = replace(first, index=free)
    assert changed_calls(RUNTIME, with_calls((moved, *balances.calls[1:]))) == [f"balances.{first.name}"]
    assert changed_calls(RUNTIME, with_calls(balances.calls[1:])) == [f"balances.{first.name}"]
    added = replace(first, index=free, name="transfer_twice")
    assert changed_calls(RUNTIME, with_calls((*balances.calls, added))) == []
    assert changed_calls(RUNTIME, RUNTIME) == []


class _Rpc:
    def __init__(self, version: dict[str, Any]) -> None:
        self.version = version

    def call(self, method: str, *params: Any) -> Any:
        answers: dict[str, Any] = {
            "chain_getBlockHash": "0x" + "11" * 32,
            "system_properties": {"ss58Format": 42, "tokenDecimals": 18, "tokenSymbol": "BTT"},
            "state_getRuntimeVersion": self.version,
            "btt_callTable": RUNTIME.metadata(),
            "system_chainType": "Development",
            "system_accountNextIndex": 3,
        }
        return answers[method]


@pytest.mark.parametrize("tx_version", [TRANSACTION_VERSION, TRANSACTION_VERSION + 1])
def test_a_wallet_signs_with_the_transaction_version_the_node_reports(tx_version: int) -> None:
    rpc = _Rpc({"specVersion": RUNTIME.spec_version, "transactionVersion": tx_version})
    info = ChainInfo.fetch(rpc)  # type: ignore[arg-type]
    assert info.transaction_version == tx_version
    bob = dev_keypair("bob")
    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair("dave").public, 10**16)
    header = {"parentHash": "0x" + "00" * 32, "number": "0x5", "stateRoot": "0x" + "00" * 32,
              "extrinsicsRoot": "0x" + "00" * 32, "digest": {"logs": []}}
    xt = sign_call(rpc, info, bob, call, header=header)  # type: ignore[arg-type]
    assert xt.nonce == 3

    def payload(version: int) -> bytes:
        return signing_payload(call, xt.nonce, xt.tip, xt.era, info.genesis_hash, header_hash(header),
                               info.spec_version, version)

    assert ed25519.verify(bob.public, payload(tx_version), xt.signature)
    assert not ed25519.verify(bob.public, payload(tx_version + 1), xt.signature)


@pytest.mark.parametrize("reported", [None, "2", -1, 2**32, True])
def test_a_node_that_reports_no_usable_transaction_version_is_a_clear_error_not_a_guess(reported: Any) -> None:
    version = {"specVersion": RUNTIME.spec_version}
    if reported is not None:
        version["transactionVersion"] = reported
    with pytest.raises(ConfigError, match="transactionVersion"):
        ChainInfo.fetch(_Rpc(version))  # type: ignore[arg-type]
