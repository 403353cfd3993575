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
from entm.evolution import ray_reaper
from entm.evolution.gc_pause import gc_paused
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


def _worker_evaluator(settings_key: str, settings: EvalSettings) -> GenomeEvaluator:
    """The worker process's evaluator for this run, built once per process."""
    ev = _CACHE.get(settings_key)
    if ev is None:
        _CACHE.clear()
        ev = _CACHE[settings_key] = GenomeEvaluator(settings)
    return ev


def _where(stats: dict) -> dict:
    import ray

    stats["node"] = ray.get_runtime_context().get_node_id()
    stats["pid"] = os.getpid()
    return stats


def _ready(settings_key: str, settings: EvalSettings) -> None:
    """Runs on a worker: build this run's evaluator (imports, task, machine)."""
    _worker_evaluator(settings_key, settings)


def _evaluate_chunk(settings_key: str, settings: EvalSettings, generation: int, *parts: list):
    """Runs on a worker: evaluate one chunk (its genomes in ``parts``, see :func:`split_inline`); the
    evaluator is built once per process."""
    genomes = [g for part in parts for g in part]
    with gc_paused():  # entm.evolution.gc_pause
        results, stats = _worker_evaluator(settings_key, settings).evaluate(genomes, generation)
    return results, _where(stats)


def _apply_chunk(settings_key: str, settings: EvalSettings, generation: int, function, plan, *parts: list):
    """Runs on a worker: ``function(evaluator, generation, plan, items)`` (items in ``parts``); returns its
    (…, stats) with the worker's node and process added to stats."""
    out = function(_worker_evaluator(settings_key, settings), generation, plan, [g for part in parts for g in part])
    _where(out[-1])
    return out


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


def check_address(address: str) -> str:
    """Fail fast (one line, within CONNECT_TIMEOUT) when ``HOST:PORT`` or ``ray://HOST:PORT`` does not answer;
    ``auto`` is first resolved as Ray resolves it (``RAY_ADDRESS``, else the address file of the last
    ``ray start``, ``<RAY_TMPDIR or TMPDIR or /tmp>/ray/ray_current_cluster``, else a running local GCS),
    so that a stale address file is one line instead of Ray's endless retries."""
    if address == "auto":
        try:
            resolved = _resolve_auto()
        except Exception as e:  # ConnectionError: no cluster found; anything else from Ray's lookup
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EntmError(f"--ray-address auto: no running Ray cluster found ({first})") from None
        if not resolved or resolved == "auto":
            raise EntmError("--ray-address auto: no running Ray cluster found")
        try:
            check_address(resolved)
        except EntmError as e:
            raise EntmError(f"--ray-address auto resolved to {resolved} (RAY_ADDRESS or Ray's address file "
                            f"of the last `ray start`, which may be stale): {e}") from None
        return resolved
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
    return address


