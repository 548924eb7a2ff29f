"""`btt-chain batch`: several calls in one extrinsic (utility.batch_all, batch or force_batch), given as repeated
`--call NAME --args JSON` pairs or a JSON file; and the parts `proxy call` shares: the calls from the command line
and the dry run's verdict on the calls a batch or a proxy carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.client.submit import dry_run, sign_call
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.keys import Signer
from cli import submit as wallet
from cli.accounts import resolve_account, resolve_signer
from cli.call_args import convert_call_args
from cli.submit import NotSent, echo_submitted, readable, submit_call

MODES = {"all": "utility.batch_all", "stop": "utility.batch", "force": "utility.force_batch"}
"""--mode -> the call: all or nothing (default), stop at the first failure (FRAME's `batch`), or run every call."""
MAX_FILE_BYTES = 1 << 20


def calls_option(command: Any) -> Any:
    """The options naming calls: --call/--args pairs (repeatable) and --file."""
    command = click.option("--file", "calls_file", type=click.Path(dir_okay=False, path_type=Path),
                           help='JSON file: a list of {"call": "balances.transfer_keep_alive", "args": ["bob", "1"]}.'
                           )(command)
    command = click.option("--args", "call_args", multiple=True,
                           help="JSON array of the arguments of the --call before it; amounts in BTT, e.g. "
                                "'[\"ADDRESS\", \"10\"]' (default: no arguments).")(command)
    return click.option("--call", "call_names", multiple=True,
                        help="A call, e.g. balances.transfer_keep_alive; repeat --call/--args for each.")(command)


def _entries(call_names: tuple[str, ...], call_args: tuple[str, ...], calls_file: Path | None) -> list[tuple[str, str]]:
    """(call name, its arguments as JSON) of every call named on the command line, then in the file."""
    if len(call_args) > len(call_names):
        raise ConfigError("every --args follows the --call it belongs to: more --args than --call")
    if call_args and len(call_args) != len(call_names):
        raise ConfigError("give each --call its --args (use '[]' for a call without arguments), in the same order")
    entries = [(name, call_args[i] if call_args else "[]") for i, name in enumerate(call_names)]
    if calls_file is not None:
        try:
            raw = calls_file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--file {calls_file}: {exc.strerror or exc}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(f"--file {calls_file}: over {MAX_FILE_BYTES} bytes")
        try:
            listed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ConfigError(f"--file {calls_file} is not JSON: {exc}") from None
        if not isinstance(listed, list):
            raise ConfigError(f'--file {calls_file}: a JSON list of {{"call": ..., "args": [...]}}')
        for i, item in enumerate(listed):
            if not (isinstance(item, dict) and isinstance(item.get("call"), str)
                    and isinstance(item.get("args", []), list) and set(item) <= {"call", "args"}):
                raise ConfigError(f'--file {calls_file}: item {i + 1} is not {{"call": NAME, "args": [...]}}')
            entries.append((item["call"], json.dumps(item.get("args", []))))
    if not entries:
        raise ConfigError("name at least one call: --call NAME --args JSON, or --file")
    return entries


def build_calls(info: ChainInfo, call_names: tuple[str, ...], call_args: tuple[str, ...],
                calls_file: Path | None) -> list[tuple[str, Call]]:
    """The calls the options name, each built by the node's call table (arguments checked by its types)."""
    out = []
    for i, (name, args_json) in enumerate(_entries(call_names, call_args, calls_file)):
        try:
            args = convert_call_args(name, args_json, lambda s: resolve_account(s, info.chain_type, info.ss58_prefix),
                                     info.calls)
        except ConfigError as exc:
            raise ConfigError(f"call {i + 1} ({name}): {exc}") from None
        out.append((name, info.calls.build_call(name, *args)))
    return out


def inner_failures(events: list[dict[str, Any]], names: list[str], info: ChainInfo) -> list[str]:
    """What the events say failed inside the extrinsic (a batch's call, a proxied call), in words."""
    out = []
    for e in events:
        kind = (e.get("module"), e.get("event"))
        why = readable(str(e.get("error_name") or e.get("error")), info.decimals, info.symbol)
        if kind == ("utility", "BatchInterrupted"):
            index = int(e.get("index", 0))
            name = names[index] if index < len(names) else "a call"
            out.append(f"call {index + 1} ({name}) would fail: {why}; the batch stops there")
        elif kind == ("utility", "ItemFailed"):
            out.append(f"a call would fail: {why}")
        elif kind == ("proxy", "ProxyExecuted") and not (e.get("result") or {}).get("ok", True):
            out.append(f"the proxied call would fail: {why}")
    return out


def refuse_inner_failures(rpc: RpcClient, info: ChainInfo, signer: Signer, call: Call, names: list[str]) -> None:
    """A batch or a proxy call succeeds even when a call it carries fails (FRAME's rule): dry-run it first and send
    nothing (NotSent) when one would fail, unless --force. With --fee-only the fee report says it all."""
    if wallet.FORCE or wallet.FEE_ONLY:
        return
    dry = dry_run(rpc, sign_call(rpc, info, signer, call))
    if not dry.get("valid") or not dry.get("success"):
        return  # the wallet's own dry run refuses it, in its words
    failures = inner_failures(dry.get("events") or [], names, info)
    if failures:
        raise NotSent(f"not sent: {'; '.join(failures)} (nothing was charged; `btt-chain --force ...` sends it "
                      "anyway)")


@click.command()
@click.option("--from", "sender", required=True, help="Key file, or a dev name (alice, bob...) on dev chains.")
@calls_option
@click.option("--mode", type=click.Choice(sorted(MODES)), default="all", show_default=True,
              help="all: every call or none (utility.batch_all); stop: up to the first that fails (utility.batch); "
                   "force: every call, whatever fails (utility.force_batch).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
def batch(sender: str, call_names: tuple[str, ...], call_args: tuple[str, ...], calls_file: Path | None, mode: str,
          as_json: bool, rpc: str) -> None:
    """Send several calls in one extrinsic, one fee: e.g. --call balances.transfer_keep_alive --args '["bob", "1"]'
    --call balances.transfer_keep_alive --args '["charlie", "2"]'. Nothing is sent if the dry run shows any of them
    failing (unless --force)."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    calls = build_calls(info, call_names, call_args, calls_file)
    call = info.calls.build_call(MODES[mode], [c for _, c in calls])
    refuse_inner_failures(client, info, signer, call, [n for n, _ in calls])
    echo_submitted(submit_call(client, info, signer, call), as_json, info.decimals, info.symbol)
