"""Every RPC method that reads blocks or walks storage keeps its stated cost bound (issue 25, item 1): checked by
what each call reads (no whole block or whole meta decoded, no more items examined than the bound, pages and `next`
cursors that cover everything exactly once), never by the clock. On a dev chain with one block of 2,400 transfers
(and a few bigger maps written straight into the state), the handlers called as the server calls them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.block import Block
from btt_chain.primitives.codec import pack
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import methods_explorer as explorer
from btt_chain.rpc import paging
from btt_chain.rpc.errors import RpcError
from btt_chain.rpc.methods_explorer import burned_by_event
from btt_chain.rpc.registry import REGISTRY, RpcContext, Stepwise
from runtime.modules import RUNTIME
from storage import schema
from storage.block_meta import BlockMeta, MetaView
from storage.chaindb import ChainDB

from .harness import UNIT, free_port

TRANSFERS = 2_400
"""Extrinsics of the big block: alice to new accounts, and every third one bob to alice."""
EXTRINSICS = TRANSFERS + 2
"""The big block's extrinsics: the timestamp inherent, the transfers, and one that fails (the last)."""


def call(ctx: RpcContext, name: str, *params: Any) -> Any:
    method = REGISTRY.get(name)
    assert method is not None, name
    out = method.handler(ctx, *method.bind(list(params), ctx))
    return out.finish() if isinstance(out, Stepwise) else out


@pytest.fixture(scope="module")
def chain_ctx() -> Iterator[RpcContext]:
    import btt_chain.rpc.server  # noqa: F401  (every method module)

    alice, bob, charlie = dev_keypair("alice"), dev_keypair("bob"), dev_keypair("charlie")
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=alice, rpc_port=free_port()))
    try:
        chain = node.chain
        nonces = {alice.public: 0, bob.public: 0}
        xts = []
        for i in range(TRANSFERS):
            signer = bob if i % 3 == 2 else alice
            dest = alice.public if signer is bob else (0xD0 << 248 | i).to_bytes(32, "big")
            call_ = RUNTIME.call("balances.transfer_allow_death", dest, UNIT)
            xts.append(sign_extrinsic(signer, call_, nonces[signer.public], chain.genesis_hash, RUNTIME.spec_version))
            nonces[signer.public] += 1
        # one that fails: charlie cannot pay 10^9 BTT (its events are ExtrinsicFailed only)
        xts.append(sign_extrinsic(charlie, RUNTIME.call("balances.transfer_allow_death", bob.public, 10**9 * UNIT), 0,
                                  chain.genesis_hash, RUNTIME.spec_version))
        chain.author_block(chain.head.slot + 1, alice, [])
        imported, dropped = chain.author_block(chain.head.slot + 1, alice, [(x, len(x.encode())) for x in xts])
        assert not dropped and len(imported.block.extrinsics) == EXTRINSICS
        burn = sign_extrinsic(charlie, RUNTIME.call("balances.burn", 3 * UNIT, True), 1, chain.genesis_hash,
                              RUNTIME.spec_version)
        for _ in range(3):
            chain.author_block(chain.head.slot + 1, alice, [])
        chain.author_block(chain.head.slot + 1, alice, [(burn, len(burn.encode()))])
        chain.author_block(chain.head.slot + 1, alice, [])
        yield RpcContext(node)
    finally:
        node.close()


def big(ctx: RpcContext) -> tuple[int, bytes]:
    """(number, hash) of the block of transfers."""
    h = ctx.node.chain.db.canonical_hash(2)
    assert h is not None
    return 2, h


class Forbidden(AssertionError):
    """A bounded call reached for a whole block or a whole meta."""


@pytest.fixture
def no_whole_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding a whole block or a whole meta fails the test: bounded calls read parts."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Forbidden("a whole block or block meta was decoded")

    monkeypatch.setattr(Block, "decode", classmethod(refuse))
    monkeypatch.setattr(BlockMeta, "decode", classmethod(refuse))
    monkeypatch.setattr(ChainDB, "get_block", refuse)
    monkeypatch.setattr(ChainDB, "block_meta", refuse)


# the index ------------------------------------------------------------------------------------------


