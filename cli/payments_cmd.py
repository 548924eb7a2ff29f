"""PayFi commands: `btt-chain pay`, `btt-chain invoice create|pay|cancel|refund|show`, and
`btt-chain query invoices|payments`.

A memo never goes on chain: `--memo TEXT` is hashed (blake2b-256 of its UTF-8 bytes) and only the hash is
stored, so the parties can later prove which text they meant. The payment fee (a chain parameter, 0.6% by
default) is paid by the payer on top of the amount; refunds carry no fee and do not return it.
"""

from __future__ import annotations

from typing import Any

import click

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import DEFAULT_RPC, RpcClient
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.codec import U64_MAX
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from cli.accounts import resolve_account, resolve_signer
from cli.output import print_fields, print_json, utc
from cli.submit import Submitted, echo_submitted, submit_call
from runtime.payments.types import INVOICE_STATES

_rpc = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="Node JSON-RPC URL.")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts in base units).")
_from = click.option("--from", "--key", "sender", required=True,
                     help="Key file, or a dev name (alice, bob...) on dev chains.")
_memo = click.option("--memo", default=None,
                     help="Memo text; only its blake2b-256 hash goes on chain (default: no memo).")
_no_wait = click.option("--no-wait", is_flag=True,
                        help="Return once the node accepted it, without waiting for a block.")
_limit = click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True,
                      help="Rows listed (the node lists at most 200 per call).")
_amount = click.option("--amount", required=True, help="BTT, decimal (e.g. 12.5); at most 18 decimals.")
_id_type = click.IntRange(0, U64_MAX)


def _positive(text: str, what: str = "--amount") -> int:
    value = parse_btt(text)
    if value == 0:
        raise ConfigError(f"{what} must be above zero")
    return value


def memo_hash(text: str | None) -> bytes:
    """The memo hash a payment or invoice carries: blake2b-256 of the text, or zero for no memo."""
    return ZERO_HASH if text is None else blake2b_256(text.encode("utf-8"))


def _event(client: RpcClient, sub: Submitted, name: str) -> dict[str, Any] | None:
    """The `name` event of the submitted extrinsic (by block and phase), once included."""
    if sub.status is None:
        return None
    events = client.call("btt_events", sub.status["blockHash"], sub.status["index"])
    return next((e for e in events if e.get("module") == "payments" and e.get("event") == name
                 and e.get("phase") == sub.status["index"]), None)


def _open_invoice(client: RpcClient, invoice_id: int) -> dict[str, Any]:
    """The invoice as the node sees it now; refused here, before any fee is paid, unless it is open."""
    inv = client.call("btt_invoice", invoice_id)
    if inv is None:
        raise ConfigError(f"no invoice #{invoice_id} on this chain")
    if inv["status"] != "open":
        raise ConfigError(f"invoice #{invoice_id} is {inv['status']}")
    return dict(inv)


def _echo_paid(client: RpcClient, info: ChainInfo, sub: Submitted, as_json: bool) -> None:
    paid = _event(client, sub, "Paid")
    if as_json:
        print_json({"paymentId": paid["payment_id"] if paid else None, "paymentFee": paid["fee"] if paid else None,
                    "burned": paid["burned"] if paid else None, "hash": sub.hash,
                    **(sub.status or {"status": "submitted"})})
        return
    if paid is not None:
        btt = info.format_amount
        to_treasury = int(paid["fee"]) - int(paid["burned"])
        click.echo(f"payment #{paid['payment_id']}: {btt(paid['amount'])} to {paid['payee']}, fee {btt(paid['fee'])} "
                   f"({btt(paid['burned'])} burned, {btt(to_treasury)} to the treasury)")
    echo_submitted(sub, False, info.decimals, info.symbol)


# pay ------------------------------------------------------------------------------------------------


@click.command()
@click.option("--to", "dest", required=True, help="Address, 0x account id, key file, or dev name.")
@_amount
@_memo
@_from
@_no_wait
@_json
@_rpc
def pay(dest: str, amount: str, memo: str | None, sender: str, no_wait: bool, as_json: bool, rpc: str) -> None:
    """Pay an account with an optional memo; the payment fee is paid on top of the amount."""
    value = _positive(amount)
    memo_h = memo_hash(memo)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    to = resolve_account(dest, info.chain_type, info.ss58_prefix)
    sub = submit_call(client, info, signer, "payments.pay", (to, value, memo_h), wait=not no_wait)
    _echo_paid(client, info, sub, as_json)


# invoices -------------------------------------------------------------------------------------------


