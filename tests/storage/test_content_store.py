"""The content store of model weights blobs: whole blobs and chunk-by-chunk arrival (each chunk checked, any order,
duplicates harmless, the whole checked again), refusals that change nothing, crash safety (temp files and damaged
files are never served), the bound on blobs no registered model names, and retention."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from btt_chain.node.service import shipped_blob
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.weights_chunks import MAX_WEIGHTS_BYTES, WEIGHTS_CHUNK, chunk_hashes, weights_hash
from runtime.compute.reference import reference_blobs
from storage.content import (
    HELD,
    MANIFESTS_DIR,
    MISSING,
    PARTIAL,
    PARTIAL_DIR,
    TMP_PREFIX,
    ContentFull,
    ContentRejected,
    ContentStore,
    WeightsStatus,
)

CHUNK = WEIGHTS_CHUNK


def blob_of(size: int, seed: int = 0) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += blake2b_256(bytes([seed]) + counter.to_bytes(4, "little"))
        counter += 1
    return out[:size]


THREE = blob_of(2 * CHUNK + 1000)
"""A blob of three chunks, the last one short."""


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def files(root: Path) -> dict[str, bytes]:
    """Every file under the store's directory (what a failed call must leave as it was)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def snapshot(store: ContentStore, h: bytes) -> tuple[dict[str, bytes], WeightsStatus, list[int], int]:
    return files(store.root), store.status(h), store.missing_chunks(h), store.unneeded_bytes


def stage(store: ContentStore, blob: bytes) -> bytes:
    h = weights_hash(blob)
    store.begin(h, len(blob), chunk_hashes(blob))
    return h


def chunk(blob: bytes, i: int) -> bytes:
    return blob[i * CHUNK:(i + 1) * CHUNK]


