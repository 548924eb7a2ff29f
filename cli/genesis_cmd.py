"""`btt-chain genesis validate|inspect|build`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.keys import is_dev_name
from cli.build_spec_cmd import (
    load_spec,
    parse_genesis_time,
    progress_printer,
    spec_problems,
    validator_key,
    write_spec,
)
from cli.output import print_json
from cli.schedule_cmd import schedule
from genesis.build import build_genesis
from genesis.build_spec import SpecChanges
from genesis.commitments import check_dev_commitments, check_key
from genesis.loader import format_percent
from genesis.spec import ChainSpec


@click.group()
def genesis() -> None:
    """Validate, inspect and build chain specs (genesis files)."""


genesis.add_command(schedule)


def _genesis_hash(spec: ChainSpec) -> str | None:
    """The genesis hash, or None while the spec has no start time (set when a node first starts)."""
    if spec.genesis_time_ms == 0:
        return None
    return "0x" + build_genesis(spec).hash.hex()


@genesis.command()
@click.argument("spec")
@click.option("--key", "keys", multiple=True, metavar="KEYFILE|NAME",
              help="A validator's session key (key file, or a dev name on dev and local chains): check that its hash "
                   "chain at the spec's consensus.hash_chain_length ends in the commitment the spec registers "
                   "(repeatable).")
def validate(spec: str, keys: tuple[str, ...]) -> None:
    """Check a preset or chain-spec FILE; print every problem, one per line. Commitments written out for dev keys
    are checked, and with --key a validator's own: a commitment computed at another hash-chain length would leave
    that validator unable to author."""
    s = load_spec(spec)
    problems = check_dev_commitments(s)
    for key in keys:
        pair = validator_key(key, s.chain_type)
        label = key.lower() if is_dev_name(key.lower()) else key
        problems += check_key(s, pair, label, progress_printer(label, s.consensus.hash_chain_length))
    if problems:
        raise spec_problems(spec, problems)
    h = _genesis_hash(s)
    checked = f"; {len(keys)} validator key{'s' if len(keys) != 1 else ''} checked" if keys else ""
    click.echo(f"ok: {spec} is a valid chain spec ({s.name}, {s.id}); genesis hash {h or 'set at first start'}"
               f"{checked}")


def _describe(spec: ChainSpec) -> dict[str, Any]:
    dec = spec.token.decimals
    return {
        "id": spec.id,
        "name": spec.name,
        "chain_type": spec.chain_type,
        "token": {"symbol": spec.token.symbol, "decimals": dec},
        "total_supply": str(spec.token.total_supply),
        "total_supply_btt": format_btt(spec.token.total_supply, dec),
        "genesis_time_ms": spec.genesis_time_ms,
        "genesis_hash": _genesis_hash(spec),
        "checkpoint": None if spec.checkpoint is None else str(spec.checkpoint),
        "consensus": {
            "slot_ms": spec.consensus.slot_ms,
            "epoch_slots": spec.consensus.epoch_slots,
            "max_drift_ms": spec.consensus.max_drift_ms,
            "hash_chain_length": spec.consensus.hash_chain_length,
        },
        "governance": {
            "institution_rows": list(spec.governance.institution_rows),
            "institutions": [
                {"account": encode_address(h.account, spec.ss58_prefix), "label": h.label, "weight": str(h.amount)}
                for h in spec.governance.institutions
            ],
            "institution_share_percent": list(spec.governance.institution_share_percent),
            "representatives": [encode_address(r, spec.ss58_prefix) for r in spec.governance.representatives],
        },
        "compute": {
            "models": [m.name for m in spec.compute.models],
            "mining_periods": [
                {"years": p.years, "amount": str(p.amount), "amount_btt": format_btt(p.amount, dec)}
                for p in spec.compute.mining_periods
            ],
        },
        "allocations": [
            {
                "index": row.index,
                "category": row.category,
                "percent": format_percent(row.percent_ppm),
                "amount": str(row.amount),
                "amount_btt": format_btt(row.amount, dec),
                "release": {
                    "kind": row.release.kind,
                    "cliff_months": row.release.cliff_months,
                    "duration_months": row.release.duration_months,
                },
                "holders": [
                    {"account": encode_address(h.account, spec.ss58_prefix), "label": h.label, "amount": str(h.amount)}
                    for h in row.holders
                ],
            }
            for row in spec.allocations
        ],
        "validators": [
            {
                "account": encode_address(v.account, spec.ss58_prefix),
                "bond": str(v.bond),
                "hash_chain_commitment": "0x" + v.hash_chain_commitment.hex(),
            }
            for v in spec.validators
        ],
        "milestone_burns": [
            {"name": b.name, "amount": str(b.amount), "at_genesis": b.at_genesis} for b in spec.milestone_burns
        ],
    }


@genesis.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units and BTT).")
def inspect(spec: str, as_json: bool) -> None:
    """Show the allocation table, total supply and genesis hash of a preset or FILE."""
    s = load_spec(spec)
    info = _describe(s)
    if as_json:
        print_json(info)
        return
    sym = s.token.symbol
    click.echo(f"{s.name} ({s.id}, {s.chain_type})")
    click.echo(f"total supply  {info['total_supply_btt']} {sym}")
    click.echo(f"genesis hash  {info['genesis_hash'] or 'set at first start (genesis_time_ms is 0)'}")
    if info["checkpoint"] is not None:
        click.echo(f"checkpoint    {info['checkpoint']} (trusted block: chains without it are refused)")
    click.echo("")
    click.echo(f"{'#':>2}  {'category':<52} {'%':>6} {sym + ' amount':>16}  release")
    for row in info["allocations"]:
        rel = row["release"]
        rule = rel["kind"]
        if rel["kind"] in ("linear", "milestones"):
            rule += f" (locked {rel['cliff_months']} months, then over {rel['duration_months']})"
        click.echo(f"{row['index']:>2}  {row['category'][:52]:<52} {row['percent']:>6} {row['amount_btt']:>16}  {rule}")
    click.echo("")
    periods = ", ".join(f"{p['amount_btt']} {sym} over {p['years']} years" for p in info["compute"]["mining_periods"])
    click.echo(f"mining emission  {periods}")
    click.echo(f"compute models   {', '.join(info['compute']['models'])}")
    gov = info["governance"]
    click.echo(f"institutions     rows {', '.join(map(str, gov['institution_rows']))} "
               f"({len(gov['institutions'])} holders), share by year "
               f"{' / '.join(f'{p}%' for p in gov['institution_share_percent'])}")
    click.echo(f"representatives  {', '.join(gov['representatives']) or 'none'}")


@genesis.command()
@click.argument("spec")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the chain spec with its genesis time fixed.")
@click.option("--genesis-time", default="now", show_default=True,
              help="Start time in unix milliseconds, or 'now' (rounded to the second).")
def build(spec: str, output: Path, genesis_time: str) -> None:
    """Fix the genesis time of a preset or FILE and write a shareable chain spec; print its genesis hash
    (`btt-chain build-spec` with only --genesis-time)."""
    start = parse_genesis_time(genesis_time)
    write_spec(spec, lambda _: SpecChanges(genesis_time_ms=start), output)
