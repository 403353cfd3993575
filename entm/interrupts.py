"""Ctrl-C that Python would otherwise drop.

A SIGINT raises KeyboardInterrupt in whatever Python code runs at that moment.  When that code is a
callback called from C (numba's compiler calls Python through ctypes while it loads the compiled kernels;
importlib's module locks have weakref callbacks), Python reports "Exception ignored" and drops the
exception: the program would go on as though no Ctrl-C had come, and exit 0.  :func:`install` (the
``entm`` program's first step: ``python -m entm`` and the ``entm`` script alike) records every SIGINT
and silences the report of a dropped one; :func:`check` raises it again at the next safe point: after
start-up, after each generation or training step, and at the command's end.  So a Ctrl-C is never
lost, whenever it lands.
"""

from __future__ import annotations

import signal
import sys

_seen = False


def _on_sigint(signum, frame) -> None:
    global _seen
    _seen = True
    raise KeyboardInterrupt


def _silence_dropped(report):
    def hook(unraisable) -> None:
        global _seen
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            _seen = True  # dropped where it was raised; check() raises it where it can be handled
            return
        report(unraisable)

    return hook


def install() -> None:
    """Record SIGINT from now on (unless it is ignored, as in a background job started with ``nohup``).
    Installing twice changes nothing."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
    if not getattr(sys.unraisablehook, "entm_interrupts", False):
        sys.unraisablehook = _silence_dropped(sys.unraisablehook)
        sys.unraisablehook.entm_interrupts = True


def check() -> None:
    """Raise KeyboardInterrupt if a SIGINT came since :func:`install`, whether or not it was dropped."""
    if _seen:
        raise KeyboardInterrupt
