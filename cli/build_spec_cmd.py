"""`btt-chain build-spec`: write a chain spec from a base (a preset or file) with the chain's own validators, their
bonds and their hash-chain commitments computed at the spec's own length, a new id and name, consensus figures and
the start time. `genesis build` is the same with only the start time changed. With `--genesis-state-file`, the
genesis state goes to a file beside the spec and the spec names it (`genesis.snapshot_build`) instead of listing the
holders of its large liquid rows."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from btt_chain.primitives.address import decode_address, encode_address
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError, GenesisError
from btt_chain.primitives.keys import Keypair, is_dev_name
from btt_chain.primitives.signatures import SCHEME_NAMES
from cli.accounts import is_key_file, looks_like_path, missing_key_file, resolve_signer
from genesis.build import build_genesis
from genesis.build_spec import NewValidator, SpecChanges, build_spec_doc, hash_chain_length_after
from genesis.commitments import commitment_at, inspect_hint
from genesis.loader import CHAIN_TYPES, load_chain_spec, parse_chain_spec
from genesis.snapshot_build import snapshot_from_listing
from genesis.spec import MAX_HASH_CHAIN_LENGTH, MIN_HASH_CHAIN_LENGTH, ChainSpec

CHAIN_TYPE_NAMES = {"dev": "Development", "local": "Local", "live": "Live"}
"""A spec's chain_type as Substrate names it (what resolving a dev key checks)."""
PROGRESS_FROM = 1 << 22
"""Hash chains this long or longer show their progress on a terminal (about half a second per 2**20 reveals)."""


def load_spec(source: str) -> ChainSpec:
    """A preset or chain-spec file, every problem on its own line (`genesis validate`'s form)."""
    try:
        return load_chain_spec(source)
    except GenesisError as exc:
        raise invalid_spec(source, exc) from None


def invalid_spec(source: str, exc: GenesisError) -> GenesisError:
    problems = str(exc).splitlines()
    if len(problems) == 1 and not getattr(exc, "problems", ()):
        return exc
    return spec_problems(source, problems)


def spec_problems(source: str, problems: list[str]) -> GenesisError:
    """`SOURCE is not a valid chain spec (N problems):` and one line per problem."""
    plural = "s" if len(problems) != 1 else ""
    head = f"{source} is not a valid chain spec ({len(problems)} problem{plural}):"
    return GenesisError("\n".join([head, *problems]))


def progress_printer(label: str, length: int) -> Callable[[int, int], None] | None:
    """A progress line on a terminal's stderr while a long hash chain is built (None for a short one, or when
    stderr is not a terminal)."""
    if length < PROGRESS_FROM or not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        rate = done / max(1e-9, time.monotonic() - started)
        end = "\n" if done == total else ""
        click.echo(f"\r{label}: hash chain {done * 100 // total}% of {total:,} reveals, "
                   f"{(total - done) / rate:.0f} s left {end}", nl=False, err=True)

    return progress


