"""The overlay's and the typed items' shortcuts, tried against plain models: `iterate` through the index of
block-level writes (built as it is used, from the keys added since), typed reads and writes that keep the decoded
value beside its encoding, the remembered account keys, and AccountInfo's own decoding of a stored value, which
accepts and refuses exactly what the generic one did."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.codec import ACCOUNT
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2_128, twox64
from runtime import items
from runtime.items import HashedMap, StorageMap
from runtime.overlay import INDEX_PREFIX_BYTES, DictState, Overlay
from runtime.system import storage as system
from runtime.system.types import NEW_LOGIC, AccountInfo
from tests.runtime.overlay_ops import snapshot_op

# keys under three item prefixes (two share their first 31 bytes), of several lengths, some shorter than a prefix
_PREFIXES = [bytes(31) + b"\x01", bytes(31) + b"\x02", b"\x09" * 32]
_KEYS = [p + tail for p in _PREFIXES for tail in (b"", b"\x00", b"\x00\x01", b"\x01", b"\xff" * 8)] + [
    b"\x00", b"\x09" * 5, bytes(31)
]
_SCANS = [b"", b"\x00", bytes(31), *_PREFIXES, _PREFIXES[0] + b"\x00", _PREFIXES[2] + b"\xff", b"\x09" * 40]

_OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.sampled_from(_KEYS), st.binary(min_size=1, max_size=3)),
    st.tuples(st.just("delete"), st.sampled_from(_KEYS), st.just(b"")),
    st.tuples(st.sampled_from(["begin", "commit", "rollback"]), st.just(b""), st.just(b"")),
    st.tuples(st.just("scan"), st.sampled_from(_SCANS), st.just(b"")),
), max_size=60)


def _apply(state: Overlay, model: list[dict[bytes, bytes | None]], op: str, key: bytes, value: bytes) -> None:
    if op == "set":
        state.set(key, value)
        model[-1][key] = value
    elif op == "delete":
        state.delete(key)
        model[-1][key] = None
    elif op == "begin":
        state.begin()
        model.append({})
    elif op == "commit" and state.depth:
        state.commit()
        top = model.pop()
        model[-1].update(top)
    elif op == "rollback" and state.depth:
        state.rollback()
        model.pop()


def _expected(backend: dict[bytes, bytes], model: list[dict[bytes, bytes | None]], prefix: bytes) -> list[tuple]:
    merged: dict[bytes, bytes | None] = dict(backend)
    for layer in model:
        merged.update(layer)
    return sorted((k, v) for k, v in merged.items() if k.startswith(prefix) and v is not None)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), st.binary(min_size=1, max_size=2), max_size=6), _OPS)
def test_iterate_sees_every_write_whatever_the_order(backend: dict[bytes, bytes], ops: list) -> None:
    """Scans between writes, snapshots, rollbacks and commits (the index caught up at each scan, with the keys
    added since) give what a plain merge of the backend and every open write gives, for prefixes shorter and
    longer than the indexed part; through an overlay over an overlay as well (the node's view under a block)."""
    assert INDEX_PREFIX_BYTES == 32
    view = Overlay(DictState(backend))
    state = Overlay(view)
    model: list[dict[bytes, bytes | None]] = [{}]
    for op, key, value in ops:
        if op == "scan":
            assert list(state.iterate(key)) == _expected(backend, model, key)
        else:
            _apply(state, model, op, key, value)
    while state.depth:
        state.commit()
        top = model.pop()
        model[-1].update(top)
    for prefix in _SCANS:
        assert list(state.iterate(prefix)) == _expected(backend, model, prefix)
    for k, v in state.changes().items():  # the block's writes, applied to the view, scan the same through it
        view.delete(k) if v is None else view.set(k, v)
    for prefix in _SCANS:
        assert list(view.iterate(prefix)) == _expected(backend, model, prefix)


def test_a_write_made_while_scanning_is_not_in_that_scan_but_in_the_next() -> None:
    state = Overlay(DictState())
    prefix = _PREFIXES[0]
    state.set(prefix + b"a", b"1")
    scan = state.iterate(prefix)
    assert next(scan) == (prefix + b"a", b"1")
    state.set(prefix + b"b", b"2")
    assert list(scan) == []
    assert [k for k, _ in state.iterate(prefix)] == [prefix + b"a", prefix + b"b"]


ITEM = StorageMap("test", "fast_path_item", AccountInfo, default=AccountInfo())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["put", "raw", "delete", "begin", "commit", "rollback"]),
    st.sampled_from([b"\x01" * 32, b"\x02" * 32]), st.integers(0, 3),
), max_size=40))
def test_typed_reads_follow_typed_and_raw_writes(ops: list[tuple[str, bytes, int]]) -> None:
    """A typed read gives what decoding the raw value gives, after typed puts, raw writes of another encoding,
    deletes, snapshots and rollbacks, in any order (the decoded value kept beside an encoding is never stale)."""
    state = Overlay(DictState({ITEM.key(b"\x01" * 32): AccountInfo(9, 9).encode()}))
    for op, who, n in ops:
        if op == "put":
            ITEM.put(state, who, AccountInfo(n, 100 + n))
        elif op == "raw":
            state.set(ITEM.key(who), AccountInfo(n, 200 + n).encode())
        elif op == "delete":
            ITEM.remove(state, who)
        else:
            snapshot_op(state, op)
        for account in (b"\x01" * 32, b"\x02" * 32):
            raw = state.get(ITEM.key(account))
            assert ITEM.get(state, account) == (AccountInfo() if raw is None else AccountInfo.decode(raw))
            assert ITEM.contains(state, account) == (raw is not None)


