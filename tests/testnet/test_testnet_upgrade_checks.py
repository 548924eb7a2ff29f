"""The upgrade part of a testnet run without namespaces: unpacking a recorded network (and refusing a bad tarball),
when the boundary kills fall, and the upgrade check, which must fail on every way an upgrade can go wrong."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from pathlib import Path

import pytest

from btt_chain.testnet.manifest import UpgradePlan, load_manifest
from btt_chain.testnet.upgrade import NodeAtEnd, Recorded, UpgradeDriver, check_upgrade, clock_offset_ms, unpack

AT = 166
HALT = ("2026-11-26T06:56:49.639+00:00 ERROR btt.upgrade: stopped at block #165 0xba1e: block #166 cannot be executed "
        "by this node: the chain runs spec 12 from block 166, which this node cannot run (it runs specs 11): install "
        "a btt-chain release that runs spec 12")


def plan(tmp_path: Path, **changes: object) -> UpgradePlan:
    base = UpgradePlan(tmp_path / "net.tar.xz", 12, 5, 50, ("v2", "f0"), 6.0, "eve")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def scheduled(p: UpgradePlan) -> UpgradeDriver:
    driver = UpgradeDriver(p, lambda line: None, at=AT, ref_id=0)
    driver.killed = list(p.kill_at_boundary)
    return driver


def upgraded(name: str, **changes: object) -> NodeAtEnd:
    node = NodeAtEnd(name, None, 200, 12, "0xb0", ("SpecUpgraded", "MigrationCompleted", "MigrationsCompleted"), "",
                     True, (), None, (190, True))
    return dataclasses.replace(node, **changes)  # type: ignore[arg-type]


def left(**changes: object) -> NodeAtEnd:
    node = NodeAtEnd("o0", 11, AT - 1, 12, None, (), f"some line\n{HALT}\n", True, (), None, (155, True))
    return dataclasses.replace(node, **changes)  # type: ignore[arg-type]


def network(**nodes: NodeAtEnd) -> dict[str, NodeAtEnd]:
    out = {n: upgraded(n) for n in ("v0", "v1", "j0")}
    out["o0"] = left()
    out.update(nodes)
    return out


def test_the_shipped_recording_unpacks_with_its_head(tmp_path: Path) -> None:
    m = load_manifest("upgrade")
    assert m.upgrade is not None
    recorded = unpack(m.upgrade, tmp_path)
    assert recorded.head > 100
    assert (tmp_path / "chain-spec.json").is_file()
    for node in ("v0", "v1", "v2", "v3", "f0"):
        assert (tmp_path / node / "node-key").is_file()
        assert list((tmp_path / node / "chains").glob("*/db/CURRENT"))
    assert clock_offset_ms(recorded, recorded.head_timestamp_ms + 60_000) == -58_000


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(("members", "message"), [
    ({"chain-spec.json": b"{}"}, "no valid recorded.json"),
    ({"recorded.json": b'{"head": "x"}'}, "no valid recorded.json"),
    ({"../outside": b"x", "recorded.json": b'{"head": 1, "head_timestamp_ms": 2}'}, "not a recorded network's"),
])
def test_a_bad_recording_is_one_clear_error_and_writes_nothing_outside(tmp_path: Path, members: dict[str, bytes],
                                                                       message: str) -> None:
    p = plan(tmp_path)
    _tar(p.database, members)
    (tmp_path / "base").mkdir()
    with pytest.raises(ValueError, match=message):
        unpack(p, tmp_path / "base")
    assert not (tmp_path / "outside").exists()


def test_not_a_tarball_is_a_clear_error(tmp_path: Path) -> None:
    p = plan(tmp_path)
    p.database.write_bytes(b"not a tarball")
    with pytest.raises(ValueError, match="not a recorded network's tarball"):
        unpack(p, tmp_path)


def test_the_boundary_kills_fall_on_the_last_old_block_then_the_first_new_one_each_once(tmp_path: Path) -> None:
    driver = UpgradeDriver(plan(tmp_path), lambda line: None)
    assert driver.due_kills(500) == []  # nothing scheduled yet
    driver.at = AT
    assert driver.due_kills(AT - 2) == []
    assert driver.due_kills(AT - 1) == ["v2"]
    assert driver.due_kills(AT - 1) == []
    assert driver.due_kills(AT + 3) == ["f0"]
    assert driver.due_kills(AT + 4) == []


def test_an_upgrade_that_went_as_an_operator_expects_passes(tmp_path: Path) -> None:
    p = plan(tmp_path)
    warped = upgraded("w0", warp_base=192, hash_at_boundary=None, events_at_boundary=())
    check = check_upgrade(p, scheduled(p), network(w0=warped))
    assert check.passed, check.lines
    text = "\n".join(check.lines)
    assert "killed at the boundary: v2, f0" in text and "w0 warp-synced at #192" in text
    assert "o0 (--max-spec 11) stopped at #165" in text


@pytest.mark.parametrize(("nodes", "message"), [
    ({"v1": upgraded("v1", hash_at_boundary="0xb1")}, "block #166 differs or is missing"),
    ({"j0": upgraded("j0", hash_at_boundary=None)}, "block #166 differs or is missing"),
    ({"v0": upgraded("v0", events_at_boundary=("SpecUpgraded",))}, "v0: block #166 has events"),
    ({"v0": upgraded("v0", spec_at_head=11)}, "v0: runs spec 11"),
    ({"w0": upgraded("w0", warp_base=192, hash_at_boundary=None, spec_at_head=11)}, "w0 warp-synced"),
    ({"o0": left(alive=False)}, "its process is gone"),
    ({"o0": left(head=AT)}, "its head is #166"),
    ({"o0": left(head=AT - 5)}, "its head is #161"),
    ({"o0": left(log="")}, "0 lines name spec 12"),
    ({"o0": left(log=f"{HALT}\n{HALT}\n")}, "2 lines name spec 12"),
    ({"o0": left(log=f"{HALT}\nTraceback (most recent call last):\n")}, "a traceback in its log"),
    ({"o0": left(bans_involving=("v0 banned o0: bad block",))}, "bans: v0 banned o0"),
    ({"o0": left(finalized=(155, False))}, "is not the reference's"),
    ({"o0": left(finalized=None)}, "is not the reference's"),
])
def test_every_way_an_upgrade_goes_wrong_fails_the_check(tmp_path: Path, nodes: dict[str, NodeAtEnd],
                                                         message: str) -> None:
    p = plan(tmp_path)
    check = check_upgrade(p, scheduled(p), network(**nodes))
    assert not check.passed
    assert message in "\n".join(check.lines), check.lines


def test_an_upgrade_never_scheduled_fails_with_the_referendums_error(tmp_path: Path) -> None:
    p = plan(tmp_path)
    driver = UpgradeDriver(p, lambda line: None, failure="btt-chain propose ...: exit 1: EmergencyOnly")
    check = check_upgrade(p, driver, network())
    assert not check.passed and "EmergencyOnly" in check.lines[0]


def test_recorded_json_is_read_back(tmp_path: Path) -> None:
    p = plan(tmp_path)
    _tar(p.database, {"recorded.json": json.dumps({"head": 7, "head_timestamp_ms": 9}).encode()})
    assert unpack(p, tmp_path / "b") == Recorded(7, 9)
