"""Each spec's rules side by side (DESIGN, consensus item 7): the runtime of every spec this node can run, as
ethereum/execution-specs keeps each fork as a package, and the table the chain's own state picks one from per block.

The live `runtime/` package is the newest spec. An older spec is a folder `runtime/specs/specNN/` holding only the
runtime files that were different in it (frozen by `scripts/freeze_spec.py`): the package `runtime.specs.specNN`
*overlays* the live runtime with them, every other file loaded again from `runtime/` under the spec's own name. The
runtime's modules import one another relatively, so inside spec 11 every module sees spec 11's bonds, evidence and
session; `diff -r runtime/specs/spec11 runtime` (file by file) is the specification of the upgrade to the next spec.

A few modules are shared by every spec (`SHARED`): they hold no rule (the state overlay, the exception tree, the event
and call-context types, the dispatch table's types), and the node uses them alike whatever spec runs. They must never
change meaning between specs.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from btt_chain.primitives.errors import BttError

if TYPE_CHECKING:
    from runtime.dispatch import Runtime
    from runtime.overlay import Overlay, StateReader
    from runtime.system.types import ScheduledSpec

LIVE = Path(__file__).resolve().parent.parent
"""The live runtime's folder (the newest spec)."""
SPECS_DIR = Path(__file__).resolve().parent

SHARED = frozenset({
    "runtime", "runtime.specs", "runtime.overlay", "runtime.errors", "runtime.events", "runtime.context",
    "runtime.dispatch", "runtime.weights_held",
})
"""Modules every spec uses as they are (imported absolutely by the others)."""

PACKAGES: dict[int, str] = {
    11: "runtime.specs.spec11",
    12: "runtime.specs.spec12",
    13: "runtime.specs.spec13",
    14: "runtime.specs.spec14",
    15: "runtime.specs.spec15",
    16: "runtime.specs.spec16",
    17: "runtime.specs.spec17",
    18: "runtime.specs.spec18",
    19: "runtime.specs.spec19",
    20: "runtime",
}
"""Spec version -> the package of its rules. The newest is the live runtime."""
NEWEST = max(PACKAGES)
OLDEST = min(PACKAGES)
RETIRED_MODULES: dict[int, frozenset[str]] = {}
"""Spec -> the names of its runtime modules that the newest spec no longer has (none so far): what an older block's
events may name beside the newest's modules, known without importing the older specs (tests/runtime/test_specs_table.py
holds it to their runtimes)."""
FIRST_RECORDED = 11
"""The spec of a state that names none (`system.spec_version` absent): every chain before specs were recorded
(`runtime.upgrade.FIRST_RECORDED` is the same figure, which the runtime reads)."""


_max_spec: int | None = None


def limit(max_spec: int | None) -> None:
    """Run no spec above `max_spec` (`btt-chain node --max-spec`: a node standing in for an older release)."""
    global _max_spec
    if max_spec is not None and max_spec < OLDEST:
        raise ValueError(f"--max-spec {max_spec}: this release runs specs {OLDEST} to {NEWEST}")
    _max_spec = max_spec


def supported() -> tuple[int, ...]:
    """The spec versions this node can run, oldest first."""
    return tuple(s for s in sorted(PACKAGES) if _max_spec is None or s <= _max_spec)


def running_spec(state: Overlay | StateReader) -> int:
    """The spec that ran the block whose post-state is `state`."""
    from runtime.system import storage as system

    spec = system.spec_version.get(_overlay(state))
    return FIRST_RECORDED if spec is None else spec


def scheduled_spec(state: Overlay | StateReader) -> ScheduledSpec | None:
    """The upgrade scheduled in `state` and not yet in effect."""
    from runtime.system import storage as system

    return system.scheduled_spec.get(_overlay(state))


def spec_for_block(parent_state: Overlay | StateReader, number: int) -> int:
    """The spec whose rules run block `number` on top of `parent_state`: the scheduled one from its block on, else
    the one that ran the parent. (What clients call the runtime *at* a block is the one that runs its child:
    `spec_for_block(state of B, B.number + 1)`, as Substrate's runtime at a block is the `:code` in its state.)"""
    scheduled = scheduled_spec(parent_state)
    if scheduled is not None and number >= scheduled.at:
        return scheduled.spec
    return running_spec(parent_state)


def runtime_for_block(parent_state: Overlay | StateReader, number: int) -> Runtime:
    """The runtime of block `number` on `parent_state`; UnsupportedSpec if this node cannot run its spec."""
    spec = spec_for_block(parent_state, number)
    if spec not in supported():
        scheduled = scheduled_spec(parent_state)
        raise UnsupportedSpec(spec, scheduled.at if scheduled is not None and scheduled.spec == spec else None)
    return runtime_of(spec)


def _overlay(state: Overlay | StateReader) -> Overlay:
    from runtime.overlay import Overlay

    return state if isinstance(state, Overlay) else Overlay(state)


@cache
def module_names() -> frozenset[str]:
    """Every runtime module name an event of any spec this release knows can carry: the newest runtime's (the live
    package, loaded with the node) and `RETIRED_MODULES`; no older spec is imported (~1 s each on a busy machine)."""
    return frozenset(m.name for m in runtime_of(NEWEST).modules).union(*RETIRED_MODULES.values())


@cache
def runtime_of(spec: int) -> Runtime:
    """The assembled runtime of `spec` (its `modules.RUNTIME`); UnsupportedSpec if this node cannot run it."""
    if spec not in PACKAGES:
        raise UnsupportedSpec(spec)
    package = PACKAGES[spec]
    modules = importlib.import_module(f"{package}.modules")
    runtime: Runtime = modules.RUNTIME
    if runtime.spec_version != spec:
        raise AssertionError(f"{package} assembles spec {runtime.spec_version}, not {spec}")
    return runtime


