"""Writing a chain spec whose genesis state is in a file (`genesis.snapshot`): what `btt-chain build-spec
--genesis-state-file` and the sync benchmark make.

The state is the one the spec that lists every holder (the *listing* spec) builds, byte for byte: the same root and
genesis hash, its `system.chain_spec_hash` the listing spec's hash. The spec written beside it is the listing spec
with the holders of its large liquid rows left out: each such row says how many it left out and what they hold
(`"elided": {"holders": N, "amount": "X"}`, so every row still adds up to its share of the supply), and the spec names
the file (`"genesis_state"`: its path relative to the spec, its blake2b-256 hash, size, record count and state root).

Two ways in. `snapshot_from_listing`: from a listing spec already parsed and built (the state held in memory once).
`snapshot_from_holders`: a spec whose rows list only the holders that matter plus holders given by an iterator (ten
million of them in the benchmark), streamed: the listing spec's hash is computed from its canonical JSON written
piece by piece, the state of the listed part is built with one stand-in account holding the streamed holders' sum,
whose record is then replaced by one record per streamed holder; records go through `SnapshotWriter`'s buckets.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from btt_chain.primitives.errors import GenesisError
from btt_chain.primitives.gc_pause import gc_paused
from btt_chain.primitives.hashing import blake2b_256
from genesis.build import Genesis, genesis_config
from genesis.loader import MODULE_PREFIX, canonical_json, genesis_document, parse_chain_spec
from genesis.snapshot import SnapshotInfo, SnapshotWriter, write_snapshot
from genesis.spec import ChainSpec
from runtime.specs import into_spec, package_module

ELIDE_ABOVE = 100
"""A liquid row with more holders than this leaves out all but its module accounts and validators."""
STAND_IN = blake2b_256(b"btt-chain genesis snapshot: the holders a spec leaves out")
"""The account that holds the streamed holders' sum while the listed part's state is built (its record is dropped)."""
_PLACEHOLDER = {"file": "-", "hash": "0x" + "00" * 32, "state_root": "0x" + "00" * 32, "records": 1, "bytes": 16}
_SLOT = "\x00btt-chain: the streamed holders\x00"


@dataclass(frozen=True)
class StreamedHolder:
    """One holder the spec leaves out: as the listing spec writes it, and what it holds."""

    entry: dict[str, str]
    """Its entry in the listing spec's holders list ({"account": ..., "amount": ...}, as written)."""
    account: bytes
    amount: int
    """Base units."""


def with_state_file(doc: dict[str, Any], file: str, info: SnapshotInfo) -> dict[str, Any]:
    out = dict(doc)
    out["genesis_state"] = {"file": file, "hash": "0x" + info.hash.hex(), "state_root": "0x" + info.state_root.hex(),
                            "records": info.records, "bytes": info.size}
    return out


def elided_doc(spec: ChainSpec) -> dict[str, Any]:
    """The listing spec's document with the holders of its large liquid rows left out (ELIDE_ABOVE): module accounts,
    validators' accounts and institution rows stay listed."""
    doc = copy.deepcopy(spec.raw)
    keep = {v.account for v in spec.validators}
    for position, row in enumerate(spec.allocations):
        if (row.release.kind != "liquid" or len(row.holders) <= ELIDE_ABOVE
                or row.index in spec.governance.institution_rows):
            continue
        raw = doc["allocations"][position]
        kept = [(h, entry) for h, entry in zip(row.holders, raw["holders"], strict=True)
                if h.account in keep or h.label.startswith(MODULE_PREFIX)]
        if len(kept) == len(row.holders):
            continue
        raw["holders"] = [entry for _, entry in kept]
        left = sum(h.amount for h in row.holders) - sum(h.amount for h, _ in kept)
        raw["elided"] = {"holders": len(row.holders) - len(kept), "amount": _btt(left, spec.token.decimals)}
    return doc


def _btt(units: int, decimals: int) -> str:
    whole, frac = divmod(units, 10**decimals)
    text = f"{frac:0{decimals}d}".rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


