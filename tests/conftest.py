"""Fixtures of the whole suite. Helpers that tests import live in tests/helpers.py (no test module
imports another, conftest.py included)."""

import pytest

from helpers import FIXTURES, run_cli


@pytest.fixture
def fixtures():
    return FIXTURES


@pytest.fixture
def cli():
    """The real `entm` command line in a subprocess (``helpers.run_cli``)."""
    return run_cli
