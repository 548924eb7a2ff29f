"""`btt-chain set-keys`, `btt-chain register-validator` and `btt-chain key insert`: a validator's session keys, apart
from its stash (Substrate's `author_rotateKeys` + `session.set_keys`, and `key insert`), and the registration that
makes a bonded account a validator with them (`bonds.register_validator`).

The node that will sign holds the key (`btt_chain.node.keystore`); the stash, wherever its key is, signs the call
with the node's proof that it holds the key. One command does the round: it asks the signing node (`--node-rpc`,
which must serve unsafe methods on loopback: run it on that machine, or tunnel) for new keys, or takes `--keys`,
gets the proof from that node and submits the call from the stash (`send_with_node_keys`, both commands' round).

Every check that can refuse comes before the signing node is asked for a key (a refused try leaves no key behind
and costs it no hash chain): the stash is a registered validator (set-keys), or is none yet and is bonded at least
`bonds.min_validator_bond` (register-validator; `btt_bonds`, `btt_params`), the call would be included and paid for
(a dry run of it with a throwaway key, the same size and fee, never sent; from spec 17 with a zero proof, which the
chain checks last, so the extrinsic the --rpc node sees could never set a key), `--node-rpc` is on the same chain,
and it holds no session key the chain gives to another validator (`btt_localSessionKeys`, and the active set as `--rpc`
sees it): one process signing for two validators is refused, in one line. With `--fee-only` (and no `--keys`) the
fee is quoted with a throwaway key and the signing node is asked for none.

`bonds.register_validator` takes the key's proof from spec 17 on, (session_key, hash_chain_commitment) before: the
form is the one the node's call table gives (`registration`), as `--args` of the generic commands follow it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

import cli.submit
from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient, RpcError
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair, Signer
from cli.accounts import resolve_signer
from cli.output import print_fields, print_json
from cli.submit import FeeShown, Submitted, echo_fee, echo_submitted, submit_call

if TYPE_CHECKING:
    from runtime.session.types import SessionKeys

NODE_TIMEOUT_S = 180.0
"""How long to wait for the signing node's answers: author_rotateKeys builds a hash chain (~7 s at btt-21m's 2**24
reveals) and may wait behind three others."""
NOTHING_DONE = "nothing was made or submitted"
REGISTER = "bonds.register_validator"
MIN_VALIDATOR_BOND = "bonds.min_validator_bond"
"""The parameter `bonds.register_validator` holds the stash's active bond to (runtime/bonds/logic.py)."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class KeysCall:
    """A call the stash sends with session keys its signing node holds, and what a refusal says it could not do."""

    name: str
    """module.call"""
    doing: str
    """What the stash could not do, in a refusal: "(--from) cannot <doing> now"."""
    args: Callable[[SessionKeys, bytes], tuple[Any, ...]]
    """The call's arguments from the keys and the key's proof of possession for the stash."""


SET_KEYS = KeysCall("session.set_keys", "set session keys", lambda keys, proof: (keys, proof))


def registration(info: ChainInfo) -> KeysCall:
    """`bonds.register_validator` in the form of the node's call table: (session_key, hash_chain_commitment, proof)
    from spec 17, (session_key, hash_chain_commitment) before. The signing node's proof is asked for either way: it
    is given only for a key the node holds and can reveal from at the commitment."""
    takes_proof = "proof" in dict(info.calls.get_spec(REGISTER).args)

    def args(keys: SessionKeys, proof: bytes) -> tuple[Any, ...]:
        return (keys.session_key, keys.hash_chain_commitment, *((proof,) if takes_proof else ()))

    return KeysCall(REGISTER, "register as a validator", args)


@dataclass(frozen=True)
class Sent:
    """What `send_with_node_keys` sent: the chain (and the node it was sent through), the stash's address, the keys
    and the included extrinsic."""

    client: RpcClient
    info: ChainInfo
    owner: str
    keys: SessionKeys
    sub: Submitted


