"""`--checkpoint HASH@NUMBER`, as `btt-chain node` and `btt-chain import-blocks` take it."""

from __future__ import annotations

import click

from genesis.spec import TrustedCheckpoint


def parse_checkpoint_option(ctx: click.Context, param: click.Parameter, value: str | None) -> TrustedCheckpoint | None:
    if value is None:
        return None
    try:
        return TrustedCheckpoint.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
