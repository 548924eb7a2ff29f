"""The node service: opens the database, builds genesis, runs the tx pool, block authoring and JSON-RPC.

Asynchronous only here, at the edge; the chain and runtime underneath are synchronous.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from btt_chain.node.chain import Chain, ImportedBlock
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.node.signing_guard import SigningGuard
from btt_chain.node.txpool import TxPool
from btt_chain.primitives.errors import ConfigError, StorageError
from btt_chain.primitives.keys import Keypair
from genesis.build import Genesis, build_genesis
from genesis.loader import canonical_json, load_chain_spec, materialise, parse_chain_spec
from genesis.spec import ChainSpec
from runtime.system import storage as system
from storage.leveldb import LevelDBStore

log = logging.getLogger("btt.node")

SPEC_FILE = "chain-spec.json"


@dataclass(frozen=True)
class NodeConfig:
    chain: str
    """Preset name or chain-spec file."""
    base_path: Path | None
    tmp: bool
    validator_key: Keypair | None
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 9944
    rpc_methods: str = "safe"
    """'safe' or 'unsafe' (unsafe methods only ever on loopback)."""
    signature_workers: int = 0
    name: str = "btt-node"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.spec = resolve_spec(config.chain, self.data_dir)
        self.genesis: Genesis = build_genesis(self.spec)
        self.kv = LevelDBStore(self.data_dir / "db")
        try:
            self.chain = Chain(self.kv, self.genesis, self.checker)
        except StorageError:
            self.kv.close()
            raise
        self.pool = TxPool(self.chain.validate_transaction, self.account_nonce)
        # one record per genesis: a purged dev chain starts its slots again without tripping the guard
        guard_file = self.data_dir / f"signing-{self.chain.genesis_hash.hex()[:16]}.json"
        self.guard = SigningGuard(guard_file) if config.validator_key else None
        self.started_ms = now_ms()
        self._stop = asyncio.Event()
        self._head_listeners: list[Callable[[ImportedBlock], None]] = []
        self.chain.on_import(self._on_import)
        self.rpc_url: str | None = None

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
        return self.pool.submit(encoded)

    def add_head_listener(self, fn: Callable[[ImportedBlock], None]) -> None:
        self._head_listeners.append(fn)

    def remove_head_listener(self, fn: Callable[[ImportedBlock], None]) -> None:
        if fn in self._head_listeners:
            self._head_listeners.remove(fn)

    def _on_import(self, imported: ImportedBlock) -> None:
        for fn in list(self._head_listeners):
            fn(imported)

    # running -----------------------------------------------------------------------------------------
    async def run(self) -> None:
        from btt_chain.rpc.server import RpcServer

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):
                pass
        rpc = RpcServer(self, self.config.rpc_host, self.config.rpc_port, unsafe=self.config.rpc_methods == "unsafe")
        await rpc.start()
        self.rpc_url = rpc.url
        head = self.chain.head
        log.info(
            "btt-chain node %s: chain %s (%s), genesis 0x%s, head #%d 0x%s, RPC %s",
            self.config.name, self.spec.name, self.spec.id, self.chain.genesis_hash.hex(), head.number,
            self.chain.head_hash.hex(), rpc.url,
        )
        if self.config.validator_key is not None:
            log.info("validating with session key 0x%s", self.config.validator_key.public.hex())
        tasks = [asyncio.create_task(self._author_loop(), name="author")] if self.config.validator_key else []
        tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        try:
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await rpc.stop()
            self.close()
            log.info("stopped at #%d 0x%s", self.chain.head.number, self.chain.head_hash.hex())

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.kv.close()
        self.checker.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    async def _author_loop(self) -> None:
        key = self.config.validator_key
        assert key is not None and self.guard is not None
        clock = self.chain.clock
        while True:
            t = now_ms()
            slot = clock.slot_at(t) + 1
            await asyncio.sleep(max(0, clock.slot_start_ms(slot) - t) / 1000)
            if slot <= self.chain.head.slot or self.chain.leader(slot) != key.public:
                continue
            if not self.guard.may_sign_block(slot):
                log.warning("not signing slot %d: already signed up to slot %d", slot, self.guard.last_block_slot)
                continue
            try:
                self.guard.record_block(slot)
                candidates = ((t.xt, len(t.encoded)) for t in self.pool.ready())
                imported, dropped = self.chain.author_block(slot, key, candidates)
            except Exception:
                log.exception("authoring slot %d failed", slot)
                continue
            self.pool.prune([x.hash() for x in imported.block.extrinsics], [x.hash() for x, _ in dropped])
            for xt, why in dropped:
                log.info("dropped extrinsic 0x%s from the pool: %s", xt.hash().hex()[:16], why)
            h = imported.block.header
            log.info(
                "authored #%d 0x%s slot %d with %d extrinsics", h.number, imported.hash.hex()[:16], h.slot,
                len(imported.block.extrinsics),
            )

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(10)
            h = self.chain.head
            log.info("status: head #%d 0x%s, pool %d", h.number, self.chain.head_hash.hex()[:16], len(self.pool))
