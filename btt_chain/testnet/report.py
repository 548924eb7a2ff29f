"""The end-of-run report: each check with PASS or FAIL and its lines, then the figures (finality lag, transfers,
each partition's heal and how long finality took to pass it, peers, CPU and memory per node) and the perturbations
as they were applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from btt_chain.testnet.checks import Check
from btt_chain.testnet.manifest import Manifest
from btt_chain.testnet.perturbations import Window


def format_report(manifest: Manifest, results: Sequence[Check], figures: dict[str, Any], windows: Sequence[Window],
                  events: Sequence[str]) -> str:
    lines = [f"== testnet {manifest.name}: {len(manifest.nodes)} nodes ({len(manifest.validators)} validators), "
             f"{len(windows)} perturbations, {figures['run_s']:g} s run, {figures['wall_s']:g} s wall =="]
    for check in results:
        lines.append(f"[{'PASS' if check.passed else 'FAIL'}] {check.name}")
        lines += [f"       {line}" for line in check.lines]
    lag = figures.get("lag")
    if lag is not None:
        lines.append(f"finality lag (best head - node's finalized): p50 {lag['p50_blocks']:g} blocks "
                     f"({lag['p50_s']:g} s), max {lag['max_blocks']:g} blocks ({lag['max_s']:g} s)")
        if lag["p50_during_blocks"] is not None:
            lines.append(f"  during perturbations (nodes not taken out): p50 {lag['p50_during_blocks']:g}, "
                         f"max {lag['max_during_blocks']:g} blocks")
    tx = figures["transfers"]
    lines.append(f"transfers: {tx['sent']} sent, {tx['accepted']} accepted, {tx['included']} included, "
                 f"{tx['reported']} reported dropped, {tx['rejected']} refused, "
                 f"{tx.get('unacknowledged', 0)} unanswered")
    for part in figures.get("partitions", []):
        aligned = (f", aligned to epoch {part['epoch']} ({part['lead_ms']} ms before slot {part['boundary_slot']})"
                   if part["epoch"] is not None else "")
        resumed = ("finality not past it on every node" if part["resume_s"] is None else
                   f"every node finalized past it {part['resume_s']:g} s ({part['resume_epochs']:g} epochs) after")
        lines.append(f"{part['label']}: {part['start_s']:.1f}-{part['heal_s']:.1f} s{aligned}"
                     f"{', stalls finality' if part['stalls'] else ''}; heads up to #{part['heal_height']} at the "
                     f"heal, {resumed}")
    lines.append(f"{'node':<10}{'validator':<10}{'address':<15}{'peers':>6}{'med':>5}{'cpu s':>8}{'cpu %':>7}"
                 f"{'rss MB':>8}")
    for row in figures["nodes"]:
        lines.append(f"{row['node']:<10}{row['validator'] or '-':<10}{row['address']:<15}"
                     f"{row['peers_final'] if row['peers_final'] is not None else '-':>6}"
                     f"{row['peers_median'] if row['peers_median'] is not None else '-':>5}"
                     f"{row['cpu_s']:>8g}{row['cpu_pct']:>7g}{row['rss_max_mb']:>8g}")
    if events:
        lines.append("perturbations applied:")
        lines += [f"  {e}" for e in events]
    passed = all(c.passed for c in results)
    lines.append(f"== {'PASSED' if passed else 'FAILED'} ==")
    return "\n".join(lines)
