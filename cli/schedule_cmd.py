"""`btt-chain genesis schedule`: projected release by year against the seed's published table."""

from __future__ import annotations

import click

from btt_chain.primitives.amounts import format_btt
from cli.output import print_json
from genesis.loader import load_chain_spec
from genesis.release import PROJECTION_NOTE, format_bps, project_release


@click.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
def schedule(spec: str, as_json: bool) -> None:
    """Projected cumulative release per year of a preset or chain-spec FILE, with the published table."""
    s = load_chain_spec(spec)
    years = project_release(s)
    if as_json:
        print_json(
            {
                "id": s.id,
                "year_seconds": s.time.year_seconds,
                "month_seconds": s.time.month_seconds,
                "note": PROJECTION_NOTE,
                "years": [
                    {
                        "year": y.year,
                        "label": y.label,
                        "published_label": y.published_label,
                        "until_seconds": y.until_s,
                        "projected": str(y.projected),
                        "projected_percent": format_bps(y.projected_bps),
                        "published_percent": y.published_percent,
                        "gap_percent": format_bps(y.projected_bps - 100 * y.published_percent),
                    }
                    for y in years
                ],
            }
        )
        return
    dec, symbol = s.token.decimals, s.token.symbol
    header = ("year", "label", f"projected {symbol}", "projected %", "seed's column", "published %", "gap (points)")
    rows = [
        (
            str(y.year),
            y.label,
            format_btt(y.projected, dec),
            format_bps(y.projected_bps),
            y.published_label,
            str(y.published_percent),
            format_bps(y.projected_bps - 100 * y.published_percent),
        )
        for y in years
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    click.echo(f"{s.name} ({s.id}): cumulative release at the end of each year after genesis")
    click.echo("years count from launch: the seed's 2025 column is the first year after genesis")
    for r in (header, *rows):
        cells = (c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        click.echo("  ".join(cells))
    click.echo(PROJECTION_NOTE)
