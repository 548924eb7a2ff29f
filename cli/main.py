"""The `btt-chain` command group. Errors are one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from btt_chain.primitives.errors import BttError
from cli.assets_cmd import asset
from cli.bench_cmd import bench
from cli.blocks_cmd import check_block, export_blocks, import_blocks, revert
from cli.bonds_cmd import bond, unbond, withdraw
from cli.compute_cmd import job, miner, provider
from cli.devnet_cmd import devnet
from cli.genesis_cmd import genesis
from cli.governance_cmd import propose, referendum, vote
from cli.incentives_cmd import incentives
from cli.keys import key
from cli.multisig_cmd import multisig
from cli.node_cmd import node, purge_chain
from cli.passwords import set_password_file
from cli.payments_cmd import invoice, pay
from cli.query import query
from cli.staking_cmd import claim_fee_share, stake, unstake
from cli.submit import set_force
from cli.testnet_cmd import testnet
from cli.vesting_cmd import vest
from cli.wallet import transfer


class FullSummaryGroup(click.Group):
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


@click.group(cls=FullSummaryGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="btt-chain", message="btt-chain %(version)s")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), envvar="BTT_PASSWORD_FILE",
              help="File holding the password of encrypted key files (or set BTT_PASSWORD_FILE or BTT_PASSWORD; "
                   "otherwise you are prompted).")
@click.option("--force", is_flag=True,
              help="Wallet commands: send even what the dry run against the head says will fail (it pays its fee).")
def cli(password_file: Path | None, force: bool) -> None:
    """btt-chain: a node and wallet for the BTT healthcare-compute chain."""
    set_password_file(password_file)
    set_force(force)


cli.add_command(node)
cli.add_command(purge_chain)
cli.add_command(export_blocks)
cli.add_command(import_blocks)
cli.add_command(check_block)
cli.add_command(revert)
cli.add_command(key)
cli.add_command(transfer)
cli.add_command(query)
cli.add_command(stake)
cli.add_command(unstake)
cli.add_command(claim_fee_share)
cli.add_command(genesis)
cli.add_command(bench)
cli.add_command(devnet)
cli.add_command(testnet)
cli.add_command(bond)
cli.add_command(unbond)
cli.add_command(withdraw)
cli.add_command(multisig)
cli.add_command(vest)
cli.add_command(miner)
cli.add_command(job)
cli.add_command(provider)
cli.add_command(propose)
cli.add_command(vote)
cli.add_command(referendum)
cli.add_command(asset)
cli.add_command(incentives)
cli.add_command(pay)
cli.add_command(invoice)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn every expected failure into one line on stderr."""
    try:
        code = cli.main(args=argv, prog_name="btt-chain", standalone_mode=False)
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
