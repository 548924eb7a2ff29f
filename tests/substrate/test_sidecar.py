"""An unchanged Substrate API Sidecar (@substrate/api-sidecar, pinned in tests/substrate/sidecar/package-lock.json) with
its defaults against a real dev node, as an exchange runs it (issue 53): one Sidecar process (`SAS_SUBSTRATE_URL`,
`SAS_EXPRESS_PORT`), its start measured. It hands out the signing material (`/transaction/material`, at the finalized
head), and a transaction signed with it (bob's `vesting.vested_transfer` to a fresh account) goes through
`POST /transaction/dry-run` (Sidecar passes `at` = the finalized head: that was always 400), `POST
/transaction/fee-estimate` (the node's `payment_queryInfo` figure) and `POST /transaction`; the block it lands in
shows it with no per-extrinsic fee (Sidecar computes none for a chain it does not know) and the fee charged in
`transactionPayment.TransactionFeePaid`, the figure exchanges read; `/accounts/{id}/vesting-info` then lists the new
schedule as FRAME's records, whose FRAME arithmetic at Sidecar's block gives what btt says is vested there (it failed
with "historicApi.query.vesting.vesting is not a function"), and `/balance-info`'s vesting lock is the rest.

A failing call (more than bob holds) dry-runs as a dispatch error and a forged signature as an invalid transaction,
neither sent nor charged. Every wait polls with a deadline."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import RpcClient
from btt_chain.primitives.extrinsic import Era, Extrinsic, sign_extrinsic
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from tests.functional.framework import Harness, NodeProcess, free_port, wait_until
from tests.substrate.tools import SUBSTRATE, dev_node, node_missing, packages_missing, tool_process
from tests.support.wait_limits import scaled

SIDECAR = SUBSTRATE / "sidecar"
MAIN = SIDECAR / "node_modules" / "@substrate" / "api-sidecar" / "build" / "src" / "main.js"
UNIT = 10**18


class Sidecar:
    """Sidecar's REST API at `base`: each call's (HTTP status, JSON body)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": "application/json"},
                                     method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(req, timeout=scaled(60)) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def ok(self, path: str, body: dict[str, Any] | None = None) -> Any:
        status, reply = self.request(path, body)
        assert status == 200, f"{'POST' if body else 'GET'} {path}: {status} {json.dumps(reply)[:2000]}"
        return reply


def sign_with_material(material: dict[str, Any], info: ChainInfo, rpc: RpcClient, signer: Keypair, call_name: str,
                       *args: Any) -> Extrinsic:
    """Sign as a Sidecar user does: the era born at the material's block (the finalized head), its spec version."""
    at = material["at"]
    nonce = int(rpc.call("system_accountNextIndex", "0x" + signer.public.hex()))
    return sign_extrinsic(signer, info.calls.build_call(call_name, *args), nonce,
                          bytes.fromhex(material["genesisHash"][2:]), int(material["specVersion"]),
                          era=Era.mortal(64, int(at["height"])), birth_hash=bytes.fromhex(at["hash"][2:]))


def frame_vested(records: list[dict[str, Any]], n: int) -> int:
    """pallet_vesting's vested amount at block `n`, as Sidecar's clients compute it from the records."""
    return sum(min(int(r["locked"]), int(r["perBlock"]) * (n - int(r["startingBlock"])))
               for r in records if n > int(r["startingBlock"]))


