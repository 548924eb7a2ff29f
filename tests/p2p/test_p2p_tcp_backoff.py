"""The cap on each peer connection's TCP retransmission backoff (p2p/tcp_backoff.py): set on both ends of every
connection, refused outside the kernel's range, and a kernel without the option told once, never a failure. What it
buys across a real outage is tests/testnet/test_link_outage.py."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from pathlib import Path

import pytest

from p2p import P2PConfig, P2PError, tcp_backoff
from tests.p2p.harness import GENESIS, Net, bootnode, wait_until


def _kernel_default_ms() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_rto_max_ms").read_text())
    except OSError:
        return 120_000


async def _pair(net: Net, **options: object) -> tuple[dict[str, list[int | None]], dict[str, list[int | None]]]:
    a = net.service("a", **options)
    b = net.service("b", (bootnode(a),), **options)
    await asyncio.gather(a.start(), b.start())
    await wait_until(lambda: a.peers() and b.peers(), what="a and b connected")
    return await a.connection_backoff_caps(), await b.connection_backoff_caps()


@pytest.mark.skipif(not tcp_backoff.kernel_can_cap(), reason="this kernel has no TCP_RTO_MAX_MS (Linux 6.15+)")
async def test_both_ends_of_a_connection_carry_the_configured_cap(net: Net) -> None:
    on_a, on_b = await _pair(net, tcp_rto_max_ms=1500)
    assert list(on_a.values()) == [[1500]] and list(on_b.values()) == [[1500]]


@pytest.mark.skipif(not tcp_backoff.kernel_can_cap(), reason="this kernel has no TCP_RTO_MAX_MS (Linux 6.15+)")
async def test_without_a_cap_a_connection_keeps_the_kernels_backoff(net: Net) -> None:
    on_a, on_b = await _pair(net, tcp_rto_max_ms=None)
    default = _kernel_default_ms()
    assert list(on_a.values()) == [[default]] and list(on_b.values()) == [[default]]


async def test_a_kernel_without_the_option_is_told_once_and_peers_connect(
    net: Net, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[str] = []

    def refused(conn: object, rto_max_ms: int) -> str:
        outcomes.append("unsupported")
        return "unsupported"

    monkeypatch.setattr(tcp_backoff, "cap_backoff", refused)
    caplog.set_level(logging.INFO, logger="btt.p2p")
    a = net.service("a")
    b = net.service("b", (bootnode(a),))
    c = net.service("c", (bootnode(a),))
    await asyncio.gather(a.start(), b.start(), c.start())
    await wait_until(lambda: len(a.peers()) == 2 and b.peers() and c.peers(), what="b and c connected to a")
    assert len(outcomes) >= 4  # each end of both connections tried
    told = [r for r in caplog.records if "cannot cap a connection's TCP retransmission backoff" in r.getMessage()]
    assert len(told) == 3, told  # once per node, not once per connection


@pytest.mark.parametrize("value", [0, 999, 120_001, -1])
def test_a_cap_outside_the_kernels_range_is_refused(tmp_path: Path, value: int) -> None:
    with pytest.raises(P2PError, match="tcp_rto_max_ms must be 1000-120000"):
        P2PConfig(0, tmp_path / "k", GENESIS, tcp_rto_max_ms=value)
    with pytest.raises(ValueError, match="1000-120000 ms"):
        tcp_backoff.cap_backoff(object(), value)


class FakeSocket:
    """A TCP socket whose setsockopt fails with `error` (None: succeeds and records the value)."""

    family = socket.AF_INET
    type = socket.SOCK_STREAM

    def __init__(self, error: int | None = None) -> None:
        self.error = error
        self.options: dict[tuple[int, int], int] = {}

    def setsockopt(self, level: int, option: int, value: int) -> None:
        if self.error is not None:
            raise OSError(self.error, "refused")
        self.options[level, option] = value

    def getsockopt(self, level: int, option: int) -> int:
        if self.error is not None:
            raise OSError(self.error, "refused")
        return self.options.get((level, option), 120_000)


class Layer:
    """One step of a libp2p connection's wrapping (muxer, secure session, raw connection, trio stream)."""

    def __init__(self, **links: object) -> None:
        self.__dict__.update(links)


def _wrapped(sock: object) -> Layer:
    trio_stream = Layer(socket=sock)
    raw = Layer(stream=Layer(stream=trio_stream))
    return Layer(muxed_conn=Layer(secured_conn=Layer(conn=Layer(read_writer=Layer(read_write_closer=raw)))))


def test_the_socket_is_found_through_the_connections_layers_and_capped() -> None:
    sock = FakeSocket()
    conn = _wrapped(sock)
    assert tcp_backoff.tcp_socket_of(conn) is sock
    assert tcp_backoff.cap_backoff(conn, 2000) == "capped"
    assert sock.options == {(socket.IPPROTO_TCP, tcp_backoff.TCP_RTO_MAX_MS): 2000}
    assert tcp_backoff.backoff_cap_of(conn) == 2000


@pytest.mark.parametrize(("error", "outcome"), [(errno.ENOPROTOOPT, "unsupported"), (errno.EINVAL, "unsupported"),
                                                (errno.EBADF, "no socket")])
def test_a_refused_option_is_reported_not_raised(error: int, outcome: str) -> None:
    conn = _wrapped(FakeSocket(error))
    assert tcp_backoff.cap_backoff(conn, 1000) == outcome
    assert tcp_backoff.backoff_cap_of(conn) is None


class Closed:
    """A layer whose link raises when read (a closed stream's property)."""

    @property
    def stream(self) -> object:
        raise RuntimeError("closed")


def test_no_socket_under_a_connection_of_another_kind() -> None:
    udp = FakeSocket()
    udp.type = socket.SOCK_DGRAM  # type: ignore[misc]
    cyclic = Layer()
    cyclic.conn = cyclic  # type: ignore[attr-defined]
    for conn in (object(), Layer(muxed_conn=None), _wrapped(udp), cyclic, _wrapped(object()), Layer(conn=Closed())):
        assert tcp_backoff.tcp_socket_of(conn) is None
        assert tcp_backoff.cap_backoff(conn, 1000) == "no socket"
        assert tcp_backoff.backoff_cap_of(conn) is None