@click.group()
def invoice() -> None:
    """Invoices: create (bill an amount to a payee by a due time), pay, cancel, show; refund a payment."""


@invoice.command("create")
@click.option("--payee", required=True, help="Who is paid: usually yourself (address, 0x id, key file, dev name).")
@_amount
@click.option("--due", type=click.IntRange(1), default=None, help="Due in SECONDS from the chain's head block.")
@click.option("--due-ms", type=click.IntRange(1, U64_MAX), default=None,
              help="Due at this absolute chain time (ms since the Unix epoch).")
@_memo
@_from
@_json
@_rpc
def invoice_create(payee: str, amount: str, due: int | None, due_ms: int | None, memo: str | None, sender: str,
                   as_json: bool, rpc: str) -> None:
    """Create an invoice (you are its issuer) and print its id. Paying after the due time is allowed and
    recorded as late."""
    value = _positive(amount)
    if (due is None) == (due_ms is None):
        raise ConfigError("give exactly one of --due SECONDS or --due-ms MS")
    memo_h = memo_hash(memo)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    to = resolve_account(payee, info.chain_type, info.ss58_prefix)
    head_ms = int(client.call("btt_header")["timestamp"], 16)
    if due is not None:
        due_ms = head_ms + due * 1000
        if due_ms > U64_MAX:
            raise ConfigError("--due is too far in the future")
    elif due_ms is not None and due_ms <= head_ms:
        raise ConfigError(f"--due-ms {due_ms} is not in the future: the chain's head is at {head_ms} ms "
                          f"({utc(head_ms)})")
    assert due_ms is not None
    sub = submit_call(client, info, signer, "payments.create_invoice", (to, value, due_ms, memo_h))
    created = _event(client, sub, "InvoiceCreated")
    invoice_id = created["invoice_id"] if created else None
    if as_json:
        print_json({"invoiceId": invoice_id, "dueMs": due_ms, "memoHash": "0x" + memo_h.hex(), "hash": sub.hash,
                    **(sub.status or {})})
        return
    click.echo(f"invoice #{invoice_id}: {info.format_amount(value)} to {created['payee'] if created else payee}, "
               f"due {utc(due_ms)}")
    echo_submitted(sub, False, info.decimals, info.symbol)


