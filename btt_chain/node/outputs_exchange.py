"""The `outputs/get` request/response protocol: job outputs by (job id, provider), between nodes; with the
provider field all 0xff (`job_outputs.INPUTS`), a requester's job's input items instead.

Request:  [job id, provider (32 bytes)]
Response: [] when the peer holds none, else [output root, [output item, ...]]

Both are strictly decoded (a peer's bytes are hostile) and bounded: at most MAX_JOB_ITEMS items of at
most MAX_EXCHANGED_ITEM each. A node that is asked for outputs it lacks (over RPC) asks its peers one by one and
keeps the first answer that `JobOutputs.accept` verifies against the chain; a peer whose answer is malformed
or does not verify loses score. Fetches run as tasks owned here, bounded in number, and one (job, provider)
is not asked for again within RETRY_AFTER_S.
"""

from __future__ import annotations

import asyncio
import logging
import time

from btt_chain.node.job_outputs import INPUTS, JobOutputs, OutputsNotKept, OutputsRejected
from btt_chain.node.peer_requests import Peers
from btt_chain.primitives.codec import U64_MAX, pack, unpack
from btt_chain.primitives.errors import DecodeError
from runtime.compute.types import MAX_EXCHANGED_ITEM, MAX_JOB_ITEMS

log = logging.getLogger("btt.net")

PROTOCOL = "outputs/get"
MAX_REQUEST_BYTES = 64
MAX_RESPONSE_BYTES = MAX_JOB_ITEMS * (MAX_EXCHANGED_ITEM + 3) + 64
"""The largest well-formed response: every item at its size bound with its msgpack header."""
PEERS_ASKED = 8
REQUEST_TIMEOUT_S = 10.0
RETRY_AFTER_S = 5.0
MAX_FETCHES = 4
BAD_OUTPUTS_PENALTY = 20


# wire ----------------------------------------------------------------------------------------------------


def encode_request(job_id: int, provider: bytes) -> bytes:
    return pack([job_id, provider])


def decode_request(raw: bytes) -> tuple[int, bytes]:
    value = unpack(raw, max_size=MAX_REQUEST_BYTES)
    if not (
        isinstance(value, list) and len(value) == 2 and type(value[0]) is int and 0 <= value[0] <= U64_MAX
        and isinstance(value[1], bytes) and len(value[1]) == 32
    ):
        raise DecodeError("an outputs request must be [job id u64, provider32]")
    return value[0], value[1]


def encode_response(found: tuple[bytes, tuple[bytes, ...]] | None) -> bytes:
    if found is None:
        return pack([])
    root, outputs = found
    return pack([root, list(outputs)])


def decode_response(raw: bytes) -> tuple[bytes, tuple[bytes, ...]] | None:
    value = unpack(raw, max_size=MAX_RESPONSE_BYTES)
    if value == []:
        return None
    if not (
        isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes) and len(value[0]) == 32
        and isinstance(value[1], list) and 1 <= len(value[1]) <= MAX_JOB_ITEMS
        and all(isinstance(x, bytes) and len(x) <= MAX_EXCHANGED_ITEM for x in value[1])
    ):
        raise DecodeError(
            f"an outputs response must be [] or [root32, [1 to {MAX_JOB_ITEMS} items of at most "
            f"{MAX_EXCHANGED_ITEM} bytes]]"
        )
    return value[0], tuple(value[1])


# serving and fetching ------------------------------------------------------------------------------------


class OutputsExchange:
    """Serves `outputs/get` from the node's outputs and fetches missing ones from peers."""

    def __init__(self, outputs: JobOutputs, p2p: Peers) -> None:
        self.outputs = outputs
        self.p2p = p2p
        self._tasks: dict[tuple[int, bytes], asyncio.Task[bool]] = {}
        self._asked: dict[tuple[int, bytes], float] = {}

    def start(self) -> None:
        self.p2p.set_request_handler(PROTOCOL, self.serve)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def serve(self, peer: str, data: bytes) -> bytes:
        job_id, provider = decode_request(data)
        if provider == INPUTS:
            held = self.outputs.find_inputs(job_id)
            return encode_response(None if held is None else (held[0].input_root, held[1]))
        found = self.outputs.find(job_id, provider)
        return encode_response(None if found is None else (found.root, found.outputs))

    def want(self, job_id: int, provider: bytes) -> bool:
        """Start fetching (job, provider) from peers unless a fetch runs or ran moments ago; whether one runs."""
        key = (job_id, provider)
        if key in self._tasks:
            return True
        now = time.monotonic()
        if now - self._asked.get(key, -RETRY_AFTER_S) < RETRY_AFTER_S or len(self._tasks) >= MAX_FETCHES:
            return False
        if not self.p2p.peers():
            return False
        if provider == INPUTS:
            wanted = self.outputs.wants_inputs(job_id)
        else:
            wanted = self.outputs.has_revealed(job_id, provider)
        if not wanted:
            return False
        self._asked = {k: t for k, t in self._asked.items() if now - t < RETRY_AFTER_S}
        self._asked[key] = now
        task = asyncio.get_running_loop().create_task(self.fetch(job_id, provider), name=f"outputs-{job_id}")
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))
        return True

    async def fetch(self, job_id: int, provider: bytes) -> bool:
        """Ask peers in turn; keep the first answer that verifies. Whether the outputs are now held here."""
        request = encode_request(job_id, provider)
        for info in self.p2p.peers()[:PEERS_ASKED]:
            peer = info.peer_id
            try:
                raw = await self.p2p.request(peer, PROTOCOL, request, timeout=REQUEST_TIMEOUT_S)
                answer = decode_response(raw)
            except DecodeError as exc:
                self.p2p.penalise(peer, BAD_OUTPUTS_PENALTY, f"malformed outputs response: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - P2PError and friends: that peer cannot help
                log.debug("no outputs of job %d from %s: %s", job_id, peer, exc)
                continue
            if answer is None:
                continue
            _, items = answer
            try:
                if provider == INPUTS:
                    self.outputs.accept_inputs(job_id, items)
                else:
                    self.outputs.accept(job_id, provider, items)
            except OutputsNotKept as exc:
                log.warning("fetched the outputs of job %d but cannot keep them: %s", job_id, exc)
                return False
            except OutputsRejected as exc:
                self.p2p.penalise(peer, BAD_OUTPUTS_PENALTY, f"outputs of job {job_id} do not verify: {exc}")
                continue
            log.info("fetched the outputs of job %d (provider 0x%s, %d items) from %s", job_id,
                     provider.hex()[:16], len(items), peer[-8:])
            return True
        return False
