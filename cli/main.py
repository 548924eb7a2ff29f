"""The `btt-chain` command group. Errors are one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from btt_chain.primitives.errors import BttError
from cli.lazy import LazyGroup, missing_node_dependency, needs_node
from cli.passwords import set_password_file
from cli.process_end import command_process
from cli.submit import set_fee_only, set_force

COMMANDS = {
    "node": "cli.node_cmd:node", "purge-chain": "cli.node_cmd:purge_chain",
    "export-blocks": "cli.blocks_cmd:export_blocks", "import-blocks": "cli.blocks_cmd:import_blocks",
    "check-block": "cli.blocks_cmd:check_block", "revert": "cli.blocks_cmd:revert",
    "key": "cli.keys:key", "transfer": "cli.wallet:transfer", "query": "cli.query:query",
    "stake": "cli.staking_cmd:stake", "unstake": "cli.staking_cmd:unstake",
    "claim-fee-share": "cli.staking_cmd:claim_fee_share", "genesis": "cli.genesis_cmd:genesis",
    "bench": "cli.bench_cmd:bench", "devnet": "cli.devnet_cmd:devnet", "testnet": "cli.testnet_cmd:testnet",
    "bond": "cli.bonds_cmd:bond", "unbond": "cli.bonds_cmd:unbond", "withdraw": "cli.bonds_cmd:withdraw",
    "multisig": "cli.multisig_cmd:multisig", "vest": "cli.vesting_cmd:vest", "miner": "cli.compute_cmd:miner",
    "job": "cli.compute_cmd:job", "provider": "cli.compute_cmd:provider", "propose": "cli.governance_cmd:propose",
    "vote": "cli.governance_cmd:vote", "referendum": "cli.governance_cmd:referendum",
    "asset": "cli.assets_cmd:asset", "incentives": "cli.incentives_cmd:incentives", "pay": "cli.payments_cmd:pay",
    "invoice": "cli.payments_cmd:invoice", "model": "cli.model_cmd:model",
    "simulate": "cli.simulate_cmd:simulate", "build-spec": "cli.build_spec_cmd:build_spec",
    "set-keys": "cli.session_keys_cmd:set_keys", "signing-records": "cli.signing_records_cmd:signing_records",
    "register-validator": "cli.session_keys_cmd:register_validator",
    "try-upgrade": "cli.try_upgrade_cmd:try_upgrade_cmd",
    "batch": "cli.batch_cmd:batch", "proxy": "cli.proxy_cmd:proxy",
}
"""Command name -> "module:attribute", imported when the command runs (see cli.lazy)."""


class SuggestingGroup(click.Group):
    """A mistyped subcommand is answered with the closest ones (`btt-chain tranfer` -> "Did you mean
    'transfer'?"), lazily loaded commands included; every group it hands out answers the same way, however it was
    declared, so `btt-chain query acount` does too (click older than 8.4 suggests nothing, and 8.4 only among a
    lazy group's already loaded commands)."""

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            close = self.closest(ctx, name)
            if close:
                choices = " or ".join(repr(c) for c in close)
                raise click.UsageError(f"No such command {name!r}. Did you mean {choices}?", ctx)
        return super().resolve_command(ctx, args)

    def closest(self, ctx: click.Context, name: str) -> list[str]:
        """Visible commands that `name` looks like: the same name in other case, or close spellings (difflib), then
        names it begins."""
        names = [n for n in self.list_commands(ctx) if not getattr(self.commands.get(n), "hidden", False)]
        if name.lower() in names:  # `STAKE`: only the case differs
            return [name.lower()]
        close = difflib.get_close_matches(name.lower(), names, n=3, cutoff=0.6)
        begun = [n for n in names if n.startswith(name.lower()) and n not in close]
        return (close + begun)[:3]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, click.Group) and not isinstance(command, SuggestingGroup):
            command.__class__ = _suggesting(type(command))
        return command


_SUGGESTING: dict[type[click.Group], type[click.Group]] = {}


def _suggesting(cls: type[click.Group]) -> type[click.Group]:
    """`cls` with SuggestingGroup's answers (a subclass, so its own behaviour is kept); one per class."""
    if cls not in _SUGGESTING:
        _SUGGESTING[cls] = type(f"Suggesting{cls.__name__}", (SuggestingGroup, cls), {})
    return _SUGGESTING[cls]


class FullSummaryGroup(SuggestingGroup, LazyGroup):
    """Lists each command with its whole first sentence (click cuts summaries at the terminal's width)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=FullSummaryGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="btt-chain", message="btt-chain %(version)s")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), envvar="BTT_PASSWORD_FILE",
              help="File holding the password of encrypted key files (or set BTT_PASSWORD_FILE or BTT_PASSWORD; "
                   "otherwise you are prompted).")
@click.option("--force", is_flag=True,
              help="Wallet commands: send even what the dry run against the head says will fail (it pays its fee).")
@click.option("--fee-only", is_flag=True,
              help="Wallet commands: print the fee the extrinsic would pay (BTT and base units), its weight and its "
                   "signed hex, and send nothing.")
def cli(password_file: Path | None, force: bool, fee_only: bool) -> None:
    """btt-chain: a node and wallet for the BTT healthcare-compute chain."""
    set_password_file(password_file)
    set_force(force)
    set_fee_only(fee_only)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn every expected failure into one line on stderr."""
    try:
        try:
            with command_process():  # a node ends its process itself after a clean stop (cli/process_end.py)
                code = cli.main(args=argv, prog_name="btt-chain", standalone_mode=False)
        except ModuleNotFoundError as exc:  # a wallet command reaching into the node's code, on a light install
            missing = missing_node_dependency(exc)
            if missing is None:
                raise
            raise needs_node("this command", missing) from None
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except BttError as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        click.echo(f"error: {lines[0]}", err=True)
        for line in lines[1:]:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
