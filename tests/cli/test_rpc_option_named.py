"""Every error about a node the CLI cannot reach, or whose answer it cannot read, names the option that gave the
node's URL (issue 53: errors about an unreachable `--node-rpc` told the user to check `--rpc`): `--node-rpc` for
set-keys' signing node, `--rpc` for the node a command submits through (and BTT_RPC when the environment gave that
URL), over HTTP (the light client's RpcClient) and over WebSocket (the submission's watch). A node that answers
HTTP 500, text that is not JSON, or JSON that is no JSON-RPC answer is named the same way."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from btt_chain.client.rpc import RPC_ENV, RpcClient, RpcError
from btt_chain.client.watch import submit_and_watch
from tests.functional.framework import free_port
from tests.support.cli_runner import assert_one_error_line, run


def down() -> str:
    return f"http://127.0.0.1:{free_port()}"


class Answers(BaseHTTPRequestHandler):
    """A server at a URL that is no node: `/500` answers HTTP 500, `/text` plain text, `/list` a JSON list."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/500":
            self.send_response(500)
            self.end_headers()
            return
        body = b"<html>not a node</html>" if self.path == "/text" else b"[]"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def not_a_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("option", ["--rpc", "--node-rpc"])
def test_an_unreachable_node_names_the_option_that_gave_it(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RPC_ENV, raising=False)
    url = down()
    with pytest.raises(RpcError) as exc:
        RpcClient(url, timeout=5, option=option).call("system_health")
    assert f"cannot reach a node at {url}" in str(exc.value) and f"({option} URL)" in str(exc.value)
    assert exc.value.code is None
    with pytest.raises(RpcError) as watched:
        submit_and_watch(url, "0x00", 5, option)
    assert f"cannot reach a node at {url}" in str(watched.value) and f"({option} URL)" in str(watched.value)
    if option != "--rpc":
        assert "--rpc URL" not in str(exc.value) + str(watched.value)


@pytest.mark.parametrize("path, fragment", [
    ("/500", "answered HTTP 500"), ("/text", "a reply that is not JSON"), ("/list", "not a JSON-RPC answer"),
])
def test_a_server_that_is_no_node_is_named_by_its_option(not_a_node: str, path: str, fragment: str) -> None:
    with pytest.raises(RpcError) as exc:
        RpcClient(not_a_node + path, timeout=5, option="--node-rpc").call("chain_getBlockHash", 0)
    assert fragment in str(exc.value) and "(--node-rpc URL)" in str(exc.value), exc.value


def test_a_url_from_btt_rpc_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    url = down()
    monkeypatch.setenv(RPC_ENV, url.removeprefix("http://"))  # as a user writes it: host:port
    with pytest.raises(RpcError) as exc:
        RpcClient(url, timeout=5).call("system_health")
    assert f"(--rpc URL; this one came from {RPC_ENV})" in str(exc.value)
    with pytest.raises(RpcError) as other:
        RpcClient(down(), timeout=5).call("system_health")  # given with --rpc: the variable is not named
    assert "(--rpc URL)" in str(other.value) and RPC_ENV not in str(other.value)
    with pytest.raises(RpcError) as signing:
        RpcClient(url, timeout=5, option="--node-rpc").call("system_health")
    assert "(--node-rpc URL)" in str(signing.value) and RPC_ENV not in str(signing.value)


def test_commands_name_the_option_of_the_node_they_could_not_reach(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RPC_ENV, raising=False)
    rpc = down()
    for argv in (("query", "account", "alice", "--rpc", rpc), ("transfer", "--from", "alice", "--to", "bob",
                                                                "--amount", "1", "--rpc", rpc)):
        code, _, err = run(capsys, *argv)
        assert_one_error_line(code, err, f"cannot reach a node at {rpc}")
        assert "(--rpc URL)" in err
    # set-keys asks --rpc first (the chain, the stash), then --node-rpc: each is named for itself
    code, _, err = run(capsys, "set-keys", "--from", "bob", "--node-rpc", down(), "--rpc", rpc)
    assert_one_error_line(code, err, f"cannot reach a node at {rpc}")
    assert "(--rpc URL)" in err and "--node-rpc" not in err
