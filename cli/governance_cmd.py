"""Governance commands: `btt-chain propose`, `btt-chain vote`, `btt-chain referendum show|list|cancel`, and
`btt-chain query referenda|referendum|voter`."""

from __future__ import annotations

import json
from typing import Any

import click

from btt_chain.client import vote_margin
from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.codec import U128_MAX
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from cli import submit
from cli.accounts import resolve_account, resolve_signer
from cli.call_args import convert_call_args, local_calls
from cli.output import print_fields, print_json, utc
from cli.submit import echo_submitted, submit_call
from runtime.governance import params as gparams
from runtime.governance.types import STATUSES

_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
_from = click.option("--from", "sender", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
_ref_id = click.argument("ref_id", metavar="REF_ID", type=click.IntRange(0))

HOUSE_UNITS = {"institutions": "btt", "compute": "credit", "holders": "btt", "representatives": "seats"}
"""How each house's weight reads: genesis allocation and balance in BTT, work credit, seats."""


def _percent(ppm: int | None) -> str:
    """Parts per million as a percentage with two decimals (exact digits, no float)."""
    if ppm is None:
        return "-"
    return f"{ppm // 10_000}.{ppm % 10_000 // 100:02d}%"


def _weight(house: str, value: str, info: ChainInfo) -> str:
    unit = HOUSE_UNITS[house]
    if unit == "btt":
        return info.format_amount(value)
    if unit == "seats":
        return f"{value} seat" if value == "1" else f"{value} seats"
    return f"{value} credit"


def _fetch(client: RpcClient, ref_id: int) -> dict[str, Any]:
    ref = client.call("btt_referendum", ref_id)
    if ref is None:
        raise ConfigError(f"no referendum #{ref_id} on this chain")
    return dict(ref)


def _ensure_voting(ref: dict[str, Any]) -> None:
    if ref["status"] != "voting":
        raise ConfigError(f"referendum #{ref['id']} is {ref['status']}: voting has closed")


# propose ---------------------------------------------------------------------------------------------


def _check_carried(call_name: str, emergency: bool) -> None:
    """The governance module's rules on which calls a referendum may carry, checked before paying a fee."""
    from runtime.governance.logic import EMERGENCY_CALLS, NOT_CARRIED

    if call_name in NOT_CARRIED:
        raise ConfigError(f"{call_name} needs a signed origin: a referendum cannot carry it")
    if call_name not in local_calls():
        raise ConfigError(f"unknown call {call_name!r} (module.call, e.g. treasury.spend)")
    if call_name in EMERGENCY_CALLS and not emergency:
        raise ConfigError(f"{call_name} may only be carried by the emergency track: add --emergency")


def _check_schedule(client: RpcClient, spec: int, at: int) -> None:
    """Mistakes in scheduling an upgrade that the node can see, refused before any fee: a spec this node cannot run
    (when its release lacks it, every node like it stops at the block), and a block that comes before the
    referendum could be enacted (voting and the enactment delay at one block a slot at most: the enacted call
    would fail)."""
    upgrade = client.call("btt_upgrade")
    if spec not in upgrade["supported"]:
        runs = ", ".join(map(str, upgrade["supported"]))
        raise submit.NotSent(
            f"not sent: this node cannot run spec {spec} (it runs specs {runs}): every node must run a release with "
            f"spec {spec} before block {at}, or it stops there; install one here first (nothing was charged; "
            "`btt-chain --force ...` proposes it anyway)")
    params = {row["name"]: int(row["value"]) for row in client.call("btt_params")}
    head = client.call("btt_header")
    genesis = client.call("btt_header", client.call("chain_getBlockHash", 0))
    number, slot = int(head["number"], 16), int(head["slot"], 16)
    if slot <= 0:
        return
    slot_ms = (int(head["timestamp"], 16) - int(genesis["timestamp"], 16)) // slot
    wait_ms = params.get(gparams.VOTING_PERIOD, 0) + params.get(gparams.ENACTMENT_DELAY, 0)
    earliest = number + 1 + (-(-wait_ms // slot_ms) if slot_ms > 0 else 0)
    if at <= earliest:
        raise submit.NotSent(
            f"not sent: block {at} may come before the referendum is enacted (voting and the enactment delay take "
            f"{wait_ms / 1000:g} s, {earliest - number} blocks at most from the head #{number}): the enacted "
            f"schedule would be refused; pick a block after {earliest} (nothing was charged; `btt-chain --force "
            "...` proposes it anyway)")


def _min_deposit(client: RpcClient, emergency: bool) -> int:
    name = gparams.EMERGENCY_DEPOSIT if emergency else gparams.MIN_DEPOSIT
    for row in client.call("btt_params"):
        if row["name"] == name:
            return int(row["value"])
    raise ConfigError(f"the node has no parameter {name}: give --deposit")


@click.command()
@click.option("--call", "call_name", required=True, help="The call the referendum carries, e.g. treasury.spend.")
@click.option("--args", "call_args", default="[]", show_default=True,
              help='JSON array of its arguments; amounts in BTT, e.g. \'["ecosystem_fund", "bob", "1000"]\'.')
@click.option("--deposit", default=None,
              help="BTT reserved until voting ends (default: the track's minimum deposit).")
@click.option("--description", default=None,
              help="What the proposal is about; its blake2b-256 hash goes on chain (none: the zero hash).")
@click.option("--emergency", is_flag=True,
              help="The emergency track: a 2/3 supermajority; the only one for the Strategic Reserve and bounds.")
@_from
@_json
@_rpc
def propose(call_name: str, call_args: str, deposit: str | None, description: str | None, emergency: bool,
            sender: str, as_json: bool, rpc: str) -> None:
    """Put one runtime call to a referendum; prints the referendum id. The deposit comes back when the
    referendum ends, unless it is rejected as spam (then it is burned)."""
    _check_carried(call_name, emergency)
    convert_call_args(call_name, call_args, lambda _: ZERO_HASH)  # the arguments' shape, before any node
    amount = parse_btt(deposit) if deposit is not None else None
    if amount == 0:
        raise ConfigError("--deposit must be above zero")
    description_hash = blake2b_256(description.encode()) if description is not None else ZERO_HASH
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    args = convert_call_args(call_name, call_args, lambda s: resolve_account(s, info.chain_type, info.ss58_prefix),
                             info.calls)
    call = info.calls.build_call(call_name, *args)
    if amount is None:
        amount = _min_deposit(client, emergency)
    check = client.call("btt_dryRunReferendum", "0x" + call.encode().hex(), emergency)
    if not check["ok"] and not submit.FORCE:
        raise submit.NotSent(
            f"not sent: if a referendum enacted it now, {call_name} would fail: "
            f"{submit.readable(check['error'], info.decimals, info.symbol)} "
            "(nothing was charged; `btt-chain --force ...` proposes it anyway)"
        )
    if call_name == "system.schedule_spec" and not submit.FORCE:
        _check_schedule(client, int(args[0]), int(args[1]))
    sub = submit_call(client, info, signer, "governance.propose", (call, description_hash, amount, emergency))
    assert sub.status is not None
    events = client.call("btt_events", sub.status["blockHash"], sub.status["index"])
    proposed = next((e for e in events if e.get("event") == "Proposed" and e.get("module") == "governance"
                     and e.get("phase") == sub.status["index"]), None)
    ref_id = proposed["ref_id"] if proposed else None
    if as_json:
        print_json({"referendumId": ref_id, "descriptionHash": "0x" + description_hash.hex(), "hash": sub.hash,
                    **sub.status})
        return
    track = "emergency" if emergency else "standard"
    ends = f"; voting ends {utc(proposed['voting_ends_ms'])}" if proposed else ""
    click.echo(f"proposed referendum #{ref_id} ({track} track): {call_name}, deposit {info.format_amount(amount)} "
               f"reserved{ends}")
    echo_submitted(sub, False, info.decimals, info.symbol)


# vote and cancel --------------------------------------------------------------------------------------


def _aye_or_nay(ctx: click.Context, param: click.Parameter, value: str) -> bool:
    if value.lower() not in ("aye", "nay"):
        raise click.BadParameter(f"{value!r} is not one of 'aye', 'nay'")
    return value.lower() == "aye"


@click.command()
@_ref_id
@click.argument("vote", metavar="aye|nay", callback=_aye_or_nay)
@click.option("--balance", default=None,
              help="BTT of your free balance to vote with in the token holders' house (plus any stake), locked "
                   "until voting ends. Default: all of it but a margin for the fees of "
                   f"{vote_margin.FEE_MARGIN_FEES} typical transactions (printed before sending); `all`: the whole "
                   "free balance, and then no fee can be paid from the account until voting ends.")
@_from
@_json
@_rpc
def vote(ref_id: int, vote: bool, balance: str | None, sender: str, as_json: bool, rpc: str) -> None:
    """Vote aye or nay on REF_ID with your weight in every house you belong to. The free balance you vote
    with stays locked until voting ends and pays no fee meanwhile, so by default a margin for fees stays out of
    the vote (the command says how much before sending); voting again replaces your vote."""
    requested = None if balance is None else U128_MAX if balance.lower() == "all" else parse_btt(balance)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    ref = _fetch(client, ref_id)
    _ensure_voting(ref)
    plan = vote_margin.fetch_plan(client, info, signer, info.calls.build_call("governance.vote", ref_id, vote, 0),
                                  requested)
    if plan.default and plan.locked == 0:
        voter = client.call("btt_voter", "0x" + signer.account.hex())
        if not vote_margin.has_other_weight(voter):
            raise submit.NotSent(
                f"not sent: the free balance after the vote's fee ({info.format_amount(plan.free_after_fee)}) is "
                f"within the {info.format_amount(plan.margin)} kept for fees, and the account has no other voting "
                "weight: give --balance BTT to vote with part of it (locked until voting ends, and no fee can be "
                "paid from it meanwhile) (nothing was charged)"
            )
    if plan.spendable >= plan.vote_fee:  # otherwise the dry run says the vote itself cannot be paid
        click.echo(_lock_notice(plan, info, ref["votingEndsMs"]), err=True)
    sub = submit_call(client, info, signer, "governance.vote", (ref_id, vote, plan.amount))
    if as_json:
        print_json({"hash": sub.hash, **(sub.status or {}), "balanceLocked": str(plan.locked),
                    "leftForFees": str(plan.left)})
        return
    voter = client.call("btt_voter", "0x" + signer.account.hex())
    record = next((v for v in voter["votes"] if v["referendum"] == ref_id), None)
    weights = ""
    if record is not None:
        parts = [f"{h} {_weight(h, w, info)}" for h, w in record["weights"].items() if int(w)]
        weights = f" with {', '.join(parts)}" if parts else ""
    click.echo(f"voted {'aye' if vote else 'nay'} on referendum #{ref_id}{weights}")
    echo_submitted(sub, False, info.decimals, info.symbol)


def _lock_notice(plan: vote_margin.VotePlan, info: ChainInfo, ends_ms: int) -> str:
    """The line printed before a vote is sent: what it locks until voting ends and what it leaves for fees."""
    text = (f"locking {info.format_amount(plan.locked)} until voting ends at {utc(ends_ms)}, leaving "
            f"{info.format_amount(plan.left)} for fees")
    if plan.left < plan.typical_fee:
        text += (f": less than one fee ({info.format_amount(plan.typical_fee)}), so this account cannot send "
                 "anything until voting ends")
    elif plan.default and plan.typical_fee:
        text += f" (about {plan.left // plan.typical_fee} fees of {info.format_amount(plan.typical_fee)})"
    if plan.pending:
        text += (f"; {plan.pending} earlier transaction{'s' if plan.pending > 1 else ''} of this account "
                 "still pending will spend from what is left first")
    return text + "; use --balance to choose"


def _cancel(ref_id: int, sender: str, as_json: bool, rpc: str) -> None:
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    ref = _fetch(client, ref_id)
    if ref["proposer"] != encode_address(signer.account, info.ss58_prefix):
        raise ConfigError(f"only the proposer ({ref['proposer']}) may cancel referendum #{ref_id}")
    _ensure_voting(ref)
    deposit = ref["liveTally"]["deposit"]
    if deposit["spam"] and not submit.FORCE:
        raise submit.NotSent(
            f"not sent: cancelling referendum #{ref_id} now burns its deposit of {info.format_amount(ref['deposit'])}: "
            f"its backing ({_percent(deposit['backedSharePpm'])} aye, counting houses at or above their turnout "
            f"floor) is below the spam threshold of {_percent(deposit['spamThresholdBps'] * 100)} "
            "(nothing was charged; `btt-chain --force referendum cancel ...` cancels anyway)"
        )
    sub = submit_call(client, info, signer, "governance.cancel", (ref_id,))
    if not as_json:
        fate = "burned" if deposit["spam"] else "back"
        click.echo(f"cancelled referendum #{ref_id}; the deposit of {info.format_amount(ref['deposit'])} is {fate}")
    echo_submitted(sub, as_json, info.decimals, info.symbol)


@click.group()
def referendum() -> None:
    """Referenda: show, list, cancel (propose and vote: `btt-chain propose`, `btt-chain vote`)."""


@referendum.command("cancel")
@_ref_id
@_from
@_json
@_rpc
def referendum_cancel(ref_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """The proposer withdraws REF_ID before voting closes; the deposit comes back."""
    _cancel(ref_id, sender, as_json, rpc)


# queries ----------------------------------------------------------------------------------------------


def _call_text(call: dict[str, Any], info: ChainInfo) -> str:
    """treasury.spend(source=ecosystem_fund, dest=5F..., amount=1000 BTT): amounts in BTT by the call's types."""
    if call["name"] is None:
        return f"undecodable call ({call['module']}, {call['function']}) {json.dumps(call['args'])}"
    kinds = dict(info.calls.get_spec(call["name"]).args) if call["name"] in info.calls else {}

    def show(name: str, value: Any) -> str:
        if kinds.get(name) == "u128":
            return info.format_amount(value)
        return value if isinstance(value, str) else json.dumps(value)

    return f"{call['name']}({', '.join(f'{k}={show(k, v)}' for k, v in call['args'].items())})"


def _list(status: str | None, as_json: bool, rpc: str) -> None:
    client = RpcClient(rpc)
    rows = client.call("btt_referenda", status)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no referenda")
        return
    info = ChainInfo.fetch(client)
    for r in rows:
        if r["status"] == "voting":
            live = client.call("btt_referendum", r["id"])
            tally = live["liveTally"] if live else None
            where = f"ends {utc(r['votingEndsMs'])}"
            share = f"aye {_percent(tally['ayeSharePpm'])} now, would be {tally['verdict']}" if tally else ""
        else:
            where = f"enact at {utc(r['enactAtMs'])}" if r["status"] == "passed" and r["enactAtMs"] else ""
            share = f"aye {_percent(r['ayeSharePpm'])}" if r["ayeSharePpm"] is not None else ""
        details = "; ".join(x for x in (share, where) if x)
        click.echo(f"#{r['id']:<4} {r['status']:<9} {r['track']:<9} {_call_text(r['call'], info)}  "
                   f"by {r['proposer']}, deposit {info.format_amount(r['deposit'])}" + (f"; {details}" if details
                                                                                         else ""))


def _show(ref_id: int, as_json: bool, rpc: str) -> None:
    client = RpcClient(rpc)
    ref = _fetch(client, ref_id)
    if as_json:
        print_json(ref)
        return
    info = ChainInfo.fetch(client)
    frozen = ref.get("tallyAtClose")
    t = frozen or ref.get("liveTally")
    rows: list[tuple[str, Any]] = [
        ("referendum", f"#{ref['id']} ({ref['status']}, {ref['track']} track)"),
        ("proposer", ref["proposer"]),
        ("call", _call_text(ref["call"], info)),
        ("description hash", ref["descriptionHash"]),
        ("deposit", info.format_amount(ref["deposit"])),
        ("submitted", utc(ref["submittedMs"])),
        ("voting ends", utc(ref["votingEndsMs"])),
    ]
    if ref["enactAtMs"]:
        rows.append(("enact at", utc(ref["enactAtMs"])))
    if ref["ayeSharePpm"] is not None:
        rows.append(("final aye share", _percent(ref["ayeSharePpm"])))
    if ref.get("reason"):
        rows.append((f"why {ref['status']}", ref["reason"]))
    if ref["error"]:
        rows.append(("enactment error", ref["error"]))
    if frozen:
        rows.append(("tally", f"frozen at the close: the figures stored in block #{frozen['block']} "
                              f"({utc(frozen['closedMs'])}), not recounted since"))
    elif t is None:
        rows.append(("tally", "none stored (voting closed before tallies were frozen)"))
    print_fields(rows)
    if t is None:
        return
    click.echo("")
    q, th, hf = t["quorum"], t["threshold"], t["housesInFavour"]
    recorded = hf.get("otherAyeRecorded", False)  # a node before the weight rule sends none: not recorded
    table = [("house", "aye", "nay", "aye voters", "weight (this year)", "aye share", "turnout",
              _beyond_header(_leaves_out(hf)), "in favour")]
    for house, h in t["houses"].items():
        weight = f"{_percent(h['weightPpm'])} ({_percent(_ppm(h['weightThisYear']))})"
        table.append((house, _weight(house, h["aye"], info), _weight(house, h["nay"], info), str(h["ayeVoters"]),
                      weight, _percent(h["ayeSharePpm"]) if not h["empty"] else "no votes",
                      _percent(h["turnoutPpm"]),
                      _percent(h["otherAyeSharePpm"]) if recorded else "not recorded",
                      _in_favour(h, hf)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                             for i, cell in enumerate(row)).rstrip())
    click.echo("")
    needs = "more than" if th["rule"] == "above" else "at least"
    voters = hf["minAyeVoters"]
    if frozen:
        verdict_row = ("verdict at close", t["verdictReason"] or t["verdict"])
    else:
        verdict_row = ("if voting closed now", t["verdictReason"] or t["verdict"])
    print_fields([
        ("combined aye share", f"{_percent(t['ayeSharePpm'])} (needs {needs} {_percent(th['thresholdBps'] * 100)} "
                               f"on the {th['track']} track)"),
        ("houses in favour", f"{hf['count']} of {hf['needed']} needed (aye above nay, turnout at least "
                             f"{_percent(hf['turnoutFloorBps'] * 100)} of the house, at least {voters} aye "
                             f"voter{'' if voters == 1 else 's'}{_weight_rule(hf, bool(frozen))}): "
                             f"{'met' if hf['met'] else 'not met'}"),
        ("turnout", f"{info.format_amount(q['turnout'])} of {info.format_amount(q['circulating'])} circulating; "
                    f"quorum {_percent(q['quorumBps'] * 100)} = {info.format_amount(q['required'])}: "
                    f"{'met' if q['met'] else 'not met'}"),
        verdict_row,
    ])


def _in_favour(house: dict[str, Any], rule: dict[str, Any]) -> str:
    """Whether a house counts toward the houses-in-favour rule, and if not, why (the first rule it fails, in the
    order the rules read; `rule`: the tally's `housesInFavour`)."""
    if house["inFavour"]:
        return "yes"
    if house["empty"]:
        return "-"
    if int(house["aye"]) <= int(house["nay"]):
        return "no"
    if not house["meetsTurnoutFloor"]:
        return "below floor"
    if not house["enoughAyeVoters"]:
        return "too few aye voters"
    if house.get("enoughOtherAye") is False:
        return f"under {_percent(rule['minOtherAyeBps'] * 100)} {_beyond_short(_leaves_out(rule))}"
    return "no"


def _leaves_out(rule: dict[str, Any]) -> int:
    """How many of the largest aye voters the weight bar leaves out (`housesInFavour.otherAyeLeavesOut`)."""
    return int(rule.get("otherAyeLeavesOut", max(0, rule["minAyeVoters"] - 1)))


def _beyond_header(leaves_out: int) -> str:
    """The column of the aye weight `governance.house_min_other_aye_bps` measures, as a share of the house."""
    if leaves_out <= 0:
        return "aye of house"
    return "aye beyond largest" if leaves_out == 1 else f"aye beyond {leaves_out} largest"


def _beyond_short(leaves_out: int) -> str:
    if leaves_out <= 0:
        return "voting aye"
    return "aye beyond the largest" if leaves_out == 1 else f"aye beyond the {leaves_out} largest"


def _weight_rule(rule: dict[str, Any], frozen: bool) -> str:
    """The houses rule's weight bar in words (`housesInFavour`), or that the chain has no figure of it: a referendum
    closed before the chain stored one (`frozen`), or a live tally under a spec without the bar."""
    leaves_out = _leaves_out(rule)
    whose = ("voting aye" if leaves_out <= 0 else "voting aye beyond the largest aye voter" if leaves_out == 1
             else f"voting aye beyond the {leaves_out} largest aye voters")
    if not rule.get("otherAyeRecorded", False):
        why = "voting closed before the chain stored it" if frozen else "the spec the chain runs has no weight bar"
        return f"; the weight {whose}: not recorded, {why}"
    return f" and at least {_percent(rule['minOtherAyeBps'] * 100)} of the house {whose}"


def _ppm(share: str) -> int:
    """A decimal fraction string ('0.214285714285714285') as parts per million, rounded down."""
    whole, _, frac = share.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


_status = click.option("--status", type=click.Choice(STATUSES), default=None, help="Only referenda in this state.")


@referendum.command("list")
@_status
@_json
@_rpc
def referendum_list(status: str | None, as_json: bool, rpc: str) -> None:
    """Referenda, newest first (same as `btt-chain query referenda`)."""
    _list(status, as_json, rpc)


@referendum.command("show")
@_ref_id
@_json
@_rpc
def referendum_show(ref_id: int, as_json: bool, rpc: str) -> None:
    """One referendum with its tally per house: live while voting, the figures stored at the close once voting has
    closed (same as `btt-chain query referendum`)."""
    _show(ref_id, as_json, rpc)


@click.command("referenda")
@_status
@_json
@_rpc
def query_referenda(status: str | None, as_json: bool, rpc: str) -> None:
    """Referenda, newest first: call, deposit, track, status, aye share; with --json the per-house tally."""
    _list(status, as_json, rpc)


@click.command("referendum")
@_ref_id
@_json
@_rpc
def query_referendum(ref_id: int, as_json: bool, rpc: str) -> None:
    """One referendum with its tally: per house the aye and nay weight, the aye voters, the house's weight this year
    and its aye share; the combined aye share, the turnout against the quorum, and the verdict if voting closed
    now (while voting) or the figures the chain stored when voting closed (after)."""
    _show(ref_id, as_json, rpc)


@click.command("voter")
@click.argument("who")
@_json
@_rpc
def query_voter(who: str, as_json: bool, rpc: str) -> None:
    """What an ADDRESS, 0x account id, key file or dev name weighs in each house, and its vote lock."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    account_id = resolve_account(who, info.chain_type, info.ss58_prefix)
    v = client.call("btt_voter", "0x" + account_id.hex())
    if as_json:
        print_json(v)
        return
    rows: list[tuple[str, Any]] = [("address", v["address"])]
    rows += [(house, _weight(house, w, info)) for house, w in v["weights"].items()]
    rows.append(("turnout", info.format_amount(v["turnout"])))
    lock = v["lock"]
    rows.append(("vote lock", "none" if lock is None or not int(lock["locked"]) else
                 f"{info.format_amount(lock['locked'])} until {utc(lock['untilMs'])}"))
    for r in v["votes"]:
        rows.append((f"referendum #{r['referendum']}", r["vote"]))
    print_fields(rows)
