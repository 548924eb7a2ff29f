"""`btt-chain set-keys` and `btt-chain key insert`: a validator's session keys, apart from its stash (Substrate's
`author_rotateKeys` + `session.set_keys`, and `key insert`).

The node that will sign holds the key (`btt_chain.node.keystore`); the stash, wherever its key is, signs
`session.set_keys` with the node's proof that it holds the key. One command does the round: it asks the signing
node (`--node-rpc`, which must serve unsafe methods on loopback: run it on that machine, or tunnel) for new keys, or
takes `--keys`, gets the proof from that node and submits the call from the stash.
"""

from __future__ import annotations

from pathlib import Path

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from cli.accounts import resolve_signer
from cli.output import print_fields, print_json
from cli.submit import echo_submitted, submit_call


@click.command("set-keys")
@click.option("--from", "sender", required=True, help="The validator's stash: a key file (a dev name on dev chains).")
@click.option("--node-rpc", required=True, help="JSON-RPC URL of the node that will sign (unsafe methods on loopback).")
@click.option("--keys", "keys_hex", default=None, metavar="0xKEYS",
              help="Session keys the node already holds (author_rotateKeys' answer); default: ask it for new ones.")
@click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL to submit through.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def set_keys(sender: str, node_rpc: str, keys_hex: str | None, rpc: str, as_json: bool) -> None:
    """Move a validator's block and vote signing to new session keys held by the node at --node-rpc: from the epoch
    after next that node signs, and the old key stops. The bond is untouched."""
    from runtime.session.types import SessionKeys

    node = RpcClient(node_rpc)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    if keys_hex is None:
        keys_hex = str(node.call("author_rotateKeys"))
    try:
        raw = bytes.fromhex(keys_hex[2:] if keys_hex.startswith("0x") else keys_hex)
    except ValueError:
        raise ConfigError(f"--keys {keys_hex!r} is not hex") from None
    if len(raw) != 64:
        raise ConfigError(f"--keys: expected 64 bytes (the session key and its hash-chain commitment), got {len(raw)}")
    keys = SessionKeys.decode(raw)
    owner = encode_address(signer.account, info.ss58_prefix)
    proof = bytes.fromhex(str(node.call("btt_sessionKeysProof", "0x" + raw.hex(), owner))[2:])
    sub = submit_call(client, info, signer, "session.set_keys", (keys, proof))
    if as_json:
        print_json({"sessionKey": "0x" + keys.session_key.hex(), "hashChainCommitment":
                    "0x" + keys.hash_chain_commitment.hex(), "stash": owner, **(sub.status or {})})
        return
    echo_submitted(sub, False, info.decimals, info.symbol)
    event = next((e for e in (sub.status or {}).get("events") or [] if e.get("event") == "SessionKeysSet"), None)
    print_fields([
        ("session key", "0x" + keys.session_key.hex()),
        ("stash", owner),
        ("signs from epoch", str(event["from_epoch"]) if event else "the epoch after next"),
    ])


@click.command("insert")
@click.option("--base-path", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The node's base path (its keystore is <base>/chains/<chain id>/keystore).")
@click.option("--chain", default="btt-21m", show_default=True, help="Preset or chain-spec file.")
@click.option("--suri", default=None, help="Secret URI of the ed25519 key (a phrase, 0x seed or //Dev path).")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A key file (`btt-chain key generate --output`) instead of --suri.")
@click.option("--key-type", type=click.Choice(["sess", "babe", "gran", "aura"]), default="sess", show_default=True,
              help="Substrate's key types all name the one session key here.")
def key_insert(base_path: Path, chain: str, suri: str | None, key_file: Path | None, key_type: str) -> None:
    """Put a session key into a node's keystore (the node need not run; a running one sees it when restarted, or use
    author_insertKey)."""
    from btt_chain.node.keystore import DIRECTORY, write_key
    from btt_chain.primitives.mnemonic import keypair_from_suri
    from cli.passwords import open_keyfile
    from genesis.loader import load_chain_spec

    if (suri is None) == (key_file is None):
        raise click.UsageError("give one of --suri and --key-file")
    pair = keypair_from_suri(suri) if suri is not None else open_keyfile(key_file)  # type: ignore[arg-type]
    if not isinstance(pair, Keypair):
        raise ConfigError("a session key is ed25519: this key is of another scheme")
    spec = load_chain_spec(chain)
    path = write_key(base_path / "chains" / spec.id / DIRECTORY, pair)
    click.echo(f"inserted session key 0x{pair.public.hex()} into {path.parent}")
