"""`btt-chain bench`: benchmarks that print figures (they are not tests).

Each command ends with its figures or with one `error:` line and a non-zero exit: a bad option (click's usage
error), a missing tool, a node that cannot start, a request the chain refuses (a ClickException or a BttError such as
bench.errors.BenchFailed, its message saying what to do), never a traceback. A failure nobody expected is still one
line, its exception's type and message, exit 1 (`BTT_BENCH_TRACEBACK=1` shows the traceback): the suite runs every
command and asserts its figures (tests/bench/test_bench_commands.py), so such a line fails a test there rather than
hiding."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from btt_chain.primitives.errors import BttError
from cli.output import print_fields

TRACEBACK_ENV = "BTT_BENCH_TRACEBACK"
MESSAGE_LIMIT = 600
"""Characters of an exception's message printed (an assertion's may hold whole extrinsics)."""


def one_line(exc: BaseException) -> str:
    """`Type: message` on one line, cut to MESSAGE_LIMIT characters."""
    message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + " ..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class BenchGroup(click.Group):
    """The bench commands: a failure that is not already one line (click's, the chain's BttError) becomes one."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, BttError):
            raise  # already one line (cli.main)
        except Exception as exc:
            if os.environ.get(TRACEBACK_ENV):
                raise
            name = ctx.invoked_subcommand or "bench"
            raise click.ClickException(f"bench {name} failed: {one_line(exc)} (set {TRACEBACK_ENV}=1 for the "
                                       "traceback)") from None


@click.group(cls=BenchGroup)
def bench() -> None:
    """Measure the node's hot paths and print the figures."""


@bench.command("import")
@click.option("--accounts", type=click.IntRange(1, 20_000_000), default=100_000, show_default=True,
              help="Funded accounts in the genesis state.")
@click.option("--transfers", type=click.IntRange(1, 10_000), default=5_000, show_default=True,
              help="Signed transfers per imported block.")
@click.option("--recipients", type=click.Choice(["signers", "uniform", "new"]), default="uniform", show_default=True,
              help="Who is paid: the 5,000 signers among themselves, any genesis account drawn uniformly, or "
                   "accounts that do not exist yet.")
