"""`btt-chain node --max-spec` (issue 50): a value below the oldest spec this release runs, or not a number, is one
`error:` line before anything starts; a value above the newest is a ceiling that limits nothing; a node limited below
its chain's genesis spec refuses the chain with one line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime import specs
from tests.support.cli_runner import assert_one_error_line, run


@pytest.fixture(autouse=True)
def no_limit() -> Iterator[None]:
    yield
    specs.limit(None)


@pytest.mark.parametrize("value, fragment", [
    ("0", f"this release runs specs {specs.OLDEST} to {specs.NEWEST}"),
    ("-1", f"this release runs specs {specs.OLDEST} to {specs.NEWEST}"),
    (str(specs.OLDEST - 1), "could run none of them"),
    ("abc", "'abc' is not a valid integer"),
    ("11.5", "is not a valid integer"),
    ("", "is not a valid integer"),
])
def test_a_bad_max_spec_is_one_error_line_and_nothing_starts(capsys: pytest.CaptureFixture[str], value: str,
                                                            fragment: str) -> None:
    code, out, err = run(capsys, "node", "--tmp", "--chain", "dev", "--no-p2p", "--max-spec", value)
    assert_one_error_line(code, err, fragment)
    assert "--max-spec" in err and out == ""
    assert specs.supported() == tuple(sorted(specs.PACKAGES))  # nothing was limited


def test_a_max_spec_above_the_newest_limits_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # parsed and applied; the command then stops at the unknown chain, before any node starts
    code, _, err = run(capsys, "node", "--tmp", "--chain", "nope", "--max-spec", "99")
    assert_one_error_line(code, err, "unknown chain spec 'nope'")
    assert specs.supported() == tuple(sorted(specs.PACKAGES))


def test_a_node_limited_below_its_chains_genesis_spec_refuses_the_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "node", "--dev", "--no-p2p", "--max-spec", str(specs.OLDEST))  # dev is born at 12
    assert_one_error_line(code, err, f"this release runs specs {specs.OLDEST}, not {specs.NEWEST}")
    assert specs.supported() == (specs.OLDEST,)


def test_the_refusal_comes_before_the_ports_even_for_a_spec_parsed_before(capsys: pytest.CaptureFixture[str]) -> None:
    """The chain spec is parsed once per process (a cache): one parsed before `--max-spec` limited the specs must
    still be refused at once, not after the ports are probed (a taken RPC port then said something else)."""
    import socket

    from genesis.loader import load_chain_spec

    load_chain_spec("dev")  # parsed, and kept, while every spec runs
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code, _, err = run(capsys, "node", "--dev", "--no-p2p", "--rpc-port", str(port), "--max-spec",
                           str(specs.OLDEST))
    assert_one_error_line(code, err, f"this release runs specs {specs.OLDEST}, not {specs.NEWEST}")