def node_keys_options(command: F) -> F:
    """The options of a command sending session keys held by a signing node (set-keys, register-validator)."""
    for option in reversed((
        click.option("--from", "sender", required=True,
                     help="The validator's stash: a key file (a dev name on dev chains)."),
        click.option("--node-rpc", required=True,
                     help="JSON-RPC URL of the node that will sign (unsafe methods on loopback)."),
        click.option("--keys", "keys_hex", default=None, metavar="0xKEYS",
                     help="Session keys the node already holds (author_rotateKeys' answer); default: ask it for new "
                          "ones."),
        click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL to submit through."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    )):
        command = option(command)
    return command


def send_with_node_keys(
    sender: str, node_rpc: str, keys_hex: str | None, rpc: str, call_of: Callable[[ChainInfo], KeysCall],
    check_stash: Callable[[RpcClient, ChainInfo, str], None],
) -> Sent:
    """Both commands' round. Every check that can refuse comes first: `--keys` is 64 bytes of hex, the stash may
    send the call (`check_stash`), the call would be included and paid for (`check_fee`), the signing node follows
    this chain and signs for no other validator (`check_signing_node`); with `--fee-only` and no `--keys` the fee is
    quoted with a throwaway key and the command ends. Only then is the node asked for new keys (or `--keys` taken),
    and for their proof, and the call submitted from the stash."""
    from runtime.session.types import SessionKeys

    given = None if keys_hex is None else parse_keys(keys_hex)
    node = RpcClient(node_rpc, timeout=NODE_TIMEOUT_S, option="--node-rpc")
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    owner = encode_address(signer.account, info.ss58_prefix)
    call = call_of(info)
    check_stash(client, info, owner)
    check_fee(client, info, signer, owner, call)
    check_signing_node(node, client, info, owner)
    if cli.submit.FEE_ONLY and given is None:
        quote_with_throwaway_key(client, info, signer, call)
    raw = given if given is not None else parse_keys(str(ask(node, "author_rotateKeys")))
    keys = SessionKeys.decode(raw)
    proof = bytes.fromhex(str(ask(node, "btt_sessionKeysProof", "0x" + raw.hex(), owner))[2:])
    return Sent(client, info, owner, keys, submit_call(client, info, signer, call.name, call.args(keys, proof)))


def keys_json(sent: Sent, **extra: Any) -> dict[str, Any]:
    """--json: the keys, the stash, `extra`, and the extrinsic's status."""
    return {"sessionKey": "0x" + sent.keys.session_key.hex(),
            "hashChainCommitment": "0x" + sent.keys.hash_chain_commitment.hex(), "stash": sent.owner, **extra,
            **(sent.sub.status or {})}


def event_of(sent: Sent, name: str) -> dict[str, Any] | None:
    return next((e for e in sent.sub.events if e.get("event") == name), None)


@click.command("set-keys")
@node_keys_options
def set_keys(sender: str, node_rpc: str, keys_hex: str | None, rpc: str, as_json: bool) -> None:
    """Move a validator's block and vote signing to new session keys held by the node at --node-rpc: from the epoch
    after next that node signs, and the old key stops. The bond is untouched. Refused, before the node makes a key,
    if --from is no registered validator, cannot pay the fee, or the node already signs for another validator."""
    sent = send_with_node_keys(sender, node_rpc, keys_hex, rpc, lambda info: SET_KEYS,
                               lambda client, info, owner: check_registered(client, owner))
    if as_json:
        print_json(keys_json(sent))
        return
    echo_submitted(sent.sub, False, sent.info.decimals, sent.info.symbol)
    event = event_of(sent, "SessionKeysSet")
    print_fields([
        ("session key", "0x" + sent.keys.session_key.hex()),
        ("stash", sent.owner),
        ("signs from epoch", str(event["from_epoch"]) if event else "the epoch after next"),
    ])


@click.command("register-validator")
@node_keys_options
def register_validator(sender: str, node_rpc: str, keys_hex: str | None, rpc: str, as_json: bool) -> None:
    """Make a bonded account a validator signing with new session keys held by the node at --node-rpc: queued at the
    next epoch's start, it leads slots and votes from the epoch after. --from must be bonded at least
    bonds.min_validator_bond (`btt-chain bond`); it sends bonds.register_validator with the node's proof that it holds
    the key. Refused, before the node makes a key, if --from is already a registered validator, is bonded below the
    minimum, cannot pay the fee, or the node already signs for another validator."""
    sent = send_with_node_keys(sender, node_rpc, keys_hex, rpc, registration, check_may_register)
    epoch = active_epoch(sent) if event_of(sent, "ValidatorRegistered") else None
    if as_json:
        print_json(keys_json(sent, activeFromEpoch=epoch))
        return
    echo_submitted(sent.sub, False, sent.info.decimals, sent.info.symbol)
    print_fields([
        ("session key", "0x" + sent.keys.session_key.hex()),
        ("stash", sent.owner),
        ("active from epoch", f"{epoch} (queued at the start of epoch {epoch - 1})" if epoch is not None
         else "the epoch after next"),
    ])


def active_epoch(sent: Sent) -> int | None:
    """The epoch a registration makes the validator active in: the set queued at the next epoch's start carries it,
    so two epochs after its block's (`btt_powerTable` at that block); None if the node cannot say."""
    block = (sent.sub.status or {}).get("blockHash")
    if block is None:
        return None
    try:
        return int(sent.client.call("btt_powerTable", block)["epoch"]) + 2
    except (RpcError, KeyError, TypeError, ValueError):
        return None


def parse_keys(text: str) -> bytes:
    """64 bytes of session keys (the key and its hash-chain commitment) from 0x-hex."""
    try:
        raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    except ValueError:
        raise ConfigError(f"--keys {text!r} is not hex") from None
    if len(raw) != 64:
        raise ConfigError(f"--keys: expected 64 bytes (the session key and its hash-chain commitment), got {len(raw)}")
    return raw


def ask(node: RpcClient, method: str, *params: Any) -> Any:
    """Call the signing node; an error it answers with names --node-rpc (one it cannot be reached with already does)."""
    try:
        return node.call(method, *params)
    except RpcError as exc:
        if exc.code is None:
            raise
        raise RpcError(f"the node at --node-rpc {node.url} refused {method}: {exc}", exc.code, exc.data) from None


def check_registered(client: RpcClient, owner: str) -> None:
    """The stash is a registered validator (`session.set_keys` refuses anyone else)."""
    if client.call("btt_bonds", owner).get("validator") is None:
        raise ConfigError(f"{owner} (--from) is not a registered validator: bond and register it first "
                          f"(bonds.bond, bonds.register_validator); {NOTHING_DONE}")


def check_may_register(client: RpcClient, info: ChainInfo, owner: str) -> None:
    """The stash is no registered validator yet and its active bond is at least `bonds.min_validator_bond` (what
    `bonds.register_validator` refuses otherwise: AlreadyRegistered, BelowMinimum)."""
    bonds = client.call("btt_bonds", owner)
    if bonds.get("validator") is not None:
        raise ConfigError(f"{owner} (--from) is already a registered validator (session key "
                          f"{bonds['validator']['sessionKey']}): move its signing with `btt-chain set-keys`; "
                          f"{NOTHING_DONE}")
    minimum = next((int(row["value"]) for row in client.call("btt_params") if row["name"] == MIN_VALIDATOR_BOND), 0)
    bonded = int(bonds["bonded"])
    if bonded < minimum:
        how = "btt-chain bond --extra" if bonded else "btt-chain bond"
        raise ConfigError(f"{owner} (--from) is bonded {info.format_amount(bonded)}, below the minimum validator "
                          f"bond {info.format_amount(minimum)} ({MIN_VALIDATOR_BOND}): bond "
                          f"{info.format_amount(minimum - bonded)} more first (`{how}`); {NOTHING_DONE}")


def check_fee(client: RpcClient, info: ChainInfo, signer: Signer, owner: str, call: KeysCall) -> None:
    """The stash's `call` would be included, paid for and succeed: a dry run of it with a throwaway key (made here,
    never kept or sent), which costs the same fee as the real one."""
    from btt_chain.client.submit import dry_run, is_queued_behind, readable, sign_call

    xt = sign_call(client, info, signer, info.calls.build_call(call.name, *call.args(*throwaway_keys(signer, info))))
    dry = dry_run(client, xt)
    if is_queued_behind(dry) or (dry["valid"] and (dry["success"] or cli.submit.FORCE)):
        return
    if dry["valid"] and proof_checked_last(info) and "BadKeyProof" in str(dry["error"]):
        return  # every other check passed: the call would be included, paid for and succeed with the node's proof
    why = readable(str(dry["error"]), info.decimals, info.symbol)
    raise ConfigError(f"{owner} (--from) cannot {call.doing} now: {why}; {NOTHING_DONE}")


PROOF_CHECKED_LAST = 17
"""From spec 17 `session.set_keys` and `bonds.register_validator` check the key's proof after every other rule."""


def proof_checked_last(info: ChainInfo) -> bool:
    return info.spec_version >= PROOF_CHECKED_LAST


def throwaway_keys(signer: Signer, info: ChainInfo) -> tuple[SessionKeys, bytes]:
    """Session keys of a key made here and never kept, for `signer`'s stash: a call with them has the size, weight and
    fee of the real one. From spec 17 their proof is 64 zero bytes: the call's dry run then fails on the proof alone
    if everything else would pass (`check_fee`), and the signed extrinsic the --rpc node sees could never set a key
    nobody holds, whoever submitted it (it would fail, its fee paid). Before spec 17 (the proof checked first) it is
    the throwaway key's real proof."""
    from runtime.session.types import SessionKeys

    throwaway = Keypair.generate()
    keys = SessionKeys(throwaway.public, bytes(32))
    if proof_checked_last(info):
        return keys, bytes(64)
    return keys, throwaway.sign(keys.ownership_message(signer.account))


def quote_with_throwaway_key(client: RpcClient, info: ChainInfo, signer: Signer, call: KeysCall) -> NoReturn:
    """`--fee-only` without --keys: quote `call` with a throwaway key (the same fee), so the signing node is never
    asked for a key (author_rotateKeys would leave one in its keystore and build a hash chain for nothing). The
    signed extrinsic is not printed: it carries a key no node holds, and sent it would make the stash sign with a key
    nobody can use."""
    from btt_chain.client.fee_estimate import estimate_fee

    last = proof_checked_last(info)
    estimate = estimate_fee(client, info, signer, call.name, call.args(*throwaway_keys(signer, info)),
                            force=cli.submit.FORCE or last)
    if last and "BadKeyProof" in str(estimate.error or ""):  # the throwaway's zero proof alone: all else passes
        estimate = replace(estimate, success=True, error=None)
    echo_fee(replace(estimate, extrinsic="", hash=""), info,
             withheld="it carries a throwaway session key (the fee is the same): sent, it would set a key no node "
                      "holds, so it is not shown; the node at --node-rpc was not asked for a key")
    raise FeeShown()


def check_signing_node(node: RpcClient, client: RpcClient, info: ChainInfo, owner: str) -> None:
    """The node at --node-rpc follows the same chain and holds no session key the chain gives to another validator
    (by its own head: `btt_localSessionKeys`; by --rpc's: the active set)."""
    genesis = ask(node, "chain_getBlockHash", 0)
    if genesis != "0x" + info.genesis_hash.hex():
        raise ConfigError(f"the node at --node-rpc {node.url} follows another chain (genesis {genesis}, not "
                          f"0x{info.genesis_hash.hex()} as --rpc's); {NOTHING_DONE}")
    active = {v["sessionKey"]: v["account"] for v in client.call("btt_validators")}
    for held in ask(node, "btt_localSessionKeys"):
        key = held["sessionKey"]
        others = sorted({a for a in (held.get("account"), active.get(key)) if a is not None and a != owner})
        if others:
            raise ConfigError(
                f"the node at --node-rpc {node.url} already signs for validator {others[0]} (session key {key}): "
                f"one process would sign for two validators; point --node-rpc at {owner}'s own signing node; "
                f"{NOTHING_DONE}")


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
    from btt_chain.node.keystore import DIRECTORY, session_keypair_from_suri, write_key
    from btt_chain.primitives.signatures import SCHEME_NAMES
    from cli.passwords import open_keyfile
    from genesis.loader import load_chain_spec

    if (suri is None) == (key_file is None):
        raise click.UsageError("give one of --suri and --key-file")
    spec = load_chain_spec(chain)
    if suri is not None:
        pair = session_keypair_from_suri(suri, spec.chain_type)
    else:
        held = open_keyfile(key_file)  # type: ignore[arg-type]
        if not isinstance(held, Keypair):
            raise ConfigError(f"a session key is ed25519 (block seals and finality votes are ed25519 signatures): "
                              f"{key_file} holds an {SCHEME_NAMES[held.scheme]} key")
        pair = held
    path = write_key(base_path / "chains" / spec.id / DIRECTORY, pair)
    click.echo(f"inserted session key 0x{pair.public.hex()} into {path.parent}")
