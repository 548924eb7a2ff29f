"""Compute marketplace commands: `btt-chain miner`, `btt-chain job post|show|list|cancel|clinic` (and
`outputs|verify|challenge|demand` from `cli.job_outputs_cmd`),
`btt-chain provider register|deregister`, and `btt-chain query power-table|jobs|providers|mining|models`."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.log_config import iso_time
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Signer
from cli.accounts import resolve_account, resolve_signer
from cli.job_outputs_cmd import COMMANDS as OUTPUT_COMMANDS
from cli.output import print_fields, print_json, utc
from cli.submit import echo_submitted, submit_as, submit_call
from runtime.compute.types import ENERGY_CLASSES, JOB_STATES, MAX_REDUNDANCY, REGION_CLASSES

_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
_key = click.option("--key", "--from", "key", required=True,
                    help="Key file, or a dev name (alice, bob...) on dev chains.")
_under_node = click.option("--under-node", is_flag=True, hidden=True,
                           help="Run as a node's demo child: plain lines, exit when the parent exits.")
_region = click.option("--region", type=click.Choice(REGION_CLASSES), default="standard", show_default=True,
                       help="Region class (its reward factor is a chain parameter).")
_energy = click.option("--energy", type=click.Choice(ENERGY_CLASSES, case_sensitive=False), default="c",
                       show_default=True, help="Energy class, a (best) to e.")
_capacity = click.option("--capacity", type=click.IntRange(1, 1024), default=4, show_default=True,
                         help="Assignments held open at once.")


def _printer(plain: bool) -> Any:
    def out(line: str) -> None:
        if plain:
            click.echo(line)
        else:
            click.echo(f"{iso_time(time.time())} {line}")

    return out


@contextlib.contextmanager
def _stop_on_signals(under_node: bool) -> Iterator[Callable[[], bool]]:
    """A should-stop predicate: SIGTERM or SIGINT asks for a stop (the previous handlers come back after);
    a demo child also stops when its node has gone."""
    state = {"stop": False}
    parent = os.getppid()

    def ask(*_: object) -> None:
        state["stop"] = True

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield lambda: state["stop"] or (under_node and os.getppid() != parent)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _submitter(client: RpcClient, info: ChainInfo, signer: Signer) -> Any:
    def submit(call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str:
        return submit_call(client, info, signer, call, args, wait=wait, force=force).hash

    return submit


def _price(text: str, what: str = "--price") -> int:
    value = parse_btt(text)
    if value == 0:
        raise ConfigError(f"{what} must be above zero")
    return value


# miner ----------------------------------------------------------------------------------------------


@click.command()
@_key
@_rpc
@_capacity
@_region
@_energy
@click.option("--bond", default=None,
              help="BTT: the active bond to reach before registering (default: the chain's minimum provider bond).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where results are kept until revealed (default: ~/.btt-chain/miner).")
@click.option("--once", is_flag=True,
              help="Serve the jobs assigned now through their reveal and publish their outputs, then exit.")
@click.option("--interval", type=click.FloatRange(0.05, 60), default=0.5, show_default=True,
              help="Seconds between polls of the node.")
@click.option("--unsafe-fake-items", type=click.IntRange(0), default=0, hidden=True,
              help="Test helper: fake the outputs of the first N items of every job (gets the bond slashed).")
@click.option("--unsafe-withhold-outputs", is_flag=True, hidden=True,
              help="Test helper: never post outputs on chain, even when owed (gets the bond slashed).")
@_under_node
def miner(key: str, rpc: str, capacity: int, region: str, energy: str, bond: str | None, data_dir: Path | None,
          once: bool, interval: float, unsafe_fake_items: int, unsafe_withhold_outputs: bool,
          under_node: bool) -> None:
    """Run a compute provider: register (bonding first if needed), then compute, commit and reveal every
    job assigned to KEY, publish the outputs to the node, post them on chain when demanded or disputed, and
    print each step and the receipts, fraud verdicts, challenges and mining rewards."""
    from btt_chain.miner.engine import MinerEngine
    from btt_chain.miner.rpc_loop import MinerLoop, ProviderOptions
    from btt_chain.miner.store import result_dir

    wanted_bond = _price(bond, "--bond") if bond is not None else None
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    address = encode_address(signer.account, info.ss58_prefix)
    engine = MinerEngine(result_dir(data_dir, info.genesis_hash, address), fake_items=unsafe_fake_items)
    out = _printer(under_node)
    from btt_chain.miner.weights import use_node_weights

    use_node_weights(client)  # a model's weights come from the node, which fetches them from its peers
    from btt_chain.primitives.sealed_cases import BoxKeypair

    box = BoxKeypair.from_seed(signer.secret)  # derived from the account key: kept nowhere else, rotated with it
    loop = MinerLoop(client, address, engine, _submitter(client, info, signer), out, info.decimals, info.symbol, box)
    if unsafe_fake_items:
        out(f"test helper: faking the outputs of the first {unsafe_fake_items} items of every job")
    loop.withhold_outputs = unsafe_withhold_outputs
    if unsafe_withhold_outputs:
        out("test helper: never posting outputs on chain, even when they are owed")
    if engine.job_ids():
        out(f"results kept from an earlier run for jobs {engine.job_ids()}")
    loop.ensure_registered(
        ProviderOptions(capacity, REGION_CLASSES.index(region), ENERGY_CLASSES.index(energy.lower()), wanted_bond)
    )
    loop.ensure_box_key()
    with _stop_on_signals(under_node) as should_stop:
        loop.run(should_stop, interval=interval, once=once)


# jobs -----------------------------------------------------------------------------------------------


@click.group()
def job() -> None:
    """Compute jobs: post (as a clinic), show, list, cancel, run a demo clinic; fetch, verify, challenge or
    demand a provider's outputs."""


