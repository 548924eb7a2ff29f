"""`btt-chain try-upgrade` on LevelDB databases built in-process: a spec-11 dev chain (an offence reported under a
session key, a genesis key spec 11 never recorded) upgrades on a copy with both migrations and every check passing,
and the node's directory stays byte for byte as it was, a node running on it included. Attacked with a chain at the
newest spec, specs that are no upgrade, paths that are no database, and tampered states: a storage version claiming
records spec 11 left, a version no migration starts from, a record that does not decode, balances that do not add
up; each is refused with the check that broke, non-zero, and the directory unchanged. `try_upgrade` itself runs the
migrations over several blocks of the chain's budget when they do not fit one, and stops a migration that makes no
progress."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from btt_chain.node.chain import Chain
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from cli import try_upgrade as trial_module
from cli.try_upgrade import NothingToTry, try_upgrade
from genesis.build import build_genesis
from genesis.loader import as_of_spec, canonical_json, load_chain_spec, materialise, parse_chain_spec
from runtime import specs
from runtime.context import EMERGENCY
from runtime.evidence.migrations import REPORTS_V0
from runtime.migration import Migration
from runtime.overlay import DictState, Overlay, SortedState
from runtime.session import storage as session
from runtime.specs import package_module, runtime_of
from runtime.storage_version import storage_version, storage_version_key
from runtime.system import storage as system
from runtime.system.types import MigrationCursor, ScheduledSpec
from storage import schema
from storage.leveldb import LevelDBStore
from tests.runtime.test_evidence import header
from tests.support.cli_runner import assert_one_error_line, run
from tests.support.node_builder import GENESIS_TIME_MS, author_next
from tests.support.runtime_builder import GenesisBuilder, acct

REPO = Path(__file__).resolve().parents[2]
SESSION = "session: every session key's owner recorded"
EVIDENCE = "evidence: reported offences kept by account"


def build_base(base: Path, spec_version: int | None) -> Path:
    """A dev chain's base path (None: the preset's spec, else `spec_version`) with a few blocks; at spec 11 bob
    reports alice's equivocation, which spec 11 keeps under her session key. The database directory."""
    spec = load_chain_spec("dev")
    raw = dict(spec.raw) if spec_version is None else as_of_spec(spec.raw, spec_version)
    doc = materialise(raw, GENESIS_TIME_MS)
    data_dir = base / "chains" / spec.id
    data_dir.mkdir(parents=True)
    (data_dir / "chain-spec.json").write_bytes(canonical_json(doc))
    kv = LevelDBStore(data_dir / "db")
    try:
        chain = Chain(kv, build_genesis(parse_chain_spec(doc)))
        author_next(chain)
        author_next(chain)
        if spec_version == 11:
            rt = chain.runtime
            assert rt.spec_version == 11
            h1, h2 = (header("alice", slot=1, root=r, number=1, genesis=chain.genesis_hash) for r in (1, 2))
            bob = dev_keypair("bob")
            call = rt.call("evidence.report_block_equivocation", h1.encode(), h2.encode())
            nonce = system.account.get(chain.state(), bob.public).nonce
            xt = sign_extrinsic(bob, call, nonce, chain.genesis_hash, rt.spec_version)
            imported, _ = author_next(chain, [xt])
            assert all(o.success for o in imported.result.outcomes)
        author_next(chain)
    finally:
        kv.close()
    return data_dir / "db"


