"""`export-blocks`, `import-blocks`, `check-block` and `revert` on LevelDB databases built in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from genesis.build import Genesis, build_genesis
from genesis.loader import canonical_json, load_chain_spec, materialise, parse_chain_spec
from storage import schema
from storage.leveldb import LevelDBStore
from tests.support.cli_runner import assert_one_error_line, run
from tests.support.node_builder import GENESIS_TIME_MS, UNIT, author_next, transfer

BLOCKS = 6


def prepare_base(base: Path, genesis_time_ms: int = GENESIS_TIME_MS) -> tuple[Path, Genesis]:
    """A base path whose saved dev spec has a fixed genesis time (as a node materialises it on first start)."""
    spec = load_chain_spec("dev")
    doc = materialise(spec.raw, genesis_time_ms)
    data_dir = base / "chains" / spec.id
    data_dir.mkdir(parents=True)
    (data_dir / "chain-spec.json").write_bytes(canonical_json(doc))
    return data_dir / "db", build_genesis(parse_chain_spec(doc))


def build_chain(base: Path, blocks: int = BLOCKS) -> dict[int, bytes]:
    """Author `blocks` blocks with transfers into a LevelDB database under `base`; {number: state root}."""
    db, genesis = prepare_base(base)
    kv = LevelDBStore(db)
    try:
        chain = Chain(kv, genesis)
        for i in range(blocks):
            author_next(chain, [transfer(chain, "bob", "charlie", (i + 1) * UNIT)])
        return state_roots(chain)
    finally:
        kv.close()


def state_roots(chain: Chain) -> dict[int, bytes]:
    roots = {}
    for n in range(chain.head.number + 1):
        h = chain.db.canonical_hash(n)
        assert h is not None
        header = chain.db.get_header(h)
        assert header is not None
        roots[n] = header.state_root
    return roots


def open_roots(base: Path) -> tuple[dict[int, bytes], dict[bytes, bytes]]:
    """(state roots by height, flat head state) of the database under `base`."""
    db = base / "chains" / load_chain_spec("dev").id / "db"
    genesis = build_genesis(load_chain_spec(str(db.parent / "chain-spec.json")))
    kv = LevelDBStore(db, create_if_missing=False)
    try:
        chain = Chain(kv, genesis)
        return state_roots(chain), dict(kv.iterate(schema.STATE))
    finally:
        kv.close()


def args(base: Path) -> list[str]:
    return ["--chain", "dev", "--base-path", str(base)]


def test_export_then_import_into_fresh_database_gives_identical_roots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roots = build_chain(tmp_path / "a")
    out = tmp_path / "blocks.bin"
    code, _, err = run(capsys, "export-blocks", *args(tmp_path / "a"), "--from", "1", "--output", str(out))
    assert code == 0, err
    assert f"exported {BLOCKS} blocks" in err
    prepare_base(tmp_path / "b")
    code, _, err = run(capsys, "import-blocks", *args(tmp_path / "b"), str(out))
    assert code == 0, err
    assert f"imported {BLOCKS} blocks (0 already known)" in err
    imported, state_b = open_roots(tmp_path / "b")
    assert imported == roots
    assert state_b == open_roots(tmp_path / "a")[1]
    # a second import skips every block
    code, _, err = run(capsys, "import-blocks", *args(tmp_path / "b"), str(out))
    assert code == 0 and f"imported 0 blocks ({BLOCKS} already known)" in err


def test_import_from_another_genesis_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_chain(tmp_path / "a", blocks=2)
    out = tmp_path / "blocks.bin"
    assert run(capsys, "export-blocks", *args(tmp_path / "a"), "-o", str(out))[0] == 0
    prepare_base(tmp_path / "other", genesis_time_ms=GENESIS_TIME_MS + 6_000)
    code, _, err = run(capsys, "import-blocks", *args(tmp_path / "other"), str(out))
    assert_one_error_line(code, err, "from genesis 0x")


def test_check_block_passes_on_good_blocks_and_fails_on_corrupted_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_chain(tmp_path / "a", blocks=3)
    for ident in ("1", "3"):
        code, out, err = run(capsys, "check-block", *args(tmp_path / "a"), ident)
        assert code == 0, err
        assert "re-executed" in out and "match" in out and "undo journals" in out
    db = tmp_path / "a" / "chains" / load_chain_spec("dev").id / "db"
    kv = LevelDBStore(db, create_if_missing=False)
    h = kv.get(schema.canonical_key(2))
    assert h is not None
    raw = kv.get(schema.block_key(h))
    assert raw is not None
    kv.write({schema.block_key(h): raw[:-1] + bytes([raw[-1] ^ 1])}, sync=True)
    kv.close()
    code, _, err = run(capsys, "check-block", *args(tmp_path / "a"), "0x" + h.hex())
    assert_one_error_line(code, err, "fails its check")


def test_revert_then_reimport_reaches_the_same_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roots = build_chain(tmp_path / "a")
    out = tmp_path / "blocks.bin"
    assert run(capsys, "export-blocks", *args(tmp_path / "a"), "-o", str(out))[0] == 0
    _, state_before = open_roots(tmp_path / "a")
    code, stdout, err = run(capsys, "revert", *args(tmp_path / "a"), "3")
    assert code == 0, err
    assert f"head is #{BLOCKS - 3}" in stdout
    reverted, _ = open_roots(tmp_path / "a")
    assert reverted == {n: r for n, r in roots.items() if n <= BLOCKS - 3}
    code, _, err = run(capsys, "import-blocks", *args(tmp_path / "a"), str(out))
    assert code == 0, err
    assert "imported 3 blocks" in err
    assert open_roots(tmp_path / "a") == (roots, state_before)


def test_revert_below_finality_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_chain(tmp_path / "a", blocks=4)
    db = tmp_path / "a" / "chains" / load_chain_spec("dev").id / "db"
    spec = load_chain_spec(str(db.parent / "chain-spec.json"))
    kv = LevelDBStore(db, create_if_missing=False)
    chain = Chain(kv, build_genesis(spec))
    h = chain.db.canonical_hash(3)
    assert h is not None
    chain.finalize(h)
    kv.close()
    code, _, err = run(capsys, "revert", *args(tmp_path / "a"), "2")
    assert_one_error_line(code, err, "at most 1 may be reverted")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["revert", "--chain", "dev", "--base-path", "{base}", "-1"], "-1"),
        (["check-block", "--chain", "dev", "--base-path", "{base}", "zz"], "neither a block number"),
        (["check-block", "--chain", "dev", "--base-path", "{base}", "99"], "no canonical block #99"),
        (["import-blocks", "--chain", "dev", "--base-path", "{base}", "{base}/missing.bin"], "no block file"),
        (["export-blocks", "--chain", "dev", "--base-path", "{base}", "--to", "99", "-o", "{base}/x"], "not within"),
        (["export-blocks", "--chain", "dev", "--base-path", "{base}/nothing"], "no database at"),
        (["import-blocks", "--chain", "dev", "--base-path", "{base}", "{base}/garbage.bin"], "bad header"),
    ],
)
def test_bad_arguments_are_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    build_chain(tmp_path, blocks=1)
    (tmp_path / "garbage.bin").write_bytes(b"not blocks at all, not at all")
    code, _, err = run(capsys, *[a.format(base=tmp_path) for a in argv])
    assert_one_error_line(code, err, fragment)


def test_locked_database_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_chain(tmp_path, blocks=1)
    kv = LevelDBStore(tmp_path / "chains" / load_chain_spec("dev").id / "db", create_if_missing=False)
    try:
        code, _, err = run(capsys, "revert", *args(tmp_path), "1")
    finally:
        kv.close()
    assert_one_error_line(code, err, "in use by another process")


def test_export_to_stdout_piped_into_import_from_stdin(tmp_path: Path) -> None:
    """The real command line: `export-blocks | import-blocks -` between two processes."""
    import subprocess
    import sys

    roots = build_chain(tmp_path / "a", blocks=3)
    prepare_base(tmp_path / "b")
    cmd = [sys.executable, "-m", "cli"]
    exported = subprocess.run([*cmd, "export-blocks", *args(tmp_path / "a")], capture_output=True, timeout=60)
    assert exported.returncode == 0, exported.stderr
    imported = subprocess.run(
        [*cmd, "import-blocks", *args(tmp_path / "b"), "-"], input=exported.stdout, capture_output=True, timeout=60
    )
    assert imported.returncode == 0, imported.stderr
    assert b"imported 3 blocks (1 already known)" in imported.stderr
    assert open_roots(tmp_path / "b")[0] == roots