def parse_genesis_time(text: str) -> int:
    """`now` (rounded down to the second) or unix milliseconds."""
    if text == "now":
        return (time.time_ns() // 1_000_000_000) * 1000
    if text.isascii() and text.isdigit():
        return int(text)
    raise ConfigError(f"--genesis-time must be unix milliseconds or 'now', not {text!r}")


def parse_validator(text: str, chain_type: str, ss58_prefix: int, length: int, decimals: int) -> NewValidator:
    """`WHO:BOND[:COMMITMENT]`: WHO a key file (its commitment computed), a dev name on dev and local chains, or an
    address (its commitment required: only the key's owner can compute it)."""
    parts = text.split(":")
    commitment_text = None
    if len(parts) >= 3 and parts[-1].startswith("0x"):
        commitment_text = parts.pop()
    if len(parts) < 2 or not parts[-1]:
        raise ConfigError(f"--validator {text!r}: expected KEYFILE:BOND, ADDRESS:BOND:COMMITMENT or (dev and local "
                          "chains) NAME:BOND, e.g. v1.key:10000")
    bond_text = parts.pop()
    who = ":".join(parts)
    try:
        bond = parse_btt(bond_text, decimals)
    except ConfigError as exc:
        raise ConfigError(f"--validator {text!r}: the bond {exc}") from None
    if bond == 0:
        raise ConfigError(f"--validator {text!r}: the bond must be more than 0")
    given = None
    if commitment_text is not None:
        hex_part = commitment_text[2:]
        if len(hex_part) != 64 or any(c not in "0123456789abcdefABCDEF" for c in hex_part):
            raise ConfigError(f"--validator {text!r}: {commitment_text!r} is not a hash-chain commitment (0x and 64 "
                              "hex digits)")
        given = bytes.fromhex(hex_part)
    pair = _secret_key(who, chain_type)
    if pair is None:
        try:
            account = decode_address(who, ss58_prefix)
        except ConfigError as exc:
            raise ConfigError(f"--validator {text!r}: {who!r} is neither a key file, a dev name nor an address "
                              f"({exc})") from None
        if given is None:
            raise ConfigError(f"--validator {text!r}: give the hash-chain commitment of {who}'s session key "
                              f"(ADDRESS:BOND:0x...), which its owner prints with {inspect_hint(length)} (this "
                              "spec's consensus.hash_chain_length), or give its key file")
        return NewValidator(account, encode_address(account, ss58_prefix), bond, given)
    label = who.lower() if is_dev_name(who.lower()) else encode_address(pair.public, ss58_prefix)
    computed = commitment_at(pair, length, 0, progress_printer(label, length))
    if given is not None and given != computed:
        raise ConfigError(f"--validator {text!r}: {who}'s hash chain at consensus.hash_chain_length {length:,} ends in "
                          f"0x{computed.hex()}, not the commitment given (computed at another length?); leave it out "
                          "and it is computed")
    return NewValidator(pair.public, label, bond, computed)


def _secret_key(who: str, chain_type: str) -> Keypair | None:
    """The ed25519 key of a key file or dev name (None for what is neither: an address)."""
    if not (is_key_file(who) or is_dev_name(who.lower())):
        if looks_like_path(who):
            raise missing_key_file(who)
        return None
    pair = resolve_signer(who.lower() if is_dev_name(who.lower()) else who, CHAIN_TYPE_NAMES[chain_type])
    if not isinstance(pair, Keypair):
        raise ConfigError(f"{who} holds an {SCHEME_NAMES[pair.scheme]} key: a validator's session key is ed25519 "
                          "(make one with `btt-chain key generate --output FILE`)")
    return pair


def validator_key(who: str, chain_type: str) -> Keypair:
    """The ed25519 key of a key file, or of a dev name on dev and local chains."""
    pair = _secret_key(who, chain_type)
    if pair is None:
        raise ConfigError(f"{who!r} is neither a key file nor a dev name: checking a hash-chain commitment needs the "
                          "key's secret")
    return pair


def write_spec(source: str, changes_of: Callable[[ChainSpec], SpecChanges], out: Path | None,
               state_file: Path | None = None) -> ChainSpec:
    """Build from `source`, validate, and write to `out` (stdout when None); the built spec. Every problem of the
    result is one line, as `genesis validate` prints them; what was moved beside what was asked goes to stderr.
    With `state_file`, the genesis state is written there and the spec names it (`state_file_name`)."""
    base = load_spec(source)
    if base.genesis_state is not None:
        raise ConfigError(f"{source} names its genesis state file ({base.genesis_state.file}): build from the spec "
                          "that lists its holders (a new spec changes the state the file holds)")
    file = None if state_file is None else state_file_name(state_file, out)
    doc, notes = build_spec_doc(base, changes_of(base), source)
    label = str(out) if out is not None else "the built spec"
    try:
        built = parse_chain_spec(doc, label)
    except GenesisError as exc:
        raise invalid_spec(label, exc) from None
    if state_file is not None and built.genesis_time_ms == 0:
        raise ConfigError("--genesis-state-file: the genesis state holds the start time: give --genesis-time")
    genesis = None if built.genesis_time_ms == 0 else build_genesis(built)
    genesis_hash = None if genesis is None else "0x" + genesis.hash.hex()
    if genesis is not None and state_file is not None and file is not None:
        try:
            doc = snapshot_from_listing(built, genesis, state_file, file)
        except OSError as exc:
            raise ConfigError(f"cannot write {state_file}: {exc.strerror}") from None
        del genesis
        notes.append(f"wrote the genesis state to {state_file} ({doc['genesis_state']['records']:,} records, "
                     f"{doc['genesis_state']['bytes']:,} bytes); the spec names it by hash and state root")
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    for note in notes:
        click.echo(note, err=True)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    if out is not None and state_file is not None:  # what a node will read: the same genesis
        written = build_genesis(load_chain_spec(str(out)))
        if "0x" + written.hash.hex() != genesis_hash:
            raise GenesisError(f"{out} gives genesis 0x{written.hash.hex()}, not {genesis_hash}")
    where = f"wrote {out}" if out is not None else "chain spec"
    click.echo(f"{where}: {built.name} ({built.id}, {built.chain_type}), {len(built.validators)} validators, "
               f"genesis hash {genesis_hash or 'set at first start (genesis_time_ms 0)'}", err=out is None)
    return built


def state_file_name(state_file: Path, out: Path | None) -> str:
    """How the spec names its state file: relative to the spec's directory (which it must be in or below)."""
    if out is None:
        raise ConfigError("--genesis-state-file needs --out: the spec names the file relative to its own directory")
    try:
        return state_file.resolve().relative_to(out.resolve().parent).as_posix()
    except ValueError:
        raise ConfigError(f"--genesis-state-file {state_file}: put it in the spec's directory ({out.resolve().parent}) "
                          "or below it, where the spec names it from") from None


@click.command("build-spec")
@click.option("--chain", "base", required=True, metavar="PRESET|FILE",
              help="The base: a preset (dev, btt-21m, btt-210m) or a chain-spec file.")
@click.option("--validator", "validators", multiple=True, metavar="KEYFILE:BOND|ADDRESS:BOND:COMMITMENT",
              help="A validator of the new chain, bonding BOND BTT (repeatable; replaces the base's validators). "
                   "With a key file (or a dev name on dev and local chains) its hash-chain commitment is computed at "
                   "the spec's own consensus.hash_chain_length; with an address, give the commitment its owner "
                   "printed for that length. A validator not holding its bond in a liquid allocation row is given it "
                   "there, from the row's largest other holder.")
@click.option("--id", "spec_id", default=None, help="The new chain's id (lowercase letters, digits, '-').")
@click.option("--name", default=None, help="The new chain's name.")
@click.option("--chain-type", type=click.Choice(CHAIN_TYPES), default=None,
              help="live, local or dev (dev names are accepted only on local and dev chains) [default: the base's].")
@click.option("--slot-ms", type=click.IntRange(100, 3_600_000), default=None, help="consensus.slot_ms.")
@click.option("--epoch-slots", type=click.IntRange(1, 1_000_000), default=None, help="consensus.epoch_slots.")
@click.option("--hash-chain-length", type=click.IntRange(MIN_HASH_CHAIN_LENGTH, MAX_HASH_CHAIN_LENGTH), default=None,
              metavar="N", help="consensus.hash_chain_length: reveals in each validator's hash chain (its "
                                "commitments are computed at this length) [default: the base's].")
@click.option("--genesis-time", default=None, metavar="MS|now",
              help="Start time in unix milliseconds, or 'now' [default: the base's; 0 in the dev preset: set when "
                   "a node first starts, so give it for a spec several nodes share].")
@click.option("--fee-margin", default="10", show_default=True, metavar="BTT",
              help="What a validator is given beside its bond, where build-spec gives it its bond: its stash's fees "
                   "(setting session keys, unbonding).")
@click.option("--genesis-state-file", "state_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE",
              help="Write the genesis state to FILE (beside --out) and have the spec name it by hash and state root "
                   "instead of listing the holders of its liquid rows of more than 100 holders (the same genesis "
                   "hash). Nodes initialising from genesis read it once and check it; nodes joining by --sync warp "
                   "need no file.")
@click.option("--raw", is_flag=True, help="Refused, with why: the chain spec has no raw form here.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the spec to this file [default: stdout].")
def build_spec(base: str, validators: tuple[str, ...], spec_id: str | None, name: str | None, chain_type: str | None,
               slot_ms: int | None, epoch_slots: int | None, hash_chain_length: int | None, genesis_time: str | None,
               fee_margin: str, state_file: Path | None, raw: bool, out: Path | None) -> None:
    """Write a chain spec (JSON) from a base with your own validators, id, name and consensus figures."""
    if raw:
        raise ConfigError("--raw: this chain has no raw chain spec; every node builds the genesis state from the "
                          "JSON spec itself (or reads the file it names: --genesis-state-file), and its genesis hash "
                          "(printed) is what the nodes agree on")
    start = None if genesis_time is None else parse_genesis_time(genesis_time)

    def changes(spec: ChainSpec) -> SpecChanges:
        margin = parse_btt(fee_margin, spec.token.decimals)
        wanted = SpecChanges(id=spec_id, name=name, chain_type=chain_type, slot_ms=slot_ms, epoch_slots=epoch_slots,
                             hash_chain_length=hash_chain_length, genesis_time_ms=start, fee_margin=margin)
        length = hash_chain_length_after(spec, wanted)
        kind = chain_type or spec.chain_type
        new = tuple(parse_validator(v, kind, spec.ss58_prefix, length, spec.token.decimals) for v in validators)
        seen: dict[bytes, str] = {}
        for v in new:
            if v.account in seen:
                raise ConfigError(f"--validator {v.label} is given twice")
            seen[v.account] = v.label
        return replace(wanted, validators=new)

    write_spec(base, changes, out, state_file)
