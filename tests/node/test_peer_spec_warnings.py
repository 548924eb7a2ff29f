"""What peers' claimed specs can make a node log (`UpgradeWatch.observe_peer`): an operator still hears once of a
newer spec its peers run, but a peer that claims a new spec in every status cannot fill the log, nor the node's
memory: a spec is believed only within `PEER_SPECS_AHEAD` of the newest the node knows of, and said only when newer
than any said before."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from btt_chain.node.chain import Chain
from btt_chain.node.sync import PeerStatus
from btt_chain.node.upgrades import PEER_SPECS_AHEAD, UpgradeWatch
from runtime import specs
from storage.memory import MemoryStore
from tests.support.node_builder import dev_genesis

H = bytes(32)


@pytest.fixture(autouse=True)
def no_limit() -> Iterator[None]:
    yield
    specs.limit(None)


def status(spec: int | None) -> PeerStatus:
    """A status as it comes off the wire."""
    raw = PeerStatus(9, b"\x01" * 32, 0, b"\x02" * 32, spec, () if spec is None else (spec,)).encode()
    return PeerStatus.decode(raw)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "btt.upgrade" and r.levelno == logging.WARNING]


def watch(spec: int | None = None) -> UpgradeWatch:
    return UpgradeWatch(Chain(MemoryStore(), dev_genesis(spec_version=spec)))


def test_a_peer_claiming_a_new_spec_in_every_status_is_heard_a_bounded_number_of_times(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "btt.upgrade")
    w = watch()
    newest = max(specs.supported())
    for i in range(5000):  # far-off specs: not believed at all
        w.observe_peer("12D3KooWattacker", status(1000 + i))
    assert warnings(caplog) == []
    for i in range(5000):  # every spec in reach, and far-off ones again, from ever new peers
        w.observe_peer(f"12D3KooWsybil{i}", status(newest + 1 + i % (2 * PEER_SPECS_AHEAD)))
    said = warnings(caplog)
    assert 0 < len(said) <= PEER_SPECS_AHEAD
    assert f"runs spec {newest + PEER_SPECS_AHEAD}," in said[-1]
    assert not any(f"spec {newest + PEER_SPECS_AHEAD + 1}" in line for line in said)
    assert not hasattr(w, "_peer_specs_warned") and w._peer_spec_warned == newest + PEER_SPECS_AHEAD


def test_an_operator_still_hears_of_a_newer_spec_once_and_of_a_newer_one_again(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "btt.upgrade")
    w = watch(11)
    specs.limit(11)  # this node stands in for spec 11's release, on a spec-11 chain
    w.observe_peer("12D3KooWliar", status(2**31))  # a lie first keeps nothing from being said after
    w.observe_peer("12D3KooWliar", status(11 + PEER_SPECS_AHEAD + 1))
    for peer, spec in (("12D3KooWA", None), ("12D3KooWA", 11), ("12D3KooWA", 10), ("12D3KooWA", 12),
                       ("12D3KooWB", 12), ("12D3KooWA", 12)):
        w.observe_peer(peer, status(spec))
    [first] = warnings(caplog)
    assert "12D3KooWA"[-8:] in first and "runs spec 12, which this node cannot run" in first
    assert "install a btt-chain release that runs spec 12" in first
    w.observe_peer("12D3KooWB", status(13))
    w.observe_peer("12D3KooWA", status(12))  # an older one than said: nothing
    assert len(warnings(caplog)) == 2 and "install a btt-chain release that runs spec 13" in warnings(caplog)[1]
