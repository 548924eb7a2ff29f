"""feature_readme_try_it: every shell block of the README's "Try it" section and of the five doc sections it goes
on to (WALK), run as a newcomer pastes them, against a 4-validator devnet started as `./scripts/devnet` starts it
(`btt-chain devnet --nodes 4`), so that the next rename of a call or an option cannot silently break an example.

The pages are read at test time: the ```sh blocks of each section of WALK (from its heading to the next heading of
its level or above), section after section in the order the README lists them, line by line, in one working
directory (the newcomer's clone) with one shell state (a `B=...` line holds for every line after it, as in one
terminal). Only what must be is substituted: `.venv/bin/btt-chain` in that directory is a script
running this checkout's CLI with the test's interpreter; and when the README's ports (RPC 9944-9947, libp2p
30333-30336) are taken on this machine, the devnet runs on other ones, `BTT_RPC` points every command's default
`--rpc` at node0, and `127.0.0.1:994N` in a line becomes node N's port (the mapping is logged).

Every line must exit 0 and print no traceback. A line the test cannot run as written is in NOT_RUN with the reason;
a line that runs until stopped (a miner "in its own terminal") is in LONG_RUNNING with what it must have done before
the walk goes on. The test fails when a line has no runner, or a table names a line the walk no longer has. Where a
comment states an outcome that is cheap to check ("node3 sees bob up by exactly 10 BTT", "pays exactly 1,000 BTT",
"enacted"), and where a page states a figure the walk can see (the transfer's fee, docs/costs.md's), the test checks
it (BALANCES, CHECKS); where a line needs a state that a reader waits for by
eye (a transfer seen by node3, voting over), the test waits for that state on the chain first (BEFORE), never for
a fixed time. A command in a comment "after N s: COMMAND" runs once the chain says its time has come (DEFERRED).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from btt_chain.client.rpc import RPC_ENV, RpcClient
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from btt_chain.process_supervision import die_with_parent
from tests.docs.test_docs_map import slug
from tests.functional.framework import REPO, RPC_TIMEOUT_S, Harness, wait_until
from tests.functional.test_feature_devnet_supervision import free_run
from tests.support.wait_limits import scaled

README = REPO / "README.md"
WALK = (
    ("README.md", "## Try it"),
    ("docs/economics.md", "## Try it: vesting, stakes and a multisig"),
    ("docs/compute.md", "## Post a job and read its result"),
    ("docs/assets.md", "## Try it: assets, payments and patient incentives"),
    ("docs/governance.md", "## A referendum on a dev node"),
    ("docs/model-import.md", "## Bringing your own model"),
)
"""(page, section heading) of the walk, in the order the README's "Try it" lists them. Assets come before the
referendum so that bob's jobs settle and his work credit matures (his aye then counts in the compute house) while
the assets lines run, instead of the walk waiting for it."""
NODES = 4
README_RPC_PORT = 9944
"""node0's RPC port in the README (the CLI's default `--rpc` and `btt-chain devnet`'s first RPC port); node N's is
this + N."""
README_P2P_PORT = 30333
UNIT = 10**18
COMMAND_LIMIT_S = 300.0
"""One command's limit: a hang guard (the slowest, `job clinic --count 1`, waits for its job's result)."""

NOT_RUN = {
    "./scripts/bootstrap models":
        "it installs packages into the clone's .venv; the test's interpreter has the models extra already (the test "
        "skips without onnx or scikit-learn), and `.venv/bin/btt-chain` here runs it",
    "$B job challenge 0 --provider bob --item 17 --key charlie":
        "docs/compute.md runs it only if `job verify 0` found item 17 wrong; the miner here is honest and `job "
        "verify 0` found every item right (checked), so a challenge of item 17 would rightly be refused",
}
"""Lines the test does not run, each with the reason."""


@dataclass(frozen=True)
class Line:
    """One command line of a ```sh block of the walk."""

    page: str
    """The page it is on, relative to the repository ("README.md", "docs/compute.md")."""
    number: int
    """Its line number on that page."""
    block: int
    """Which ```sh block of the walk (0, 1, ...), counted across its sections."""
    command: str
    """The shell text before its comment."""
    comment: str
    deferred: bool = False
    """A command taken from an "after N s: COMMAND" comment."""

    @property
    def where(self) -> str:
        """`page:number`, as the logs and failures name the line."""
        return f"{self.page}:{self.number}"

    @property
    def key(self) -> str:
        """The command with its whitespace collapsed: what the tables name it by."""
        return " ".join(self.command.split())


def split_comment(text: str) -> tuple[str, str]:
    """(command, comment) of one shell line: a `#` outside quotes, at the start or after a blank, opens a comment."""
    quote = ""
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i], text[i + 1:]
    return text, ""


def try_it_lines() -> list[Line]:
    """The command lines of the walk's sections, section after section, in order."""
    out: list[Line] = []
    for page, heading in WALK:
        out += sh_lines(REPO / page, heading, first_block=(out[-1].block + 1) if out else 0)
    return out


