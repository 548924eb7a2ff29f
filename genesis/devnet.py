"""Dev genesis for a local multi-validator network: the dev preset with N validators on loopback."""

from __future__ import annotations

import copy
from typing import Any

from btt_chain.primitives.errors import ConfigError
from genesis.loader import dev_hash_chain_commitment, load_chain_spec_doc, materialise
from genesis.spec import DEFAULT_HASH_CHAIN_LENGTH

DEVNET_VALIDATORS = ("alice", "bob", "charlie", "eve", "ferdie")
"""Dev accounts that hold liquid (bondable) funds in the dev preset; dave's holding is locked."""
DEVNET_BOND = "10000"
DEVNET_VOTING_MS = 60_000
"""How long a referendum's voting lasts on a devnet: time to type the governance walk's proposal and three votes, each
waiting for its block, on a busy laptop (the dev preset's single node keeps its 30 s)."""


def devnet_spec_doc(
    nodes: int,
    genesis_time_ms: int,
    epoch_slots: int | None = None,
    slot_ms: int | None = None,
) -> dict[str, Any]:
    """The dev preset with the first `nodes` of DEVNET_VALIDATORS as validators, each bonding 10,000 BTT and
    paying author rewards to NAME//stash.

    Each validator's hash-chain commitment is written out (the loader would derive the same for a dev key):
    computed once here, so every node of the devnet builds only its own hash chain, not all of them."""
    if not 1 <= nodes <= len(DEVNET_VALIDATORS):
        raise ConfigError(f"a devnet has 1 to {len(DEVNET_VALIDATORS)} validators, not {nodes}")
    doc = copy.deepcopy(load_chain_spec_doc("dev"))
    doc["id"] = "devnet"
    doc["name"] = f"BTT Devnet ({nodes} validators)"
    doc["chain_type"] = "local"
    doc["description"] = f"Local devnet: the dev preset with {nodes} validators on loopback."
    length = doc["consensus"].get("hash_chain_length", DEFAULT_HASH_CHAIN_LENGTH)
    doc["validators"] = [
        {
            "account": name,
            "bond": DEVNET_BOND,
            "payee": f"{name}//stash",
            "hash_chain_commitment": "0x" + dev_hash_chain_commitment(name, length).hex(),
        }
        for name in DEVNET_VALIDATORS[:nodes]
    ]
    doc["parameters"]["governance.voting_period_ms"]["value"] = DEVNET_VOTING_MS
    if epoch_slots is not None:
        doc["consensus"]["epoch_slots"] = epoch_slots
    if slot_ms is not None:
        doc["consensus"]["slot_ms"] = slot_ms
    return materialise(doc, genesis_time_ms)
