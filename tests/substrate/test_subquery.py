"""An unchanged SubQuery node (@subql/node, pinned in tests/substrate/indexers/subquery/package-lock.json; it runs
@polkadot/api inside) indexes a real dev node serving archive state into PostgreSQL.

The project is tests/substrate/indexers/subquery: schema.graphql, mappings.js (one BlockHandler storing every event
of the block with its block's number, hash and timestamp, its phase, extrinsic index and section.method; an
EventHandler never sees the events of extrinsic 0 in @subql/node 6.4.6, on any chain, see mappings.js) and
project.yaml.in, which the test fills in with the node's genesis hash (SubQuery's `chainId`), its WebSocket endpoint
and the first block. The test starts a node (`--state-pruning archive`), a throwaway PostgreSQL cluster with the
`btree_gist` extension SubQuery asks its DB admin for (its historical state needs it), starts `subql-node` on the
project with its defaults (historical state by height, unfinalized blocks indexed; its dictionary registry is served
locally, see `empty_dictionary_registry`), makes a block holding a transfer, an asset registration, an attestation,
a governance proposal and a compute provider's registration, waits until SubQuery's own progress row
(`_metadata.lastProcessedHeight`) passes that block, and holds its rows to the node's own view of the block: every
event of every extrinsic, extrinsic 0's included, in order, with the block's timestamp (SubQuery reads it from the
block's `timestamp.set` extrinsic)."""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator

import pytest

from tests.functional.framework import Harness, free_port, wait_until
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

SUBQUERY = SUBSTRATE / "indexers" / "subquery"
SCHEMA = "btt"
"""The database schema SubQuery writes the project's tables into (`--db-schema`)."""


@contextlib.contextmanager
def empty_dictionary_registry() -> Iterator[str]:
    """SubQuery fetches its registry of dictionaries (indexes of other chains that speed it up) from GitHub at start;
    this machine reaches only package registries, and a new chain has no dictionary anyway: this serves the registry's
    answer for a chain it does not list, `{"substrate": {}}`, on 127.0.0.1 (`--dictionary-registry=URL`)."""

    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
            body = json.dumps({"substrate": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dictionary.json"
    finally:
        server.shutdown()
        server.server_close()


def subquery_first_error(output: str) -> str | None:
    """Where SubQuery stopped: the first line it logged at level error or fatal (`--output-fmt json`): its message,
    each cause's message, and where the innermost cause was thrown."""
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or str(entry.get("level", "")).lower() not in ("error", "fatal"):
            continue
        parts = [" ".join(str(p) for p in (entry.get("category"), entry.get("message")) if p)]
        error = entry.get("payload")
        where = None
        while isinstance(error, dict):
            parts.append(f"{error.get('name', 'Error')}: {error.get('message')}")
            frames = [f.strip() for f in str(error.get("stack") or "").splitlines()[1:2]]
            where = frames[0] if frames else where
            error = error.get("cause")
        return " <- ".join(p for p in parts if p) + (f" ({where})" if where else "")
    return None


@pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))
@pytest.mark.skipif(postgres_missing() is not None, reason=str(postgres_missing()))
def test_subquery_indexes_every_event_of_a_block_with_several_calls(harness: Harness) -> None:
    not_installed = packages_missing(SUBQUERY, "@subql/node")
    assert not_installed is None, not_installed
    node = dev_node(harness, ["--no-p2p", "--state-pruning", "archive"])
    node.start()

    project = harness.root / "subquery-project"
    project.mkdir()
    for name in ("schema.graphql", "mappings.js"):
        shutil.copy(SUBQUERY / name, project / name)
    # SubQuery starts from the node's finalized block and reads its timestamp: the genesis block has none (as on any
    # FRAME chain), so it is started, as on a live chain, once finality has passed genesis
    wait_until(lambda: node.finalized_number() >= 1, 180, 0.5, "finality past genesis")
    manifest = (SUBQUERY / "project.yaml.in").read_text()
    start = max(1, node.finalized_number())  # SubQuery refuses a start above the chain's height as it counts it
    for key, value in (("GENESIS_HASH", node.call("chain_getBlockHash", 0)),
                       ("ENDPOINT", f"ws://127.0.0.1:{node.rpc_port}"), ("START_BLOCK", str(start))):
        manifest = manifest.replace(f"@{key}@", value)
    (project / "project.yaml").write_text(manifest)

    with pg_cluster(harness.root) as pg, empty_dictionary_registry() as registry:
        pg.create_database("subquery")
        pg.psql("subquery", "CREATE EXTENSION IF NOT EXISTS btree_gist")
        env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(pg.port), "DB_DATABASE": "subquery", "DB_USER": pg.user,
               "DB_PASS": "postgres", "TZ": "UTC"}  # SubQuery refuses to start outside UTC
        argv = [str(SUBQUERY / "node_modules" / ".bin" / "subql-node"), "-f", str(project), f"--db-schema={SCHEMA}",
                f"--port={free_port()}", f"--dictionary-registry={registry}", "--output-fmt=json"]
        harness.log(f"subql-node from block #{start}")
        with tool_process(argv, project, harness.root / "subquery.log", env) as subql:
            block = make_block_with_several_calls(node)
            harness.log(f"block #{block.number} holds {block.extrinsics} extrinsics and {len(block.events)} events")
            wait_for_indexer(pg, "subquery", subql,
                             f"SELECT value AS height FROM {SCHEMA}._metadata WHERE key = 'lastProcessedHeight'",
                             block.number, "SubQuery", subquery_first_error)
            rows = pg.rows("subquery", "SELECT block_number, block_hash, block_timestamp, event_index, phase, "
                                       f"extrinsic_index, name FROM {SCHEMA}.indexed_events "
                                       f"WHERE block_number = {block.number} AND upper_inf(_block_range)")
    assert_rows_are_the_blocks_events(rows, block, node, "SubQuery")
