"""Spec 14 -> 15 on a chain spec 14 made (issue 53): the parameters spec 15's new modules read are added with the
btt-21m figures (params storage 1 -> 2), a genesis born at spec 14 never lists them, spec 14 knows no batch or proxy
(refused for free), and after the upgrade batches and proxies work on the upgraded chain."""

from __future__ import annotations

import importlib

import pytest

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from genesis.loader import as_of_spec, load_chain_spec, load_chain_spec_doc, materialise, parse_chain_spec
from runtime.context import EMERGENCY
from runtime.invariants import check_invariants
from runtime.params import storage as params
from runtime.params.migrations import ADDED_SPEC15, BOUNDS_SPEC15
from runtime.proxy.types import ANY
from runtime.specs import PACKAGES, running_spec, runtime_of
from runtime.storage_version import storage_version
from tests.support.runtime_builder import GENESIS_HASH, UNIT, GenesisBuilder, acct, assert_last_event, assert_ok

NEW = ("utility.max_calls", "proxy.deposit_base", "proxy.deposit_factor", "proxy.max_proxies")


def test_the_added_parameters_are_the_btt_21m_presets_and_an_older_genesis_lists_none_of_them() -> None:
    live = {p.name: p for p in load_chain_spec("btt-21m").parameters}
    assert set(NEW) <= set(ADDED_SPEC15)
    for name, entry in ADDED_SPEC15.items():
        p = live[name]
        assert (entry["value"], entry["min"], entry["max"], entry["unit"]) == (p.value, p.min, p.max, p.unit), name
    for name, bounds in BOUNDS_SPEC15.items():
        assert (bounds["min"], bounds["max"]) == (live[name].min, live[name].max), name
    for preset in ("btt-21m", "dev"):
        old = as_of_spec(load_chain_spec_doc(preset), 14)
        assert not set(ADDED_SPEC15) & set(old["parameters"]) and old["spec_version"] == 14
        parsed = parse_chain_spec(materialise(old, 1_000_000))
        assert parsed.spec_version == 14 and not {p.name for p in parsed.parameters} & set(ADDED_SPEC15)


def test_a_spec_14_chain_refuses_batches_and_proxies_then_upgrades_and_runs_them() -> None:
    chain = GenesisBuilder(balances={"alice": 1_000, "bob": 1_000, "charlie": 100, "dave": 10}).build(spec=14)
    for name in ADDED_SPEC15:  # spec 14's genesis never had them: take them out as it would have stored them
        for item in (params.value, params.bounds, params.unit, params.limits):
            chain.backend.data.pop(item.key(name), None)
    assert chain.runtime.spec_version == 14
    new = runtime_of(15)
    transfer = new.call("balances.transfer_keep_alive", acct("dave"), UNIT)
    bob = chain.account("bob")
    xt = sign_extrinsic(dev_keypair("bob"), new.call("utility.batch", [transfer]), bob.nonce, GENESIS_HASH, 14)
    ex = chain.begin_block()
    with pytest.raises(InvalidExtrinsic, match="no call at index"):  # unknown to spec 14: no fee, nothing written
        chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))
    chain.end_block()
    assert chain.account("bob") == bob
    chain.dispatch(EMERGENCY, "system.schedule_spec", 15, chain.number + 2)
    while running_spec(chain.view()) != 15 or storage_version(chain.view(), "params") != 2:
        chain.run_block([])
    view = chain.view()
    assert not check_invariants(view)
    assert all(params.value.get(view, name) == entry["value"] for name, entry in ADDED_SPEC15.items())
    assert all(params.limits.get(view, name) == (entry["min"], entry["max"]) for name, entry in ADDED_SPEC15.items())
    assert storage_version(view, "compute") == 2 and storage_version(view, "proxy") == 0
    # batches and proxies on the upgraded chain
    assert_ok(chain.submit("bob", "utility.batch_all", [transfer, transfer]))
    assert chain.account("dave").free == 12 * UNIT
    assert_ok(chain.submit("bob", "proxy.add_proxy", acct("charlie"), ANY, 0))
    assert chain.account("bob").reserved == ADDED_SPEC15["proxy.deposit_base"]["value"] + \
        ADDED_SPEC15["proxy.deposit_factor"]["value"]  # type: ignore[operator]
    assert_ok(chain.submit("charlie", "proxy.proxy", acct("bob"), None, new.call("utility.batch", [transfer])))
    spec15 = importlib.import_module(PACKAGES[15] + ".proxy")  # spec 15's own event classes, frozen or live
    events, types = (importlib.import_module(f"{spec15.__name__}.{m}") for m in ("events", "types"))
    assert_last_event(chain, events.ProxyExecuted(types.OK))
    assert chain.account("dave").free == 13 * UNIT