def test_a_whole_blob_round_trips_and_survives_reopening(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = store.put(THREE)
    assert h == weights_hash(THREE) and store.has(h) and store.get_weights(h) == THREE
    assert (tmp_path / h.hex()).read_bytes() == THREE
    manifest = store.manifest(h)
    assert manifest is not None and (manifest.size, list(manifest.chunk_hashes)) == (len(THREE), chunk_hashes(THREE))
    assert [store.get_chunk(h, i) for i in range(3)] == [chunk(THREE, i) for i in range(3)]
    assert store.get_chunk(h, 3) is None and store.get_chunk(b"\x01" * 32, 0) is None
    assert store.status(h) == WeightsStatus(HELD, len(THREE), 3, 3)
    assert store.put(THREE) == h  # again: nothing new
    again = ContentStore(tmp_path)
    assert again.get_weights(h) == THREE and again.held() == [h] and again.held_bytes == len(THREE)


def test_the_shipped_reference_blobs_are_always_there(tmp_path: Path) -> None:
    """As the node opens its store (`service.shipped_blob`); a store told of no shipped blobs has none."""
    assert all(not ContentStore(tmp_path / "bare").has(h) for h in reference_blobs())
    store = ContentStore(tmp_path, shipped=shipped_blob)
    for h, blob in reference_blobs().items():
        assert store.has(h) and store.get_weights(h) == blob
        manifest = store.manifest(h)
        assert manifest is not None and manifest.weights_hash == h
        assert store.get_chunk(h, 0) == blob[:CHUNK]
        assert store.status(h).state == HELD
    assert store.held() == [] and files(tmp_path) == {}


def test_chunks_arrive_in_any_order_and_twice(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = stage(store, THREE)
    assert store.status(h) == WeightsStatus(PARTIAL, len(THREE), 0, 3)
    assert not store.has(h) and store.get_weights(h) is None and store.manifest(h) is None
    assert store.add_chunk(h, 2, chunk(THREE, 2)) is False
    assert store.add_chunk(h, 2, chunk(THREE, 2)) is False  # a duplicate changes nothing
    assert store.missing_chunks(h) == [0, 1]
    assert store.add_chunk(h, 0, chunk(THREE, 0)) is False
    assert store.status(h) == WeightsStatus(PARTIAL, len(THREE), 2, 3)
    assert store.add_chunk(h, 1, chunk(THREE, 1)) is True
    assert store.get_weights(h) == THREE and store.missing_chunks(h) == []
    assert store.add_chunk(h, 1, chunk(THREE, 1)) is True  # late duplicates are harmless too
    assert not (tmp_path / PARTIAL_DIR / h.hex()).exists()


def test_a_partial_fetch_resumes_after_reopening(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = stage(store, THREE)
    store.add_chunk(h, 1, chunk(THREE, 1))
    again = ContentStore(tmp_path)
    assert again.status(h) == WeightsStatus(PARTIAL, len(THREE), 1, 3) and again.missing_chunks(h) == [0, 2]
    again.begin(h, len(THREE), chunk_hashes(THREE))  # staging again keeps what arrived
    assert again.missing_chunks(h) == [0, 2]
    again.add_chunk(h, 0, chunk(THREE, 0))
    assert again.add_chunk(h, 2, chunk(THREE, 2)) and again.get_weights(h) == THREE


@pytest.mark.parametrize("index, data, why", [
    (0, b"\x00" + chunk(THREE, 0)[1:], "does not match its hash"),  # tampered
    (1, chunk(THREE, 0), "does not match its hash"),  # another chunk
    (2, chunk(THREE, 2)[:-1], "bytes, not"),  # short
    (2, chunk(THREE, 2) + b"\x00", "bytes, not"),  # long
    (3, chunk(THREE, 2), "chunks 0 to 2"),  # no such chunk
    (-1, chunk(THREE, 2), "chunks 0 to 2"),
])
def test_a_bad_chunk_is_refused_and_changes_nothing(tmp_path: Path, index: int, data: bytes, why: str) -> None:
    store = ContentStore(tmp_path)
    h = stage(store, THREE)
    if index != 1:
        store.add_chunk(h, 1, chunk(THREE, 1))  # one chunk held: a refusal must not lose it either
    before = snapshot(store, h)
    with pytest.raises(ContentRejected, match=why):
        store.add_chunk(h, index, data)
    assert snapshot(store, h) == before


def test_a_chunk_without_a_manifest_is_refused(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)
    with pytest.raises(ContentRejected, match="no manifest"):
        store.add_chunk(h, 0, chunk(THREE, 0))
    assert files(tmp_path) == {} and store.status(h) == WeightsStatus(MISSING, 0, 0, 0)


def test_a_wrong_manifest_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)
    hashes = chunk_hashes(THREE)
    other = blob_of(len(THREE), seed=1)
    for size, given, why in [
        (len(THREE) + 1, hashes, "does not hash to"),  # the size is part of the hash
        (len(THREE), hashes[::-1], "does not hash to"),
        (len(THREE), chunk_hashes(other), "does not hash to"),
        (len(THREE), hashes[:2], "has 3 chunks, not 2"),
        (len(THREE), [*hashes[:2], hashes[2][:31]], "32 bytes"),
        (0, [], "1 to"),
        (MAX_WEIGHTS_BYTES + 1, hashes, "1 to"),
    ]:
        with pytest.raises(ContentRejected, match=why):
            store.begin(h, size, given)
        assert files(tmp_path) == {} and store.status(h).state == MISSING
    assert ContentStore(tmp_path).status(h).state == MISSING


def test_a_blob_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    for blob in (b"", b"\x00" * (MAX_WEIGHTS_BYTES + 1)):
        with pytest.raises(ContentRejected, match="1 to"):
            store.put(blob)
    assert files(tmp_path) == {}


def test_a_manifest_is_served_from_its_file_and_made_again_if_damaged(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    h = ContentStore(tmp_path).put(THREE)
    store = ContentStore(tmp_path)

    def no_reading(_h: bytes) -> bytes | None:
        raise AssertionError("the whole blob was read for its manifest")

    monkeypatch.setattr(store, "get_weights", no_reading)
    manifest = store.manifest(h)
    assert manifest is not None and list(manifest.chunk_hashes) == chunk_hashes(THREE)
    monkeypatch.undo()
    (tmp_path / MANIFESTS_DIR / h.hex()).write_bytes(b"\x00" * 40)
    again = ContentStore(tmp_path)
    assert again.manifest(h) == manifest  # computed again from the checked blob, and written again
    assert (tmp_path / MANIFESTS_DIR / h.hex()).read_bytes() == manifest.encode()
    (tmp_path / MANIFESTS_DIR / ("ab" * 32)).write_bytes(b"orphan")  # a blob dropped before its manifest was
    ContentStore(tmp_path)
    assert sorted(p.name for p in (tmp_path / MANIFESTS_DIR).iterdir()) == [h.hex()]


# crash safety -------------------------------------------------------------------------------------------


def test_a_crash_while_writing_leaves_no_blob_and_its_temp_file_is_cleaned(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)

    def crash(src: str, dst: str) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.put(THREE)
    monkeypatch.undo()
    assert not store.has(h) and files(tmp_path) == {}
    # a real crash leaves the temp file behind: reopening removes it and never serves it
    (tmp_path / f"{TMP_PREFIX}abc123").write_bytes(THREE[:1000])
    again = ContentStore(tmp_path)
    assert not again.has(h) and files(tmp_path) == {}


def test_damaged_files_are_never_served(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = store.put(THREE)
    assert store.manifest(h) is not None  # served before: its manifest is known
    damaged = bytearray(THREE)
    damaged[CHUNK + 5] ^= 1
    (tmp_path / h.hex()).write_bytes(bytes(damaged))
    assert store.get_chunk(h, 0) == chunk(THREE, 0)  # undamaged chunks still check out
    assert store.get_chunk(h, 1) is None  # the damaged chunk is found and the blob dropped, to be fetched again
    assert not store.has(h) and not (tmp_path / h.hex()).exists()
    store.put(THREE)
    (tmp_path / h.hex()).write_bytes(bytes(damaged))
    again = ContentStore(tmp_path)
    assert again.manifest(h) is not None  # from its own file: the blob is not read for it
    assert again.get_chunk(h, 1) is None and not again.has(h) and again.manifest(h) is None
    assert not (tmp_path / MANIFESTS_DIR / h.hex()).exists()
    again.put(THREE)
    (tmp_path / h.hex()).write_bytes(THREE[:-1])  # cut short
    assert ContentStore(tmp_path).get_weights(h) is None


def test_a_chunk_damaged_on_disk_is_fetched_again_before_the_blob_is_made(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = stage(store, THREE)
    store.add_chunk(h, 0, chunk(THREE, 0))
    store.add_chunk(h, 1, chunk(THREE, 1))
    (tmp_path / PARTIAL_DIR / h.hex() / "0").write_bytes(b"\xff" * CHUNK)  # renamed but not fsynced, then a crash
    (tmp_path / PARTIAL_DIR / h.hex() / "1").write_bytes(b"\x00" * 10)
    again = ContentStore(tmp_path)
    assert again.missing_chunks(h) == [1, 2]  # a short chunk goes at once
    assert again.add_chunk(h, 2, chunk(THREE, 2)) is False
    assert again.add_chunk(h, 1, chunk(THREE, 1)) is False  # chunk 0 fails its check when the blob is made
    assert again.missing_chunks(h) == [0] and not again.has(h)
    assert again.add_chunk(h, 0, chunk(THREE, 0)) and again.get_weights(h) == THREE


def test_a_damaged_manifest_drops_its_partial(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = stage(store, THREE)
    store.add_chunk(h, 0, chunk(THREE, 0))
    (tmp_path / PARTIAL_DIR / h.hex() / "manifest").write_bytes(b"\x01" * 40)
    again = ContentStore(tmp_path)
    assert again.status(h).state == MISSING and not (tmp_path / PARTIAL_DIR / h.hex()).exists()


def test_a_partial_whose_last_chunk_arrived_before_a_crash_is_completed_on_opening(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = stage(store, THREE)
    for i in range(3):
        (tmp_path / PARTIAL_DIR / h.hex() / str(i)).write_bytes(chunk(THREE, i))
    assert ContentStore(tmp_path).get_weights(h) == THREE


# bounds and retention ----------------------------------------------------------------------------------


def test_the_cap_drops_the_oldest_unneeded_blob_first(tmp_path: Path) -> None:
    clock = Clock()
    store = ContentStore(tmp_path, max_unneeded_bytes=3 * len(THREE), clock=clock)
    blobs = [blob_of(len(THREE), seed) for seed in range(5)]
    hashes = []
    for blob in blobs[:3]:
        hashes.append(store.put(blob))
        clock.now += 1
    store.mark_needed([hashes[0]])  # registered: never dropped, not counted
    hashes.append(store.put(blobs[3]))
    assert store.unneeded_bytes == 3 * len(THREE) and all(store.has(h) for h in hashes)
    clock.now += 1
    hashes.append(stage(store, blobs[4]))  # a partial counts at its declared size: the oldest unneeded goes
    assert [store.has(h) for h in hashes[:4]] == [True, False, True, True]
    assert store.unneeded_bytes == 3 * len(THREE)
    assert store.status(hashes[4]).state == PARTIAL


def test_content_over_the_cap_with_nothing_to_drop_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    store = ContentStore(tmp_path, max_unneeded_bytes=len(THREE) - 1)
    h = weights_hash(THREE)
    with pytest.raises(ContentFull):
        store.put(THREE)
    with pytest.raises(ContentFull):
        store.begin(h, len(THREE), chunk_hashes(THREE))
    assert files(tmp_path) == {}
    store.mark_needed([h])  # what the chain needs is never refused for room
    assert store.put(THREE) == h and store.unneeded_bytes == 0


def test_retain_drops_unneeded_blobs_after_the_grace_period_only(tmp_path: Path) -> None:
    clock = Clock()
    store = ContentStore(tmp_path, grace_s=3600, clock=clock)
    dropped: list[bytes] = []
    store.on_dropped = dropped.append
    old, registered, fresh = (blob_of(1000, seed) for seed in range(3))
    h_old, h_registered = store.put(old), store.put(registered)
    h_partial = stage(store, THREE)
    clock.now += 3000
    h_fresh = store.put(fresh)
    assert store.retain([h_registered]) == []  # nothing is past its grace yet
    clock.now += 601
    assert sorted(store.retain([h_registered])) == sorted([h_old, h_partial])
    assert (store.has(h_old), store.has(h_registered), store.has(h_fresh)) == (False, True, True)
    assert store.status(h_partial).state == MISSING and dropped == [h_old]
    clock.now += 10 ** 6
    assert store.retain([h_registered]) == [h_fresh] and store.has(h_registered)
    assert ContentStore(tmp_path).held() == [h_registered]


# an owner's upload without chunk hashes ----------------------------------------------------------------


def test_an_upload_without_chunk_hashes_is_checked_as_a_whole(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)
    store.begin_upload(h, len(THREE))
    assert store.status(h) == WeightsStatus(PARTIAL, len(THREE), 0, 3) and store.partial_manifest(h) is None
    with pytest.raises(ContentRejected, match="bytes, not"):
        store.add_chunk(h, 2, chunk(THREE, 2) + b"\x00")  # lengths are still checked on arrival
    assert store.add_chunk(h, 2, chunk(THREE, 2)) is False
    assert ContentStore(tmp_path).missing_chunks(h) == [0, 1]  # survives reopening
    store.add_chunk(h, 0, chunk(THREE, 0))
    assert store.add_chunk(h, 1, chunk(THREE, 1)) and store.get_weights(h) == THREE


def test_an_upload_whose_whole_fails_its_hash_is_dropped(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)
    store.begin_upload(h, len(THREE))
    store.add_chunk(h, 0, b"\x00" + chunk(THREE, 0)[1:])  # nothing can tell yet
    store.add_chunk(h, 1, chunk(THREE, 1))
    with pytest.raises(ContentRejected, match="the upload is dropped"):
        store.add_chunk(h, 2, chunk(THREE, 2))
    assert store.status(h).state == MISSING and files(tmp_path) == {}
    with pytest.raises(ContentRejected, match="1 to"):
        store.begin_upload(h, 0)
    store.begin_upload(h, len(THREE))
    before = snapshot(store, h)
    with pytest.raises(ContentRejected, match="another size"):
        store.begin_upload(h, len(THREE) + 1)
    assert snapshot(store, h) == before


def test_chunk_hashes_given_later_check_the_chunks_uploaded_before(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)
    store.begin_upload(h, len(THREE))
    store.add_chunk(h, 0, b"\x00" + chunk(THREE, 0)[1:])
    store.add_chunk(h, 1, chunk(THREE, 1))
    store.begin(h, len(THREE), chunk_hashes(THREE))  # a peer's manifest, or the owner's: the bad chunk goes
    assert store.missing_chunks(h) == [0, 2] and store.partial_manifest(h) is not None
    with pytest.raises(ContentRejected, match="does not match its hash"):
        store.add_chunk(h, 0, b"\x00" + chunk(THREE, 0)[1:])
    store.add_chunk(h, 0, chunk(THREE, 0))
    assert store.add_chunk(h, 2, chunk(THREE, 2)) and store.get_weights(h) == THREE


def test_a_manifest_outranks_an_upload_that_claimed_another_size(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    h = weights_hash(THREE)
    store.begin_upload(h, len(THREE) + 1)
    store.add_chunk(h, 0, chunk(THREE, 0))
    store.begin(h, len(THREE), chunk_hashes(THREE))  # hashes to h: the size it commits to is the size
    assert store.status(h) == WeightsStatus(PARTIAL, len(THREE), 0, 3)
    for i in range(3):
        store.add_chunk(h, i, chunk(THREE, i))
    assert store.get_weights(h) == THREE
