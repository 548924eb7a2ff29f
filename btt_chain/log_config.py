"""Logging of `btt-chain node`: `--log target=level,...` (Substrate's syntax) and `--log-format text|json`.

Every line carries the date and time (ISO 8601 with milliseconds and the UTC offset). The JSON form is one
object per line: time, level, target (the logger name, e.g. `btt.rpc`) and message (plus `exc` with a traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
}
FORMATS = ("text", "json")
HANDLER_NAME = "btt-chain"


def parse_log_spec(spec: str) -> tuple[int | None, dict[str, int]]:
    """(root level or None, {target: level}) of `info,btt.rpc=debug,btt.p2p=warning`; ValueError on a bad part."""
    root: int | None = None
    targets: dict[str, int] = {}
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        target, sep, level_name = part.rpartition("=")
        level = LEVELS.get(level_name.strip().lower())
        if level is None:
            raise ValueError(f"{part!r}: unknown level {level_name.strip()!r} (one of {', '.join(LEVELS)})")
        if not sep:
            root = level
            continue
        target = target.strip()
        if not target or any(c.isspace() or c == "=" for c in target):
            raise ValueError(f"{part!r} is not TARGET=LEVEL")
        targets[target] = level
    return root, targets


def iso_time(created: float) -> str:
    return datetime.fromtimestamp(created).astimezone().isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`2026-11-22T20:05:22.123+00:00 INFO  btt.node: message`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return iso_time(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, target, message (and exc when there is a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": iso_time(record.created),
            "level": record.levelname.lower(),
            "target": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted, not the stream of the moment it was set up: a
    command run in-process (a test capturing its output, an embedding program) may replace or close that stream, and
    a handler holding the old one would fail on every later record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def setup_logging(level: str = "info", spec: str = "", fmt: str = "text") -> None:
    """Configure the root logger: `level` (--log-level), then `spec` (--log) on top, in format `fmt`."""
    root_level, targets = parse_log_spec(spec)
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (text or json)")
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:  # ours only: a second call replaces it
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(root_level if root_level is not None else LEVELS[level.lower()])
    for target, target_level in targets.items():
        logging.getLogger(target).setLevel(target_level)
