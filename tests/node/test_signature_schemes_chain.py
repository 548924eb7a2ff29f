"""sr25519 and ECDSA accounts on a dev chain: funded by ed25519 alice, their transfers are admitted by the pool,
included in a block and imported by another node (its signatures checked by a forked worker); a bad signature of any
scheme is refused at no fee; a second encoding of a pooled ECDSA transfer (high S) does not replace it; and the
signature workers (`precheck_part` in forked processes) give each extrinsic of a block the same verdict as the
in-process path and `verify_multi`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from btt_chain.node import sigcheck
from btt_chain.node.chain import Chain
from btt_chain.node.precheck import precheck_block
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.primitives.account_keys import AccountKey
from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.mnemonic import keypair_from_suri
from btt_chain.primitives.signatures import ECDSA, ED25519, SR25519, verify_multi
from runtime.modules import RUNTIME
from runtime.system import storage as system
from storage.memory import MemoryStore
from tests.support.node_builder import UNIT, author_next, dev_genesis, far_future_ms, new_chain, new_pool, transfer

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SR = keypair_from_suri("//Alice", SR25519)
EC = keypair_from_suri("//Alice", ECDSA)
BOB = dev_keypair("bob").public


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[SignatureChecker]:
    """Two forked signature workers, given every block however small (as big blocks are)."""
    monkeypatch.setattr(sigcheck, "PARALLEL_THRESHOLD", 1)
    checker = SignatureChecker(workers=2)
    yield checker
    checker.close()


def pay(chain: Chain, key: AccountKey, dest: bytes, amount: int, nonce: int | None = None) -> Extrinsic:
    if nonce is None:
        nonce = system.account.get(chain.state(), key.account).nonce
    call = RUNTIME.call("balances.transfer_allow_death", dest, amount)
    return sign_extrinsic(key, call, nonce, chain.genesis_hash, RUNTIME.spec_version)


def high_s(xt: Extrinsic) -> Extrinsic:
    s = int.from_bytes(xt.signature[32:64], "big")
    return xt.replace(signature=xt.signature[:32] + (N - s).to_bytes(32, "big") + bytes([xt.signature[64] ^ 1]))


def funded_chain() -> tuple[Chain, list[Block]]:
    """A dev chain whose block 1 pays sr25519 and ECDSA //Alice 100 BTT each from ed25519 alice."""
    chain = new_chain()
    alice = dev_keypair("alice")
    nonce = system.account.get(chain.state(), alice.public).nonce
    imported, dropped = author_next(chain, [pay(chain, alice, SR.account, 100 * UNIT, nonce),
                                            pay(chain, alice, EC.account, 100 * UNIT, nonce + 1)])
    assert dropped == []
    return chain, [imported.block]


def free(chain: Chain, account: bytes) -> int:
    return system.account.get(chain.state(), account).free


def test_the_pool_admits_a_block_includes_and_another_node_imports_sr25519_and_ecdsa_transfers(
    workers: SignatureChecker,
) -> None:
    chain, blocks = funded_chain()
    pool, _ = new_pool(chain)
    for key in (SR, EC):
        pool.submit(pay(chain, key, BOB, UNIT).encode())
    assert len(pool) == 2
    bob_before = free(chain, BOB)
    imported, dropped = author_next(chain, [t.xt for t in pool.ready()])
    assert dropped == [] and len(imported.block.transactions) == 2
    assert {x.scheme for x in imported.block.transactions} == {SR25519, ECDSA}
    blocks.append(imported.block)
    assert free(chain, BOB) == bob_before + 2 * UNIT
    assert [system.account.get(chain.state(), key.account).nonce for key in (SR, EC)] == [1, 1]

    other = Chain(MemoryStore(), dev_genesis(), workers)  # signatures checked in the forked workers
    for block in blocks:
        assert other.import_block(block.encode(), far_future_ms()).status == "best"
    assert other.head_hash == chain.head_hash and free(other, BOB) == free(chain, BOB)


