"""The explorer in headless Chromium against a real dev node (`--demo-economy`): it loads without console
errors; a CLI transfer shows on the chain page and moves both accounts' pages by the exact base unit; a demo
job appears and settles on the compute page; a referendum's tally changes after a vote; every page is
photographed into the screenshot folder (see conftest); and a block of more than a page of extrinsics shows them a
page at a time."""

from __future__ import annotations

import logging
import re
from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair

from .conftest import Browser, ExplorerNode

log = logging.getLogger("test.explorer")
UNIT = 10**18
WAIT_MS = 90_000
PAGES = ("chain", "block", "extrinsic", "account", "validators", "compute", "supply", "governance", "assets")
"""One screenshot each, named by page."""


def address(node: ExplorerNode, name: str) -> str:
    return encode_address(dev_keypair(name).public, node.rpc("system_properties")["ss58Format"])


def free(node: ExplorerNode, who: str) -> int:
    return int(node.rpc("btt_account", who)["free"])


def test_page_loads_without_console_errors(browser: Browser, explorer_node: ExplorerNode) -> None:
    browser.open("chain")
    browser.page.wait_for_selector("#blocks tbody tr[data-number]", timeout=WAIT_MS)
    browser.page.wait_for_selector("#live-events tbody tr a", timeout=WAIT_MS)  # btt_subscribeEvents feeds it
    # btt_upgrade: the spec running, and no upgrade scheduled
    assert browser.page.inner_text("#chain-spec") == str(explorer_node.rpc("btt_upgrade")["specVersion"])
    assert browser.page.query_selector("#chain-upgrade") is None
    assert browser.page.inner_text("#status").startswith("connected")
    assert browser.errors == []


def test_the_chain_page_shows_a_scheduled_upgrade_and_a_migration(browser: Browser) -> None:
    """The chain page's cards for what `btt_upgrade` can answer (tests/rpc/test_rpc_upgrade.py runs the chain): the
    spec, block and blocks to go of a scheduled upgrade, a warning when the node cannot run it, migrations."""
    browser.open("chain")
    browser.page.wait_for_selector("#chain-spec", timeout=WAIT_MS)
    base = {"specVersion": 11, "nextBlockSpec": 11, "migration": None, "supported": [11, 12]}
    html = browser.page.evaluate("(u) => upgradeCards(u)", {
        **base, "scheduled": {"spec": 12, "at": 1200, "blocksToGo": 35, "supported": True}})
    assert 'id="chain-upgrade">spec 12 at <a href="#/block/1200">#1,200</a> (35 blocks to go)</div>' in html
    assert "cannot run" not in html and "chain-migration" not in html
    html = browser.page.evaluate("(u) => upgradeCards(u)", {
        **base, "nextBlockSpec": 12, "supported": [11],
        "scheduled": {"spec": 12, "at": 1200, "blocksToGo": 1, "supported": False}})
    assert 'id="chain-spec">11, next block 12</div>' in html
    assert "this node cannot run spec 12: it stops there" in html
    html = browser.page.evaluate("(u) => upgradeCards(u)", {
        **base, "specVersion": 12, "nextBlockSpec": 12, "scheduled": None,
        "migration": {"spec": 12, "index": 1, "items": 5000, "since": 1200}})
    assert "chain-upgrade" not in html
    assert 'id="chain-migration">to spec 12 since #1,200: migration 1, 5,000 items (transactions wait)' in html
    assert browser.errors == []


def test_a_cli_transfer_shows_on_the_chain_and_both_account_pages(
    browser: Browser, explorer_node: ExplorerNode
) -> None:
    node = explorer_node
    eve, charlie = address(node, "eve"), address(node, "charlie")
    amount = 12 * UNIT + 345  # 12.000000000000000345 BTT: the last base unit must show
    eve_before, charlie_before = free(node, eve), free(node, charlie)
    log.info("transfer 12.000000000000000345 BTT from eve to charlie with the CLI")
    sent = node.cli("transfer", "--from", "eve", "--to", "charlie", "--amount", "12.000000000000000345")
    assert sent["success"], sent
    fee = int(sent["fee"])

    browser.open("chain")
    browser.page.wait_for_selector(f'#latest-extrinsics tr[data-hash="{sent["hash"]}"]', timeout=WAIT_MS)
    browser.page.wait_for_selector(f'#blocks tr[data-number="{sent["blockNumber"]}"]', timeout=WAIT_MS)

    log.info("search finds the extrinsic, with its fee to the base unit")
    browser.page.fill("#search", sent["hash"])
    browser.page.click("#search-form button")
    browser.page.wait_for_selector(f'#xt-fee[data-base="{fee}"]', timeout=WAIT_MS)
    assert browser.page.inner_text("#xt-call") == "balances.transfer_allow_death"

    for who, expected in ((eve, eve_before - amount - fee), (charlie, charlie_before + amount)):
        log.info("the account page of %s shows free = %d base units", who, expected)
        assert free(node, who) == expected
        browser.open(f"account/{who}")
        browser.page.wait_for_selector(f'#acct-free[data-base="{expected}"]', timeout=WAIT_MS)
        browser.page.wait_for_selector(f'#account-extrinsics tr[data-hash="{sent["hash"]}"]', timeout=WAIT_MS)
    whole, frac = divmod(charlie_before + amount, UNIT)
    shown = f"{whole:,}" + (f".{frac:018d}".rstrip("0") if frac else "") + " BTT"
    assert browser.page.inner_text("#acct-free") == shown
    assert browser.errors == []


