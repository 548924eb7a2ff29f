"""Where the CLI gets a key file's password: `--password-file` (or BTT_PASSWORD_FILE), BTT_PASSWORD, or a prompt.

A prompt needs a terminal; without one (CI, scripts) and without a password given, the command stops with
one line saying how to give it. Passwords are never echoed or logged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.keystore import PasswordSource, keyfile_public, load_keyfile

PASSWORD_ENV = "BTT_PASSWORD"
PASSWORD_FILE_ENV = "BTT_PASSWORD_FILE"
HOW = f"pass --password-file FILE, or set {PASSWORD_FILE_ENV} or {PASSWORD_ENV}"

_password_file: Path | None = None


def set_password_file(path: Path | None) -> None:
    """The global `--password-file` option."""
    global _password_file
    _password_file = path


def _given() -> bytes | None:
    path = _password_file or (Path(os.environ[PASSWORD_FILE_ENV]) if os.environ.get(PASSWORD_FILE_ENV) else None)
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the password file {path}: {exc.strerror}") from None
        return text.rstrip("\r\n").encode()
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


def open_keyfile(path: Path) -> Keypair:
    return load_keyfile(path, password_for(path))


def keyfile_account(path: Path) -> bytes:
    return keyfile_public(path)
