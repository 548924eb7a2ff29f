"""Patient incentive commands: `btt-chain incentives attest|redeem|choose-oracle` and `btt-chain query points`."""

from __future__ import annotations

import re
import time
from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.codec import U64_MAX
from cli.accounts import resolve_account, resolve_signer
from cli.hashes import text_or_hash
from cli.output import print_fields, print_json
from cli.submit import NotSent, Submitted, echo_submitted, submit_call
from runtime.incentives.types import ACTIVITIES


class _Activity(click.Choice):
    """The activity types, named on one line when the option is missing (one `error:` line, like every error)."""

    def __init__(self) -> None:
        super().__init__(ACTIVITIES)

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"Choose from {', '.join(ACTIVITIES)}."


POLL_SECONDS = 0.5
"""How often `incentives redeem --wait-payout` asks the node whether the epoch was settled."""

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
    events = client.call("btt_events", sub.status["blockHash"], sub.status["index"])
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
@click.option("--wait-payout", is_flag=True,
              help="After inclusion, wait for the epoch's settlement and print what was paid.")
@click.option("--timeout", type=click.FloatRange(min=1), default=7200.0, show_default=True,
              help="Seconds --wait-payout waits for the settlement.")
@_key
@_json
@_rpc
def redeem(points: int, wait_payout: bool, timeout: float, key: str, as_json: bool, rpc: str) -> None:
    """Ask to convert points to BTT from the Community Incentives pool, within the per-patient cap of the epoch.
    Nothing is paid at once: the epoch's requests are paid at the next epoch boundary (its first block), in full
    if they fit the global cap and the pool, else each home oracle's group an equal share of the budget (a group
    asking less is paid in full, the rest shared by the others) and each request its group's share pro rata, in
    whole points, the unpaid points coming back. Your request joins the group of your home oracle: the oracle that
    attested you the most points, or the one you chose (`incentives choose-oracle`). When the epoch's table is
    full, a request is admitted only if its group holds at least two rows fewer than the largest oracle group, in
    place of that group's newest request. Prints the request; with --wait-payout, also what was paid."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(key, info.chain_type)
    sub = submit_call(client, info, signer, "incentives.redeem", (points,))
    ev = _event(client, sub, "RedeemRequested")
    evicted = _event(client, sub, "RedeemEvicted")
    payout = None
    if ev is not None and wait_payout:
        payout = wait_for_payout(client, "0x" + signer.account.hex(), int(ev["epoch"]), timeout)
    if as_json:
        assert sub.status is not None
        print_json({"points": str(points), "requested": None if ev is None else str(ev["requested"]),
                    "amount": None if ev is None else ev["amount"], "epoch": None if ev is None else ev["epoch"],
                    "evicted": None if evicted is None else {k: evicted[k] for k in ("patient", "points", "oracle")},
                    "payout": payout, "hash": sub.hash, **sub.status})
        return
    if ev is None:
        click.echo(f"asked to redeem {points} points")
    else:
        epoch = int(ev["epoch"])
        click.echo(f"asked to redeem {points} points in epoch {epoch}: the request holds {ev['requested']} points, "
                   f"worth {info.format_amount(ev['amount'])} if paid in full")
        click.echo(f"paid at the next epoch boundary (the first block of epoch {epoch + 1}): in full if the epoch's "
                   "requests fit the global cap and the pool, else each oracle group an equal share and each request "
                   "its group's share pro rata, the unpaid points coming back")
    if evicted is not None:
        click.echo(f"the epoch's table was full: this request took the row of {evicted['patient']}'s request of "
                   f"{evicted['points']} points, the newest of the largest oracle group (home oracle "
                   f"{evicted['oracle']}); its points went back to it")
    if payout is not None:
        click.echo(f"paid {payout['paid']} of {payout['requested']} points: {info.format_amount(payout['amount'])}"
                   f" ({payout['returned']} points returned)")
    echo_submitted(sub, False, info.decimals, info.symbol)


_REFUSAL = re.compile(r"incentives\.(NotPatient|UnknownOracle|NotAttestedBy)\b")
"""The refusals of `incentives.choose_oracle` the dry run reports, each explained in the patient's terms."""


def describe_choices(report: dict[str, Any]) -> str:
    """The oracles a patient may choose, from its `btt_points` report: those that attested it and are oracles now."""
    choices = [f"{o['oracle']} ({o['points']} points{', your home now' if o['home'] else ''})"
               for o in report["attestedBy"] if o["isOracle"]]
    more = "" if report["attestedByComplete"] else " (and more: only the first oracles are listed)"
    return (", ".join(choices) if choices else "none of the oracles that attested you is an oracle now") + more


def explain_refusal(client: RpcClient, exc: NotSent, me: bytes, oracle: bytes, prefix: int) -> NotSent:
    """`exc`, a dry run's refusal of `incentives.choose_oracle`, in one clear line with what the patient may do;
    any other refusal as it was."""
    found = _REFUSAL.search(str(exc))
    if found is None:
        return exc
    who, them = encode_address(me, prefix), encode_address(oracle, prefix)
    if found.group(1) == "NotPatient":
        why = (f"no oracle has attested {who}: only a patient, an account an oracle attested, has a home oracle "
               "to choose")
    else:
        report = client.call("btt_points", "0x" + me.hex())
        if found.group(1) == "UnknownOracle":
            why = f"{them} is not a health oracle of any activity now"
        else:
            why = f"oracle {them} has not attested {who}"
        why += f"; you may choose among the oracles that attested you: {describe_choices(report)}"
    return NotSent(f"not sent: {why} (nothing was sent or charged)")


@incentives.command("choose-oracle")
@click.option("--oracle", required=True,
              help="The oracle to make your home: an address, 0x account id, key file or dev name.")
