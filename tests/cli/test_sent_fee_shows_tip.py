"""After sending, the printed fee names the tip too (review 53, finding 3): `transfer --tip 0.5` printed only the
inclusion fee (`fee 0.00267 BTT`) while the sender paid the tip as well, and `--fee-only` quoted both. Now the line
says `fee X BTT + tip Y BTT`, and X + Y is what the sender lost besides the amount; without a tip the line is as
before."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from btt_chain.primitives.keys import dev_keypair
from tests.rpc.conftest import dev_harness
from tests.rpc.harness import UNIT, RpcHarness
from tests.support.cli_runner import run_authoring

BOB = dev_keypair("bob")
LINE = re.compile(r"^included in block #\d+ 0x[0-9a-f]{64} \(extrinsic 0x[0-9a-f]+, fee ([0-9.]+) BTT"
                  r"(?: \+ tip ([0-9.]+) BTT)?\)$", re.M)


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


async def send(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`btt-chain ARGV --rpc URL`, blocks authored as it sends."""
    return await run_authoring(rpc, capsys, *argv, "--rpc", rpc.url)


async def free(rpc: RpcHarness) -> int:
    return int((await rpc.call("btt_account", "0x" + BOB.public.hex()))["free"])


def base_units(btt: str) -> int:
    return int(Decimal(btt) * UNIT)


@pytest.mark.asyncio
@pytest.mark.parametrize("tip", ["0.5", None])
async def test_the_sent_fee_line_adds_the_tip_and_together_they_are_what_the_sender_paid(
    rpc: RpcHarness, capsys: pytest.CaptureFixture[str], tip: str | None,
) -> None:
    rpc.author_block()
    argv = ["transfer", "--from", "bob", "--to", "eve", "--amount", "1", *(["--tip", tip] if tip else [])]
    code, quote, err = await send(rpc, capsys, "--fee-only", *argv)
    assert code == 0, err
    quoted = int(quote.split("(")[1].split()[0])
    before = await free(rpc)
    code, out, err = await send(rpc, capsys, *argv)
    assert code == 0, err
    m = LINE.search(out)
    assert m, out
    fee, paid_tip = base_units(m.group(1)), m.group(2)
    if tip is None:
        assert paid_tip is None and " + tip" not in out  # the line as before
        charged = fee
    else:
        assert paid_tip == tip, out
        charged = fee + base_units(paid_tip)
    assert before - await free(rpc) == UNIT + charged == UNIT + quoted
