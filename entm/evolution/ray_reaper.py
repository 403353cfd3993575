"""No orphaned Ray processes when the driver dies (SIGKILL, OOM killer): a small watchdog process.

An embedded local Ray (``ray.init(address="local")``) shares the driver's fate only in part: after a SIGKILL
of the driver, Ray 2.x leaves its ``DashboardAgent`` and ``RuntimeEnvAgent`` running, reparented to init,
indefinitely (measured: still alive minutes later; their own raylet check blocks on the dead GCS).
:func:`start` launches ``python -m entm.evolution.ray_reaper <driver pid>`` in its own session: every
``POLL`` seconds it records the driver's descendants (pid and start time, from /proc), and once the driver is
gone it waits ``GRACE`` seconds (Ray's own clean-up first) and kills those of them still alive (the same pid
with the same start time: a reused pid is never touched).  It exits with the driver, however it ends.
Linux only (/proc); elsewhere nothing is started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

POLL = 1.0
GRACE = 3.0


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(root: int) -> dict[int, int]:
    """{pid: start time} of every live descendant of ``root``."""
    children: dict[int, list[int]] = {}
    starts = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
                starts[int(name)] = st[1]
    out, todo = {}, [root]
    while todo:
        for c in children.get(todo.pop(), ()):
            if c not in out:
                out[c] = starts[c]
                todo.append(c)
    return out


def watch(driver: int) -> None:
    """Record the driver's descendants until it dies, then kill the ones still alive."""
    own = _stat(driver)
    if own is None:
        return
    seen: dict[int, int] = {}
    while _stat(driver) == own:
        seen.update(_descendants(driver))
        seen.pop(os.getpid(), None)
        time.sleep(POLL)
    time.sleep(GRACE)
    for pid, start in seen.items():
        st = _stat(pid)
        if st is not None and st[1] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def start() -> None:
    """Start the watchdog of this process (Linux; a no-op elsewhere)."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"):
        return
    subprocess.Popen([sys.executable, "-m", "entm.evolution.ray_reaper", str(os.getpid())],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the driver
    watch(int(sys.argv[1]))