def test_a_demo_job_appears_and_settles_on_the_compute_page(browser: Browser, explorer_node: ExplorerNode) -> None:
    node = explorer_node
    node.wait_until("the demo clinic posts a job", lambda: node.rpc("btt_explorerJobs")["total"] > 0)
    first = node.rpc("btt_explorerJobs", None, None, 1)["jobs"][0]
    browser.open("compute")
    browser.page.wait_for_selector(f'#jobs tr[data-job="{first["id"]}"]', timeout=WAIT_MS)
    # the page stays open while the market works; the first job to settle is followed (on a busy machine the demo
    # clinic may seal an early job's inputs after their window, and that job is then cancelled, as the chain says)
    node.wait_until("a demo job settles", lambda: node.rpc("btt_explorerJobs", "done", None, 1)["jobs"],
                    timeout=WAIT_MS / 1000)
    jid = node.rpc("btt_explorerJobs", "done", None, 1)["jobs"][0]["id"]
    log.info("job %d settled; the open page shows it", jid)
    row = f'#jobs tr[data-job="{jid}"]'
    browser.page.wait_for_selector(row, timeout=WAIT_MS)
    browser.page.wait_for_selector(f'{row} .assign-state:text-is("settled")', timeout=WAIT_MS)
    settled = node.rpc("btt_job", jid)
    assert [a["state"] for a in settled["assignments"]] == ["settled"]
    assert browser.page.inner_text("#flow-settled") != "0"
    browser.page.wait_for_selector("#providers tbody tr", timeout=WAIT_MS)
    models = browser.page.inner_text("#models")
    assert "breast-cancer-v1" in models and "malignant, benign" in models and "% int8" in models
    log.info("the demo clinic's job is private: its page says so and shows what the chain checked, no labels")
    assert settled["private"] is not None and settled["private"]["outcome"] == "checked"
    assert "private" in browser.page.inner_text(row)
    results = node.rpc("btt_jobResults", jid)
    (res,) = results["results"]
    assert results["sealed"] is True and res["classes"] is None and res["counts"] is None
    browser.open(f"job/{jid}")
    browser.page.wait_for_selector("#job-private tbody tr", timeout=WAIT_MS)
    checked = browser.page.inner_text("#job-private")
    assert "decoys revealed and re-sealed by every node" in checked
    assert f"{settled['private']['decoys']} of {settled['items']} items" in checked
    assert ", ".join(map(str, settled["private"]["decoyPositions"])) in checked
    assert browser.page.query_selector("#job-results td.labels .pill") is None  # no diagnosis on a node's page
    assert "private: sealed to its provider" in browser.page.inner_text(".cards")
    # why it stands where it does, and what happened to its place and escrow (runtime/compute/reasons.py)
    assert browser.page.inner_text("#job-reason") == settled["reason"] and settled["reason"].startswith("done: ")
    assert browser.page.inner_text("#job-places .place-reason") == settled["assignments"][0]["reason"]
    assert browser.errors == []


