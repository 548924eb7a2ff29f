"""`btt-chain testnet run MANIFEST`: a testnet in network namespaces with perturbations, then checks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from btt_chain.primitives.errors import ConfigError


@click.group()
def testnet() -> None:
    """Run a testnet manifest: nodes in their own network namespaces, perturbations, checks (needs root)."""


@testnet.command("run")
@click.argument("manifest")
@click.option("--base-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep node data and logs here (default: a temporary directory, kept only if a check fails).")
@click.option("--keep", is_flag=True, help="Keep the data directory even when every check passes.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures and check results to this JSON file.")
@click.option("--quiet", is_flag=True, help="Print only the final report.")
def run(manifest: str, base_dir: Path | None, keep: bool, json_out: Path | None, quiet: bool) -> None:
    """Run MANIFEST (a TOML file, or the name of one in testnets/: ci, partition, fork-race, clock, large). The exit
    status is 0 only if every check passed."""
    from btt_chain.testnet.manifest import load_manifest
    from btt_chain.testnet.netns import unavailable_reason
    from btt_chain.testnet.runner import RunInterrupted, TestnetRun

    parsed = load_manifest(manifest)
    reason = unavailable_reason()
    if reason is not None:
        raise ConfigError(f"cannot run a testnet here: {reason}")
    runner = TestnetRun(parsed, base_dir, keep, echo=lambda line: click.echo(line, err=True), quiet_progress=quiet)
    try:
        result = runner.run()
    except RunInterrupted as exc:
        raise ConfigError(f"testnet run interrupted ({exc}); nodes and namespaces removed") from None
    click.echo(result.report)
    if result.base_dir is not None:
        click.echo(f"data and node logs kept in {result.base_dir}")
    if json_out is not None:
        doc = {"manifest": parsed.name, "passed": result.passed, "figures": result.figures,
               "checks": [{"name": c.name, "passed": c.passed, "lines": list(c.lines)} for c in result.checks]}
        json_out.write_text(json.dumps(doc, indent=2) + "\n")
    if not result.passed:
        raise SystemExit(1)


@testnet.command("clean")
def clean() -> None:
    """Remove namespaces and links left by testnet runs that no longer run."""
    from btt_chain.testnet.netns import remove_stale, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        raise ConfigError(reason)
    removed = remove_stale()
    click.echo(f"removed {', '.join(removed)}" if removed else "nothing to remove")
