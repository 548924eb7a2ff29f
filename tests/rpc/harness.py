"""RPC test helpers in the spirit of bitcoin's functional tests: `call`, `assert_raises_rpc_error`, `unchanged`,
and block authoring for an in-process dev node whose RpcServer alone is started."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from btt_chain.node.chain import ImportedBlock
from btt_chain.node.service import Node
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair
from btt_chain.rpc.server import RpcServer
from runtime.modules import RUNTIME
from tests.support.ports import free_port  # noqa: F401  (re-exported for the tests that import it from here)

UNIT = 10**18


class RpcCallError(Exception):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')} {error.get('data', '')}")
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.data = error.get("data")


@dataclass
class RpcHarness:
    node: Node
    server: RpcServer
    session: aiohttp.ClientSession
    alice: Keypair
    _next_id: int = 0

    @property
    def url(self) -> str:
        return self.server.url

    async def post(self, payload: Any = None, data: bytes | str | None = None) -> tuple[int, Any]:
        """POST a JSON payload (or raw bytes); the HTTP status and the decoded body (None when empty)."""
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": payload}
        async with self.session.post(self.url, **kwargs) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else None)

    async def call(self, method: str, *params: Any) -> Any:
        self._next_id += 1
        request = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        status, body = await self.post(request)
        assert status == 200, (status, body)
        assert body["jsonrpc"] == "2.0" and body["id"] == self._next_id, body
        if "error" in body:
            raise RpcCallError(body["error"])
        return body["result"]

    async def assert_raises_rpc_error(self, code: int, substring: str, method: str, *params: Any) -> RpcCallError:
        """Call `method` and check it fails with `code` and `substring` in its message or data; nothing changes."""
        with self.unchanged():
            try:
                result = await self.call(method, *params)
            except RpcCallError as exc:
                assert exc.code == code, f"{method}: expected code {code}, got {exc}"
                text = f"{exc.message} {exc.data or ''}"
                assert substring.lower() in text.lower(), f"{method}: {substring!r} not in {text!r}"
                return exc
        raise AssertionError(f"{method} succeeded with {result!r}; expected error {code}")

    @contextlib.contextmanager
    def unchanged(self) -> Iterator[None]:
        """Assert the pool length and the head hash are the same after the block."""
        before = (len(self.node.pool), self.node.chain.head_hash)
        yield
        assert (len(self.node.pool), self.node.chain.head_hash) == before, "a failing call changed the node"

    # chain helpers -----------------------------------------------------------------------------------
    def sign(self, pair: Keypair, call_name: str, *args: Any, nonce: int | None = None, tip: int = 0) -> Extrinsic:
        if nonce is None:
            nonce = self.node.next_account_index(pair.public)
        call = RUNTIME.call(call_name, *args)
        return sign_extrinsic(pair, call, nonce, self.node.chain.genesis_hash, RUNTIME.spec_version, tip=tip)

    def author_block(self) -> ImportedBlock:
        """Author the next block with alice (the only dev validator) from the pool, then prune the pool."""
        chain, pool = self.node.chain, self.node.pool
        candidates = [(t.xt, len(t.encoded)) for t in pool.ready()]
        imported, dropped = chain.author_block(chain.head.slot + 1, self.alice, candidates)
        pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])
        return imported

    async def author_until_sampled(self, job_id: int, limit: int = 80) -> None:
        """Author blocks until every committed assignment of the job has its sample (it waits for the first
        block from the assignment's sample start, two epochs on)."""
        for _ in range(limit):
            job = await self.call("btt_job", job_id)
            if all(a["sampleIndices"] for a in job["assignments"] if a["state"] == "committed"):
                return
            self.author_block()
        raise AssertionError(f"job {job_id}: no sample within {limit} blocks")

    async def submit_in_block(self, who: Keypair, call_name: str, *args: Any) -> dict[str, Any]:
        """Submit over RPC, author a block with it and check it succeeded; its `btt_extrinsicStatus` (with the fee)."""
        xt = self.sign(who, call_name, *args)
        await self.call("author_submitExtrinsic", "0x" + xt.encode().hex())
        imported = self.author_block()
        assert xt.hash() in [x.hash() for x in imported.block.extrinsics]
        status = await self.call("btt_extrinsicStatus", "0x" + xt.hash().hex())
        assert status["success"], status
        return dict(status)

    def author_at_time(self, at_ms: int) -> ImportedBlock:
        """Author one block in the first slot starting at or after `at_ms` (the slots between stay empty)."""
        chain = self.node.chain
        slot = max(chain.head.slot + 1, -(-(at_ms - chain.clock.genesis_time_ms) // chain.clock.slot_ms))
        imported, _ = chain.author_block(slot, self.alice, [])
        assert imported.block.header.timestamp_ms >= at_ms
        return imported
