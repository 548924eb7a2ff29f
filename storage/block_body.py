"""A stored block's extrinsics read by index (`BlockBody`): the encoding is SCALE, header ++ Compact(n) ++ each
extrinsic with its own length prefix, so one extrinsic, or its signer, is read without decoding the others (finding
the span of a block's last extrinsic walks only the length prefixes before it).

The block was checked when it was stored, so its parts decode without the checks again.
"""

from __future__ import annotations

from btt_chain.primitives import scale
from btt_chain.primitives.block import Header
from btt_chain.primitives.extrinsic import UNSIGNED_V4, AnyExtrinsic, AnyExtrinsicField

_ANY = AnyExtrinsicField()


class BlockBody:
    """The extrinsics of one encoded block by index; spans are found as far as they are asked for."""

    __slots__ = ("raw", "count", "_spans", "_header")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        header, end = Header.decode_at(raw, 0)
        self._header = header
        count, start = scale.decode_compact(raw, end)
        self.count: int = count
        """How many extrinsics the block holds."""
        self._spans: list[int] = [start]

    def header(self) -> Header:
        return self._header

    def _span(self, index: int) -> tuple[int, int]:
        spans = self._spans
        raw = self.raw
        while len(spans) <= index + 1:
            length, body = scale.decode_compact(raw, spans[-1])
            spans.append(body + length)
        return spans[index], spans[index + 1]

    def encoded(self, index: int) -> bytes:
        start, end = self._span(index)
        return self.raw[start:end]

    def extrinsic(self, index: int) -> AnyExtrinsic:
        """Extrinsic `index`: signed, or an inherent."""
        if not 0 <= index < self.count:
            raise IndexError(f"extrinsic {index} of a block of {self.count}")
        raw = self.encoded(index)
        value, end = _ANY.decode_scale(raw, 0)
        scale.finish(raw, end, "extrinsic")
        return value  # type: ignore[no-any-return]

    def signer(self, index: int) -> bytes | None:
        """The signer's account id of extrinsic `index`, read from its encoding (after the length prefix, the
        version byte and the address variant); None for an inherent (unsigned)."""
        start, _ = self._span(index)
        _, body = scale.decode_compact(self.raw, start)
        if self.raw[body] == UNSIGNED_V4:
            return None
        return self.raw[body + 2 : body + 34]

    def holds(self, needle: bytes) -> bool:
        """Whether the block's encoding contains `needle` anywhere (a byte search: nothing is decoded)."""
        return self.raw.find(needle) >= 0
