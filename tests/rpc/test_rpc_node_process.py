"""RPC against a real node process: `python -m cli node --dev --tmp --rpc-port PORT` authors blocks as alice;
a signed transfer alice -> bob goes in over author_submitExtrinsic and the balances move by exactly the amount
and the fee. The process is always killed; its log is printed when the test fails."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.process_supervision import die_with_parent
from runtime.modules import RUNTIME

from .harness import UNIT, RpcCallError, free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
log = logging.getLogger("test.rpc.process")


def node_command(port: int) -> list[str]:
    return [sys.executable, "-m", "cli", "node", "--dev", "--tmp", "--rpc-port", str(port), "--no-p2p",
            "--no-prometheus"]


class NodeProcess:
    """A node process with its output in a log file; `stop()` always ends it (and its worker processes)."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            node_command(port), cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        self._id = 0

    async def call(self, session: aiohttp.ClientSession, method: str, *params: Any) -> Any:
        self._id += 1
        request = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}
        async with session.post(self.url, json=request, timeout=aiohttp.ClientTimeout(total=10)) as resp:
            body = await resp.json()
        if "error" in body:
            raise RpcCallError(body["error"])
        return body["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the node's own session: it and its workers
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                if self.proc.poll() is None:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


async def wait_until(
    what: str, predicate: Callable[[], Awaitable[bool]], node: NodeProcess, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise AssertionError(f"the node exited with code {node.proc.returncode} while waiting until {what}")
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting until {what}")


@pytest.mark.asyncio
async def test_transfer_through_a_node_process(tmp_path: Path) -> None:
    node = NodeProcess(free_port(), tmp_path / "node.log")
    try:
        async with aiohttp.ClientSession() as session:
            await run_transfer(node, session)
    except BaseException:
        print(f"---- node log ({node.log_path}) ----\n{node.output()}\n---- end of node log ----")
        raise
    finally:
        node.stop()


async def run_transfer(node: NodeProcess, session: aiohttp.ClientSession) -> None:
    async def call(method: str, *params: Any) -> Any:
        return await node.call(session, method, *params)

    async def answers() -> bool:
        try:
            return bool(await call("system_health") is not None)
        except (TimeoutError, aiohttp.ClientError):
            return False

    log.info("wait for the node's RPC")
    await wait_until("system_health answers", answers, node, START_TIMEOUT_S)
    assert await call("system_chainType") == "Development"
    prefix = (await call("system_properties"))["ss58Format"]
    alice, bob = dev_keypair("alice"), dev_keypair("bob")
    alice_addr, bob_addr = encode_address(alice.public, prefix), encode_address(bob.public, prefix)

    log.info("sign a transfer of 10 BTT from alice to bob")
    genesis = bytes.fromhex((await call("chain_getBlockHash", 0))[2:])
    spec_version = (await call("state_getRuntimeVersion"))["specVersion"]
    nonce = await call("system_accountNextIndex", alice_addr)
    amount = 10 * UNIT
    xt = sign_extrinsic(alice, RUNTIME.call("balances.transfer_allow_death",
                                            bob.public, amount), nonce, genesis, spec_version)
    encoded = "0x" + xt.encode().hex()
    quoted_fee = int((await call("payment_queryInfo", encoded))["partialFee"])
    alice_before = int((await call("btt_account", alice_addr))["free"])
    bob_before = int((await call("btt_account", bob_addr))["free"])

    log.info("submit and wait for inclusion")
    xt_hash = await call("author_submitExtrinsic", encoded)
    status: dict[str, Any] = {}

    async def included() -> bool:
        status.update(await call("btt_extrinsicStatus", xt_hash) or {})
        return status.get("status") == "included"

    await wait_until("the transfer is included", included, node)
    assert status["success"] is True, status
    fee = int(status["fee"])
    assert fee == quoted_fee

    events = await call("btt_events", status["blockHash"])
    [success] = [e for e in events if e["event"] == "ExtrinsicSuccess" and e["phase"] == status["index"]]
    [paid] = [e for e in events if e["event"] == "TransactionFeePaid" and e["phase"] == status["index"]]
    assert int(paid["actual_fee"]) == fee and success["dispatch_info"]["pays_fee"] == 0
    # alice authors every dev block but her author rewards go to alice//stash: she pays exactly amount + fee
    assert not any(e["event"] == "FeesDistributed" and e["author"] == alice_addr for e in events)

    bob_after = int((await call("btt_account", bob_addr))["free"])
    alice_after = int((await call("btt_account", alice_addr))["free"])
    assert bob_after - bob_before == amount
    assert alice_before - alice_after == amount + fee
    assert await call("system_accountNextIndex", alice_addr) == nonce + 1

    log.info("blocks keep coming")
    number = int((await call("chain_getHeader"))["number"], 16)

    async def advanced() -> bool:
        return int((await call("chain_getHeader"))["number"], 16) >= number + 2

    await wait_until("two more blocks are produced", advanced, node, timeout=20)
    assert int((await call("chain_getHeader", status["blockHash"]))["number"], 16) == status["blockNumber"]