def test_the_index_finds_each_extrinsics_events_and_outcome_as_a_full_scan_does(chain_ctx: RpcContext) -> None:
    db = chain_ctx.node.chain.db
    _, h = big(chain_ctx)
    full = db.block_meta(h)
    view = db.block_meta_view(h)
    assert full is not None and view is not None
    count = EXTRINSICS
    assert view.extrinsic_count == count and view.event_count == len(full.events)
    for i in range(count):
        assert view.events_of(i) == [r for r in full.events if r[0] == i], i
        assert view.outcome(i) == next(o for o in full.outcomes if o[0] == i), i
    (a, b), (c, d) = view.outside_ranges()
    assert view.events(a, b) + view.events(c, d) == [r for r in full.events if not r[0] < count]
    assert view.outcome(count) is None and view.events_of(count) == []
    kinds = view.kinds()
    assert [view.kind_table[k] for k in kinds] == [(r[1], r[2]) for r in full.events]


def test_a_meta_stored_before_the_index_reads_the_same(chain_ctx: RpcContext) -> None:
    db = chain_ctx.node.chain.db
    _, h = big(chain_ctx)
    full = db.block_meta(h)
    assert full is not None
    legacy = pack([full.events, full.outcomes])  # format 1: [events, outcomes]
    assert BlockMeta.decode(legacy) == full
    old, new = MetaView.decode(legacy), db.block_meta_view(h)
    assert old is not None and new is not None
    for i in (0, 1, 2, 1_000, TRANSFERS):
        assert old.events_of(i) == new.events_of(i) and old.outcome(i) == new.outcome(i)
    assert old.outside_ranges() == new.outside_ranges()


def test_events_out_of_phase_order_are_grouped_by_phase() -> None:
    init, fin = 2**32 - 1, 2**32 - 2
    records = [[1, "m", "b", []], [init, "m", "i", []], [0, "m", "a", []], [fin, "m", "f", []], [0, "m", "a2", []]]
    outcomes = [[0, True, bytes(16), 1, ""], [1, True, bytes(16), 1, ""]]
    view = MetaView.decode(BlockMeta(records, outcomes).encode())
    assert [r[2] for r in view.events_of(0)] == ["a", "a2"] and [r[2] for r in view.events_of(1)] == ["b"]
    (a, b), (c, d) = view.outside_ranges()
    assert [r[2] for r in view.events(a, b)] == ["i"] and [r[2] for r in view.events(c, d)] == ["f"]


