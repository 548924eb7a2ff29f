"""One error line, not a traceback (review 53, finding 4): an --rpc URL that urllib cannot even parse or send to
(`http://[::1`: Invalid IPv6 URL; a space; a port out of range; no host), and a `node --base-path` whose data directory
cannot be created (under /proc, or under a regular file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from btt_chain.client.rpc import RpcClient, RpcError
from tests.support.cli_runner import assert_one_error_line, run
from tests.support.ports import free_port

BAD_URLS = [
    ("http://[::1", "Invalid IPv6 URL"),
    ("http://127.0.0.1:9944/ x", "control characters"),
    ("http://127.0.0.1:99999", "out of range"),
    ("http://127.0.0.1:port", "Port could not be cast"),
    ("http://", "no host"),
]


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_an_rpc_url_urllib_cannot_use_is_one_error_line_naming_the_option(
    capsys: pytest.CaptureFixture[str], url: str, why: str,
) -> None:
    code, out, err = run(capsys, "query", "account", "bob", "--rpc", url)
    assert_one_error_line(code, err, f"--rpc {url!r} is not a node URL like http://127.0.0.1:9944")
    assert why in err and out == ""


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_the_client_refuses_the_url_as_an_rpc_error_before_any_call(url: str, why: str) -> None:
    try:
        RpcClient(url, option="--node-rpc").call("system_health")
    except RpcError as exc:
        assert "--node-rpc" in str(exc) and why in str(exc), exc
    else:
        raise AssertionError(f"{url!r} was taken")


@pytest.mark.parametrize("where", ["/proc/btt-chain-test/base", "under-a-file"])
def test_a_base_path_that_cannot_be_created_is_one_config_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str,
) -> None:
    if where == "under-a-file":
        (tmp_path / "file").write_text("not a directory")
        base = tmp_path / "file" / "base"
    else:
        base = Path(where)
    code, _, err = run(capsys, "node", "--dev", "--base-path", str(base), "--rpc-port", str(free_port()),
                       "--port", str(free_port()), "--no-prometheus")
    assert_one_error_line(code, err, f"cannot create --base-path {base}'s data directory {base}/chains/dev: ")
    assert not base.exists()