@pytest.fixture(scope="module")
def spec11(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec-11 base path, shared: try-upgrade never writes it (each test checks so)."""
    base = tmp_path_factory.mktemp("spec11")
    build_base(base, 11)
    return base


def fingerprint(base: Path) -> dict[str, str]:
    """Every file under `base` by its path, with its bytes' hash, and every directory."""
    out = {}
    for p in sorted(base.rglob("*")):
        out[str(p.relative_to(base))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def args(base: Path, *more: str) -> list[str]:
    return ["try-upgrade", "--chain", "dev", "--base-path", str(base), *more]


def test_a_spec_11_database_upgrades_on_a_copy_with_both_migrations_and_every_check(
    spec11: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fingerprint(spec11)
    code, out, err = run(capsys, *args(spec11))
    assert code == 0, err
    assert "spec 11 -> 12 on the state of block #4" in out
    assert "block.max_weight 1,000,000: the migrations may use 750,000 of each block" in out
    for name in (SESSION, EVIDENCE):
        line = next(x for x in out.splitlines() if name in x)
        assert "1 item" in line and "1 block" in line
    assert "total: 2 migrations, 2 items" in out
    assert "BROKEN" not in out and "FAILED" not in out
    for check in ("spec 11's runtime invariants at the head", "spec 11's compute books at the head",
                  "every module at the storage version spec 12 reads (evidence 1, session 1)",
                  "every migration done, each of the items it counted",
                  "spec 12's runtime invariants after the upgrade", "spec 12's compute books after the upgrade"):
        assert f"ok      {check}" in out
    assert "changes nothing" in out
    assert err == ""
    assert fingerprint(spec11) == before

    code, out, err = run(capsys, *args(spec11, "--json"))
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["changesNothing"] and not report["nodeRunning"]
    assert (report["fromSpec"], report["toSpec"], report["head"]) == (11, 12, 4)
    runs = {m["name"]: m for m in report["migrations"]}
    assert list(runs) == [SESSION, EVIDENCE]
    for m in runtime_of(12).migrations:
        got = runs[m.name]
        assert (got["counted"], got["items"], got["steps"], got["blocks"]) == (1, 1, 1, 1)
        assert got["weight"] == m.base_weight + m.item_weight
    assert report["total"]["blocks"] == 1 and report["total"]["weight"] == sum(r["weight"] for r in runs.values())
    assert all(c["ok"] for c in report["checks"]) and len(report["checks"]) == 6
    assert fingerprint(spec11) == before


def test_it_tries_the_upgrade_beside_a_running_node_on_a_copy_of_its_files(
    spec11: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "running"
    shutil.copytree(spec11, base)
    db = base / "chains" / "dev" / "db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from storage.leveldb import LevelDBStore; "
         "s = LevelDBStore(sys.argv[1], create_if_missing=False); print('open', flush=True); sys.stdin.read()",
         str(db)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = fingerprint(base)
        code, out, err = run(capsys, *args(base))
        assert code == 0, err
        assert "a node is running on" in err and "a copy of its files" in err
        assert SESSION in out and EVIDENCE in out
        assert fingerprint(base) == before
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_chain_at_the_newest_spec_is_told_there_is_nothing_to_try(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_base(tmp_path, None)
    before = fingerprint(tmp_path)
    code, _, err = run(capsys, *args(tmp_path))
    assert_one_error_line(code, err, f"the chain already runs spec {specs.NEWEST}, the newest this release has")
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize(("to", "why"), [
    ("11", "the chain already runs spec 11: --to 11 is no upgrade"),
    (str(specs.NEWEST + 1), f"this release has no spec {specs.NEWEST + 1} (it runs specs 11 to {specs.NEWEST})"),
])
def test_a_spec_that_is_no_upgrade_is_refused(spec11: Path, to: str, why: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = fingerprint(spec11)
    code, _, err = run(capsys, *args(spec11, "--to", to))
    assert_one_error_line(code, err, why)
    assert fingerprint(spec11) == before


@pytest.mark.parametrize("case", ["missing", "empty", "not leveldb", "corrupt", "other chain"])
def test_a_path_that_is_no_database_is_one_clear_error(case: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "chains" / "dev" / "db"
    chain = "dev"
    if case == "missing":
        why = f"no database at {db}"
    elif case == "empty":
        db.mkdir(parents=True)
        why = "is not a LevelDB database (no CURRENT file)"
    elif case == "not leveldb":
        db.mkdir(parents=True)
        (db / "notes.txt").write_text("hello")
        why = "is not a LevelDB database"
    elif case == "corrupt":
        db.mkdir(parents=True)
        (db / "CURRENT").write_text("MANIFEST-000009\n")
        why = f"the copy of {db} does not open: database at the copy is corrupt"
    else:
        build_base(tmp_path, 11)
        chain = "btt-21m"  # the dev chain's base path named as another chain's
        why = "no database at " + str(tmp_path / "chains" / load_chain_spec("btt-21m").id / "db")
    before = fingerprint(tmp_path)
    code, _, err = run(capsys, "try-upgrade", "--chain", chain, "--base-path", str(tmp_path))
    assert_one_error_line(code, err, why)
    assert fingerprint(tmp_path) == before


def tamper(db: Path, case: str) -> None:
    """Change the head state of `db` behind the chain's back (its state root no longer covers it)."""
    kv = LevelDBStore(db, create_if_missing=False)
    try:
        state = Overlay(_KvState(kv))
        if case == "evidence version claims spec 11's records":
            kv.write({schema.STATE + storage_version_key("evidence"): (1).to_bytes(2, "little")})
        elif case == "session version no migration starts from":
            kv.write({schema.STATE + storage_version_key("session"): (5).to_bytes(2, "little")})
        elif case == "a record that does not decode":
            (key, _), = REPORTS_V0.items(state)
            kv.write({schema.STATE + REPORTS_V0.key(key): b"\x01\x02\x03"})
        else:
            who = dev_keypair("bob").public
            info = system.account.get(state, who)
            kv.write({schema.STATE + system.account.key(who): system.account.codec.encode(
                replace(info, free=info.free + 1))})
    finally:
        kv.close()


class _KvState:
    def __init__(self, kv: LevelDBStore) -> None:
        self.kv = kv

    def get(self, key: bytes) -> bytes | None:
        return self.kv.get(schema.STATE + key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        n = len(schema.STATE)
        for k, v in self.kv.iterate(schema.STATE + prefix):
            yield k[n:], v


@pytest.mark.parametrize(("case", "shown", "why"), [
    ("evidence version claims spec 11's records", "BROKEN  every migration done",
     f"'{EVIDENCE}' leaves 1 items undone"),
    ("session version no migration starts from", "FAILED  spec 12's migration",
     "session is at storage version 5, the migration takes it from 0"),
    ("a record that does not decode", f"FAILED  spec 12's migration '{EVIDENCE}' failed: counting its items: "
     "DecodeError", f"spec 12's migration '{EVIDENCE}' failed: counting its items: DecodeError"),
    ("balances that do not add up", "BROKEN  spec 11's runtime invariants at the head",
     "spec 11's runtime invariants at the head: sum of balances"),
])
def test_a_broken_state_names_the_check_that_failed_and_exits_non_zero(
    spec11: Path, tmp_path: Path, case: str, shown: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "broken"
    shutil.copytree(spec11, base)
    tamper(base / "chains" / "dev" / "db", case)
    before = fingerprint(base)
    code, out, err = run(capsys, *args(base))
    assert_one_error_line(code, err, why)
    assert "the upgrade to spec 12 fails on block #4's state" in err
    assert shown in out
    assert fingerprint(base) == before
    code, out, _ = run(capsys, *args(base, "--json"))
    assert code == 1 and json.loads(out)["ok"] is False


# --- try_upgrade on a state: many blocks, no progress, nothing written ------------------------------------------


def crowded_spec11_state(registrations: int) -> dict[bytes, bytes]:
    """A spec-11 test chain at the smallest block weight, with `registrations` more validator registrations (their
    keys unrecorded) and an offence under each key."""
    chain = GenesisBuilder(params={"block.max_weight": 100_000}).build(spec=11)
    view = Overlay(chain.backend)
    bonds = package_module(11, "runtime.bonds.storage")
    types = package_module(11, "runtime.bonds.types")
    evidence = package_module(11, "runtime.evidence.storage")
    for i in range(registrations):
        who, key = (b"w%07d" % i) * 4, (b"k%07d" % (i * 7919 % registrations)) * 4
        bonds.validators.put(view, who, types.ValidatorRegistration(key, bytes(32), who))
        evidence.reports.put(view, key + b"\x00" + i.to_bytes(8, "big"), i)
    chain.backend.apply(view.changes())
    return chain.backend.data


HEAVY = 1_000
"""An item weight that makes the migrations' items overflow a block of the smallest weight (75 items a block)."""


def test_migrations_that_do_not_fit_a_block_run_over_blocks_and_end_where_one_step_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = crowded_spec11_state(400)
    real = runtime_of(12)
    heavy = tuple(replace(m, item_weight=HEAVY) for m in real.migrations)
    monkeypatch.setattr(trial_module, "runtime_of", lambda spec: replace(real, migrations=heavy))
    backend = SortedState(data)
    trial = try_upgrade(backend, 10, b"\x01" * 32)
    assert trial.ok, trial.first_fault()
    assert trial.budget == 75_000 and trial.longest_block_weight <= trial.budget
    session_run, evidence_run = trial.migrations
    assert session_run.items == session_run.counted >= 400 and evidence_run.items == evidence_run.counted == 400
    for r in trial.migrations:
        assert r.steps == r.blocks >= 6  # one step a block, each as large as the block's room allows
        assert r.weight == r.steps * r.migration.base_weight + r.items * HEAVY
    assert session_run.last_block == evidence_run.first_block  # the block the session's ends in goes on
    assert trial.blocks == evidence_run.last_block - session_run.first_block + 1 == sum(
        r.blocks for r in trial.migrations) - 1
    assert backend.data == data  # nothing written to what it read
    # the state it leaves is the one each migration leaves in one step
    whole = Overlay(DictState(data))
    for m in real.migrations:
        assert m.step(whole, b"", 1 << 40)[0] is None
    after = trial.state
    assert after is not None
    assert dict(session.key_owner.items(after)) == dict(session.key_owner.items(whole))
    offences = package_module(12, "runtime.evidence.storage").offences
    assert dict(offences.items(after)) == dict(offences.items(whole)) and len(dict(offences.items(after))) == 400
    assert not list(REPORTS_V0.items(after))
    assert (storage_version(after, "session"), storage_version(after, "evidence")) == (1, 1)
    assert session.key_owner.get(after, acct("alice")) == acct("alice")


def test_a_migration_that_makes_no_progress_or_raises_stops_the_trial_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = crowded_spec11_state(0)
    real = runtime_of(12)

    def stuck(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
        state.set(b"stuck", b"x")
        return b"\x01", 0

    def raises(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
        raise KeyError("no such record")

    for step, why in ((stuck, "block 12 made no progress"), (raises, "KeyError: 'no such record'")):
        m = Migration("session", 0, 1, "test: broken", step, 10, lambda s: 1)
        monkeypatch.setattr(trial_module, "runtime_of", lambda spec, m=m: replace(real, migrations=(m,)))
        backend = DictState(data)
        trial = try_upgrade(backend, 10, b"\x01" * 32)
        assert not trial.ok and trial.failure is not None and why in trial.failure, trial.failure
        assert backend.data == data


def test_a_scheduled_upgrade_is_shown_and_one_under_way_is_not_tried_again() -> None:
    chain = GenesisBuilder().build(spec=11)
    at = chain.number + 5
    chain.dispatch(EMERGENCY, "system.schedule_spec", 12, at)
    trial = try_upgrade(chain.backend, chain.number, b"\x01" * 32)
    assert trial.ok, trial.first_fault()
    assert trial.scheduled == ScheduledSpec(12, at) and trial.blocks == 1
    view = Overlay(chain.backend)
    system.migration.put(view, MigrationCursor(12, 1, b"\x01", 5))
    chain.backend.apply(view.changes())
    with pytest.raises(NothingToTry, match="spec 12's migrations are under way since block 5"):
        try_upgrade(chain.backend, chain.number, b"\x01" * 32)


def test_the_recorded_spec_11_network_tries_the_upgrade_on_every_nodes_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The databases spec 11's release wrote (testnets/spec11-network.tar.xz, by 2010233): on each node's, both
    migrations run and every check holds, and nothing of it is written."""
    from btt_chain.testnet.manifest import load_manifest
    from btt_chain.testnet.upgrade import unpack

    plan = load_manifest("upgrade").upgrade
    assert plan is not None
    recorded = unpack(plan, tmp_path)
    chain = str(tmp_path / "chain-spec.json")
    for node in ("v0", "f0"):
        before = fingerprint(tmp_path / node)
        code, out, err = run(capsys, "try-upgrade", "--chain", chain, "--base-path", str(tmp_path / node), "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["ok"] and report["changesNothing"] and (report["fromSpec"], report["toSpec"]) == (11, 12)
        assert report["head"] >= recorded.head - 2  # a node may have stopped a block or two behind the best
        assert [m["name"] for m in report["migrations"]] == [SESSION, EVIDENCE]
        assert all(c["ok"] for c in report["checks"])
        assert fingerprint(tmp_path / node) == before


def test_a_spec_18_database_takes_spec_19s_parameter_and_every_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Spec 19's migration (params 2 -> 3: `compute.hook_max_weight`) on a LevelDB database spec 18 made, whose
    genesis never had the parameter: one item, one block, every check of both specs, nothing written."""
    build_base(tmp_path, 18)
    before = fingerprint(tmp_path)
    code, out, err = run(capsys, *args(tmp_path, "--json"))
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["changesNothing"] and (report["fromSpec"], report["toSpec"]) == (18, 19)
    runs = {m["name"]: m for m in report["migrations"]}
    new = runs.pop("params: the parameters spec 19's rules read")
    assert (new["counted"], new["items"], new["blocks"]) == (1, 1, 1)
    # the others the chain's genesis recorded as done: counted where their module is at their version, none to do
    assert runs and all((m["counted"], m["items"]) == (0, 0) for m in runs.values()), runs
    assert "params: the parameters spec 14's rules read" not in runs  # params is past it: not counted at all
    assert all(c["ok"] for c in report["checks"])
    assert any("params 3" in c["name"] for c in report["checks"]), report["checks"]
    assert fingerprint(tmp_path) == before