def test_the_meta_cache_is_bounded_in_entries_and_bytes(chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.chaindb as chaindb

    db = ChainDB(chain_ctx.node.chain.db.kv)
    hashes = [db.canonical_hash(n) for n in range(chain_ctx.node.chain.head.number + 1)]
    monkeypatch.setattr(chaindb, "META_CACHE_ENTRIES", 3)
    for h in hashes:
        assert h is not None and db.block_meta_view(h) is not None
    assert len(db._metas) == 3  # noqa: SLF001
    _, big_hash = big(chain_ctx)
    view = db.block_meta_view(big_hash)
    assert view is not None
    monkeypatch.setattr(chaindb, "META_CACHE_BYTES", view.size - 1)
    db.forget_block_metas()
    db.block_meta_view(big_hash)
    assert len(db._metas) == 0  # noqa: SLF001  (one meta larger than the whole cache is not kept)
    assert db.block_meta_view(big_hash, cache=False) is not None


def test_block_summaries_match_the_block(chain_ctx: RpcContext) -> None:
    db = chain_ctx.node.chain.db
    _, h = big(chain_ctx)
    raw = db.get_block_bytes(h)
    assert raw is not None
    summary = db.block_summary(h)
    assert summary is not None and (summary.extrinsics, summary.size) == (EXTRINSICS, len(raw))
    assert summary.events == db.block_meta_view(h).event_count  # type: ignore[union-attr]
    db.kv.write({}, [schema.block_summary_key(h)])  # a block stored before summaries: counted from its parts
    try:
        assert db.block_summary(h) == summary
    finally:
        db.kv.write({schema.block_summary_key(h): summary.encode()})


# blocks and extrinsics --------------------------------------------------------------------------------


def test_block_pages_cover_every_extrinsic_once(chain_ctx: RpcContext, no_whole_reads: None) -> None:
    number, h = big(chain_ctx)
    first = call(chain_ctx, "btt_explorerBlock", number)
    assert first["extrinsics"] == EXTRINSICS and first["offset"] == 0
    assert len(first["extrinsicList"]) == explorer.BLOCK_XTS_DEFAULT
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = call(chain_ctx, "btt_explorerBlock", "0x" + h.hex(), offset, explorer.BLOCK_XTS_MAX)
        assert len(page["extrinsicList"]) <= explorer.BLOCK_XTS_MAX
        seen += [x["index"] for x in page["extrinsicList"]]
        offset = page["nextOffset"]
    assert seen == list(range(EXTRINSICS))
    last = call(chain_ctx, "btt_explorerBlock", number, EXTRINSICS - 1, 5)
    (failed,) = last["extrinsicList"]
    assert failed["success"] is False and failed["eventCount"] == 2 and last["nextOffset"] is None  # fee, failure
    assert call(chain_ctx, "btt_explorerBlock", number, TRANSFERS + 7)["extrinsicList"] == []
    assert first["blockEventCount"] == len(first["blockEvents"]) >= 1
    with pytest.raises(RpcError):
        call(chain_ctx, "btt_explorerBlock", number, 0, explorer.BLOCK_XTS_MAX + 1)


def test_an_extrinsic_and_its_status_are_read_by_index(chain_ctx: RpcContext, no_whole_reads: None) -> None:
    number, h = big(chain_ctx)
    body = chain_ctx.node.chain.db.block_body(h)
    assert body is not None
    xt = body.extrinsic(TRANSFERS)  # the last transfer (bob to alice, an existing account), after the inherent
    found = call(chain_ctx, "btt_explorerExtrinsic", "0x" + xt.hash().hex())
    assert (found["index"], found["blockNumber"], found["success"]) == (TRANSFERS, number, True)
    assert [e["event"] for e in found["events"]] == ["Transfer", "TransactionFeePaid", "ExtrinsicSuccess"]
    assert found["eventCount"] == 3
    status = call(chain_ctx, "btt_extrinsicStatus", "0x" + xt.hash().hex())
    assert (status["index"], status["success"], status["fee"]) == (TRANSFERS, True, found["fee"])


def test_block_summaries_read_no_block_body_or_events(chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch,
                                                      no_whole_reads: None) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Forbidden("a block list read a block body or its events")

    monkeypatch.setattr(ChainDB, "block_body", refuse)
    monkeypatch.setattr(ChainDB, "block_meta_view", refuse)
    monkeypatch.setattr(ChainDB, "get_block_bytes", refuse)
    page = call(chain_ctx, "btt_explorerBlocks", None, explorer.BLOCKS_MAX)
    (row,) = [b for b in page["blocks"] if b["number"] == 2]
    assert row["extrinsics"] == EXTRINSICS and row["events"] > 2 * TRANSFERS


def test_chain_get_block_and_events_page_without_decoding_the_block(chain_ctx: RpcContext,
                                                                    no_whole_reads: None) -> None:
    _, h = big(chain_ctx)
    block = call(chain_ctx, "chain_getBlock", "0x" + h.hex())
    assert len(block["block"]["extrinsics"]) == EXTRINSICS
    total = chain_ctx.node.chain.db.block_summary(h).events  # type: ignore[union-attr]
    events: list[Any] = []
    while True:
        page = call(chain_ctx, "btt_events", "0x" + h.hex(), None, len(events))
        assert len(page) <= 500
        events += page
        if len(page) < 500:
            break
    assert len(events) == total
    mine = call(chain_ctx, "btt_events", "0x" + h.hex(), 6)  # extrinsic 6 (after the inherent): bob's to alice
    assert mine == [e for e in events if e["phase"] == 6] and len(mine) == 3
    assert call(chain_ctx, "btt_events", "0x" + h.hex(), TRANSFERS + 9) == []


# scans ------------------------------------------------------------------------------------------------


def _brute_matches(ctx: RpcContext, who: bytes) -> list[tuple[int, int, str]]:
    """(block, index, role) of every extrinsic `who` signed or is named in, newest first, by a full scan."""
    db = ctx.node.chain.db
    out = []
    for n in range(ctx.node.chain.head.number, -1, -1):
        h = db.canonical_hash(n)
        block, meta = db.get_block(h), db.block_meta(h)  # type: ignore[arg-type]
        assert block is not None and meta is not None
        for i in range(len(block.extrinsics) - 1, -1, -1):
            if getattr(block.extrinsics[i], "signer", None) == who:  # an inherent has no signer
                out.append((n, i, "signer"))
            elif any(r[0] == i and explorer._names(r[3], who) for r in meta.events):  # noqa: SLF001
                out.append((n, i, "named"))
    return out


@pytest.mark.parametrize("name, budget", [("alice", 700), ("bob", 500), ("charlie", 10_000)])
def test_account_extrinsics_examine_a_bounded_number_and_resume(
    chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch, name: str, budget: int
) -> None:
    monkeypatch.setattr(explorer, "ACCOUNT_SCAN_ITEMS", budget)
    signer_reads = 0
    real_signer = explorer.BlockBody.signer

    def counted(self: Any, index: int) -> bytes:
        nonlocal signer_reads
        signer_reads += 1
        return real_signer(self, index)

    monkeypatch.setattr(explorer.BlockBody, "signer", counted)
    who = dev_keypair(name).public
    want = _brute_matches(chain_ctx, who)
    got: list[tuple[int, int, str]] = []
    before = None
    calls = 0
    while True:
        signer_reads = 0
        page = call(chain_ctx, "btt_explorerAccountExtrinsics", "0x" + who.hex(), 2_000, 100, before)
        calls += 1
        assert signer_reads <= budget and len(page["extrinsics"]) <= 100
        got += [(x["blockNumber"], x["index"], x["role"]) for x in page["extrinsics"]]
        if page["complete"]:
            assert page["next"] is None
            break
        before = page["next"]
    assert got == want
    if budget < TRANSFERS:
        assert calls > 1, "the bound stopped a scan inside the big block"


def decodes_per_step(answer: Stepwise, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], Any]:
    """Work out `answer` a step at a time: the events each step decoded, and the answer."""
    decoded = 0
    real_events = MetaView.events

    def counted(self: MetaView, start: int, stop: int) -> list[Any]:
        nonlocal decoded
        out = real_events(self, start, stop)
        decoded += len(out)
        return out

    monkeypatch.setattr(MetaView, "events", counted)
    per_step: list[int] = []
    while True:
        decoded = 0
        done, page = answer.advance()
        per_step.append(decoded)
        if done:
            return per_step, page


