"""`btt_dryRunReferendum` judges a call by the spec the head runs, arguments and all, not by the newest table this
node knows. Spec 17 gave `bonds.register_validator` a third argument (the key's proof): on a chain still at spec 16 the
two-argument form is the call a referendum would enact, and the three-argument form is not a call there at all. The
RPC used to cut the call's arguments by the newest table, so on such a chain it refused the real call as malformed
and passed the other to a runtime that then refused it for bytes it does not know."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.errors import INVALID_PARAMS, RpcError
from btt_chain.rpc.registry import REGISTRY, RpcContext
from genesis.loader import as_of_spec, canonical_json, load_chain_spec_doc
from runtime.specs import runtime_of

from .harness import free_port

KEY, COMMITMENT, PROOF = b"\x01" * 32, b"\x02" * 32, b"\x03" * 64


@pytest.fixture(scope="module")
def at_spec_16(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    where = tmp_path_factory.mktemp("spec16")
    path = where / "spec16.json"
    path.write_bytes(canonical_json(as_of_spec(load_chain_spec_doc("dev"), 16)))
    node = Node(NodeConfig(chain=str(path), base_path=where / "node", tmp=False, validator_key=dev_keypair("alice"),
                           rpc_port=free_port()))
    try:
        assert node.chain.runtime.spec_version == 16
        yield node
    finally:
        node.close()


def dry_run(node: Node, call_hex: str, emergency: bool = False) -> Any:
    ctx = RpcContext(node)
    method = REGISTRY.get("btt_dryRunReferendum")
    assert method is not None
    before = (node.chain.head_hash, len(node.pool))
    out = method.handler(ctx, *method.bind([call_hex, emergency], ctx))
    assert (node.chain.head_hash, len(node.pool)) == before  # nothing kept
    return out


def test_the_heads_spec_decodes_the_call_a_referendum_would_enact(at_spec_16: Node) -> None:
    old_form = "0x" + runtime_of(16).call("bonds.register_validator", KEY, COMMITMENT).encode().hex()
    new_form = "0x" + runtime_of(17).call("bonds.register_validator", KEY, COMMITMENT, PROOF).encode().hex()
    judged = dry_run(at_spec_16, old_form)
    # decoded by spec 16 and refused for what it is (a validator registers itself, not a referendum)
    assert judged["ok"] is False and "bytes after" not in judged["error"] and "argument" not in judged["error"]
    refused = dry_run(at_spec_16, new_form)
    assert refused["ok"] is False and "bonds.register_validator" in refused["error"]
    assert "bytes after its 2 arguments" in refused["error"]


def test_a_call_spec_16_lacks_or_cannot_decode_is_a_refusal_with_the_reason(at_spec_16: Node) -> None:
    transfer = runtime_of(16).call("balances.transfer_allow_death", dev_keypair("bob").public, 10**18).encode()
    assert dry_run(at_spec_16, "0x" + transfer.hex())["ok"] is False  # the governance origin has no balance
    cut = dry_run(at_spec_16, "0x" + transfer[:-3].hex())
    assert cut["ok"] is False and "balances.transfer_allow_death argument" in cut["error"]
    nowhere = dry_run(at_spec_16, "0x" + bytes((250, 1)).hex())
    assert nowhere == {"ok": False, "error": "no call at index (250, 1)"}
    for junk in ("0x", "0x00", "00", 7):
        with pytest.raises(RpcError) as exc:
            dry_run(at_spec_16, junk)  # type: ignore[arg-type]
        assert exc.value.code == INVALID_PARAMS and "call" in exc.value.message
