"""A call inside a call (governance.propose's, utility.batch's, proxy.proxy's) and a stored referendum's call decode by
the call table of the spec running the block, never by one process-wide table: a release carrying specs 11 to 16
accepts in a spec-N block exactly what a release whose newest spec is N accepts (before the fix it decoded them by
spec 16's table, so it included, and charged for, a spec-14 `governance.propose(utility.batch(...))` that a release
ending at spec 14 refuses as an invalid block: the two forked before any upgrade). The table each spec uses does not
depend on which spec's modules were imported last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.codec import Field, ListOf
from btt_chain.primitives.errors import InvalidBlock, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call, Extrinsic, NestedCall, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime import specs
from runtime.dispatch import Runtime, bind_calls, carries_call
from runtime.executive import Executive
from runtime.system import storage as system
from storage.memory import MemoryStore
from tests.support.node_builder import block_bytes, dev_genesis, far_future_ms

UNIT = 10**18
REPO = Path(__file__).resolve().parents[2]


def leaky(runtime: Runtime, table: Runtime) -> Runtime:
    """`runtime` as the release before the fix ran it: the calls inside its calls decoded by `table`'s call table."""
    copy = Runtime(runtime.spec_version, runtime.modules, runtime.transaction_version, runtime.storage_versions,
                   runtime.migrations)
    for key, (m, c, _, whole) in copy.call_decoders().items():
        copy._decoders[key] = (m, c, tuple(bind_calls(f, table.call_end).decode_scale for _, f in c.args), whole)
    return copy


def propose(chain: Chain, inner: Call) -> Extrinsic:
    """Alice's signed `governance.propose(inner)` for the next block on `chain`'s head."""
    alice = dev_keypair("alice")
    runtime = chain.runtime
    nonce = system.account.get(chain.state(), alice.public).nonce
    call = runtime.call("governance.propose", inner, b"\x12" * 32, 1_000 * UNIT, False)
    return sign_extrinsic(alice, call, nonce, chain.genesis_hash, runtime.spec_version)


def assert_refused_as_its_own_release(spec: int, inner: Call, reason: str) -> None:
    """On a chain at `spec`, `governance.propose(inner)` is refused by the pool before any fee, and a block that
    carries it (authored by a node decoding nested calls by the newest table, as before the fix) is an invalid block
    whose reason is the spec's own table's: what a release whose newest spec is `spec` says."""
    own = specs.runtime_of(spec)
    with pytest.raises(InvalidExtrinsic, match=reason):  # the spec's own table, as its own release decodes it
        own.decode_call(own.call("governance.propose", inner, b"\x12" * 32, 1_000 * UNIT, False))

    chain = Chain(MemoryStore(), dev_genesis(spec_version=spec))
    assert chain.runtime is own
    xt = propose(chain, inner)
    before = chain.head.state_root
    with pytest.raises(InvalidExtrinsic, match=reason):
        chain.validate_transaction(xt, len(xt.encode()))
    assert chain.head.state_root == before and chain.head.number == 0

    author = Chain(MemoryStore(), dev_genesis(spec_version=spec))
    author._executives[spec] = Executive(leaky(own, specs.runtime_of(specs.NEWEST)), author.genesis_hash)
    imported, dropped = author.author_block(author.head.slot + 1, dev_keypair("alice"), [(xt, len(xt.encode()))])
    assert not dropped and len(imported.block.extrinsics) == 2  # the old author included it (and charged its fee)
    raw = block_bytes(author, 1)
    with pytest.raises(InvalidBlock, match=f"extrinsic 1 cannot be included: governance.propose argument call: "
                                           f"{reason}"):
        chain.import_block(raw, far_future_ms())
    assert chain.head.number == 0


def test_a_spec_14_block_carrying_a_call_only_spec_15_knows_is_refused_as_spec_14s_release_refuses_it() -> None:
    newest = specs.runtime_of(specs.NEWEST)
    inner = newest.call("utility.batch", [newest.call("system.remark", b"hi")])
    newest.decode_call(inner)  # known to the newest spec
    module, function = newest.lookup("utility.batch")[0].index, newest.lookup("utility.batch")[1].index
    assert_refused_as_its_own_release(14, inner, rf"no call at index \({module}, {function}\)")


def test_a_spec_12_block_carrying_a_call_over_spec_12s_bound_is_refused_as_spec_12s_release_refuses_it() -> None:
    """compute.post_outputs' items are at most 1,025 bytes in spec 12, 1,073 from spec 13: 1,050 nested is refused
    at 12 and proposed at 13."""
    inner = specs.runtime_of(13).call("compute.post_outputs", 1, 0, [b"x" * 1050], [])
    assert_refused_as_its_own_release(12, inner, "compute.post_outputs argument items: .* over the limit of 1025")
    spec13 = specs.runtime_of(13)
    spec13.decode_call(spec13.call("governance.propose", inner, b"\x12" * 32, 1_000 * UNIT, False))


