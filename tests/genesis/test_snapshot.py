"""A chain spec that names its genesis state file (`genesis_state`, issue 54): built by `build-spec
--genesis-state-file` and by the sync bench's streaming builder, it gives the same genesis hash and state as the spec
that lists every holder; a node initialises its database from it only after the file's size, hash, record count,
order and state root, its total issuance and queued validators have been checked, and keeps nothing of a file that
fails any check. Each tampering is tried: a byte, a record dropped or added (with the spec's hash, size and count
made to match, so only the root can tell), records out of order, a key length past the limits, a truncated file,
bytes after the end, a wrong root or hash in the spec, a state whose issuance or validator set is not the spec's."""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from bench import sync_chain
from bench.import_bench import filler_account
from btt_chain.node.chain import Chain
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import GenesisError
from btt_chain.primitives.hashing import blake2b_256
from cli.build_spec_cmd import write_spec
from genesis.build import build_genesis, genesis_config, queued_state
from genesis.build_spec import SpecChanges
from genesis.loader import canonical_json, load_chain_spec, parse_chain_spec
from genesis.snapshot import HEADER, MAGIC, SnapshotError, read_snapshot, write_snapshot
from genesis.snapshot_build import elided_doc
from genesis.spec import ChainSpec
from runtime.system import storage as system
from storage.memory import MemoryStore
from tests.support.cli_runner import assert_one_error_line, run

GENESIS_MS = 1_700_000_000_000
ACCOUNTS = 300


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ChainSpec]:
    """A spec listing ACCOUNTS generated accounts (the sync bench's), as a file."""
    d = tmp_path_factory.mktemp("listing")
    path = d / "listing.json"
    path.write_bytes(canonical_json(sync_chain.spec_doc(ACCOUNTS, GENESIS_MS)))
    return path, load_chain_spec(str(path))


