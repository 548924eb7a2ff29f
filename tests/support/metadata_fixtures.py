"""What the metadata tests share: chain constants, storage entries as the storage registry will hold them (it is
empty on the metadata branch), and System.Events bytes as the executive will write them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U32, U64, Field, Struct
from runtime.events import Event
from runtime.metadata import BlockLimits, ChainConstants, Constant, error_index, event_index, frame_types
from runtime.metadata.registry import Registry
from runtime.modules import RUNTIME
from runtime.staking.types import U256
from runtime.storage_schema import StorageEntry
from runtime.version import runtime_version

CONSTANTS = ChainConstants(ss58_prefix=42, block_hash_count=2400, existential_deposit=10**15,
                           version=runtime_version(RUNTIME), limits=BlockLimits(max_weight=10**6, max_bytes=4 << 20),
                           more={"vesting": (Constant("MaxSchedules", U32, 8, "Schedules per account."),)})


@dataclass(frozen=True)
class FrameAccountInfo(Struct):
    """System.Account's value in FRAME's shape, declared through the `scale_type` hook."""

    nonce: int = 0
    consumers: int = 0
    providers: int = 0
    sufficients: int = 0
    free: int = 0
    reserved: int = 0
    frozen: int = 0
    flags: int = 1 << 127
    WIRE = (("nonce", U32), ("consumers", U32), ("providers", U32), ("sufficients", U32), ("free", AMOUNT),
            ("reserved", AMOUNT), ("frozen", AMOUNT), ("flags", AMOUNT))

    @classmethod
    def scale_type(cls, reg: Registry) -> int:
        return frame_types.account_info(reg)


class EventRecords(Field):
    """System.Events' value: only ever empty here."""

    def encode_scale(self, value: Any) -> bytes:
        assert value == ()
        return b"\x00"

    def scale_type(self, reg: Registry) -> int:
        return frame_types.event_records(reg)


TEST_ENTRIES = [
    StorageEntry("system", "account", (ACCOUNT,), ("Blake2_128Concat",), FrameAccountInfo, FrameAccountInfo(),
                 "The full account information for a particular account ID.\nMore lines are dropped."),
    StorageEntry("system", "number", (), (), U32, 0, "The current block number."),
    StorageEntry("system", "block_hash", (U32,), ("Twox64Concat",), HASH, bytes(32)),
    StorageEntry("system", "events", (), (), EventRecords(), ()),
    StorageEntry("staking", "pot", (ACCOUNT, U64), ("Blake2_128Concat", "Twox64Concat"), U256(), None),
]


def event_records() -> tuple[bytes, list[tuple[str, str]]]:
    """System.Events as the executive will write them: FRAME's system events, btt's others."""
    from runtime.balances.errors import KeepAlive
    from runtime.balances.events import Transfer
    from runtime.fees.events import FeesDistributed
    from runtime.system.events import ExtrinsicFailed, ExtrinsicSuccess
    from runtime.transaction_payment.events import TransactionFeePaid

    alice, bob = b"\x01" * 32, b"\x02" * 32
    info = scale.encode_compact(1_000_000) + scale.encode_compact(0) + b"\x00\x00"  # weight, Normal, Pays::Yes
    pallet, error = error_index("balances", KeepAlive.__name__)
    module_error = bytes((frame_types.DISPATCH_ERROR_MODULE, pallet, error, 0, 0, 0))

    def record(phase: bytes, cls: type[Event], fields: bytes) -> bytes:
        return phase + bytes(event_index(cls)) + fields + b"\x00"

    apply0, apply1, final = b"\x00" + bytes(4), b"\x00\x01\x00\x00\x00", b"\x01"
    records = [
        record(apply0, Transfer, Transfer(alice, bob, 10**18).encode()),
        record(apply0, TransactionFeePaid, TransactionFeePaid(alice, 1234, 0).encode()),
        record(apply0, ExtrinsicSuccess, info),
        record(apply1, ExtrinsicFailed, module_error + info),
        record(final, FeesDistributed, FeesDistributed(bob, 1, 2, 3).encode()),
    ]
    names = [("Balances", "Transfer"), ("TransactionPayment", "TransactionFeePaid"), ("System", "ExtrinsicSuccess"),
             ("System", "ExtrinsicFailed"), ("Fees", "FeesDistributed")]
    return scale.encode_vec(records), names