for _command in OUTPUT_COMMANDS:
    job.add_command(_command)


@job.command("post")
@click.option("--model", required=True, help="Registered model name (e.g. breast-cancer-v1) or 0x hash.")
@click.option("--items", type=click.IntRange(1), default=None,
              help="Number of synthetic input items (a public synthetic job; with --cases: the file's rows).")
@click.option("--cases", "cases_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Post your own cases PRIVATELY: an .npz with `inputs` (int8 rows of the model's input width) and "
                   "optional `labels`. They are sealed to the provider drawn and checked on decoys; the command "
                   "stays until the job ends and prints the diagnoses.")
@click.option("--decoys", type=click.IntRange(1), default=None,
              help="With --cases: decoys mixed among your cases [default: the least the chain takes, "
                   "compute.sample_size].")
@click.option("--decoy-cases", "decoy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="With --cases: your own fresh decoy cases (.npz), for a model no decoy generator "
                                 "ships for [default: the model's generator].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --cases: where each private job's order (cases, decoys, secrets) is kept until it ends "
                   "[default: ~/.btt-chain/clinic].")
@click.option("--price", required=True, help="BTT escrowed for the job (split over its redundancy).")
@click.option("--redundancy", type=click.IntRange(1, MAX_REDUNDANCY), default=1, show_default=True,
              help="Providers computing the job independently.")
@click.option("--deadline", type=click.IntRange(1), default=None,
              help="Seconds from inclusion until unfinished assignments are refunded [default: twice the shortest "
                   "the chain accepts; `btt-chain job terms` shows it].")
@click.option("--seed", default="random", show_default=True,
              help="32-byte hex seed of the synthetic inputs (item i = SHAKE-256(seed, i)), or `random`.")
