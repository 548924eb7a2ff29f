"""`--log target=level,...` (Substrate's syntax), `--log-format json`, and dated lines."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator

import pytest

from btt_chain.log_config import HANDLER_NAME, JsonFormatter, TextFormatter, parse_log_spec, setup_logging
from tests.support.cli_runner import assert_one_error_line, run

ISO_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d")


@pytest.mark.parametrize(
    "spec, root, targets",
    [
        ("", None, {}),
        ("debug", logging.DEBUG, {}),
        ("info,btt.rpc=debug,btt.p2p=warning", logging.INFO,
         {"btt.rpc": logging.DEBUG, "btt.p2p": logging.WARNING}),
        ("btt.node=trace", None, {"btt.node": logging.DEBUG}),
        (" warn , btt.rpc = error ", logging.WARNING, {"btt.rpc": logging.ERROR}),
        ("btt.sync=off", None, {"btt.sync": logging.CRITICAL + 10}),
    ],
)
def test_parse_log_spec(spec: str, root: int | None, targets: dict[str, int]) -> None:
    assert parse_log_spec(spec) == (root, targets)


@pytest.mark.parametrize("spec", ["loud", "btt.rpc=loud", "=debug", "btt.rpc=", "a b=info"])
def test_parse_log_spec_refuses(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_log_spec(spec)


def _record(name: str = "btt.rpc", msg: str = "hello %s", args: tuple[object, ...] = ("world",)) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_text_line_carries_date_and_time() -> None:
    line = TextFormatter().format(_record())
    assert ISO_DATE_TIME.match(line), line
    assert line.endswith("WARNING btt.rpc: hello world")


def test_json_line_is_one_object() -> None:
    line = JsonFormatter().format(_record())
    doc = json.loads(line)
    assert set(doc) == {"time", "level", "target", "message"}
    assert ISO_DATE_TIME.match(doc["time"])
    assert (doc["level"], doc["target"], doc["message"]) == ("warning", "btt.rpc", "hello world")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The node command configures the root logger: put it back for the tests that follow."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogger("btt.test.a").level)
    try:
        yield
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.getLogger("btt.test.a").setLevel(saved[2])


def test_setup_logging_sets_root_and_targets(restore_logging: None) -> None:
    root = logging.getLogger()
    setup_logging("warning", "btt.test.a=debug", "json")
    assert root.level == logging.WARNING
    assert logging.getLogger("btt.test.a").getEffectiveLevel() == logging.DEBUG
    ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    setup_logging("info", "error", "text")  # a bare level in --log overrides --log-level; the handler is replaced
    assert root.level == logging.ERROR
    ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1 and isinstance(ours[0].formatter, TextFormatter)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["node", "--dev", "--log", "loud"], "unknown level 'loud'"),
        (["node", "--dev", "--log", "info,btt.rpc=nope"], "unknown level 'nope'"),
        (["node", "--dev", "--log", "=debug"], "is not TARGET=LEVEL"),
        (["node", "--dev", "--log-format", "xml"], "xml"),
        (["node", "--dev", "--prometheus-port", "70000"], "70000"),
    ],
)
def test_bad_log_and_metrics_flags(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert_one_error_line(code, err, fragment)


def test_busy_prometheus_port_is_one_clear_line(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "node", "--dev", "--no-p2p", "--rpc-port", "0", "--prometheus-port", str(port))
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "--prometheus-port" in errors[0] and "Traceback" not in err, err
