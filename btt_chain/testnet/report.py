"""The end-of-run report: each check with PASS or FAIL and its lines, then the figures (finality lag, transfers,
each partition's heal and how long finality took to pass it, each node that joined mid-run and what its sync did,
peers, CPU and memory per node) and the perturbations as they were applied."""

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
    lines += [join_line(row) for row in figures.get("joins", [])]
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


def join_line(row: dict[str, Any]) -> str:
    """What a node that joined mid-run did: when it joined and answered, its warp (proof, state, time), its restarts,
    where it ended."""
    head = f"{row['node']} joined at {row['join_at_s']:g} s ({row['sync']} sync)"
    if row["up_s"] is None:
        return head + ": never answered RPC"
    head += f", answered RPC at {row['up_s']:g} s"
    if row["synced_s"] is not None:
        took = row["synced_s"] - row["join_at_s"]
        head += f", with the best head at {row['synced_s']:g} s ({took:.1f} s after joining)"
    warp = row["warp"]
    if warp is not None:
        head += (f"; warp: proof of {warp['fragments']} fragments to #{warp['target']} at {warp['proof_s']} s, "
                 f"{warp['keys']:,} keys ({warp['state_mb']:g} MB of state, {warp['received_mb']:g} MB received) "
                 f"in {warp['took_s']:g} s; RPC below #{row['rpc_base']}: 'warp-synced at'")
    elif row["sync"] == "warp":
        head += f"; warp never finished ({row['warps_begun']} begun)"
    restarts = row["starts"][1:]
    if restarts:
        head += (f"; {len(restarts)} restart(s) at {', '.join(f'{t:g}' for t in restarts)} s, "
                 f"{len(row['resumed'])} resumed from its database, {max(0, row['warps_begun'] - 1)} warped again")
    head += f"; ended at #{row['last_head']}, finalized #{row['finalized']}"
    if row["state_compared_at"] is not None:
        head += f"; state at #{row['state_compared_at']} compared ({row['state_keys']:,} keys)"
    return head