@_key
@click.option("--no-wait", is_flag=True, help="Return once the node accepted it, without waiting for a block.")
@_json
@_rpc
def job_post(model: str, items: int | None, cases_file: Path | None, decoys: int | None, decoy_file: Path | None,
             data_dir: Path | None, price: str, redundancy: int, deadline: int | None, seed: str, key: str,
             no_wait: bool, as_json: bool, rpc: str) -> None:
    """Post a job as a clinic; its price is escrowed until it settles and must cover every provider's fees
    (`btt-chain job terms` shows the least price). With --cases, your own cases, privately: sealed to the one
    provider drawn, checked on decoys you mix in, results sealed back to you. Without, a public synthetic job
    (item i = SHAKE-256(seed, i): every node reads its inputs and outputs)."""
    from btt_chain.miner.clinic import JobTerms, default_deadline_ms, parse_seed, post_args, resolve_model

    value = _price(price)
    if cases_file is None and items is None:
        raise ConfigError("give --cases FILE.npz (your own cases, posted privately) or --items N (a public synthetic "
                          "job)")
    if cases_file is not None and (items is not None or redundancy != 1 or no_wait or as_json or seed != "random"):
        raise ConfigError("--cases posts a private job of the file's rows with one provider, driven until it ends: "
                          "--items, --redundancy, --seed, --no-wait and --json do not apply")
    if cases_file is None and (decoys is not None or decoy_file is not None or data_dir is not None):
        raise ConfigError("--decoys, --decoy-cases and --data-dir go with --cases")
    seed_bytes = parse_seed(seed)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    model_hash, model_name = resolve_model(client, model)
    if cases_file is not None:
        from cli.private_jobs_cmd import post_private

        post_private(client, info, signer, _submitter(client, info, signer), model_hash, model_name, cases_file,
                     decoys, decoy_file, value, None if deadline is None else deadline * 1000, data_dir, click.echo)
        return
    assert items is not None
    deadline_ms = default_deadline_ms(client, model_hash, items, redundancy) if deadline is None else deadline * 1000
    terms = JobTerms(model_hash, model_name, items, value, redundancy, deadline_ms)
    sub = submit_call(client, info, signer, "compute.post_job", post_args(terms, seed_bytes), wait=not no_wait)
    if sub.status is None:
        echo_submitted(sub, as_json, info.decimals, info.symbol)
        return
    events = client.call("btt_events", sub.status["blockHash"], sub.status["index"])
    posted = next((e for e in events if e.get("event") == "JobPosted" and e.get("phase") == sub.status["index"]),
                  None)
    job_id = posted["job_id"] if posted else None
    if as_json:
        print_json({"jobId": job_id, "seed": "0x" + seed_bytes.hex(), "hash": sub.hash, **sub.status})
        return
    click.echo(f"posted public synthetic job #{job_id}: {items} items of {model_name}, {info.format_amount(value)} "
               f"escrowed, seed 0x{seed_bytes.hex()}")
    echo_submitted(sub, False, info.decimals, info.symbol)