def sh_lines(page: Path, heading: str, first_block: int = 0) -> list[Line]:
    """The command lines of the ```sh blocks of `page`'s section under `heading` (a whole line, "# ...", "## ..." or
    "### ..."), which ends at the next heading of its level or above, in order; blocks numbered from
    `first_block`."""
    name = str(page.relative_to(REPO))
    lines = page.read_text().splitlines()
    assert heading in lines, f"{name} has no heading {heading!r}"
    start = lines.index(heading)
    level = heading.split(" ", 1)[0]
    ends = tuple("#" * n + " " for n in range(1, len(level) + 1))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(ends)), len(lines))
    out: list[Line] = []
    block, inside = first_block - 1, False
    for i in range(start + 1, end):
        text = lines[i]
        if text.strip().startswith("```"):
            inside = not inside and text.strip() == "```sh"
            block += inside
            continue
        if inside:
            command, comment = split_comment(text)
            if command.strip():
                out.append(Line(name, i + 1, block, command.strip(), comment.strip()))
    assert not inside, f"an unclosed ```sh block in {name}, {heading}"
    return out


ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*")
AFTER = re.compile(r"after (\d+) s: (.+)")


def is_assignment(line: Line) -> bool:
    return ASSIGNMENT.fullmatch(line.command) is not None


def deferred_of(line: Line) -> Line | None:
    """The command of an "after N s: COMMAND" comment, if the line has one."""
    m = AFTER.fullmatch(line.comment)
    return None if m is None else Line(line.page, line.number, line.block, m.group(2).strip(), "", deferred=True)


# --- the chain, as the checks read it ----------------------------------------------------------------------------


def address(name: str) -> str:
    return encode_address(dev_keypair(name).public)


def btt(text: str) -> int:
    """A decimal BTT figure as printed ("0.00259") in base units."""
    return int(Decimal(text) * UNIT)


FEE = re.compile(r"^included in block #(\d+) (0x[0-9a-f]{64}) \(extrinsic 0x[0-9a-f]+, fee ([0-9.]+) BTT\)$", re.M)


def inclusion(out: str) -> tuple[int, str, int]:
    """(block number, block hash, fee in base units) of the one extrinsic a wallet command reports."""
    found = FEE.findall(out)
    assert len(found) == 1, f"expected one 'included in block' line in:\n{out}"
    number, block_hash, fee = found[0]
    return int(number), block_hash, btt(fee)


