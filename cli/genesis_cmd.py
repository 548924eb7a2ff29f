"""`btt-chain genesis validate|inspect|build`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.errors import ConfigError, GenesisError
from cli.output import print_json
from cli.schedule_cmd import schedule
from genesis.build import build_genesis
from genesis.loader import canonical_json, format_percent, load_chain_spec, materialise, parse_chain_spec
from genesis.spec import ChainSpec


@click.group()
def genesis() -> None:
    """Validate, inspect and build chain specs (genesis files)."""


genesis.add_command(schedule)


def _load(source: str) -> ChainSpec:
    try:
        return load_chain_spec(source)
    except GenesisError as exc:
        problems = str(exc).splitlines()
        if len(problems) == 1 and not getattr(exc, "problems", ()):
            raise
        raise GenesisError(
            f"{source} is not a valid chain spec ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n"
            + "\n".join(problems)
        ) from None


def _genesis_hash(spec: ChainSpec) -> str | None:
    """The genesis hash, or None while the spec has no start time (set when a node first starts)."""
    if spec.genesis_time_ms == 0:
        return None
    return "0x" + build_genesis(spec).hash.hex()


@genesis.command()
@click.argument("spec")
def validate(spec: str) -> None:
    """Check a preset or chain-spec FILE; print every problem, one per line."""
    s = _load(spec)
    h = _genesis_hash(s)
    click.echo(f"ok: {spec} is a valid chain spec ({s.name}, {s.id}); genesis hash {h or 'set at first start'}")


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
    s = _load(spec)
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
    """Fix the genesis time of a preset or FILE and write a shareable chain spec; print its genesis hash."""
    s = _load(spec)
    if genesis_time == "now":
        start = (time.time_ns() // 1_000_000_000) * 1000
    elif genesis_time.isascii() and genesis_time.isdigit():
        start = int(genesis_time)
    else:
        raise ConfigError(f"--genesis-time must be unix milliseconds or 'now', not {genesis_time!r}")
    doc = materialise(s.raw, start)
    built = build_genesis(parse_chain_spec(doc, str(output)))
    try:
        output.write_bytes(canonical_json(doc) + b"\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output}: genesis hash 0x{built.hash.hex()}")