@job.command("resume")
@click.argument("order_file", metavar="ORDER.json", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_key
@_rpc
def job_resume(order_file: Path, key: str, rpc: str) -> None:
    """Drive a private job you posted (its order file, `job-<id>.json` in the clinic's --data-dir) to its end after an
    interrupted `job post --cases`: seal its cases to the provider drawn, reveal the decoys, read the results."""
    from btt_chain.miner.private_order import PrivateOrder
    from cli.private_jobs_cmd import resume_private

    if PrivateOrder.load(order_file).job_id is None:  # refused before any node is asked
        raise ConfigError(f"{order_file}: this order was never posted (no job id): post the cases again")
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    resume_private(client, info, signer, _submitter(client, info, signer), order_file, click.echo)


@job.command("terms")
@click.option("--model", default="breast-cancer-v1", show_default=True, help="Registered model name or 0x hash.")
@click.option("--items", type=click.IntRange(1), required=True, help="Number of input items.")
@click.option("--redundancy", type=click.IntRange(1, MAX_REDUNDANCY), default=1, show_default=True)
@_json
@_rpc
def job_terms(model: str, items: int, redundancy: int, as_json: bool, rpc: str) -> None:
    """What a job must offer now: the least price (every provider's commit, reveal and output posting fees),
    the deadline bounds, and the room in the market."""
    from btt_chain.miner.clinic import resolve_model

    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    model_hash, model_name = resolve_model(client, model)
    t = client.call("btt_jobTerms", "0x" + model_hash.hex(), items, redundancy)
    if as_json:
        print_json(t)
        return
    btt = info.format_amount
    cheapest = t["cheapestEvictable"]
    owner = "" if t["ownerOpenJobs"] is None else f"; this model's owner's models hold {t['ownerOpenJobs']}"
    print_fields([
        ("job", f"{items} items of {model_name}, {redundancy} provider(s)"),
        ("least price", f"{btt(t['minPrice'])} ({btt(t['providerCosts'])} a provider, {btt(t['postingCost'])} of "
                        f"it to post the outputs in {t['chunks']} chunk(s))"),
        ("deadline", f"{int(t['minDeadlineMs']) / 1000:g} s to {int(t['maxDeadlineMs']) / 1000:g} s"),
        ("open jobs", f"{t['openJobs']} of {t['maxOpenJobs']} ({t['maxOpenJobsPerRequester']} per requester, "
                      f"{t['maxOpenShare']} per model owner or provider{owner})"),
        ("cheapest evictable", "none" if cheapest is None else
         f"job #{cheapest['job']}, paying {btt(cheapest['price'])} in all (a job paying more takes its place)"),
        ("place rent", f"{btt(t['placeRent']['ratePerSlot'])} a slot held, {btt(t['placeRent']['deposit'])} "
                       f"reserved with the price (for {t['placeRent']['holdSlots']} slots; the unused part is "
                       "returned)"),
    ])


def _job_lines(j: dict[str, Any], info: ChainInfo) -> None:
    btt = info.format_amount
    print_fields([
        ("job", f"#{j['id']} ({j['status']})"),
        ("requester", j["requester"]),
        ("model", f"{j['modelName'] or '?'} {j['model']}"),
        ("items", j["items"]),
        ("input", f"seed {j['inputSeed']}" if j["inputSeed"] else f"root {j['inputRoot']}"),
        # spec 17: the requester's inputs on chain (a private job's sealed to its provider); null where none are owed
        *([("inputs on chain", f"{j['inputsPosted']} of {j['items']} items")] if j.get("inputsPosted") is not None
          else []),
        ("price", btt(j["price"])),
        ("redundancy", f"{j['redundancy']} ({j['unassigned']} unassigned)"),
        ("deadline", utc(j["deadlineMs"])),
        ("posted in block", j["postedBlock"]),
        ("priority", "yes" if j["priority"] else "no"),
        *([("why", j["reason"])] if "reason" in j else []),  # a node before issue 52 gives none
    ])
    s = j["split"]
    click.echo(
        f"settles to: {btt(s['burned'])} burned, {btt(s['provider'])} to providers, {btt(s['developmentFund'])} "
        f"development fund, {btt(s['foundation'])} foundation, {btt(s['operationalReserve'])} operational reserve"
    )
    for a in j["assignments"]:
        parts = [a["state"], f"escrow {btt(a['portion'])}"]
        if a["state"] == "assigned":
            parts.append(f"commit by slot {a['commitBySlot']}")
        if a["state"] == "committed" and not a["sampleIndices"]:
            parts.append(f"sample drawn from slot {a['sampleFromSlot']} on")
        if a["sampleIndices"]:
            parts.append(f"sample {a['sampleIndices']}")
        if a["maturesMs"] and a["state"] == "verified":
            parts.append(f"challenge window closes {utc(a['maturesMs'])}")
        if a["outputsDueMs"] and not a["outputsPosted"]:
            parts.append(f"outputs due by {utc(a['outputsDueMs'])} ({a['postedItems']} of {j['items']} posted)")
        elif a["outputsPosted"]:
            parts.append("outputs on chain")
        click.echo(f"  {a['provider']}: {', '.join(parts)}")
        if "reason" in a:
            click.echo(f"    why: {a['reason']}")


@job.command("show")
@click.argument("job_id", type=click.IntRange(0))
@_json
@_rpc
def job_show(job_id: int, as_json: bool, rpc: str) -> None:
    """A job with its assignments, sample and the split it settles to."""
    client = RpcClient(rpc)
    j = client.call("btt_job", job_id)
    if j is None:
        raise ConfigError(f"no job {job_id} on this chain")
    if as_json:
        print_json(j)
        return
    _job_lines(j, ChainInfo.fetch(client))


def _list_jobs(status: str | None, requester: str | None, provider: str | None, limit: int, as_json: bool,
               rpc: str) -> None:
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)

    def who(text: str | None) -> str | None:
        return None if text is None else "0x" + resolve_account(text, info.chain_type, info.ss58_prefix).hex()

    jobs = client.call("btt_jobs", status, who(requester), who(provider), limit)
    if as_json:
        print_json(jobs)
        return
    if not jobs:
        click.echo("no jobs")
    for j in jobs:
        states = ", ".join(a["state"] for a in j["assignments"]) or "unassigned"
        click.echo(f"#{j['id']:<5} {j['status']:<9} {j['items']:>5} items  {info.format_amount(j['price']):>14}  "
                   f"{j['modelName'] or j['model']}  by {j['requester']}  [{states}]")


