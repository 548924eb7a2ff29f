"""The two install scripts (issue 53): `./scripts/devnet` installs the node only (scripts/bootstrap: the `node` extra,
nothing from apt-get or npm), and `./scripts/test` installs the test suite's tools on top
(scripts/bootstrap-test-tools: the `dev` extra, Debian's Chromium, Node.js and npm, `npm ci` in every pinned
tests/substrate folder, PostgreSQL), waiting for an apt/dpkg lock another install holds.

The scripts run for real, in a copy of the repository's install files, with a PATH that holds only a few basic tools
and recording stubs: `apt-get`, `sudo` and `npm` (the test tools' installers), `.venv/bin/python` (the real
interpreter, except that `-m pip` is recorded and does nothing) and `.venv/bin/btt-chain`. No package is installed;
each run takes a fraction of a second."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.wait_limits import scaled

REPO = Path(__file__).resolve().parents[2]
BASIC_TOOLS = ("bash", "env", "cat", "rm", "touch", "tail", "dirname", "id", "ls", "grep", "find", "sort", "tr",
               "sleep", "mkdir", "chmod", "setsid", "mktemp")
"""What the scripts (and the apt-get stub) may run besides the stubs: no chromium, node, npm, initdb or apt-get."""
HAS_POSTGRES_HERE = bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
"""scripts/bootstrap-test-tools looks for Debian's initdb at this absolute path too, beside the PATH."""

RECORD = '#!/bin/sh\necho "{name} $*" >> "$CALLS"\n'

# apt-get: records each call; `install` puts a stub of each package's command where the PATH finds it (as the
# real one would); fails as a held lock does while $APT_LOCKED_TIMES (a counter file's budget) lasts
APT_GET = RECORD.format(name="apt-get") + r'''
if [ -n "${APT_LOCKED_TIMES:-}" ]; then
  n=$(cat "$APT_LOCK_COUNT" 2>/dev/null || echo 0)
  if [ "$APT_LOCKED_TIMES" = always ] || [ "$n" -lt "$APT_LOCKED_TIMES" ]; then
    echo $((n + 1)) > "$APT_LOCK_COUNT"
    echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"
    echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?"
    exit 100
  fi
fi
[ "$APT_FAILS" = 1 ] && { echo "E: Unable to locate package $*"; exit 100; }
for arg in "$@"; do
  case "$arg" in
    chromium) cmds=chromium ;; nodejs) cmds=node ;; npm) cmds=npm ;; postgresql) cmds=initdb ;; *) cmds="" ;;
  esac
  for c in $cmds; do
    if [ "$c" = npm ]; then
      printf '#!/bin/sh\necho "npm $* (in $(pwd))" >> "$CALLS"\n' > "$INSTALLED/$c"
    else
      printf '#!/bin/sh\necho "%s $*" >> "$CALLS"\n' "$c" > "$INSTALLED/$c"
    fi
    chmod +x "$INSTALLED/$c"
  done
done
'''
SUDO = RECORD.format(name="sudo") + 'exec "$@"\n'
PYTHON = RECORD.format(name="python") + '[ "$1 $2" = "-m pip" ] && exit 0\nexec {real} "$@"\n'


DEFINITION = ("pyproject.toml", "setup.py", "storage/_tree_native.c", "btt_chain/node/_sigbatch.c",
              "storage/_leveldb_multiget.c", "runtime/_transfer_native.c", "storage/blake2b.h",
              "storage/_pack_native.c", "btt_chain/primitives/_extrinsic_native.c", "storage/_commit_native.c",
              "storage/native_struct.h", "storage/read_ahead_api.h", "storage/leveldb_src/README.md",
              "storage/leveldb_src/btt_module.cc", "storage/leveldb_src/db/version_set.cc",
              "storage/leveldb_src/port/port_config.h")
"""What scripts/bootstrap hashes into its stamp: a change of any installs again (the compiled parts are built then)."""


