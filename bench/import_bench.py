"""Block import throughput: signed transfers per second through the real pipeline, at a given state size.

Run: python -m bench.import_bench [accounts] [transfers] [sig_workers]   (or `btt-chain bench import`)

Stages timed on the importing node: decode, signature checks (in-process or in worker processes),
execution, state root, commit (one LevelDB batch with fsync). The authoring side is not timed.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from btt_chain.node.chain import Chain
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.primitives.block import Block
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from genesis.build import Genesis, build_genesis, genesis_config
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.genesis import GenesisBalance
from runtime.modules import RUNTIME
from storage.leveldb import LevelDBStore

GENESIS_TIME_MS = 1_700_000_000_000
UNIT = 10**18


def bench_genesis(accounts: int) -> tuple[Genesis, list[Keypair]]:
    """The dev genesis plus `accounts` extra funded accounts; the first 5,000 have known keys to sign with."""
    spec = parse_chain_spec(materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS))
    config = genesis_config(spec)
    signers = [Keypair(i.to_bytes(32, "big")) for i in range(1, min(accounts, 5_000) + 1)]
    extra = [GenesisBalance(k.public, 1_000 * UNIT, 0) for k in signers]
    filler = range(10**9, 10**9 + accounts - len(signers))
    extra += [GenesisBalance(i.to_bytes(32, "big"), 1_000 * UNIT, 0) for i in filler]
    config = dataclasses.replace(
        config,
        supply=config.supply + 1_000 * UNIT * accounts,
        balances=config.balances + tuple(extra),
    )
    return build_genesis(spec, config), signers


def run(accounts: int = 100_000, transfers: int = 5_000, sig_workers: int = 0) -> dict[str, float]:
    started = time.perf_counter()
    genesis, signers = bench_genesis(accounts)
    setup_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        author = Chain(LevelDBStore(Path(tmp) / "a"), genesis)
        # two importers, each with its own signature cache: one timed end to end, one stage by stage
        checker = SignatureChecker(workers=sig_workers)
        importer = Chain(LevelDBStore(Path(tmp) / "b"), genesis, checker)
        staged = Chain(LevelDBStore(Path(tmp) / "c"), genesis, SignatureChecker(workers=0))
        xts = []
        for i in range(transfers):
            k = signers[i % len(signers)]
            dest = signers[(i * 7919 + 1) % len(signers)].public
            call = RUNTIME.call("balances.transfer", dest, UNIT)
            xts.append(sign_extrinsic(k, call, i // len(signers), genesis.hash, RUNTIME.spec_version))
        imported, dropped = author.author_block(1, dev_keypair("alice"), [(x, len(x.encode())) for x in xts])
        assert not dropped, dropped[:3]
        raw = imported.block.encode()

        start = time.perf_counter()
        outcome = importer.import_block(raw, now_ms=GENESIS_TIME_MS + 10**9)
        t5 = time.perf_counter()
        assert outcome.status == "best"
        checker.close()

        # the same block stage by stage (in-process signatures), committing nothing
        t0 = time.perf_counter()
        block = Block.decode(raw)
        t1 = time.perf_counter()
        staged._check_signatures(staged.db.state, block)
        t2 = time.perf_counter()
        result = staged.executive.execute_block(staged.db.state, block, signatures_checked=True)
        t3 = time.perf_counter()
        root, _nodes = staged.tree.update(staged.head.state_root, result.changes)
        t4 = time.perf_counter()
        assert root == block.header.state_root
        n = len(block.extrinsics)
        total = t5 - start
        return {
            "accounts": accounts,
            "transfers": n,
            "block_bytes": len(raw),
            "setup_s": round(setup_s, 1),
            "sig_workers": sig_workers,
            "import_ms": round(total * 1000, 1),
            "transfers_per_s": round(n / total),
            "stage_decode_ms": round((t1 - t0) * 1000, 1),
            "stage_signatures_ms": round((t2 - t1) * 1000, 1),
            "stage_execute_ms": round((t3 - t2) * 1000, 1),
            "stage_state_root_ms": round((t4 - t3) * 1000, 1),
        }


def main(argv: list[str]) -> None:
    accounts = int(argv[0]) if argv else 100_000
    transfers = int(argv[1]) if len(argv) > 1 else 5_000
    workers = int(argv[2]) if len(argv) > 2 else 0
    for k, v in run(accounts, transfers, workers).items():
        print(f"{k:>16}  {v}")


if __name__ == "__main__":
    main(sys.argv[1:])