def head_time_ms(node: NodeProcess, block_hash: str | None = None) -> int:
    return int(node.call("btt_header", *([block_hash] if block_hash else []))["timestamp"], 16)


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
def test_sidecar_dry_runs_estimates_submits_and_shows_vesting_with_its_defaults(harness: Harness) -> None:
    not_installed = packages_missing(SIDECAR, "@substrate/api-sidecar")
    assert not_installed is None, not_installed
    node = dev_node(harness, ["--no-p2p"])
    node.start()
    rpc = RpcClient(node.rpc.url, timeout=scaled(60))
    info = ChainInfo.fetch(rpc)
    prefix = info.ss58_prefix

    port = free_port()
    env = {"SAS_SUBSTRATE_URL": f"ws://127.0.0.1:{node.rpc_port}", "SAS_EXPRESS_PORT": str(port),
           "SAS_EXPRESS_BIND_HOST": "127.0.0.1", "SAS_LOG_LEVEL": "info"}
    sidecar = Sidecar(f"http://127.0.0.1:{port}")
    began = time.monotonic()
    with tool_process(["node", str(MAIN)], SIDECAR, harness.root / "sidecar.log", env) as proc:
        def up() -> bool:
            assert proc.exited() is None, f"Sidecar exited with {proc.exited()}:\n{proc.tail()}"
            return sidecar.request("/node/version")[0] == 200

        wait_until(up, 120, 0.1, "Sidecar to answer")
        started = time.monotonic() - began
        harness.log(f"Sidecar answered {started:.2f} s after it was started")
        print(f"\nSidecar start: {started:.2f} s")
        wait_until(lambda: node.finalized_number() >= 1, 180, 0.2, "finality past genesis")

        # the material a Sidecar user signs with: the finalized head, the runtime's versions
        material = sidecar.ok("/transaction/material?noMeta=true")
        assert material["genesisHash"] == node.call("chain_getBlockHash", 0)
        assert int(material["specVersion"]) == info.spec_version
        assert material["at"]["hash"] == node.call("chain_getFinalizedHead")

        bob, heir = dev_keypair("bob"), dev_keypair("sidecar//heir")
        params = {p["name"]: int(p["value"]) for p in rpc.call("btt_params")}
        amount = max(params["vesting.min_transfer"], 1_000 * UNIT)
        cliff = max(head_time_ms(node), int(time.time() * 1000)) + int(scaled(6_000))  # after its inclusion
        end = cliff + 600_000
        xt = sign_with_material(material, info, rpc, bob, "vesting.vested_transfer", heir.public, amount, cliff, end)
        tx = "0x" + xt.encode().hex()
        bob_before = node.call("btt_account", "0x" + bob.public.hex())

        # dry-run with Sidecar's default `at`, the finalized head
        dry = sidecar.ok("/transaction/dry-run", {"tx": tx})
        assert dry["at"]["hash"] == material["at"]["hash"] or int(dry["at"]["height"]) >= int(
            material["at"]["height"])
        assert dry["dryRunResult"]["resultType"] == "DispatchOutcome", dry
        assert "ok" in {k.lower() for k in dry["dryRunResult"]["result"]}, dry
        too_much = sign_with_material(material, info, rpc, bob, "balances.transfer_keep_alive", heir.public,
                                      10**15 * UNIT)
        failing = sidecar.ok("/transaction/dry-run", {"tx": "0x" + too_much.encode().hex()})
        assert failing["dryRunResult"]["resultType"] == "DispatchOutcome"
        assert "err" in {k.lower() for k in failing["dryRunResult"]["result"]}, failing
        forged = "0x" + xt.replace(signature=bytes(64)).encode().hex()
        invalid = sidecar.ok("/transaction/dry-run", {"tx": forged})
        assert invalid["dryRunResult"]["resultType"] == "TransactionValidityError", invalid
        assert invalid["dryRunResult"]["validityErrorType"] == "InvalidTransaction", invalid
        assert node.call("btt_account", "0x" + bob.public.hex()) == bob_before  # dry runs cost nothing
        assert node.call("author_pendingExtrinsics") == []

        # fee-estimate: the node's own figure for these bytes
        estimate = sidecar.ok("/transaction/fee-estimate", {"tx": tx})
        quoted = node.call("payment_queryInfo", tx, material["at"]["hash"])
        assert int(estimate["partialFee"]) == int(quoted["partialFee"]) > 0, (estimate, quoted)
        assert int(estimate["weight"]["refTime"]) == quoted["weight"]["refTime"]

        # submit, and find it in its block with the fee it paid
        submitted = sidecar.ok("/transaction", {"tx": tx})
        assert submitted["hash"] == "0x" + blake2b_256(xt.encode()).hex()

        def included() -> dict[str, Any] | None:
            status = node.call("btt_extrinsicStatus", submitted["hash"])
            return status if status is not None and status.get("status") == "included" else None

        status = wait_until(included, 60, 0.2, "the vested transfer included")
        assert status["success"], status
        assert int(status["fee"]) == int(estimate["partialFee"])
        number = int(status["blockNumber"])
        wait_until(lambda: node.finalized_number() >= number, 60, 0.2, "its block finalized")
        block = sidecar.ok(f"/blocks/{number}")
        [mine] = [x for x in block["extrinsics"] if x["hash"] == submitted["hash"]]
        assert mine["success"] and mine["method"] == {"pallet": "vesting", "method": "vestedTransfer"}, mine
        assert mine["info"] == {"error": "Fee calculation not supported for this network"}, mine["info"]
        [paid] = [e for e in mine["events"] if e["method"] == {"pallet": "transactionPayment",
                                                               "method": "TransactionFeePaid"}]
        assert int(paid["data"][1]) == int(estimate["partialFee"]) and int(paid["data"][2]) == 0, paid

        # vesting-info at Sidecar's default block (the finalized head), once the curve has begun there
        wait_until(lambda: head_time_ms(node, node.call("chain_getFinalizedHead")) > cliff + 2_000, 120, 0.2,
                   "the finalized head past the cliff")
        from btt_chain.primitives.address import encode_address

        address = encode_address(heir.public, prefix)
        vesting = sidecar.ok(f"/accounts/{address}/vesting-info")
        at, height = vesting["at"]["hash"], int(vesting["at"]["height"])
        btt = node.call("btt_vesting", address, at)
        vested = frame_vested(vesting["vesting"], height)
        assert vested == int(btt["unlocked"]) and 0 < vested < amount, (vesting, btt)
        assert sum(int(r["locked"]) for r in vesting["vesting"]) == amount
        balance = sidecar.ok(f"/accounts/{address}/balance-info?at={at}")
        [lock] = [lock for lock in balance["locks"] if lock["id"] == "0x" + b"vesting ".hex()]
        assert int(lock["amount"]) == amount - vested == int(btt["locked"])

        # dave's genesis schedule, its cliff still ahead: nothing vested of the whole total
        dave = encode_address(dev_keypair("dave").public, prefix)
        dave_vesting = sidecar.ok(f"/accounts/{dave}/vesting-info")
        dave_btt = node.call("btt_vesting", dave, dave_vesting["at"]["hash"])
        assert frame_vested(dave_vesting["vesting"], int(dave_vesting["at"]["height"])) == int(dave_btt["unlocked"])
        assert sum(int(r["locked"]) for r in dave_vesting["vesting"]) == sum(
            int(s["total"]) for s in dave_btt["schedules"])
        assert proc.exited() is None, proc.tail()
    harness.log(f"the Sidecar flows took {time.monotonic() - began:.1f} s with its start")
