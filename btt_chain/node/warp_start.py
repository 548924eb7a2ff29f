"""`btt-chain node --sync warp`: before the node starts, fill its empty database by warp sync (`warp_sync`), with a
libp2p host of its own on the node's port and identity, in a child process (py-libp2p does not restart a host inside
one process: P2P-NOTES), which ends when done; the node then opens the database at the warp target and syncs block by
block from there. A database that already holds a chain is used as it is (the node syncs from its head), so a
restart never warps again. A warp from genesis on a chain older than the warp's max gap is refused before anything
is written (weak subjectivity: `warp_trust.start_too_old`), and so, once a peer has given its block, is one from a
trusted checkpoint that old.

Why `full` stays the default: a warp-synced node holds no block below its target (RPC says so for older blocks), and
warp sync trusts 2/3 of the validators of each step of its proof where full sync re-executes every block; an
operator who wants a node that can serve and check the whole history keeps `full`.

The genesis the warp needs (its block and hash, the spec, and the one record of its state a warp from genesis trusts:
the validator set it queues) is, for a spec that names its genesis state file (`genesis_state`), built by the node
process without any state and handed to the child (`warp_genesis`), which then builds no genesis: nothing reads the
file (the block carries the spec's state root, and the validator set is the spec's, which every node that does read
the file checks against it), so a node joins by warp without it. A spec that lists its holders is built in the child
as before (the node process builds it again after the warp to learn its hash: building it first here would hold its
state in the node process through the warp).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from btt_chain.node.service import NodeConfig, now_ms, p2p_config, resolve_spec
from btt_chain.node.warp_metrics import WarpMetricsServer
from btt_chain.node.warp_serve import warp_max_gap
from btt_chain.node.warp_sync import WarpConflict, WarpStats, WarpSync
from btt_chain.node.warp_trust import start_too_old
from btt_chain.primitives.errors import ConfigError
from btt_chain.process_supervision import die_with, run_in_spawned_child
from genesis.build import Genesis, build_genesis, queued_state
from genesis.loader import load_chain_spec
from genesis.spec import ChainSpec
from storage import schema
from storage.leveldb import LevelDBStore

log = logging.getLogger("btt.warp")


def warp_needed(config: NodeConfig, spec: ChainSpec | None = None) -> bool:
    """Whether the node's database is empty (no head): the only case warp sync fills. ConfigError, before anything is
    written, for options warp sync cannot work with, and (weak subjectivity) for a warp from genesis once the chain is
    older than the warp's max gap by the local clock: it then needs a trusted checkpoint (whose own age the warp
    checks when a peer has given its block)."""
    spec = spec or load_chain_spec(config.chain)
    refuse_warp_options(config.base_path, config.p2p_port is None, spec)
    db = _base(config) / "chains" / spec.id / "db"
    if db.exists():
        kv = LevelDBStore(db)
        try:
            if kv.get(schema.META_HEAD) is not None:
                return False  # a restart: the node syncs from its head, whatever the chain's age
        finally:
            kv.close()
    if (config.checkpoint or spec.checkpoint) is None:
        too_old = start_too_old(spec, now_ms(), 0, "genesis", warp_max_gap(spec))
        if too_old is not None:
            raise ConfigError(too_old)
    return True


def refuse_warp_options(base_path: Path | str | None, no_p2p: bool, spec: ChainSpec) -> None:
    """ConfigError for options `--sync warp` cannot work with: said first, before ports are probed or anything is
    opened (the command line alone shows them)."""
    if base_path is None:
        raise ConfigError("--sync warp needs --base-path DIR (a --tmp node's database would be gone when it stops)")
    if no_p2p:
        raise ConfigError("--sync warp fetches from peers: drop --no-p2p")
    if spec.genesis_time_ms == 0:
        raise ConfigError("--sync warp joins a network's chain: give the chain spec it shares (with its genesis time), "
                          "not a spec whose genesis is set when a node first starts")


def _base(config: NodeConfig) -> Path:
    if config.base_path is None:
        raise ConfigError("--sync warp needs --base-path DIR (a --tmp node's database would be gone when it stops)")
    return Path(config.base_path)


def warp_genesis(config: NodeConfig) -> Genesis:
    """The genesis a warp needs, without its state but for the validator set it queues (all a warp from genesis
    trusts; `queued_state`). A spec that names its state file gives it without reading the file."""
    data_dir = _base(config) / "chains" / load_chain_spec(config.chain).id
    data_dir.mkdir(parents=True, exist_ok=True)
    genesis = build_genesis(resolve_spec(config.chain, data_dir))
    queued = {key: genesis.state[key] for key in queued_state(genesis.spec)}
    return dataclasses.replace(genesis, state=queued, leaves=b"")


async def warp_into_database(config: NodeConfig, limit_s: float = 3600.0, genesis: Genesis | None = None
                             ) -> WarpStats:
    """Run warp sync into the node's (empty) database, then stop the libp2p host it used. `genesis`: the one the
    node process built (`warp_genesis`; built here when not given)."""
    from p2p.service import P2PService

    if genesis is None:
        warp_needed(config)  # the options' checks, on the spec as given (a genesis time of 0 is refused)
        genesis = warp_genesis(config)
    spec = genesis.spec
    warp_needed(config, spec)  # again in the child: the database and the start's age
    data_dir = _base(config) / "chains" / spec.id
    checkpoint = config.checkpoint or spec.checkpoint
    kv = LevelDBStore(data_dir / "db")
    p2p = P2PService(p2p_config(config, data_dir, genesis.hash))
    sync = WarpSync(p2p, kv, genesis, checkpoint, warp_max_gap(spec), now_ms=now_ms, evidence_dir=data_dir)
    metrics = None
    if config.prometheus_port is not None:
        metrics = WarpMetricsServer(sync.stats, lambda: len(p2p.peers()), spec.id, config.prometheus_host,
                                    config.prometheus_port)
    try:
        if metrics is not None:
            await metrics.start()
        await p2p.start()
        log.info("warp sync: peer id %s, from %s, %s", p2p.local_peer_id,
                 "genesis" if checkpoint is None else f"the trusted checkpoint {checkpoint}",
                 f"{len(config.bootnodes)} bootnodes to dial" if config.bootnodes
                 else "no --bootnodes: it waits for peers to dial it")
        return await sync.run(limit_s)
    finally:
        await p2p.stop()
        if metrics is not None:
            await metrics.stop()
        kv.close()


def warp_in_child(config: NodeConfig, log_settings: tuple[str, str, str]) -> None:
    """Run `warp_into_database` in a fresh interpreter, given the genesis built here (`warp_genesis`) when the spec
    names its state file; its one error line (if any) is its own, and this returns only when it succeeded (else
    SystemExit with its exit code)."""
    genesis = warp_genesis(config) if load_chain_spec(config.chain).genesis_state is not None else None
    run_in_spawned_child(_child, (config, log_settings, genesis), "warp-sync")


def _child(config: NodeConfig, log_settings: tuple[str, str, str], genesis: Genesis | None, parent: int) -> None:
    from btt_chain.log_config import setup_logging

    die_with(parent)
    setup_logging(*log_settings)
    sys.exit(warp_exit_code(lambda: warp_into_database(config, genesis=genesis)))


def warp_exit_code(warp: Callable[[], Coroutine[Any, Any, object]]) -> int:
    """Run `warp` to its end: the warp process's exit code, its failure said in one line and never as a traceback
    (`error: ...` on stderr; for two conflicting proofs, the ERROR line the warp logged already)."""
    from btt_chain.primitives.errors import BttError

    try:
        asyncio.run(warp())
    except WarpConflict:
        return 1
    except BttError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except OSError as exc:  # a port taken since the node's start-up check, the disk
        print(f"error: warp sync: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
