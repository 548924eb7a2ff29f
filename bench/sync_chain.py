"""The chain `btt-chain bench sync` syncs, built once and kept under the work dir.

A dev-preset chain spec (id `sync-bench`, alice its only validator, 1 s slots, 20-slot epochs) whose Liquidity row
also funds `accounts` generated accounts (`bench.import_bench.filler_account`, 0.01 BTT each, taken from alice's
holding so every row still adds up): a spec file any node process accepts, and whose genesis is the bench's state.
The generated accounts are not listed in the spec: its genesis state is in the file `spec.state` beside it
(`genesis.snapshot`), streamed out as the accounts are generated (`genesis.snapshot_build.snapshot_from_holders`), so
no process holds ten million accounts as Python objects; the genesis is the one the spec listing them would build
(`spec_doc`, the same genesis hash).
On it, `blocks` empty blocks authored in-process by alice in consecutive slots, each epoch's checkpoint justified by
her vote as it is entered (all the stake), so the chain is finalized up to its last epochs and every checkpoint
carries what warp proofs are made of. The genesis time is set so that the last block's slot is in the past when the
build ends.

Kept in `<workdir>/chain-<accounts>-<blocks>/`: `spec.json`, `db/` (the server's database as a node keeps it) and
`manifest.json` (written last: a directory without it, or with other parameters or format, is built again).

Run: python -m bench.sync_chain DIR ACCOUNTS BLOCKS   (prints the manifest as one JSON object)
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.import_bench import filler_account
from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.node.chain import Chain
from btt_chain.node.finality_service import FinalityService
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.block import Header
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Justification, sign_vote
from genesis.build import build_genesis
from genesis.loader import canonical_json, load_chain_spec, load_chain_spec_doc, materialise
from genesis.snapshot_build import StreamedHolder, snapshot_from_holders
from storage.leveldb import LevelDBStore

FORMAT = 2
"""Bumped when what is built changes: a cached chain of another format is built again."""
SPEC_ID = "sync-bench"
ACCOUNT_AMOUNT = "0.01"
"""BTT held by each generated account: the dev existential deposit, so that alice's 130,000 BTT fund ten million."""
VALIDATOR = "alice"
PAST_SLOTS = 60
"""The last block's slot ends this many slots before the build started (so it is in the past, whatever the build
takes)."""
MANIFEST = "manifest.json"
STATE_FILE = "spec.state"


def chain_dir(workdir: Path, accounts: int, blocks: int) -> Path:
    return workdir / f"chain-{accounts}-{blocks}"


def spec_doc(accounts: int, genesis_time_ms: int) -> dict[str, Any]:
    """The dev preset as `sync-bench`, its Liquidity row also funding (listing) `accounts` generated accounts (from
    alice's holding), with the genesis time set."""
    doc, row = _base_doc(accounts, genesis_time_ms)
    doc["allocations"][row]["holders"] += [_entry(i, doc["ss58_prefix"]) for i in range(accounts)]
    return doc


def _entry(i: int, prefix: int) -> dict[str, str]:
    return {"account": encode_address(filler_account(i), prefix), "amount": ACCOUNT_AMOUNT}


def snapshot_spec(accounts: int, genesis_time_ms: int, out: Path) -> dict[str, Any]:
    """The spec of `spec_doc` with the generated accounts in the state file `out` (beside the spec) instead."""
    doc, row = _base_doc(accounts, genesis_time_ms)
    decimals = doc["token"]["decimals"]
    doc["allocations"][row]["elided"] = {"holders": accounts, "amount": str(Decimal(ACCOUNT_AMOUNT) * accounts)}
    amount = parse_btt(ACCOUNT_AMOUNT, decimals)
    prefix = doc["ss58_prefix"]
    holders = (StreamedHolder(_entry(i, prefix), filler_account(i), amount) for i in range(accounts))
    return snapshot_from_holders(doc, row, holders, out, out.name)[0]


def _base_doc(accounts: int, genesis_time_ms: int) -> tuple[dict[str, Any], int]:
    """The spec without the generated accounts (alice's holding already less theirs), and its liquid row's position."""
    doc = copy.deepcopy(load_chain_spec_doc("dev"))
    doc["id"] = SPEC_ID
    doc["name"] = f"BTT sync benchmark ({accounts:,} generated accounts)"
    doc["description"] = "btt-chain bench sync: the dev preset with generated accounts in the Liquidity row."
    doc["validators"] = [v for v in doc["validators"] if v["account"] == VALIDATOR]
    row = next(r for r in doc["allocations"] if r["release"]["kind"] == "liquid")
    funder = next(h for h in row["holders"] if h["account"] == VALIDATOR)
    left = Decimal(funder["amount"]) - Decimal(ACCOUNT_AMOUNT) * accounts
    if left < 20_000:  # her bond (10,000 BTT) and fees
        raise ValueError(f"{accounts:,} accounts of {ACCOUNT_AMOUNT} BTT are more than {VALIDATOR}'s liquid holding "
                         f"({funder['amount']} BTT) can fund")
    funder["amount"] = str(left)
    return materialise(doc, genesis_time_ms), doc["allocations"].index(row)


