"""A block's event records (`chain.event_records`), built compiled (storage/_pack_native.c, taking the wire forms the
compiled transfers keep on their events as `_wire`) against the Python way: blocks of transfers, failed ones, fees,
new accounts, events made by Python and by the compiled runs, shared event objects, negative phases (initialization
and finalization), and an event class with a record of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from btt_chain.node import chain as chain_module
from runtime import transfer_native
from runtime.events import Event
from runtime.executive import BlockResult
from storage import record_pack
from tests.runtime import test_transfer_native as transfers

pytestmark = pytest.mark.skipif(not record_pack.NATIVE, reason="storage/_pack_native.c is not built")


def test_compiled_records_are_the_python_ones() -> None:
    chain = transfers.fused._chain()
    ex = chain.begin_block()
    xts = [chain.sign("bob", "balances.transfer_allow_death", bytes([i]) * 32, transfers.UNIT, nonce=i)
           for i in range(40)]
    assert transfer_native.apply_run(chain.executive, ex, xts, 0) == 40 or not transfer_native.NATIVE
    result = chain.end_block()
    assert chain_module.event_records(result) == chain_module._event_records(result)
    with_wire = [e for _, e in result.events if "_wire" in e.__dict__]
    assert len(with_wire) >= 80 or not transfer_native.NATIVE  # the compiled runs' events carry their wire forms
    for event in with_wire:
        assert event.__dict__["_wire"] == event.to_wire()


@dataclass(frozen=True)
class _OwnRecord(Event):
    MODULE: ClassVar[str] = "test"
    value: int

    def to_record(self) -> list[Any]:
        return ["test", "Own", [self.value, "x"]]


def test_odd_events_and_phases() -> None:
    from runtime.balances.events import Transfer
    from runtime.executive import extrinsic_success

    shared = extrinsic_success(7)
    events = ((2**32 - 1 - 2**32, Transfer(b"a" * 32, b"b" * 32, 5)), (0, shared), (1, shared), (1, _OwnRecord(3)),
              (-2, _OwnRecord(4)), (-1, shared))
    result = BlockResult({}, events, ())
    compiled = chain_module.event_records(result)
    assert compiled == chain_module._event_records(result)
    assert compiled[3] == [1, "test", "Own", [3, "x"]] and compiled[4][0] == 2**32 - 2


def test_compiled_outcome_records_are_the_python_ones() -> None:
    from runtime.executive import ApplyOutcome

    outcomes = (ApplyOutcome(0, True, 0, 20), ApplyOutcome(1, False, 2**100 + 7, 100, "balances.KeepAlive: no"),
                ApplyOutcome(2, True, 12345, 100, None), ApplyOutcome(3, False, 1, 5, ""))
    result = BlockResult({}, (), outcomes)
    python = [[o.index, o.success, o.fee.to_bytes(16, "big"), o.weight, o.error or ""] for o in outcomes]
    assert chain_module.outcome_records(result) == python
    with pytest.raises(OverflowError):  # a fee past 16 bytes fails as the Python way fails
        chain_module.outcome_records(BlockResult({}, (), (ApplyOutcome(0, True, 2**128, 1),)))
