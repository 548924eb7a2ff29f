"""Text that `str.isdigit` calls digits but `int` cannot read ("¹", "²"), or reads as a non-ASCII number ("٣"),
is refused with the clear error of each parser, never a traceback (issue 25, item 4's `btt_explorerSearch("¹")`,
checked everywhere a number is parsed from text)."""

from __future__ import annotations

import pytest

from btt_chain.node.pruning import parse_state_pruning
from btt_chain.primitives.derivation import chain_code
from btt_chain.primitives.errors import ConfigError
from cli.node_cmd import _check_bootnodes

ODD_DIGITS = ("¹", "²³", "٣", "１")


@pytest.mark.parametrize("text", ODD_DIGITS)
def test_state_pruning_refuses_non_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number of blocks"):
        parse_state_pruning(text)


@pytest.mark.parametrize("text", ODD_DIGITS)
def test_a_bootnode_port_of_non_ascii_digits_is_a_bad_port(text: str) -> None:
    with pytest.raises(ConfigError, match="bad port"):
        _check_bootnodes((f"/ip4/127.0.0.1/tcp/{text}/p2p/12D3KooW",))


@pytest.mark.parametrize("text", ODD_DIGITS)
def test_a_derivation_junction_of_non_ascii_digits_is_a_text_junction(text: str) -> None:
    assert chain_code(text) != chain_code("1")  # a string junction, as Substrate's u64 parse would fail
    assert len(chain_code(text)) == 32
