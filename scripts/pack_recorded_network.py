"""Pack a testnet run an older release recorded (`btt-chain testnet run M --keep --base-dir DIR`, on that release's
checkout) into the tarball a manifest's `[upgrade] database` names: every node's `node-key` and `chains/` (not its
log), the chain spec, and `recorded.json` (the head's number and timestamp, read here through this release's storage
code: it must open the old database).

    .venv/bin/python scripts/pack_recorded_network.py DIR testnets/spec11-network.tar.xz
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from cli.blocks_cmd import open_chain


def main(run_dir: Path, out: Path) -> None:
    spec = run_dir / "chain-spec.json"
    nodes = sorted(p for p in run_dir.iterdir() if (p / "chains").is_dir())
    heads = {}
    with tempfile.TemporaryDirectory() as scratch:  # opening a database writes to it: read a copy, pack the original
        for node in nodes:
            copy = Path(scratch) / node.name
            shutil.copytree(node / "chains", copy / "chains")
            with open_chain(str(spec), copy) as chain:
                heads[node.name] = (chain.head.number, chain.head.timestamp_ms)
    number, timestamp_ms = max(heads.values())
    recorded = json.dumps({"head": number, "head_timestamp_ms": timestamp_ms, "nodes": sorted(heads)}, indent=1)

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if info.name.endswith(("/node.log", "/LOCK", "/LOG", "/LOG.old")):  # not LevelDB's NNNNNN.log: its data
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(out, "w:xz", preset=9) as tar:  # xz: its window finds the bytes the nodes hold alike
        tar.add(spec, "chain-spec.json", filter=clean)
        for node in nodes:
            for part in ("node-key", "chains"):
                tar.add(node / part, f"{node.name}/{part}", filter=clean)
        data = recorded.encode()
        info = tarfile.TarInfo("recorded.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    print(f"{out}: {len(nodes)} nodes, head #{number} at {timestamp_ms} ms ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