@_key
@_json
@_rpc
def choose_oracle(oracle: str, key: str, as_json: bool, rpc: str) -> None:
    """As a patient, make ORACLE, a health oracle that has attested you, your home oracle for good: your next new
    redemption request joins its group, and no attestation by another oracle moves you out of it (you may choose
    again). Without a choice, your home is the oracle that attested you the most points. A request you already
    filed this epoch stays in its group. Checked against the head first: a refusal (not a patient, not an oracle,
    an oracle that has not attested you) is one line and costs nothing. `btt-chain query points` lists the oracles
    that attested you."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    oracle_id = resolve_account(oracle, info.chain_type, info.ss58_prefix)
    signer = resolve_signer(key, info.chain_type)
    try:
        sub = submit_call(client, info, signer, "incentives.choose_oracle", (oracle_id,))
    except NotSent as exc:
        raise explain_refusal(client, exc, signer.account, oracle_id, info.ss58_prefix) from None
    ev = _event(client, sub, "HomeOracleChosen")
    if as_json:
        assert sub.status is not None
        print_json({"oracle": None if ev is None else ev["oracle"], "previous": None if ev is None else ev["previous"],
                    "hash": sub.hash, **sub.status})
        return
    if ev is None:
        click.echo(f"chose {oracle} as home oracle")
    else:
        was = "it was your home already" if ev["previous"] == ev["oracle"] else f"was {ev['previous']}"
        click.echo(f"your home oracle is {ev['oracle']} ({was}), by your choice: no attestation moves it (you may "
                   "choose again); your next new redemption request joins its group")
        report = client.call("btt_points", "0x" + signer.account.hex())
        if report["requested"] != "0":
            click.echo(f"your request of epoch {report['epoch']} ({report['requested']} points) stays in the group "
                       "it was filed in")
    echo_submitted(sub, False, info.decimals, info.symbol)


def wait_for_payout(client: RpcClient, who: str, epoch: int, timeout: float) -> dict[str, Any]:
    """Poll `btt_points` until `who`'s request of `epoch` is settled; its payout."""
    deadline = time.monotonic() + timeout
    while True:
        payout = client.call("btt_points", who).get("lastPayout")
        if payout is not None and int(payout["epoch"]) >= epoch:
            return dict(payout)
        if time.monotonic() >= deadline:
            raise click.ClickException(f"the requests of epoch {epoch} were not settled within {timeout:g} s")
        time.sleep(POLL_SECONDS)


@click.command("points")
@click.argument("who")
@_json
@_rpc
def query_points(who: str, as_json: bool, rpc: str) -> None:
    """An ADDRESS's (0x account id, key file or dev name) incentive points, its redemption request of this epoch,
    its home oracle (attested it the most, or its choice) with its rows in the epoch's table, the oracles that
    attested it with their points this epoch against the cap, the epoch's requests together, what its latest
    request was paid, the cap left, the rate and its attestations."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    account_id = resolve_account(who, info.chain_type, info.ss58_prefix)
    r = client.call("btt_points", "0x" + account_id.hex())
    if as_json:
        print_json(r)
        return
    btt = info.format_amount
    e = r["epochRequests"]
    last = r["lastPayout"]
    fields = [
        ("address", r["account"]),
        ("points", f"{r['points']} (worth {btt(r['value'])})"),
        ("rate", f"{btt(r['rate'])} per point"),
        ("epoch", r["epoch"]),
        ("requested this epoch", f"{r['requested']} points (worth {btt(r['requestedAmount'])}; "
                                 f"{r['paidIfSettledNow']} points paid if the epoch ended now)"),
        ("cap left", f"{btt(r['capLeft'])} of {btt(r['capPerEpoch'])} per epoch"),
        ("redeemable now", f"{r['redeemableNow']} points"),
        ("home oracle", "none yet (set by the first attestation)" if r["homeOracle"] is None else
         f"{r['homeOracle']} ({'your choice, attested you' if r['homeOracleChosen'] else 'attested you the most:'} "
         f"{r['homeOracleAttested']} points); its patients hold {r['homeOracleRows']} rows of this epoch's table; "
         f"it attested {r['homeOracleEpochPoints']} of {r['oraclePointsPerEpoch']} points this epoch"),
        ("epoch's requests", f"{e['requests']} of {e['maxRequests']} patients ask {btt(e['asked'])}; global cap "
                             f"{btt(e['globalCap'])}, payable now {btt(e['budgetIfSettledNow'])}; "
                             f"{e['oracleGroups']} oracle groups, the largest holding {e['largestGroupRows']} rows"),
        ("last payout", "none" if last is None else
         f"epoch {last['epoch']}: {last['paid']} of {last['requested']} points paid, {btt(last['amount'])} "
         f"({last['returned']} points returned)"),
        ("pool", btt(r["poolBalance"])),
        ("attested by", f"{len(r['attestedBy'])}{'' if r['attestedByComplete'] else ' (the first listed)'} "
                        "oracles (choose one as home: `incentives choose-oracle`)"),
    ]
    print_fields(fields)
    for o in r["attestedBy"]:
        notes = [n for n, on in (("home", o["home"]), ("no longer an oracle", not o["isOracle"])) if on]
        click.echo(f"  {o['oracle']}: {o['points']} points{''.join(f', {n}' for n in notes)}; attested "
                   f"{o['epochPoints']} of {r['oraclePointsPerEpoch']} points this epoch")
    click.echo(f"{'attestations'.ljust(max(len(k) for k, _ in fields))}  {r['attestationCount']}")
    for a in r["attestations"]:
        click.echo(f"  block #{a['block']}: {a['activity']}, {a['points']} points, by {a['oracle']}, "
                   f"evidence {a['evidence']}")