@dataclass
class Walk:
    """The newcomer's terminal: the working directory, the environment, the shell state and what each line
    printed; and the devnet's RPC."""

    harness: Harness
    work: Path
    env: dict[str, str]
    rpc_ports: list[int]
    prelude: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    marks: dict[str, Any] = field(default_factory=dict)
    """What a check noted before its command (a balance) for after it."""
    long_running: list[tuple[Line, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def node(self, index: int = 0) -> RpcClient:
        return RpcClient(f"http://127.0.0.1:{self.rpc_ports[index]}", timeout=scaled(RPC_TIMEOUT_S))

    def call(self, method: str, *params: Any) -> Any:
        return self.node().call(method, *params)

    def free(self, name: str, at: str | None = None) -> int:
        return int(self.call("btt_account", address(name), *([at] if at else []))["free"])

    def balance_mark(self, name: str) -> tuple[int, int]:
        """(head number, `name`'s free balance at that head)."""
        head = self.call("chain_getHeader")
        return int(head["number"], 16), self.free(name, self.call("chain_getBlockHash", int(head["number"], 16)))

    def mining_income(self, name: str, after: int, upto: int) -> int:
        """What mining paid `name` in blocks `after`+1 ..= `upto`: the pool's rewards at epoch boundaries and the
        payments of its jobs whose challenge windows closed (a miner's income, which lands whatever the walk's
        command was: a private job's clinic is done once it read its results, before the window closes)."""
        who = self.call("btt_account", address(name))["address"]
        income = 0
        for n in range(after + 1, upto + 1):
            for e in self.call("btt_events", self.call("chain_getBlockHash", n)):
                if e["event"] == "MiningRewarded" and e["provider"] == who:
                    income += int(e["amount"])
                elif e["event"] == "JobReceipt" and e["provider"] == who:
                    income += int(e["provider_paid"])
        return income

    def mapped(self, command: str) -> str:
        """`command` with the README's RPC ports mapped to the devnet's (the identity when they are the same)."""
        ports = {README_RPC_PORT + i: port for i, port in enumerate(self.rpc_ports)}
        return re.sub(r"127\.0\.0\.1:(\d+)\b", lambda m: f"127.0.0.1:{ports.get(int(m[1]), int(m[1]))}", command)

    def script(self, line: Line, exec_it: bool = False) -> str:
        return "\n".join(["set -eo pipefail", *self.prelude, ("exec " if exec_it else "") + self.mapped(line.command)])

    def run(self, line: Line) -> str:
        """Run one line of the walk as pasted into the terminal; its output. It must exit 0 without a traceback."""
        began = time.monotonic()
        done = subprocess.run(["bash", "-c", self.script(line)], cwd=self.work, env=self.env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=scaled(COMMAND_LIMIT_S))
        where = f"{line.where}: {line.command}"
        assert done.returncode == 0, f"{where}\nexited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr + done.stdout, f"{where}\nprinted a traceback:\n{done.stderr}"
        self.harness.log(f"{line.where} ok in {time.monotonic() - began:.1f} s: {line.command}")
        self.outputs[line.key] = done.stdout
        return done.stdout

    def start(self, line: Line) -> None:
        """Start a line that runs until stopped, as in a terminal of its own."""
        log_path = self.harness.root / f"walk-{line.page.replace('/', '-')}-{line.number}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["bash", "-c", self.script(line, exec_it=True)], cwd=self.work, env=self.env,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=die_with_parent())
        self.long_running.append((line, proc, log_path))
        self.harness.log(f"{line.where} started (runs until stopped): {line.command}")

    def close(self) -> None:
        """Stop whatever still runs (a walk that failed half-way), without judging it."""
        for _, proc, _ in self.long_running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc, _ in self.long_running:
            try:
                proc.wait(scaled(60))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(scaled(30))
        self.long_running.clear()

    def stop(self, line: Line) -> None:
        """SIGTERM a long-running line; it must not have died on its own, nor print a traceback."""
        for entry in list(self.long_running):
            started, proc, log_path = entry
            if started != line:
                continue
            self.long_running.remove(entry)
            assert proc.poll() is None, f"{line.where} exited early:\n{log_path.read_text()[-3000:]}"
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(scaled(60))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(scaled(30))
                raise AssertionError(f"{line.where} did not stop on SIGTERM") from None
            text = log_path.read_text(errors="replace")
            assert "Traceback" not in text, f"{line.where} printed a traceback:\n{text[-3000:]}"
            self.harness.log(f"{line.where} stopped")


# --- what the walk waits for and checks, by line --------------------------------------------------------------------


def miner_registered(walk: Walk) -> bool:
    return any(p["account"] == address("bob") and p["registered"] for p in walk.call("btt_providers"))


def clinic_posted(walk: Walk) -> bool:
    return any(j["modelName"] == "my-model" for j in walk.call("btt_jobs", None, address("charlie")))


LONG_RUNNING: dict[str, tuple[str, Callable[[Walk], bool]]] = {
    "$B miner --key bob --bond 200": ("bob is a registered provider", miner_registered),
    "$B job clinic --model my-model --key charlie --cases cases.npz": ("charlie posted a job of my-model",
                                                                         clinic_posted),
}
"""Lines that run until stopped: what each must have done (on the chain) before the walk goes on. The miner serves
every later job and is stopped at the end; the clinic, the last line, is stopped once it has posted."""


def transfer_seen_by_node3(walk: Walk) -> None:
    number, block_hash, _ = inclusion(walk.outputs[".venv/bin/btt-chain transfer --from alice --to bob --amount 10"])
    wait_until(lambda: walk.node(3).call("chain_getBlockHash", number) == block_hash, 60,
               what=f"node3 imported the transfer's block #{number}")


def job_verified(walk: Walk) -> None:
    def verified() -> bool:
        job = walk.call("btt_job", 0)
        return bool(job["assignments"]) and all(a["state"] in ("verified", "settled") for a in job["assignments"])

    wait_until(verified, 120, what="job 0's sample verified (its outputs published)")


def bob_settled(walk: Walk) -> None:
    """Bob's jobs paid, his work credit matured (so his aye counts in the compute house too) and its mining reward
    paid at the epoch boundary after: from here on only this block's calls move his balance."""
    def settled() -> bool:
        jobs = walk.call("btt_jobs", None, None, address("bob"))
        provider = next(p for p in walk.call("btt_providers") if p["account"] == address("bob"))
        voter = walk.call("btt_voter", address("bob"))
        return (bool(jobs) and all(j["status"] == "done" for j in jobs) and provider["credit"]["pending"] == "0"
                and provider["credit"]["epoch"] == "0" and int(voter["weights"]["compute"]) > 0)

    wait_until(settled, 180, what="bob's jobs paid, his credit matured and rewarded")


def referendum_enacted(walk: Walk) -> None:
    wait_until(lambda: walk.call("btt_referendum", 0)["status"] == "enacted", 120, what="referendum 0 enacted")


BEFORE: dict[str, Callable[[Walk], None]] = {
    ".venv/bin/btt-chain query account bob --json --rpc http://127.0.0.1:9947": transfer_seen_by_node3,
    "$B job verify 0": job_verified,
    "$B propose --call treasury.spend --args '[\"ecosystem_fund\", \"bob\", \"1000\"]' --description \"a grant to "
    "bob\" --from alice": bob_settled,
    "$B query referenda --json": referendum_enacted,
}
"""States a line needs, which a reader would wait for by eye, waited for on the chain before the line runs."""


def fee_as_the_costs_page_says(walk: Walk, out: str) -> None:
    """The fee the transfer printed is docs/costs.md's (the dev chain's column, which its test keeps equal to the
    runtime's fee code): what the docs say a transfer costs is what the devnet charged."""
    from scripts.fee_table import VARIANTS, price

    assert inclusion(out)[2] == price("dev", VARIANTS[0]).fee, out


def node3_sees_bob_up_by_10(walk: Walk, out: str) -> None:
    before = json.loads(walk.outputs[".venv/bin/btt-chain query account bob --json"])
    after = json.loads(out)
    assert int(after["free"]) - int(before["free"]) == 10 * UNIT, (before, after)


def every_item_right(walk: Walk, out: str) -> None:
    assert "all 64 items re-execute to the revealed outputs" in out, out


def enacted_with_three_houses(walk: Walk, out: str) -> None:
    listed = {r["id"]: r for r in json.loads(out)}
    assert listed[0]["status"] == "enacted", listed[0]
    close = walk.call("btt_referendum", 0)["tallyAtClose"]
    in_favour = sorted(h for h, v in close["houses"].items() if v["inFavour"])
    assert in_favour == ["compute", "holders", "institutions"], close
    assert close["housesInFavour"]["count"] == 3 and close["housesInFavour"]["needed"] == 2, close


CHECKS: dict[str, Callable[[Walk, str], None]] = {
    ".venv/bin/btt-chain transfer --from alice --to bob --amount 10": fee_as_the_costs_page_says,
    ".venv/bin/btt-chain query account bob --json --rpc http://127.0.0.1:9947": node3_sees_bob_up_by_10,
    "$B job verify 0": every_item_right,
    "$B query referenda --json": enacted_with_three_houses,
}
"""What a line's comment states, checked on what it printed (and on the chain)."""


@dataclass(frozen=True)
class Balance:
    """A comment's statement of what a command moves: `account`'s free balance changes by `btt` BTT from before
    `start` to after `end`, less the fee of `start` when `account` signed it."""

    start: str
    end: str
    account: str
    btt: Decimal
    pays_fee: bool


BALANCES = [
    Balance("$B asset tokenize 0 --symbol PANO --supply 1000000 --from ferdie",
            "$B asset tokenize 0 --symbol PANO --supply 1000000 --from ferdie", "ferdie", Decimal(-1000), True),
    Balance("$B asset accept 0 --from bob", "$B asset accept 0 --from bob", "bob", Decimal("-5037.5"), True),
    Balance("$B invoice pay 1 --from bob", "$B invoice pay 1 --from bob", "bob", Decimal("-201.2"), True),
    Balance("$B incentives redeem --points 100 --from charlie --wait-payout",
            "$B incentives redeem --points 100 --from charlie --wait-payout", "charlie", Decimal(1), True),
    Balance("$B vote 0 aye --from bob", "$B query account bob", "bob", Decimal(1000), True),
]
"""Balance statements of the comments: "pays exactly 1,000 BTT", "bob pays 5,000 + 37.5 BTT fee", "settled in the
block: 1.2 BTT fee" (and the 200 BTT), "1 BTT, paid at the next epoch boundary", "up by 1,000 BTT less
his voting fee (plus what his miner earned)"; a miner's rewards and job payments are taken out of every statement."""


def bob_deposit_unlocked(walk: Walk) -> bool:
    deposits = walk.call("btt_stakes", address("bob"))["deposits"]
    return any(d["id"] == 0 and d["unlocked"] for d in deposits)


DEFERRED: dict[str, Callable[[Walk], bool]] = {
    "$B unstake --from bob --deposit 0": bob_deposit_unlocked,
}
"""Commands of "after N s: COMMAND" comments: when the chain says their time has come."""


# --- the devnet --------------------------------------------------------------------------------------------------


@dataclass
class Devnet:
    process: subprocess.Popen[bytes]
    rpc_ports: list[int]


@pytest.fixture
def devnet(harness: Harness) -> Iterator[Devnet]:
    """`btt-chain devnet --nodes 4` (what `./scripts/devnet` runs), on the README's ports when they are free."""
    from p2p.ports import bind_error

    def free(base: int) -> bool:
        return not any(bind_error("127.0.0.1", base + i) for i in range(NODES))

    rpc = README_RPC_PORT if free(README_RPC_PORT) else free_run(NODES)
    p2p = README_P2P_PORT if free(README_P2P_PORT) else free_run(NODES)
    while p2p < rpc + NODES and rpc < p2p + NODES:  # the runs overlap (free_run moves on one port a call): another
        p2p = free_run(NODES)
    if rpc != README_RPC_PORT:
        harness.log(f"the README's RPC ports {README_RPC_PORT}-{README_RPC_PORT + NODES - 1} are taken: the devnet "
                    f"serves RPC on {rpc}-{rpc + NODES - 1}, {RPC_ENV}=http://127.0.0.1:{rpc} and 127.0.0.1:"
                    f"{README_RPC_PORT}+N in a line becomes 127.0.0.1:{rpc}+N")
    out_path = harness.root / "devnet.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "devnet", "--nodes", str(NODES), "--json", "--base-dir",
             str(harness.root / "devnet"), "--rpc-port", str(rpc), "--port", str(p2p)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=die_with_parent(),
        )
    try:
        def table() -> Any:
            assert proc.poll() is None, f"btt-chain devnet exited:\n{out_path.read_text()}"
            text = out_path.read_text()
            return json.loads(text[: text.index("\n}") + 2]) if "\n}" in text else None

        nodes = wait_until(table, 120, what="the devnet's node table")["nodes"]
        ports = [rpc + i for i in range(NODES)]
        assert [n["rpc"] for n in nodes] == [f"http://127.0.0.1:{p}" for p in ports]

        def ready() -> bool:
            clients = [RpcClient(f"http://127.0.0.1:{p}", timeout=scaled(RPC_TIMEOUT_S)) for p in ports]
            return all(c.call("system_health")["peers"] >= NODES - 1 and int(c.call("chain_getHeader")["number"], 16)
                       >= 2 for c in clients)

        wait_until(ready, 180, 0.5, "every devnet node has its peers and a head at #2")
        yield Devnet(proc, ports)
    finally:
        proc.send_signal(signal.SIGTERM)  # the supervisor stops its nodes
        try:
            proc.wait(scaled(60))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(scaled(30))


def clone_dir(harness: Harness) -> tuple[Path, dict[str, str]]:
    """A clone's directory whose `.venv/bin/btt-chain` runs this checkout's CLI, and the environment of a terminal
    with a home of its own (the miner keeps its results under ~/.btt-chain)."""
    work, home = harness.root / "clone", harness.root / "home"
    (work / ".venv" / "bin").mkdir(parents=True)
    home.mkdir()
    script = work / ".venv" / "bin" / "btt-chain"
    script.write_text(f"#!/bin/sh\n# the README's .venv/bin/btt-chain: this checkout's CLI, with the test's "
                      f"interpreter\nPYTHONPATH='{REPO}' exec '{sys.executable}' -m cli \"$@\"\n")
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in (RPC_ENV, "BTT_PASSWORD", "BTT_PASSWORD_FILE")}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1")
    return work, env