def test_a_page_of_500_events_is_worked_out_in_short_steps_each_its_own_lane_unit(
    chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of 500 events held the event loop 0.3-0.7 s in one unit: now no step decodes more than
    EVENTS_STEP_RENDERED events nor reads more than EVENTS_STEP_BLOCKS blocks, and the steps add up to the page."""
    method = REGISTRY.get("btt_explorerEvents")
    assert method is not None
    answer = method.handler(chain_ctx, *method.bind([["balances", "system"], 2_000, 500], chain_ctx))
    assert isinstance(answer, Stepwise)
    per_step, page = decodes_per_step(answer, monkeypatch)
    assert max(per_step) <= explorer.EVENTS_STEP_RENDERED
    assert len(per_step) >= 500 // explorer.EVENTS_STEP_RENDERED
    assert len(page["events"]) == 500 and page == call(chain_ctx, "btt_explorerEvents", ["balances", "system"],
                                                       2_000, 500)


def test_events_and_burns_count_a_bounded_number_of_events_and_resume(
    chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch, no_whole_reads: None
) -> None:
    head = chain_ctx.node.chain.head.number
    whole = call(chain_ctx, "btt_explorerEvents", ["balances", "system"], 2_000, 500)
    assert whole["next"] is None and whole["from"] == 0 and len(whole["events"]) == 500
    decoded = 0
    real_events = MetaView.events

    def counted(self: MetaView, start: int, stop: int) -> list[Any]:
        nonlocal decoded
        out = real_events(self, start, stop)
        decoded += len(out)
        return out

    monkeypatch.setattr(MetaView, "events", counted)
    monkeypatch.setattr(explorer, "EVENT_SCAN_ITEMS", 100)
    counts: dict[str, int] = {}
    start: int | None = None
    pages = 0
    while True:
        decoded = 0
        page = call(chain_ctx, "btt_explorerEvents", ["balances", "system"], 2_000, 7, start)
        pages += 1
        assert decoded <= 7, "only the listed events are decoded"
        for k, v in page["counts"].items():
            counts[k] = counts.get(k, 0) + v
        if page["next"] is None:
            break
        assert page["next"] == page["from"] - 1
        start = page["next"]
    assert counts == whole["counts"] and pages > 2
    burns = call(chain_ctx, "btt_explorerBurns", 2_000, 10)
    assert burns["totals"].get("balances") == str(3 * UNIT) and burns["to"] == head


def test_storage_scans_stop_at_their_bound_and_resume_by_seek(chain_ctx: RpcContext) -> None:
    reader, _ = paging.state_views(chain_ctx, None)
    prefix = b"bench.rows/"
    keys = [prefix + i.to_bytes(4, "big") for i in range(250)]
    chain_ctx.node.chain.db.kv.write({schema.state_key(k): b"\x01" for k in keys})
    read = 0

    class Counting:
        def get(self, key: bytes) -> bytes | None:
            return reader.get(key)

        def iterate(self, p: bytes, reverse: bool = False, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
            nonlocal read
            for item in reader.iterate(p, reverse, start):
                read += 1
                yield item

    seen: list[bytes] = []
    after = None
    while True:
        read = 0
        scan = paging.bounded_scan(Counting(), prefix, 40, after)
        assert read <= 42, "a scan reads its budget, the key it resumes after and one to see if there is more"
        seen += [k for k, _ in scan.items]
        if scan.next is None:
            break
        after = scan.next
    assert seen == keys
    back = paging.bounded_scan(reader, prefix, 5, keys[100], reverse=True)
    assert [k for k, _ in back.items] == keys[95:100][::-1] and back.next == keys[95]
    chain_ctx.node.chain.db.kv.write({}, [schema.state_key(k) for k in keys])


def test_id_lists_read_a_bounded_number_of_ids(chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from btt_chain.rpc import methods_compute, methods_governance
    from runtime.compute import storage as compute
    from runtime.governance import storage as governance

    db = chain_ctx.node.chain.db
    db.kv.write({schema.state_key(compute.next_job_id.key): compute.next_job_id.codec.encode(50_000),
                 schema.state_key(governance.next_id.key): governance.next_id.codec.encode(50_000)})
    db.state.forget()
    reads = 0
    real_get = type(db.state).get

    def counted(self: Any, key: bytes) -> bytes | None:
        nonlocal reads
        if key.startswith((compute.jobs.prefix, governance.referenda.prefix)):
            reads += 1
        return real_get(self, key)

    monkeypatch.setattr(type(db.state), "get", counted)
    try:
        for name, params, bound in (
            ("btt_explorerJobs", ["cancelled"], explorer.JOB_IDS_SCANNED),
            ("btt_jobs", ["cancelled"], methods_compute.JOB_IDS_SCANNED),
            ("btt_referenda", ["cancelled"], methods_governance.REFERENDA_SCANNED),
        ):
            reads = 0
            out = call(chain_ctx, name, *params)
            assert reads == bound, (name, reads)
            assert (out["jobs"] if isinstance(out, dict) else out) == []
        assert call(chain_ctx, "btt_explorerJobs", "cancelled")["next"] == 50_000 - explorer.JOB_IDS_SCANNED
    finally:
        db.kv.write({}, [schema.state_key(compute.next_job_id.key), schema.state_key(governance.next_id.key)])
        db.state.forget()


# digits -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["¹", "²³", "٣", "1²", "１"])
def test_search_takes_only_ascii_digits_as_a_block_number(chain_ctx: RpcContext, query: str) -> None:
    assert call(chain_ctx, "btt_explorerSearch", query) is None


def test_search_still_finds_a_block_by_number(chain_ctx: RpcContext) -> None:
    found = call(chain_ctx, "btt_explorerSearch", " 2 ")
    assert found["kind"] == "block" and found["number"] == 2


def test_burns_read_only_ascii_digits() -> None:
    assert burned_by_event({"module": "balances", "event": "Burned", "amount": "¹"}) == 0
    assert burned_by_event({"module": "payments", "event": "Paid", "burned": "٣"}) == 0
    assert burned_by_event({"module": "payments", "event": "Paid", "burned": "12"}) == 12


def test_a_stored_meta_is_plain_msgpack_with_its_format_first(chain_ctx: RpcContext) -> None:
    _, h = big(chain_ctx)
    raw = chain_ctx.node.chain.db.kv.get(schema.block_meta_key(h))
    assert raw is not None and msgpack.unpackb(raw, raw=False)[0] == 2


def test_burns_and_account_scans_are_worked_out_in_short_steps_each_its_own_lane_unit(
    chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 blocks of `btt_explorerBurns` or `btt_explorerAccountExtrinsics` in one unit held the event loop past
    half a one-second slot on a busy machine: now no step examines more than SCAN_STEP_BLOCKS blocks nor renders
    more than ACCOUNT_STEP_RENDERED extrinsics, and the steps add up to the answer worked out at once."""
    alice = "0x" + dev_keypair("alice").public.hex()
    asked = [("btt_explorerBurns", [2_000, 10]), ("btt_explorerAccountExtrinsics", [alice, 2_000, 100])]
    whole = [call(chain_ctx, name, *params) for name, params in asked]
    monkeypatch.setattr(explorer, "SCAN_STEP_BLOCKS", 2)
    monkeypatch.setattr(explorer, "ACCOUNT_STEP_RENDERED", 3)
    views = rendered = 0
    real_view, real_render = ChainDB.block_meta_view, explorer.render_extrinsic

    def counted_view(self: ChainDB, *args: Any, **kwargs: Any) -> Any:
        nonlocal views
        views += 1
        return real_view(self, *args, **kwargs)

    def counted_render(*args: Any, **kwargs: Any) -> Any:
        nonlocal rendered
        rendered += 1
        return real_render(*args, **kwargs)

    monkeypatch.setattr(ChainDB, "block_meta_view", counted_view)
    monkeypatch.setattr(explorer, "render_extrinsic", counted_render)
    head = chain_ctx.node.chain.head.number
    for (name, params), at_once in zip(asked, whole, strict=True):
        method = REGISTRY.get(name)
        assert method is not None
        answer = method.handler(chain_ctx, *method.bind(params, chain_ctx))
        assert isinstance(answer, Stepwise), name
        steps = most_views = most_rendered = 0
        while True:
            views = rendered = 0
            done, page = answer.advance()
            steps += 1
            most_views, most_rendered = max(most_views, views), max(most_rendered, rendered)
            if done:
                break
        assert page == at_once, name
        assert most_views <= 2 * 2, name  # at most two views of each of a step's blocks
        assert most_rendered <= 3, name
        assert steps >= (head + 1) // 2, name
    assert len(whole[1]["extrinsics"]) == 100  # alice's page: rendered over many steps


def test_a_block_s_many_burns_are_decoded_a_step_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block of 10,000 transfers carries 5,000 burns and more, and decoding them in one step held the event loop
    280 ms (`bench rpc`): no step of `btt_explorerBurns` decodes more than BURN_STEP_DECODES of them, inside a block
    too, and the steps add up to the answer worked out at once. Three accounts burn in one block here, two a step."""
    import btt_chain.rpc.server  # noqa: F401  (every method module)

    burners = [dev_keypair(name) for name in ("alice", "bob", "charlie")]
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=burners[0], rpc_port=free_port()))
    try:
        chain = node.chain
        burns = [sign_extrinsic(k, RUNTIME.call("balances.burn", (i + 1) * UNIT, True), 0, chain.genesis_hash,
                                RUNTIME.spec_version) for i, k in enumerate(burners)]
        chain.author_block(chain.head.slot + 1, burners[0], [])
        imported, dropped = chain.author_block(chain.head.slot + 1, burners[0], [(x, len(x.encode())) for x in burns])
        assert not dropped and len(imported.block.extrinsics) == 1 + len(burns)
        ctx = RpcContext(node)
        whole = call(ctx, "btt_explorerBurns", 100, 10)
        assert whole["totals"].get("balances") == str(6 * UNIT)
        monkeypatch.setattr(explorer, "BURN_STEP_DECODES", 2)
        method = REGISTRY.get("btt_explorerBurns")
        assert method is not None
        answer = method.handler(ctx, *method.bind([100, 10], ctx))
        assert isinstance(answer, Stepwise)
        per_step, page = decodes_per_step(answer, monkeypatch)
        assert page == whole
        assert max(per_step) == 2 and sum(per_step) >= len(burns)
    finally:
        node.close()


def test_module_names_are_checked_without_importing_an_older_spec(
    chain_ctx: RpcContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explorer's first events call imported every older spec's runtime inside one RPC unit (~1 s each on a busy
    machine: a node missed three slots in a row behind it): names are checked, known or not, with no older spec's
    runtime asked for."""
    from runtime import specs

    asked: list[int] = []
    real = specs.runtime_of

    def spy(spec: int) -> Any:
        asked.append(spec)
        return real(spec)

    monkeypatch.setattr(specs, "runtime_of", spy)
    monkeypatch.setattr(explorer, "runtime_of", spy, raising=False)  # had the explorer its own reference to it
    specs.module_names.cache_clear()
    try:
        call(chain_ctx, "btt_explorerEvents", ["balances", "fees"], 10, 5)
        with pytest.raises(RpcError, match="no module 'nope'"):
            call(chain_ctx, "btt_explorerEvents", ["nope"], 10, 5)
    finally:
        specs.module_names.cache_clear()
    assert set(asked) <= {specs.NEWEST}
