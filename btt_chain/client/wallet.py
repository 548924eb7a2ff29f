"""Typed wallet calls for scripts: a `Wallet` is a node connection plus a signer; each helper signs, dry-runs,
submits and (by default) watches the extrinsic to inclusion, returning its status and decoded events."""

from __future__ import annotations

from typing import Any

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.client.submit import Submitted, dry_run, sign_call, submit_call
from btt_chain.client.vote_margin import fetch_plan
from btt_chain.primitives.address import decode_address, encode_address
from btt_chain.primitives.keys import Signer

Account = bytes | str
"""A 32-byte account id, or an SS58 address."""


class Wallet:
    """One signer on one node. Amounts are int base units (`parse_btt("12.5")` for BTT)."""

    def __init__(self, signer: Signer, url: str = DEFAULT_RPC, timeout: float = 60.0) -> None:
        self.signer = signer
        self.rpc = RpcClient(url)
        self.info = ChainInfo.fetch(self.rpc)
        self.timeout = timeout

    @property
    def address(self) -> str:
        return encode_address(self.signer.account, self.info.ss58_prefix)

    def account_id(self, who: Account) -> bytes:
        return who if isinstance(who, bytes) else decode_address(who, self.info.ss58_prefix)

    def account(self, who: Account | None = None) -> dict[str, Any]:
        """`btt_account`: address, nonce, and free/reserved/frozen/spendable balances as int base units."""
        info: dict[str, Any] = self.rpc.call("btt_account", "0x" + self.account_id(who or self.signer.account).hex())
        return {k: int(v) if k in ("free", "reserved", "frozen", "spendable") else v for k, v in info.items()}

    def free_balance(self, who: Account | None = None) -> int:
        return int(self.account(who)["free"])

    def dry_run(self, call_name: str, *args: Any) -> dict[str, Any]:
        """What `call_name(*args)` would do against the head, without sending it."""
        call = self.info.calls.build_call(call_name, *args)
        return dry_run(self.rpc, sign_call(self.rpc, self.info, self.signer, call))

    def submit(self, call_name: str, *args: Any, tip: int = 0, wait: bool = True, force: bool = False) -> Submitted:
        """Any runtime call by name (`"balances.transfer_allow_death"`), arguments Python-typed."""
        return submit_call(self.rpc, self.info, self.signer, call_name, args, tip=tip, wait=wait,
                           timeout=self.timeout, force=force)

    def transfer(self, dest: Account, amount: int, keep_alive: bool = False, tip: int = 0,
                 wait: bool = True) -> Submitted:
        call = "balances.transfer_keep_alive" if keep_alive else "balances.transfer_allow_death"
        return self.submit(call, self.account_id(dest), amount, tip=tip, wait=wait)

    def stake(self, tier: str, amount: int, wait: bool = True) -> Submitted:
        return self.submit("staking.stake", tier, amount, wait=wait)

    def unstake(self, deposit_id: int, wait: bool = True) -> Submitted:
        return self.submit("staking.unstake", deposit_id, wait=wait)

    def bond(self, amount: int, extra: bool = False, wait: bool = True) -> Submitted:
        return self.submit("bonds.bond_extra" if extra else "bonds.bond", amount, wait=wait)

    def unbond(self, amount: int, wait: bool = True) -> Submitted:
        return self.submit("bonds.unbond", amount, wait=wait)

    def vote(self, ref_id: int, aye: bool, balance: int | None = None, wait: bool = True) -> Submitted:
        """Vote on `ref_id` with `balance` of the free balance, locked until voting ends (a locked balance pays no
        fee). None, the default, is `btt-chain vote`'s: the free balance after this vote's fee, less a margin of
        `vote_margin.FEE_MARGIN_FEES` typical fees as the node quotes them for this signer, so that it can still
        send transactions while the vote is open (`btt_chain/client/vote_margin.py`)."""
        if balance is None:
            call = self.info.calls.build_call("governance.vote", ref_id, aye, 0)
            balance = fetch_plan(self.rpc, self.info, self.signer, call, None).amount
        return self.submit("governance.vote", ref_id, aye, balance, wait=wait)
