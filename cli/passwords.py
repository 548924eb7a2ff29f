"""Where the CLI gets a key file's password: `--password-file` (or BTT_PASSWORD_FILE), BTT_PASSWORD, or a prompt.

A prompt needs a terminal; without one (CI, scripts) and without a password given, the command stops with
one line saying how to give it. Passwords are never echoed or logged. A password file its group or others may
read or write is refused, with the `chmod 600` that fixes it (as ssh refuses such a private key).

Every use of an old plaintext (version 1) key file prints a warning on stderr naming `btt-chain key encrypt`.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import click

from btt_chain.primitives.account_keys import AccountKey, KeyIdentity
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keystore import PasswordSource, is_encrypted, keyfile_identity, load_keyfile

PASSWORD_ENV = "BTT_PASSWORD"
PASSWORD_FILE_ENV = "BTT_PASSWORD_FILE"
HOW = f"pass --password-file FILE, or set {PASSWORD_FILE_ENV} or {PASSWORD_ENV}"

_password_file: Path | None = None


def set_password_file(path: Path | None) -> None:
    """The global `--password-file` option."""
    global _password_file
    _password_file = path


def _given_file() -> Path | None:
    return _password_file or (Path(os.environ[PASSWORD_FILE_ENV]) if os.environ.get(PASSWORD_FILE_ENV) else None)


def _read_password_file(path: Path) -> str:
    try:
        with path.open() as fh:
            st = os.fstat(fh.fileno())  # the file we read, not whatever the name points to a moment later
            mode = stat.S_IMODE(st.st_mode)
            # a terminal (`--password-file /dev/stdin` at a prompt) is group-writable by design and holds nothing
            if mode & 0o077 and not stat.S_ISCHR(st.st_mode):
                raise ConfigError(
                    f"password file {path} is readable or writable by others (mode {mode:04o}); only its owner may "
                    f"read it: run `chmod 600 {path}`"
                )
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the password file {path}: {exc.strerror}") from None


def _given() -> bytes | None:
    path = _given_file()
    if path is not None:
        return _read_password_file(path).rstrip("\r\n").encode()
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV].encode()
    return None


def password_for(path: Path) -> PasswordSource:
    def ask() -> bytes:
        given = _given()
        if given is not None:
            return given
        if not sys.stdin.isatty():
            raise ConfigError(f"key file {path} is encrypted and no password was given: {HOW}")
        return str(click.prompt(f"password for {path}", hide_input=True, err=True)).encode()

    return ask


def new_password() -> bytes:
    """A password for a new key file: given, or typed twice at a prompt."""
    given = _given()
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise ConfigError(f"a new key file is encrypted with a password and none was given: {HOW}")
    return str(click.prompt("password for the new key file", hide_input=True, confirmation_prompt=True,
                            err=True)).encode()


def warn_if_plaintext(path: Path) -> None:
    """One line on stderr when `path` is an old key file with its seed in the clear."""
    if not is_encrypted(path):
        click.echo(f"warning: key file {path} is not encrypted: its secret seed is stored in the clear; encrypt it "
                   f"in place (same address) with `btt-chain key encrypt {path}`", err=True)


def open_keyfile(path: Path) -> AccountKey:
    """The key pair of a key file, for signing: refused if its stored public key or address is not its own."""
    pair = load_keyfile(path, password_for(path))
    warn_if_plaintext(path)
    return pair


def keyfile_account(path: Path) -> bytes:
    """The account of a key file without its password (an encrypted file's stored public key, unverified)."""
    claimed, _ = keyfile_identity(path, None)
    warn_if_plaintext(path)
    return claimed.account


def inspect_keyfile(path: Path) -> tuple[KeyIdentity, bool]:
    """(identity, verified) for `key inspect`: checked against the secret whenever the password was given or
    can be asked for at a terminal; otherwise the file's own claim, unverified."""
    available = _given_file() is not None or PASSWORD_ENV in os.environ or sys.stdin.isatty()
    identity = keyfile_identity(path, password_for(path) if available else None)
    warn_if_plaintext(path)
    return identity
