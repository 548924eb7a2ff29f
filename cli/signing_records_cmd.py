"""`btt-chain signing-records export|import`: a stopped validator's signing records (the slots of the blocks it signed,
the source and target epochs of its finality votes) to and from one interchange file, EIP-3076's model
(`btt_chain.consensus.signing_interchange`; the files under the base path: `btt_chain.node.signing_records`).

Back them up with the keystore, and import them before a restored validator starts: a validator that knows what it
signed never signs a second block for a slot or a vote that doubles or surrounds one of its own, and starts signing
without the doppelganger watch (`btt-chain node --doppelganger-epochs`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from btt_chain.primitives.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from genesis.spec import ChainSpec

MAX_FILE_BYTES = 64 * 1024 * 1024

_chain_opt = click.option("--chain", default="btt-21m", show_default=True,
                          help="Preset or chain-spec file (the node's --chain).")
_base_opt = click.option("--base-path", type=click.Path(file_okay=False, path_type=Path), required=True,
                         help="The validator's data directory (the node must be stopped).")


@click.group("signing-records")
def signing_records() -> None:
    """Export or import a stopped validator's signing records (blocks and finality votes it signed) as one
    interchange file (EIP-3076's model), for backups and restores.

    The records are the node's `chains/<id>/signing-<genesis>.json` (the last block slot it signed) and
    `votes-<genesis>.json` (its finality votes and watermarks). The file is JSON:

    \b
      {"metadata": {"interchange_format_version": "1", "genesis_hash": "0x..."},
       "data": [{"pubkey": "0x<session key>",
                 "signed_blocks": [{"slot": "812"}],
                 "signed_votes": [{"source_epoch": "160", "target_epoch": "161",
                                   "source_root": "0x...", "target_root": "0x..."}]}]}

    Numbers are decimal strings; a vote without roots is a watermark (nothing at or below its target, nothing from
    below its source). Import merges: the highest slot and watermarks, the union of votes; a file for another
    genesis is refused. Restore: stop the node, restore the keystore and the chain (`import-blocks`), import the
    records, start: it syncs with its peers before it signs.
    """


@signing_records.command("export")
@_chain_opt
@_base_opt
@click.option("--file", "path", default="-", show_default=True, help="File to write, or `-` for stdout.")
@click.option("--public-key", "public_keys", multiple=True, metavar="0xHEX|ADDRESS|DEVNAME",
              help="A session key to list the records under, beside the keystore's (repeatable): a validator that "
                   "signs with `--key` keeps that key outside the keystore. A dev name on dev and local chains.")
def export(chain: str, base_path: Path, path: str, public_keys: tuple[str, ...]) -> None:
    """Write the node's signing records, under each of its session keys, to one file."""
    from btt_chain.node.keystore import DIRECTORY, Keystore
    from btt_chain.node.signing_records import export_records, has_records

    data_dir, genesis_hash, spec = _chain_dir(chain, base_path)
    keys = [*Keystore(data_dir / DIRECTORY).publics()]
    keys += [_public_key(text, spec.chain_type, spec.ss58_prefix) for text in public_keys]
    if not keys:
        raise ConfigError(f"no session key in {data_dir / DIRECTORY} and none given: name the validator's keys with "
                          "--public-key (the records are listed under them)")
    if not has_records(data_dir, genesis_hash):
        click.echo(f"warning: {data_dir} holds no signing records for genesis 0x{genesis_hash.hex()[:16]}: "
                   "the file says this validator signed nothing", err=True)
    doc = export_records(data_dir, genesis_hash, keys)
    text = json.dumps(doc, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write_atomically(Path(path), text)
    votes = doc["data"][0]["signed_votes"]
    blocks = doc["data"][0]["signed_blocks"]
    click.echo(f"exported the signing records of {len(doc['data'])} keys ({len(blocks)} block, {len(votes)} vote "
               f"entries) for genesis 0x{genesis_hash.hex()}", err=True)


@signing_records.command("import")
@_chain_opt
@_base_opt
@click.option("--file", "path", default="-", show_default=True, help="File to read, or `-` for stdin.")
def import_(chain: str, base_path: Path, path: str) -> None:
    """Merge an interchange file into the node's signing records: the highest block slot and vote watermarks, the
    union of votes. A file for another chain is refused, and nothing is written unless the whole file is sound."""
    from btt_chain.node.signing_records import import_records

    data_dir, genesis_hash, _spec = _chain_dir(chain, base_path)
    raw = _read(path)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{'stdin' if path == '-' else path} is not a signing records file: not JSON ({exc})") \
            from None
    summary = import_records(data_dir, genesis_hash, doc)
    click.echo(summary.describe(), err=True)


def _chain_dir(chain: str, base_path: Path) -> tuple[Path, bytes, ChainSpec]:
    """The chain's directory under the base path, its genesis hash, and its spec. With a database there, the genesis
    is the database's (and LevelDB's lock refuses a running node's); without one, the spec's (a dev spec needs the
    `chain-spec.json` its first start or import wrote)."""
    from btt_chain.node.service import SPEC_FILE, resolve_spec
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec
    from storage import schema
    from storage.leveldb import LevelDBStore

    spec = load_chain_spec(chain)
    data_dir = base_path / "chains" / spec.id
    db = data_dir / "db"
    if db.exists():
        try:
            with LevelDBStore(db, create_if_missing=False) as kv:
                stored = kv.get(schema.META_GENESIS_HASH)
        except StorageError as exc:
            raise StorageError(f"{exc}: stop the node first (signing records are exported and imported while it is "
                               "stopped)") from None
        if stored is not None:
            return data_dir, stored, spec
    if spec.genesis_time_ms == 0 and not (data_dir / SPEC_FILE).exists():
        raise ConfigError(f"{data_dir} holds no chain yet, and {chain!r} fixes no genesis time: import the chain "
                          "first (`btt-chain import-blocks`), or give the chain spec the node ran")
    return data_dir, build_genesis(resolve_spec(chain, data_dir)).hash, spec


def _public_key(text: str, chain_type: str, ss58_prefix: int) -> bytes:
    from btt_chain.primitives.address import decode_address
    from btt_chain.primitives.keys import dev_keypair, is_dev_name

    if is_dev_name(text.lower()):
        if chain_type not in ("dev", "local"):
            raise ConfigError(f"dev key {text!r} is only accepted on dev chains")
        return dev_keypair(text.lower()).public
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ConfigError(f"--public-key {text!r} is not 0x and 64 hex digits")
        return raw
    return decode_address(text, ss58_prefix)


def _read(path: str) -> bytes:
    if path == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: not a signing records file")
    return raw


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