def cached(workdir: Path, accounts: int, blocks: int) -> dict[str, Any] | None:
    """The manifest of a complete chain of these parameters under `workdir`, if there is one."""
    path = chain_dir(workdir, accounts, blocks) / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (manifest.get("format"), manifest.get("accounts"), manifest.get("blocks")) != (FORMAT, accounts, blocks):
        return None
    return manifest


class _Builder:
    """The slice of a node the finality service needs while the chain is authored in-process."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.spec = chain.genesis.spec
        self.finality: FinalityService | None = None

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def notify_finalized(self, header: Header, block_hash: bytes) -> None:
        pass

    def after_head_moved(self, result: object) -> None:
        pass

    def fetch_missing_weights(self, prefer: str | None = None) -> None:
        pass

    def next_account_index(self, who: bytes) -> int:
        return 0

    def submit_extrinsic(self, encoded: bytes) -> bytes:
        return b""


def build(workdir: Path, accounts: int, blocks: int, say: Any = print) -> dict[str, Any]:
    """Build the chain (replacing whatever is in its directory) and return its manifest."""
    out = chain_dir(workdir, accounts, blocks)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    began = time.perf_counter()
    genesis_time_ms = (time.time_ns() // 1_000_000 // 1000 - blocks - PAST_SLOTS) * 1000
    doc = snapshot_spec(accounts, genesis_time_ms, out / STATE_FILE)
    raw = canonical_json(doc)
    (out / "spec.json").write_bytes(raw)
    spec_s = time.perf_counter() - began
    t = time.perf_counter()
    spec = load_chain_spec(str(out / "spec.json"))
    del doc
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    genesis = build_genesis(spec)
    kv = LevelDBStore(out / "db")
    chain = Chain(kv, genesis)
    del genesis
    genesis_s = time.perf_counter() - t
    state_bytes = (out / STATE_FILE).stat().st_size
    say(f"genesis of {accounts:,} accounts: spec and state file written in {spec_s:.1f} s ({len(raw) / 1e3:.0f} kB, "
        f"{state_bytes / 1e6:.0f} MB), spec parsed in {parse_s:.1f} s, state file read into the database in "
        f"{genesis_s:.1f} s; authoring {blocks:,} blocks ...")
    node = _Builder(chain)
    finality = FinalityService(node, None, out / "votes.json")  # type: ignore[arg-type]
    node.finality = finality
    key = dev_keypair(VALIDATOR)
    epoch_slots = chain.clock.epoch_slots

    def header_at(n: int) -> Header | None:
        h = chain.db.canonical_hash(n)
        return None if h is None else chain.db.get_header(h)

    t = time.perf_counter()
    justifications = 0
    for i in range(blocks):
        epoch = chain.head.slot // epoch_slots
        chain.author_block(chain.head.slot + 1, key, [])
        entered = chain.head.slot // epoch_slots
        if entered > epoch:  # the head entered an epoch: alice votes for its checkpoint
            target = checkpoint_for_epoch(entered, header_at, chain.head.number, epoch_slots=epoch_slots)
            source = finality.tracker.state.latest_justified
            vote = sign_vote(key, chain.genesis_hash, source, target)
            if not finality.import_justification(Justification(target, source, (vote,)).encode()):
                raise RuntimeError(f"the justification of {target} was refused")
            justifications += 1
        if (i + 1) % 10_000 == 0:
            say(f"  {i + 1:,} blocks, {(i + 1) / (time.perf_counter() - t):.0f} blocks/s")
    blocks_s = time.perf_counter() - t
    head, head_hash = chain.head, chain.head_hash
    finalized = chain.finalized.number
    genesis_hash = chain.genesis_hash
    kv.close()
    manifest = {
        "format": FORMAT,
        "accounts": accounts,
        "blocks": blocks,
        "spec_id": SPEC_ID,
        "genesis_time_ms": genesis_time_ms,
        "genesis_hash": "0x" + genesis_hash.hex(),
        "head_number": head.number,
        "head_hash": "0x" + head_hash.hex(),
        "head_slot": head.slot,
        "finalized_number": finalized,
        "justifications": justifications,
        "spec_bytes": len(raw),
        "state_file_bytes": state_bytes,
        "db_bytes": sum(p.stat().st_size for p in (out / "db").rglob("*") if p.is_file()),
        "build_spec_s": round(spec_s, 1),
        "build_spec_parse_s": round(parse_s, 1),
        "build_genesis_s": round(genesis_s, 1),
        "build_blocks_s": round(blocks_s, 1),
        "build_blocks_per_s": round(blocks / blocks_s, 1),
        "build_s": round(time.perf_counter() - began, 1),
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str]) -> None:
    workdir, accounts, blocks = Path(argv[0]), int(argv[1]), int(argv[2])
    manifest = build(workdir, accounts, blocks, say=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(manifest))


if __name__ == "__main__":
    main(sys.argv[1:])
