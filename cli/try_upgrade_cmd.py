"""`btt-chain try-upgrade`: the next spec's upgrade tried on a copy of a node's database (Substrate's try-runtime),
which is never written: its migrations run as the chain would run them, every check a sound upgrade passes after
them, each migration's time, weight and blocks printed (`cli.try_upgrade` runs it, `cli.db_copy` copies)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from btt_chain.primitives.errors import ConfigError, StorageError
from cli.db_copy import DatabaseCopy, check_database, copy_database, remove_copy
from cli.output import print_json
from cli.try_upgrade import UpgradeTrial, UpgradeTrialFailed, check_known, try_upgrade


@click.command("try-upgrade")
@click.option("--chain", default="btt-21m", show_default=True, help="Preset or chain-spec file.")
@click.option("--base-path", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The node's data directory (it may be running: its database is copied, never written).")
@click.option("--to", "to", type=click.IntRange(1), default=None,
              help="The spec to upgrade to [default: the one after the spec the chain runs].")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the copy of the database is made, and removed after [default: the temp dir].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def try_upgrade_cmd(chain: str, base_path: Path, to: int | None, workdir: Path | None, as_json: bool) -> None:
    """Run the next spec's migrations on a copy of the node's database, as the chain would run them at the head,
    and check every runtime invariant and compute's books after them: each migration's items, time, weight and
    blocks. The node's database is never written. Exits non-zero when a migration fails or a check breaks."""
    from genesis.loader import load_chain_spec

    spec_id = load_chain_spec(chain).id
    data_dir = base_path / "chains" / spec_id
    db = data_dir / "db"
    check_database(db)
    check_known(to)  # before a copy that may take minutes
    tmp = _make_workdir(workdir)
    try:
        try:
            copy = copy_database(db, tmp / "chains" / spec_id / "db")
            saved_spec = data_dir / "chain-spec.json"
            if saved_spec.is_file():
                shutil.copyfile(saved_spec, tmp / "chains" / spec_id / "chain-spec.json")
        except OSError as exc:  # the workdir's disk full, or taken away under the copy
            raise StorageError(f"cannot copy {db} into {tmp}: {exc.strerror or exc}") from None
        if copy.in_use:
            click.echo(f"a node is running on {db}: trying the upgrade on a copy of its files as they are now",
                       err=True)
        trial = _run(chain, db, copy, to)
    finally:
        remove_copy(tmp)
    if as_json:
        print_json(_json(trial, db, copy))
    else:
        _print(trial, db, copy)
    fault = trial.first_fault()
    if fault is not None:
        raise UpgradeTrialFailed(f"the upgrade to spec {trial.to_spec} fails on block #{trial.head}'s state: {fault}")


def _make_workdir(workdir: Path | None) -> Path:
    """A new directory for the copy, in `workdir` (made if missing) or the temp dir; ConfigError if it cannot be."""
    where = "the temp dir" if workdir is None else f"--workdir {workdir}"
    try:
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="btt-try-upgrade-", dir=workdir))
    except OSError as exc:
        raise ConfigError(f"cannot make a directory for the copy of the database in {where}: "
                          f"{exc.strerror or exc}") from None


def _run(chain: str, db: Path, copy: DatabaseCopy, to: int | None) -> UpgradeTrial:
    """Open the copy of `db` as the node would (its genesis the chain's), and try the upgrade on its head state."""
    from btt_chain.node.service import resolve_spec
    from genesis.build import build_genesis
    from storage.chaindb import ChainDB
    from storage.leveldb import LevelDBStore

    genesis = build_genesis(resolve_spec(chain, copy.path.parent))
    try:
        kv = LevelDBStore(copy.path, create_if_missing=False)
    except StorageError as exc:
        why = str(exc).replace(str(copy.path), "the copy")
        raise StorageError(f"the copy of {db} does not open{' (a node was writing it)' if copy.in_use else ''}: "
                           f"{why}") from None
    try:
        chain_db = ChainDB(kv)
        stored = chain_db.genesis_hash()
        if stored is None:
            raise StorageError("the database was never initialised: it holds no chain")
        if stored != genesis.hash:
            raise StorageError(f"the database holds the chain of genesis 0x{stored.hex()}, not {chain}'s "
                               f"(0x{genesis.hash.hex()}): give its --chain")
        head_hash = chain_db.head_hash()
        header = chain_db.get_header(head_hash)
        if header is None:
            raise StorageError(f"the head block 0x{head_hash.hex()} is missing from the database")
        return try_upgrade(chain_db.state, header.number, head_hash, to)
    finally:
        kv.close()