def _resolve_auto() -> str | None:
    """``auto`` as the address of one cluster: ``RAY_ADDRESS``; else the address file of the last ``ray start``
    (Ray's ``ray_current_cluster``: the cluster ``auto`` means); else a running GCS found by Ray's scan."""
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env:
        return env
    from ray._common.utils import get_ray_address_file

    path = get_ray_address_file(None)
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip() or None
    from ray._private.services import get_ray_address_from_environment

    return get_ray_address_from_environment("auto", None)


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
            address = check_address(address)  # auto: the one cluster it resolves to, connected to as such
            try:
                with quiet_stderr(not verbose):
                    ray.init(address=address, log_to_driver=verbose,
                             logging_level=logging.WARNING if verbose else logging.ERROR)
            except Exception as e:  # ConnectionError, auth errors, version mismatch ...
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise EntmError(f"cannot connect to Ray cluster at {address}: {first}") from None
        else:
            n = workers or os.cpu_count() or 1
            if n > 2 * (os.cpu_count() or 1):  # the workers time-share the cores: slower, never faster
                print(f"entm: warning: {n} Ray workers on {os.cpu_count()} cores: they share the cores "
                      f"(more memory, no more speed); --workers {os.cpu_count()} would do as much", file=sys.stderr)
            with quiet_stderr(not verbose):
                ray.init(address="local", num_cpus=n, include_dashboard=False, log_to_driver=verbose,
                         logging_level=logging.WARNING if verbose else logging.ERROR)
            self.started_ray = True
            ray_reaper.start()  # kills what Ray would leave running if this process is killed
        try:
            host, _, port = ray.get_runtime_context().gcs_address.rpartition(":")
            self.gcs = (host, int(port))
        except Exception:  # Ray client mode has no GCS address here
            self.gcs = None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, int(workers) if workers else cpus)
        self.remote = ray.remote(num_cpus=1, max_retries=5)(_evaluate_chunk)
        self.remote_apply = ray.remote(num_cpus=1, max_retries=5)(_apply_chunk)
        self.settings_ref = ray.put(settings)
        self.key = f"{id(self)}-{time.time_ns()}"
        if not self.started_ray:
            self._warm_nodes()

    def _warm_nodes(self, timeout: float = 120.0) -> None:
        """On a cluster of several nodes, start a worker with this run's evaluator built on every node with a
        CPU before the first generation: otherwise a node whose worker process is still starting gets no
        work while the others finish short generations (Ray hands the next task to the worker already
        running).  Nodes that are not ready within ``timeout`` seconds join later, as Ray places work."""
        ray = self.ray
        try:
            nodes = [x["NodeID"] for x in ray.nodes() if x.get("Alive") and x.get("Resources", {}).get("CPU", 0) >= 1]
        except Exception:  # Ray client mode: no node table here
            return
        if len(nodes) < 2:
            return
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ready = ray.remote(num_cpus=1, max_retries=0)(_ready)
        refs = [ready.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
                .remote(self.key, self.settings_ref) for node in nodes]
        ray.wait(refs, num_returns=len(refs), timeout=timeout)

    def __call__(self, genomes: list, generation: int) -> tuple[dict, dict]:
        # compact genomes: neat-python genome objects pickle slowly and large
        t0 = time.perf_counter()
        n_chunks = max(1, min(len(genomes), self.workers * CHUNKS_PER_WORKER))
        size = -(-len(genomes) // n_chunks)
        self._check_alive(generation)
        refs = []
        for i in range(0, len(genomes), size):  # each chunk is sent as soon as it is packed: workers start early
            chunk = [(gid, GenomeData.from_genome(g)) for gid, g in genomes[i:i + size]]
            refs.append(self.remote.remote(self.key, self.settings_ref, generation, *split_inline(chunk)))
        outs, info = self._gather(generation, t0, refs)
        results: dict = {}
        steps = 0
        for res, st in outs:
            for gid, r in res.items():
                if gid in results:
                    raise RuntimeError(f"genome {gid} evaluated twice")
                results[gid] = r
            steps += st["genome_steps"]
        missing = [gid for gid, _ in genomes if gid not in results]
        if missing:
            raise RuntimeError(f"genomes {missing[:5]} were not evaluated")
        return results, {"genome_steps": steps, "seconds": time.perf_counter() - t0, **info}

    def map(self, function, tasks: list, generation: int) -> tuple[list, dict]:
        """Run ``function(evaluator, generation, plan, items)`` on the workers for each (plan, items) of
        ``tasks`` (items sent inline, :func:`split_inline`); returns the outputs in order (each ends with a
        stats dict) and the driver's own figures (send_seconds, gather_seconds, workers, nodes)."""
        t0 = time.perf_counter()
        self._check_alive(generation)
        refs = [self.remote_apply.remote(self.key, self.settings_ref, generation, function, plan,
                                         *split_inline(items)) for plan, items in tasks]
        return self._gather(generation, t0, refs)

    def _gather(self, generation: int, t0: float, refs: list) -> tuple[list, dict]:
        """Get the outputs of ``refs`` (each as soon as it is ready; the cluster checked while waiting), in
        order; the driver's own time (sending since ``t0``, receiving the outputs) and where the work ran."""
        ray = self.ray
        t_sent = time.perf_counter()
        got: dict = {}
        gather = 0.0
        try:
            pending = list(refs)
            while pending:  # each result is received as soon as it is there, while the others still run
                ready, pending = ray.wait(pending, num_returns=1, timeout=HEALTH_PERIOD)
                if not ready:
                    self._check_alive(generation)
                    continue
                t1 = time.perf_counter()
                got.update(zip(ready, ray.get(ready)))
                gather += time.perf_counter() - t1
            outs = [got[r] for r in refs]
        except EntmError:
            raise
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EntmError(f"Ray evaluation of generation {generation} failed: {type(e).__name__}: {first}") \
                from None
        nodes = {out[-1]["node"] for out in outs}
        pids = {(out[-1]["node"], out[-1]["pid"]) for out in outs}
        return outs, {"workers": len(pids), "nodes": len(nodes), "send_seconds": t_sent - t0,
                      "gather_seconds": gather}

    def retarget(self, **changes) -> None:
        """Evaluate with these EvalSettings fields changed from now on (a curriculum's stage's ``task_params``,
        ``replay``): new settings under a new key, so every worker builds its evaluator afresh."""
        self.settings = replace(self.settings, **changes)
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