def definition_hash(root: Path) -> str:
    """The stamp's hash, as scripts/bootstrap computes it."""
    data = b"".join((root / p).read_bytes() for p in DEFINITION)
    return hashlib.sha256(data).hexdigest()[:16]


class Checkout:
    """A copy of the repository's install files with a fake .venv and a PATH of stubs; `run` one of its scripts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        for rel in ("scripts/bootstrap", "scripts/bootstrap-test-tools", "scripts/lib/apt.sh", "scripts/test",
                    "scripts/devnet", ".ci/run", *DEFINITION):
            (self.repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, self.repo / rel)
        self.calls = root / "calls"
        self.calls.touch()
        self.stubs, self.installed, self.tools = root / "stubs", root / "installed", root / "tools"
        for d in (self.stubs, self.installed, self.tools):
            d.mkdir()
        for tool in BASIC_TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (self.tools / tool).symlink_to(found)
        for present in ("cc", "c++", "iptables"):  # a machine with C and C++ compilers (pip's builds) and iptables
            self.stub(self.tools / present, "#!/bin/sh\nexit 0\n")
        self.stub(self.stubs / "apt-get", APT_GET)
        self.stub(self.stubs / "sudo", SUDO)
        venv_bin = self.repo / ".venv" / "bin"
        venv_bin.mkdir(parents=True)
        self.stub(venv_bin / "python", PYTHON.format(real=sys.executable))
        self.stub(venv_bin / "btt-chain", RECORD.format(name="btt-chain"))
        self.env = {
            "PATH": os.pathsep.join(map(str, (self.stubs, self.installed, self.tools))),
            "HOME": str(root), "CALLS": str(self.calls), "INSTALLED": str(self.installed),
            "PYTHON": sys.executable, "APT_LOCK_COUNT": str(root / "apt-lock-count"), "BTT_APT_LOCK_POLL": "0.05",
        }

    def stub(self, path: Path, text: str) -> None:
        """Write an executable stub at `path`, inside this checkout's directory; a symlink there (a basic tool's) is
        replaced, never written through."""
        assert path.parent.resolve().is_relative_to(self.root.resolve()), path
        if path.is_symlink():
            path.unlink()
        path.write_text(text)
        path.chmod(0o755)

    def installed_extras(self, *extras: str) -> None:
        """Stamp these extras as installed for the current package definition (pip then has nothing to do)."""
        for extra in extras:
            (self.repo / ".venv" / f".installed-{extra}-{definition_hash(self.repo)}").touch()

    def stamps(self) -> set[str]:
        return {p.name for p in (self.repo / ".venv").glob(".installed-*")}

    def lockfile(self, folder: str, text: str = "{}") -> Path:
        path = self.repo / folder / "package-lock.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=self.repo, env={**self.env, **env}, capture_output=True, text=True,
                              timeout=60)

    def log(self) -> list[str]:
        return self.calls.read_text().splitlines()

    def called(self, *names: str) -> list[str]:
        return [line for line in self.log() if line.split()[0] in names]


TEST_TOOLS = ("apt-get", "sudo", "npm", "node", "chromium", "initdb")


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    return Checkout(tmp_path)


# --- what ./scripts/devnet installs ------------------------------------------------------------------------------


def test_the_devnet_installs_no_test_tool_over_an_installed_venv(checkout: Checkout) -> None:
    checkout.installed_extras("node")
    # npm is on the PATH too: the devnet must not run `npm ci` either
    checkout.stub(checkout.stubs / "npm", RECORD.format(name="npm"))
    run = checkout.run("./scripts/devnet", "--base-dir", "x")
    assert run.returncode == 0, run.stderr
    assert checkout.called(*TEST_TOOLS) == [], checkout.log()
    assert not [c for c in checkout.called("python") if "-m pip" in c], "pip ran over an installed .venv"
    assert checkout.called("btt-chain") == ["btt-chain devnet --nodes 4 --base-dir x"]
    assert run.stderr == ""  # not a line about Chromium, Node.js or PostgreSQL
    assert not (checkout.repo / ".venv" / "apt.log").exists()


def test_a_fresh_devnet_install_asks_pip_for_the_node_extra_only(checkout: Checkout) -> None:
    run = checkout.run("./scripts/bootstrap")
    assert run.returncode == 0, run.stderr
    pips = [c for c in checkout.called("python") if "-m pip" in c]
    assert pips == ["python -m pip install --disable-pip-version-check --upgrade pip",
                    "python -m pip install --disable-pip-version-check --no-compile -e .[node]"]
    assert checkout.called(*TEST_TOOLS) == []
    assert checkout.stamps() == {f".installed-node-{definition_hash(checkout.repo)}"}
    # the next run has nothing to install
    checkout.calls.write_text("")
    assert checkout.run("./scripts/bootstrap").returncode == 0
    assert not [c for c in checkout.called("python") if "-m pip" in c]


def test_a_machine_with_only_a_c_compiler_gets_g_plus_plus_for_leveldb(checkout: Checkout) -> None:
    (checkout.tools / "c++").unlink()
    run = checkout.run("./scripts/bootstrap")
    assert run.returncode == 0, run.stderr
    installs = [c for c in checkout.called("apt-get") if " install " in c]
    assert installs == ["apt-get -q install -y g++"], installs  # not the whole of build-essential
    calls = checkout.calls.read_text().splitlines()
    assert calls.index(installs[0]) < next(i for i, c in enumerate(calls) if "-e .[node]" in c)  # before pip's builds


def test_a_machine_without_a_c_compiler_gets_one_before_pip_builds(checkout: Checkout) -> None:
    (checkout.tools / "cc").unlink()
    run = checkout.run("./scripts/bootstrap")
    assert run.returncode == 0, run.stderr
    installs = [c for c in checkout.called("apt-get") if " install " in c]
    assert len(installs) == 1 and "build-essential" in installs[0], installs
    assert "chromium" not in installs[0] and "npm" not in installs[0]
    calls = checkout.calls.read_text().splitlines()
    pip_at = next(i for i, c in enumerate(calls) if "-e .[node]" in c)
    assert calls.index(next(c for c in calls if "build-essential" in c)) < pip_at  # before pip's builds
    # installed already: the next run asks for nothing
    checkout.calls.write_text("")
    assert checkout.run("./scripts/bootstrap").returncode == 0
    assert checkout.called("apt-get") == []


def test_an_extra_named_is_installed_beside_the_node_and_a_wrong_name_installs_nothing(checkout: Checkout) -> None:
    checkout.installed_extras("node")
    run = checkout.run("./scripts/bootstrap", "models")
    assert run.returncode == 0, run.stderr
    assert [c for c in checkout.called("python") if "--no-compile" in c] == [
        "python -m pip install --disable-pip-version-check --no-compile -e .[node,models]"]
    h = definition_hash(checkout.repo)
    assert checkout.stamps() == {f".installed-node-{h}", f".installed-models-{h}"}

    checkout.calls.write_text("")
    bad = checkout.run("./scripts/bootstrap", "mdoels")
    assert bad.returncode == 2
    assert "no extra named 'mdoels'" in bad.stderr and "models" in bad.stderr
    assert not [c for c in checkout.called("python") if "-m pip" in c]
    assert checkout.stamps() == {f".installed-node-{h}", f".installed-models-{h}"}


def test_a_changed_definition_installs_again_and_drops_the_old_stamps(checkout: Checkout) -> None:
    checkout.installed_extras("node", "dev")
    (checkout.repo / ".venv" / ".installed-0123456789abcdef").touch()  # an earlier version's single stamp
    with open(checkout.repo / "pyproject.toml", "a") as fh:
        fh.write("\n# changed\n")
    run = checkout.run("./scripts/bootstrap")
    assert run.returncode == 0, run.stderr
    assert [c for c in checkout.called("python") if "--no-compile" in c] == [
        "python -m pip install --disable-pip-version-check --no-compile -e .[node]"]
    assert checkout.stamps() == {f".installed-node-{definition_hash(checkout.repo)}"}


def test_the_single_stamp_of_earlier_versions_counts_as_node_and_dev(checkout: Checkout) -> None:
    h = definition_hash(checkout.repo)
    (checkout.repo / ".venv" / f".installed-{h}").touch()
    run = checkout.run("./scripts/bootstrap", "dev")
    assert run.returncode == 0, run.stderr
    assert not [c for c in checkout.called("python") if "-m pip" in c]
    assert checkout.stamps() == {f".installed-node-{h}", f".installed-dev-{h}"}


def test_a_failed_pip_install_stops_with_its_log_and_stamps_nothing(checkout: Checkout) -> None:
    checkout.stub(checkout.repo / ".venv" / "bin" / "python", RECORD.format(name="python")
                  + '[ "$1 $2" = "-m pip" ] && { echo "ERROR: no matching distribution for libp2p"; exit 1; }\n'
                  + f'exec {sys.executable} "$@"\n')
    run = checkout.run("./scripts/devnet")
    assert run.returncode == 1
    assert "no matching distribution for libp2p" in run.stderr and "installing into .venv failed" in run.stderr
    assert checkout.stamps() == set() and checkout.called("btt-chain") == []


# --- what ./scripts/test installs --------------------------------------------------------------------------------


def test_the_test_tools_are_installed_over_the_node_each_once(checkout: Checkout) -> None:
    checkout.installed_extras("node")
    for folder in ("tests/substrate/js", "tests/substrate/indexers/subsquid", "tests/substrate/new-tool"):
        checkout.lockfile(folder)
    # a lockfile inside an installed package is not a pinned folder of ours
    checkout.lockfile("tests/substrate/js/node_modules/some-package")
    run = checkout.run("./scripts/bootstrap-test-tools")
    assert run.returncode == 0, run.stderr
    assert [c for c in checkout.called("python") if "--no-compile" in c] == [
        "python -m pip install --disable-pip-version-check --no-compile -e .[node,dev]"]
    apt = checkout.called("apt-get")
    assert apt[0] == "apt-get -q update" and apt.count("apt-get -q update") == 1, apt
    assert "apt-get -q install -y chromium" in apt and "apt-get -q install -y nodejs npm" in apt
    assert ("apt-get -q install -y postgresql" in apt) is not HAS_POSTGRES_HERE
    # the folders install at once, so their npm calls are recorded in whatever order they start: each once
    npm = checkout.called("npm")
    assert sorted(npm) == [f"npm ci --no-audit --no-fund (in {checkout.repo}/{folder})" for folder in
                           ("tests/substrate/indexers/subsquid", "tests/substrate/js", "tests/substrate/new-tool")], npm

    # once: a second run installs nothing; a changed lockfile is installed again, alone
    checkout.calls.write_text("")
    assert checkout.run("./scripts/bootstrap-test-tools").returncode == 0
    assert checkout.called("apt-get", "npm") == [] and not [c for c in checkout.log() if "-m pip" in c]
    checkout.lockfile("tests/substrate/new-tool", '{"lockfileVersion": 3}')
    assert checkout.run("./scripts/bootstrap-test-tools").returncode == 0
    assert checkout.called("npm") == [f"npm ci --no-audit --no-fund (in {checkout.repo}/tests/substrate/new-tool)"]


def test_a_failed_npm_ci_is_a_warning_and_is_tried_again_next_time(checkout: Checkout) -> None:
    checkout.installed_extras("node", "dev")
    checkout.lockfile("tests/substrate/js")
    checkout.stub(checkout.installed / "node", RECORD.format(name="node"))
    checkout.stub(checkout.installed / "npm", RECORD.format(name="npm") + 'echo "npm ERR! network"; exit 1\n')
    run = checkout.run("./scripts/bootstrap-test-tools", BTT_CHROMIUM="/opt/chromium")
    assert run.returncode == 0
    assert "npm ERR! network" in run.stderr and "warning: npm ci failed in tests/substrate/js" in run.stderr
    assert not list((checkout.repo / "tests/substrate/js").glob("node_modules/.lock-*"))
    assert checkout.run("./scripts/bootstrap-test-tools", BTT_CHROMIUM="/opt/chromium").returncode == 0
    assert len(checkout.called("npm")) == 2


def test_apt_waits_for_a_lock_another_install_holds_then_installs(checkout: Checkout) -> None:
    checkout.installed_extras("node", "dev")
    run = checkout.run("./scripts/bootstrap-test-tools", APT_LOCKED_TIMES="3")
    assert run.returncode == 0, run.stderr
    assert "waiting for another install to release apt's lock" in run.stderr
    assert "held by process 4242" in run.stderr
    assert run.stderr.count("waiting for another install") == 1  # said once, not at every try
    assert "warning" not in run.stderr
    assert (checkout.installed / "chromium").exists() and (checkout.installed / "node").exists()
    assert checkout.called("apt-get")[:4] == ["apt-get -q update"] * 4  # 3 refused, then it ran


def test_apt_held_beyond_the_wait_says_so_and_the_suite_goes_on(checkout: Checkout) -> None:
    checkout.installed_extras("node", "dev")
    checkout.lockfile("tests/substrate/js")
    run = checkout.run("./scripts/bootstrap-test-tools", APT_LOCKED_TIMES="always", BTT_APT_LOCK_WAIT="1")
    assert run.returncode == 0, run.stderr  # a missing tool is a warning: its tests say what they lack
    assert "apt's lock is still held by another install after 1 s" in run.stderr
    assert "held by process 4242" in run.stderr
    assert "warning: could not install chromium" in run.stderr
    assert "warning: could not install nodejs npm" in run.stderr
    assert "(apt-get update failed as well: .venv/apt-update.log)" in run.stderr
    # one wait for the run, not one per package: each later apt-get is tried once more and given up
    assert run.stderr.count("waiting for another install") == 1
    assert run.stderr.count("apt's lock is still held") == 3  # update, chromium, nodejs npm
    assert not (checkout.installed / "chromium").exists()


def test_a_failure_other_than_the_lock_is_not_waited_on(checkout: Checkout) -> None:
    checkout.installed_extras("node", "dev")
    run = checkout.run("./scripts/bootstrap-test-tools", APT_FAILS="1")
    assert run.returncode == 0
    assert "waiting for another install" not in run.stderr
    assert "E: Unable to locate package" in run.stderr
    assert "warning: could not install chromium (full log: .venv/apt.log)" in run.stderr
    assert len([c for c in checkout.called("apt-get") if "chromium" in c]) == 1


def test_not_root_goes_through_sudo_and_without_sudo_says_what_to_install(checkout: Checkout) -> None:
    checkout.installed_extras("node", "dev")
    checkout.stub(checkout.tools / "id", '#!/bin/sh\necho 1000\n')  # not root
    run = checkout.run("./scripts/bootstrap-test-tools")
    assert run.returncode == 0, run.stderr
    assert "sudo env DEBIAN_FRONTEND=noninteractive apt-get -q install -y chromium" in checkout.log()

    (checkout.stubs / "sudo").unlink()
    for stub in checkout.installed.iterdir():
        stub.unlink()
    checkout.calls.write_text("")
    run = checkout.run("./scripts/bootstrap-test-tools")
    assert run.returncode == 0
    assert "warning: not root and no sudo, so apt-get cannot run: install Chromium" in run.stderr
    assert checkout.called("apt-get") == []


def test_the_test_command_installs_the_test_tools_before_it_runs_anything(checkout: Checkout) -> None:
    for name in ("ruff", "mypy"):
        checkout.stub(checkout.repo / ".venv" / "bin" / name, RECORD.format(name=name))
    checkout.stub(checkout.repo / ".venv" / "bin" / "python", RECORD.format(name="python"))
    checkout.stub(checkout.repo / "scripts" / "bootstrap-test-tools", RECORD.format(name="bootstrap-test-tools"))
    run = checkout.run("./scripts/test", "tests/some_test.py")
    assert run.returncode == 0, run.stderr
    assert [line.split()[0] for line in checkout.log()] == ["bootstrap-test-tools", "python", "ruff", "mypy",
                                                            "python"]
    assert checkout.log()[-1] == "python -m pytest tests/some_test.py"

    # a failed install stops the run before any check
    checkout.stub(checkout.repo / "scripts" / "bootstrap-test-tools", "#!/bin/sh\nexit 1\n")
    checkout.calls.write_text("")
    assert checkout.run("./scripts/test", "tests/some_test.py").returncode == 1
    assert checkout.log() == []


LANE_PYTHON = RECORD.format(name="python") + """
case "$*" in
  *"--collect-only"*) echo "collecting with PYTHONDONTWRITEBYTECODE=${PYTHONDONTWRITEBYTECODE:-}" >> "$CALLS"
                      exit "${WARM_EXIT:-0}";;
  *"--ignore=tests/testnet"*) exit "${IN_PROCESS_EXIT:-0}";;
  *"tests/functional"*) exit "${REAL_EXIT:-0}";;
  *"tests/testnet"*) exit "${TESTNET_EXIT:-0}";;
