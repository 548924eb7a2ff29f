"""libp2p's log records reach ours: the failures the node handles itself are demoted to DEBUG (one, a connection
being added when the node stops, came with a traceback that a node's log must not show), every other one keeps its
level."""

from __future__ import annotations

import logging

import pytest

from p2p.node import _ForwardToBtt


def forwarded(name: str, level: int, message: str, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="btt.p2p.libp2p"):
        _ForwardToBtt().emit(logging.makeLogRecord({"name": name, "levelno": level,
                                                    "levelname": logging.getLevelName(level), "msg": message}))
    return [r for r in caplog.records if r.name == "btt.p2p.libp2p" or r.name == name]


@pytest.mark.parametrize(("name", "message", "level"), [
    ("libp2p.network.swarm", "[ADDCONN_FAIL] add_conn failed for peer 12D3Koo: Cancelled(source='explicit', "
     "source_task=None, reason=None)", logging.DEBUG),
    ("libp2p.network.swarm", "[ADDCONN_FAIL] add_conn failed for peer 12D3Koo: BaseExceptionGroup('Exceptions from "
     "Trio nursery', [Cancelled(source='explicit', source_task=\"<Task 'p2p.bridge.TrioThread._root'>\", "
     "reason=None)])", logging.DEBUG),
    ("libp2p.network.swarm", "[ADDCONN_FAIL] add_conn failed for peer 12D3Koo: BaseExceptionGroup('Exceptions from "
     "Trio nursery', [OSError(104)])", logging.WARNING),
    ("libp2p.network.swarm", "[ADDCONN_FAIL] add_conn failed for peer 12D3Koo: OSError(104)", logging.WARNING),
    ("libp2p.network.swarm", "something else: Cancelled(source='explicit')", logging.WARNING),
    ("libp2p.network.swarm", "failed to upgrade security for peer 12D3Koo", logging.DEBUG),
    ("libp2p.network.swarm", "fail to upgrade mux for peer 12D3KooWRxA8", logging.DEBUG),
    ("libp2p.host.basic_host", "[ADDCONN_FAIL] add_conn failed: Cancelled(", logging.WARNING),
])
def test_only_the_failures_the_node_handles_are_demoted(name: str, message: str, level: int,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    records = forwarded(name, logging.WARNING, message, caplog)
    assert [r.levelno for r in records] == [level]
