"""`export-blocks` then `import-blocks` keeps finality (issue 29, item 1): a chain finalized by real votes of three
validators (their own finality services, votes passed between them as gossip would) is exported and imported
into a fresh base path, which must reach the same head, state root and finalized block. Every justification is
verified on import as sync verifies it; forged ones (bad signature, too little stake, a target that is not the block
it travels with, a block that is not the checkpoint it claims, bytes that do not decode) finalize nothing. `revert`
never goes below what an imported justification finalized, and an import shows progress on a terminal and one
summary line elsewhere. Under a trusted checkpoint (the chain spec's or `--checkpoint`) an import keeps sync's
rules: a conflicting block stops it, nothing is finalized until the checkpoint block is in, and a database holding
another block at the checkpoint's number refuses to open."""

from __future__ import annotations

import dataclasses
import os
import pty
import select
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.node.finality_service import FinalityService
from btt_chain.primitives.block import Block
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from genesis.build import build_genesis
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json, load_chain_spec, parse_chain_spec
from storage import schema
from storage.leveldb import LevelDBStore
from tests.support.cli_runner import assert_one_error_line, run
from tests.support.node_builder import GENESIS_TIME_MS, UNIT, author_as_leader, transfer
from tests.support.stub_node import StubNode

E = 5
"""Slots per epoch: a dozen epochs in 60 blocks."""
VALIDATORS = ("alice", "bob", "charlie")
BLOCKS = 60
MAGIC_AND_GENESIS = 8 + 32
_U32 = struct.Struct(">I")


@dataclasses.dataclass(frozen=True)
class Source:
    spec: Path
    base: Path
    export: Path
    head_hash: bytes
    state_root: bytes
    finalized_number: int
    finalized_hash: bytes


def db_path(base: Path) -> Path:
    return base / "chains" / "devnet" / "db"


def build_finalized_chain(spec: Path, base: Path, guards: Path) -> None:
    """BLOCKS blocks with transfers, each followed by the three validators' finality services voting."""
    doc = devnet_spec_doc(len(VALIDATORS), GENESIS_TIME_MS, epoch_slots=E)
    spec.write_bytes(canonical_json(doc))
    kv = LevelDBStore(db_path(base))
    try:
        chain = Chain(kv, build_genesis(parse_chain_spec(doc)))
        guards.mkdir()
        services = {
            n: FinalityService(StubNode(chain), dev_keypair(n), guards / f"{n}.json")  # type: ignore[arg-type]
            for n in VALIDATORS
        }

        def gossip(sender: str) -> Callable[[bytes], None]:
            def publish(raw: bytes) -> None:
                for n, s in services.items():
                    if n != sender:
                        s.on_vote_gossip(sender, raw)

            return publish

        for n, s in services.items():
            s.publish_vote = gossip(n)
        nonce = 0
        while chain.head.number < BLOCKS:
            xts = [transfer(chain, "dave", "eve", UNIT, nonce=nonce)] if chain.head.number % 3 == 0 else []
            nonce += bool(xts)
            author_as_leader(chain, VALIDATORS, xts)
            for s in services.values():
                s.on_new_head()
    finally:
        kv.close()


@dataclasses.dataclass
class Opened:
    chain: Chain
    kv: LevelDBStore


def open_db(source: Source, base: Path) -> Opened:
    kv = LevelDBStore(db_path(base), create_if_missing=False)
    return Opened(Chain(kv, build_genesis(load_chain_spec(source.spec))), kv)


def finality_state(source: Source, base: Path) -> tuple[int, bytes, bytes | None, dict[bytes, bytes]]:
    """(finalized number, finalized hash, the finality record, {block hash: stored justification})."""
    o = open_db(source, base)
    try:
        c = o.chain
        stored = {}
        for n in range(c.head.number + 1):
            h = c.db.canonical_hash(n)
            assert h is not None
            j = c.db.justification(h)
            if j:
                stored[h] = j
        return c.finalized.number, c.finalized_hash, c.db.meta(schema.META_JUSTIFIED), stored
    finally:
        o.kv.close()


