"""`btt-chain bench`: benchmarks that print figures (they are not tests)."""

from __future__ import annotations

import click

from cli.output import print_fields


@click.group()
def bench() -> None:
    """Measure the node's hot paths and print the figures."""


@bench.command("import")
@click.option("--accounts", type=click.IntRange(1, 5_000_000), default=100_000, show_default=True,
              help="Funded accounts in the genesis state.")
@click.option("--transfers", type=click.IntRange(1, 10_000), default=5_000, show_default=True,
              help="Signed transfers in the imported block.")
@click.option("--sig-workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Worker processes for signature checks (0: in-process).")
def import_(accounts: int, transfers: int, sig_workers: int) -> None:
    """Import one block of signed transfers (decode, signatures, execute, state root, commit)."""
    from bench.import_bench import run

    click.echo(f"building a genesis with {accounts} accounts and a block of {transfers} transfers ...", err=True)
    print_fields(list(run(accounts, transfers, sig_workers).items()))


@bench.command()
@click.option("--keys", type=click.IntRange(1, 10_000_000), default=1_000_000, show_default=True)
@click.option("--changes", type=click.IntRange(1, 1_000_000), default=5_000, show_default=True)
def smt(keys: int, changes: int) -> None:
    """Update and prove in the sparse Merkle state tree."""
    from bench.smt_bench import run

    click.echo(f"building a state tree of {keys} keys ...", err=True)
    print_fields(list(run(keys, changes).items()))
