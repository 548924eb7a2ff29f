"""The keys the importing thread reads ahead of a block (`chain._accounts_read_first`): each signer's account and a
balance transfer's recipient's, by the call indices of the runtime the block runs on (never literals), nothing for an
inherent or another call. A hint only: the flat state answers every read the same with or without it
(tests/storage/test_read_ahead.py)."""

from __future__ import annotations

from btt_chain.node.chain import _accounts_read_first, _transfer_calls
from btt_chain.primitives.account_keys import key_from_secret
from btt_chain.primitives.block import Block, Digest, Header
from btt_chain.primitives.extrinsic import Call, Inherent, sign_extrinsic
from btt_chain.primitives.signatures import ED25519
from runtime.modules import RUNTIME
from runtime.system import storage as system

GENESIS = bytes(32)


def _xt(seed: int, call: Call, nonce: int = 0):  # type: ignore[no-untyped-def]
    pair = key_from_secret(ED25519, bytes([seed]) * 32)
    return sign_extrinsic(pair, call, nonce, GENESIS, RUNTIME.spec_version)


def _block(*extrinsics) -> Block:  # type: ignore[no-untyped-def]
    header = Header(bytes(32), 1, 1, 6_000, bytes(32), bytes(32), bytes(32), bytes(32), Digest())
    return Block(header, (Inherent(RUNTIME.call("timestamp.set", 6_000)), *extrinsics))


def test_signers_and_transfer_recipients_in_block_order() -> None:
    bob, dave = b"\x0b" * 32, b"\x0d" * 32
    pay = _xt(1, RUNTIME.call("balances.transfer_allow_death", bob, 5))
    keep = _xt(2, RUNTIME.call("balances.transfer_keep_alive", dave, 7))
    remark = _xt(3, RUNTIME.call("system.remark", bob))  # names bob's bytes, but not as a recipient
    keys = _accounts_read_first(_block(pay, keep, remark), RUNTIME)
    key = system.account.key
    assert keys == [key(pay.signer), key(bob), key(keep.signer), key(dave), key(remark.signer)]


def test_the_indices_come_from_the_runtime() -> None:
    pairs = _transfer_calls(RUNTIME)
    for name in ("balances.transfer_allow_death", "balances.transfer_keep_alive"):
        module, call = RUNTIME.lookup(name)
        assert (module.index, call.index) in pairs
    module, call = RUNTIME.lookup("system.remark")
    assert (module.index, call.index) not in pairs


def test_a_call_that_only_looks_like_a_transfer_costs_a_read_at_most() -> None:
    module, call = RUNTIME.lookup("balances.transfer_allow_death")
    short = _xt(4, Call(module.index, call.index, b"\x00" + b"\x01" * 3))  # truncated (the block is invalid)
    other_variant = _xt(5, Call(module.index, call.index, b"\x01" + b"\x02" * 40))  # not a MultiAddress::Id
    keys = _accounts_read_first(_block(short, other_variant), RUNTIME)
    key = system.account.key
    assert keys == [key(short.signer), key(other_variant.signer)]  # neither names a recipient it can be read for


def test_the_compiled_keys_are_the_python_ones(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`transfer_native.account_keys` (BLAKE2b-128 in C, runtime/_transfer_native.c) against the Python path on a mix:
    transfers to fresh and known accounts, a transfer_all, other calls, arguments too short or of another address
    kind, and an inherent."""
    import random

    from runtime import transfer_native

    if not transfer_native.NATIVE:
        return
    rng = random.Random(7)
    xts = []
    for i in range(300):
        roll = rng.random()
        if roll < 0.5:
            call = RUNTIME.call("balances.transfer_allow_death", rng.randbytes(32), rng.randrange(1, 10**20))
        elif roll < 0.6:
            call = RUNTIME.call("balances.transfer_keep_alive", b"\x0b" * 32, 5)
        elif roll < 0.7:
            call = RUNTIME.call("balances.transfer_all", rng.randbytes(32), rng.random() < 0.5)
        elif roll < 0.8:
            module, function = RUNTIME.call("balances.transfer_allow_death", bytes(32), 1).module, 0
            call = Call(module, function, bytes([rng.choice([1, 2, 3])]) + rng.randbytes(rng.randrange(0, 40)))
        else:
            call = RUNTIME.call("system.remark", rng.randbytes(rng.randrange(0, 60)))
        xts.append(_xt(i % 7 + 1, call, i))
    block = _block(*xts)
    compiled = _accounts_read_first(block, RUNTIME)
    monkeypatch.setattr(transfer_native, "NATIVE", False)
    assert compiled == _accounts_read_first(block, RUNTIME)
    assert len(compiled) > len(xts)
