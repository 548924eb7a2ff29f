"""A browser page built only on unchanged @polkadot/api and @polkadot/extension-dapp (tests/substrate/js/page,
bundled with esbuild) against a real dev node, in Debian's Chromium: it shows the extension's accounts with their
balances, new blocks with their author, and events, and a transfer signed through the extension interface (a
stand-in wallet injected as every Substrate browser wallet injects itself) is included and moves the balance."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from tests.explorer.conftest import find_chromium
from tests.functional.framework import Harness

JS = Path(__file__).parent / "js"
WAIT_MS = 60_000


@pytest.fixture
def page_dir(tmp_path: Path) -> Path:
    """The page and its two bundles, built from the pinned packages."""
    if shutil.which("node") is None or not (JS / "node_modules" / ".bin" / "esbuild").exists():
        pytest.fail("run scripts/bootstrap-test-tools: it installs Node.js and tests/substrate/js's pinned packages "
                    "(npm ci)")
    out = tmp_path / "page"
    out.mkdir()
    for name in ("app", "signer"):
        subprocess.run([str(JS / "node_modules" / ".bin" / "esbuild"), f"page/{name}.mjs", "--bundle",
                        "--format=iife", f"--outfile={out / (name + '.js')}", "--log-level=warning"],
                       cwd=JS, check=True, timeout=120)
    shutil.copy(JS / "page" / "index.html", out / "index.html")
    return out


@pytest.fixture
def page_url(page_dir: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(page_dir), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()


def test_a_page_on_polkadot_js_shows_balances_authors_events_and_sends_through_the_extension(
    harness: Harness, page_url: str
) -> None:
    from playwright.sync_api import sync_playwright

    node = harness.add_node()
    node.start()
    alice, bob = (encode_address(dev_keypair(n).public, 42) for n in ("alice", "bob"))
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        try:
            page = chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{page_url}?rpc=ws://127.0.0.1:{node.rpc_port}")
            page.wait_for_function("document.getElementById('status').textContent === 'ready'", timeout=WAIT_MS)
            harness.log("the extension's accounts, with the balances btt_account reports")
            rows = page.locator("#accounts tr")
            assert rows.count() == 2
            assert [rows.nth(i).locator(".address").text_content() for i in range(2)] == [alice, bob]
            loaded = "[...document.querySelectorAll('#accounts .free')].every(e => e.textContent !== '…')"
            page.wait_for_function(loaded, timeout=WAIT_MS)
            bob_before = int(rows.nth(1).locator(".free").text_content() or "0")
            assert bob_before == int(node.call("btt_account", bob)["free"])

            harness.log("new blocks with their author (the pow_ pre-runtime item), and events")
            page.wait_for_selector("#blocks tr.block", timeout=WAIT_MS)
            first = page.locator("#blocks tr.block").first
            number = int(first.locator(".number").text_content() or "0")
            assert first.locator(".hash").text_content() == node.call("chain_getBlockHash", number)
            author = node.call("btt_header", node.call("chain_getBlockHash", number))["author"]
            assert first.locator(".author").text_content() == author

            harness.log("a transfer signed through the extension interface is included")
            page.click("#send")
            page.wait_for_function("document.getElementById('included').textContent.startsWith('0x')",
                                   timeout=WAIT_MS)
            assert page.evaluate("window.signedPayloads.length") == 1
            page.wait_for_selector("#events tr.event:has-text('balances.Transfer')", timeout=WAIT_MS)
            page.wait_for_function(
                f"Number(document.querySelectorAll('#accounts .free')[1].textContent) > {bob_before}", timeout=WAIT_MS)
            assert int(node.call("btt_account", bob)["free"]) == bob_before + 10**18
            assert errors == []
        finally:
            chromium.close()
