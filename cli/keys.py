"""`btt-chain key generate|inspect|encrypt|generate-node-key`: account keys of each scheme (ed25519 by default,
sr25519, ecdsa), printed as `subkey inspect --scheme ...` shows them (public key, account, SS58 address)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from btt_chain.primitives.account_keys import AccountKey, KeyIdentity, identity
from btt_chain.primitives.address import DEFAULT_SS58_PREFIX, decode_address, encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hash_chain import HashChain, hash_chain_for, hash_chain_seed
from btt_chain.primitives.keys import DEV_NAMES, Keypair
from btt_chain.primitives.keystore import encrypt_keyfile, is_encrypted, save_keyfile
from btt_chain.primitives.signatures import ED25519, SCHEME_NAMES, scheme_named
from btt_chain.primitives.sr25519 import Sr25519Keypair
from cli.accounts import (
    check_key_scheme,
    is_key_file,
    looks_like_path,
    missing_key_file,
    resolve_account,
    resolve_signer,
    scheme_and_uri,
)
from cli.output import print_fields, print_json
from cli.passwords import inspect_keyfile, new_password
from genesis.spec import DEFAULT_HASH_CHAIN_LENGTH, MAX_HASH_CHAIN_LENGTH, MIN_HASH_CHAIN_LENGTH

SCHEMES = click.Choice(list(SCHEME_NAMES.values()), case_sensitive=False)


@click.group()
def key() -> None:
    """Generate and inspect account keys: ed25519 (the default), sr25519 or ecdsa."""


def identity_fields(ident: KeyIdentity, ss58_prefix: int) -> dict[str, object]:
    """address and public key, as ed25519 keys have always been shown; other schemes also name theirs, and ECDSA its
    account id (the blake2b-256 of its public key)."""
    info: dict[str, object] = {
        "address": encode_address(ident.account, ss58_prefix), "public": "0x" + ident.public.hex(),
    }
    if ident.scheme != ED25519:
        info["scheme"] = ident.scheme_name
    if ident.account != ident.public:
        info["account_id"] = "0x" + ident.account.hex()
    return info


def secret_fields(pair: AccountKey) -> dict[str, object]:
    """The secret seed (what subkey prints as `Secret seed`), or for a derived sr25519 key, whose seed is not known
    here, its 64-byte secret key (which `sr25519:0x<secret key>` takes back)."""
    if isinstance(pair, Sr25519Keypair) and pair.seed is None:
        return {"secret_key": "0x" + pair.secret_key.hex()}
    return {"secret_seed": "0x" + pair.secret.hex()}


@key.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the key to this file, encrypted with a password (mode 0600).")
@click.option("--show-secret", is_flag=True, help="Also print the secret seed (anyone who sees it owns the account).")
@click.option("--ss58-prefix", type=click.IntRange(0, 63), default=DEFAULT_SS58_PREFIX, show_default=True)
@click.option("--scheme", "scheme_name", type=SCHEMES, default="ed25519", show_default=True,
              help="The key's signature scheme: sr25519 is what polkadot.js Apps, browser extensions and "
                   "substrate-interface make by default; a validator's session key must be ed25519.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def generate(output: Path | None, show_secret: bool, ss58_prefix: int, scheme_name: str, as_json: bool) -> None:
    """Generate a new key pair; with --output, store it encrypted (password from --password-file,
    BTT_PASSWORD_FILE, BTT_PASSWORD or a prompt). The secret is printed only with --show-secret."""
    if output is None and not show_secret:
        raise ConfigError("give --output FILE to keep the key (encrypted), or --show-secret to print its seed")
    from btt_chain.primitives.mnemonic import generate as new_mnemonic
    from btt_chain.primitives.mnemonic import keypair_from_suri

    phrase = new_mnemonic()
    pair = keypair_from_suri(phrase, scheme_named(scheme_name))
    if output is not None:
        if output.exists():
            raise ConfigError(f"{output} exists; refusing to overwrite a key file")
        save_keyfile(output, pair, ss58_prefix, new_password())
        click.echo(f"recovery phrase (shown only now; anyone who has it controls the account): {phrase}", err=True)
    info = identity_fields(identity(pair), ss58_prefix)
    if output is not None:
        info["key_file"] = str(output)
    if show_secret:
        info["secret_phrase"] = phrase
        info.update(secret_fields(pair))
    if as_json:
        print_json(info)
    else:
        print_fields(list(info.items()))
        if show_secret:
            click.echo("Keep the secret seed safe: anyone who has it controls the account.", err=True)


@key.command()
@click.argument("what")
@click.option("--ss58-prefix", type=click.IntRange(0, 63), default=DEFAULT_SS58_PREFIX, show_default=True)
@click.option("--scheme", "scheme_name", type=SCHEMES, default=None,
              help="How to read a secret URI, as subkey's --scheme: ed25519 (the default), sr25519 or ecdsa "
                   "(`sr25519://Alice` says the same); with a key file, the scheme it must hold.")
@click.option("--hash-chain", "hash_chain", is_flag=True,
              help="Also print the commitment of the key's hash chain (what a genesis file's "
                   "validators[i].hash_chain_commitment and bonds.register_validator take), at the length --chain "
                   "SPEC names (or --hash-chain-length). Needs the secret: a key file or a dev name.")
@click.option("--hash-chain-length", type=click.IntRange(MIN_HASH_CHAIN_LENGTH, MAX_HASH_CHAIN_LENGTH),
              default=None, metavar="N",
              help=f"Reveals in the hash chain: the chain's consensus.hash_chain_length "
                   f"[default: {DEFAULT_HASH_CHAIN_LENGTH}]. Implies --hash-chain.")
@click.option("--chain", "chain", default=None, metavar="PRESET|FILE",
              help="The chain the commitment is for: its consensus.hash_chain_length is the hash chain's length "
                   "(a commitment of another length belongs to a chain no block of it can reveal). Implies "
                   "--hash-chain.")
@click.option("--hash-chain-generation", type=click.IntRange(0, 2**32), default=None, metavar="G",
              help="Which of the key's hash chains: 0 at first registration, one more at each rotation or "
                   "re-registration (the `generation` in btt_bonds / consensus state) [default: 0]. Implies "
                   "--hash-chain.")
@click.option("--show-secret", is_flag=True,
              help="Also print the secret seed of a secret URI, dev name or key file (what subkey prints as "
                   "`Secret seed` and substrate-interface's Keypair.create_from_seed takes; for a derived sr25519 "
                   "key, whose seed is not known here, its 64-byte secret key); anyone who sees it owns the account.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect(what: str, ss58_prefix: int, scheme_name: str | None, hash_chain: bool, hash_chain_length: int | None,
            chain: str | None, hash_chain_generation: int | None, show_secret: bool, as_json: bool) -> None:
    """Show the public key and address of an ADDRESS, a key file, 0x-hex public key, a dev name or dev path
    (`//Alice//0`), or a secret URI "<12 words>//path///password" (Substrate's derivation, ed25519 unless --scheme
    or a prefix such as `sr25519://Alice` says otherwise; soft `/path` junctions derive sr25519 keys only). An
    encrypted key file's address is checked against its secret when the password is given (or typed at a
    prompt); without it the address is only what the file claims, and is shown as unverified."""
    # offline: dev names are only derivations here, so any chain type will do
    info: dict[str, object]
    scheme = None if scheme_name is None else scheme_named(scheme_name)
    key_file = is_key_file(what)
    is_uri = not key_file and scheme_and_uri(what, scheme)[1] is not None
    if chain is not None:
        from genesis.loader import load_chain_spec

        spec_length = load_chain_spec(chain).consensus.hash_chain_length
        if hash_chain_length is not None and hash_chain_length != spec_length:
            raise ConfigError(f"--hash-chain-length {hash_chain_length} contradicts --chain {chain}, whose "
                              f"consensus.hash_chain_length is {spec_length}: give one of them")
        hash_chain_length = spec_length
    needs_secret = hash_chain or hash_chain_length is not None or hash_chain_generation is not None
    if needs_secret or show_secret:
        if not is_uri and not Path(what).is_file():
            if looks_like_path(what) or Path(what).is_dir():
                raise missing_key_file(what)
            option = "--hash-chain" if needs_secret else "--show-secret"
            raise ConfigError(
                f"{option} needs the key's secret: {what!r} is neither a dev name "
                f"({', '.join(DEV_NAMES)}), a secret URI nor a key file"
            )
    if needs_secret:
        length = DEFAULT_HASH_CHAIN_LENGTH if hash_chain_length is None else hash_chain_length
        generation = hash_chain_generation or 0
        pair = resolve_signer(what, "Development", scheme)
        if not isinstance(pair, Keypair):
            raise ConfigError(f"a hash chain belongs to a validator's session key, which is ed25519 (block seals and "
                              f"finality votes are ed25519 signatures); {what} is an {SCHEME_NAMES[pair.scheme]} key")
        if length >= 1 << 20:  # seconds of hashing: show how far it is
            started = time.monotonic()

            def progress(done: int, total: int) -> None:
                rate = done / max(1e-9, time.monotonic() - started)
                click.echo(f"\rhash chain: {done * 100 // total}% of {total:,} reveals, "
                           f"{(total - done) / rate:.0f} s left ", nl=False, err=True)

            commitment = HashChain(hash_chain_seed(pair.seed, generation), length, progress=progress).commitment
            click.echo("", err=True)
        else:
            commitment = hash_chain_for(pair.seed, length, generation).commitment
        info = {
            "address": encode_address(pair.public, ss58_prefix),
            "public": "0x" + pair.public.hex(),
            "hash_chain_commitment": "0x" + commitment.hex(),
            "hash_chain_length": length,
            "hash_chain_generation": generation,
        }
        if show_secret:
            info.update(secret_fields(pair))
    else:
        verified = True
        key: AccountKey | None = None
        if show_secret or (is_uri and not key_file):
            key = resolve_signer(what, "Development", scheme)  # a key file's password is asked once, and checks it
            info = identity_fields(identity(key), ss58_prefix)
        elif key_file:
            ident, verified = inspect_keyfile(Path(what))
            check_key_scheme(ident.scheme, scheme, what)
            info = identity_fields(ident, ss58_prefix)
        else:
            if scheme is not None:
                raise ConfigError(f"--scheme reads a secret URI or checks a key file: {what!r} is an account id, "
                                  "which shows no scheme")
            account = resolve_account(what, "Development", None)
            info = {"address": encode_address(account, ss58_prefix), "public": "0x" + account.hex()}
        if key_file:
            info["verified"] = verified if as_json else "yes: derived from the key's secret" if verified else (
                "NO: what the file claims, not checked against its secret (give its password to check it)")
            if not verified:
                click.echo(f"warning: {what} is encrypted and no password was given: the address shown is what the "
                           "file claims, unverified; anyone who could write the file could have changed it", err=True)
        if key is not None and show_secret:
            info.update(secret_fields(key))
    if as_json:
        print_json(info)
    else:
        print_fields(list(info.items()))
    if show_secret:
        click.echo("Keep the secret seed safe: anyone who has it controls the account.", err=True)


@key.command()
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def encrypt(key_file: Path, as_json: bool) -> None:
    """Encrypt an old plaintext key file in place with a password (from --password-file, BTT_PASSWORD_FILE,
    BTT_PASSWORD or a prompt): the same key and address. The file is replaced atomically."""
    if is_encrypted(key_file):  # said before a password is asked for
        raise ConfigError(f"{key_file} is already encrypted")
    address = encrypt_keyfile(key_file, new_password)
    info = {"address": address, "public": "0x" + decode_address(address).hex(), "key_file": str(key_file)}
    if as_json:
        print_json(info)
    else:
        print_fields(list(info.items()))
    click.echo(f"encrypted {key_file} in place; copies of the old plaintext file (backups, other disks) still "
               "hold the seed: delete them", err=True)


@key.command("generate-node-key")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the libp2p node key (mode 0600).")
def generate_node_key(output: Path) -> None:
    """Generate a persistent libp2p node identity and print its peer id."""
    from p2p.node_key import generate_node_key as make

    node_key = make(output)
    click.echo(f"peer id  {node_key.peer_id}")
    click.echo(f"written  {output}")


def _key_insert() -> None:
    from cli.session_keys_cmd import key_insert

    key.add_command(key_insert)


_key_insert()
