"""numba's ``njit`` for entm's kernels, with a cache that follows every kernel's source.

numba's on-disk cache (``cache=True``) is checked against the source file of
the function itself only.  A kernel that calls compiled functions of another
module (the fused closed loop calls the environments of ``closed_env.py`` and
the network of ``phenotype/kernels.py``) would keep its cached machine code
after those functions changed: an upgraded entm could run yesterday's
environment.  Every kernel defined through :func:`njit` is therefore cached
in a directory named after a hash of all of entm's kernel sources
(:data:`KERNEL_MODULES`): any change to any of them starts a fresh cache.

The directory is ``$NUMBA_CACHE_DIR/entm-<hash>`` when numba's cache directory
is set, else ``$XDG_CACHE_HOME/entm/numba-<hash>`` (``~/.cache`` by default);
numba's own setting is restored after each decoration, so other numba code is
not affected.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numba
from numba.core import config

#: every module of entm that compiles numba kernels (paths relative to the ``entm`` package); the
#: cache's name hashes all of them.  tests/test_architecture.py checks that the list is complete.
KERNEL_MODULES = ("phenotype/kernels.py", "phenotype/tape_kernel.py", "phenotype/soft_kernel.py",
                  "closed_env.py", "closed_kernel.py", "evolution/packed.py", "evolution/novelty.py",
                  "evolution/distance.py", "evolution/kmeans.py", "jit.py")


@lru_cache(maxsize=1)
def cache_dir() -> str:
    """Where entm's kernels are cached (see the module docstring)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(numba.__version__.encode())
    for name in KERNEL_MODULES:
        h.update(name.encode())
        h.update((root / name).read_bytes())
    tag = h.hexdigest()[:16]
    if config.CACHE_DIR:
        return os.path.join(config.CACHE_DIR, f"entm-{tag}")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "entm", f"numba-{tag}")


def njit(*args, **kwargs):
    """``numba.njit`` (same arguments); with ``cache=True`` the function is cached in :func:`cache_dir`."""
    if args and callable(args[0]):  # used bare: @njit
        return njit(**kwargs)(args[0])

    def decorate(func):
        if not kwargs.get("cache"):
            return numba.njit(*args, **kwargs)(func)
        saved = config.CACHE_DIR
        config.CACHE_DIR = cache_dir()
        try:
            return numba.njit(*args, **kwargs)(func)
        finally:
            config.CACHE_DIR = saved

    return decorate
