"""What a batch's calls and a proxy's own work cost beyond the calls themselves: a benchmark, not a test.

Run: `.venv/bin/python -m bench.utility_proxy_bench [--runs R]`.

On the dev preset's genesis state, each extrinsic is applied by the executive (its checks, fee, dispatch and
events) in a block, undone, and applied again; the fastest of `--runs` counts, the state's decoded-value cache emptied
before each (a block's first read of a record pays its decoding). Printed in microseconds, the unit of weight (one
is a microsecond of import on the reference host, as `runtime/compute/weights.py` and `balances.transfer`'s 100 are):

- a batch's per-call overhead: (a batch of N calls) - (an empty batch) - (N of the same calls dispatched directly),
  over N, for remarks and for transfers; `utility.calls.PER_CALL_WEIGHT` covers it;
- an empty batch, a proxied remark, adding, removing one and removing all proxies, each against a remark extrinsic
  (what every extrinsic pays, which its base fee covers), with one proxy and with 99 (the wire bound is 100);
  `runtime/proxy/calls.py`'s weights cover the worst of them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from btt_chain.primitives.extrinsic import Call, Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from genesis.build import build_genesis
from genesis.loader import load_chain_spec_doc, materialise, parse_chain_spec
from runtime.context import BlockEnv, Origin
from runtime.executive import BlockExecution, Executive
from runtime.modules import RUNTIME
from runtime.overlay import DictState, Overlay
from runtime.params import storage as params
from runtime.proxy import storage as proxy_storage
from runtime.proxy.types import MAX_PROXIES, NON_TRANSFER, ProxyDefinition, ProxyRecord

N = 1000
GENESIS_TIME_MS = 1_767_225_600_000


class Bench:
    def __init__(self, runs: int) -> None:
        genesis = build_genesis(parse_chain_spec(materialise(load_chain_spec_doc("dev"), GENESIS_TIME_MS)))
        self.genesis_hash = genesis.hash
        self.state = DictState(dict(genesis.state))
        view = Overlay(self.state)
        params.value.put(view, "proxy.max_proxies", MAX_PROXIES)  # room for the wire bound's worth
        self.state.apply(view.changes())
        self.executive = Executive(RUNTIME, genesis.hash)
        self.runs = runs
        self.nonces: dict[bytes, int] = {}

    def block(self) -> BlockExecution:
        alice = dev_keypair("alice").public
        slot = GENESIS_TIME_MS // 1000 + 1
        env = BlockEnv(1, self.genesis_hash, slot, GENESIS_TIME_MS + 1000, alice, speculative=True)  # no reveal check
        ex = self.executive.initialize_block(self.state, env)
        for inherent in self.executive.inherents(env):
            self.executive.apply_inherent(ex, inherent)
        return ex

    def sign(self, who: str, call: Call) -> Extrinsic:
        return sign_extrinsic(dev_keypair(who), call, 0, self.genesis_hash, RUNTIME.spec_version)

    def best(self, work: Callable[[BlockExecution], None]) -> float:
        """The fastest of the runs of `work` on a fresh block, in microseconds."""
        best = float("inf")
        for _ in range(self.runs):
            ex = self.block()
            ex.state.decoded.clear()
            t = time.perf_counter()
            work(ex)
            best = min(best, time.perf_counter() - t)
        return best * 1e6

    def apply(self, who: str, call: Call) -> float:
        xt = self.sign(who, call)
        length = len(xt.encode())

        def work(ex: BlockExecution) -> None:
            outcome = self.executive.apply_extrinsic(ex, xt, length)
            assert outcome.success, outcome.error

        return self.best(work)

    def direct(self, call: Call, n: int) -> float:
        decoded = RUNTIME.decode_call(call)
        origin = Origin.signed(dev_keypair("alice").public)

        def work(ex: BlockExecution) -> None:
            for _ in range(n):
                RUNTIME.dispatch(ex.ctx, origin, decoded)

        return self.best(work)


def main(runs: int) -> None:
    b = Bench(runs)
    bob = dev_keypair("bob").public
    remark = RUNTIME.call("system.remark", b"")
    transfer = RUNTIME.call("balances.transfer_keep_alive", bob, 1)
    base = b.apply("alice", remark)
    empty = b.apply("alice", RUNTIME.call("utility.batch", []))
    print(f"a remark extrinsic: {base:.0f} us (what every extrinsic pays); an empty batch: {empty - base:+.0f} us")
    for name, call in (("remark", remark), ("transfer", transfer)):
        batched = b.apply("alice", RUNTIME.call("utility.batch", [call] * N))
        alone = b.direct(call, N)
        print(f"a batch of {N} {name}s: {batched:.0f} us; the calls alone {alone:.0f} us; overhead per call "
              f"{(batched - empty - alone) / N:.1f} us")
    for count in (1, 99):
        defs = [ProxyDefinition(bytes([i]) * 32, NON_TRANSFER, 0) for i in range(2, count + 1)]
        defs.append(ProxyDefinition(bob, 0, 0))
        record = ProxyRecord(tuple(sorted(defs, key=lambda d: d.order)), 0)
        b.state.data[proxy_storage.proxies.key(dev_keypair("alice").public)] = record.encode()
        alice = dev_keypair("alice").public
        figures = {
            "proxy(remark)": b.apply("bob", RUNTIME.call("proxy.proxy", alice, None, remark)) - base,
            "add_proxy": b.apply("alice", RUNTIME.call("proxy.add_proxy", dev_keypair("charlie").public, 1, 0))
            - base,
            "remove_proxy": b.apply("alice", RUNTIME.call("proxy.remove_proxy", bob, 0, 0)) - base,
            "remove_proxies": b.apply("alice", RUNTIME.call("proxy.remove_proxies")) - base,
        }
        print(f"with {count} proxies, beyond a remark: " + ", ".join(f"{k} {v:.0f} us" for k, v in figures.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    main(parser.parse_args().runs)
