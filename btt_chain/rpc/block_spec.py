"""Which spec's runtime ran a stored block, to decode its extrinsics with (the explorer's block and extrinsic pages).

A block ran under `spec_for_block(its parent's state, its number)`. A chain that never upgraded ran every block under
the spec of its genesis (the head's `running_spec` is still the genesis spec: specs only ever go up), which costs one
read. Otherwise the parent's state is read where the node serves it (`btt_chain.rpc.at`: the `--state-pruning` window,
what any `at` costs), at most `READS_PER_CALL` times per RPC call, and the answer is kept per block hash (`KEPT`
of them; a block's spec never changes). A block whose spec is not found that way is decoded by the newest spec this
node runs: call indices are never reused or reordered, so it decodes the calls of the specs before it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from btt_chain.primitives.block import Header
from btt_chain.rpc.at import reader_at
from btt_chain.rpc.errors import RpcError
from btt_chain.rpc.registry import RpcContext
from runtime.specs import UnsupportedSpec, running_spec, runtime_of, spec_for_block, supported

if TYPE_CHECKING:
    from runtime.dispatch import Runtime

KEPT = 4_096
READS_PER_CALL = 4
"""Parent states one RPC call may read to find the spec of the blocks it decodes (each a read at `at`)."""

_known: OrderedDict[bytes, int] = OrderedDict()


class BlockSpecs:
    """The specs of the blocks one RPC call decodes, within its budget of state reads."""

    def __init__(self, ctx: RpcContext, reads: int = READS_PER_CALL) -> None:
        self.ctx = ctx
        self.reads = reads
        chain = ctx.node.chain
        self._only: int | None = None
        head_spec = running_spec(chain.db.state)
        if head_spec == chain.genesis.spec.spec_version:
            self._only = head_spec

    def spec_of(self, block_hash: bytes, header: Header) -> int | None:
        """The spec that ran the block, or None where this call cannot tell."""
        if self._only is not None:
            return self._only
        if header.number == 0:
            return int(self.ctx.node.chain.genesis.spec.spec_version)
        known = _known.get(block_hash)
        if known is not None:
            _known.move_to_end(block_hash)
            return known
        if self.reads <= 0:
            return None
        self.reads -= 1
        try:
            _, _, parent = reader_at(self.ctx, header.parent_hash)
        except RpcError:
            return None
        spec = spec_for_block(parent, header.number)
        _known[block_hash] = spec
        while len(_known) > KEPT:
            _known.popitem(last=False)
        return spec

    def runtime_of(self, block_hash: bytes, header: Header) -> Runtime:
        """The runtime to decode the block's extrinsics with: the one that ran it, else the newest this node runs."""
        spec = self.spec_of(block_hash, header)
        try:
            return runtime_of(spec if spec is not None else supported()[-1])
        except UnsupportedSpec:
            return runtime_of(supported()[-1])