def newcomer_terminal(harness: Harness, devnet: Devnet) -> Walk:
    """A clone's directory (`clone_dir`) beside the devnet."""
    work, env = clone_dir(harness)
    if devnet.rpc_ports[0] != README_RPC_PORT:
        env[RPC_ENV] = f"http://127.0.0.1:{devnet.rpc_ports[0]}"
    return Walk(harness, work, env, devnet.rpc_ports)


# --- the test ----------------------------------------------------------------------------------------------------


def test_the_tables_name_only_lines_of_the_walk() -> None:
    """Each table entry is a line of the walk (or a deferred command of one), each line at most one runner: a change
    of a page that a table did not follow fails here first, in a second."""
    lines = try_it_lines()
    keys = [line.key for line in lines if not is_assignment(line)]
    deferred = [d.key for d in (deferred_of(line) for line in lines) if d is not None]
    for name, table in (("NOT_RUN", NOT_RUN), ("LONG_RUNNING", LONG_RUNNING), ("BEFORE", BEFORE),
                        ("CHECKS", CHECKS), ("DEFERRED", DEFERRED)):
        for key in table:
            assert key in keys or key in deferred, f"{name} names {key!r}, which the walk no longer has"
    for b in BALANCES:
        assert b.start in keys and b.end in keys, f"BALANCES names {b}, which the walk no longer has"
    assert not set(NOT_RUN) & set(LONG_RUNNING)
    assert set(deferred) <= set(DEFERRED), f"no wait for the deferred commands {set(deferred) - set(DEFERRED)}"
    assert len(set(keys)) == len(keys), "a line repeated in the walk: the tables could not tell them apart"
    assert ".venv/bin/btt-chain transfer --from alice --to bob --amount 10" in keys  # the first walk-through
    assert [page for page, _ in WALK] == list(dict.fromkeys(x.page for x in lines)), \
        "a section of the walk has no command line"