_status = click.option("--status", type=click.Choice(JOB_STATES), default=None, help="Only jobs in this state.")
_requester = click.option("--requester", default=None, help="Only jobs posted by this account.")
_provider = click.option("--provider", default=None, help="Only jobs assigned to this provider.")
_limit = click.option("--limit", type=click.IntRange(1, 50), default=50, show_default=True,
                      help="Jobs listed (the node lists at most 50 per call).")


@job.command("list")
@_status
@_requester
@_provider
@_limit
@_json
@_rpc
def job_list(status: str | None, requester: str | None, provider: str | None, limit: int, as_json: bool,
             rpc: str) -> None:
    """Jobs, newest first."""
    _list_jobs(status, requester, provider, limit, as_json, rpc)


@job.command("cancel")
@click.argument("job_id", type=click.IntRange(0))
@_key
@_json
@_rpc
def job_cancel(job_id: int, key: str, as_json: bool, rpc: str) -> None:
    """Withdraw a job no provider has been assigned to; its price is released."""
    submit_as(key, rpc, as_json, "compute.cancel_job", job_id)


@job.command("clinic")
@_key
@click.option("--model", default="breast-cancer-v1", show_default=True, help="Model name or 0x hash.")
@click.option("--items", type=click.IntRange(1), default=16, show_default=True)
@click.option("--price", default="1", show_default=True, help="BTT per job.")
@click.option("--redundancy", type=click.IntRange(1, MAX_REDUNDANCY), default=1, show_default=True)
@click.option("--deadline", type=click.IntRange(1), default=None,
              help="Seconds [default: twice the shortest the chain accepts].")
@click.option("--every", type=click.FloatRange(0.5, 86_400), default=5.0, show_default=True,
              help="The fewest seconds between two jobs (a job is posted only once the previous one has a "
                   "provider, and never at the chain's bounds).")
@click.option("--count", type=click.IntRange(1), default=None, help="Post this many jobs, wait for them, exit.")
@click.option("--budget", default=None, help="Public cases: the most BTT the clinic spends on its posts (prices and "
                                             "rent); it posts no more once a post would pass it.")
@click.option("--cases", default="generated", show_default=True, callback=lambda c, p, v: _cases_option(v),
              help="What the clinic posts. PRIVATE (sealed to each job's provider, checked on decoys): `generated` "
                   "(fresh labelled cases the model's generator draws, standing in for a clinic's own) or FILE.npz "
                   "(your own cases). PUBLIC (every node reads them): `synthetic` inputs, or `held-out` (the "
                   "model's already published held-out cases).")
@click.option("--decoys", type=click.IntRange(1), default=None,
              help="Private jobs: decoys per job [default: the least the chain takes, compute.sample_size].")