def snapshot_from_listing(spec: ChainSpec, genesis: Genesis, out: Path, file: str) -> dict[str, Any]:
    """Write `genesis`'s state (built from the listing `spec`) to `out`; the spec naming it as `file`."""
    info = write_snapshot(out, genesis.state)
    if info.state_root != genesis.block.header.state_root:  # the tree computed two ways: never apart
        raise GenesisError(f"the state file's root 0x{info.state_root.hex()} is not the genesis state root")
    return with_state_file(elided_doc(spec), file, info)


def snapshot_from_holders(doc: dict[str, Any], row: int, holders: Iterator[StreamedHolder], out: Path,
                          file: str) -> tuple[dict[str, Any], SnapshotInfo]:
    """`doc` is the spec with its row at position `row` (a liquid row) listing only some holders and saying
    `"elided": {"holders": N, "amount": "X"}` of the rest, which `holders` gives (N of them, X together; their
    entries are appended to the row's list in the listing spec). Writes the state file and returns the spec naming
    it. GenesisError if the streamed holders are not what the row says or repeat an account."""
    listing_hash = hashlib.blake2b(digest_size=32)
    head, tail = _listing_halves(doc, row)
    listing_hash.update(head)
    spec = parse_chain_spec({**doc, "genesis_state": _PLACEHOLDER})
    target = spec.allocations[row]
    if target.release.kind != "liquid" or not target.elided_holders:
        raise GenesisError(f"allocations[{row}] is not a liquid row that leaves holders out")
    writer = SnapshotWriter(out)
    try:
        with gc_paused():
            build_state = package_module(spec.spec_version, "runtime.genesis").build_state
            config = genesis_config(spec, chain_spec_hash=b"\x00" * 32, elided_into=STAND_IN)  # hash set below
            system = package_module(spec.spec_version, "runtime.system.storage")
            account_info = package_module(spec.spec_version, "runtime.system.types").AccountInfo
            stand_in = system.account.key(STAND_IN)
            count = total = 0
            encodings: dict[int, bytes] = {}
            first = not target.holders
            for h in holders:
                listing_hash.update((b"" if first else b",") + canonical_json(h.entry))
                first = False
                enc = encodings.get(h.amount)
                if enc is None:
                    enc = encodings[h.amount] = system.account.codec.encode(account_info(0, h.amount, 0, 0))
                writer.add(system.account.key(h.account), enc)
                count += 1
                total += h.amount
            if (count, total) != (target.elided_holders, target.elided_amount):
                raise GenesisError(f"allocations[{row}].elided says {target.elided_holders:,} holders of "
                                   f"{target.elided_amount} base units; {count:,} holding {total} were given")
            listing_hash.update(tail)
            config = _with_hash(config, listing_hash.digest())
            state = build_state(into_spec(config, spec.spec_version))
            del state[stand_in]
            writer.add_all(state)
            del state
    except BaseException:
        writer.abort()
        raise
    info = writer.finish()
    return with_state_file(doc, file, info), info


def _with_hash(config: Any, chain_spec_hash: bytes) -> Any:
    import dataclasses

    return dataclasses.replace(config, chain_spec_hash=chain_spec_hash)


def _listing_halves(doc: dict[str, Any], row: int) -> tuple[bytes, bytes]:
    """The canonical JSON of the listing spec's genesis document before and after the streamed holders' entries."""
    listing = genesis_document({k: v for k, v in doc.items() if k != "genesis_state"})
    listing["allocations"] = [dict(r) for r in listing["allocations"]]
    target = listing["allocations"][row]
    target.pop("elided", None)
    target["holders"] = [*target["holders"], _SLOT]
    text = canonical_json(listing)
    slot = json.dumps(_SLOT, ensure_ascii=False).encode()
    at = text.index(slot)
    head, tail = text[:at], text[at + len(slot):]
    if target["holders"][:-1]:
        head = head[:-1]  # the comma before the slot: each streamed entry brings its own
    return head, tail