def test_the_readme_lists_the_walk_in_its_order() -> None:
    """The README's "Try it" sends the reader to the walk's sections in the order the test walks them."""
    readme = README.read_text()
    try_it = readme.split("## Try it\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. \[[^\]]+\]\(([^)#]+)#([^)]+)\)", try_it, re.M)
    assert [page for page, _ in listed] == [page for page, _ in WALK[1:]], listed
    for (page, anchor), (_, heading) in zip(listed, WALK[1:], strict=True):
        assert anchor == slug(heading.lstrip("# ")), f"the README's link to {page}#{anchor} is not {heading!r}"


CALL_NAME = re.compile(r"(?:--call |e\.g\. )([a-z_]+\.[a-z_]+)")


def test_every_call_the_docs_and_the_help_name_exists() -> None:
    """A call renamed in the runtime (`balances.transfer` became `transfer_allow_death` and `transfer_keep_alive`)
    fails here if the README, a page under docs/ (the walk, Commands by task) or a `--call` option's help still
    names the old one."""
    from cli.governance_cmd import propose
    from cli.multisig_cmd import approve
    from runtime.modules import RUNTIME

    pages = [README, *sorted((REPO / "docs").glob("*.md"))]
    texts = {str(page.relative_to(REPO)): page.read_text() for page in pages}
    helps = {f"btt-chain {cmd.name} --help": p.help or "" for cmd in (approve, propose) for p in cmd.params
             if "--call" in p.opts}
    texts.update(helps)
    named = {(where, name) for where, text in texts.items() for name in CALL_NAME.findall(text)}
    assert ("docs/economics.md", "balances.transfer_keep_alive") in named and len(helps) == 2
    for where, name in sorted(named):
        try:
            RUNTIME.lookup(name)
        except KeyError:
            raise AssertionError(f"{where} names the call {name!r}, which the runtime does not have") from None


