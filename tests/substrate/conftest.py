"""The Substrate client tests run real node processes with the functional tests' harness (data and logs kept when a
test fails)."""

from tests.functional.conftest import harness, pytest_runtest_makereport  # noqa: F401  (the same fixtures)