def newest_call_end(data: bytes, pos: int, depth: int) -> int:
    """Where a call decoded outside any runtime ends (`Call.decode_at`: an RPC parameter, a wallet's call): by the
    table of the newest spec this node runs (`supported()`, so `--max-spec` too). Every spec's `modules` registers
    this same function, so which spec loaded last never matters; a runtime decodes the calls inside its own calls and
    stored values by its own table (`runtime.dispatch.bind_calls`)."""
    return runtime_of(max(supported())).call_end(data, pos, depth)


def package_module(spec: int, name: str) -> ModuleType:
    """The spec's own copy of a runtime module, by its live name (`runtime.system.storage`)."""
    package = PACKAGES[spec]
    if package == "runtime" or name in SHARED:
        return importlib.import_module(name)
    return importlib.import_module(package + name[len("runtime"):])


ABSENT_FILE = "absent.txt"
"""In a spec's folder: the live runtime's modules (paths below `runtime/`, no suffix) that the spec did not have. Its
package must not load them from the live runtime (written by `scripts/freeze_spec.py`)."""


def folder_chain(folder: str) -> list[Path]:
    """The spec folders a spec's package reads, its own first, then each newer spec's up to the newest frozen one (the
    live runtime comes after them): a folder holds only the files that differ from the next newer spec, so a file
    spec 11 shares with spec 12 is frozen once, in spec12/."""
    number = int(folder.removeprefix("spec"))
    return [SPECS_DIR / f"spec{n}" for n in sorted(PACKAGES) if n >= number and PACKAGES[n] != "runtime"
            and (SPECS_DIR / f"spec{n}").is_dir()]


@cache
def absent_in(folder: str) -> frozenset[str]:
    """The live modules spec folder `folder` (`spec12`) did not have, as paths below `runtime/` without `.py`: those its
    folder lists, and those any newer frozen spec did not have."""
    out: set[str] = set()
    for d in folder_chain(folder):
        listed = d / ABSENT_FILE
        if listed.exists():
            out |= {line.strip() for line in listed.read_text().splitlines() if line.strip()}
    return frozenset(out)


class _OverlayFinder(importlib.abc.MetaPathFinder):
    """Finds `runtime.specs.specNN.<name>`: the spec's own file if it froze one, else the next newer frozen spec's,
    else the live runtime's file, loaded under the spec's name (so that its relative imports stay inside the spec)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if len(parts) < 3 or parts[0] != "runtime" or parts[1] != "specs" or not parts[2].startswith("spec"):
            return None
        spec_dir = SPECS_DIR / parts[2]
        if not spec_dir.is_dir():
            return None
        rest = parts[3:]
        live_name = ".".join(["runtime", *rest])
        if rest and live_name in SHARED:  # a shared module is one module, whichever spec asks for it
            return importlib.machinery.ModuleSpec(fullname, _Alias(live_name))
        folders = [*folder_chain(parts[2]), LIVE]  # its own files, then each newer spec's, then the live ones
        if not rest:  # the spec package itself: the live runtime's __init__, searched in every folder
            return self._package(fullname, folders)
        if "/".join(rest) in absent_in(parts[2]):
            raise ModuleNotFoundError(f"{fullname}: runtime/{'/'.join(rest)} came after this spec", name=fullname)
        places = [d.joinpath(*rest) for d in folders]
        if any((p / "__init__.py").exists() for p in places):
            return self._package(fullname, places)
        for candidate in (p.with_suffix(".py") for p in places):
            if candidate.exists():
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None

    @staticmethod
    def _package(fullname: str, dirs: list[Path]) -> importlib.machinery.ModuleSpec | None:
        init = next((d / "__init__.py" for d in dirs if (d / "__init__.py").exists()), None)
        if init is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(d) for d in dirs if d.is_dir()])


class _Alias(importlib.abc.Loader):
    """Loads a shared module under a spec's name as the live module itself."""

    def __init__(self, live_name: str) -> None:
        self.live_name = live_name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.live_name)

    def exec_module(self, module: ModuleType) -> None:
        pass


if not any(isinstance(f, _OverlayFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _OverlayFinder())


class UnsupportedSpec(BttError):
    """The chain runs (or has scheduled) a spec this node has no rules for: it stops before the block that needs it."""

    def __init__(self, spec: int, at: int | None = None) -> None:
        where = f" from block {at}" if at is not None else ""
        super().__init__(
            f"the chain runs spec {spec}{where}, which this node cannot run (it runs specs "
            f"{', '.join(map(str, supported()))}): install a btt-chain release that runs spec {spec}")
        self.spec = spec
        self.at = at


def into_spec(value: object, spec: int) -> object:
    """`value` with every live runtime dataclass in it rebuilt as `spec`'s own class of the same module and name
    (a genesis config the node builds with the live types, handed to an older spec's genesis)."""
    import dataclasses

    if PACKAGES.get(spec) == "runtime":
        return value
    if isinstance(value, tuple):
        return tuple(into_spec(v, spec) for v in value)
    if isinstance(value, list):
        return [into_spec(v, spec) for v in value]
    cls = type(value)
    module = cls.__module__
    if dataclasses.is_dataclass(value) and module.startswith("runtime.") and not module.startswith("runtime.specs"):
        own = getattr(package_module(spec, module), cls.__name__)
        if own is cls:
            return value
        fields = {f.name: into_spec(getattr(value, f.name), spec) for f in dataclasses.fields(value) if f.init}
        return own(**fields)
    return value
