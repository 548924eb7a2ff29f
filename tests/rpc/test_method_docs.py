"""docs/rpc.md and the table it is made from (btt_chain/rpc/method_docs.py): every method the node serves has a result
and a cost bound there, no entry names a method that does not exist, the page shows each method with its aliases,
parameters and access as registered, and the file on disk is what the generator writes now."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import btt_chain.rpc.server  # noqa: F401  (every method module: what the node serves)
from btt_chain.rpc import reference_page
from btt_chain.rpc.method_docs import DOCS, MethodDoc
from btt_chain.rpc.registry import REGISTRY, Param, Registry, RpcContext, optional
from scripts.gen_docs import COMMAND

PAGE = Path(__file__).parents[2] / "docs" / "rpc.md"


def rows(page: str) -> dict[str, list[str]]:
    """Table rows by method name: the cells, split at unescaped pipes."""
    out = {}
    for line in page.splitlines():
        if line.startswith("| `"):
            cells = re.split(r"(?<!\\) \| ", line[2:-2])
            out[cells[0].split("`")[1]] = cells
    return out


def _handler(ctx: RpcContext, *args: Any) -> None:
    return None


# the table covers the registry ------------------------------------------------------------------------------------


def test_every_served_method_has_docs_and_every_entry_names_a_method() -> None:
    undocumented, unknown = reference_page.coverage()
    assert not undocumented, f"RPC methods without a result and cost bound in btt_chain/rpc/method_docs.py: " \
                             f"{', '.join(undocumented)}"
    assert not unknown, f"btt_chain/rpc/method_docs.py documents methods the node does not serve (an alias, or a " \
                        f"method removed): {', '.join(unknown)}"


def test_a_new_method_an_alias_entry_and_a_removed_one_are_each_found() -> None:
    registry = Registry()
    registry.add(reference_page.MethodDef("btt_known", _handler, aliases=("btt_knownAlias",)))
    registry.add(reference_page.MethodDef("btt_newMethod", _handler))
    docs = {"btt_known": MethodDoc("r", "c"), "btt_knownAlias": MethodDoc("r", "c"), "btt_gone": MethodDoc("r", "c")}
    assert reference_page.coverage(registry, docs) == (["btt_newMethod"], ["btt_gone", "btt_knownAlias"])
    with pytest.raises(KeyError, match="btt_newMethod"):
        reference_page.render(registry, docs)


def test_each_entry_states_a_result_and_a_cost_on_one_line() -> None:
    for name, doc in DOCS.items():
        for text in (doc.result, doc.cost):
            assert text.strip() and "\n" not in text and text == text.strip(), name


# the page shows the registry as it is ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> str:
    return reference_page.render()


def test_the_page_shows_each_method_with_its_aliases_parameters_and_access(page: str) -> None:
    table = rows(page)
    methods = list(REGISTRY)
    assert set(table) == {m.name for m in methods}
    for m in methods:
        name, params, result, cost, access = table[m.name]
        assert re.findall(r"alias `([^`]+)`", name) == list(m.aliases), m.name
        shown = [p.strip("`") for p in params.split(", ")] if params != "none" else []
        assert shown == [p.name if p.required else p.name + "?" for p in m.params], m.name
        assert access.startswith("unsafe" if m.unsafe else "safe") and access.endswith(
            ", WebSocket only" if m.ws_only else "safe"), m.name
        assert (result, cost) == (reference_page._cell(DOCS[m.name].result),  # noqa: SLF001
                                  reference_page._cell(DOCS[m.name].cost)), m.name  # noqa: SLF001
    every_name = {n for m in methods for n in (m.name, *m.aliases)}
    assert len(every_name) == len(REGISTRY._methods)  # noqa: SLF001  (each name and alias once)


def test_unsafe_and_websocket_methods_are_marked_and_listings_sit_together(page: str) -> None:
    table = rows(page)
    assert table["state_getPairs"][4] == "unsafe" and table["author_rotateKeys"][4] == "unsafe"
    assert table["chain_subscribeNewHeads"][4] == "safe, WebSocket only"
    assert table["state_getStorage"][4] == "safe"
    listing = page.split("## Listing the methods", 1)[1]
    assert set(rows(listing)) == {"rpc_methods", "btt_rpcMethods"}


def test_a_pipe_or_a_line_break_in_a_cell_cannot_break_the_table() -> None:
    registry = Registry()
    registry.add(reference_page.MethodDef("btt_x", _handler, (Param("a", lambda v, c: v), optional("b", None)),
                                          aliases=("btt_y",), unsafe=True, ws_only=True))
    page = reference_page.render(registry, {"btt_x": MethodDoc("held | partial\nor missing", "one | two")})
    assert rows(page)["btt_x"] == ["`btt_x`<br>alias `btt_y`", "`a`, `b?`", "held \\| partial or missing",
                                   "one \\| two", "unsafe, WebSocket only"]
    assert "## `btt_`: test method docs" in page  # a module no topic names is listed under its own name


# the file on disk ----------------------------------------------------------------------------------------------------


def test_docs_rpc_md_is_current(page: str) -> None:
    if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != page:
        pytest.fail(f"docs/rpc.md is stale: regenerate with {COMMAND}", pytrace=False)
