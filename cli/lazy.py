"""Commands imported when they run: the wallet commands load with the light client's dependencies alone
(`pip install btt-chain`); a command whose module needs the node's (`btt-chain[node]`) says so when used."""

from __future__ import annotations

import importlib
from typing import Any

import click

from btt_chain.primitives.errors import ConfigError

NODE_DEPENDENCIES = frozenset({"libp2p", "plyvel", "numpy", "cryptography", "prometheus_client"})
"""Top-level modules of the `node` extra's packages."""


class NeedsNode(ConfigError):
    """This command needs the node's dependencies, which this install does not have."""


def missing_node_dependency(exc: ModuleNotFoundError) -> str | None:
    """The node dependency whose absence raised `exc`, or None when it is something else."""
    top = (exc.name or "").split(".")[0]
    return top if top in NODE_DEPENDENCIES else None


def needs_node(what: str, missing: str) -> NeedsNode:
    return NeedsNode(f"{what} needs the node's dependencies ({missing} is not installed): "
                     "pip install 'btt-chain[node]'")


def _stand_in(path: str, name: str, missing: str) -> click.Command:
    """A command whose module cannot load here: listed with why, and saying how to get it when run."""

    def run() -> None:
        raise needs_node(f"`{path} {name}`", missing)

    return click.Command(name, callback=run, help=f"(needs btt-chain[node]: {missing} is not installed)",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                         add_help_option=False)


class LazyGroup(click.Group):
    """A group whose `lazy` commands ("name": "module:attribute") are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return self.commands.get(cmd_name)
        module_name, attr = self.lazy[cmd_name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = missing_node_dependency(exc)
            if missing is None:
                raise
            return _stand_in(ctx.command_path, cmd_name, missing)
        command: click.Command = getattr(module, attr)
        self.commands[cmd_name] = command
        return command
