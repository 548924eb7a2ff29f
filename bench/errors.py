"""A benchmark's expected failures: what it was asked cannot run here (a node that did not start, a port taken, a
block that cannot hold what was asked). `btt-chain bench` prints the message as one `error:` line (it is a BttError);
anything else a bench raises is a bug, printed with its type (cli/bench_cmd.py)."""

from __future__ import annotations

from btt_chain.primitives.errors import BttError


class BenchFailed(BttError):
    """A benchmark could not run as asked: the message says why and what to do."""