def _print(trial: UpgradeTrial, db: Path, copy: DatabaseCopy) -> None:
    click.echo(f"spec {trial.from_spec} -> {trial.to_spec} on the state of block #{trial.head}, in a copy of {db} "
               f"({copy.bytes / 2**20:.1f} MiB)")
    if trial.scheduled is not None:
        click.echo(f"the chain has scheduled spec {trial.scheduled.spec} at block #{trial.scheduled.at}: tried from "
                   f"block #{trial.head + 1}")
    click.echo(f"block.max_weight {trial.max_weight:,}: the migrations may use {trial.budget:,} of each block")
    width = max((len(r.name) for r in trial.migrations), default=0)
    for r in trial.migrations:
        click.echo(f"  {r.name.ljust(width)}  {_n(r.items, 'item'):>15}  {r.seconds * 1e3:>9.1f} ms  weight "
                   f"{r.weight:>11,}  {_n(r.blocks, 'block')}")
    items = sum(r.items for r in trial.migrations)
    click.echo(f"total: {_n(len(trial.migrations), 'migration')}, {_n(items, 'item')}, "
               f"{sum(r.seconds for r in trial.migrations) * 1e3:.1f} ms, weight "
               f"{sum(r.weight for r in trial.migrations):,}, {_n(trial.blocks, 'block')} (the heaviest weighs "
               f"{trial.longest_block_weight:,}; the whole run {trial.seconds * 1e3:.0f} ms)")
    if trial.failure is not None:
        click.echo(f"FAILED  {trial.failure}")
    for c in trial.checks:
        click.echo(f"{'ok    ' if c.ok else 'BROKEN'}  {c.name}")
        for p in c.problems:
            click.echo(f"          {p}")
    click.echo(f"changes nothing: the upgrade ran on a copy, since removed; {db} was not written")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _json(trial: UpgradeTrial, db: Path, copy: DatabaseCopy) -> dict[str, Any]:
    return {
        "database": str(db), "copiedBytes": copy.bytes, "nodeRunning": copy.in_use,
        "head": trial.head, "fromSpec": trial.from_spec, "toSpec": trial.to_spec,
        "scheduled": None if trial.scheduled is None else {"spec": trial.scheduled.spec, "at": trial.scheduled.at},
        "maxWeight": trial.max_weight, "migrationBudget": trial.budget,
        "migrations": [{"spec": r.spec, "name": r.name, "module": r.module, "fromVersion": r.from_version,
                        "toVersion": r.to_version, "counted": r.counted, "items": r.items, "steps": r.steps,
                        "seconds": round(r.seconds, 6), "weight": r.weight, "blocks": r.blocks}
                       for r in trial.migrations],
        "total": {"items": sum(r.items for r in trial.migrations),
                  "seconds": round(sum(r.seconds for r in trial.migrations), 6), "runSeconds": round(trial.seconds, 6),
                  "weight": sum(r.weight for r in trial.migrations), "blocks": trial.blocks,
                  "heaviestBlock": trial.longest_block_weight},
        "failure": trial.failure,
        "checks": [{"name": c.name, "ok": c.ok, "problems": list(c.problems)} for c in trial.checks],
        "ok": trial.ok,
        "changesNothing": True,
    }
