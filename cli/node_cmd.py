"""`btt-chain node` and `btt-chain purge-chain`."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import click

from btt_chain.consensus.signing_gate import DEFAULT_WATCH_EPOCHS
from btt_chain.log_config import FORMATS, parse_log_spec, setup_logging
from btt_chain.node.stop_watch import dump_stacks_on_signal
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.gc_pause import settle_heap
from btt_chain.primitives.keys import Keypair, dev_keypair, is_dev_name
from btt_chain.primitives.signatures import SCHEME_NAMES
from cli.checkpoint_option import parse_checkpoint_option
from cli.passwords import open_keyfile
from cli.process_end import end_without_teardown
from genesis.loader import load_chain_spec
from genesis.spec import CHECKPOINT_SYNTAX, TrustedCheckpoint


def _check_key_option(key: str | None, chain_type: str, tmp: bool) -> None:
    """What the command line alone says is wrong with a validator's `--key` (no file is read: a key file may ask for
    its password)."""
    if key is None:
        if tmp:
            raise ConfigError("--validator needs --key KEYFILE (or a dev name on a dev chain): a --tmp node's keystore "
                              "starts empty and is gone when it stops")
    elif is_dev_name(key.lower()) and chain_type not in ("dev", "local"):
        raise ConfigError(f"dev key {key!r} is only accepted on dev chains")


def _validator_key(key: str | None, chain_type: str, tmp: bool) -> Keypair | None:
    """The `--key` of a validator, or None when it signs with its keystore's keys only (it may have none yet: it
    says so at start, and signs once a key is inserted or made with author_rotateKeys and set on chain)."""
    _check_key_option(key, chain_type, tmp)
    if key is None:
        return None
    if is_dev_name(key.lower()):
        return dev_keypair(key.lower())
    pair = open_keyfile(Path(key))
    if not isinstance(pair, Keypair):  # seals and finality votes are ed25519 signatures (`btt_chain.primitives.keys`)
        raise ConfigError(f"{key} holds an {SCHEME_NAMES[pair.scheme]} key: a validator's session key is ed25519 "
                          "(make one with `btt-chain key generate --output FILE`)")
    return pair


def _check_bootnodes(bootnodes: tuple[str, ...]) -> tuple[str, ...]:
    for addr in bootnodes:
        parts = addr.split("/")
        if len(parts) != 7 or parts[1] not in ("ip4", "ip6", "dns4") or parts[3] != "tcp" or parts[5] != "p2p":
            raise ConfigError(f"--bootnodes {addr!r} is not a multiaddr like /ip4/127.0.0.1/tcp/30333/p2p/PEERID")
        if not (parts[4].isascii() and parts[4].isdigit()) or not 0 < int(parts[4]) < 65536:
            raise ConfigError(f"--bootnodes {addr!r} has a bad port")
    return bootnodes


def _demo_roles(demo: bool, clinic: str, validator_key: str | None, chain_type: str) -> tuple[str | None, str | None]:
    """(miner key, clinic key) of --demo-economy: the miner is the validator, so its work weights its slots."""
    if not demo:
        return None, None
    if chain_type not in ("dev", "local"):
        raise ConfigError("--demo-economy runs only on dev and local chains (it signs with dev keys)")
    if clinic.lower() != "none" and not is_dev_name(clinic.lower()) and not Path(clinic).is_file():
        raise ConfigError(f"--demo-clinic {clinic!r} is neither a dev name, a key file nor `none`")
    if validator_key is None and clinic.lower() == "none":
        raise ConfigError("--demo-economy has nothing to run: no validator key for the miner and --demo-clinic none")
    miner = None
    if validator_key is not None:
        miner = validator_key.lower() if is_dev_name(validator_key.lower()) else str(Path(validator_key).resolve())
    clinic_key = None
    if clinic.lower() != "none":
        clinic_key = clinic.lower() if is_dev_name(clinic.lower()) else str(Path(clinic).resolve())
    return miner, clinic_key


def _parse_state_pruning(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    from btt_chain.node.pruning import parse_state_pruning

    try:
        return parse_state_pruning(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _parse_telemetry(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[Any, ...]:
    from btt_chain.node.telemetry import TelemetryEndpoint

    try:
        return tuple(TelemetryEndpoint.parse(v) for v in value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _parse_max_spec(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    from runtime import specs

    if value is not None and value < specs.OLDEST:
        raise click.BadParameter(f"{value}: this release runs specs {specs.OLDEST} to {specs.NEWEST}, so a node "
                                 f"limited to {value} could run none of them")
    return value


def _parse_log(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> str:
    spec = ",".join(value)
    try:
        parse_log_spec(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return spec


@click.command()
@click.option("--dev", is_flag=True,
              help="Dev chain: --chain dev, validate as alice, temporary data unless --base-path.")
@click.option("--chain", "chain", default=None, help="Preset (dev, btt-21m, btt-210m) or chain-spec JSON file.")
@click.option("--base-path", type=click.Path(file_okay=False, path_type=Path), help="Where the node keeps its data.")
@click.option("--tmp", is_flag=True, help="Keep data in a temporary directory deleted on exit.")
@click.option("--validator", is_flag=True, help="Author blocks when this node's key leads a slot.")
@click.option("--key", "key", default=None, help="Validator key file (or a dev name on dev chains).")
@click.option("--rpc-port", type=click.IntRange(0, 65535), default=9944, show_default=True)
@click.option("--port", "p2p_port", type=click.IntRange(0, 65535), default=30333, show_default=True,
              help="libp2p TCP port (127.0.0.1 unless --p2p-external).")
@click.option("--no-p2p", is_flag=True, help="Run without networking (a lone node).")
@click.option("--p2p-external", is_flag=True, help="Listen for peers on all interfaces.")
@click.option("--bootnodes", multiple=True, help="Peer multiaddr /ip4/HOST/tcp/PORT/p2p/PEERID (repeatable).")
@click.option("--in-peers", type=click.IntRange(0, 1000), default=25, show_default=True,
              help="Most inbound peers (connections other nodes opened to us).")
@click.option("--out-peers", type=click.IntRange(0, 1000), default=8, show_default=True,
              help="Outbound peers to keep: the node dials peers it learnt by peer exchange up to this many.")
@click.option("--no-discovery", is_flag=True, help="Dial only --bootnodes; neither ask for nor serve peer addresses.")
@click.option("--unsafe-clock-skew-ms", "clock_skew_ms", type=int, default=0, hidden=True,
              help="Test helper: add this many milliseconds to every clock read (testnet `clock` perturbation).")
@click.option("--node-key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="libp2p identity key (default: <base-path>/chains/<id>/network/node-key).")
@click.option("--unsafe-equivocate", is_flag=True, hidden=True,
              help="Test helper: double-sign every block this validator authors. Gets the validator slashed.")
@click.option("--unsafe-gossip-invalid-blocks", is_flag=True, hidden=True,
              help="Test helper: gossip authored blocks with a wrong state root. Gets this node banned.")
@click.option("--rpc-external", is_flag=True, help="Listen for RPC on all interfaces (default: 127.0.0.1 only).")
@click.option("--rpc-methods", type=click.Choice(["safe", "unsafe"]), default="safe", show_default=True)
@click.option("--rpc-cors", default=None, metavar="all|ORIGIN,...",
              help="Web pages (Origin) allowed to call the RPC: `all`, or comma-separated origins "
                   "[default: pages on localhost and 127.0.0.1].")
@click.option("--rpc-max-connections", type=click.IntRange(5, 10_000), default=100, show_default=True,
              help="Most WebSocket connections at once; a fifth (at most 20) is kept for loopback callers, and when "
                   "all are taken the address holding the most gives up its longest-idle one.")
@click.option("--rpc-idle-timeout", type=click.FloatRange(1, 86_400), default=120, show_default=True,
              help="Seconds a WebSocket may stay without a request or a subscription before it is closed.")
@click.option("--no-explorer", is_flag=True, help="Do not serve the web explorer on the RPC port.")
@click.option("--name", default="btt-node", show_default=True, help="Node name shown in logs.")
@click.option("--sig-workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Worker processes for signature checks of large blocks (0: in-process).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@click.option("-l", "--log", "log_spec", multiple=True, callback=_parse_log, metavar="[LEVEL,]TARGET=LEVEL,...",
              help="Log levels by target, Substrate's syntax: e.g. `info,btt.rpc=debug,btt.p2p=warning` "
                   "(a bare level sets the root; levels trace, debug, info, warn, error, off). Repeatable.")
@click.option("--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="`json`: one object per line with time, level, target and message.")
@click.option("--prometheus-port", type=click.IntRange(0, 65535), default=9615, show_default=True,
              help="Serve Prometheus metrics at /metrics on this port (127.0.0.1 unless --prometheus-external).")
@click.option("--prometheus-external", is_flag=True, help="Serve Prometheus metrics on all interfaces.")
@click.option("--no-prometheus", is_flag=True, help="Do not serve Prometheus metrics.")
@click.option("--demo-economy", is_flag=True,
              help="Dev and local chains: also run a demo clinic and a miner (the validator key) on this node's RPC.")
@click.option("--demo-clinic", default="ferdie", show_default=True,
              help="With --demo-economy: the clinic's key (dev name or key file), or `none`.")
@click.option("--checkpoint", callback=parse_checkpoint_option, metavar="HASH@NUMBER",
              help=f"Trusted block {CHECKPOINT_SYNTAX}, overriding the chain spec's: chains without it are refused.")
@click.option("--telemetry-url", "telemetry_urls", multiple=True, callback=_parse_telemetry, metavar="'URL VERBOSITY'",
              help="Send Substrate telemetry (system.connected, system.interval, block.import, notify.finalized) to "
                   "this WebSocket endpoint, e.g. 'wss://telemetry.example/submit/ 0' (repeatable; none by default).")
@click.option("--sync", "sync_mode", type=click.Choice(["full", "warp"]), default="full", show_default=True,
              help="full: import every block from genesis (or the trusted checkpoint); warp: an empty database is "
                   "filled with the latest finalized block's state from a verified warp proof, then blocks from "
                   "there (older blocks are not held).")
@click.option("--state-pruning", "state_pruning", callback=_parse_state_pruning, default="256", show_default=True,
              metavar="N|archive",
              help="Serve state (state_* and btt_* queries with a block hash) for the last N finalized blocks and "
                   "every block after the finalized head, as Substrate does, or every block with `archive`.")
@click.option("--doppelganger-epochs", type=click.IntRange(0, 1000), default=DEFAULT_WATCH_EPOCHS, show_default=True,
              help="A validator started without signing records on a chain past genesis first watches the network "
                   "this many epochs for blocks and votes signed with its own keys (another process signing for it) "
                   "and signs only if it sees none; 0 turns the watch off, which is unsafe after a restore (see "
                   "`btt-chain signing-records`).")
@click.option("--max-spec", "max_spec", type=int, default=None, callback=_parse_max_spec, metavar="SPEC",
              help="Run no spec above SPEC, as a release that does not carry the newer rules would (a node left behind "
                   "at an upgrade: it says so once the chain schedules a newer spec, and stops before its block) "
                   "[default: every spec this release runs].")
def node(
    dev: bool,
    chain: str | None,
    base_path: Path | None,
    tmp: bool,
    validator: bool,
    key: str | None,
    rpc_port: int,
    p2p_port: int,
    no_p2p: bool,
    p2p_external: bool,
    bootnodes: tuple[str, ...],
    in_peers: int,
    out_peers: int,
    no_discovery: bool,
    clock_skew_ms: int,
    node_key_file: Path | None,
    unsafe_equivocate: bool,
    unsafe_gossip_invalid_blocks: bool,
    rpc_external: bool,
    rpc_methods: str,
    rpc_cors: str | None,
    rpc_max_connections: int,
    rpc_idle_timeout: float,
    no_explorer: bool,
    name: str,
    sig_workers: int,
    log_level: str,
    log_spec: str,
    log_format: str,
    prometheus_port: int,
    prometheus_external: bool,
    no_prometheus: bool,
    demo_economy: bool,
    demo_clinic: str,
    checkpoint: TrustedCheckpoint | None,
    state_pruning: int | None,
    telemetry_urls: tuple[Any, ...],
    sync_mode: str = "full",
    doppelganger_epochs: int = DEFAULT_WATCH_EPOCHS,
    max_spec: int | None = None,
) -> None:
    """Run a node."""
    from btt_chain.node.service import Node, NodeConfig, set_clock_skew_ms
    from btt_chain.node.telemetry import run_with_telemetry
    from runtime import specs

    specs.limit(max_spec)  # first: the chain spec's genesis spec is checked against what this node runs

    if dev:
        chain = chain or "dev"
        validator = True
        key = key or "alice"
        if base_path is None:
            tmp = True
    if chain is None:
        chain = "btt-21m"
    spec_checked = load_chain_spec(chain)  # an unknown chain is the first thing to say, before any path
    if tmp and base_path is not None:
        raise click.UsageError("give either --tmp or --base-path, not both")
    if not tmp and base_path is None:
        raise click.UsageError("give --base-path DIR (or --tmp, or --dev for a throwaway dev chain)")
    if rpc_external and rpc_methods == "unsafe":
        raise click.UsageError("unsafe RPC methods are only served on loopback: drop --rpc-external")
    from btt_chain.rpc.cors import CorsPolicy

    CorsPolicy.parse(rpc_cors)  # a bad value is one error line, before anything starts
    if sync_mode == "warp":  # what the command line alone shows, before the ports are probed
        from btt_chain.node.warp_start import refuse_warp_options

        refuse_warp_options(base_path, no_p2p, spec_checked)
    # the rest of what the command line alone shows is wrong, before the ports: a taken port (another node on the
    # default one) must not hide a mistake in the arguments
    if validator:
        _check_key_option(key, spec_checked.chain_type, tmp)
    demo_miner, demo_clinic_key = _demo_roles(demo_economy, demo_clinic, key if validator else None,
                                              spec_checked.chain_type)
    bootnodes = _check_bootnodes(bootnodes)
    from storage.leveldb import check_environment

    check_environment()  # what the environment sets for the database, before the ports too
    from btt_chain.node.listen_ports import ListenPort, check_listen_ports

    rpc_host, p2p_host, prometheus_host = ("0.0.0.0" if external else "127.0.0.1"
                                           for external in (rpc_external, p2p_external, prometheus_external))
    check_listen_ports([  # a taken port is one error line before the database is opened or anything logged
        ListenPort("serve RPC", rpc_host, rpc_port, "another node? choose another port with --rpc-port"),
        ListenPort("listen for peers", p2p_host, None if no_p2p else p2p_port,
                   "another node? choose another port with --port, or --no-p2p"),
        ListenPort("serve Prometheus metrics", prometheus_host, None if no_prometheus else prometheus_port,
                   "choose another with --prometheus-port, or --no-prometheus"),
    ])
    spec = spec_checked
    pair = _validator_key(key, spec.chain_type, tmp) if validator else None
    if pair is not None:  # a first start: its key against the spec's genesis registration, before anything is made
        from btt_chain.node.validator_check import refuse_if_genesis_disagrees

        refuse_if_genesis_disagrees(spec, pair, base_path)
    setup_logging(log_level, log_spec, log_format)
    dump_stacks_on_signal()  # `kill -USR1 <pid>`: every thread's stack to standard error (btt_chain.node.stop_watch)
    set_clock_skew_ms(clock_skew_ms)
    config = NodeConfig(
        chain=chain,
        base_path=base_path,
        tmp=tmp,
        validator_key=pair,
        validator=validator,
        rpc_host=rpc_host,
        rpc_port=rpc_port,
        rpc_methods=rpc_methods,
        rpc_cors=rpc_cors,
        rpc_max_connections=rpc_max_connections,
        rpc_idle_timeout=rpc_idle_timeout,
        explorer=not no_explorer,
        signature_workers=sig_workers,
        name=name,
        p2p_port=None if no_p2p else p2p_port,
        bootnodes=bootnodes,
        in_peers=in_peers,
        out_peers=out_peers,
        discovery=not no_discovery,
        node_key_file=node_key_file,
        p2p_host=p2p_host,
        unsafe_equivocate=unsafe_equivocate,
        unsafe_gossip_invalid_blocks=unsafe_gossip_invalid_blocks,
        demo_miner=demo_miner,
        demo_clinic=demo_clinic_key,
        checkpoint=checkpoint,
        prometheus_host=prometheus_host,
        prometheus_port=None if no_prometheus else prometheus_port,
        state_pruning=state_pruning,
        doppelganger_epochs=doppelganger_epochs,
    )
    if sync_mode == "warp":
        from btt_chain.node.warp_start import warp_in_child, warp_needed

        if warp_needed(config):
            warp_in_child(config, (log_level, log_spec, log_format))
        else:
            logging.getLogger("btt.warp").info("the database holds a chain already: syncing block by block from it")
    else:  # full sync from genesis: a genesis state file the spec names but this node lacks is fetched from peers
        from btt_chain.node.genesis_fetch import fetch_in_child, fetch_needed

        if fetch_needed(config, spec):
            fetch_in_child(config, (log_level, log_spec, log_format))
    n = Node(config)
    if pair is not None:  # its key against its registration at the head (on a restart: what blocks changed since)
        from btt_chain.node.validator_check import refuse_if_key_disagrees

        refuse_if_key_disagrees(n, pair)
    settle_heap()  # the start-up heap is never scanned again; the young generation holds a few blocks' objects
    try:
        asyncio.run(run_with_telemetry(n, telemetry_urls))
    except OSError as exc:
        raise ConfigError(f"cannot start the node: {exc}") from None
    finally:
        n.close()  # idempotent: run() closes on a clean stop; this covers a failed start
    end_without_teardown(0)  # stopped cleanly: the interpreter's teardown would only spend seconds freeing memory


@click.command("purge-chain")
@click.option("--chain", default="btt-21m", show_default=True, help="Preset or chain-spec file.")
@click.option("--dev", is_flag=True, help="Same as --chain dev.")
@click.option("--base-path", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_chain(chain: str, dev: bool, base_path: Path, yes: bool) -> None:
    """Delete a chain's database (blocks and state) under --base-path; validator signing records are kept."""
    from btt_chain.node.service import SPEC_FILE

    spec = load_chain_spec("dev" if dev else chain)
    chain_dir = base_path / "chains" / spec.id
    db = chain_dir / "db"
    if not db.exists():
        raise ConfigError(f"nothing to purge: {db} does not exist")
    if not yes:
        click.confirm(f"Delete {db}?", abort=True)
    shutil.rmtree(db)
    # a materialised spec (dev) goes too, so the next start makes a fresh genesis
    (chain_dir / SPEC_FILE).unlink(missing_ok=True)
    click.echo(f"deleted {db}")