@invoice.command("pay")
@click.argument("invoice_id", metavar="ID", type=_id_type)
@_from
@_json
@_rpc
def invoice_pay(invoice_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """Pay an open invoice (its amount to its payee, the payment fee on top); it is settled in the same block."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    _open_invoice(client, invoice_id)
    signer = resolve_signer(sender, info.chain_type)
    sub = submit_call(client, info, signer, "payments.pay_invoice", (invoice_id,))
    _echo_paid(client, info, sub, as_json)
    settled = _event(client, sub, "InvoiceSettled")
    if settled is not None and settled["late"] and not as_json:
        click.echo(f"invoice #{invoice_id} was paid after its due time: recorded as late")


@invoice.command("cancel")
@click.argument("invoice_id", metavar="ID", type=_id_type)
@_from
@_json
@_rpc
def invoice_cancel(invoice_id: int, sender: str, as_json: bool, rpc: str) -> None:
    """Withdraw an open invoice you issued."""
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    inv = _open_invoice(client, invoice_id)
    if inv["issuer"] != encode_address(signer.account, info.ss58_prefix):
        raise ConfigError(f"invoice #{invoice_id} was issued by {inv['issuer']}; only its issuer may cancel it")
    sub = submit_call(client, info, signer, "payments.cancel_invoice", (invoice_id,))
    if not as_json:
        click.echo(f"invoice #{invoice_id} cancelled")
    echo_submitted(sub, as_json, info.decimals, info.symbol)


@invoice.command("refund")
@click.argument("payment_id", metavar="PAYMENT_ID", type=_id_type)
@_amount
@_from
@_json
@_rpc
def invoice_refund(payment_id: int, amount: str, sender: str, as_json: bool, rpc: str) -> None:
    """As the payee of a payment, return part or all of it to the payer (no fee; the payment fee stays paid)."""
    value = _positive(amount)
    client = RpcClient(rpc)
    info = ChainInfo.fetch(client)
    signer = resolve_signer(sender, info.chain_type)
    paid = client.call("btt_payment", payment_id)
    if paid is None:
        raise ConfigError(f"no payment #{payment_id} on this chain")
    if paid["payee"] != encode_address(signer.account, info.ss58_prefix):
        raise ConfigError(f"payment #{payment_id} was paid to {paid['payee']}; only its payee may refund it")
    if value > int(paid["refundable"]):
        raise ConfigError(f"payment #{payment_id} can be refunded by at most "
                          f"{info.format_amount(paid['refundable'])} more")
    sub = submit_call(client, info, signer, "payments.refund", (payment_id, value))
    if as_json:
        echo_submitted(sub, True, info.decimals, info.symbol)
        return
    refunded = _event(client, sub, "Refunded")
    if refunded is not None:
        click.echo(f"refunded {info.format_amount(refunded['amount'])} of payment #{payment_id} to "
                   f"{refunded['payer']} ({info.format_amount(refunded['refunded'])} refunded in all)")
    echo_submitted(sub, False, info.decimals, info.symbol)


@invoice.command("show")
@click.argument("invoice_id", metavar="ID", type=_id_type)
@_json
@_rpc
def invoice_show(invoice_id: int, as_json: bool, rpc: str) -> None:
    """One invoice: parties, amount, due time, status and the payment that settled it."""
    client = RpcClient(rpc)
    inv = client.call("btt_invoice", invoice_id)
    if inv is None:
        raise ConfigError(f"no invoice #{invoice_id} on this chain")
    if as_json:
        print_json(inv)
        return
    btt = ChainInfo.fetch(client).format_amount
    rows: list[tuple[str, Any]] = [
        ("invoice", f"#{inv['id']} ({_status(inv)})"),
        ("issuer", inv["issuer"]),
        ("payee", inv["payee"]),
        ("amount", btt(inv["amount"])),
        ("due", utc(inv["dueMs"])),
        ("memo hash", inv["memoHash"] or "-"),
        ("created in block", inv["createdBlock"]),
        ("payment fee", f"{btt(inv['fee'])} ({btt(inv['burned'])} burned)"),
    ]
    if inv["paymentId"] is not None:
        rows.append(("paid by", f"{inv['payer']} (payment #{inv['paymentId']}, block #{inv['closedBlock']})"))
    elif inv["closedBlock"] is not None:
        rows.append(("cancelled in block", inv["closedBlock"]))
    print_fields(rows)


def _status(inv: dict[str, Any]) -> str:
    if inv["status"] == "settled" and inv["late"]:
        return "settled late"
    if inv["overdue"]:
        return "open, overdue"
    return str(inv["status"])


# queries --------------------------------------------------------------------------------------------


def _account_hex(client: RpcClient, who: str) -> tuple[str, ChainInfo]:
    info = ChainInfo.fetch(client)
    return "0x" + resolve_account(who, info.chain_type, info.ss58_prefix).hex(), info


@click.command("invoices")
@click.argument("who", metavar="ACCOUNT")
@click.option("--status", type=click.Choice(INVOICE_STATES), default=None, help="Only invoices in this state.")
@_limit
@_json
@_rpc
def query_invoices(who: str, status: str | None, limit: int, as_json: bool, rpc: str) -> None:
    """An ACCOUNT's invoices (as issuer, payee or payer), newest first."""
    client = RpcClient(rpc)
    account, info = _account_hex(client, who)
    rows = client.call("btt_invoices", account, status, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no invoices")
    for inv in rows:
        paid = f", paid by {inv['payer']} (payment #{inv['paymentId']})" if inv["paymentId"] is not None else ""
        click.echo(f"#{inv['id']:<5} {_status(inv):<14} {info.format_amount(inv['amount']):>18}  due "
                   f"{utc(inv['dueMs'])}  {inv['issuer']} -> {inv['payee']}{paid}  [{', '.join(inv['roles'])}]")


@click.command("payments")
@click.argument("who", metavar="ACCOUNT")
@_limit
@_json
@_rpc
def query_payments(who: str, limit: int, as_json: bool, rpc: str) -> None:
    """An ACCOUNT's payments (as payer or payee), newest first, with fee, burn and refunds."""
    client = RpcClient(rpc)
    account, info = _account_hex(client, who)
    rows = client.call("btt_payments", account, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no payments")
    btt = info.format_amount
    for p in rows:
        of = f" for invoice #{p['invoiceId']}" if p["invoiceId"] is not None else ""
        refunded = f", refunded {btt(p['refunded'])}" if int(p["refunded"]) else ""
        click.echo(f"#{p['id']:<5} block #{p['block']:<7} {btt(p['amount']):>18}  {p['payer']} -> {p['payee']}{of}, "
                   f"fee {btt(p['fee'])} ({btt(p['burned'])} burned){refunded}  [{', '.join(p['roles'])}]")
