"""`btt-chain key generate|inspect|encrypt|generate-node-key`."""

from __future__ import annotations

import time
from pathlib import Path

import click

from btt_chain.primitives.address import DEFAULT_SS58_PREFIX, decode_address, encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hash_chain import HashChain, hash_chain_for, hash_chain_seed
from btt_chain.primitives.keys import DEV_NAMES
from btt_chain.primitives.keystore import encrypt_keyfile, is_encrypted, save_keyfile
from cli.accounts import is_key_file, looks_like_path, missing_key_file, resolve_account, resolve_signer, secret_uri
from cli.output import print_fields, print_json
from cli.passwords import inspect_keyfile, new_password
from genesis.spec import DEFAULT_HASH_CHAIN_LENGTH, MAX_HASH_CHAIN_LENGTH, MIN_HASH_CHAIN_LENGTH


@click.group()
def key() -> None:
    """Generate and inspect ed25519 account keys."""


@key.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the key to this file, encrypted with a password (mode 0600).")
@click.option("--show-secret", is_flag=True, help="Also print the secret seed (anyone who sees it owns the account).")
@click.option("--ss58-prefix", type=click.IntRange(0, 63), default=DEFAULT_SS58_PREFIX, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def generate(output: Path | None, show_secret: bool, ss58_prefix: int, as_json: bool) -> None:
    """Generate a new key pair; with --output, store it encrypted (password from --password-file,
    BTT_PASSWORD_FILE, BTT_PASSWORD or a prompt). The secret is printed only with --show-secret."""
    if output is None and not show_secret:
        raise ConfigError("give --output FILE to keep the key (encrypted), or --show-secret to print its seed")
    from btt_chain.primitives.mnemonic import generate as new_mnemonic
    from btt_chain.primitives.mnemonic import keypair_from_suri

    phrase = new_mnemonic()
    pair = keypair_from_suri(phrase)
    if output is not None:
        if output.exists():
            raise ConfigError(f"{output} exists; refusing to overwrite a key file")
        save_keyfile(output, pair, ss58_prefix, new_password())
        click.echo(f"recovery phrase (shown only now; anyone who has it controls the account): {phrase}", err=True)
    info = {"address": encode_address(pair.public, ss58_prefix), "public": "0x" + pair.public.hex()}
    if output is not None:
        info["key_file"] = str(output)
    if show_secret:
        info["secret_phrase"] = phrase
        info["secret_seed"] = "0x" + pair.seed.hex()
    if as_json:
        print_json(info)
    else:
        print_fields(list(info.items()))
        if show_secret:
            click.echo("Keep the secret seed safe: anyone who has it controls the account.", err=True)


@key.command()
@click.argument("what")
@click.option("--ss58-prefix", type=click.IntRange(0, 63), default=DEFAULT_SS58_PREFIX, show_default=True)
@click.option("--hash-chain", "hash_chain", is_flag=True,
              help="Also print the commitment of the key's hash chain (what a genesis file's "
                   "validators[i].hash_chain_commitment and bonds.register_validator take). Needs the secret: "
                   "a key file or a dev name.")
@click.option("--hash-chain-length", type=click.IntRange(MIN_HASH_CHAIN_LENGTH, MAX_HASH_CHAIN_LENGTH),
              default=None, metavar="N",
              help=f"Reveals in the hash chain: the chain's consensus.hash_chain_length "
                   f"[default: {DEFAULT_HASH_CHAIN_LENGTH}]. Implies --hash-chain.")
@click.option("--hash-chain-generation", type=click.IntRange(0, 2**32), default=None, metavar="G",
              help="Which of the key's hash chains: 0 at first registration, one more at each rotation or "
                   "re-registration (the `generation` in btt_bonds / consensus state) [default: 0]. Implies "
                   "--hash-chain.")
@click.option("--show-secret", is_flag=True,
              help="Also print the secret seed of a secret URI, dev name or key file (what subkey prints as "
                   "`Secret seed` and substrate-interface's Keypair.create_from_seed takes); anyone who sees it owns "
                   "the account.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect(what: str, ss58_prefix: int, hash_chain: bool, hash_chain_length: int | None,
            hash_chain_generation: int | None, show_secret: bool, as_json: bool) -> None:
    """Show the public key and address of an ADDRESS, a key file, 0x-hex public key, a dev name or dev path
    (`//Alice//0`), or a secret URI "<12 words>//path///password" (Substrate's ed25519 derivation; soft `/path`
    junctions are refused, as ed25519 cannot derive them). An encrypted key file's address is
    checked against its secret when the password is given (or typed at a prompt); without it the address is
    only what the file claims, and is shown as unverified."""
    # offline: dev names are only derivations here, so any chain type will do
    info: dict[str, object]
    needs_secret = hash_chain or hash_chain_length is not None or hash_chain_generation is not None
    if needs_secret or show_secret:
        if secret_uri(what) is None and not Path(what).is_file():
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
        pair = resolve_signer(what, "Development")
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
            info["secret_seed"] = "0x" + pair.seed.hex()
    else:
        key_file = is_key_file(what)
        verified = True
        if show_secret:
            pair = resolve_signer(what, "Development")  # a key file's password is asked once, and checks it
            public = pair.public
        elif key_file:
            public, verified = inspect_keyfile(Path(what))
        elif secret_uri(what) is not None:
            public = resolve_signer(what, "Development").public
        else:
            public = resolve_account(what, "Development", None)
        info = {"address": encode_address(public, ss58_prefix), "public": "0x" + public.hex()}
        if key_file:
            info["verified"] = verified if as_json else "yes: derived from the key's secret" if verified else (
                "NO: what the file claims, not checked against its secret (give its password to check it)")
            if not verified:
                click.echo(f"warning: {what} is encrypted and no password was given: the address shown is what the "
                           "file claims, unverified; anyone who could write the file could have changed it", err=True)
        if show_secret:
            info["secret_seed"] = "0x" + pair.seed.hex()
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
