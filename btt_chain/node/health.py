"""`GET /health` of the RPC port: 200 when the node is synced with peers (or needs none), 503 otherwise.

The body also says how this node's clock compares with its peers' (btt_chain/node/clock_watch.py): `clock` is
`ok`, `ahead`, `behind` (of most block authors' clocks by more than the drift allowance) or `unknown` (too few
authors heard from, or no network), `clockOffsetMs` the median measured offset (None when unmeasured), and
`heldBlocks` how many blocks from before their slot wait for it. A clock verdict does not make the node unhealthy:
such a node keeps its peers and its chain.

`finalityConflict` is None, or what the node saw when conflicting checkpoints were finalized (both checkpoints and
how many validators the evidence names): finality has stopped on this node, which is then unhealthy whatever else
holds, until an operator acts (the evidence stays in its database).

`signing` is None on a node that does not validate; on a validator `{"state", "message"}`, `state` one of `waiting for
sync` (it signs nothing before it has caught up with its peers), `watching` (started without signing records: it
watches for a second signer of its keys first), `signing`, or `refused`: another process was seen signing with this
validator's keys, and this node signs nothing more (unhealthy until an operator acts; btt_chain/node/signing_watch.py).

`specVersion` is the spec that ran the head block and `specs` the specs this node can run (`--max-spec` limits them).
`upgrade` is None, or the upgrade the best chain schedules: `{"spec", "at", "supported", "blocksToGo"}`; a node that
does not run it is still healthy until it must stop. `halted` is None, or where and why the node stopped (`{"block",
"spec", "migration", "message"}`: a spec it does not run, or a failed migration; btt_chain/node/upgrades.py): it
imports and authors nothing more and serves RPC at its last block, unhealthy until an operator installs a release
that runs the spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.specs import supported

if TYPE_CHECKING:
    from btt_chain.node.service import Node

DEV_CHAIN_TYPES = ("dev", "local", "development")


def should_have_peers(node: Node) -> bool:
    """As `system_health`: a networked node on a chain with more than one validator."""
    return node.config.p2p_port is not None and len(node.chain.validators()) > 1


def get_health(node: Node) -> tuple[bool, dict[str, Any]]:
    """(healthy, body): healthy on a dev or local chain, without p2p, or synced with at least one peer."""
    peers = node.peer_count()
    syncing = node.is_syncing()
    should = should_have_peers(node)
    body = {
        "peers": peers,
        "isSyncing": syncing,
        "shouldHavePeers": should,
        "best": node.chain.head.number,
        "finalized": node.chain.finalized.number,
        "finalityConflict": finality_conflict(node),
        "signing": node.signing.describe(),
        **clock_fields(node),
        **upgrade_fields(node),
    }
    lone = node.spec.chain_type.lower() in DEV_CHAIN_TYPES or node.config.p2p_port is None
    healthy = ((lone or (not syncing and (peers > 0 or not should))) and body["finalityConflict"] is None
               and not node.signing.refused and body["halted"] is None)
    return healthy, body


def finality_conflict(node: Node) -> dict[str, Any] | None:
    conflict = node.finality.conflict
    if conflict is None:
        return None
    return {"finalized": str(conflict.finalized), "conflicting": str(conflict.conflicting),
            "offenders": len(conflict.offenders()), "message": conflict.describe()}


def clock_fields(node: Node) -> dict[str, Any]:
    """`clock`, `clockOffsetMs`, `clockSources`, `clockAllowanceMs` and `heldBlocks` of the health body."""
    network = node.network
    if network is None:
        return {"clock": "unknown", "clockOffsetMs": None, "clockSources": 0,
                "clockAllowanceMs": node.chain.clock.max_drift_ms, "heldBlocks": 0}
    est = network.clock_watch.estimate()
    return {"clock": est.status, "clockOffsetMs": est.offset_ms, "clockSources": est.sources,
            "clockAllowanceMs": est.allowance_ms, "heldBlocks": len(network.future)}


def upgrade_fields(node: Node) -> dict[str, Any]:
    """`specVersion`, `specs`, `upgrade` and `halted` of the health body."""
    watch = node.upgrades
    return {"specVersion": watch.head_spec, "specs": list(supported()), "upgrade": watch.scheduled_fields(),
            "halted": watch.halt_fields()}