@pytest.mark.parametrize("scheme", [ED25519, SR25519, ECDSA])
def test_a_bad_signature_of_each_scheme_is_refused_at_no_fee(scheme: int) -> None:
    chain, _ = funded_chain()
    key = dev_keypair("alice") if scheme == ED25519 else SR if scheme == SR25519 else EC
    pool, _ = new_pool(chain)
    good = pay(chain, key, BOB, UNIT)
    forged = good.replace(signature=good.signature[:10] + bytes([good.signature[10] ^ 1]) + good.signature[11:])
    other_key = keypair_from_suri("//Bob", scheme)
    by_another = good.replace(signature=pay(chain, other_key, BOB, UNIT, good.nonce).signature)
    before = free(chain, key.account)
    for bad in (forged, by_another):
        with pytest.raises(InvalidExtrinsic, match="bad signature"):
            pool.submit(bad.encode())
    assert len(pool) == 0
    imported, dropped = author_next(chain, [forged])
    assert [reason for _, reason in dropped] and "bad signature" in dropped[0][1]
    assert imported.block.transactions == () and free(chain, key.account) == before


def test_a_second_encoding_of_an_ecdsa_transfer_is_valid_alone_and_does_not_replace_the_first() -> None:
    chain, _ = funded_chain()
    pool, _ = new_pool(chain)
    low = pay(chain, EC, BOB, UNIT)
    high = high_s(low)
    assert high.hash() != low.hash()
    pool.submit(low.encode())
    with pytest.raises(InvalidExtrinsic, match="already pooled"):
        pool.submit(high.encode())
    assert [t.xt.hash() for t in pool.ready()] == [low.hash()]
    imported, dropped = author_next(chain, [high])  # alone, as FRAME accepts it
    assert dropped == [] and imported.block.transactions == (high,)
    assert system.account.get(chain.state(), EC.account).nonce == 1


def test_the_workers_and_the_process_give_every_extrinsic_the_same_verdict(workers: SignatureChecker) -> None:
    chain, _ = funded_chain()
    alice = dev_keypair("alice")
    cases: list[tuple[Extrinsic, bool]] = []
    for key in (alice, SR, EC):
        good = pay(chain, key, BOB, UNIT)
        cases += [(good, True), (good.replace(signature=bytes(len(good.signature))), False),
                  (good.replace(call=RUNTIME.call("balances.transfer_allow_death", BOB, 2 * UNIT)), False),
                  (good.replace(signer=keypair_from_suri("//Bob", key.scheme).account), False)]
    ecdsa_good = pay(chain, EC, BOB, UNIT)
    cases += [(high_s(ecdsa_good), True),
              (ecdsa_good.replace(signature=ecdsa_good.signature[:64] + bytes([ecdsa_good.signature[64] + 27])), True),
              (ecdsa_good.replace(signature=ecdsa_good.signature[:64] + b"\x05"), False),
              (pay(chain, SR, BOB, UNIT).replace(scheme=ED25519), False)]  # an sr25519 signature labelled ed25519
    xts = [xt for xt, _ in cases]
    expected = [ok for _, ok in cases]
    encoded = Block(chain.head, tuple(xts)).encode()
    births = [chain.genesis_hash] * len(xts)  # immortal: born at genesis
    spec = RUNTIME.spec_version
    in_process = precheck_block(encoded, births, chain.genesis_hash, spec)
    in_workers = workers.start_precheck(encoded, births, chain.genesis_hash, spec).result()
    direct = [verify_multi(x.signer, x.signing_payload(chain.genesis_hash, chain.genesis_hash, spec), x.multi_signature)
              for x in xts]
    assert in_process.valid == in_workers.valid == direct == expected
    assert in_process.sig_keys == in_workers.sig_keys and in_process.extrinsics_root == in_workers.extrinsics_root


def test_dev_alice_of_each_scheme_is_its_own_account() -> None:
    chain = new_chain()
    assert free(chain, SR.account) == free(chain, EC.account) == 0  # only the ed25519 dev accounts are funded
    assert transfer(chain, "alice", "bob", UNIT).scheme == ED25519