@click.option("--blocks", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Blocks imported (several: the rate then includes LevelDB's memtable flushes and compactions).")
@click.option("--warm-blocks", type=click.IntRange(0, 300), default=0, show_default=True,
              help="Blocks the node imports first, unmeasured: the measured blocks then run on a database that has "
                   "been compacting for that long, as a running node's has (a freshly loaded genesis database "
                   "compacts nothing for its first ~12 blocks).")
@click.option("--sig-workers", type=click.IntRange(0, 64), default=1, show_default=True,
              help="Worker processes checking signatures beside execution (0: in-process, before it).")
@click.option("--runs", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Whole runs, one after the other: each number is then printed as its range and median.")
def import_(accounts: int, transfers: int, recipients: str, blocks: int, warm_blocks: int, sig_workers: int,
            runs: int) -> None:
    """Import blocks of signed transfers in a node process (decode, signatures, execute, state root, durable
    commit), with the one-core verify rate, pool admission, authoring from a full pool and resident memory."""
    from bench.import_bench import run, run_apart, summarise_runs

    results = []
    for i in range(runs):
        warm = f" after {warm_blocks} unmeasured" if warm_blocks else ""
        click.echo(f"run {i + 1} of {runs}: building a state of {accounts} accounts and {blocks} block(s) of "
                   f"{transfers} transfers to {recipients} recipients{warm} ...", err=True)
        # several runs: each in a process of its own, so that none starts after another's leftovers
        once = run if runs == 1 else run_apart
        results.append(once(accounts, transfers, sig_workers, blocks, recipients, warm_blocks))
    print_fields(list((results[0] if runs == 1 else summarise_runs(results)).items()))


@bench.command()
@click.option("--per-sender", type=click.IntRange(1, 512), default=150, show_default=True,
              help="Transfers from each of 20 funded accounts.")
@click.option("--batch", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="author_submitExtrinsic calls per JSON-RPC batch.")
def admission(per_sender: int, batch: int) -> None:
    """Pool admission over one WebSocket: a dev node process takes batches of signed transfers."""
    from bench.admission_bench import run

    print_fields(list(run(per_sender, batch).items()))


@bench.command()
@click.option("--pairs", type=click.IntRange(1, 10), default=3, show_default=True,
              help="py-evm and btt-chain runs, interleaved.")
@click.option("--accounts", type=click.IntRange(10, 1_000_000), default=10_000, show_default=True,
              help="Funded accounts in both genesis states.")
@click.option("--transfers", type=click.IntRange(1, 10_000), default=1_000, show_default=True,
              help="Signed transfers per block.")
@click.option("--blocks", type=click.IntRange(1, 100), default=5, show_default=True, help="Blocks imported.")
def pyevm(pairs: int, accounts: int, transfers: int, blocks: int) -> None:
    """btt-chain against py-evm on the same workload (10,000 accounts, 5 blocks of 1,000 transfers, import on
    LevelDB), interleaved A B A B; py-evm runs in .venv-pyevm (scripts/pyevm-venv makes it; without it the command
    says so in one line and exits 1)."""
    from bench.pyevm_compare import PeerUnavailable, run

    try:
        print_fields(list(run(pairs, accounts, transfers, blocks).items()))
    except PeerUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@bench.command()
@click.option("--jobs", type=click.IntRange(1, 64), default=50, show_default=True,
              help="Receipts (reveals of distinct jobs) in the imported block.")
@click.option("--items", type=click.IntRange(1, 4096), default=1024, show_default=True,
              help="Items per job (at most the chain's compute.max_items: 1,024 on the dev chain).")
@click.option("--no-weights", is_flag=True,
              help="Skip the weight table, the output chunks and the worst block (half a minute on 2 cores).")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="A model of the weight table's ladder to measure (repeat it; default: all of them, from "
                   "'smallest' to 'largest-conv').")
@click.option("--calls", type=click.IntRange(1, 64), default=None,
              help="Reveals per model of the weight table [default: 20 to 50, by the model's size].")
@click.option("--chunk-items", type=click.IntRange(1, 4096), default=1024, show_default=True,
              help="Items of each of the three jobs whose outputs are posted in chunks (of the largest dense model: "
                   "computing 1,024 items takes seconds).")
def receipt(jobs: int, items: int, no_weights: bool, models: tuple[str, ...], calls: int | None,
            chunk_items: int) -> None:
    """Verify compute receipts during import (whole-block import per receipt and the verification core); then
    each work-proof call's weight beside its measured import time from the smallest valid model to the largest,
    and a block full of challenges of the largest model against the slot."""
    from bench.receipt_bench import LADDER_NAMES, run

    unknown = sorted(set(models) - set(LADDER_NAMES))
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} (the ladder's models: {', '.join(LADDER_NAMES)})",
                                 param_hint="'--model'")
    click.echo(f"running {jobs} jobs of {items} items through a dev chain, then importing their receipts ...",
               err=True)
    print_fields(list(run(jobs, items, weights_table=not no_weights, models=models or LADDER_NAMES,
                          calls_per_model=calls, chunk_items=chunk_items).items()))


@bench.command()
@click.option("--repeats", type=click.IntRange(1, 50), default=7, show_default=True,
              help="Runs per figure (the fastest and the median are printed).")
@click.option("--layers", is_flag=True, help="Also each layer's time on a batch of 64.")
def inference(repeats: int, layers: bool) -> None:
    """The integer kernels: each model of a ladder from the smallest allowed to the largest (dense, convolutional,
    deep) at batches of 1, 8 and 64, its import weight beside the measured time; loading each blob; and the
    kernels' speed in ns a multiply-accumulate."""
    from bench.inference_bench import main

    main(["--repeats", str(repeats), *(["--layers"] if layers else [])])


@bench.command()
@click.option("--jobs", type=click.IntRange(1, 1024), default=1000, show_default=True,
              help="Jobs (and places) falling due in one block: the market's caps are raised to it.")
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Timed runs per figure (the fastest is printed), after one untimed.")
def hooks(jobs: int, runs: int) -> None:
    """The compute module's start-of-block work: jobs waiting, expiring, places drawn, stalling and reveals missed,
    N of each falling due in one block, each with the weight the block is charged for it (spec 19)."""
    from bench.hook_bench import main

    click.echo(f"setting up {jobs} jobs on a dev chain state ...", err=True)
    main(jobs, runs)


@bench.command("genesis-fetch")
@click.option("--accounts", type=click.IntRange(1_000, 10_000_000), default=1_000_000, show_default=True,
              help="Generated accounts in the genesis state file (10,000,000 make a 1.7 GB file, reused from "
                   "`bench sync`'s work dir when it has one).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the spec and its file are kept (reused) [default: <temp dir>/btt-bench-sync, shared with "
                   "`bench sync`].")
@click.option("--limit", type=click.IntRange(10, 86_400), default=1800, show_default=True,
              help="Seconds the fetch may take before the run fails.")
def genesis_fetch(accounts: int, workdir: Path | None, limit: int) -> None:
    """A joining node fetching a genesis state file by its hash from a peer (`genesis/state`), two processes on
    loopback: time until the checked file is in place, bytes per second, requests, each side's CPU and peak memory."""
    from bench.genesis_fetch_bench import report, run
    from bench.sync_bench import default_workdir

    where = workdir or default_workdir()
    click.echo(f"fetching the genesis state file of {accounts:,} accounts, work dir {where} ...", err=True)
    print_fields(report(run(accounts, where, float(limit))))


@bench.command()
@click.option("--validators", type=click.IntRange(2, 1000), default=300, show_default=True,
              help="Validators of equal bond voting.")
@click.option("--epochs", type=click.IntRange(1, 1000), default=200, show_default=True,
              help="Epochs of outage (half the validators on each of two forks) before finality resumes.")
def finality(validators: int, epochs: int) -> None:
    """The finality tracker through a long outage and a conflicting finalization: time per vote, memory held, time to
    resume, and the cost of weighing a conflict (the alarm)."""
    from bench.finality_bench import run

    click.echo(f"signing {validators * epochs} votes ...", err=True)
    print_fields(list(run(validators, epochs).items()))


@bench.command("rpc-flood")
@click.option("--connections", type=click.IntRange(1, 64), default=10, show_default=True,
              help="Attacker WebSockets sending 100-call batches of chain_getBlockHash (1,000 numbers each).")
@click.option("--seconds", type=click.IntRange(2, 600), default=25, show_default=True,
              help="How long the flood lasts.")
def rpc_flood(connections: int, seconds: int) -> None:
    """Slots missed and system_health latency of a 1 s-slot dev node while its RPC is flooded (loopback)."""
    from bench.rpc_flood_bench import run

    click.echo(f"flooding a dev node's RPC from {connections + 1} connections for {seconds} s ...", err=True)
    print_fields(list(run(connections, seconds).items()))


@bench.command()
@click.option("--accounts", type=click.IntRange(2, 20_000_000), default=100_000, show_default=True,
              help="Funded accounts in the genesis state.")
@click.option("--transfers", type=click.IntRange(1, 10_000), default=10_000, show_default=True,
              help="Signed transfers offered to each full block (it holds what its limits allow: 9,999 on the dev "
                   "chain, whose block.max_extrinsics counts the timestamp inherent too).")
@click.option("--full", type=click.IntRange(1, 20), default=2, show_default=True, help="Full blocks authored.")
@click.option("--empty", type=click.IntRange(0, 5_000), default=100, show_default=True,
              help="Empty blocks authored after them.")
@click.option("--items", type=click.IntRange(1, 1_000_000), default=100_000, show_default=True,
              help="Records written into each storage map a method walks.")
@click.option("--repeat", type=click.IntRange(1, 100), default=5, show_default=True, help="Calls per method.")
def rpc(accounts: int, transfers: int, full: int, empty: int, items: int, repeat: int) -> None:
    """The worst case of every RPC method that reads blocks or walks storage: milliseconds per call on a chain of
    full blocks and maps of `--items` records, with the bound that holds each one."""
    from bench.rpc_bench import run

    click.echo(f"building {full} block(s) of {transfers} transfers over {accounts} accounts and maps of {items} "
               "records ...", err=True)
    print_fields(list(run(accounts, transfers, full, empty, items, repeat).items()))


@bench.command()
@click.option("--keys", type=click.IntRange(1, 10_000_000), default=1_000_000, show_default=True)
@click.option("--changes", type=click.IntRange(1, 1_000_000), default=None,
              help="Existing keys each update changes (at most --keys) [default: 5,000, or --keys if fewer].")
@click.option("--budget-leaves", type=click.IntRange(0, 100_000_000), default=None,
              help="Leaves the tree holds in memory (default: the node's); the rest are read from the database.")
def smt(keys: int, changes: int | None, budget_leaves: int | None) -> None:
    """Open, update and prove in the sparse Merkle state tree, its leaves in LevelDB as a node keeps them."""
    from bench.smt_bench import run
    from storage.state_tree import TREE_LEAF_BUDGET

    if changes is None:
        changes = min(5_000, keys)
    elif changes > keys:
        raise click.BadParameter(f"{changes} is more than --keys ({keys}): each update changes that many of the "
                                 "tree's existing keys", param_hint="'--changes'")
    click.echo(f"building a state tree of {keys} keys ...", err=True)
    print_fields(list(run(keys, changes, TREE_LEAF_BUDGET if budget_leaves is None else budget_leaves).items()))


@bench.command()
@click.option("--seconds", type=click.IntRange(2, 3600), default=60, show_default=True,
              help="How long to watch the devnet for propagation and finality (finality takes about 8 s to show).")
@click.option("--nodes", type=click.IntRange(2, 5), default=4, show_default=True, help="Validators of the devnet.")
@click.option("--settle", type=click.FloatRange(0, 60), default=5.0, show_default=True,
              help="Seconds the devnet runs, once every node answers, before the watch (the mesh forms).")
@click.option("--sync-blocks", type=click.IntRange(10, 100_000), default=1000, show_default=True,
              help="Blocks the late node syncs.")
@click.option("--transfers-per-block", type=click.IntRange(0, 5_000), default=100, show_default=True,
              help="Signed transfers in each of them.")
def network(seconds: int, nodes: int, settle: float, sync_blocks: int, transfers_per_block: int) -> None:
    """Block propagation (p50, p99) and block-to-finality time on a 4-node devnet; sync speed of a late node."""
    from bench.network_bench import propagation_and_finality, sync_speed

    click.echo(f"running a {nodes}-node devnet on 127.0.0.1 for {seconds} s ...", err=True)
    print_fields(list(propagation_and_finality(float(seconds), nodes, settle).items()))
    click.echo(f"prebuilding {sync_blocks} blocks of {transfers_per_block} transfers, then syncing a late node ...",
               err=True)
    print_fields(list(sync_speed(sync_blocks, transfers_per_block).items()))


@bench.command("sync")
@click.option("--accounts", type=click.IntRange(1_000, 10_000_000), default=1_000_000, show_default=True,
              help="Generated accounts in the genesis state (0.01 BTT each, from alice's liquid holding), in the "
                   "genesis state file the chain spec names (10,000,000 make a 1.7 GB file; the spec stays small).")
@click.option("--blocks", type=click.IntRange(100, 1_000_000), default=100_000, show_default=True,
              help="Empty blocks of the chain the nodes join, every epoch justified (built once and kept: 200-400 "
                   "blocks/s, about 10 minutes for the defaults).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the chain is kept (reused when its parameters match), with each run's logs and figures "
                   "[default: <temp dir>/btt-bench-sync].")
@click.option("--skip-full", is_flag=True, help="Measure only the warp join (the full join replays every block).")
@click.option("--limit", type=click.IntRange(60, 86_400), default=7200, show_default=True,
              help="Seconds a joining node may take to follow the chain before the run fails.")
@click.option("--baseline", type=click.FloatRange(0, 3600), default=20.0, show_default=True,
              help="Seconds the server's slot loop is watched before anyone joins (its idle figure).")
def sync(accounts: int, blocks: int, workdir: Path | None, skip_full: bool, limit: int, baseline: float) -> None:
    """A node joining a long chain by --sync warp against --sync full, real node processes on one machine: time to
    answer state_getStorage at the server's head and to follow its new blocks, bytes, peak memory, the server's slot
    loop meanwhile; with two sizes measured in the same work dir, the projection to 10,000,000 accounts (or that size
    measured: --accounts 10000000)."""
    from bench.sync_bench import default_workdir, print_report, run

    where = workdir or default_workdir()
    click.echo(f"warp against full sync: {blocks:,} blocks over {accounts:,} accounts, work dir {where} ...", err=True)
    print_report(run(accounts, blocks, where, full=not skip_full, limit_s=float(limit), baseline_s=baseline), where)


@bench.command()
@click.option("--validators", type=click.IntRange(1, 5_000_000), default=10_000, show_default=True,
              help="Validator registrations of the spec-11 state, none of their keys recorded: the session "
                   "migration's items.")
@click.option("--offences", type=click.IntRange(0, 5_000_000), default=10_000, show_default=True,
              help="Offences spec 11 reported under session keys: the evidence migration's items.")
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True,
              help="One-step runs of each migration (the fastest, which the weight follows, and the median are "
                   "printed).")
