"""The miner's results on disk: one JSON file per job (`job-<id>.json`), written atomically and fsynced.

A file holds the salt, the inputs and the outputs (hex); the Merkle levels and roots are rebuilt on load. For a private
job the inputs are its items as sealed to this provider (the opened cases are never written), the outputs are sealed to
the clinic, and beside them the plain outputs and their sealing secrets (the reveal opens the decoys' with them).
A file that cannot be read is set aside as `*.bad` with a warning, never silently trusted. Files are mode 0600 from
their creation in 0700 directories (a private job's plain outputs are the clinic's results; a looser directory is
tightened when the store opens it).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from btt_chain.consensus.durable import private_dir, write_json_durably

if TYPE_CHECKING:
    from btt_chain.miner.engine import PreparedResult

log = logging.getLogger("btt.miner")

FORMAT_VERSION = 1
DEFAULT_BASE = Path.home() / ".btt-chain" / "miner"
"""Where `btt-chain miner` keeps results unless given --data-dir."""


def result_dir(base: Path | None, genesis_hash: bytes, address: str) -> Path:
    """The directory of one provider's results on one chain under `base` (default `DEFAULT_BASE`)."""
    return (base or DEFAULT_BASE) / genesis_hash.hex()[:16] / address


class ResultStore:
    """Results of one provider on one chain (the caller picks a directory per genesis and account)."""

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(Path(directory))

    def path(self, job_id: int) -> Path:
        return self.directory / f"job-{job_id}.json"

    def save(self, result: PreparedResult) -> None:
        doc = {
            "version": FORMAT_VERSION,
            "jobId": result.job_id,
            "salt": result.salt.hex(),
            "faked": list(result.faked),
            "inputs": [x.hex() for x in result.inputs],
            "outputs": [x.hex() for x in result.outputs],
            "plain": [x.hex() for x in result.plain],
            "secrets": [x.hex() for x in result.secrets],
            "flagged": list(result.flagged),
            # for a reader's eye only: recomputed on load
            "inputRoot": "0x" + result.input_root.hex(),
            "outputRoot": "0x" + result.output_root.hex(),
        }
        write_json_durably(self.path(result.job_id), doc, private=True)

    def load(self, job_id: int) -> PreparedResult | None:
        """The result kept for `job_id`, or None (none kept, or unreadable)."""
        try:
            return _decode(json.loads(self.path(job_id).read_text()))
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def remove(self, job_id: int) -> None:
        self.path(job_id).unlink(missing_ok=True)

    def load_all(self) -> list[PreparedResult]:
        out = []
        for path in sorted(self.directory.glob("job-*.json")):
            try:
                out.append(_decode(json.loads(path.read_text())))
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                log.warning("miner: setting aside unreadable result file %s: %s", path, exc)
                path.rename(path.with_suffix(".bad"))
        return out


def _decode(doc: dict[str, Any]) -> PreparedResult:
    from btt_chain.miner.engine import PreparedResult

    if doc.get("version") != FORMAT_VERSION:
        raise ValueError(f"unknown format version {doc.get('version')!r}")
    result = PreparedResult(
        job_id=int(doc["jobId"]),
        salt=bytes.fromhex(doc["salt"]),
        inputs=tuple(bytes.fromhex(x) for x in doc["inputs"]),
        outputs=tuple(bytes.fromhex(x) for x in doc["outputs"]),
        faked=tuple(int(i) for i in doc.get("faked", ())),
        plain=tuple(bytes.fromhex(x) for x in doc.get("plain", ())),
        secrets=tuple(bytes.fromhex(x) for x in doc.get("secrets", ())),
        flagged=tuple(int(i) for i in doc.get("flagged", ())),
    )
    if "outputRoot" in doc and doc["outputRoot"] != "0x" + result.output_root.hex():
        raise ValueError("the stored outputs do not give the stored output root")
    return result
