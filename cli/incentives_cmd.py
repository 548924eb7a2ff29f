"""Patient incentive commands: `btt-chain incentives attest|redeem` and `btt-chain query points`."""

from __future__ import annotations

from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.codec import U64_MAX
from cli.accounts import resolve_account, resolve_signer
from cli.hashes import text_or_hash
from cli.output import print_fields, print_json
from cli.submit import Submitted, echo_submitted, submit_call
from runtime.incentives.types import ACTIVITIES


class _Activity(click.Choice):
    """The activity types, named on one line when the option is missing (one `error:` line, like every error)."""

    def __init__(self) -> None:
        super().__init__(ACTIVITIES)

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"Choose from {', '.join(ACTIVITIES)}."


_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
_key = click.option("--from", "--key", "key", required=True,
                    help="Key file, or a dev name (alice, bob...) on dev chains.")
_no_wait = click.option("--no-wait", is_flag=True,
                        help="Return once the node accepted it, without waiting for a block.")


def parse_evidence(text: str | None, hex_text: str | None) -> bytes:
    """The 32-byte evidence hash: blake2b-256 of `--evidence` TEXT, or `--evidence-hash` given as (0x-)hex."""
    return text_or_hash(text, hex_text, "evidence")


def _event(client: RpcClient, sub: Submitted, name: str) -> dict[str, Any] | None:
    """The module event `name` the submitted extrinsic emitted."""
    assert sub.status is not None
    events = client.call("btt_events", sub.status["blockHash"])
    return next((e for e in events if e.get("module") == "incentives" and e.get("event") == name
                 and e.get("phase") == sub.status["index"]), None)


@click.group()
def incentives() -> None:
    """Patient incentives: oracles attest activities for points, patients redeem points for BTT."""


@incentives.command("attest")
@click.option("--patient", required=True, help="The patient: an address, 0x account id, key file or dev name.")
@click.option("--activity", type=_Activity(), required=True, help="The activity type attested.")
@click.option("--evidence", default=None, help="Evidence text (a record id, say); its blake2b-256 hash goes on chain.")
@click.option("--evidence-hash", default=None, help="The 32-byte evidence hash as hex, instead of --evidence.")
@_key
@_no_wait
@_json
@_rpc
def attest(patient: str, activity: str, evidence: str | None, evidence_hash: str | None, key: str, no_wait: bool,
           as_json: bool, rpc: str) -> None:
    """As a health oracle of ACTIVITY, credit a patient that activity's points; each evidence hash is rewarded
    once, ever."""
    digest = parse_evidence(evidence, evidence_hash)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    patient_id = resolve_account(patient, info.chain_type, info.ss58_prefix)
    signer = resolve_signer(key, info.chain_type)
    sub = submit_call(client, info, signer, "incentives.attest", (patient_id, activity, digest), wait=not no_wait)
    if sub.status is None:
        echo_submitted(sub, as_json, info.decimals, info.symbol)
        return
    ev = _event(client, sub, "Attested")
    points = int(ev["points"]) if ev else None
    if as_json:
        print_json({"points": None if points is None else str(points), "evidence": "0x" + digest.hex(),
                    "hash": sub.hash, **sub.status})
        return
    who = ev["patient"] if ev else patient
    click.echo(f"attested {activity} for {who}: {points} points (evidence 0x{digest.hex()})")
    echo_submitted(sub, False, info.decimals, info.symbol)


@incentives.command("redeem")
@click.option("--points", type=click.IntRange(1, U64_MAX), required=True, help="Points to convert to BTT.")
@_key
@_json
@_rpc
def redeem(points: int, key: str, as_json: bool, rpc: str) -> None:
    """Convert points to BTT from the Community Incentives pool at the chain's rate, within the per-epoch cap;
    prints the BTT received."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    sub = submit_call(client, info, signer, "incentives.redeem", (points,))
    ev = _event(client, sub, "Redeemed")
    amount = ev["amount"] if ev else None
    if as_json:
        assert sub.status is not None
        print_json({"points": str(points), "amount": amount, "epoch": ev["epoch"] if ev else None,
                    "hash": sub.hash, **sub.status})
        return
    received = "?" if amount is None else info.format_amount(amount)
    click.echo(f"redeemed {points} points for {received}" + (f" (epoch {ev['epoch']})" if ev else ""))
    echo_submitted(sub, False, info.decimals, info.symbol)


@click.command("points")
@click.argument("who")
@_json
@_rpc
def query_points(who: str, as_json: bool, rpc: str) -> None:
    """An ADDRESS's (0x account id, key file or dev name) incentive points, what it redeemed this epoch, the cap
    left, the rate and its attestations."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    account_id = resolve_account(who, info.chain_type, info.ss58_prefix)
    r = client.call("btt_points", "0x" + account_id.hex())
    if as_json:
        print_json(r)
        return
    btt = info.format_amount
    print_fields([
        ("address", r["account"]),
        ("points", f"{r['points']} (worth {btt(r['value'])})"),
        ("rate", f"{btt(r['rate'])} per point"),
        ("epoch", r["epoch"]),
        ("redeemed this epoch", btt(r["redeemedThisEpoch"])),
        ("cap left", f"{btt(r['capLeft'])} of {btt(r['capPerEpoch'])} per epoch"),
        ("redeemable now", f"{r['redeemableNow']} points"),
        ("pool", btt(r["poolBalance"])),
        ("attestations", r["attestationCount"]),
    ])
    for a in r["attestations"]:
        click.echo(f"  block #{a['block']}: {a['activity']}, {a['points']} points, by {a['oracle']}, "
                   f"evidence {a['evidence']}")
