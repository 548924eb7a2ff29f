"""A call inside a call (governance.propose's, utility.batch's, proxy.proxy's) and a stored referendum's call decode by
the call table of the spec running the block, never by one process-wide table: a release carrying specs 11 to 16
accepts in a spec-N block exactly what a release whose newest spec is N accepts (before the fix it decoded them by
spec 16's table, so it included, and charged for, a spec-14 `governance.propose(utility.batch(...))` that a release
ending at spec 14 refuses as an invalid block: the two forked before any upgrade). The table each spec uses does not
depend on which spec's modules were imported last, and a call carried as bytes (a multisig's `call_data`) decodes by the
running spec's table too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.errors import DecodeError, InvalidBlock, InvalidExtrinsic
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


def test_a_call_carried_as_bytes_is_decoded_by_its_own_specs_table() -> None:
    """A multisig's `call_data` is its runtime's to decode (`Runtime.call_of`), as a call inside a call is: spec 17
    added `bonds.register_validator`'s proof, so the newest table reads spec 16's two-argument form as cut short, and
    a release running spec 16 must take it as spec 16's release did."""
    old = specs.runtime_of(16).call("bonds.register_validator", b"\x01" * 32, b"\x02" * 32).encode()
    new = specs.runtime_of(17).call("bonds.register_validator", b"\x01" * 32, b"\x02" * 32, b"\x03" * 64).encode()
    assert specs.runtime_of(16).call_of(old, 1024).encode() == old
    assert specs.runtime_of(17).call_of(new, 1024).encode() == new
    for spec, data in ((16, new), (17, old), (16, old + b"\x00"), (17, old[:-1])):
        with pytest.raises(DecodeError):
            specs.runtime_of(spec).call_of(data, 1024)
    with pytest.raises(DecodeError):
        specs.runtime_of(17).call_of(new, len(new) - 1)  # over the bound


def test_no_rule_decodes_a_call_by_the_newest_table() -> None:
    """`Call.decode` and `Call.decode_at` use the newest spec's table (for what no runtime holds: an RPC parameter);
    inside the runtime every call is decoded by the running spec's own (`call_of`, `NestedCall`)."""
    found = [str(path.relative_to(REPO)) for path in sorted((REPO / "runtime").rglob("*.py"))
             if re.search(r"\bCall\.decode(_at)?\(", path.read_text())]
    assert found == []