esac
exit 0
"""
"""The test venv's python for a whole run: records each call; each pytest lane exits with its variable's code (0 by
default); the collection that writes the rewritten test modules records the PYTHONDONTWRITEBYTECODE it was given."""


def test_the_whole_suite_runs_three_lanes_and_any_lane_that_fails_or_runs_nothing_fails_it(checkout: Checkout) -> None:
    for name in ("ruff", "mypy"):
        checkout.stub(checkout.repo / ".venv" / "bin" / name, RECORD.format(name=name))
    checkout.stub(checkout.repo / ".venv" / "bin" / "python", LANE_PYTHON)
    checkout.stub(checkout.repo / "scripts" / "bootstrap-test-tools", RECORD.format(name="bootstrap-test-tools"))
    run = checkout.run("./scripts/test", PYTHONDONTWRITEBYTECODE="1")
    assert run.returncode == 0, run.stderr
    pytest_runs = [line for line in checkout.log() if line.startswith("python -m pytest")]
    assert sorted(pytest_runs) == sorted([
        "python -m pytest --collect-only -q -p no:cacheprovider tests",
        "python -m pytest -n 2 --durations=15 --ignore=tests/consensus/test_finality_simulation.py "
        "--ignore=tests/functional --ignore=tests/explorer --ignore=tests/substrate --ignore=tests/bench "
        "--ignore=tests/client/test_client_install.py --ignore=tests/testnet",
        "python -m pytest -n 3 --dist loadfile --durations=15 tests/consensus/test_finality_simulation.py "
        "tests/functional tests/explorer tests/substrate tests/bench tests/client/test_client_install.py",
        "python -m pytest tests/testnet",
    ]), pytest_runs
    for lane in ("in-process", "real processes", "testnet"):
        assert f"== pytest ({lane}" in run.stderr, run.stderr
    # a run that writes no bytecode still writes the rewritten test modules once, for the lanes' workers to read
    assert checkout.called("collecting") == ["collecting with PYTHONDONTWRITEBYTECODE="]

    # each lane's failure fails the run, whichever it is; one that collected nothing (5) fails it with why
    for variable in ("IN_PROCESS_EXIT", "REAL_EXIT", "TESTNET_EXIT"):
        assert checkout.run("./scripts/test", **{variable: "1"}).returncode == 1, variable
        nothing = checkout.run("./scripts/test", **{variable: "5"})
        assert nothing.returncode == 1, variable
        assert "error: pytest collected no tests" in nothing.stderr, variable
    # the collection beside mypy only writes a cache: the lanes report what it found
    assert checkout.run("./scripts/test", WARM_EXIT="2").returncode == 0

    # mypy's failure stops the run before any test, and leaves no collection running
    checkout.stub(checkout.repo / ".venv" / "bin" / "mypy", RECORD.format(name="mypy") + "exit 1\n")
    checkout.calls.write_text("")
    assert checkout.run("./scripts/test").returncode == 1
    assert [line for line in checkout.log() if "pytest" in line and "--collect-only" not in line] == []


INTERRUPTIBLE_PYTHON = RECORD.format(name="python") + """
case "$*" in
  *"--collect-only"*) exit 0;;
  *"--ignore=tests/testnet"*) trap 'exit 2' INT; sleep 60 & wait; exit 0;;
  *"tests/functional"*|*"tests/testnet"*) echo $$ >> "$LANES"; sleep 60 & wait; exit 0;;
