"""Record a dev chain of varied blocks for tests/node/test_recorded_chain.py: the same blocks must give the same
state roots after any change to how blocks are executed (caches, parallel signature checks, faster codecs).

Run with the code whose behaviour is the reference (e.g. a checkout of an earlier commit on PYTHONPATH):
    PYTHONPATH=<checkout> python scripts/record_chain.py tests/data/recorded_chain.bin
The file holds the frames (u32 length + bytes) of every block after genesis, on the dev preset at
tests.support.node_builder.GENESIS_TIME_MS.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from btt_chain.node.chain import Chain
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from genesis.build import build_genesis
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.modules import RUNTIME
from runtime.system import storage as system
from storage.memory import MemoryStore

GENESIS_TIME_MS = 1_700_000_000_000
UNIT = 10**18
NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
TIERS = ("30d", "90d", "180d", "365d", "1095d")


def record(blocks: int = 40, seed: int = 20261122) -> list[bytes]:
    spec = load_chain_spec("dev")
    chain = Chain(MemoryStore(), build_genesis(parse_chain_spec(materialise(spec.raw, GENESIS_TIME_MS))))
    rng = random.Random(seed)
    fresh = [Keypair(bytes([i]) * 32) for i in range(1, 9)]
    pairs = [dev_keypair(n) for n in NAMES]
    alice = pairs[0]
    out = []
    for _ in range(blocks):
        now = chain.clock.slot_start_ms(chain.head.slot + 1)
        nonces = {p.public: system.account.get(chain.state(), p.public).nonce for p in pairs}
        candidates = []
        for _ in range(rng.randint(0, 12)):
            who = rng.choice(pairs)
            kind = rng.choice(("transfer", "transfer", "fresh", "burn", "stake", "claim", "vest", "bond", "unbond",
                               "withdraw", "vested", "pay"))
            if kind == "transfer":
                amount = rng.randint(1, 10**6) * UNIT // 1000
                args: tuple[object, ...] = ("balances.transfer_allow_death", rng.choice(pairs).public, amount)
            elif kind == "fresh":
                args = ("balances.transfer_allow_death", rng.choice(fresh).public, rng.randint(1, 100) * UNIT)
            elif kind == "burn":
                args = ("balances.burn", rng.randint(1, 50) * UNIT, True)
            elif kind == "stake":
                args = ("staking.stake", rng.choice(TIERS[:3]), rng.randint(10_000, 20_000) * UNIT)
            elif kind == "claim":
                args = ("staking.claim_fee_share",)
            elif kind == "vest":
                args = ("vesting.vest",)
            elif kind == "bond":
                args = ("bonds.bond", rng.randint(1, 1_000) * UNIT)
            elif kind == "unbond":
                args = ("bonds.unbond", rng.randint(1, 500) * UNIT)
            elif kind == "withdraw":
                args = ("bonds.withdraw_unbonded",)
            elif kind == "vested":
                args = ("vesting.vested_transfer", rng.choice(fresh).public, rng.randint(100, 1_000) * UNIT,
                        now + 10_000, now + 200_000)
            else:
                args = ("payments.pay", rng.choice(pairs).public, rng.randint(1, 100) * UNIT, bytes(32))
            if args[0] in ("balances.transfer_allow_death", "payments.pay") and args[1] == who.public:
                continue
            call = RUNTIME.call(str(args[0]), *args[1:])
            xt = sign_extrinsic(who, call, nonces[who.public], chain.genesis_hash, RUNTIME.spec_version,
                                tip=rng.choice((0, 0, 10**15)))
            nonces[who.public] += 1
            candidates.append((xt, len(xt.encode())))
        slot = chain.head.slot + rng.choice((1, 1, 1, 2, 7))
        imported, dropped = chain.author_block(slot, alice, candidates)
        for xt, _ in dropped:  # a dropped one leaves a nonce gap behind it: the rest of that sender's wait
            nonces[xt.signer] = min(nonces[xt.signer], xt.nonce)
        out.append(imported.block.encode())
    return out


def main(path: str) -> None:
    frames = record()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(b"".join(len(f).to_bytes(4, "big") + f for f in frames))
    print(f"{len(frames)} blocks, {sum(len(f) for f in frames)} bytes -> {path}")


if __name__ == "__main__":
    main(sys.argv[1])