@click.option("--max-weight", type=click.IntRange(100_000, 10_000_000), default=2_000_000, show_default=True,
              help="The block.max_weight the steps are fitted to (btt-21m's).")
def upgrade(validators: int, offences: int, runs: int, max_weight: int) -> None:
    """The next spec's migrations on a synthetic spec-11 state in LevelDB, each as a block that runs it is imported
    (execution, state root, write): microseconds per item, the weight per item they imply (x1.3), the largest step
    a block holds, and a run in such steps with its longest block beside that block's weight."""
    from bench.upgrade_bench import measure

    click.echo(f"building a spec-11 state of {validators:,} validators and {offences:,} offences ...", err=True)
    rows: list[tuple[str, object]] = [("validators", validators), ("offences", offences)]
    for figures in measure(validators, offences, runs, max_weight):
        rows += figures.rows()
    print_fields(rows)


@bench.command()
@click.option("--quick", is_flag=True,
              help="Only the smallest job shape (16 cases, 8 of them decoys), at most 3 runs: a few seconds.")
@click.option("--rounds", type=click.IntRange(1, 7), default=5, show_default=True,
              help="Runs per timing (the median is printed); each runs its own jobs.")
def sealing(quick: bool, rounds: int) -> None:
    """Private jobs against public ones, for jobs of 16 to 1,024 cases (8 to 64 decoys) on the shipped models, run on
    a dev chain: sealing and opening per item and per job, the bytes and weight the private calls add, the decoy
    reveals' import time beside their weight, the share of the compute spent on decoys and the fees that follow at
    btt-21m's parameters."""
    from bench.private_bench import QUICK_SHAPES, SHAPES, render, run

    shapes, rounds = (QUICK_SHAPES, min(rounds, 3)) if quick else (SHAPES, rounds)
    click.echo(f"running {len(shapes)} job shape(s) through a dev chain, {rounds} run(s) each ...", err=True)
    try:
        report = run(shapes, rounds)
    except RuntimeError as exc:  # a bench call that failed: the figures would be of something else
        raise click.ClickException(str(exc)) from None
    click.echo(render(report))