@click.option("--decoy-cases", "decoy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Private jobs: your own fresh decoy cases (.npz) [default: the model's generator].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Private jobs: where each job's order is kept until it ends [default: ~/.btt-chain/clinic].")
@_rpc
@_under_node
def job_clinic(key: str, model: str, items: int, price: str, redundancy: int, deadline: int | None, every: float,
               count: int | None, budget: str | None, cases: str, decoys: int | None, decoy_file: Path | None,
               data_dir: Path | None, rpc: str, under_node: bool) -> None:
    """Run a demo clinic and report how each job settles. By default its jobs are private: `--items` fresh cases
    (or your file's) with decoys mixed in, sealed to the provider drawn, one job at a time; each result is read
    with the clinic's key beside the cases' labels, and a wrong case is opened on chain. With public cases
    (`synthetic`, `held-out`) it posts as fast as the providers take its jobs, below the chain's bounds, and
    re-executes, challenges or demands outputs as every node can."""
    if cases not in ("synthetic", "held-out"):
        if budget is not None:
            raise ConfigError("--budget: only with public cases (`--cases synthetic` or `held-out`) for now")
        _private_clinic(key, model, items, price, redundancy, deadline, every, count, cases, decoys, decoy_file,
                        data_dir, rpc, under_node)
        return
    from btt_chain.miner.audit import model_spec
    from btt_chain.miner.cases import NoCases, held_out_cases
    from btt_chain.miner.clinic import ClinicLoop, JobTerms, default_deadline_ms, resolve_model
    from btt_chain.miner.weights import use_node_weights
    from runtime.compute.models import built
    from runtime.compute.weights_source import WeightsUnavailable

    value = _price(price)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    address = encode_address(signer.account, info.ss58_prefix)
    model_hash, model_name = resolve_model(client, model)
    deadline_ms = default_deadline_ms(client, model_hash, items, redundancy) if deadline is None else deadline * 1000
    terms = JobTerms(model_hash, model_name, items, value, redundancy, deadline_ms)
    out = _printer(under_node)
    use_node_weights(client)
    book = None
    if cases == "held-out":
        row = client.call("btt_model", "0x" + model_hash.hex())
        try:
            book = held_out_cases(built(model_spec(row)))
        except (NoCases, WeightsUnavailable) as exc:
            out(f"posting synthetic inputs: {exc}")
    kind = "public synthetic items" if book is None else f"public held-out cases ({book.stated()})"
    out(f"clinic {address}: jobs of {items} {kind} of {model_name} for {info.format_amount(value)}, as fast as "
        f"the providers take them (one waiting at most, under the chain's bounds) and at most one every {every:g} s")
    loop = ClinicLoop(client, address, terms, _submitter(client, info, signer), out, info.decimals, info.symbol,
                      cases=book, budget=None if budget is None else _price(budget, "--budget"))
    with _stop_on_signals(under_node) as should_stop:
        loop.run(should_stop, every, count)


def _cases_option(value: str) -> str:
    from cli.private_jobs_cmd import cases_option

    return cases_option(value) or "generated"


def _private_clinic(key: str, model: str, items: int, price: str, redundancy: int, deadline: int | None,
                    every: float, count: int | None, cases: str, decoys: int | None, decoy_file: Path | None,
                    data_dir: Path | None, rpc: str, under_node: bool) -> None:
    from btt_chain.miner.clinic import default_deadline_ms, resolve_model
    from btt_chain.miner.weights import use_node_weights
    from cli.private_jobs_cmd import least_decoys, private_clinic

    if redundancy != 1:
        raise ConfigError("--redundancy: a private job has one provider (its decoys check it)")
    value = _price(price)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    model_hash, model_name = resolve_model(client, model)
    use_node_weights(client)
    d = decoys or least_decoys(client, items)
    deadline_ms = default_deadline_ms(client, model_hash, items + d, 1, d) if deadline is None else deadline * 1000
    out = _printer(under_node)
    loop = private_clinic(client, info, signer, _submitter(client, info, signer), model_hash, model_name, cases,
                          items, decoys, decoy_file, value, deadline_ms, data_dir, out)
    with _stop_on_signals(under_node) as should_stop:
        loop.run(should_stop, min(every, 1.0), count)


# providers ------------------------------------------------------------------------------------------


@click.group()
def provider() -> None:
    """Compute provider registration (bond first: `btt-chain bond`)."""


@provider.command("register")
@_key
@_capacity
@_region
@_energy
@_json
@_rpc
def provider_register(key: str, capacity: int, region: str, energy: str, as_json: bool, rpc: str) -> None:
    """Register KEY as a compute provider; its active bond must reach the minimum provider bond."""
    submit_as(key, rpc, as_json, "compute.register_provider", capacity, REGION_CLASSES.index(region),
              ENERGY_CLASSES.index(energy.lower()))


