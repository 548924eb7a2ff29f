"""An autouse fixture for the test modules that write many key files: each test writes them at argon2id's least cost
(a key file names its own limits, and reading it follows them; geth's `--lightkdf`, for tests). The interactive
limits cost ~68 ms a derivation, and these modules make ~130 of them (~9 s of CPU). Import it into a module
(`from tests.support.light_kdf import light_kdf  # noqa: F401`); every other test, and every process a test starts,
writes at the interactive limits (`test_a_process_writes_key_files_at_the_interactive_limits`,
`test_key_files_written_without_the_fixture_use_the_interactive_limits`)."""

from __future__ import annotations

import nacl.pwhash.argon2id as argon2id
import pytest

from btt_chain.primitives import keystore


@pytest.fixture(autouse=True)
def light_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "OPSLIMIT", argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(keystore, "MEMLIMIT", argon2id.MEMLIMIT_MIN)