def head_of(source: Source, base: Path) -> tuple[int, bytes, bytes]:
    o = open_db(source, base)
    try:
        return o.chain.head.number, o.chain.head_hash, o.chain.head.state_root
    finally:
        o.kv.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    root = tmp_path_factory.mktemp("finalized")
    spec, base, export = root / "spec.json", root / "source", root / "blocks.bin"
    build_finalized_chain(spec, base, root / "guards")
    s = Source(spec, base, export, b"", b"", 0, b"")
    code = subprocess.run(
        [sys.executable, "-m", "cli", "export-blocks", "--chain", str(spec), "--base-path", str(base), "-o",
         str(export)], capture_output=True, timeout=600,
    )
    assert code.returncode == 0, code.stderr
    o = open_db(s, base)
    try:
        c = o.chain
        assert c.finalized.number > BLOCKS // 2, "the source chain must be finalized by its validators' votes"
        return dataclasses.replace(s, head_hash=c.head_hash, state_root=c.head.state_root,
                                   finalized_number=c.finalized.number, finalized_hash=c.finalized_hash)
    finally:
        o.kv.close()


def args(source: Source, base: Path) -> list[str]:
    return ["--chain", str(source.spec), "--base-path", str(base)]


# block files ----------------------------------------------------------------------------------------------
def read_frames(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The header and (block, its justification or b"") of an export whose blocks carry at most one each."""
    data = path.read_bytes()
    head, pos, frames = data[:MAGIC_AND_GENESIS], MAGIC_AND_GENESIS, []
    assert head.startswith(b"BTTBLKS2")
    while pos < len(data):
        (size,) = _U32.unpack_from(data, pos)
        block = data[pos + 4: pos + 4 + size]
        pos += 4 + size
        (count,) = _U32.unpack_from(data, pos)
        pos += 4
        assert count <= 1, "these tests' chains have no empty epoch"
        justification = b""
        if count:
            (jsize,) = _U32.unpack_from(data, pos)
            justification = data[pos + 4: pos + 4 + jsize]
            pos += 4 + jsize
        frames.append((block, justification))
    return head, frames


def write_frames(path: Path, head: bytes, frames: list[tuple[bytes, bytes]], first_format: bool = False) -> Path:
    """An export of `frames` (block, justification or b""), in the current format or the first one (`BTTBLKS1`)."""
    if first_format:
        body = b"".join(_U32.pack(len(b)) + b + _U32.pack(len(j)) + j for b, j in frames)
        path.write_bytes(b"BTTBLKS1" + head[8:] + body)
    else:
        body = b"".join(_U32.pack(len(b)) + b + (_U32.pack(1) + _U32.pack(len(j)) + j if j else _U32.pack(0))
                        for b, j in frames)
        path.write_bytes(head + body)
    return path


def justified_frames(frames: list[tuple[bytes, bytes]]) -> list[int]:
    return [i for i, (_, j) in enumerate(frames) if j]


def import_ok(capsys: pytest.CaptureFixture[str], source: Source, base: Path, path: Path) -> str:
    code, _, err = run(capsys, "import-blocks", *args(source, base), str(path))
    assert code == 0, err
    return err


def assert_refused(code: int, err: str, fragment: str) -> None:
    """One error line (after, at most, plain progress lines of a slow machine), no traceback."""
    lines = err.strip().splitlines()
    assert code != 0 and "Traceback" not in err and "\r" not in err, err
    assert all(line.startswith("importing: ") for line in lines[:-1]), err
    assert_one_error_line(code, lines[-1] + "\n", fragment)


# the round trip -------------------------------------------------------------------------------------------
def test_export_then_import_into_a_fresh_base_path_keeps_head_state_root_and_finality(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = import_ok(capsys, source, tmp_path / "b", source.export)
    number, head_hash, state_root = head_of(source, tmp_path / "b")
    assert (head_hash, state_root) == (source.head_hash, source.state_root)
    fin_number, fin_hash, record, stored = finality_state(source, tmp_path / "b")
    assert (fin_number, fin_hash) == (source.finalized_number, source.finalized_hash)
    # the same justifications beside the same blocks, and the same tracker record a restarted node votes from
    assert finality_state(source, source.base) == (fin_number, fin_hash, record, stored)
    assert record is not None and len(stored) >= BLOCKS // E - 2
    # one summary line: blocks, seconds, rate, head, finalized; no carriage returns off a terminal
    assert "\r" not in err
    summary = err.strip().splitlines()[-1]
    assert summary.startswith(f"imported {BLOCKS} blocks (1 already known) in "), summary
    assert " blocks/s; head " in summary
    assert f"head #{number} 0x{head_hash.hex()}" in summary
    assert f"finalized #{fin_number} 0x{fin_hash.hex()} ({len(stored)} justifications verified)" in summary
    # a second import changes nothing
    import_ok(capsys, source, tmp_path / "b", source.export)
    assert finality_state(source, tmp_path / "b") == (fin_number, fin_hash, record, stored)


def test_a_file_in_the_first_format_imports_with_its_finality(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`BTTBLKS1` files (one justification per block) written before blocks could carry several import as before."""
    head, frames = read_frames(source.export)
    old = write_frames(tmp_path / "old.blocks", head, frames, first_format=True)
    import_ok(capsys, source, tmp_path / "b", old)
    assert head_of(source, tmp_path / "b")[1] == source.head_hash
    assert finality_state(source, tmp_path / "b")[:2] == (source.finalized_number, source.finalized_hash)


def test_export_reports_its_justifications(source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "again.bin"
    code, _, err = run(capsys, "export-blocks", *args(source, source.base), "-o", str(out))
    assert code == 0, err
    stored = finality_state(source, source.base)[3]
    assert f"exported {BLOCKS + 1} blocks from #0 with {len(stored)} finality justifications" in err
    assert f"finalized block: #{source.finalized_number} 0x{source.finalized_hash.hex()}" in err
    assert out.read_bytes() == source.export.read_bytes()


def test_a_file_without_justifications_still_imports_without_finality(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, frames = read_frames(source.export)
    bare = write_frames(tmp_path / "bare.bin", head, [(b, b"") for b, _ in frames])
    err = import_ok(capsys, source, tmp_path / "b", bare)
    assert head_of(source, tmp_path / "b")[1:] == (source.head_hash, source.state_root)
    fin_number, _, record, stored = finality_state(source, tmp_path / "b")
    assert (fin_number, record, stored) == (0, None, {})
    assert "finalized #0 " in err and "(0 justifications verified)" in err
    # the same file with its justifications, imported over it, finalizes what the source finalized
    import_ok(capsys, source, tmp_path / "b", source.export)
    assert finality_state(source, tmp_path / "b") == finality_state(source, source.base)


def test_an_export_that_stops_before_the_next_epoch_leaves_the_last_justification_unchecked(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, frames = read_frames(source.export)
    last = justified_frames(frames)[-1]
    cut = write_frames(tmp_path / "cut.bin", head, frames[: last + 1])
    err = import_ok(capsys, source, tmp_path / "b", cut)
    assert "1 not checked: their epoch goes on past the file's end" in err
    fin_number, _, _, stored = finality_state(source, tmp_path / "b")
    assert fin_number < source.finalized_number
    assert Block.decode(frames[last][0]).hash() not in stored, "an unverified justification is not stored"


# forged justifications -----------------------------------------------------------------------------------
def bad_signature(j: Justification, _frames: list[tuple[bytes, bytes]], _gh: bytes) -> bytes:
    v = j.votes[0]
    forged = dataclasses.replace(v, signature=v.signature[:-1] + bytes([v.signature[-1] ^ 1]))
    return dataclasses.replace(j, votes=(forged, *j.votes[1:])).encode()


def too_little_stake(j: Justification, _frames: list[tuple[bytes, bytes]], _gh: bytes) -> bytes:
    return dataclasses.replace(j, votes=j.votes[:1]).encode()


def wrong_epoch(j: Justification, _frames: list[tuple[bytes, bytes]], gh: bytes) -> bytes:
    """Every validator signs that the block is the checkpoint of the next epoch too: the chain shows it is not."""
    target = Checkpoint(j.target.epoch + 1, j.target.block_hash)
    return Justification(target, j.source, tuple(sign_vote(dev_keypair(n), gh, j.source, target)
                                                 for n in VALIDATORS)).encode()


def undecodable(j: Justification, _frames: list[tuple[bytes, bytes]], _gh: bytes) -> bytes:
    return j.encode()[:-7]


FORGERIES = {
    "bad signature": (bad_signature, "has a bad signature"),
    "too little stake": (too_little_stake, "below 2/3"),
    "wrong epoch": (wrong_epoch, "is not the checkpoint of epoch"),
    "undecodable": (undecodable, "does not decode"),
}


def forge(source: Source, path: Path, which: int, how: Callable[[Justification, list[tuple[bytes, bytes]], bytes],
                                                                 bytes]) -> Path:
    """The export with justification number `which` (by position among those present) replaced by `how`'s."""
    head, frames = read_frames(source.export)
    i = justified_frames(frames)[which]
    block, raw = frames[i]
    frames[i] = (block, how(Justification.decode(raw), frames, head[8:]))
    return write_frames(path, head, frames)


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_a_forged_first_justification_finalizes_nothing(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    how, fragment = FORGERIES[kind]
    forged = forge(source, tmp_path / "forged.bin", 0, how)
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), str(forged))
    assert_refused(code, err, fragment)
    assert "nothing was finalized by it" in err
    # nothing about finality changed: genesis is final, no record, no justification stored
    genesis = read_frames(source.export)[0][8:]
    assert finality_state(source, tmp_path / "b") == (0, genesis, None, {})


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_a_forged_last_justification_does_what_no_justification_does(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """Finality from the justifications before it stays; the forged one adds nothing: the finality state equals
    that of the same file with the forged justification left out."""
    how, fragment = FORGERIES[kind]
    forged = forge(source, tmp_path / "forged.bin", -1, how)
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), str(forged))
    assert_refused(code, err, fragment)
    head, frames = read_frames(source.export)
    i = justified_frames(frames)[-1]
    frames[i] = (frames[i][0], b"")
    import_ok(capsys, source, tmp_path / "reference", write_frames(tmp_path / "without.bin", head, frames))
    got, want = finality_state(source, tmp_path / "b"), finality_state(source, tmp_path / "reference")
    assert got == want
    assert 0 < got[0] < source.finalized_number


def test_a_justification_moved_beside_another_block_is_refused(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real, fully signed justification travelling with another block than its target (a wrong target hash)."""
    head, frames = read_frames(source.export)
    first = justified_frames(frames)[0]
    frames[first + 1], frames[first] = (frames[first + 1][0], frames[first][1]), (frames[first][0], b"")
    moved = write_frames(tmp_path / "moved.bin", head, frames)
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), str(moved))
    assert_refused(code, err, "not the block it travels with")
    assert finality_state(source, tmp_path / "b")[2:] == (None, {})
    assert finality_state(source, tmp_path / "b")[0] == 0


# revert ----------------------------------------------------------------------------------------------------
def test_revert_below_imported_finality_is_refused_and_changes_nothing(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "b"
    import_ok(capsys, source, base, source.export)
    before = (head_of(source, base), finality_state(source, base))
    allowed = BLOCKS - source.finalized_number
    code, _, err = run(capsys, "revert", *args(source, base), str(allowed + 1))
    assert_one_error_line(code, err, f"the finalized block is #{source.finalized_number} and the head #{BLOCKS}, so "
                                     f"at most {allowed} may be reverted")
    assert (head_of(source, base), finality_state(source, base)) == before
    code, out, err = run(capsys, "revert", *args(source, base), str(allowed))
    assert code == 0, err
    assert head_of(source, base)[1] == source.finalized_hash


def test_revert_respects_stored_justifications_a_database_never_applied(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database filled by the old import (justifications stored beside their blocks, finality left at #0): the
    stored justifications are verified and bound the revert all the same, and a refused revert changes nothing."""
    base = tmp_path / "b"
    import_ok(capsys, source, base, source.export)
    kv = LevelDBStore(db_path(base), create_if_missing=False)
    genesis = read_frames(source.export)[0][8:]
    kv.write({schema.META_FINALIZED: genesis}, [schema.META_JUSTIFIED], sync=True)
    kv.close()
    before = (head_of(source, base), finality_state(source, base))
    assert before[1][0] == 0
    allowed = BLOCKS - source.finalized_number
    code, _, err = run(capsys, "revert", *args(source, base), str(allowed + 1))
    assert_one_error_line(code, err, f"block #{source.finalized_number} is finalized by the justification stored "
                                     "beside #")
    assert f"this node's own finalized block is #0) and the head #{BLOCKS}, so at most {allowed} may be" in err
    assert (head_of(source, base), finality_state(source, base)) == before
    # a forged justification stored beside a block bounds nothing
    o = open_db(source, base)
    stored = sorted(before[1][3].items(), key=lambda kv: o.chain.db.get_header(kv[0]).number)  # type: ignore[union-attr]
    o.kv.close()
    last_hash, last_raw = stored[-1]
    kv = LevelDBStore(db_path(base), create_if_missing=False)
    kv.write({schema.justification_key(last_hash): too_little_stake(Justification.decode(last_raw), [], genesis)},
             sync=True)
    kv.close()
    code, out, err = run(capsys, "revert", *args(source, base), str(allowed + 1))
    assert code == 0, "the forged justification must not count: " + err
    assert head_of(source, base)[0] == source.finalized_number - 1


# progress --------------------------------------------------------------------------------------------------
def test_import_on_a_terminal_shows_a_progress_line_updated_in_place(source: Source, tmp_path: Path) -> None:
    """The real command under a pseudo-terminal: the progress line (count, rate, ETA) is rewritten with carriage
    returns, then replaced by the summary."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "import-blocks", *args(source, tmp_path / "b"), str(source.export)],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 600  # a generous limit, not a budget: the loop ends when the process does
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=600) == 0
    text = b"".join(chunks).decode()
    assert "\rimporting: " in text, text
    first = text.split("\rimporting: ")[1]
    assert " blocks, head #" in first and " blocks/s, ETA " in first
    assert f"imported {BLOCKS} blocks (1 already known) in " in text
    assert text.rstrip().splitlines()[-1].lstrip("\r ").startswith("imported "), "the summary replaces the line"
    assert finality_state(source, tmp_path / "b")[:2] == (source.finalized_number, source.finalized_hash)


# a trusted checkpoint (the chain spec's or --checkpoint) --------------------------------------------------------
AT = 20
"""The checkpoint's number: below the source's finalized block (more than half of BLOCKS)."""


def canonical_at(source: Source, number: int) -> bytes:
    o = open_db(source, source.base)
    try:
        h = o.chain.db.canonical_hash(number)
        assert h is not None
        return h
    finally:
        o.kv.close()


def test_the_right_checkpoint_changes_nothing_of_the_round_trip(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = f"0x{canonical_at(source, AT).hex()}@{AT}"
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), "--checkpoint", cp, str(source.export))
    assert code == 0, err
    assert head_of(source, tmp_path / "b")[1:] == (source.head_hash, source.state_root)
    assert finality_state(source, tmp_path / "b")[:2] == (source.finalized_number, source.finalized_hash)
    assert "finality waits" not in err


def test_a_conflicting_checkpoint_stops_the_import_there_and_finalizes_nothing(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = bytes(31) + b"\x01"
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), "--checkpoint",
                       f"0x{other.hex()}@{AT}", str(source.export))
    assert_refused(code, err, "conflicts with the trusted checkpoint")
    assert f"block #{AT} " in err
    number = head_of(source, tmp_path / "b")[0]
    assert number == AT - 1
    # the file's justifications of blocks below the checkpoint verified, yet finalized nothing
    genesis = read_frames(source.export)[0][8:]
    assert finality_state(source, tmp_path / "b")[:2] == (0, genesis)


def test_a_file_that_ends_before_the_checkpoint_imports_and_says_finality_waits(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, frames = read_frames(source.export)
    short = write_frames(tmp_path / "short.bin", head, frames[: AT])  # blocks 0 .. AT-1
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), "--checkpoint",
                       f"0x{canonical_at(source, AT).hex()}@{AT}", str(short))
    assert code == 0, err
    assert head_of(source, tmp_path / "b")[0] == AT - 1
    assert finality_state(source, tmp_path / "b")[0] == 0
    summary = err.strip().splitlines()[-1]
    assert "finalized #0 " in summary and "finality waits until the trusted checkpoint" in summary, summary
    # the rest of the chain, imported next, reaches the checkpoint and finalizes what the source finalized
    again = run(capsys, "import-blocks", *args(source, tmp_path / "b"), "--checkpoint",
                         f"0x{canonical_at(source, AT).hex()}@{AT}", str(source.export))
    assert again[0] == 0, again[2]
    assert finality_state(source, tmp_path / "b")[:2] == (source.finalized_number, source.finalized_hash)


def test_a_database_holding_another_block_at_the_checkpoint_refuses_to_open_and_changes_nothing(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_ok(capsys, source, tmp_path / "b", source.export)
    before = finality_state(source, tmp_path / "b"), head_of(source, tmp_path / "b")
    other = bytes(31) + b"\x02"
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), "--checkpoint",
                       f"0x{other.hex()}@{AT}", str(source.export))
    assert_one_error_line(code, err, "conflicts with the trusted checkpoint")
    assert (finality_state(source, tmp_path / "b"), head_of(source, tmp_path / "b")) == before


@pytest.mark.parametrize("bad", ["0x1234@5", "nothing", f"0x{'00' * 32}@-1", f"0x{'00' * 32}"])
def test_a_malformed_checkpoint_is_a_usage_error_before_anything_opens(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    code, _, err = run(capsys, "import-blocks", *args(source, tmp_path / "b"), "--checkpoint", bad, str(source.export))
    assert code == 2 and "--checkpoint" in err and "Traceback" not in err, err
    assert not (tmp_path / "b").exists()
    assert BLOCKS > AT