esac
exit 0
"""
"""The venv's python for an interrupted run: the in-process lane ends with 2 on SIGINT as pytest does (it catches
KeyboardInterrupt), and the lanes beside it record their pids and run until stopped."""


def test_an_interrupted_run_stops_the_lanes_beside_it(checkout: Checkout) -> None:
    for name in ("ruff", "mypy"):
        checkout.stub(checkout.repo / ".venv" / "bin" / name, RECORD.format(name=name))
    checkout.stub(checkout.repo / ".venv" / "bin" / "python", INTERRUPTIBLE_PYTHON)
    checkout.stub(checkout.repo / "scripts" / "bootstrap-test-tools", RECORD.format(name="bootstrap-test-tools"))
    lanes = checkout.root / "lanes"
    # Ctrl-C in a terminal: SIGINT to the foreground process group (the script and the in-process lane; the lanes
    # beside it are in their own sessions)
    run = subprocess.Popen(["./scripts/test"], cwd=checkout.repo, env={**checkout.env, "LANES": str(lanes)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + scaled(30)
        while not (lanes.exists() and len(lanes.read_text().split()) == 2):
            assert run.poll() is None and time.monotonic() < deadline, "the lanes beside did not start"
            time.sleep(0.05)
        pids = [int(p) for p in lanes.read_text().split()]
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=scaled(20)) != 0
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        run.stderr.close()  # type: ignore[union-attr]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_ci_runs_exactly_the_test_command() -> None:
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    assert commands[-1] == "exec ./scripts/test", commands
    assert all(c.startswith(("set ", "cd ")) for c in commands[:-1]), commands


def test_the_compiled_parts_are_built_where_a_c_compiler_is() -> None:
    # setup.py builds both as optional extensions: a failed build would leave the Python engine and the worker
    # processes in their place, their tests skipped, and nobody told
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: the Python fallbacks are what runs")
    from btt_chain.node import sigbatch
    from runtime import transfer_native
    from storage import read_ahead, record_pack, state_tree

    assert sigbatch.AVAILABLE, "btt_chain/node/_sigbatch.c is not built: run scripts/bootstrap"
    assert state_tree.NATIVE_ENGINE, "storage/_tree_native.c is not built: run scripts/bootstrap"
    assert read_ahead.BUILT, "storage/_leveldb_multiget.c is not built: run scripts/bootstrap"
    assert transfer_native.NATIVE, "runtime/_transfer_native.c is not built: run scripts/bootstrap"
    assert record_pack.NATIVE, "storage/_pack_native.c is not built: run scripts/bootstrap"
    from btt_chain.primitives import extrinsic

    assert extrinsic._native is not None, "btt_chain/primitives/_extrinsic_native.c is not built: run scripts/bootstrap"
    from storage import chaindb

    assert chaindb._commit_native is not None, "storage/_commit_native.c is not built: run scripts/bootstrap"