@pytest.fixture(scope="module")
def built(listing: tuple[Path, ChainSpec], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`btt-chain build-spec --genesis-state-file` from the listing spec: the spec's path (the file beside it)."""
    out = tmp_path_factory.mktemp("built")
    write_spec(str(listing[0]), lambda spec: SpecChanges(), out / "spec.json", out / "spec.state")
    return out / "spec.json"


def state_of(chain: Chain) -> dict[bytes, bytes]:
    return dict(chain.db.state.iterate(b""))


def copy_spec(built: Path, to: Path, doc_change: object = None) -> Path:
    """The built spec and its file copied into `to` (the spec changed by `doc_change(doc)` if given)."""
    to.mkdir(parents=True, exist_ok=True)
    doc = json.loads(built.read_text())
    (to / "spec.state").write_bytes((built.parent / "spec.state").read_bytes())
    if callable(doc_change):
        doc_change(doc)
    (to / "spec.json").write_text(json.dumps(doc))
    return to / "spec.json"


def records_of(path: Path) -> list[tuple[bytes, bytes]]:
    spec = load_chain_spec(str(path.parent / "spec.json"))
    assert spec.genesis_state is not None
    return [kv for chunk in read_snapshot(spec.genesis_state) for kv in chunk.items()]


def encode(records: list[tuple[bytes, bytes]], count: int | None = None) -> bytes:
    body = b"".join(struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v for k, v in records)
    return HEADER.pack(MAGIC, len(records) if count is None else count) + body


def rewrite(spec_path: Path, data: bytes, root: bytes | None = None) -> None:
    """Replace the state file by `data` and have the spec name it by its true hash, size and count (the root stays
    the spec's unless given): only the root can tell what changed."""
    (spec_path.parent / "spec.state").write_bytes(data)
    doc = json.loads(spec_path.read_text())
    doc["genesis_state"].update(hash="0x" + blake2b_256(data).hex(), bytes=len(data),
                                records=struct.unpack(">Q", data[8:16])[0])
    if root is not None:
        doc["genesis_state"]["state_root"] = "0x" + root.hex()
    spec_path.write_text(json.dumps(doc))


def assert_refused(spec_path: Path, *words: str) -> None:
    """Initialising from the spec fails with one line saying `words`, and leaves the database empty."""
    kv = MemoryStore()
    with pytest.raises(SnapshotError) as caught:
        Chain(kv, build_genesis(load_chain_spec(str(spec_path))))
    message = str(caught.value)
    assert "\n" not in message and "genesis state file" in message
    for w in words:
        assert w in message, message
    assert list(kv.iterate(b"")) == []  # nothing kept, nothing a restart would trust


def test_build_spec_writes_a_spec_and_file_that_give_the_listing_genesis(listing: tuple[Path, ChainSpec],
                                                                         built: Path) -> None:
    listed = build_genesis(listing[1])
    spec = load_chain_spec(str(built))
    assert spec.genesis_state is not None and spec.genesis_state.path == built.parent / "spec.state"
    doc = json.loads(built.read_text())
    text = built.read_text()
    assert not any(encode_address(filler_account(i), doc["ss58_prefix"]) in text for i in range(ACCOUNTS))
    row = next(r for r in spec.allocations if r.elided_holders)
    assert row.elided_holders >= ACCOUNTS and sum(h.amount for h in row.holders) + row.elided_amount == row.amount
    genesis = build_genesis(spec)
    assert genesis.hash == listed.hash and genesis.block.header.state_root == listed.block.header.state_root
    assert genesis.state == queued_state(spec)  # not built: the file is read when a database is initialised
    from_file = Chain(MemoryStore(), genesis)
    from_listing = Chain(MemoryStore(), listed)
    assert from_file.genesis_hash == from_listing.genesis_hash and from_file.tree.root == from_listing.tree.root
    assert state_of(from_file) == state_of(from_listing)
    assert from_file.db.voter_set(from_file.genesis_hash) == from_listing.db.voter_set(from_listing.genesis_hash)


def test_the_bench_streams_the_same_genesis_as_its_listing_spec(tmp_path: Path) -> None:
    listed = build_genesis(parse_chain_spec(sync_chain.spec_doc(ACCOUNTS, GENESIS_MS)))
    doc = sync_chain.snapshot_spec(ACCOUNTS, GENESIS_MS, tmp_path / "spec.state")
    (tmp_path / "spec.json").write_bytes(canonical_json(doc))
    genesis = build_genesis(load_chain_spec(str(tmp_path / "spec.json")))
    assert genesis.hash == listed.hash
    assert state_of(Chain(MemoryStore(), genesis)) == state_of(Chain(MemoryStore(), listed))


def test_a_database_with_its_genesis_never_reads_the_file_again(built: Path, tmp_path: Path) -> None:
    spec_path = copy_spec(built, tmp_path / "a")
    genesis = build_genesis(load_chain_spec(str(spec_path)))
    kv = MemoryStore()
    first = Chain(kv, genesis)
    (spec_path.parent / "spec.state").write_bytes(b"gone")  # a wrong file now: it must not be read
    again = Chain(kv, genesis)
    assert again.head_hash == first.head_hash and again.tree.root == first.tree.root


@pytest.mark.parametrize("tamper", ["one byte", "record dropped", "record added", "out of order", "truncated",
                                    "bytes after", "huge key length", "wrong magic", "duplicate record"])
def test_a_tampered_file_is_refused_and_nothing_is_kept(built: Path, tmp_path: Path, tamper: str) -> None:
    spec_path = copy_spec(built, tmp_path / "s")
    state = spec_path.parent / "spec.state"
    data = state.read_bytes()
    records = records_of(state)
    if tamper == "one byte":  # in the last value (a key changed breaks the order first): the hash tells
        flipped = bytearray(data)
        flipped[-1] ^= 1
        state.write_bytes(bytes(flipped))
        assert_refused(spec_path, "hash")
        rewrite(spec_path, bytes(flipped))  # and with the spec's hash made to match, the root
        assert_refused(spec_path, "state root")
    elif tamper == "record dropped":
        rewrite(spec_path, encode(records[:100] + records[101:]))
        assert_refused(spec_path, "state root")
    elif tamper == "record added":
        extra = (system.account.key(bytes(range(32))), records[0][1])
        rewrite(spec_path, encode(sorted([*records, extra], key=lambda kv: blake2b_256(kv[0]))))
        assert_refused(spec_path, "state root")
    elif tamper == "out of order":
        rewrite(spec_path, encode([records[1], records[0], *records[2:]]))
        assert_refused(spec_path, "ascending order")
    elif tamper == "duplicate record":
        rewrite(spec_path, encode([*records[:10], records[9], *records[10:]]))
        assert_refused(spec_path, "ascending order")
    elif tamper == "truncated":
        rewrite(spec_path, data[: len(data) - 10])
        assert_refused(spec_path, "ends inside record")
    elif tamper == "bytes after":
        rewrite(spec_path, data + b"\x00")
        assert_refused(spec_path, "bytes after")
    elif tamper == "huge key length":  # refused from the length alone: nothing of that size is read
        rewrite(spec_path, HEADER.pack(MAGIC, len(records)) + struct.pack(">I", 2**31) + b"x" * 64)
        assert_refused(spec_path, "key of 2,147,483,648 bytes")
    else:
        rewrite(spec_path, b"NOTSTATE" + data[8:])
        assert_refused(spec_path, "magic")


def test_a_wrong_root_hash_size_or_count_in_the_spec_is_refused(built: Path, tmp_path: Path) -> None:
    for i, (field, value) in enumerate((("state_root", "0x" + "11" * 32), ("hash", "0x" + "22" * 32),
                                        ("bytes", 10**9), ("records", 7))):
        def change(doc: dict, field: str = field, value: object = value) -> None:
            doc["genesis_state"][field] = value

        spec_path = copy_spec(built, tmp_path / str(i), change)
        assert_refused(spec_path, {"state_root": "state root", "hash": "hash", "bytes": "bytes",
                                   "records": "records"}[field])


def test_a_missing_file_says_where_and_what_to_do(built: Path, tmp_path: Path) -> None:
    spec_path = copy_spec(built, tmp_path / "m")
    (spec_path.parent / "spec.state").unlink()
    assert_refused(spec_path, "is missing", "--sync warp")
    # put back, the same database initialises (the failed attempt left nothing in the way)
    (spec_path.parent / "spec.state").write_bytes((built.parent / "spec.state").read_bytes())
    kv = MemoryStore()
    genesis = build_genesis(load_chain_spec(str(spec_path)))
    assert Chain(kv, genesis).tree.root == genesis.block.header.state_root


def test_a_state_whose_issuance_or_validators_are_not_the_specs_is_refused(built: Path, tmp_path: Path) -> None:
    """A file that matches a spec's root and hash but does not add up to its supply, or queues another validator set,
    is refused (a spec whose parts disagree: no node starts on it)."""
    spec = load_chain_spec(str(built))
    records = dict(records_of(built.parent / "spec.state"))
    issuance = system.total_issuance.key
    for name, change in (("issuance", lambda s: s.__setitem__(issuance, system.total_issuance.codec.encode(1))),
                         ("validators", None)):
        d = tmp_path / name
        d.mkdir()
        state = dict(records)
        if change is not None:
            change(state)
        info = write_snapshot(d / "spec.state", state)
        assert spec.genesis_state is not None
        ref = replace(spec.genesis_state, path=d / "spec.state", hash=info.hash, state_root=info.state_root,
                      size=info.size)
        genesis = replace(build_genesis(spec), snapshot=ref)
        if name == "validators":  # the spec says another set than the file queues
            other = replace(spec, validators=tuple(replace(v, bond=v.bond + 1) for v in spec.validators))
            genesis = replace(genesis, state=queued_state(other))
        kv = MemoryStore()
        with pytest.raises(GenesisError, match="total issuance" if name == "issuance" else "validator set"):
            Chain(kv, genesis)
        assert list(kv.iterate(b"")) == []


def test_the_loader_checks_the_field_and_the_rows_that_leave_holders_out(built: Path) -> None:
    doc = json.loads(built.read_text())
    row = next(i for i, r in enumerate(doc["allocations"]) if "elided" in r)

    def problems(change: object) -> str:
        d = json.loads(json.dumps(doc))
        change(d)  # type: ignore[operator]
        with pytest.raises(GenesisError) as caught:
            parse_chain_spec(d)
        return str(caught.value)

    assert "only when its genesis state is in a file" in problems(lambda d: d.pop("genesis_state"))
    assert "short of the row amount" in problems(
        lambda d: d["allocations"][row]["elided"].update(amount="1"))
    assert "without '..'" in problems(lambda d: d["genesis_state"].update(file="../elsewhere.state"))
    assert "without '..'" in problems(lambda d: d["genesis_state"].update(file="/etc/passwd"))
    assert "0x and 64 hex digits" in problems(lambda d: d["genesis_state"].update(state_root="0x12"))
    assert "genesis time" in problems(lambda d: d.update(genesis_time_ms=0))
    assert "only liquid rows" in problems(
        lambda d: d["allocations"][0].update(elided={"holders": 1, "amount": "1"}))
    with pytest.raises(GenesisError, match="its genesis state is in the file"):
        genesis_config(parse_chain_spec(doc))


def test_build_spec_writes_it_and_refuses_what_it_cannot_write(capsys: pytest.CaptureFixture[str],
                                                                listing: tuple[Path, ChainSpec], built: Path,
                                                                tmp_path: Path) -> None:
    code, _, err = run(capsys, "build-spec", "--chain", str(listing[0]), "--out", str(tmp_path / "ok.json"),
                       "--genesis-state-file", str(tmp_path / "ok.state"))
    assert code == 0 and "wrote the genesis state to" in err, err
    assert json.loads((tmp_path / "ok.json").read_text()) == json.loads(built.read_text()) | {
        "genesis_state": json.loads(built.read_text())["genesis_state"] | {"file": "ok.state"}}
    for args, words in (((str(built), "x.json", "x.state"), "names its genesis state file"),
                        ((str(listing[0]), None, "x.state"), "needs --out"),
                        ((str(listing[0]), "a/x.json", "x.state"), "spec's directory"),
                        (("dev", "x.json", "x.state"), "--genesis-time")):
        base, out, state = args
        argv = ["build-spec", "--chain", base, "--genesis-state-file", str(tmp_path / state)]
        if out is not None:
            argv += ["--out", str(tmp_path / out)]
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, words)
    assert not (tmp_path / "x.state").exists() and not (tmp_path / "x.json").exists()


def test_only_large_liquid_rows_leave_holders_out(listing: tuple[Path, ChainSpec]) -> None:
    spec = listing[1]
    doc = elided_doc(spec)
    for raw, row in zip(doc["allocations"], spec.allocations, strict=True):
        if "elided" in raw:
            assert row.release.kind == "liquid" and len(row.holders) > 100
            assert all(h["account"] in {"alice"} or h["account"].startswith("module:") for h in raw["holders"])
        else:
            assert raw == next(r for r in spec.raw["allocations"] if r["index"] == row.index)


def test_the_release_projection_counts_the_holders_left_out(listing: tuple[Path, ChainSpec], built: Path) -> None:
    from genesis.release import release_schedules

    def released(spec: ChainSpec) -> dict[int, int]:
        out: dict[int, int] = {}
        for index, schedule in release_schedules(spec):
            out[index] = out.get(index, 0) + schedule.total
        return out

    assert released(load_chain_spec(str(built))) == released(listing[1])
