"""The node service: opens the database, builds genesis, runs the tx pool, block authoring, finality,
the p2p network and JSON-RPC.

Asynchronous only here, at the edge; the chain and runtime underneath are synchronous.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from btt_chain.consensus.signing_gate import DEFAULT_WATCH_EPOCHS
from btt_chain.node.chain import Chain, ImportedBlock, ImportResult
from btt_chain.node.checkpoint import CheckpointGuard
from btt_chain.node.finality_service import FinalityService
from btt_chain.node.hash_chain_builder import BuilderBusy, BuildFailed, builder_of
from btt_chain.node.job_outputs import JobOutputs
from btt_chain.node.keystore import DIRECTORY as KEYSTORE_DIR
from btt_chain.node.keystore import Keystore
from btt_chain.node.model_weights import ModelWeights
from btt_chain.node.pool_funds import ChainAccounts
from btt_chain.node.pruning import DEFAULT_STATE_PRUNING
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.node.signing_guard import SigningGuard
from btt_chain.node.signing_watch import SigningWatch
from btt_chain.node.stop_watch import StopWatch
from btt_chain.node.txpool import TxPool
from btt_chain.node.upgrades import UpgradeHalt, UpgradeWatch
from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import (
    BttError,
    ConfigError,
    ExtrinsicFault,
    InvalidBlock,
    InvalidExtrinsic,
    StorageError,
)
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.hash_chain import cached_hash_chain
from btt_chain.primitives.keys import Keypair
from genesis.build import Genesis, build_genesis
from genesis.loader import canonical_json, load_chain_spec, materialise, parse_chain_spec
from genesis.spec import ChainSpec, TrustedCheckpoint
from runtime.compute import weights_source
from runtime.compute.reference import reference_blobs
from runtime.specs import supported
from runtime.system import storage as system
from storage import leveldb_build
from storage.content import WEIGHTS_DIR, ContentStore
from storage.leveldb import LevelDBStore

if TYPE_CHECKING:
    from btt_chain.node.network import NetworkBridge
    from p2p.config import P2PConfig
    from p2p.service import P2PService

log = logging.getLogger("btt.node")

SPEC_FILE = "chain-spec.json"
MAX_FAULTS_PER_SLOT = 4
"""Transactions the runtime may fail on (`ExtrinsicFault`) in one slot before the node gives the slot up: each is
banned from the pool, and each costs an attempt that re-executes the block up to it."""


def shipped_blob(weights_hash: bytes) -> bytes | None:
    """The blob of a reference model that ships with the package (every node's content store has them)."""
    return reference_blobs().get(weights_hash)


@dataclass(frozen=True)
class NodeConfig:
    chain: str
    """Preset name or chain-spec file."""
    base_path: Path | None
    tmp: bool
    validator_key: Keypair | None
    """--key: a session key held in memory beside the keystore's (`validator` with a key given)."""
    validator: bool = False
    """--validator: author blocks and vote with the keystore's session keys (and `validator_key`) when the chain's
    schedule names one of them; also set when `validator_key` is given."""
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 9944
    rpc_methods: str = "safe"
    """'safe' or 'unsafe' (unsafe methods only ever on loopback)."""
    rpc_cors: str | None = None
    """--rpc-cors: None (pages on localhost and 127.0.0.1), 'all', or comma-separated origins."""
    rpc_max_connections: int = 100
    """--rpc-max-connections: WebSocket connections at once (a share kept for loopback callers)."""
    rpc_idle_timeout: float = 120.0
    """--rpc-idle-timeout: seconds a WebSocket may stay without a request or a subscription."""
    explorer: bool = True
    """Serve the web explorer on the RPC port (`--no-explorer` turns it off)."""
    signature_workers: int = 0
    name: str = "btt-node"
    p2p_port: int | None = None
    """TCP port for libp2p on 127.0.0.1; None: no networking (a lone dev node)."""
    bootnodes: tuple[str, ...] = ()
    in_peers: int = 25
    """--in-peers: most inbound connections."""
    out_peers: int = 8
    """--out-peers: outbound connections the discovery dialer keeps."""
    discovery: bool = True
    """Peer exchange (`peers` protocol): learn and dial peers beyond the bootnodes."""
    node_key_file: Path | None = None
    """Persistent libp2p identity; default: <base>/chains/<id>/network/node-key."""
    p2p_host: str = "127.0.0.1"
    unsafe_equivocate: bool = False
    """Test helper only: sign a second, different block for every slot this validator leads."""
    unsafe_gossip_invalid_blocks: bool = False
    """Test helper only: gossip a copy of each authored block with a wrong state root (peers must ban us)."""
    demo_miner: str | None = None
    """--demo-economy: run `btt-chain miner` with this key (dev name or key file) beside the node."""
    demo_clinic: str | None = None
    """--demo-economy: run a demo clinic (`btt-chain job clinic`) with this key beside the node."""
    checkpoint: TrustedCheckpoint | None = None
    """--checkpoint: a trusted block (overrides the chain spec's); chains without it are refused."""
    state_pruning: int | None = DEFAULT_STATE_PRUNING
    """--state-pruning: how many blocks back from the head state is served over RPC; None: archive (every block)."""
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int | None = None
    """--prometheus-port: where `/metrics` is served; None: no metrics (--no-prometheus)."""
    doppelganger_epochs: int = DEFAULT_WATCH_EPOCHS
    """--doppelganger-epochs: epochs a validator started without signing records watches for its own keys' signatures
    before it signs (`btt_chain.node.signing_watch`); 0 turns the watch off (unsafe)."""


_clock_skew_ms = 0
"""Test helper (`--unsafe-clock-skew-ms`, the testnet's `clock` perturbation): added to every clock read."""


def set_clock_skew_ms(skew_ms: int) -> None:
    global _clock_skew_ms
    _clock_skew_ms = skew_ms


def now_ms() -> int:
    return time.time_ns() // 1_000_000 + _clock_skew_ms


def p2p_config(config: NodeConfig, data_dir: Path, genesis_hash: bytes) -> P2PConfig:
    """The libp2p host's settings of a node (and of its warp sync before it starts)."""
    from p2p.config import P2PConfig

    assert config.p2p_port is not None
    return P2PConfig(
        listen_port=config.p2p_port,
        node_key_path=config.node_key_file or (data_dir / "network" / "node-key"),
        genesis_hash=genesis_hash,
        bootnodes=config.bootnodes,
        listen_host=config.p2p_host,
        in_peers=config.in_peers,
        max_peers=max(1, config.in_peers + config.out_peers),
        out_peers=config.out_peers,
        discovery=config.discovery,
        peers_file=data_dir / "network" / "peers.json",
        # a gossiped block is imported before it is forwarded: big blocks need more than the 2 s default
        gossip_validation_timeout=10.0,
    )


def resolve_spec(chain: str, data_dir: Path) -> ChainSpec:
    """Load the chain spec; a spec with genesis_time_ms 0 is materialised once, saved in `data_dir` and reused."""
    saved = data_dir / SPEC_FILE
    spec = load_chain_spec(chain)
    if spec.genesis_time_ms != 0:
        return spec
    if saved.exists():
        stored = load_chain_spec(str(saved))
        if stored.id == spec.id:
            return stored
    start = (now_ms() // 1000) * 1000
    doc = materialise(spec.raw, start)
    data_dir.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(canonical_json(doc))
    return parse_chain_spec(doc, str(saved))


class Node:
    """One running node. `run()` until `stop()` (or SIGINT/SIGTERM)."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self._tmpdir: str | None = None
        if config.tmp:
            self._tmpdir = tempfile.mkdtemp(prefix="btt-chain-")
            base = Path(self._tmpdir)
        elif config.base_path is not None:
            base = Path(config.base_path)
        else:
            raise ConfigError("give --base-path DIR or --tmp")
        self.base_path = base
        # workers fork before the database and state are loaded
        self.checker = SignatureChecker(workers=config.signature_workers)
        spec_probe = load_chain_spec(config.chain)
        self.data_dir = base / "chains" / spec_probe.id
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create --base-path {base}'s data directory {self.data_dir}: "
                              f"{exc.strerror or exc}") from None
        self.spec = resolve_spec(config.chain, self.data_dir)
        self.genesis: Genesis = build_genesis(self.spec)
        self.kv = LevelDBStore(self.data_dir / "db")
        try:
            self.chain = Chain(self.kv, self.genesis, self.checker)
            self.genesis = self.chain.genesis  # without the genesis state, which is in the database now
            self.checkpoint = CheckpointGuard.start(self.chain, self.spec, config.checkpoint, now_ms)
        except StorageError:
            self.kv.close()
            raise
        self.upgrades = UpgradeWatch(self.chain)
        """The head's spec, the scheduled one, and the halt at an upgrade this node cannot run (said once each)."""
        # the pool re-checks its senders' funds against the head after every block it is pruned for
        self.pool = TxPool(self.chain.validate_transaction, self.account_nonce, accounts=ChainAccounts(self.chain),
                           next_block=lambda: self.chain.head.number + 1, head_runtime=lambda: self.chain.runtime)
        self.outputs = JobOutputs(self.chain, self.kv)
        """Compute job outputs this node keeps and serves (RPC and the `outputs/get` protocol)."""
        self.content = ContentStore(self.data_dir / WEIGHTS_DIR, shipped=shipped_blob)
        """Model weights blobs, outside the state: what the runtime executes models with (installed as this
        process's weights source), served and fetched over `weights/get`."""
        self.content.on_dropped = weights_source.forget
        self._previous_weights = weights_source.installed()
        weights_source.install(self.content)
        self.model_weights = ModelWeights(self.chain, self.content)
        """The registered models' blobs: kept for good, fetched in the background."""
        # one record per genesis: a purged dev chain starts its slots again without tripping the guard
        guard_file = self.data_dir / f"signing-{self.chain.genesis_hash.hex()[:16]}.json"
        self._rotating_to: tuple[int, int] | None = None
        self._building_next_chain: asyncio.Task[None] | None = None
        """The child process building a session key's next hash chain, while it runs."""
        self._cannot_author: str | None = None
        """The last reason a session key could not author (logged once, not every slot)."""
        """(hash-chain generation, head number) of the last rotation submitted."""
        self.authority = config.validator or config.validator_key is not None
        """This node authors and votes (with whichever of its session keys the chain names)."""
        self.keys = Keystore(self.data_dir / KEYSTORE_DIR,
                             extra=() if config.validator_key is None else (config.validator_key,))
        """The session keys this node may sign with (`btt_chain.node.keystore`)."""
        self.guard = SigningGuard(guard_file) if self.authority else None
        self.started_ms = now_ms()
        self.now_ms = now_ms
        self._stop = asyncio.Event()
        self._head_listeners: list[Callable[[ImportedBlock], None]] = []
        self.extrinsic_watches: Any = None
        """The RPC server's watched transactions (author_submitAndWatchExtrinsic), once it runs."""
        self._finalized_listeners: list[Callable[[Header, bytes], None]] = []
        self.chain.on_import(self._on_import)
        self.rpc_url: str | None = None
        self.metrics: Any = None
        self.rpc_server: Any = None
        """The JSON-RPC server (btt_chain.rpc.server.RpcServer) while the node runs."""
        """The node's Prometheus metrics (btt_chain.node.metrics.NodeMetrics), once it runs with them."""
        vote_guard = self.data_dir / f"votes-{self.chain.genesis_hash.hex()[:16]}.json"
        self.finality = FinalityService(self, self.keys if self.authority else None, vote_guard)
        self.signing = SigningWatch(self, config.doppelganger_epochs)
        """Whether this validator may sign yet: synced, no second signer of its keys, one validator account."""
        self.finality.may_sign_vote, self.finality.observe_vote = self.signing.may_sign_vote, self.signing.observe_vote
        self.checkpoint.connect(self.finality.import_justification, self.notify_finalized)
        self.p2p: P2PService | None = None
        self.network: NetworkBridge | None = None
        self.upgrades.on_head()  # a schedule (or a spec) already in the chain is said at once

    # facade used by RPC ------------------------------------------------------------------------------
    def account_nonce(self, who: bytes) -> int:
        return system.account.get(self.chain.state(), who).nonce

    def next_account_index(self, who: bytes) -> int:
        """The nonce a wallet should use next: the account nonce plus this sender's consecutive pooled ones."""
        nonce = self.account_nonce(who)
        pooled = {t.nonce for t in self.pool.pending() if t.sender == who}
        while nonce in pooled:
            nonce += 1
        return nonce

    def submit_extrinsic(self, encoded: bytes) -> bytes:
        """Pool a local extrinsic (RPC, reports) and gossip it in the next transaction batch."""
        xt_hash = self.pool.submit(encoded)
        if self.network is not None:
            self.network.queue_transaction(encoded)
        return xt_hash

    def import_block(self, encoded: bytes, ahead: bytes | Sequence[bytes] | None = None) -> ImportResult:
        """Import a block from the network; keep the pool and finality in step with the new head. `ahead`: the blocks
        expected next (the rest of sync's batch), whose signatures are checked meanwhile (`Chain.import_block`)."""
        result = self.chain.import_block(encoded, now_ms(), ahead)
        if result.status == "known":
            return result
        self.signing.observe_block(result.header)
        self.finality.on_block_header(result.header)
        if result.status == "best":
            self.after_head_moved(result)
        else:
            self.finality.on_blocks_stored()  # votes may have waited for it
        return result

    def import_branch(self, encoded: Sequence[bytes]) -> ImportResult:
        """Import a branch whose authors could not be placed beforehand, executed at once if it is the best
        (`Chain.import_branch`); keep the pool and finality in step with the new head."""
        result = self.chain.import_branch(encoded, now_ms())
        for imported in result.enacted:
            self.signing.observe_block(imported.block.header)
            self.finality.on_block_header(imported.block.header)
        self.after_head_moved(result)
        return result

    def after_head_moved(self, result: ImportResult) -> None:
        """Keep the pool and finality in step with a head that moved (an import, or the fork choice following a
        newly justified checkpoint)."""
        enacted = [x.hash() for e in result.enacted for x in e.block.transactions]
        self.pool.prune(enacted, [])
        for block in result.retracted:
            for xt in block.transactions:  # its inherents belong to it alone
                self.pool.resubmit(xt.encode())
        if result.retracted:
            self._drop_born_off_chain()
        self.upgrades.on_head()  # a head that moved back (no block imported) may schedule another spec
        self.finality.on_new_head()

    def _drop_born_off_chain(self) -> None:
        """After a reorganisation, drop (as invalid, so a watcher hears it) every pooled mortal transaction that can
        no longer be included: one signed against a birth block the new chain does not hold (a short fork, common
        while a validator's clock is off) would otherwise wait in the pool for ever. Substrate's pool re-validates
        after a reorganisation the same way; immortal transactions cannot be affected."""
        invalid = []
        for tx in self.pool.pending():
            if tx.xt.era.period == 0:
                continue
            try:
                self.chain.validate_transaction(tx.xt, len(tx.encoded))
            except InvalidExtrinsic:
                invalid.append(tx.hash)
        if invalid:
            self.pool.prune([], invalid)

    def fetch_missing_weights(self, prefer: str | None = None) -> None:
        """Fetch the blobs execution lacked since the last call (an import or authoring attempt, a pool check, an RPC
        dry run), from `prefer` first when a peer's block needed them."""
        missing = weights_source.take_missing()
        if self.network is None:
            return
        for h in missing:
            self.network.weights.want(h, prefer)

    def import_justification(self, raw: bytes, peer: str | None = None) -> bool:
        self.signing.observe_justification(raw)  # votes of this validator's keys in it
        return self.checkpoint.import_justification(raw, peer)  # held back or refused against the checkpoint

    def add_finalized_listener(self, fn: Callable[[Header, bytes], None]) -> None:
        self._finalized_listeners.append(fn)

    def remove_finalized_listener(self, fn: Callable[[Header, bytes], None]) -> None:
        if fn in self._finalized_listeners:
            self._finalized_listeners.remove(fn)

    def notify_finalized(self, header: Header, block_hash: bytes) -> None:
        for fn in list(self._finalized_listeners):
            fn(header, block_hash)

    def peer_count(self) -> int:
        return len(self.p2p.peers()) if self.p2p is not None else 0

    def is_syncing(self) -> bool:
        return bool(self.network is not None and self.network.is_syncing)

    def add_head_listener(self, fn: Callable[[ImportedBlock], None]) -> None:
        self._head_listeners.append(fn)

    def remove_head_listener(self, fn: Callable[[ImportedBlock], None]) -> None:
        if fn in self._head_listeners:
            self._head_listeners.remove(fn)

    def _on_import(self, imported: ImportedBlock) -> None:
        self.upgrades.on_head()
        self.model_weights.on_block(imported)
        for fn in list(self._head_listeners):
            fn(imported)

    # running -----------------------------------------------------------------------------------------
    async def run(self) -> None:
        from btt_chain.rpc.cors import CorsPolicy
        from btt_chain.rpc.server import RpcServer

        loop = asyncio.get_running_loop()
        watch = StopWatch(self.stop, loop)  # a signalled stop is bounded, and says what it waited on if slow
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, watch.signalled, sig)
            except (NotImplementedError, RuntimeError):  # not the main thread (a node run in-process)
                pass
        await self._start_network()
        metrics_server = await self._start_metrics()
        rpc = RpcServer(self, self.config.rpc_host, self.config.rpc_port, unsafe=self.config.rpc_methods == "unsafe",
                        cors=CorsPolicy.parse(self.config.rpc_cors), explorer=self.config.explorer,
                        max_connections=self.config.rpc_max_connections, idle_timeout=self.config.rpc_idle_timeout)
        try:
            await rpc.start()
        except BaseException:
            if metrics_server is not None:
                await metrics_server.stop()
            await self._stop_network()
            raise
        self.rpc_url = rpc.url
        self.rpc_server = rpc
        head = self.chain.head
        log.info(
            "btt-chain node %s: chain %s (%s), genesis 0x%s, head #%d 0x%s (spec %d; runs specs %s), RPC %s",
            self.config.name, self.spec.name, self.spec.id, self.chain.genesis_hash.hex(), head.number,
            self.chain.head_hash.hex(), self.upgrades.head_spec, ", ".join(map(str, supported())), rpc.url,
        )
        leveldb = leveldb_build.build()
        (log.info if not leveldb.seek_compaction else log.warning)("database: %s", leveldb.describe())
        if self.authority:
            self._check_session_keys()
        tasks = [asyncio.create_task(self._author_loop(), name="author")] if self.authority else []
        tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        if self.config.demo_miner is not None or self.config.demo_clinic is not None:
            tasks.append(asyncio.create_task(self._demo_economy(rpc.port), name="demo-economy"))
        try:
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await rpc.stop()
            if metrics_server is not None:
                await metrics_server.stop()
            await self._stop_network()
            self.close()
            log.info("stopped at #%d 0x%s", self.chain.head.number, self.chain.head_hash.hex())

    def stop(self) -> None:
        self._stop.set()

    async def _start_network(self) -> None:
        if self.config.p2p_port is None:
            return
        from btt_chain.node.network import NetworkBridge, node_status
        from p2p.service import P2PService

        p2p = P2PService(p2p_config(self.config, self.data_dir, self.chain.genesis_hash))
        p2p.set_status_provider(lambda: node_status(self).encode())  # the handshake's: our head and specs
        await p2p.start()
        network = NetworkBridge(self, p2p, now_ms)
        await network.start()
        p2p.subscribe("votes", self.checkpoint.filter_votes(self.finality.on_vote_gossip))
        self.finality.publish_vote = network.publish_vote
        self.p2p, self.network = p2p, network
        log.info("p2p: peer id %s, listening on %s", p2p.local_peer_id, ", ".join(p2p.listen_addrs))

    async def _start_metrics(self) -> Any:
        """Start `/metrics` (btt_chain.node.metrics) unless switched off; the server, or None."""
        if self.config.prometheus_port is None:
            return None
        from btt_chain.node.metrics import MetricsServer, NodeMetrics

        self.metrics = NodeMetrics()
        self.metrics.attach(self)
        server = MetricsServer(self.metrics, self.config.prometheus_host, self.config.prometheus_port)
        try:
            await server.start()
        except OSError as exc:
            await self._stop_network()
            raise ConfigError(f"cannot serve Prometheus metrics on port {server.port}: {exc.strerror or exc} "
                              "(choose another with --prometheus-port, or --no-prometheus)") from None
        except BaseException:
            await self._stop_network()
            raise
        return server

    async def _stop_network(self) -> None:
        network, p2p = self.network, self.p2p
        self.network = self.p2p = None
        if network is not None:
            await network.stop()
        if p2p is not None:
            await p2p.stop()

    def close(self) -> None:
        if weights_source.installed() is self.content:
            weights_source.install(self._previous_weights)  # a process that goes on (tests) gets its source back
        self.kv.close()
        self.checker.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def _check_session_keys(self) -> None:
        """Say which session keys this node signs with, and build each registered key's hash chain now (not in its
        first slot), saying at once if its blocks could not reveal it."""
        from btt_chain.primitives.errors import InvalidBlock

        if not len(self.keys):
            log.warning("validating with no session key: insert one (`btt-chain key insert`, author_insertKey) or "
                        "make one (author_rotateKeys) and set it on chain (`btt-chain set-keys`)")
        for key in self.keys:
            log.info("validating with session key 0x%s", key.public.hex())
            try:
                self.chain.reveal_for(key)
            except InvalidBlock as exc:
                if "no hash-chain commitment" in str(exc):
                    log.info("session key 0x%s is not set on chain (yet): it signs once the chain names it",
                             key.public.hex()[:16])
                else:
                    log.error("session key 0x%s cannot author blocks: %s", key.public.hex()[:16], exc)

    def _rotate_hash_chain_if_due(self, key: Keypair) -> None:
        """Before the key's hash chain runs out, put a rotation to its next chain into the pool (and gossip). The next
        chain is built in a child process first (`hash_chain_builder`: seconds of CPU on btt-21m, which on the loop
        would miss slots); the rotation is submitted after a later block, once it is built."""
        generation = self.chain.rotation_generation(key)
        if generation is None:
            return
        length = self.genesis.spec.consensus.hash_chain_length
        if cached_hash_chain(key.seed, length, generation) is None:
            if self._building_next_chain is None or self._building_next_chain.done():
                self._building_next_chain = asyncio.get_running_loop().create_task(
                    self._build_next_chain(key, length, generation), name="next-hash-chain")
            return
        due = self.chain.rotation_due(key, self.next_account_index(key.public))
        if due is None:
            return
        head = self.chain.head.number
        if self._rotating_to is not None and self._rotating_to[0] == due[0] and head < self._rotating_to[1] + 64:
            return  # submitted already; submit again only if it has not landed within 64 blocks
        generation, xt = due
        try:
            self.submit_extrinsic(xt.encode())
        except BttError as exc:  # the session key cannot pay the fee yet: try again after the next block
            log.warning("hash chain nearly used up, but the rotation was refused: %s", exc)
            return
        self._rotating_to = (generation, head)
        log.info("hash chain nearly used up: rotating to chain %d (extrinsic 0x%s)", generation, xt.hash().hex()[:16])

    async def _build_next_chain(self, key: Keypair, length: int, generation: int) -> None:
        try:
            await builder_of(self).build(key.seed, length, generation)
        except (BuilderBusy, BuildFailed) as exc:  # tried again after the next block this key authors
            log.warning("could not build the next hash chain of session key 0x%s yet: %s", key.public.hex()[:16], exc)

    async def _author_loop(self) -> None:
        assert self.guard is not None
        clock = self.chain.clock
        considered = -1
        while True:
            t = now_ms()
            slot = clock.slot_at(t)
            if considered >= 0 and (slot > considered + 1
                                    or (slot > considered and t - clock.slot_start_ms(slot) >= clock.slot_ms // 2)):
                self._count_missed_behind_rpc(considered + 1, slot, t)
            if slot <= considered or t - clock.slot_start_ms(slot) >= clock.slot_ms // 2:
                slot += 1  # the next slot, at its start
                wait_s = max(0, clock.slot_start_ms(slot) - t) / 1000
                self._hold_rpc_for(slot, wait_s, clock.slot_ms / 2000)
                await asyncio.sleep(wait_s)
            # else: authoring the last slot ran into this one, still in its first half: this slot's turn is now, not
            # skipped (a busy machine lost every other slot of this node's that way)
            considered = slot
            try:
                self._author_slot(slot)
            finally:
                self._release_rpc()
            try:  # a vote due at this slot's start comes whether or not a block does
                self.finality.on_slot()
            except Exception:
                log.exception("voting at slot %d failed", slot)

    def _hold_rpc_for(self, slot: int, wait_s: float, half_slot_s: float) -> None:
        """Ask the RPC lane to start no unit from just before `slot` (`wait_s` from now) until it is authored, if
        this node's key is its leader (on the head as it is now: a block imported meanwhile may change it, and then
        the lane was only held a moment for nothing)."""
        server = getattr(self, "rpc_server", None)
        if server is None or self.keys.get(self.chain.leader(slot)) is None:
            return
        now = server.lane.clock()
        server.lane.hold(now + wait_s, now + wait_s + half_slot_s)

    def _count_missed_behind_rpc(self, first: int, last: int, t: int) -> None:
        """Slots `first`..`last` (the last only if its first half is over at `t`) went by unauthored: each this
        node led while an RPC unit was running at its start, or started in its first half, counts in
        `btt_slots_missed_behind_rpc` (the RPC lane must never hold the author; a slot lost to a busy machine alone,
        the author's timer firing late with the lane idle, is not counted)."""
        server, metrics, clock = getattr(self, "rpc_server", None), self.metrics, self.chain.clock
        if server is None or metrics is None or self.chain.head.slot >= last:
            return
        lane = server.lane
        for slot in range(max(first, last - 64), last + 1):
            start = clock.slot_start_ms(slot)
            if slot == last and t - start < clock.slot_ms // 2:
                continue
            at = lane.clock() - (t - start) / 1000  # the slot's start on the lane's clock
            if slot > self.chain.head.slot and self.keys.get(self.chain.leader(slot)) is not None \
                    and lane.held_up(at, at + clock.slot_ms / 2000):
                metrics.slots_missed_behind_rpc.inc()

    def _release_rpc(self) -> None:
        server = getattr(self, "rpc_server", None)
        if server is not None:
            server.lane.release()

    def _author_slot(self, slot: int) -> None:
        """Author `slot` if this node's key leads it and may sign it."""
        assert self.guard is not None
        if slot <= self.chain.head.slot or self.chain.halt is not None:  # stopped at an upgrade: said once
            return
        key = self.keys.get(self.chain.leader(slot))  # the schedule names a session key: this node's, or not
        if key is None:
            return
        if not self.signing.may_sign_block(key, slot):  # synced, no second signer, one validator account
            return
        if not self.guard.may_sign_block(slot):
            log.warning("not signing slot %d: already signed up to slot %d", slot, self.guard.last_block_slot)
            return
        try:
            self.guard.record_block(slot)
            if self.config.unsafe_equivocate:
                self._equivocate(slot, key)
            imported, dropped = self._author_without_faults(slot, key)
        except UpgradeHalt:  # this block needs a spec this node does not run, or its migration fails: said once
            return
        except InvalidBlock as exc:  # this key cannot author (its hash chain, its registration): said once
            if str(exc) != self._cannot_author:
                self._cannot_author = str(exc)
                log.error("cannot author slot %d with session key 0x%s: %s", slot, key.public.hex()[:16], exc)
            return
        except Exception:
            log.exception("authoring slot %d failed", slot)
            return
        finally:
            self.fetch_missing_weights()  # extrinsics left in the pool for a blob this node lacks
        if self.network is not None:
            block = imported.block
            if self.config.unsafe_gossip_invalid_blocks:
                bad = block.header.replace(state_root=bytes(32)).sealed(key, self.chain.genesis_hash)
                block = block.replace(header=bad)
                log.warning("test helper: gossiping block #%d with a wrong state root", bad.number)
            self.network.announce_block(block)
        self.finality.on_block_header(imported.block.header)
        self.finality.on_new_head()
        self.pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])
        self._cannot_author = None
        self._rotate_hash_chain_if_due(key)
        for xt, why in dropped:
            log.info("dropped extrinsic 0x%s from the pool: %s", xt.hash().hex()[:16], why)
        h = imported.block.header
        log.info(
            "authored #%d 0x%s slot %d with %d transactions", h.number, imported.hash.hex()[:16], h.slot,
            len(imported.block.transactions),
        )

    def _author_without_faults(self, slot: int, key: Keypair) -> tuple[ImportedBlock, list[tuple[Extrinsic, str]]]:
        """`chain.author_block` from the pool's ready transactions; a transaction the runtime fails on (ExtrinsicFault:
        a bug in its call) leaves the pool, banned, and the block is built again without it, up to
        MAX_FAULTS_PER_SLOT times (each attempt re-executes the block up to the faulty transaction)."""
        for attempt in range(MAX_FAULTS_PER_SLOT + 1):
            candidates = ((t.xt, len(t.encoded)) for t in self.pool.ready())
            try:
                return self.chain.author_block(slot, key, candidates)
            except ExtrinsicFault as fault:
                xt = fault.xt
                assert isinstance(xt, Extrinsic)
                log.error("the runtime failed on extrinsic 0x%s (%s, nonce %d): dropped from the pool and left out of "
                          "slot %d's block (a runtime bug: please report this log)", xt.hash().hex(),
                          "0x" + xt.signer.hex()[:16], xt.nonce, slot, exc_info=fault.__cause__)
                self.pool.prune([], [xt.hash()])
                if attempt == MAX_FAULTS_PER_SLOT:
                    raise
        raise AssertionError("unreachable")  # the loop returns or raises

    def _equivocate(self, slot: int, key: Keypair) -> None:
        """Test helper (--unsafe-equivocate): gossip a second block for `slot` that differs from the real one."""
        from btt_chain.primitives.extrinsic import sign_extrinsic

        runtime = self.chain.runtime
        remark = sign_extrinsic(
            key, runtime.call("system.remark", b"equivocation"), self.next_account_index(key.public),
            self.chain.genesis_hash, runtime.spec_version,
        )
        twin = self.chain.build_block(slot, key, [(remark, len(remark.encode()))])
        if self.network is not None:
            self.network.announce_block(twin)
        log.warning("test helper: signed a second block for slot %d", slot)

    async def _demo_economy(self, rpc_port: int) -> None:
        from btt_chain.miner.demo import DemoConfig, DemoEconomy

        config = DemoConfig(
            f"http://127.0.0.1:{rpc_port}", self.data_dir / "demo", self.config.demo_miner, self.config.demo_clinic
        )
        await DemoEconomy(config).run()

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(10)
            self.model_weights.retain_if_due()
            h = self.chain.head
            halt = self.chain.halt
            log.info(
                "status: head #%d 0x%s, finalized #%d, peers %d, pool %d%s", h.number, self.chain.head_hash.hex()[:16],
                self.chain.finalized.number, self.peer_count(), len(self.pool),
                "" if halt is None else f", stopped before block #{halt.number} (spec {halt.spec})",
            )
