"""An unchanged Subsquid squid (squid-sdk: @subsquid/substrate-processor with @subsquid/typeorm-store on PostgreSQL,
pinned in tests/substrate/indexers/subsquid/package-lock.json) indexes a real dev node serving archive state.

The squid's project is tests/substrate/indexers/subsquid (schema.graphql, lib/model, the migration squid's own
`squid-typeorm-migration generate` wrote, and lib/main.js, the processor: every event of every block with its
block's number, hash and timestamp). The test starts a node (`--state-pruning archive`), a throwaway PostgreSQL
cluster, applies the migration with `squid-typeorm-migration apply`, starts the processor from the node's head,
makes a block holding a transfer, an asset registration, an attestation, a governance proposal and a compute
provider's registration, waits until the squid's own progress row (`squid_processor.status`) passes that block, and
holds the squid's rows to the node's own view of the block (chain_getBlock, btt_events, btt_header): every event of
every extrinsic, extrinsic 0's included, in order, with the block's timestamp (Subsquid reads it from the block's
`timestamp.set` inherent)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.functional.framework import Harness
from tests.substrate.tools import (
    SUBSTRATE,
    assert_rows_are_the_blocks_events,
    dev_node,
    make_block_with_several_calls,
    node_missing,
    packages_missing,
    pg_cluster,
    postgres_missing,
    tool_process,
    wait_for_indexer,
)
from tests.support.wait_limits import scaled

SQUID = SUBSTRATE / "indexers" / "subsquid"


def squid_first_error(output: str) -> str | None:
    """Where the squid stopped: the first line it logged at level error (4) or fatal (5), and the first JSON-RPC
    error the node answered it (the processor's RPC client logs each call and answer at debug level,
    SQD_DEBUG=sqd:processor:rpc); either may be absent."""
    fatal = rpc_error = None
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        answer = entry.get("rpcResponse")
        if rpc_error is None and isinstance(answer, dict) and "error" in answer:
            params = json.dumps(entry.get("rpcParams"))
            rpc_error = (f"the node answered {entry.get('rpcMethod')}({params[:200]}) with "
                         f"{json.dumps(answer['error'])}")
        if fatal is None and int(entry.get("level", 0)) >= 4:
            err = entry.get("err") or {}
            stack = str(err.get("stack") or err.get("message") or "").splitlines()
            detail = {k: v for k, v in err.items() if k not in ("stack", "message")}
            fatal = " | ".join(str(p) for p in (entry.get("msg"), stack[0] if stack else None, detail or None) if p)
    found = [f"squid: {fatal}" if fatal else None, f"first RPC error: {rpc_error}" if rpc_error else None]
    return "; ".join(f for f in found if f) or None


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
@pytest.mark.skipif(postgres_missing() is not None, reason=str(postgres_missing()))
def test_subsquid_indexes_every_event_of_a_block_with_several_calls(harness: Harness) -> None:
    not_installed = packages_missing(SQUID, "@subsquid/substrate-processor", "@subsquid/typeorm-store",
                                     "@subsquid/typeorm-migration", "pg")
    assert not_installed is None, not_installed
    node = dev_node(harness, ["--no-p2p", "--state-pruning", "archive"])
    node.start()
    with pg_cluster(harness.root) as pg:
        pg.create_database("squid")
        env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(pg.port), "DB_NAME": "squid", "DB_USER": pg.user,
               "DB_PASS": "postgres", "BTT_RPC_URL": f"ws://127.0.0.1:{node.rpc_port}",
               "BTT_FROM_BLOCK": str(node.height()),
               "SQD_DEBUG": "sqd:processor:rpc"}  # every RPC call and answer in its log, to name the first error
        harness.log("squid-typeorm-migration apply")
        applied = subprocess.run([str(SQUID / "node_modules" / ".bin" / "squid-typeorm-migration"), "apply"],
                                 cwd=SQUID, env={**os.environ, **env}, capture_output=True, text=True,
                                 timeout=scaled(120))
        assert applied.returncode == 0, f"squid-typeorm-migration apply failed:\n{applied.stdout}\n{applied.stderr}"

        harness.log(f"the squid's processor, from block #{env['BTT_FROM_BLOCK']}")
        with tool_process(["node", "lib/main.js"], SQUID, harness.root / "squid.log", env) as squid:
            block = make_block_with_several_calls(node)
            harness.log(f"block #{block.number} holds {block.extrinsics} extrinsics and {len(block.events)} events")
            wait_for_indexer(pg, "squid", squid, "SELECT height FROM squid_processor.status WHERE id = 0",
                             block.number, "the squid", squid_first_error)
            rows = pg.rows("squid", "SELECT block_number, block_hash, block_timestamp, event_index, phase, "
                                    f"extrinsic_index, name FROM indexed_event WHERE block_number = {block.number}")
    assert_rows_are_the_blocks_events(rows, block, node, "the squid")

