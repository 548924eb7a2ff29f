"""The tests' wait helpers (tests/support/wait_limits.py, framework.wait_until, p2p harness.wait_until): limits
scaled by BTT_TEST_TIMEOUT_SCALE, a bad factor refused in one line, a last poll after the limit, a failure that
says what was awaited, and the wait log that finds the waits close to their limit."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from tests.functional import framework
from tests.p2p import harness
from tests.support import wait_limits


def test_the_scale_is_1_unless_set_and_multiplies_every_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(wait_limits.SCALE_ENV, raising=False)
    assert wait_limits.timeout_scale() == 1.0 and wait_limits.scaled(60) == 60
    monkeypatch.setenv(wait_limits.SCALE_ENV, " 2.5 ")
    assert wait_limits.scaled(60) == 150.0
    assert harness.limit(10) == 25.0


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "nan", "inf", "1e400"])
def test_a_bad_scale_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(wait_limits.SCALE_ENV, raw)
    with pytest.raises(ValueError, match=f"^{wait_limits.SCALE_ENV} must be a positive number") as exc:
        wait_limits.scaled(1)
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError):  # no wait runs with a limit nobody meant
        framework.wait_until(lambda: True, 1, what="anything")


def test_wait_until_returns_the_value_once_the_event_happens() -> None:
    polls = itertools.count()
    assert framework.wait_until(lambda: next(polls) >= 3 and "done", 60, 0.01, "the third poll") == "done"
    assert next(polls) == 4


def test_wait_until_counts_rpc_and_socket_errors_as_not_yet() -> None:
    answers: list[Exception | str] = [OSError("refused"), framework.RpcError("starting", -32000), "up"]

    def predicate() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert framework.wait_until(predicate, 60, 0.01, "the node") == "up"


def test_a_wait_that_never_sees_its_event_fails_naming_it_and_the_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(wait_limits.SCALE_ENV, "0.01")  # a 100 s limit becomes 1 s
    with pytest.raises(AssertionError, match=r"waiting for height 7 \(limit 1 s \(100 s x BTT_TEST_TIMEOUT_SCALE="
                                             r"0.01\); .*raise BTT_TEST_TIMEOUT_SCALE\) \(last error: refused\)"):
        framework.wait_until(lambda: (_ for _ in ()).throw(OSError("refused")), 100, 0.05, "height 7")


def test_a_poll_that_outlasts_the_limit_is_still_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(wait_limits.SCALE_ENV, "0.01")  # 0.5 s
    polls = itertools.count()

    def slow_then_true() -> bool:
        if next(polls) == 0:
            time.sleep(0.6)  # the first poll alone outlasts the limit (an RPC call on a busy machine)
            return False
        return True

    assert framework.wait_until(slow_then_true, 50, 0.01, "the slow poll's event")


async def test_the_p2p_wait_takes_sync_and_async_predicates_and_fails_naming_the_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    polls = itertools.count()

    async def async_event() -> bool:
        return next(polls) >= 2

    assert await harness.wait_until(async_event, what="the async event")
    assert await harness.wait_until(lambda: "sync", what="the sync event") == "sync"
    monkeypatch.setenv(wait_limits.SCALE_ENV, "0.01")
    with pytest.raises(AssertionError, match=r"waiting for the peer \(limit 0.3 s \(30 s x"):
        await harness.wait_until(lambda: False, what="the peer")


def test_the_wait_log_records_each_wait_and_ranks_them_by_share_of_their_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "waits.jsonl"
    monkeypatch.setenv(wait_limits.LOG_ENV, str(log))
    framework.wait_until(lambda: True, 60, what="quick")
    monkeypatch.setenv(wait_limits.SCALE_ENV, "0.001")
    with pytest.raises(AssertionError):
        framework.wait_until(lambda: False, 100, 0.01, what="never")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["what"], r["ok"], r["limit"]) for r in rows] == [("quick", True, 60), ("never", False, 0.1)]
    assert all(r["test"].startswith("tests/functional/test_wait_limits.py::") for r in rows)
    ranked = wait_limits.report(str(log))
    assert "TIMED OUT never" in ranked[0] and "quick" in ranked[1]