def test_a_bare_state_reader_reads_and_decodes_without_the_overlay() -> None:
    who = b"\x05" * 32
    backend = DictState({ITEM.key(who): AccountInfo(1, 5).encode()})
    assert ITEM.get(backend, who) == AccountInfo(1, 5)  # type: ignore[arg-type]
    assert ITEM.get(backend, b"\x06" * 32) == AccountInfo()  # type: ignore[arg-type]


def test_account_keys_are_frames_whether_remembered_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered whole key of an account is FRAME's Blake2_128Concat key; past the memo's size it is emptied
    and the keys stay right; a key that is not an account's 32 bytes is computed by the generic rule."""
    monkeypatch.setattr(items, "KEY_MEMO_ENTRIES", 3)
    fresh = HashedMap("test", "memo_item", AccountInfo, ACCOUNT, "Blake2_128Concat")
    accounts = [bytes([i]) * 32 for i in range(10)]
    for _ in range(2):
        for who in accounts:
            assert fresh.key(who) == fresh.prefix + blake2_128(who) + who
    with pytest.raises(DecodeError):
        fresh.key(b"\x01" * 31)  # not an account: the generic encoder refuses it
    assert system.block_hash.key(7) == system.block_hash.prefix + twox64((7).to_bytes(4, "little")) + (
        7).to_bytes(4, "little")


_LAYOUT = struct.Struct("<IIII16s16s16s16s")
_FLAGS = NEW_LOGIC.to_bytes(16, "little")


def _reference_decode(raw: bytes) -> AccountInfo:
    """AccountInfo's decoding of a stored value before it had its own: decode_at(raw, 0), then no trailing bytes."""
    if len(raw) < 80:
        raise DecodeError(f"AccountInfo: expected 80 bytes, found {len(raw)}")
    nonce, consumers, providers, sufficients, free, reserved, frozen, flags = _LAYOUT.unpack_from(raw, 0)
    value = AccountInfo(nonce, int.from_bytes(free, "little"), int.from_bytes(reserved, "little"),
                        int.from_bytes(frozen, "little"))
    if (consumers != (1 if (value.reserved or value.frozen) else 0) or providers != 1 or sufficients
            or flags != _FLAGS):
        raise DecodeError("AccountInfo: consumers, providers, sufficients or flags are not what the balances say")
    if len(raw) != 80:
        raise DecodeError(f"{len(raw) - 80} trailing bytes after a stored ")
    return value


def _outcome(decode: object, raw: bytes) -> tuple[str, object]:
    try:
        return "ok", decode(raw)  # type: ignore[operator]
    except DecodeError as exc:
        return "error", str(exc)


_BIG = st.one_of(st.integers(0, 3), st.integers(0, 2**128 - 1), st.sampled_from([2**64 - 1, 2**64, 2**127]))


@settings(max_examples=500, deadline=None)
@given(st.tuples(st.integers(0, 2**32 - 1), _BIG, _BIG, _BIG), st.lists(st.tuples(st.integers(0, 90),
       st.integers(0, 255)), max_size=3), st.integers(-3, 3))
def test_the_stored_account_decoding_matches_the_generic_one(
    fields: tuple[int, int, int, int], flips: list[tuple[int, int]], resize: int,
) -> None:
    """Valid encodings, encodings with bytes changed (consumers, providers, flags, balances), cut short or with
    bytes after: the same account or the same error as before, through the item's codec and AccountInfo.decode."""
    raw = bytearray(AccountInfo(*fields).encode())
    for at, byte in flips:
        if at < len(raw):
            raw[at] = byte
    data = bytes(raw[: 80 + resize]) if resize < 0 else bytes(raw) + bytes(resize)
    expected = _outcome(_reference_decode, data)
    assert _outcome(system.account.codec.decode, data) == expected
    assert _outcome(AccountInfo.decode_stored, data) == expected
    decoded = _outcome(AccountInfo.decode, data)
    assert decoded[0] == expected[0] and (decoded[0] == "error" or decoded == expected)


def test_an_account_is_encoded_afresh_each_time() -> None:
    acc = AccountInfo(1, 2, 3, 4)
    assert acc.encode() == acc.encode_scale() == system.account.codec.encode(acc)
    assert "_encoded" not in acc.__dict__


