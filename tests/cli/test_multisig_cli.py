"""`btt-chain multisig create` (offline) and the call-argument converter used by `multisig approve`."""

from __future__ import annotations

import pytest

from btt_chain.primitives.accounts import multisig_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import dev_keypair
from cli.call_args import convert_call_args
from cli.main import main


def test_multisig_create_prints_the_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["multisig", "create", "--signatories", "charlie,alice,bob", "--threshold", "2"])
    assert exit_info.value.code == 0
    ids = [dev_keypair(n).public for n in ("alice", "bob", "charlie")]
    assert capsys.readouterr().out.strip() == encode_address(multisig_account(ids, 2))


def test_multisig_create_refuses_a_bad_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["multisig", "create", "--signatories", "alice,bob", "--threshold", "3"])
    assert exit_info.value.code == 1
    assert "--threshold" in capsys.readouterr().err


def test_register_validator_args_follow_the_chains_spec() -> None:
    """`--args` of `bonds.register_validator` (in batch, proxy call, multisig approve, propose) are read by the node's
    own call table: from spec 17 the session key's proof (`btt_sessionKeysProof`) is the third, 0x-hex; a spec-16
    chain's table takes the two arguments it always did."""
    from btt_chain.client import CallTable
    from runtime.specs import runtime_of

    key, commitment, proof = "0x" + "07" * 32, "0x" + "08" * 32, "0x" + "09" * 64
    new = CallTable(runtime_of(17).metadata())
    with pytest.raises(ConfigError, match="takes a JSON array of 3 arguments .*proof"):
        convert_call_args("bonds.register_validator", f'["{key}", "{commitment}"]', lambda s: b"", new)
    args = convert_call_args("bonds.register_validator", f'["{key}", "{commitment}", "{proof}"]', lambda s: b"", new)
    assert new.build_call("bonds.register_validator", *args).args == (
        b"\x07" * 32 + b"\x08" * 32 + b"\x01\x01" + b"\x09" * 64)
    old = CallTable(runtime_of(16).metadata())
    args = convert_call_args("bonds.register_validator", f'["{key}", "{commitment}"]', lambda s: b"", old)
    assert old.build_call("bonds.register_validator", *args).args == b"\x07" * 32 + b"\x08" * 32


def test_call_args_use_the_metadata_types() -> None:
    bob = dev_keypair("bob").public
    args = convert_call_args("balances.transfer_allow_death", '["bob", "10.5"]', lambda s: dev_keypair(s).public)
    assert args == (bob, 10_500_000_000_000_000_000)
    assert convert_call_args("bonds.withdraw_unbonded", "[]", lambda s: b"") == ()
    key, proof = "0x" + "07" * 32, "0x" + "09" * 64
    assert convert_call_args("bonds.register_validator", f'["{key}", "{key}", "{proof}"]', lambda s: b"") == (
        b"\x07" * 32, b"\x07" * 32, b"\x09" * 64,
    )
    with pytest.raises(ConfigError, match="takes a JSON array of 2"):
        convert_call_args("balances.transfer_allow_death", '["bob"]', lambda s: b"")
    with pytest.raises(ConfigError, match="expected u128"):
        convert_call_args("balances.transfer_allow_death", '["bob", 1.5]', lambda s: dev_keypair(s).public)
    with pytest.raises(ConfigError, match="unknown call"):
        convert_call_args("nope.nothing", "[]", lambda s: b"")