def table_of(f: object) -> object:
    """The runtime whose table decodes the calls of field `f` (a `NestedCall`, or a list of them); None for another
    field."""
    item = getattr(f, "item", f)
    return getattr(item.call_end, "__self__", None) if isinstance(item, NestedCall) else None


def test_every_spec_decodes_the_calls_in_its_calls_and_its_stored_referenda_by_its_own_table() -> None:
    for spec in specs.PACKAGES:
        runtime = specs.runtime_of(spec)
        for (m, c, decoders, _) in runtime.call_decoders().values():
            for (name, f), decode in zip(c.args, decoders, strict=True):
                if carries_call(f):
                    assert table_of(getattr(decode, "__self__", None)) is runtime, (spec, m.name, c.name, name)
        referendum = specs.package_module(spec, "runtime.governance.types").Referendum
        fields = [f for _, f in referendum.WIRE if carries_call(f)]
        assert fields and all(table_of(f) is runtime for f in fields), spec


def test_a_stored_referendum_holding_a_call_its_spec_does_not_know_does_not_decode_there() -> None:
    newest = specs.runtime_of(specs.NEWEST)
    batch = newest.call("utility.batch", [newest.call("system.remark", b"hi")])
    types16 = specs.package_module(specs.NEWEST, "runtime.governance.types")
    types14 = specs.package_module(14, "runtime.governance.types")
    ref = types16.Referendum(1, b"\x01" * 32, batch, b"\x12" * 32, UNIT, 0, 0, 0, 0)
    assert types16.Referendum.decode(ref.encode()) == ref
    with pytest.raises(Exception, match=r"no call at index"):
        types14.Referendum.decode(ref.encode())


def test_the_table_in_use_does_not_depend_on_import_order() -> None:
    """In fresh interpreters that load the specs in opposite orders (one building an older spec's genesis last, which
    imports that spec's modules), each spec refuses or accepts the same nested calls, and a call decoded outside any
    runtime ends where the newest spec's table says."""
    probe = """
import sys
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call
from runtime import specs
*order, genesis = [int(s) for s in sys.argv[1:]]
for spec in order:
    specs.runtime_of(spec)
if genesis:  # an older spec's genesis imports its modules itself
    from tests.support.node_builder import dev_genesis
    dev_genesis(spec_version=genesis)
newest = specs.runtime_of(specs.NEWEST)
batch = newest.call("utility.batch", [newest.call("system.remark", b"hi")])
out = []
for spec in sorted(specs.PACKAGES):
    rt = specs.runtime_of(spec)
    try:
        rt.decode_call(rt.call("governance.propose", batch, bytes(32), 1, False))
        out.append(f"{spec}:ok")
    except InvalidExtrinsic:
        out.append(f"{spec}:refused")
try:
    out.append(str(Call.decode_at(batch.encode() + b"tail", 0)[1] == len(batch.encode())))
except DecodeError:
    out.append("undecoded")
print(" ".join(out))
"""
    answers = set()
    for order in (["16", "13"], ["13", "11", "16", "0"]):  # the last: an older genesis built last, or none
        done = subprocess.run([sys.executable, "-c", probe, *order], cwd=REPO, capture_output=True, text=True,
                              timeout=120, env={"PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"})
        assert done.returncode == 0, done.stderr
        answers.add(done.stdout.strip())
    batches_from = 15  # utility.batch came with spec 15; every later spec keeps it
    assert answers == {" ".join(f"{s}:{'ok' if s >= batches_from else 'refused'}" for s in sorted(specs.PACKAGES))
                       + " True"}


def test_the_newest_table_accepts_every_older_specs_call_with_the_same_arguments_or_wider_bounds() -> None:
    """What still decodes a call by the newest table and not the running spec's: a call outside any runtime
    (`Call.decode`: multisig's `call_data` before its runtime decodes it again strictly, an RPC parameter) and the
    pool's spending walk. Exact for every spec while no newer spec drops a call or narrows an argument's bound: then
    the newest table refuses nothing an older spec accepts, and the older spec's own decoding decides. A spec that
    narrows one must first make those decode by the running runtime (`runtime.dispatch.bind_calls`)."""
    newest = specs.runtime_of(specs.NEWEST)
    new_table = newest.call_decoders()
    for spec in specs.PACKAGES:
        for key, (m, c, _, _) in specs.runtime_of(spec).call_decoders().items():
            assert key in new_table, (spec, m.name, c.name)
            for (name, old), (_, new) in zip(c.args, new_table[key][1].args, strict=True):
                assert not narrower(old, new), (spec, m.name, c.name, name)


def narrower(old: Field, new: Field) -> bool:
    """Whether field `new` accepts less than `old` (another kind, or a lower size or item limit). A kind a spec
    defines is its own class in each spec: compared by name."""
    if type(old).__name__ != type(new).__name__:
        return True
    for limit in ("max_len", "max_items", "max", "size"):
        a, b = getattr(old, limit, None), getattr(new, limit, None)
        if a != b and (limit == "size" or a is None or b is None or b < a):
            return True
    if isinstance(old, ListOf) and isinstance(new, ListOf):
        return narrower(old.item, new.item)
    return False
