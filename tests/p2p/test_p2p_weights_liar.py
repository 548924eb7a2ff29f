"""p2p_weights_liar: a node whose only peer lies about a weights blob it claims to hold (its manifest is true, its
first chunk is not) bans that peer at the first wrong chunk, over real p2p services on loopback: the liar is cut off
and refused, its bytes are not kept, and the node says it has no peer left to ask. When an honest peer connects, the
fetch starts again at once and the blob arrives; the honest peer is not blamed. Waits on events, never on the clock."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from btt_chain.node.weights_exchange import PROTOCOL, WeightsExchange, decode_request
from runtime.compute.model import weights_hash
from storage.content import ContentStore
from tests.node.test_weights_exchange import chunk_files, lying
from tests.p2p.harness import Net, bootnode, peer_ids, wait_until
from tests.storage.test_content_store import THREE

H = weights_hash(THREE)


async def test_a_weights_liar_is_banned_at_its_first_lie_and_a_peer_that_connects_later_serves(
    net: Net, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    liar = net.service("liar")
    fetcher = net.service("fetcher", (bootnode(liar),))
    liar_store = ContentStore(tmp_path / "liar")
    liar_store.put(THREE)
    tells = lying(WeightsExchange(liar_store, liar).serve, "a flipped byte")
    served: list[int | None] = []

    async def serve_lies(peer: str, data: bytes) -> bytes:
        served.append(decode_request(data)[1])
        return await tells(peer, data)

    liar.set_request_handler(PROTOCOL, serve_lies)
    exchange = WeightsExchange(ContentStore(tmp_path / "fetcher"), fetcher)
    exchange.start()

    def on_connected(peer: str) -> None:  # what the node's network does when a peer connects
        exchange.peer_connected(peer)
        exchange.want(H)

    fetcher.on_peer_connected(on_connected)
    await fetcher.start()
    await liar.start()
    await wait_until(lambda: liar.local_peer_id in peer_ids(fetcher), what="the liar connected")
    exchange.want(H)  # running already (the connection started it) or starting now

    await wait_until(lambda: fetcher.is_banned(liar.local_peer_id), what="the liar banned")
    assert served == [None, 0]  # banned at its first lie: its manifest was true, its first chunk was not
    assert any(r.getMessage().startswith(f"banned {liar.local_peer_id} for 300 s: wrong content: the weights 0x")
               for r in caplog.records)
    assert fetcher.ban_totals()["wrong_content"] == 1
    await wait_until(lambda: not exchange.fetching, what="the fetch from the liar ended")
    assert not exchange.store.has(H) and chunk_files(exchange.store) == []
    assert any("no peer left to ask: asking again when one connects" in r.getMessage() for r in caplog.records)
    await wait_until(lambda: fetcher.local_peer_id not in peer_ids(liar), what="the liar cut off")

    honest = net.service("honest", (bootnode(fetcher),))
    honest_store = ContentStore(tmp_path / "honest")
    honest_store.put(THREE)
    WeightsExchange(honest_store, honest).start()
    await honest.start()
    await wait_until(lambda: exchange.store.has(H), what="the blob fetched from the honest peer")
    assert exchange.store.get_weights(H) == THREE
    assert not fetcher.is_banned(honest.local_peer_id) and fetcher.peer_score(honest.local_peer_id) == 0
    assert fetcher.is_banned(liar.local_peer_id) and served == [None, 0]  # never asked again
