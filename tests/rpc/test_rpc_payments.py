"""RPC of PayFi payments: btt_invoices, btt_invoice, btt_payments and btt_payment through an invoice's life
(created, paid and settled in the same block, refunded in part) and a cancelled one, with exact fee figures."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from btt_chain.primitives.keys import dev_keypair

from .harness import UNIT, RpcHarness

MEMO = blake2b_256(b"panoramic X-ray, patient 42")
AMOUNT = 12_345_678_901_234_567_891
FEE = 74_074_073_407_407_407
"""0.6% of AMOUNT, rounded down."""
BURNED = 555_555_550_555_555
"""0.75% of FEE, rounded down."""


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()


def addr(rpc: RpcHarness, name: str) -> str:
    return encode_address(dev_keypair(name).public, rpc.node.spec.ss58_prefix)




async def head_ms(rpc: RpcHarness) -> int:
    return int((await rpc.call("btt_header"))["timestamp"], 16)


@pytest.mark.asyncio
async def test_an_invoice_through_the_rpc_from_creation_to_refund(rpc: RpcHarness) -> None:
    bob, charlie = dev_keypair("bob"), dev_keypair("charlie")
    assert await rpc.call("btt_invoices", hexid("charlie")) == []
    assert await rpc.call("btt_payments", hexid("bob")) == []
    assert await rpc.call("btt_invoice", 1) is None and await rpc.call("btt_payment", 1) is None

    due = await head_ms(rpc) + 3_600_000
    created = await rpc.submit_in_block(charlie, "payments.create_invoice", charlie.public, AMOUNT, due, MEMO)
    (inv,) = await rpc.call("btt_invoices", addr(rpc, "charlie"))
    assert inv == {
        "id": 1, "issuer": addr(rpc, "charlie"), "payee": addr(rpc, "charlie"), "amount": str(AMOUNT), "dueMs": due,
        "memoHash": "0x" + MEMO.hex(), "createdBlock": created["blockNumber"], "status": "open", "overdue": False,
        "paymentId": None, "payer": None, "closedBlock": None, "late": False, "fee": str(FEE),
        "burned": str(BURNED), "roles": ["issuer", "payee"],
    }
    assert await rpc.call("btt_invoice", 1) == {k: v for k, v in inv.items() if k != "roles"}

    paid = await rpc.submit_in_block(bob, "payments.pay_invoice", 1)
    inv = await rpc.call("btt_invoice", 1)
    assert (inv["status"], inv["paymentId"], inv["payer"], inv["closedBlock"], inv["late"]) == (
        "settled", 1, addr(rpc, "bob"), paid["blockNumber"], False
    )
    (bob_inv,) = await rpc.call("btt_invoices", hexid("bob"))
    assert bob_inv["roles"] == ["payer"] and bob_inv["id"] == 1
    (pay,) = await rpc.call("btt_payments", hexid("bob"))
    assert pay == {
        "id": 1, "payer": addr(rpc, "bob"), "payee": addr(rpc, "charlie"), "amount": str(AMOUNT), "fee": str(FEE),
        "burned": str(BURNED), "toTreasury": str(FEE - BURNED), "refunded": "0", "refundable": str(AMOUNT),
        "memoHash": "0x" + MEMO.hex(), "block": paid["blockNumber"], "invoiceId": 1, "roles": ["payer"],
    }
    events = await rpc.call("btt_events", paid["blockHash"])
    names = [e["event"] for e in events if e["module"] == "payments"]
    assert names == ["Paid", "InvoiceSettled"]

    await rpc.submit_in_block(charlie, "payments.refund", 1, UNIT)
    (pay,) = await rpc.call("btt_payments", hexid("charlie"))
    assert (pay["refunded"], pay["refundable"], pay["roles"]) == (str(UNIT), str(AMOUNT - UNIT), ["payee"])
    assert await rpc.call("btt_payment", 1) == {k: v for k, v in pay.items() if k != "roles"}


@pytest.mark.asyncio
async def test_lists_are_newest_first_filtered_and_limited(rpc: RpcHarness) -> None:
    bob, charlie = dev_keypair("bob"), dev_keypair("charlie")
    due = await head_ms(rpc) + 3_600_000
    for i in range(3):
        xt = rpc.sign(charlie, "payments.create_invoice", charlie.public, (i + 1) * UNIT, due, ZERO_HASH,
                      nonce=rpc.node.next_account_index(charlie.public))
        await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    rpc.author_block()
    await rpc.submit_in_block(charlie, "payments.cancel_invoice", 2)
    await rpc.submit_in_block(bob, "payments.pay", charlie.public, 5 * UNIT, ZERO_HASH)
    await rpc.submit_in_block(bob, "payments.pay", dev_keypair("eve").public, 6 * UNIT, ZERO_HASH)

    assert [i["id"] for i in await rpc.call("btt_invoices", hexid("charlie"))] == [3, 2, 1]
    assert [i["id"] for i in await rpc.call("btt_invoices", hexid("charlie"), "open")] == [3, 1]
    assert [i["id"] for i in await rpc.call("btt_invoices", hexid("charlie"), None, 1)] == [3]
    cancelled = await rpc.call("btt_invoice", 2)
    assert cancelled["status"] == "cancelled" and cancelled["memoHash"] is None and cancelled["closedBlock"]
    assert [p["id"] for p in await rpc.call("btt_payments", hexid("bob"))] == [2, 1]
    assert [p["id"] for p in await rpc.call("btt_payments", hexid("bob"), 1)] == [2]
    (direct,) = await rpc.call("btt_payments", hexid("eve"))
    assert direct["invoiceId"] is None and direct["fee"] == str(6 * UNIT * 60 // 10_000)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("btt_invoices", [], "missing parameter 'account'"),
        ("btt_invoices", ["nobody"], "account"),
        ("btt_invoices", ["0x12"], "account"),
        ("btt_invoices", [None], "account"),
        ("btt_invoices", ["0x" + "11" * 32, "paid"], "status: expected one of open, settled, cancelled"),
        ("btt_invoices", ["0x" + "11" * 32, None, 0], "limit: expected an integer from 1 to 200"),
        ("btt_invoices", ["0x" + "11" * 32, None, 201], "limit"),
        ("btt_invoice", [], "missing parameter 'id'"),
        ("btt_invoice", ["1"], "invoice id: expected an integer"),
        ("btt_invoice", [-1], "invoice id"),
        ("btt_invoice", [2**64], "invoice id"),
        ("btt_invoice", [True], "invoice id"),
        ("btt_payments", [], "missing parameter 'account'"),
        ("btt_payments", ["0x" + "11" * 32, True], "limit"),
        ("btt_payment", [1.5], "payment id"),
    ],
)
async def test_payments_methods_reject_bad_params(rpc: RpcHarness, method: str, params: list[Any],
                                                  fragment: str) -> None:
    await rpc.assert_raises_rpc_error(-32602, fragment, method, *params)
