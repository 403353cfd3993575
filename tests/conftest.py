"""Fixtures of the whole suite. Helpers that tests import live in tests/helpers.py (no test module
imports another, conftest.py included)."""

import os
import signal

# Before anything imports torch, numba or numpy: with several test processes (pytest -n, pytest-xdist) each
# gets one thread, as `entm` itself uses by default; a default pool per process (one thread per core)
# oversubscribes the cores many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

# A suite started in the background by a non-interactive shell (`pytest &` in a script) inherits SIGINT
# ignored, and an ignored signal stays ignored in every child it starts: the tests that press Ctrl-C on
# `entm` would find it deaf (as it should be there: it keeps an ignored SIGINT ignored).  Python's own
# handler here is reset to the default in each child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402

from helpers import FIXTURES, run_cli  # noqa: E402


@pytest.fixture
def fixtures():
    return FIXTURES


@pytest.fixture
def cli():
    """The real `entm` command line in a subprocess (``helpers.run_cli``)."""
    return run_cli
