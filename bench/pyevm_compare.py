"""btt-chain against py-evm on the same workload, interleaved (A B A B A B): `btt-chain bench pyevm`.

The workload of `scripts/pyevm_transfers.py` (the peer benchmark, kept verbatim): 10,000 funded accounts, 5 blocks
of 1,000 signed value transfers each, imported into a fresh chain from the same genesis on LevelDB. py-evm runs
in a virtualenv of its own (`scripts/pyevm-venv` makes `.venv-pyevm` with py-evm, coincurve and plyvel; never the
project's dependencies); btt-chain runs `bench/import_bench.py` with the same figures. Each pair runs one after
the other, so both see the same machine; the medians and their ratio are printed.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.import_bench import run as btt_import

ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = ROOT / "scripts" / "pyevm_transfers.py"
DEFAULT_PYTHON = ROOT / ".venv-pyevm" / "bin" / "python"
_IMPORT_LINE = re.compile(r"pyevm import: (\d+) tx/s")


class PeerUnavailable(Exception):
    """py-evm's virtualenv is missing or broken; the message says how to make it."""


@dataclass(frozen=True)
class Pair:
    pyevm_tx_per_s: int
    btt_tx_per_s: int


def peer_python() -> Path:
    python = Path(os.environ.get("BTT_PYEVM_PYTHON", DEFAULT_PYTHON))
    if not python.exists():
        raise PeerUnavailable(
            f"no py-evm virtualenv at {python}: run scripts/pyevm-venv to make it (or set BTT_PYEVM_PYTHON to a "
            "python with py-evm, coincurve and plyvel)"
        )
    probe = subprocess.run([str(python), "-c", "import eth, coincurve, plyvel"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise PeerUnavailable(f"{python} cannot import py-evm, coincurve and plyvel "
                              f"({probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else 'failed'}): "
                              "run scripts/pyevm-venv to make its virtualenv")
    return python


def pyevm_import_rate(python: Path, accounts: int, per_block: int, blocks: int) -> int:
    proc = subprocess.run(
        [str(python), str(PEER_SCRIPT), "--accounts", str(accounts), "--txs-per-block", str(per_block),
         "--blocks", str(blocks), "--runs", "1", "--db", "leveldb"],
        capture_output=True, text=True, check=False,
    )
    found = _IMPORT_LINE.search(proc.stdout)
    if proc.returncode != 0 or found is None:
        said = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        raise PeerUnavailable(f"the py-evm run ({python} {PEER_SCRIPT.name}) failed with exit code {proc.returncode}: "
                              f"{said[-1].strip()[-300:] if said else 'no output'}")
    return int(found.group(1))


def run(pairs: int = 3, accounts: int = 10_000, per_block: int = 1_000, blocks: int = 5) -> dict[str, object]:
    python = peer_python()
    results = []
    for _ in range(pairs):
        peer = pyevm_import_rate(python, accounts, per_block, blocks)
        ours = int(btt_import(accounts, per_block, 1, blocks)["import_tx_per_s"])  # type: ignore[call-overload]
        results.append(Pair(peer, ours))
    peer_median = statistics.median(p.pyevm_tx_per_s for p in results)
    ours_median = statistics.median(p.btt_tx_per_s for p in results)
    return {
        "workload": f"{accounts} accounts, {blocks} blocks of {per_block} transfers, LevelDB, import",
        "pairs (py-evm, btt-chain tx/s)": ", ".join(f"({p.pyevm_tx_per_s}, {p.btt_tx_per_s})" for p in results),
        "pyevm_import_tx_per_s": round(peer_median),
        "btt_import_tx_per_s": round(ours_median),
        "ratio": round(ours_median / peer_median, 1),
        "ratio_per_pair": ", ".join(f"{p.btt_tx_per_s / p.pyevm_tx_per_s:.1f}" for p in results),
    }
