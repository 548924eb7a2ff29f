"""Fixtures of the explorer's browser tests: one real dev node per module (`btt-chain node --dev
--demo-economy`, its explorer on the RPC port), headless Chromium (Debian's `chromium`, driven by
Playwright), a screenshot folder, and the console errors the page logged.

Screenshots go to `$BTT_EXPLORER_SCREENSHOTS` if set (e.g. `docs/screenshots`), else to a pytest temporary
folder; the folder is printed, and a failing test adds `failed-<test>.png` there (pytest keeps its last
three temporary folders, so nothing is lost when a test fails)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from btt_chain.process_supervision import die_with_parent
from tests.support.ports import free_port  # noqa: F401  (re-exported for the tests that import it from here)

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
SCREENSHOTS_ENV = "BTT_EXPLORER_SCREENSHOTS"
CHROMIUM_ENV = "BTT_CHROMIUM"
FAST_JOBS = {"compute.commit_window_slots": 8, "compute.challenge_window_ms": 5_000,
             "compute.credit_maturity_ms": 2_000}
"""The explorer node's job windows. The commit window is also the time the demo clinic (a child process polling
the node every second) has to seal a private job's inputs to the provider drawn: at 3 slots a busy machine made it
miss, the job was cancelled and never settled; 8 slots (dev has 10) leave it room."""


@dataclass
class ExplorerNode:
    """A dev node process serving RPC and the explorer; `rpc` calls it over HTTP, `cli` runs `btt-chain`."""

    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _id: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, parameters: dict[str, Any] | None = None) -> None:
        """Start the node; `parameters` (name -> value) in place of the dev preset's, over FAST_JOBS."""
        from genesis.loader import canonical_json, load_chain_spec_doc

        # the dev chain on 5-slot epochs: a demo job's sample comes two epochs after its commit window, so sooner;
        # and a demo job's windows shorter than dev's (commit 10 slots, challenge 15 s, credit maturity 10 s): the
        # pages show the same flow, settled and credited in about half the time
        doc = load_chain_spec_doc("dev")
        doc["consensus"]["epoch_slots"] = 5
        for name, value in {**FAST_JOBS, **(parameters or {})}.items():
            doc["parameters"][name]["value"] = value
        spec = self.log_path.with_name("explorer-dev.json")
        spec.write_bytes(canonical_json(doc))
        log = open(self.log_path, "wb")  # noqa: SIM115  (the child holds it; closed here after Popen)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "node", "--dev", "--chain", str(spec), "--tmp", "--demo-economy",
             "--rpc-port", str(self.port), "--no-p2p", "--no-prometheus"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def rpc(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            reply = json.loads(resp.read())
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def cli(self, *args: str) -> Any:
        """Run `btt-chain ARGS --json --rpc URL` and return its JSON output."""
        done = subprocess.run([sys.executable, "-m", "cli", *args, "--json", "--rpc", self.url], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"btt-chain {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)

    def wait_until(self, what: str, predicate: Any, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, f"the node exited while waiting until {what}"
            try:
                if predicate():
                    return
            except (OSError, urllib.error.URLError, AssertionError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"timed out after {timeout} s waiting until {what}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the node's own session: it and its demo children
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Browser:
    """One headless Chromium page on the node's explorer, with the console errors it logged."""

    page: Any
    base: str
    shots: Path
    errors: list[str] = field(default_factory=list)

    def open(self, route: str) -> None:
        """Go to `#/route` and wait until the page has drawn it from the node."""
        self.page.evaluate("document.getElementById('page').dataset.loaded = ''")
        self.page.goto(f"{self.base}#/{route}")
        self.page.wait_for_function("document.getElementById('page').dataset.loaded", timeout=60_000)
        error = self.page.query_selector("#page .error")
        assert error is None, f"#/{route} shows an error: {error.inner_text() if error else ''}"

    def shoot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def find_chromium() -> str:
    found = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no chromium on PATH: scripts/bootstrap-test-tools installs Debian's `chromium` "
                    "(or set BTT_CHROMIUM)")
    return found


@pytest.fixture(scope="module")
def explorer_node(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[ExplorerNode]:
    """The module's node; a module's NODE_PARAMETERS (name -> value), if it has them, in place of the dev preset's."""
    node = ExplorerNode(free_port(), tmp_path_factory.mktemp("explorer-node") / "node.log")
    node.start(getattr(request.module, "NODE_PARAMETERS", None))
    failed = True
    try:
        node.wait_until("the node authors block 2", lambda: node.rpc("chain_getHeader")["number"] not in ("0x0", "0x1"))
        yield node
        failed = False
    finally:
        node.stop()
        if failed:
            print(f"---- node log ({node.log_path}) ----\n{node.output()[-20000:]}\n---- end of node log ----")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    named = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(named) if named else tmp_path_factory.mktemp("explorer-screenshots")
    if not folder.is_absolute():
        folder = REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"explorer screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser(explorer_node: ExplorerNode, shots: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 900})
            b = Browser(page, explorer_node.url + "/", shots)
            page.on("console", lambda m: b.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: b.errors.append(f"page error: {e}"))
            page.goto(b.base)
            page.wait_for_function("document.getElementById('page').dataset.loaded", timeout=60_000)
            yield b
        finally:
            chromium.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def shot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "browser" in request.fixturenames:
        b: Browser = request.getfixturevalue("browser")
        try:
            print(f"screenshot of the failure: {b.shoot('failed-' + request.node.name)}")
        except Exception as exc:  # the browser itself may be what failed
            print(f"no screenshot of the failure: {exc}")
