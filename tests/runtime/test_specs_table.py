"""`runtime.specs.RETIRED_MODULES` against the runtimes themselves: every module name an older spec has that the newest
does not is listed there (what `module_names` answers without importing the older specs), and nothing else is."""

from __future__ import annotations

from runtime import specs


def test_retired_module_names_are_the_older_specs_modules_the_newest_lacks() -> None:
    newest = {m.name for m in specs.runtime_of(specs.NEWEST).modules}
    for spec in specs.PACKAGES:
        names = {m.name for m in specs.runtime_of(spec).modules}
        assert names - newest == set(specs.RETIRED_MODULES.get(spec, frozenset())), spec
    assert set(specs.RETIRED_MODULES) <= set(specs.PACKAGES)
    every = set().union(*({m.name for m in specs.runtime_of(s).modules} for s in specs.PACKAGES))
    assert specs.module_names() == every
