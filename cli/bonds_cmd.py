"""Bond commands: `btt-chain bond`, `btt-chain unbond`, `btt-chain withdraw` (sign, submit, wait)."""

from __future__ import annotations

import click

from btt_chain.client.rpc import DEFAULT_RPC
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError
from cli.submit import NotSent, submit_as

_from = click.option("--from", "sender", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _amount(text: str) -> int:
    value = parse_btt(text)
    if value == 0:
        raise ConfigError("--amount must be above zero")
    return value


@click.command()
@_from
@click.option("--amount", required=True, help="BTT, decimal (e.g. 12.5).")
@click.option("--extra", is_flag=True, help="Add to an existing bond (bonds.bond_extra).")
@_json
@_rpc
def bond(sender: str, amount: str, extra: bool, as_json: bool, rpc: str) -> None:
    """Bond BTT (validators and compute providers): reserved and slashable until unbonded. An account that is
    already bonded adds to its bond with --extra."""
    try:
        submit_as(sender, rpc, as_json, "bonds.bond_extra" if extra else "bonds.bond", _amount(amount))
    except NotSent as exc:
        if not extra and "AlreadyBonded" in str(exc):
            raise ConfigError("this account is already bonded: add to its bond with `btt-chain bond --extra` "
                              "(nothing was sent or charged)") from None
        raise


@click.command()
@_from
@click.option("--amount", required=True, help="BTT, decimal (e.g. 12.5).")
@_json
@_rpc
def unbond(sender: str, amount: str, as_json: bool, rpc: str) -> None:
    """Start unbonding; withdraw once the unbonding period has passed."""
    submit_as(sender, rpc, as_json, "bonds.unbond", _amount(amount))


@click.command()
@_from
@_json
@_rpc
def withdraw(sender: str, as_json: bool, rpc: str) -> None:
    """Withdraw every unbonding chunk that has matured."""
    submit_as(sender, rpc, as_json, "bonds.withdraw_unbonded")
