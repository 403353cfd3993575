"""Python's cyclic garbage collector paused over a generation's gene work.

Reproduction creates hundreds of thousands of short-lived gene objects per generation (crossover and
mutation: 500+ genes per child; rebuilding a parent from its arrays in ``workers`` mode).  With the
collector on, those allocations trigger collections over everything the process holds, which on the
8-bit copy task (population 150, Python 3.11) cost more than the gene work itself: a worker's breeding task
took 366 ms per generation with the collector on and 155 ms with it paused (docs/performance.md).
Genes hold no reference cycles, so they are freed by reference counting either way; the pause only defers
the collector's passes over cyclic garbage (made by the rest of the program) to the end of the block.
Nothing computed depends on it: results are the same with or without.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """The cyclic collector off for the block, then as it was before (nested blocks keep it off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
