"""Job output commands: `btt-chain job outputs|verify|challenge|demand|post-outputs` (registered on the `job`
group).

`outputs` fetches a provider's outputs from the node (its store, the chain's posted outputs, or its peers),
`verify` re-executes every item of a synthetic job and names the wrong ones, `challenge` proves one wrong
item on chain (only after checking locally that it really re-executes differently, so a mistake costs no
fee), `demand` makes a provider post its full outputs on chain (requester only), `post-outputs` posts a
provider's kept result on chain chunk by chunk (what `btt-chain miner` does by itself when they are owed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.miner.audit import (
    AuditResult,
    FetchedOutputs,
    NotChallengeable,
    audit_outputs,
    challenge_args,
    fetch_outputs,
    job_inputs,
    job_model,
    true_outputs,
)
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import ConfigError
from cli.accounts import resolve_account, resolve_signer
from cli.output import print_json, utc
from cli.submit import Submitted, echo_submitted, submit_call

_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
_key = click.option("--key", "--from", "key", required=True,
                    help="Key file, or a dev name (alice, bob...) on dev chains.")
_wait = click.option("--wait", type=click.FloatRange(0, 600), default=10.0, show_default=True,
                     help="Seconds to keep asking while the node fetches the outputs from its peers.")
REVEALED = ("verified", "settled", "void", "fraud")


def _job(client: RpcClient, job_id: int) -> dict[str, Any]:
    j = client.call("btt_job", job_id)
    if j is None:
        raise ConfigError(f"no job {job_id} on this chain")
    return dict(j)


def _provider_address(text: str, info: ChainInfo) -> str:
    return encode_address(resolve_account(text, info.chain_type, info.ss58_prefix), info.ss58_prefix)


def _revealed(j: dict[str, Any], provider: str | None, states: tuple[str, ...] = REVEALED) -> list[dict[str, Any]]:
    """The job's assignments with a revealed output root (only `provider`'s, if given)."""
    if provider is not None:
        mine = [a for a in j["assignments"] if a["provider"] == provider]
        if not mine:
            raise ConfigError(f"{provider} holds no assignment of job {j['id']}")
        if mine[0]["outputRoot"] is None:
            raise ConfigError(f"{provider} has not revealed a result of job {j['id']} yet ({mine[0]['state']})")
        return mine
    rows = [a for a in j["assignments"] if a["outputRoot"] is not None and a["state"] in states]
    if not rows:
        raise ConfigError(f"job {j['id']} has no revealed result yet")
    return rows


def _fetch(client: RpcClient, j: dict[str, Any], provider: str, wait: float) -> FetchedOutputs:
    fetched = fetch_outputs(client, j["id"], provider, wait)
    if fetched is None:
        raise ConfigError(
            f"neither the node nor its peers hold the outputs of {provider} for job {j['id']}; the requester "
            f"can make the provider post them on chain: btt-chain job demand {j['id']} --provider {provider}"
        )
    return fetched


@click.command("outputs")
@click.argument("job_id", type=click.IntRange(0))
@click.option("--provider", default=None, help="Only this provider's outputs (default: every revealed result).")
@click.option("--output", "output_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the outputs as JSON to this file instead of printing them.")
@_wait
@_json
@_rpc
def job_outputs(job_id: int, provider: str | None, output_file: Path | None, wait: float, as_json: bool,
                rpc: str) -> None:
    """Fetch the outputs of a job's revealed results (each checked against its revealed output root)."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    j = _job(client, job_id)
    who = None if provider is None else _provider_address(provider, info)
    rows = []
    for a in _revealed(j, who):
        fetched = _fetch(client, j, a["provider"], wait)
        if "0x" + fetched.root.hex() != a["outputRoot"]:
            raise ConfigError(f"the node served outputs of {a['provider']} under another root than the revealed one")
        rows.append({"provider": a["provider"], "state": a["state"], "outputRoot": a["outputRoot"],
                     "source": fetched.source, "outputs": ["0x" + o.hex() for o in fetched.outputs]})
    doc = {"jobId": job_id, "items": j["items"], "results": rows}
    if output_file is not None:
        try:
            output_file.write_text(json.dumps(doc, indent=1) + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {output_file}: {exc.strerror or exc}") from None
    if as_json:
        print_json(doc if output_file is None else {**doc, "results": [
            {k: v for k, v in r.items() if k != "outputs"} for r in rows], "file": str(output_file)})
        return
    for r in rows:
        click.echo(f"job #{job_id} outputs of {r['provider']} ({r['state']}): {j['items']} items, output root "
                   f"{r['outputRoot']}, from the {r['source']}")
        if output_file is None:
            for i, o in enumerate(r["outputs"]):
                click.echo(f"  {i}: {o}")
    if output_file is not None:
        click.echo(f"wrote {output_file}")


def _verify_line(r: AuditResult, a: dict[str, Any], job_id: int) -> str:
    window = f", challenge window closes {utc(a['maturesMs'])}" if a["state"] == "verified" and a["maturesMs"] else ""
    head = f"{r.provider} ({a['state']}{window}):"
    if not r.root_ok:
        return f"{head} the served outputs do not give the revealed output root"
    if not r.wrong:
        return f"{head} all {r.items} items re-execute to the revealed outputs"
    shown = ", ".join(str(i) for i in r.wrong[:20]) + (" ..." if len(r.wrong) > 20 else "")
    hint = (f"; prove it: btt-chain job challenge {job_id} --provider {r.provider} --item {r.wrong[0]} --key KEY"
            if a["state"] == "verified" else "")
    return f"{head} {len(r.wrong)} of {r.items} items are WRONG: {shown}{hint}"


@click.command("verify")
@click.argument("job_id", type=click.IntRange(0))
@click.option("--provider", default=None, help="Only this provider's result (default: every revealed result).")
@_wait
@_json
@_rpc
def job_verify(job_id: int, provider: str | None, wait: float, as_json: bool, rpc: str) -> None:
    """Fetch each revealed result's outputs, check them against the output root, re-execute every item locally
    (a synthetic job's inputs from its seed, a requester's job's from the node, checked against its input root) and
    report the wrong ones."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    j = _job(client, job_id)
    who = None if provider is None else _provider_address(provider, info)
    rows = _revealed(j, who)
    try:
        spec = job_model(client, j)
        truth = true_outputs(j, spec, job_inputs(j, spec, rpc=client))
    except NotChallengeable as exc:
        raise ConfigError(str(exc)) from None
    report: list[tuple[dict[str, Any], AuditResult | None]] = []
    for a in rows:
        fetched = fetch_outputs(client, job_id, a["provider"], wait)
        report.append((a, None if fetched is None else audit_outputs(j, spec, fetched, truth)))
    if as_json:
        print_json([{"provider": a["provider"], "state": a["state"], "items": j["items"], "available": r is not None,
                     "rootMatches": r.root_ok if r else None, "wrong": list(r.wrong) if r else None}
                    for a, r in report])
        return
    for a, r in report:
        if r is None:
            click.echo(f"job #{job_id} {a['provider']} ({a['state']}): neither the node nor its peers hold its "
                       f"outputs; the requester can demand them: btt-chain job demand {job_id} --provider "
                       f"{a['provider']} --key KEY")
        else:
            click.echo(f"job #{job_id} {_verify_line(r, a, job_id)}")


def _event_of(client: RpcClient, sub: Submitted, name: str) -> dict[str, Any] | None:
    assert sub.status is not None
    events = client.call("btt_events", sub.status["blockHash"], sub.status["index"])
    return next((e for e in events if e.get("event") == name and e.get("phase") == sub.status["index"]), None)


@click.command("challenge")
@click.argument("job_id", type=click.IntRange(0))
@click.option("--provider", required=True, help="The provider whose result holds the wrong item.")
@click.option("--item", type=click.IntRange(0), required=True, help="Index of the wrong item.")
@_key
@_wait
@_json
@_rpc
def job_challenge(job_id: int, provider: str, item: int, key: str, wait: float, as_json: bool, rpc: str) -> None:
    """Prove on chain that one item of a provider's verified result is wrong: the provider's bond is slashed,
    you get a share of the slash and the requester a refund. The item is re-executed here first: a challenge
    that would fail is not sent (it would cost its fee)."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    account = resolve_account(provider, info.chain_type, info.ss58_prefix)
    address = encode_address(account, info.ss58_prefix)
    j = _job(client, job_id)
    _revealed(j, address)
    spec = job_model(client, j)
    try:
        inputs = job_inputs(j, spec, rpc=client)
        args = challenge_args(j, spec, account, _fetch(client, j, address, wait), item, inputs)
    except NotChallengeable as exc:
        raise ConfigError(f"not challenging, no fee spent: {exc}") from None
    sub = submit_call(client, info, signer, "compute.challenge", args)
    upheld = _event_of(client, sub, "ChallengeUpheld")
    assert sub.status is not None
    if as_json:
        print_json({"hash": sub.hash, **sub.status, "upheld": upheld})
        return
    if upheld is None:
        echo_submitted(sub, False, info.decimals, info.symbol)
        return
    btt = info.format_amount
    click.echo(
        f"challenge upheld: job #{job_id} item {item} of {address} is wrong; provider slashed "
        f"{btt(upheld['slashed'])}, challenger reward {btt(upheld['reward'])}, requester refunded "
        f"{btt(upheld['refunded'])}"
    )
    echo_submitted(sub, False, info.decimals, info.symbol)


@click.command("demand")
@click.argument("job_id", type=click.IntRange(0))
@click.option("--provider", required=True, help="The provider that must post its outputs on chain.")
@_key
@_json
@_rpc
def job_demand(job_id: int, provider: str, key: str, as_json: bool, rpc: str) -> None:
    """Requester: make a provider post its full outputs on chain within `compute.outputs_due_ms`, or lose
    part of its bond and its pay."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    account = resolve_account(provider, info.chain_type, info.ss58_prefix)
    sub = submit_call(client, info, signer, "compute.demand_outputs", (job_id, account))
    demanded = _event_of(client, sub, "OutputsDemanded")
    if as_json:
        print_json({"hash": sub.hash, **(sub.status or {}), "dueMs": demanded["due_ms"] if demanded else None})
        return
    if demanded is not None:
        click.echo(f"demanded the outputs of {demanded['provider']} for job #{job_id}: due on chain by "
                   f"{utc(int(demanded['due_ms']))}")
    echo_submitted(sub, False, info.decimals, info.symbol)


@click.command("post-outputs")
@click.argument("job_id", type=click.IntRange(0))
@_key
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The miner's result directory (default: ~/.btt-chain/miner, as `btt-chain miner` uses).")
@_json
@_rpc
def job_post_outputs(job_id: int, key: str, data_dir: Path | None, as_json: bool, rpc: str) -> None:
    """Provider: post your kept result's outputs on chain, in the chain's chunks, each with its range proof to
    your revealed output root. Every chunk must land before the outputs are due; a chunk the chain would refuse
    (late, or not your root) is not sent and costs nothing."""
    from btt_chain.miner.engine import output_chunks
    from btt_chain.miner.store import ResultStore, result_dir

    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    address = encode_address(signer.account, info.ss58_prefix)
    j = _job(client, job_id)
    (a,) = _revealed(j, address)
    if a["outputsPosted"]:
        raise ConfigError(f"the outputs of {address} for job #{job_id} are on chain already")
    if a["state"] != "verified":
        raise ConfigError(f"the assignment of {address} in job #{job_id} is {a['state']}: only a verified one, "
                          "inside its challenge window, posts outputs")
    directory = result_dir(data_dir, info.genesis_hash, address)
    result = ResultStore(directory).load(job_id) if directory.is_dir() else None
    if result is None:
        raise ConfigError(f"no result of job #{job_id} is kept in {directory} (give the miner's --data-dir)")
    if "0x" + result.output_root.hex() != a["outputRoot"]:
        raise ConfigError(f"the result kept in {directory} is not the one revealed for job #{job_id}")
    chunks = output_chunks(result, job_model(client, j), int(a["postedItems"]))
    subs = []
    for i, (first, items, proof) in enumerate(chunks):
        last = i == len(chunks) - 1
        subs.append(submit_call(client, info, signer, "compute.post_outputs", (job_id, first, items, proof),
                                wait=last, force=i > 0))
    if as_json:
        print_json({"chunks": [s.hash for s in subs], **(subs[-1].status or {})})
        return
    click.echo(f"posted items {a['postedItems']} to {j['items'] - 1} of job #{job_id} in {len(chunks)} chunks")
    echo_submitted(subs[-1], False, info.decimals, info.symbol)


COMMANDS = (job_outputs, job_verify, job_challenge, job_demand, job_post_outputs)
