"""`btt-chain transfer` and the light client's `Wallet` sign with sr25519 and ECDSA keys, against an in-process dev
node: ed25519 alice pays `--to sr25519://Alice` and an ECDSA key file, which then pay bob back with `--from
sr25519://Alice` and `--from <key file>`; `Wallet(keypair_from_uri("//Alice", "sr25519"))` transfers too. The
transaction reaches the pool through the CLI's own dry run and watch; the test authors a block whenever one is
pooled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from btt_chain.client import Wallet, keypair_from_uri
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.keystore import load_keyfile
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import ECDSA, SR25519
from cli.main import main
from tests.rpc.conftest import dev_harness
from tests.rpc.harness import RpcHarness
from tests.support.cli_runner import authoring

UNIT = 10**18
"""A bound on one command (its own wait for inclusion is 60 s): only a hung test reaches it."""


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


async def btt_chain(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """`btt-chain ARGV --rpc URL --json`, which must succeed; its JSON."""
    capsys.readouterr()

    def run() -> int:
        try:
            main([*argv, "--rpc", rpc.url, "--json"])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    code = await authoring(rpc, run)
    out, err = capsys.readouterr()
    assert code == 0, err
    return dict(json.loads(out))


async def free(rpc: RpcHarness, account: bytes) -> int:
    return int((await rpc.call("btt_account", "0x" + account.hex()))["free"])


@pytest.mark.asyncio
async def test_transfer_signs_with_an_sr25519_uri_and_an_ecdsa_key_file(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BTT_PASSWORD", "a long enough password")
    key_file = tmp_path / "ecdsa.json"
    main_args = ["key", "generate", "--scheme", "ecdsa", "--output", str(key_file)]
    with pytest.raises(SystemExit) as generated:
        main(main_args)
    assert generated.value.code in (0, None)
    ecdsa_key = load_keyfile(key_file, lambda: b"a long enough password")
    sr = keypair_from_suri("//Alice", SR25519)
    assert ecdsa_key.scheme == ECDSA

    for dest in ("sr25519://Alice", str(key_file)):
        status = await btt_chain(rpc, capsys, "transfer", "--from", "alice", "--to", dest, "--amount", "10")
        assert status["success"] is True
    assert await free(rpc, sr.account) == await free(rpc, ecdsa_key.account) == 10 * UNIT

    bob = dev_keypair("bob").public
    for sender, key in (("sr25519://Alice", sr), (str(key_file), ecdsa_key)):
        bob_before = await free(rpc, bob)
        status = await btt_chain(rpc, capsys, "transfer", "--from", sender, "--to", "bob", "--amount", "1")
        assert status["success"] is True
        assert await free(rpc, bob) == bob_before + UNIT
        assert 8 * UNIT < await free(rpc, key.account) < 9 * UNIT  # 1 BTT and a fee
        block = rpc.node.chain.db.get_block(bytes.fromhex(status["blockHash"][2:]))
        assert block is not None
        (included,) = [x for x in block.transactions if "0x" + x.hash().hex() == status["hash"]]
        assert included.scheme == key.scheme and included.signer == key.account


@pytest.mark.asyncio
async def test_the_light_clients_wallet_signs_with_sr25519(rpc: RpcHarness) -> None:
    sr = keypair_from_uri("//Alice", "sr25519")
    await rpc.submit_in_block(dev_keypair("alice"), "balances.transfer_allow_death", sr.account, 5 * UNIT)
    bob = dev_keypair("bob").public
    bob_before = await free(rpc, bob)

    def pay() -> dict[str, Any]:
        wallet = Wallet(sr, rpc.url)
        return dict(wallet.transfer(bob, UNIT).status or {})

    status = await authoring(rpc, pay)
    assert status["success"] is True
    assert await free(rpc, bob) == bob_before + UNIT
