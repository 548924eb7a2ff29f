"""CLI-test support: run `btt-chain` in-process and check the one-line error contract."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from cli.main import main

if TYPE_CHECKING:
    from tests.rpc.harness import RpcHarness

T = TypeVar("T")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `btt-chain ARGV` through `main` (which turns errors into one `error:` line); (exit code, out, err)."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def assert_one_error_line(code: int, err: str, fragment: str) -> None:
    """A failed command printed exactly one `error: ...` line containing `fragment`, and no traceback."""
    assert code != 0
    assert "Traceback" not in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert fragment in err, err


@contextlib.contextmanager
def held_node_ports() -> Iterator[list[str]]:
    """The node's RPC and peer ports held by listeners of this test (another node on them, as a devnet on the
    defaults), and Prometheus off: the arguments that name them. A mistake must be said before a taken port."""
    with socket.socket() as rpc, socket.socket() as p2p:
        for held in (rpc, p2p):
            held.bind(("127.0.0.1", 0))
            held.listen()
        yield ["--rpc-port", str(rpc.getsockname()[1]), "--port", str(p2p.getsockname()[1]), "--no-prometheus"]


def succeed(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run `btt-chain ARGV`, assert it succeeded, and return what it printed."""
    capsys.readouterr()
    code, out, err = run(capsys, *argv)
    assert code == 0, f"btt-chain {' '.join(argv)} failed: {err}"
    return out


def succeed_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """`succeed` with `--json`: the object it printed."""
    result: dict[str, Any] = json.loads(succeed(capsys, *argv, "--json"))
    return result


COMMAND_LIMIT_S = 600
"""How long a command run against a harness may take before the test says it hung."""


async def authoring(rpc: RpcHarness, work: Callable[[], T]) -> T:
    """Run `work` (a command calling the harness's node over HTTP) in a thread, authoring a block whenever a
    transaction is in the pool; its result."""
    loop = asyncio.get_running_loop()
    done = loop.run_in_executor(None, work)
    deadline = loop.time() + COMMAND_LIMIT_S
    while not done.done():
        assert loop.time() < deadline, "the command hung"
        if len(rpc.node.pool):
            rpc.author_block()
        await asyncio.sleep(0.05)
    return await done


async def run_authoring(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`btt-chain ARGV` against the harness (`authoring`): (exit code, out, err). ARGV names the node (`--rpc`)."""
    capsys.readouterr()

    def command() -> int:
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    code = await authoring(rpc, command)
    out, err = capsys.readouterr()
    return code, out, err
