"""A real multi-node Ray cluster on this machine, for measurements and tests (``entm bench --generation
--local-cluster K``, the cluster tests).

Each node is a ``ray start --block`` child process in its own session (dashboard off, token authentication
off: the cluster listens on 127.0.0.1 only and lives as long as this object).  Nodes are ended by their
process ids, their sessions with them: never ``ray stop``, which would end every Ray process on the machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from entm.errors import EntmError

#: ``ray`` of this interpreter (a virtual environment made with --system-site-packages has no ``ray`` script)
RAY = [sys.executable, "-m", "ray.scripts.scripts"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """A head and ``nodes - 1`` more nodes on 127.0.0.1, ``cpus`` CPUs each; ``address`` to connect to,
    ``env`` the environment its processes (and a driver started as a child) run with."""

    def __init__(self, nodes: int = 2, cpus: int = 1, env: dict | None = None, timeout: float = 90):
        if nodes < 1 or cpus < 1:
            raise EntmError(f"a local cluster needs at least 1 node and 1 CPU per node, got {nodes} and {cpus}")
        self.env = dict(os.environ if env is None else env, RAY_AUTH_MODE="disabled")
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.procs: list[subprocess.Popen] = []
        try:
            self.procs.append(self._start([*RAY, "start", "--head", "--block", "--port", str(port), "--num-cpus",
                                           str(cpus), "--node-ip-address", "127.0.0.1",
                                           "--include-dashboard", "false"]))
            _wait_port(port, timeout)
            for _ in range(nodes - 1):
                self.procs.append(self._start([*RAY, "start", "--block", "--address", self.address,
                                               "--num-cpus", str(cpus), "--node-ip-address", "127.0.0.1"]))
            _wait_nodes(self.address, self.env, nodes, timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, cmd):
        return subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def kill(self) -> None:
        """The whole cluster goes away at once (SIGKILL to each node's process group)."""
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.wait(timeout=30)

    def stop(self) -> None:
        """Each node ends (SIGTERM, its process group SIGKILLed after 30 s)."""
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)


def _wait_port(port: int, timeout: float) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise EntmError(f"the local Ray head did not start listening on port {port} within {timeout:g} s")


def _wait_nodes(address: str, env: dict, n: int, timeout: float) -> None:
    code = ("import ray,sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "print(sum(1 for x in ray.nodes() if x['Alive']))")
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = subprocess.run([sys.executable, "-c", code, address], env=env, capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip().isdigit() and int(r.stdout.strip()) >= n:
            return
        time.sleep(1)
    raise EntmError(f"the local Ray cluster did not reach {n} nodes within {timeout:g} s")
