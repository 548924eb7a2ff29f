"""The node side of `btt-chain bench import`, run in a process of its own so that what it measures is a node's:
it opens a prepared database as a restarted node would, then measures in one run

- the one-core ed25519 verify rate (PyNaCl, the floor the import rate is compared with),
- the import of the prepared blocks (decode, signatures in the worker processes beside execution, execution,
  state root, durable commit), block by block,
- pool admission in process of a block's worth of fresh transfers, and authoring a block from that full pool,
- its resident memory (now and peak).

With WARM_BLOCKS, the first that many blocks are imported before any of this is measured (`warm_up`).

Run by bench/import_bench.py: `python -m bench.import_node WORKDIR SIG_WORKERS [WARM_BLOCKS]`; prints one JSON
object.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from btt_chain.node.chain import LOOKAHEAD_BLOCKS, Chain
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.node.txpool import PoolConfig, TxPool
from btt_chain.primitives.account_keys import key_from_secret
from btt_chain.primitives.gc_pause import settle_heap
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.signatures import ED25519, SCHEME_NAMES, verify_multi
from runtime.system import storage as system
from storage import leveldb_build, read_ahead, table_reads
from storage.leveldb import LevelDBStore, compaction_nice
from storage.leveldb_stats import LevelStats, written_per_block

VERIFY_SAMPLE = 3_000


def _table_reads() -> str:
    reads = table_reads.current()
    if reads is None:
        return "unknown"
    return reads.mode + (f" ({reads.why})" if reads.why else "")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes() -> int:
    """The process's own high-water mark (VmHWM). Not ru_maxrss: Linux carries that across exec from the forked
    parent, so a child of the big benchmark process would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mapped_and_own_bytes() -> tuple[int, int]:
    """(RssFile, RssAnon): resident pages of mapped files (LevelDB maps up to 1,000 of its table files; the kernel
    reclaims them like page cache) and the process's own memory."""
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssFile:", "RssAnon:")):
                found[line.split(":")[0]] = int(line.split()[1]) * 1024
    return found.get("RssFile", 0), found.get("RssAnon", 0)


def steady_state_ratio(per_block: list[float]) -> float | None:
    """Median of the last 5 blocks over the median of blocks 3-7 (1 = no growth); None under 10 blocks or when blocks
    3-7 took no time."""
    if len(per_block) < 10:
        return None
    early = statistics.median(per_block[2:7])
    return statistics.median(per_block[-5:]) / early if early > 0 else None


