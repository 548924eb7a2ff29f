"""A stored block's extrinsics read by index (`BlockBody`): the encoding is [header, [extrinsic, ...]] and each
extrinsic's encoding is a span of it, so one extrinsic, or its signer, is read without decoding the others (a block
of 10,000 transfers decodes whole in 0.3-0.7 s; finding the span of its last extrinsic takes about a millisecond).

The block was checked canonical when it was stored, so its parts decode without the checks again.
"""

from __future__ import annotations

import msgpack

from btt_chain.primitives.block import Header
from btt_chain.primitives.extrinsic import Extrinsic

_SIGNED = b"\x96\xc4\x20"
"""How every extrinsic's encoding starts: an array of its 6 fields, the first a 32-byte signer."""


class BlockBody:
    """The extrinsics of one encoded block by index; spans are found as far as they are asked for."""

    __slots__ = ("raw", "count", "_unpacker", "_spans", "_header")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(raw), 1024))
        unpacker.feed(raw)
        unpacker.read_array_header()
        start = unpacker.tell()
        unpacker.skip()
        self._header = (start, unpacker.tell())
        self.count: int = unpacker.read_array_header()
        """How many extrinsics the block holds."""
        self._unpacker = unpacker
        self._spans: list[int] = [unpacker.tell()]

    def header(self) -> Header:
        return Header.decode(self.raw[self._header[0] : self._header[1]])

    def _span(self, index: int) -> tuple[int, int]:
        spans = self._spans
        while len(spans) <= index + 1:
            self._unpacker.skip()
            spans.append(self._unpacker.tell())
        return spans[index], spans[index + 1]

    def encoded(self, index: int) -> bytes:
        start, end = self._span(index)
        return self.raw[start:end]

    def extrinsic(self, index: int) -> Extrinsic:
        if not 0 <= index < self.count:
            raise IndexError(f"extrinsic {index} of a block of {self.count}")
        raw = self.encoded(index)
        xt = Extrinsic.from_wire(msgpack.unpackb(raw, raw=False))
        object.__setattr__(xt, "_encoded", raw)
        return xt

    def signer(self, index: int) -> bytes:
        """The signer's account id of extrinsic `index`, read from its encoding."""
        start, _ = self._span(index)
        if self.raw[start : start + 3] == _SIGNED:
            return self.raw[start + 3 : start + 35]
        return self.extrinsic(index).signer

    def holds(self, needle: bytes) -> bool:
        """Whether the block's encoding contains `needle` anywhere (a byte search: nothing is decoded)."""
        return self.raw.find(needle) >= 0
