"""How long a test waits for an event before it calls the wait a hang.

Tests wait on events (a height reached, a log line, a peer connected), never on the clock. The limit of a wait is
a safety net against a hang, sized well above what the event takes on a busy 2-core machine (CI runs on one), and
multiplied by `BTT_TEST_TIMEOUT_SCALE` (default 1): set it above 1 on a slower machine, never to make a test pass
that waits for something that does not happen.

With `BTT_TEST_WAIT_LOG=FILE` every wait appends one JSON line to FILE (test, what it waited for, its limit, the
seconds it took, whether it timed out), to find the waits that come close to their limit;
`python -m tests.support.wait_limits FILE` lists them, the closest first.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

SCALE_ENV = "BTT_TEST_TIMEOUT_SCALE"
LOG_ENV = "BTT_TEST_WAIT_LOG"


def timeout_scale() -> float:
    """The factor every wait limit is multiplied by: `BTT_TEST_TIMEOUT_SCALE`, 1 when unset."""
    raw = os.environ.get(SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{SCALE_ENV} must be a positive number (a factor on every wait limit), not {raw!r}")
    return value


def scaled(seconds: float) -> float:
    """A wait limit of `seconds` on this machine."""
    return seconds * timeout_scale()


def timed_out(what: str, limit: float, waited: float, detail: str = "") -> str:
    """The failure line of a wait that reached its limit."""
    scale = timeout_scale()
    factor = f" ({limit / scale:g} s x {SCALE_ENV}={scale:g})" if scale != 1 else ""
    return (f"timed out after {waited:.1f} s waiting for {what} (limit {limit:g} s{factor}; if this machine is "
            f"only slow, raise {SCALE_ENV}){detail}")


def record(what: str, limit: float, waited: float, ok: bool) -> None:
    """Append one wait to `BTT_TEST_WAIT_LOG`, if it is set."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    line = json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "").removesuffix(" (call)"), "what": what,
                       "limit": round(limit, 3), "waited": round(waited, 3), "ok": ok, "at": time.time()})
    with open(path, "a") as f:
        f.write(line + "\n")


def report(path: str, top: int = 40) -> list[str]:
    """The waits in a `BTT_TEST_WAIT_LOG` file, the largest share of its limit first."""
    rows = []
    with open(path) as f:
        for raw in f:
            row = json.loads(raw)
            rows.append((row["waited"] / row["limit"] if row["limit"] else 0.0, row))
    rows.sort(key=lambda item: -item[0])
    return [f"{share:6.1%} {row['waited']:7.1f} s of {row['limit']:5g} s {'' if row['ok'] else 'TIMED OUT '}"
            f"{row['what']}  [{row['test']}]" for share, row in rows[:top]]


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    print("\n".join(report(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)))
