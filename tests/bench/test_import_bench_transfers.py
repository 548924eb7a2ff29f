"""`bench import`'s blocks of transfers (bench/import_bench.py `_transfers`): each signer's nonces follow on across
blocks whatever the block's size, so the chain the bench authors takes every transfer. A block of 10 transfers over
3 signers used to give the next block nonces one past the signer's next (`bench import --accounts 3 --transfers 10
--blocks 2 --recipients signers` ended in "future nonce 4: the account's next nonce is 3")."""

from __future__ import annotations

from collections import defaultdict

import pytest

from bench.import_bench import Recipients, _transfers, bench_genesis


@pytest.mark.parametrize(("accounts", "per_block"), [(3, 10), (4, 2), (5, 5), (7, 1)])
def test_each_signers_nonces_follow_on_across_blocks_of_any_size(accounts: int, per_block: int) -> None:
    genesis, signers = bench_genesis(accounts)
    recipients = Recipients("signers", accounts, signers)
    nonces: dict[bytes, list[int]] = defaultdict(list)
    for b in range(4):
        for xt in _transfers(signers, per_block, b * per_block, genesis, recipients):
            nonces[xt.signer].append(xt.nonce)
    assert sum(len(v) for v in nonces.values()) == 4 * per_block
    for signer, seen in nonces.items():
        assert seen == list(range(len(seen))), (signer.hex()[:8], seen)
    counts = sorted(len(v) for v in nonces.values())
    assert counts[-1] - counts[0] <= 1  # the signers take turns
