"""Fitness evaluation on Ray: an embedded local Ray, or an existing cluster.

Built for Ray's costs (about half a millisecond per task):

* the run's :class:`EvalSettings` (config *text*, task, memory, seed) go to the
  object store once per run (``ray.put``); each worker process builds its
  :class:`GenomeEvaluator` (neat-python config, task, machine) once and keeps
  it for every later chunk;
* a generation's genomes travel in a few chunks per worker (each chunk is many
  milliseconds of work), results come back keyed by genome id;
* episodes are drawn on the worker from (run seed, generation), so a genome's
  fitness does not depend on the worker that evaluated it or on the order in
  which chunks come back;
* Ray retries a chunk whose worker process died (``max_retries``): a killed
  worker costs time, not results.  Each chunk is evaluated whole or not at all,
  so no genome is lost or counted twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
import socket
import time
from dataclasses import replace
from urllib.parse import urlparse

from entm.errors import EntmError
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from entm.phenotype import GenomeData

#: chunks per worker and generation (load balancing vs per-task overhead)
CHUNKS_PER_WORKER = 2
#: seconds to wait for a TCP connection to a cluster address before giving up
CONNECT_TIMEOUT = 10.0
#: seconds between health checks of the cluster while a generation is evaluated
HEALTH_PERIOD = 2.0
#: seconds the cluster's GCS may be unreachable before the run stops
GCS_GRACE = 10.0
# Ray ends a driver whose GCS stays unreachable for this long (default 60 s), with
# no message; entm's own check (GCS_GRACE) must come first and say what happened.
os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", "300")

#: bytes of pickled genomes per task argument: under Ray's inline limit (max_direct_call_object_size,
#: 100 KiB), so a task's genomes travel inside the task itself and the driver never writes to the node's
#: object store.  Ray ends a driver on the spot (exit status 1, no message) when a write to a dead node's
#: object store fails: with inline arguments, a cluster that goes away is noticed and reported by entm.
INLINE_ARG_BYTES = 90_000

_CACHE: dict = {}


def _evaluate_chunk(settings_key: str, settings: EvalSettings, generation: int, *parts: list):
    """Runs on a worker: evaluate one chunk (its genomes in ``parts``, see :func:`split_inline`); the
    evaluator is built once per process."""
    import ray

    genomes = [g for part in parts for g in part]
    ev = _CACHE.get(settings_key)
    if ev is None:
        _CACHE.clear()
        ev = _CACHE[settings_key] = GenomeEvaluator(settings)
    results, stats = ev.evaluate(genomes, generation)
    ctx = ray.get_runtime_context()
    stats["node"] = ctx.get_node_id()
    stats["pid"] = os.getpid()
    return results, stats


@contextlib.contextmanager
def quiet_stderr(enabled: bool):
    """Silence file descriptor 2 (where Ray's C++ core logs) while Ray starts."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def split_inline(chunk: list) -> list[list]:
    """A chunk's (id, GenomeData) pairs in consecutive parts of at most about INLINE_ARG_BYTES pickled bytes
    each (sized from the chunk's largest genome)."""
    if not chunk:
        return [chunk]
    per = max(len(pickle.dumps(g, protocol=pickle.HIGHEST_PROTOCOL)) for g in chunk[:: max(1, len(chunk) // 8)])
    n = max(1, INLINE_ARG_BYTES // (2 * per))  # a factor 2 of room: genomes of one chunk differ in size
    return [chunk[i:i + n] for i in range(0, len(chunk), n)]


def check_address(address: str) -> None:
    """Fail fast (one line) when ``HOST:PORT`` or ``ray://HOST:PORT`` does not answer."""
    if address == "auto":
        return
    target = address
    if "://" in address:
        u = urlparse(address)
        host, port = u.hostname, u.port
    else:
        host, _, port = target.rpartition(":")
        try:
            port = int(port)
        except ValueError:
            port = None
    if not host or not port:
        raise EntmError(f"--ray-address {address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as e:
        raise EntmError(f"cannot reach Ray cluster at {address}: {e.strerror or e}") from None


class RayEvaluator:
    """Evaluates a generation's genomes on Ray workers, in chunks."""

    name = "ray"

    def __init__(self, settings: EvalSettings, workers: int | None = None, address: str | None = None,
                 verbose: bool = False):
        import ray

        self.ray = ray
        self.settings = settings
        self.started_ray = False
        if not verbose:  # Ray's C++ core logs errors to the driver's stderr; entm says what happened itself
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        if ray.is_initialized():
            pass
        elif address:
            check_address(address)
            try:
                with quiet_stderr(not verbose):
                    ray.init(address=address, log_to_driver=verbose,
                             logging_level=logging.WARNING if verbose else logging.ERROR)
            except Exception as e:  # ConnectionError, auth errors, version mismatch ...
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise EntmError(f"cannot connect to Ray cluster at {address}: {first}") from None
        else:
            n = workers or os.cpu_count() or 1
            with quiet_stderr(not verbose):
                ray.init(address="local", num_cpus=n, include_dashboard=False, log_to_driver=verbose,
                         logging_level=logging.WARNING if verbose else logging.ERROR)
            self.started_ray = True
        try:
            host, _, port = ray.get_runtime_context().gcs_address.rpartition(":")
            self.gcs = (host, int(port))
        except Exception:  # Ray client mode has no GCS address here
            self.gcs = None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, int(workers) if workers else cpus)
        self.remote = ray.remote(num_cpus=1, max_retries=5)(_evaluate_chunk)
        self.settings_ref = ray.put(settings)
        self.key = f"{id(self)}-{time.time_ns()}"

    def __call__(self, genomes: list, generation: int) -> tuple[dict, dict]:
        ray = self.ray
        # compact genomes: neat-python genome objects pickle slowly and large
        genomes = [(gid, GenomeData.from_genome(g)) for gid, g in genomes]
        n_chunks = max(1, min(len(genomes), self.workers * CHUNKS_PER_WORKER))
        size = -(-len(genomes) // n_chunks)
        chunks = [genomes[i:i + size] for i in range(0, len(genomes), size)]
        t0 = time.perf_counter()
        self._check_alive(generation)
        refs = [self.remote.remote(self.key, self.settings_ref, generation, *split_inline(c)) for c in chunks]
        try:
            pending = list(refs)
            while pending:
                _, pending = ray.wait(pending, num_returns=len(pending), timeout=HEALTH_PERIOD)
                if pending:
                    self._check_alive(generation)
            outs = ray.get(refs)
        except EntmError:
            raise
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EntmError(f"Ray evaluation of generation {generation} failed: {type(e).__name__}: {first}") \
                from None
        results: dict = {}
        steps = 0
        nodes, pids = set(), set()
        for res, st in outs:
            for gid, r in res.items():
                if gid in results:
                    raise RuntimeError(f"genome {gid} evaluated twice")
                results[gid] = r
            steps += st["genome_steps"]
            nodes.add(st["node"])
            pids.add((st["node"], st["pid"]))
        missing = [gid for gid, _ in genomes if gid not in results]
        if missing:
            raise RuntimeError(f"genomes {missing[:5]} were not evaluated")
        return results, {"genome_steps": steps, "seconds": time.perf_counter() - t0,
                         "workers": len(pids), "nodes": len(nodes)}

    def retarget(self, task_params: dict) -> None:
        """Evaluate with these task parameters from now on (a curriculum's stage, entm.evolution.curriculum):
        new settings under a new key, so every worker builds its evaluator afresh."""
        self.settings = replace(self.settings, task_params=dict(task_params))
        self.settings_ref = self.ray.put(self.settings)
        self.key = f"{id(self)}-{time.time_ns()}"

    def _check_alive(self, generation: int) -> None:
        """Raise a one-line EntmError when the cluster's GCS stops answering for GCS_GRACE seconds."""
        if self.gcs is None:
            return
        t0 = time.monotonic()
        while True:
            try:
                with socket.create_connection(self.gcs, timeout=2.0):
                    return
            except OSError:
                if time.monotonic() - t0 > GCS_GRACE:
                    raise EntmError(f"the Ray cluster at {self.gcs[0]}:{self.gcs[1]} went away during generation "
                                    f"{generation}; the run directory holds the last completed generation") \
                        from None
                time.sleep(0.5)

    def close(self):
        if self.ray.is_initialized() and (self.started_ray or self._gcs_up()):
            self.ray.shutdown()

    def _gcs_up(self) -> bool:
        if self.gcs is None:
            return True
        try:
            with socket.create_connection(self.gcs, timeout=2.0):
                return True
        except OSError:
            return False