def flatness_ratio(per_block: list[float]) -> float | None:
    """Issue 54's flatness: the median of the last 4 blocks over the median of blocks 3-6 (1 = flat); None under 10
    blocks."""
    if len(per_block) < 10:
        return None
    early = statistics.median(per_block[2:6])
    return statistics.median(per_block[-4:]) / early if early > 0 else None


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user and system) of each of this process's threads so far, by role: the importing thread
    (`main`), Python's named threads by their name's prefix (`sig-verify`, `state-tree`, `leveldb-writer`), the
    threads Python did not start (LevelDB's background compactions) as `leveldb-background`, and those that ended
    (`ended-threads`: each block's read-ahead reader, the state tree's helper threads).

    A live thread's time is its CPU clock's (`_task_cpu`: the scheduler's count in ns, with the slice it may be
    running now), the process's total getrusage's (ended threads included), so a block's figures are exact."""
    import threading

    names = {str(t.native_id): t.name.rsplit("_", 1)[0] for t in threading.enumerate()}
    names[str(threading.main_thread().native_id)] = "main"
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        spent = _task_cpu(tid)
        if spent is None:  # the thread ended meanwhile
            continue
        role = names.get(tid, "leveldb-background")
        out[role] = out.get(role, 0.0) + spent
    # threads that ended (a block's read-ahead reader, the state tree's helper for an update's second half) count in
    # the process's own figure only
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["ended-threads"] = max(0.0, usage.ru_utime + usage.ru_stime - sum(out.values()))
    return out


_CPUCLOCK_PER_THREAD_SCHED = 0b110
"""The low bits of a Linux CPU clock id: per thread (4), the scheduler's runtime (2); the inverted thread id above."""


def _task_cpu(tid: str) -> float | None:
    """A thread's CPU seconds so far (None: it ended), from the first of these the kernel gives:
    - its CPU clock (`clock_gettime` of Linux's per-thread clock id, as glibc's `pthread_getcpuclockid` makes it from
      the thread's id): the scheduler's ns, with the slice the thread is running now;
    - `/proc/self/task/TID/schedstat`: the same ns, but without a running thread's current slice (up to a scheduler
      tick, ~4 ms, behind; the reading thread itself is always running);
    - `/proc/self/task/TID/stat`: whole 10 ms ticks of user and system time."""
    try:
        return time.clock_gettime(((~int(tid)) << 3) | _CPUCLOCK_PER_THREAD_SCHED)
    except (OSError, OverflowError, AttributeError):
        pass  # ended (EINVAL), or no such clocks here
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def block_cpu(cpu_at: list[dict[str, float]]) -> list[float]:
    """Each block's CPU, every thread's together (s): what the block cost the node, however its two cores interleaved
    the work (`cpu_at[i]`: each thread's CPU after block i, 0 before the first)."""
    return [sum(after.values()) - sum(before.values()) for before, after in zip(cpu_at[:-1], cpu_at[1:], strict=True)]


def window_cpu(cpu_at: list[dict[str, float]], first: int, last: int) -> str | None:
    """The mean CPU a block of blocks `first`..`last` (1-based, inclusive) cost each thread, in ms, as
    "main 330, sig-verify 310, ..." (busiest first) and its sum; `cpu_at[i]` is each thread's CPU after block i (0:
    before the first)."""
    if first < 1 or last >= len(cpu_at) or first > last:
        return None
    before, after, count = cpu_at[first - 1], cpu_at[last], last - first + 1
    spent = {role: (t - before.get(role, 0.0)) * 1000 / count for role, t in after.items()}
    shown = sorted(((role, round(ms)) for role, ms in spent.items() if round(ms)), key=lambda kv: -kv[1])
    return ", ".join(f"{role} {ms}" for role, ms in shown) + f" (sum {round(sum(spent.values()))})"


def flatness_windows_cpu(cpu_at: list[dict[str, float]]) -> tuple[str | None, str | None]:
    """`window_cpu` over the flatness ratio's windows, blocks 3-6 and the last 4; None under 10 blocks."""
    blocks = len(cpu_at) - 1
    if blocks < 10:
        return None, None
    return window_cpu(cpu_at, 3, 6), window_cpu(cpu_at, blocks - 3, blocks)


def leveldb_windows(levels_at: dict[int, tuple[LevelStats, ...]], blocks: int) -> dict[str, str | None]:
    """MB LevelDB wrote a block into each level over blocks 3-6 and the last 4 (`levels_at[i]`: its compaction
    table after block i); None where a reading is missing (under 10 blocks)."""
    def window(first: int, last: int) -> str | None:
        before, after = levels_at.get(first - 1), levels_at.get(last)
        return None if before is None or after is None else written_per_block(before, after, last - first + 1)

    return {"leveldb_mb_written_per_block_blocks_3_6": window(3, 6),
            "leveldb_mb_written_per_block_last_4": window(blocks - 3, blocks)}


def stage_growth(series: dict[str, list[float]]) -> str | None:
    """Each series' median over blocks 3-7 and over the last 5 blocks, in ms ("execute 131->140 ms, ..."): which stage
    the steady-state ratio's growth comes from; None under 10 blocks. A stage that overlaps others (the state root runs
    on the tree's thread) is its own time, so the stages need not add up to the block."""
    if any(len(values) < 10 for values in series.values()):
        return None
    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f}"

    return ", ".join(f"{name} {ms(values[2:7])}->{ms(values[-5:])} ms" for name, values in series.items())


def verify_rate(scheme: int = ED25519) -> float:
    """Verifications per second on this core of one MultiSignature scheme, under the chain's rule (valid signatures
    over 150-byte messages, through `verify_multi` as the pool, the runtime and the signature workers check them)."""
    pair = key_from_secret(scheme, (7).to_bytes(32, "big"))
    items = [(pair.account, m, bytes([scheme]) + pair.sign(m))
             for m in (i.to_bytes(150, "big") for i in range(VERIFY_SAMPLE))]
    start = time.perf_counter()
    assert all(verify_multi(account, msg, sig) for account, msg, sig in items)
    return VERIFY_SAMPLE / (time.perf_counter() - start)


def read_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out


def warm_up(chain: Chain, blocks: list[bytes], now_ms: int) -> float:
    """Import `blocks` unmeasured and wait for their last write: what the node's LevelDB then holds, and compacts, is
    a running node's, not a freshly loaded genesis database's (seconds taken)."""
    start = time.perf_counter()
    for raw in blocks:
        result = chain.import_block(raw, now_ms=now_ms)
        assert result.status == "best", result.status
    chain.db.kv.flush()
    return time.perf_counter() - start


