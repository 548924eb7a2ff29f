"""Multisig commands: `btt-chain multisig create` (the address, offline) and `approve` (sign and submit)."""

from __future__ import annotations

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.accounts import multisig_account
from btt_chain.primitives.address import DEFAULT_SS58_PREFIX, encode_address
from btt_chain.primitives.errors import ConfigError
from cli.accounts import resolve_account, resolve_signer
from cli.call_args import convert_call_args
from cli.submit import echo_submitted, submit_call

_signatories = click.option("--signatories", required=True, help="Comma-separated names, addresses or 0x ids.")
_threshold = click.option("--threshold", required=True, type=int, help="Approvals needed (at least 2).")


def _parse_signatories(text: str, threshold: int, chain_type: str, prefix: int | None) -> list[bytes]:
    ids = [resolve_account(s.strip(), chain_type, prefix) for s in text.split(",") if s.strip()]
    if len(set(ids)) != len(ids):
        raise ConfigError("a signatory is listed twice")
    if not 2 <= threshold <= len(ids):
        raise ConfigError(f"--threshold must be between 2 and the number of signatories ({len(ids)})")
    return ids


@click.group()
def multisig() -> None:
    """M-of-N multisig accounts."""


@multisig.command()
@_signatories
@_threshold
@click.option("--ss58-prefix", default=DEFAULT_SS58_PREFIX, show_default=True, type=int, help="Address network.")
def create(signatories: str, threshold: int, ss58_prefix: int) -> None:
    """Print the multisig address (no node needed; dev names are accepted)."""
    ids = _parse_signatories(signatories, threshold, "Development", ss58_prefix)
    click.echo(encode_address(multisig_account(ids, threshold), ss58_prefix))


@multisig.command()
@click.option("--from", "sender", required=True, help="A signatory: key file, or a dev name on dev chains.")
@_signatories
@_threshold
@click.option("--call", "call_name", required=True, help="The call to approve, e.g. balances.transfer_keep_alive.")
@click.option("--args", "call_args", default="[]", show_default=True,
              help='JSON array of its arguments; amounts in BTT, e.g. \'["ADDRESS", "10"]\'.')
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
def approve(sender: str, signatories: str, threshold: int, call_name: str, call_args: str, as_json: bool,
            rpc: str) -> None:
    """Approve a call for the multisig; the approval that reaches the threshold runs it."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    ids = _parse_signatories(signatories, threshold, info.chain_type, info.ss58_prefix)
    if signer.account not in ids:
        raise ConfigError("--from must be one of the signatories")
    args = convert_call_args(call_name, call_args, lambda s: resolve_account(s, info.chain_type, info.ss58_prefix),
                             info.calls)
    call_data = info.calls.build_call(call_name, *args).encode()
    others = [i for i in ids if i != signer.account]
    sub = submit_call(client, info, signer, "multisig.approve", (others, threshold, call_data))
    if not as_json:
        click.echo(f"multisig {encode_address(multisig_account(ids, threshold), info.ss58_prefix)}")
    echo_submitted(sub, as_json, info.decimals, info.symbol)
