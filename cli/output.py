"""Printing helpers shared by the commands: JSON output and aligned key/value lines."""

from __future__ import annotations

import datetime
import json
from typing import Any

import click


def utc(ms: int) -> str:
    """Unix milliseconds as an ISO-8601 UTC time."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).isoformat(timespec="seconds")


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def print_fields(rows: list[tuple[str, Any]]) -> None:
    width = max((len(k) for k, _ in rows), default=0)
    for k, v in rows:
        click.echo(f"{k.ljust(width)}  {v}")