def _reference_encode(account: AccountInfo) -> bytes:
    """AccountInfo's encoding before its range checks were folded into shifts."""
    nonce, free, reserved, frozen = account.nonce, account.free, account.reserved, account.frozen
    if not (type(nonce) is int and type(free) is int and type(reserved) is int and type(frozen) is int
            and 0 <= nonce <= 2**32 - 1 and 0 <= free <= 2**128 - 1 and 0 <= reserved <= 2**128 - 1
            and 0 <= frozen <= 2**128 - 1):
        raise DecodeError(f"AccountInfo out of range: {account!r}")
    return _LAYOUT.pack(nonce, 1 if (reserved or frozen) else 0, 1, 0, free.to_bytes(16, "little"),
                        reserved.to_bytes(16, "little"), frozen.to_bytes(16, "little"), _FLAGS)


_ANY = st.one_of(
    st.integers(-2, 3), st.integers(2**32 - 2, 2**32 + 1), st.integers(2**128 - 2, 2**128 + 1),
    st.integers(-(2**130), 2**130), st.booleans(), st.just(None), st.just(1.0),
)


@settings(max_examples=500, deadline=None)
@given(st.tuples(_ANY, _ANY, _ANY, _ANY))
def test_the_account_encoding_accepts_and_refuses_what_it_did(fields: tuple[object, ...]) -> None:
    account = AccountInfo(*fields)  # type: ignore[arg-type]
    assert _outcome(lambda _: account.encode_scale(), b"") == _outcome(lambda _: _reference_encode(account), b"")
    assert _outcome(lambda _: system.account.codec.encode(account), b"") == _outcome(
        lambda _: _reference_encode(account), b"")


def test_a_hashed_map_with_integer_keys_reads_and_writes_by_the_generic_key() -> None:
    """`System.BlockHash` (Twox64Concat u32): the account-key memo never answers for an integer key."""
    state = Overlay(DictState())
    system.block_hash.put(state, 7, b"\x07" * 32)
    assert state.get(system.block_hash.key(7)) == b"\x07" * 32
    assert system.block_hash.get(state, 7) == b"\x07" * 32
    assert system.block_hash.get(state, 8) is None
    system.account.put(state, b"\x07" * 32, AccountInfo(1, 2))  # an account whose bytes are that hash
    assert system.block_hash.get(state, 7) == b"\x07" * 32
    assert system.account.get(state, b"\x07" * 32) == AccountInfo(1, 2)


def test_a_view_is_read_past_only_while_it_holds_nothing() -> None:
    """`reader()` hands out the backend only while every read through the view would return the backend's value: a
    write, a delete or an open snapshot (even an empty one, which a write may fill) keeps the view itself."""
    backend = DictState({b"a": b"1", b"b": b"2"})
    view = Overlay(backend)
    assert view.get(b"a") == b"1"  # a cached read is no write
    assert view.reader() is backend
    view.set(b"a", b"9")
    assert view.reader() is view and view.reader().get(b"a") == b"9"
    deleted = Overlay(backend)
    deleted.delete(b"b")
    assert deleted.reader() is deleted and deleted.reader().get(b"b") is None
    snapshot = Overlay(backend)
    snapshot.begin()
    assert snapshot.reader() is snapshot
    snapshot.set(b"c", b"3")
    snapshot.rollback()
    assert snapshot.reader() is backend and backend.get(b"c") is None
    assert backend.data == {b"a": b"1", b"b": b"2"}  # reading past a view never wrote to the backend


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KEYS), st.one_of(st.none(), st.binary(min_size=1, max_size=3))),
                max_size=20),
       st.booleans())
def test_applying_changes_at_once_is_setting_them_one_by_one(entries: list, in_snapshot: bool) -> None:
    """`apply` leaves what `set`/`delete` key by key leave: the same reads, scans, net changes (order included) and
    write count; a parameter memo is never left stale; inside a snapshot, a rollback takes it all back."""
    changes = dict(entries)
    backend = DictState({_KEYS[0]: b"old", _KEYS[3]: b"old"})
    one, bulk = Overlay(backend), Overlay(backend)
    for view in (one, bulk):
        view.set(_KEYS[1], b"first")  # an earlier write the changes may overwrite
        view.params_memo["fees.base"] = 1
        if in_snapshot:
            view.begin()
    for k, v in changes.items():
        one.delete(k) if v is None else one.set(k, v)
    bulk.apply(changes)
    assert bulk.writes == one.writes
    assert bulk.params_memo == ({} if changes else {"fees.base": 1})  # nothing written: nothing to forget
    for k in _KEYS:
        assert bulk.get(k) == one.get(k)
    for prefix in _SCANS:
        assert list(bulk.iterate(prefix)) == list(one.iterate(prefix))
    if in_snapshot:
        bulk.rollback()
        assert bulk.get(_KEYS[0]) == b"old" and bulk.get(_KEYS[1]) == b"first"
        assert all(bulk.get(k) == backend.get(k) for k in _KEYS if k != _KEYS[1])
    else:
        assert list(bulk.changes().items()) == list(one.changes().items())