def test_a_vote_updates_the_referendum_tally(browser: Browser, explorer_node: ExplorerNode) -> None:
    node = explorer_node
    proposed = node.cli("propose", "--call", "treasury.spend", "--args", '["ecosystem_fund", "bob", "1000"]',
                        "--description", "explorer test grant", "--from", "bob")
    rid = proposed["referendumId"]
    holders = f'[data-referendum="{rid}"] tr[data-house="holders"] .house-aye .amt'
    browser.open("governance")
    browser.page.wait_for_selector(f'{holders}[data-base="0"]', timeout=WAIT_MS)
    log.info("charlie votes aye on referendum %d", rid)
    node.cli("vote", str(rid), "aye", "--from", "charlie")
    aye = node.rpc("btt_referendum", rid)["liveTally"]["houses"]["holders"]["aye"]
    assert int(aye) > 0
    browser.page.wait_for_selector(f'{holders}[data-base="{aye}"]', timeout=WAIT_MS)
    live = node.rpc("btt_referendum", rid)["liveTally"]
    # the demo economy's fees move the circulating supply, so the turnout's digits may move between reads
    turnout = f'[data-referendum="{rid}"] tr[data-house="holders"] .house-turnout'
    assert re.fullmatch(r"\d+\.\d\d%", browser.page.inner_text(turnout)), browser.page.inner_text(turnout)
    counted = live["housesInFavour"]
    assert browser.page.inner_text(f'[data-referendum="{rid}"] .houses-in-favour') == (
        f"{counted['count']} of {counted['needed']} needed")
    # the weight bar: the holders' aye weight beyond the largest aye voters (on dev, with one aye voter asked, all
    # of it) as a share of the house, rounded down as the runtime rounds it, and the bar in the rule's words
    other = f'[data-referendum="{rid}"] tr[data-house="holders"] .house-other-aye'
    assert re.fullmatch(r"\d+\.\d\d%", browser.page.inner_text(other)), browser.page.inner_text(other)
    assert browser.page.inner_text(f'[data-referendum="{rid}"] .weight-rule') == (
        f", at least {counted['minOtherAyeBps'] / 100:.2f}% of the house voting aye")
    assert browser.errors == []


def test_a_house_that_fails_only_the_weight_bar_says_so(browser: Browser) -> None:
    """The governance page's words for each house (`houseStanding`, `beyondHeader`, `weightRule`) on btt-21m's
    rule: a whale with a dust account fails only the weight bar and says so; a referendum closed before the chain
    stored the bar says "not recorded", never a bar or a share it did not check."""
    browser.open("governance")
    browser.page.wait_for_selector("#referenda", timeout=WAIT_MS)
    rule = {"minAyeVoters": 2, "minOtherAyeBps": 100, "otherAyeLeavesOut": 1, "otherAyeRecorded": True}
    whale = {"inFavour": False, "empty": False, "aye": "900", "nay": "0", "meetsTurnoutFloor": True, "ayeVoters": 2,
             "enoughAyeVoters": True, "enoughOtherAye": False, "otherAyeShare": "0.0099999"}

    def standing(house: dict[str, Any], r: dict[str, Any]) -> str:
        return str(browser.page.evaluate("([v, r]) => houseStanding(v, r)", [house, r]))

    assert standing(whale, rule) == '<span class="bad">under 1.00% aye beyond the largest</span>'
    assert standing(whale, rule | {"otherAyeLeavesOut": 2}) == (
        '<span class="bad">under 1.00% aye beyond the 2 largest</span>')
    assert standing(whale | {"enoughAyeVoters": False, "ayeVoters": 1}, rule) == (
        '<span class="bad">1 aye voter</span>')  # the first rule it fails
    assert standing(whale | {"meetsTurnoutFloor": False}, rule) == '<span class="bad">below floor</span>'
    assert standing(whale | {"enoughOtherAye": True, "inFavour": True}, rule) == '<span class="ok">yes</span>'
    assert browser.page.evaluate("(r) => beyondHeader(r)", rule) == "aye beyond largest"
    assert browser.page.evaluate("(r) => beyondHeader(r)", rule | {"otherAyeLeavesOut": 0}) == "aye of house"
    assert browser.page.evaluate("(r) => weightRule(r, true)", rule) == (
        ", at least 1.00% of the house voting aye beyond the largest aye voter")
    cell = "([v, r]) => otherAyeCell(v, r)"
    assert browser.page.evaluate(cell, [whale, rule]) == "0.99%"  # rounded down, as the runtime's reason rounds
    old = rule | {"minOtherAyeBps": None, "otherAyeRecorded": False}
    assert browser.page.evaluate("(r) => weightRule(r, true)", old) == (
        "; the weight voting aye beyond the largest aye voter: not recorded (voting closed before the chain stored "
        "it)")
    assert browser.page.evaluate("(r) => weightRule(r, false)", old) == (  # a live tally under a spec without it
        "; the weight voting aye beyond the largest aye voter: not recorded (the spec the chain runs has no weight "
        "bar)")
    assert standing(whale | {"inFavour": True, "enoughOtherAye": None}, old) == '<span class="ok">yes</span>'
    unrecorded = whale | {"otherAyeShare": None, "enoughOtherAye": None}
    assert browser.page.evaluate(cell, [unrecorded, old]) == '<span class="muted">not recorded</span>'
    assert browser.errors == []