def main(workdir: Path, sig_workers: int, warm_blocks: int = 0) -> dict[str, Any]:
    checker = SignatureChecker(workers=sig_workers)  # workers fork now, while the heap is small
    genesis = pickle.loads((workdir / "genesis.pickle").read_bytes())
    started = time.perf_counter()
    store = LevelDBStore(workdir / "node")
    chain = Chain(store, genesis, checker)
    open_s = time.perf_counter() - started
    # the executive of the next block, built as a node's start-up has it: the node's metrics (on by default) import
    # the runtime's modules at start and its pool checks transactions against the executive, so the first block
    # is not charged with ~70-120 ms of importing Python modules (once per process; py-evm's timed import run has
    # its VM imported and used already)
    chain.executive  # noqa: B018 - built for its side effect
    settle_heap()  # what a node does after start-up (btt_chain.primitives.gc_pause)
    one_core = verify_rate()
    other_schemes = {name: verify_rate(scheme) for scheme, name in SCHEME_NAMES.items() if scheme != ED25519}
    blocks = read_frames(workdir / "blocks.bin")
    now_ms = genesis.spec.genesis_time_ms + 10**10
    warm_s = warm_up(chain, blocks[:warm_blocks], now_ms)
    blocks = blocks[warm_blocks:]
    # the blocks after the last measured one, never imported: the last block checks their signatures ahead, as every
    # block before it checks its next one's
    stream = blocks + read_frames(workdir / "ahead.bin")
    per_block: list[float] = []
    stages: list[tuple[float, float, float]] = []
    transfers = 0
    slot = 0
    cpu_before = thread_cpu()
    ahead_before = read_ahead.counters()
    final_flush_s = 0.0
    cpu_at: list[dict[str, float]] = [cpu_before]  # each thread's CPU before block 1, after block 1, ...
    heap_before = sys.getallocatedblocks()
    windows_at = {2, 6, len(blocks) - 4, len(blocks)} if len(blocks) >= 10 else set()
    levels_at: dict[int, tuple[LevelStats, ...]] = {}  # LevelDB's compaction table after block i (the windows' ends)
    loop_start = time.perf_counter()
    for i, raw in enumerate(blocks):
        start = time.perf_counter()
        # the next blocks at hand, as sync has the rest of its batch: their signatures checked while this one runs
        result = chain.import_block(raw, now_ms=now_ms, ahead=stream[i + 1 : i + 1 + LOOKAHEAD_BLOCKS])
        per_block.append(time.perf_counter() - start)
        if len(per_block) == len(blocks):
            # the last block's commit, written behind, counts until it is on disk: in the run's time (the rate), not
            # in the last block's own (every other block's write overlaps the next block, as a running node's does:
            # charging the whole last write to block 30 made the flatness ratio's last window that much slower)
            start = time.perf_counter()
            chain.db.kv.flush()
            final_flush_s = time.perf_counter() - start
        stages.append((chain.stages.execute_s, chain.stages.state_root_s, chain.stages.commit_s))
        assert result.status == "best", result.status
        transfers += len(result.enacted[-1].block.transactions)
        slot = result.header.slot
        cpu_at.append(thread_cpu())
        if len(per_block) in windows_at:
            levels_at[len(per_block)] = store.level_stats()
    import_s = time.perf_counter() - loop_start  # wall time: what the collector does between blocks counts too
    listed, taken, doubled = (after - before for after, before in zip(read_ahead.counters(), ahead_before, strict=True))
    cpu_after = thread_cpu()
    heap_kept = (sys.getallocatedblocks() - heap_before) / max(1, len(blocks))
    checked_after_last = len(chain._lookaheads)  # the blocks after the last whose checks the last one started
    for expected in chain._lookaheads:  # which end (this thread taking what is left) before the pool is measured,
        expected.pending.result()  # outside the import's time and its threads' CPU
    cpu_by_thread = {role: round((spent - cpu_before.get(role, 0.0)) * 1000 / max(1, len(blocks)))
                     for role, spent in sorted(cpu_after.items(), key=lambda kv: -kv[1])}

    # a block's worth of fresh transfers into a pool, then a block authored from it
    pool = TxPool(chain.validate_transaction, lambda who: system.account.get(chain.state(), who).nonce,
                  PoolConfig(max_count=100_000, max_bytes=512 << 20))
    pending = read_frames(workdir / "pool.bin")
    start = time.perf_counter()
    for encoded in pending:
        pool.submit(encoded)
    admit_s = time.perf_counter() - start
    chain.reveal_for(dev_keypair("alice"))  # the validator's hash chain, built once per process as a node does at start
    start = time.perf_counter()
    imported, dropped = chain.author_block(slot + 1, dev_keypair("alice"),
                                           ((t.xt, len(t.encoded)) for t in pool.ready()))
    author_s = time.perf_counter() - start
    assert not dropped, dropped[:3]
    authored = len(imported.block.transactions)
    checker.close()
    rate = transfers / import_s
    tree = chain.tree.stats()
    mapped, own = mapped_and_own_bytes()
    steady = steady_state_ratio(per_block)
    flat = flatness_ratio(per_block)
    cpu_flat = flatness_ratio(block_cpu(cpu_at))
    early_cpu, late_cpu = flatness_windows_cpu(cpu_at)
    by_stage = stage_growth({"block": per_block, "execute": [s[0] for s in stages],
                             "state_root": [s[1] for s in stages], "commit": [s[2] for s in stages]})
    return {
        "open_s": round(open_s, 2),
        "warm_s": round(warm_s, 1),
        "blocks": len(blocks),
        "transfers": transfers,
        "import_ms_per_block": [round(t * 1000, 1) for t in per_block],
        # blocks after the last measured one whose signatures it checked ahead, as each block before it did its next's
        "blocks_checked_ahead_of_the_last": checked_after_last,
        "import_tx_per_s": round(rate),
        # waiting for the last block's write-behind to reach the disk, after the last block (in import_tx_per_s)
        "final_flush_ms": round(final_flush_s * 1000, 1),
        "steady_state_ratio": None if steady is None else round(steady, 3),
        # issue 54's form: the median of the last 4 blocks over blocks 3-6
        "flatness_last4_over_3_6": None if flat is None else round(flat, 3),
        # the same ratio over each block's CPU, all threads together: whether the work a block costs grows. With both
        # cores busy a block's wall time is about half its CPU, which also holds what spills over from the block
        # before (its write landing, a memtable flush, the next block's signatures checked ahead)
        "cpu_flatness_last4_over_3_6": None if cpu_flat is None else round(cpu_flat, 3),
        # how many more blocks Python's allocator holds after each block, the mean over the run: what the caches keep
        # of each block's objects (the flat state's reads, the signature cache), left among the pools that the next
        # blocks' short-lived objects use (docs/benchmarks.md, the fourteenth round)
        "python_heap_blocks_kept_a_block": round(heap_kept),
        # CPU a block costs on each thread of the node (ms, mean over the blocks): where the two cores went
        # (where the kernel keeps no schedstat it counts 10 ms ticks: a tiny run's threads may round to 0, "main 0")
        "cpu_ms_per_block_by_thread": ", ".join(f"{role} {ms}" for role, ms in cpu_by_thread.items() if ms)
        or f"main {cpu_by_thread.get('main', 0)}",
        "cpu_ms_per_block": sum(cpu_by_thread.values()),
        # the same over the flatness ratio's two windows (blocks 3-6 and the last 4): on a host whose other tenants
        # make the wall times jump, what the node itself spent in each window, thread by thread
        "cpu_ms_per_block_blocks_3_6": early_cpu,
        "cpu_ms_per_block_last_4": late_cpu,
        # what LevelDB wrote a block into each level over the same two windows (MB, from its compaction table, which
        # counts whole MB): level 0 is the memtable flushed, the others compactions; their growth is what fills the
        # levels costs, apart from the node's own work
        **leveldb_windows(levels_at, len(blocks)),
        # medians over the blocks of the node's stages (the rest of a block's time: decoding, header and signature
        # checks not hidden behind execution, event records, building the commit batch's keys, waiting for the last)
        "node_execute_ms": round(statistics.median(s[0] for s in stages) * 1000, 1),
        "node_state_root_ms": round(statistics.median(s[1] for s in stages) * 1000, 1),
        "node_commit_ms": round(statistics.median(s[2] for s in stages) * 1000, 1),
        # the block's and each stage's medians over blocks 3-7 and the last 5: what grows, if anything
        "node_steady_state_by_stage": by_stage,
        # the accounts each block read ahead (on the read-ahead's thread), and of them those the execution reached
        # first and read itself (the thread then skips them) or read while the thread was reading them too
        "read_ahead_keys_per_block": f"listed {round(listed / max(1, len(blocks)))}, read by execution first "
                                     f"{round(taken / max(1, len(blocks)))}, read twice "
                                     f"{round(doubled / max(1, len(blocks)))}",
        "verify_per_s_one_core": round(one_core),
        **{f"verify_per_s_one_core_{name}": round(rate) for name, rate in other_schemes.items()},
        "import_over_verify": round(rate / one_core, 3),
        "pool_admission_tx_per_s": round(len(pending) / admit_s),
        "authoring_tx_per_s": round(authored / author_s),
        "authored_transfers": authored,
        "rss_mib": round(rss_bytes() / 2**20),
        "rss_own_mib": round(own / 2**20),
        "rss_mapped_tables_mib": round(mapped / 2**20),
        "leveldb_table_reads": _table_reads(),
        "leveldb_build": leveldb_build.build().describe(),
        "leveldb_compaction_nice": compaction_nice(),
        "peak_rss_mib": round(peak_rss_bytes() / 2**20),
        "tree_bucket_bits": tree["bucket_bits"],
        "tree_resident_leaves": tree["resident_leaves"],
        "tree_memory_mib": round(chain.tree.memory_bytes() / 2**20),
        "state_tree_engine": tree["engine"],
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)))
