"""`btt-chain export-blocks`, `import-blocks`, `check-block` and `revert`: operator tools on a stopped node's
database (LevelDB refuses a second opener, so a running node's database is refused with one line)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click

from btt_chain.node import block_io
from btt_chain.node.chain import Chain
from btt_chain.primitives.errors import ConfigError, InvalidBlock
from cli.checkpoint_option import parse_checkpoint_option
from genesis.spec import CHECKPOINT_SYNTAX, TrustedCheckpoint


@contextlib.contextmanager
def open_chain(chain: str, base_path: Path, create: bool = False) -> Iterator[Chain]:
    """The node's Chain over `<base-path>/chains/<id>/db`, resolved as `btt-chain node` resolves it."""
    from btt_chain.node.service import resolve_spec
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec
    from storage.leveldb import LevelDBStore

    data_dir = base_path / "chains" / load_chain_spec(chain).id
    db = data_dir / "db"
    if not create and not db.exists():
        raise ConfigError(f"no database at {db}: is --base-path (and --chain) the node's?")
    genesis = build_genesis(resolve_spec(chain, data_dir))
    kv = LevelDBStore(db)
    try:
        yield Chain(kv, genesis)
    finally:
        kv.close()


_chain_opt = click.option("--chain", default="btt-21m", show_default=True, help="Preset or chain-spec file.")
_base_opt = click.option("--base-path", type=click.Path(file_okay=False, path_type=Path), required=True,
                         help="The node's data directory (the node must be stopped).")


@click.command("export-blocks")
@_chain_opt
@_base_opt
@click.option("--from", "start", type=click.IntRange(0), default=0, show_default=True, help="First block number.")
@click.option("--to", "end", type=click.IntRange(0), default=None, help="Last block number [default: the head].")
@click.option("--output", "-o", default="-", show_default=True, help="File to write, or `-` for stdout.")
def export_blocks(chain: str, base_path: Path, start: int, end: int | None, output: str) -> None:
    """Write canonical blocks with their finality justifications to a file, for import-blocks."""
    with open_chain(chain, base_path) as c:
        if output == "-":
            stats = block_io.export_blocks(c, sys.stdout.buffer, start, end)
        else:
            with open(output, "wb") as out:
                stats = block_io.export_blocks(c, out, start, end)
        finalized = f"#{c.finalized.number} 0x{c.finalized_hash.hex()}"
    click.echo(f"exported {stats.blocks} blocks from #{start} with {stats.justifications} finality justifications "
               f"(this node's finalized block: {finalized})", err=True)


@click.command("import-blocks")
@_chain_opt
@_base_opt
@click.option("--checkpoint", callback=parse_checkpoint_option, metavar="HASH@NUMBER",
              help=f"Trusted block {CHECKPOINT_SYNTAX}, overriding the chain spec's: as on a node, a chain without it "
                   "is refused and nothing is finalized until it is imported.")
@click.argument("source", default="-")
def import_blocks(chain: str, base_path: Path, checkpoint: TrustedCheckpoint | None, source: str) -> None:
    """Import blocks from an export-blocks file (or stdin), each fully checked (known blocks are skipped), and
    finalize what the file's justifications finalize, each verified as sync verifies it. The trusted checkpoint
    (the chain spec's, or --checkpoint) holds as it does for sync."""
    with open_chain(chain, base_path, create=True) as c:
        # the node's own rule: a database holding another block at the checkpoint's number refuses to open, a
        # block that conflicts with it stops the import, and finality waits until the checkpoint block is in
        guard = block_io.ImportCheckpointGuard.start(c, c.genesis.spec, checkpoint, block_io.now_ms)
        src: BinaryIO
        total = None
        if source == "-":
            src = sys.stdin.buffer
        else:
            path = Path(source)
            if not path.is_file():
                raise ConfigError(f"no block file at {path}")
            src = path.open("rb")
            total = block_io.count_blocks(src)
        progress = block_io.ImportProgress(sys.stderr, sys.stderr.isatty(), total)
        try:
            with src:
                stats = block_io.import_blocks(c, src, progress.update, guard)
        finally:
            progress.close()
        click.echo(block_io.summary_line(stats, c), err=True)


@click.command("check-block")
@_chain_opt
@_base_opt
@click.argument("block")
def check_block(chain: str, base_path: Path, block: str) -> None:
    """Re-execute a stored block (HASH or NUMBER) against its parent's state and compare its roots."""
    with open_chain(chain, base_path) as c:
        h = block_io.resolve_block(c, block)
        try:
            click.echo(block_io.check_block(c, h))
        except InvalidBlock as exc:
            raise InvalidBlock(f"block 0x{h.hex()[:16]} fails its check: {exc}") from None


@click.command("revert")
@_chain_opt
@_base_opt
@click.argument("count", type=click.IntRange(0))
def revert(chain: str, base_path: Path, count: int) -> None:
    """Revert the last COUNT blocks of the canonical chain (never below the finalized block, nor below a block a
    stored justification finalizes)."""
    with open_chain(chain, base_path) as c:
        head = block_io.revert_blocks(c, count)
        click.echo(f"reverted {count} blocks: head is #{head} 0x{c.head_hash.hex()}")
