"""CLI-test support: run `btt-chain` in-process and check the one-line error contract."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.main import main


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