def test_screenshots_of_every_page(browser: Browser, explorer_node: ExplorerNode) -> None:
    node = explorer_node
    eve = address(node, "eve")
    log.info("an asset and an invoice, so that page has rows")
    node.cli("asset", "register", "--class", "equipment", "--metadata", "Panoramic X-ray, room 2",
             "--valuation", "50000", "--from", "eve")
    node.cli("invoice", "create", "--payee", "eve", "--amount", "200", "--due", "3600", "--memo", "cleaning",
             "--from", "eve")
    def transfers() -> list[dict[str, Any]]:
        return [x for x in node.rpc("btt_explorerAccountExtrinsics", eve, 2000, 20)["extrinsics"]
                if x["call"]["name"] == "balances.transfer_allow_death"]

    # run alone (the file's earlier tests send eve's transfers and a referendum): its own of each
    if not transfers():
        node.cli("transfer", "--from", "eve", "--to", "dave", "--amount", "1")
    if not node.rpc("btt_referenda"):
        node.cli("propose", "--call", "treasury.spend", "--args", '["ecosystem_fund", "bob", "1"]', "--from", "alice")
    transfer = transfers()[0]
    routes = {
        "chain": ("chain", "#blocks tbody tr[data-number]"),
        "block": (f"block/{transfer['blockNumber']}", "#block-extrinsics"),
        "extrinsic": (f"extrinsic/{transfer['hash']}", "#xt-fee"),
        "account": (f"account/{address(node, 'dave')}", "svg.chart"),
        "validators": ("validators", "svg.chart"),
        "compute": ("compute", "#jobs tbody tr[data-job]"),
        "supply": ("supply", "#allocations tbody tr"),
        "governance": ("governance", "[data-referendum]"),
        "assets": (f"assets/{eve}", "#invoices tbody tr"),
    }
    assert tuple(routes) == PAGES
    for name, (route, ready) in routes.items():
        browser.open(route)
        browser.page.wait_for_selector(ready, timeout=WAIT_MS)
        path = browser.shoot(name)
        assert path.stat().st_size > 10_000, path
    assert browser.errors == []


def test_a_big_block_shows_its_extrinsics_a_page_at_a_time(browser: Browser, explorer_node: ExplorerNode) -> None:
    from btt_chain.primitives.extrinsic import sign_extrinsic
    from runtime.modules import RUNTIME

    node = explorer_node
    genesis = bytes.fromhex(node.rpc("chain_getBlockHash", 0)[2:])
    alice = dev_keypair("alice").public
    log.info("60 transfers from a few accounts at once, so that one block holds more than a page (25) of them")
    hashes = []
    # not alice and ferdie (the demo's miner and clinic), nor an account whose balance is locked (a vote, vesting)
    senders = [n for n in ("bob", "charlie", "dave", "eve")
               if int(node.rpc("btt_account", "0x" + dev_keypair(n).public.hex())["spendable"]) > 100 * UNIT]
    assert len(senders) >= 2, senders
    for name in senders:
        pair = dev_keypair(name)
        nonce = node.rpc("system_accountNextIndex", "0x" + pair.public.hex())
        for k in range(60 // len(senders)):
            xt = sign_extrinsic(pair, RUNTIME.call("balances.transfer_allow_death", alice, UNIT), nonce + k, genesis,
                                RUNTIME.spec_version)
            hashes.append(node.rpc("author_submitExtrinsic", "0x" + xt.encode().hex()))

    def status(h: str) -> dict[str, Any] | None:
        found = node.rpc("btt_extrinsicStatus", h)
        return found if found is not None and found["status"] == "included" else None

    node.wait_until("the transfers are included", lambda: all(status(h) for h in hashes))
    counts = {}
    for h in hashes:
        number = status(h)["blockNumber"]  # type: ignore[index]
        counts[number] = node.rpc("btt_explorerBlocks", number, 1)["blocks"][0]["extrinsics"]
    number, count = max(counts.items(), key=lambda item: item[1])
    assert count > 25, counts

    browser.open(f"block/{number}")
    assert len(browser.page.query_selector_all("#block-extrinsics tbody tr")) == 25
    assert browser.page.inner_text("#extrinsic-pager").startswith(f"extrinsics 1 to 25 of {count}")
    shown = 25
    while browser.page.query_selector("#extrinsics-more") is not None:
        log.info("next page of block %d after %d extrinsics", number, shown)
        browser.page.evaluate("document.getElementById('page').dataset.loaded = ''")
        browser.page.click("#extrinsics-more")
        browser.page.wait_for_function("document.getElementById('page').dataset.loaded", timeout=WAIT_MS)
        rows = len(browser.page.query_selector_all("#block-extrinsics tbody tr"))
        assert browser.page.inner_text("#extrinsic-pager").startswith(
            f"extrinsics {shown + 1} to {shown + rows} of {count}")
        assert browser.page.query_selector("#extrinsics-newer") is not None
        shown += rows
    assert shown == count
    assert browser.errors == []