def test_every_try_it_command_runs_against_a_devnet(harness: Harness, devnet: Devnet) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("sklearn")
    lines = try_it_lines()
    walk = newcomer_terminal(harness, devnet)
    try:
        walk_through(harness, walk, lines)
    finally:
        walk.close()


def walk_through(harness: Harness, walk: Walk, lines: list[Line]) -> None:
    """Every line in order, with its waits, checks and deferred commands; long-running lines stopped at the end."""
    pending: list[Line] = []
    ran: list[Line] = []

    def run_deferred(wait: bool) -> None:
        for d in list(pending):
            if wait:
                wait_until(partial(DEFERRED[d.key], walk), 180,
                           what=f"the time of {d.where}'s 'after ...: {d.command}'")
            if wait or DEFERRED[d.key](walk):
                walk.run(d)
                pending.remove(d)

    block = 0
    for line in lines:
        if line.block != block:
            run_deferred(wait=False)
            block = line.block
        if is_assignment(line):
            walk.prelude.append(line.command)
            continue
        if line.key in NOT_RUN:
            harness.log(f"{line.where} not run: {line.command} ({NOT_RUN[line.key]})")
            continue
        if line.key in BEFORE:
            BEFORE[line.key](walk)
        for b in BALANCES:
            if b.start == line.key:
                walk.marks[b.start] = walk.balance_mark(b.account)
        if line.key in LONG_RUNNING:
            what, done = LONG_RUNNING[line.key]
            walk.start(line)
            wait_until(partial(done, walk), 180, what=f"{line.where}: {what}")
        else:
            out = walk.run(line)
            if line.key in CHECKS:
                CHECKS[line.key](walk, out)
        for b in BALANCES:
            if b.end == line.key:
                fee = inclusion(walk.outputs[b.start])[2] if b.pays_fee else 0
                start_number, start_free = walk.marks.pop(b.start)
                end_number, end_free = walk.balance_mark(b.account)
                moved = end_free - start_free - walk.mining_income(b.account, start_number, end_number)
                assert moved == int(b.btt * UNIT) - fee, f"{line.where}: {b.account} moved {moved}, " \
                                                          f"expected {b.btt} BTT less the fee {fee}"
        if (d := deferred_of(line)) is not None:
            pending.append(d)
        ran.append(line)
    run_deferred(wait=True)
    for line, _, _ in list(walk.long_running):
        walk.stop(line)
    assert not walk.marks, f"balance statements never closed: {walk.marks}"
    harness.log(f"{len(ran)} lines of the walk run ({sum(1 for x in ran if x.key in LONG_RUNNING)} until stopped), "
                f"{sum(1 for x in lines if x.key in NOT_RUN)} listed as not run")