@provider.command("deregister")
@_key
@_json
@_rpc
def provider_deregister(key: str, as_json: bool, rpc: str) -> None:
    """Stop taking jobs (no assignment may be open); then `btt-chain unbond` the bond."""
    submit_as(key, rpc, as_json, "compute.deregister_provider")


# queries --------------------------------------------------------------------------------------------


@click.command("jobs")
@_status
@_requester
@_provider
@_limit
@_json
@_rpc
def query_jobs(status: str | None, requester: str | None, provider: str | None, limit: int, as_json: bool,
               rpc: str) -> None:
    """Compute jobs, newest first (same as `btt-chain job list`)."""
    _list_jobs(status, requester, provider, limit, as_json, rpc)


@click.command("providers")
@_json
@_rpc
def query_providers(as_json: bool, rpc: str) -> None:
    """Compute providers: bond, classes, stats, on-time ratio and work credit."""
    client = RpcClient(rpc)
    rows = client.call("btt_providers")
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no providers")
        return
    btt = ChainInfo.fetch(client).format_amount
    for p in rows:
        s, c = p["stats"], p["credit"]
        click.echo(
            f"{p['account']}: bond {btt(p['bond'])}, capacity {p['active']}/{p['capacity']}, region {p['region']}, "
            f"energy {p['energy']}; {s['completed']} completed, {s['failed']} missed, {s['frauds']} frauds "
            f"(on time {int(p['onTimeBps']) / 100:g}%); credit recent {c['recent']}, this epoch {c['epoch']}, "
            f"pending {c['pending']}"
        )


@click.command("models")
@_json
@_rpc
def query_models(as_json: bool, rpc: str) -> None:
    """Registered models."""
    rows = RpcClient(rpc).call("btt_models")
    if as_json:
        print_json(rows)
        return
    for m in rows:
        click.echo(f"{m['name']} {m['hash']}: layers {m['layers']}, {m['macsPerItem']} MACs per item")


def _percent(fraction: str) -> str:
    return f"{float(fraction) * 100:.2f}%"


@click.command("power-table")
@_json
@_rpc
def query_power_table(as_json: bool, rpc: str) -> None:
    """The epoch power table: stake share, work share and leader weight of each validator, and the next
    slots' leaders."""
    client = RpcClient(rpc)
    table = client.call("btt_powerTable")
    if as_json:
        print_json(table)
        return
    btt = ChainInfo.fetch(client).format_amount
    click.echo(f"epoch {table['epoch']} ({table['epochSlots']} slots per epoch)")
    for label in ("current", "following"):
        sched = table[label]
        if sched is None:
            continue
        click.echo(f"{label} schedule, epoch {sched['epoch']}, seed {sched['seed']}:")
        for v in sched["validators"]:
            click.echo(
                f"  {v['account']}: bond {btt(v['bond'])}, credit {v['credit']}, stake share "
                f"{_percent(v['stakeShare'])}, work share {_percent(v['workShare'])}, leader share "
                f"{_percent(v['leaderShare'])}"
            )
    leaders = ", ".join(f"{x['slot']}: {x['account'] or '-'}" for x in table["nextLeaders"])
    click.echo(f"next leaders: {leaders}")


@click.command("mining")
@_json
@_rpc
def query_mining(as_json: bool, rpc: str) -> None:
    """The mining pool's emission schedule and what has been emitted, paid and held back."""
    client = RpcClient(rpc)
    m = client.call("btt_miningSchedule")
    if as_json:
        print_json(m)
        return
    btt = ChainInfo.fetch(client).format_amount
    print_fields([
        ("current epoch", f"{m['currentEpoch']} (period {m['currentPeriod']}, {m['epochMs'] / 1000:g} s epochs)"),
        ("emitted", btt(m["emitted"])),
        ("paid", btt(m["paid"])),
        ("held back", btt(m["heldBack"])),
        ("pool balance", btt(m["poolBalance"])),
        ("total emission", btt(m["totalEmission"])),
    ])
    for r in m["periods"]:
        click.echo(f"  period {r['index']}: epochs {r['firstEpoch']}-{r['lastEpoch']}, {btt(r['amount'])} "
                   f"({btt(r['perEpoch'])} per epoch)")
