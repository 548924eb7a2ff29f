"""Fixtures shared by the miner tests: `dev`, an in-process dev node (alice validates) driven block by block."""

from tests.miner.test_miner_loop import dev  # noqa: F401  (the fixture, for the other test modules)
