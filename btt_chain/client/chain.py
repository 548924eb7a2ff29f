"""What a wallet learns from the node before it signs: genesis hash, prefix, chain type, spec and transaction
versions, token, and the call table (`btt_callTable`) that turns `module.call` names into fixed indices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from btt_chain.client.calls import CallTable
from btt_chain.client.rpc import RpcClient
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION


@dataclass(frozen=True)
class ChainInfo:
    genesis_hash: bytes
    ss58_prefix: int
    chain_type: str
    spec_version: int
    decimals: int
    symbol: str
    calls: CallTable = field(default_factory=lambda: CallTable({"modules": []}), compare=False, repr=False)
    """The node's call table; empty when built without a node (a wallet then cannot sign by call name)."""
    transaction_version: int = TRANSACTION_VERSION
    """The head's `transactionVersion` (`state_getRuntimeVersion`), which every signature commits to: a spec that
    changes how an existing call encodes bumps it, so a payload built for the older encoding cannot pass."""

    def format_amount(self, base_units: int | str) -> str:
        """'12.5 BTT' from base units."""
        from btt_chain.primitives.amounts import format_btt

        return f"{format_btt(int(base_units), self.decimals)} {self.symbol}"

    @classmethod
    def fetch(cls, rpc: RpcClient) -> ChainInfo:
        genesis = rpc.call("chain_getBlockHash", 0)
        if not isinstance(genesis, str):
            raise ConfigError("the node did not report a genesis hash")
        props = rpc.call("system_properties")
        version = rpc.call("state_getRuntimeVersion")
        metadata: dict[str, Any] = rpc.call("btt_callTable")
        return cls(
            genesis_hash=bytes.fromhex(genesis[2:]),
            ss58_prefix=int(props["ss58Format"]),
            chain_type=rpc.call("system_chainType"),
            spec_version=int(version["specVersion"]),
            decimals=int(props["tokenDecimals"]),
            symbol=str(props["tokenSymbol"]),
            calls=CallTable(metadata),
            transaction_version=_transaction_version(version),
        )


def _transaction_version(version: dict[str, Any]) -> int:
    """The runtime version's `transactionVersion` (a u32), which a signature commits to: never guessed."""
    found = version.get("transactionVersion")
    if type(found) is not int or not 0 <= found < 2**32:
        raise ConfigError(f"the node reported no usable transactionVersion in its runtime version: {found!r}")
    return found
