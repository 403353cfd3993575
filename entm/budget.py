"""Sizes that cannot fit: memory estimated from the arrays' known sizes before the work, refused in one line.

The limit is ``--max-memory`` (``4G``, ``512M``, ``1.5T``, or plain bytes); by default half of this machine's
physical memory (:func:`default_limit`), leaving the other half to the system and to other processes.  The
estimates are deliberately simple upper bounds of the big arrays (docs/commands.md, "Memory limits"):

* evaluating one network at a length L (``entm evaluate``, ``compare``, ``report``, ``plot generalization``):
  the task's steps T(L) (sampled at L when L <= 64, else measured at 32 and 64 and extrapolated
  linearly), and per episode the sampled task inputs, targets and mask, plus for running it the
  network's inputs and outputs and the task outputs per step and the memory (a discrete tape of up to heads x T cells, or the differentiable
  memory's cells, each ``width`` float64s); everything twice (the arrays and their temporaries).  When the
  sampled episodes fit but running them all at once would not, they run in pieces of episodes (the same
  numbers: every episode runs on its own) instead of being refused.
* an evolution run (``entm evolve``): the population, 2 x pop_size x the genes of a new genome (its
  initial_connection: inputs x outputs direct links, hidden x (inputs + outputs), ...) x 500 bytes, plus for
  each local evaluating process (1 serial, else the workers) one chunk of 16 genomes run on the generation's
  episodes at the task's longest training episode (the evaluation estimate above, the run part x 16).
* re-painting a hyper champion at another width (``entm evaluate --vector-size V``): the substrate's dense
  tables, 100 bytes per (controller output, controller input) pair, plus 150 per pair for the links when
  every pair may be linked (radius all).
* recording one episode for a memory plot (``entm plot memory``, ``entm report``; the default limit):
  every step keeps the memory's contents, and the plot draws them as a (cells x width, T) matrix that
  matplotlib copies: 12 x T x (up to heads x T tape cells, or the NTM memory's cells) x width x 8 bytes plus
  64 KiB per step: quadratic in the length for the discrete tape (measured: 1.6 GB at copy length 1000).
* drawing a network (``entm plot network``; the default limit): the figure's raster, width x height inches
  at 110 dpi x 4 bytes x 3 copies, plus 20 kB per node and link drawn (a 20,000-node chain is 20,000
  columns: a figure 40,000 inches wide, refused instead of drawn for hours).
* a training step (``entm train``): the parameters x 4 (weights, gradients, Adam's two states) and per
  sequence and step what backpropagation keeps (the NTM's cells x width memory, 6 values per cell and head,
  12 x hidden per controller layer) x 2, in float32, at the task's longest episode.
* a champion or network file: at most ``MAX_FILE_BYTES`` (a network of millions of nodes fits), and a
  regular file (``entm evaluate /dev/zero`` is refused before a byte is read).
"""

from __future__ import annotations

import os
import re

import numpy as np

from entm.errors import EntmError

#: the largest champion/network JSON file entm reads
MAX_FILE_BYTES = 512 * 2**20
#: share of the physical memory that is the default limit
DEFAULT_SHARE = 0.5
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def physical_memory() -> int:
    """This machine's physical memory in bytes."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB
        return 8 * 2**30


def default_limit() -> int:
    return int(DEFAULT_SHARE * physical_memory())


def parse_memory(text) -> int:
    """``4G`` / ``512M`` / ``1.5T`` / ``1000000`` -> bytes (binary units; a trailing ``B``/``iB`` allowed)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise EntmError(f"--max-memory must be a size like 4G, 512M or 1.5T, got {text!r}")
    value = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not value >= 2**20:
        raise EntmError(f"--max-memory must be at least 1M, got {text!r}")
    return int(value)


def human(n: float) -> str:
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.1f} {unit}iB"
    return f"{int(n)} B"


def limit_of(text) -> int:
    """The limit: ``--max-memory`` when given (a size, or bytes as an int), else :func:`default_limit`."""
    if text is None:
        return default_limit()
    return int(text) if isinstance(text, int) and not isinstance(text, bool) and text >= 2**20 else parse_memory(text)


def refuse_if_over(needed: float, limit: int, what: str, given: bool,
                   advice: str = "use fewer episodes or shorter lengths") -> None:
    """One-line EntmError when ``needed`` bytes exceed ``limit``."""
    if needed > limit:
        source = "--max-memory" if given else (f"--max-memory default: half of this machine's "
                                               f"{human(physical_memory())}")
        raise EntmError(f"{what} needs about {human(needed)} of memory (estimated before starting), over the "
                        f"limit of {human(limit)} ({source}); {advice}, or raise --max-memory")


def task_steps(task, length: int) -> int:
    """T(length) of a task: one episode sampled at ``length`` when it is short (<= 64); else measured at
    lengths 32 and 64 and extrapolated linearly (sampling the long episode itself is what is being sized)."""
    rng = np.random.default_rng(0)

    def steps(n):
        return int(np.max(task.sample(rng, 1, length=n).steps))

    length = int(length)
    if length <= 64:
        return steps(length)
    t1, t2 = steps(32), steps(64)
    return max(t2, t2 + -(-(t2 - t1) * (length - 64) // 32))


def _run_bytes_per_episode(machine, T: int) -> float:
    """Bytes of running one episode of T steps: network inputs/outputs, task outputs, the memory; x2."""
    task, spec = machine.task, machine.spec
    if spec.mode == "differentiable":
        mem = int(machine.memory.episode_cells([T])[0]) * spec.width  # N: fixed, or the episode's steps
    else:
        mem = spec.heads * T * spec.width
    return 2.0 * 8.0 * (T * (machine.num_inputs + machine.num_outputs + task.num_outputs) + mem)


def _sample_bytes_per_episode(machine, T: int) -> float:
    """Bytes of one sampled episode: task inputs, targets, mask; x2."""
    return 2.0 * 8.0 * T * (machine.task.num_inputs + machine.task.num_outputs + 1)


def evaluation_bytes(machine, length: int, episodes: int) -> float:
    """Estimated peak bytes of evaluating one network on ``episodes`` episodes at ``length`` in one piece."""
    T = task_steps(machine.task, length)
    return episodes * (_sample_bytes_per_episode(machine, T) + _run_bytes_per_episode(machine, T))


def evaluation_pieces(machine, length: int, episodes: int, limit: int, given: bool) -> int:
    """How many pieces (of episodes) an evaluation at ``length`` runs in so that it fits ``limit``: 1 when it
    fits whole; more when the episodes' inputs fit but running them all at once would not (the pieces give
    the same numbers: every episode runs on its own); a one-line EntmError when even one episode at a time,
    or the sampled episodes themselves, would not fit."""
    T = task_steps(machine.task, length)
    sample, run = episodes * _sample_bytes_per_episode(machine, T), _run_bytes_per_episode(machine, T)
    what = f"evaluating {episodes} episodes at length {length} (in pieces of one episode)"
    if sample + episodes * run <= limit:
        return 1
    refuse_if_over(sample + run, limit, what, given)
    per_piece = max(1, int((limit - sample) // run))
    return -(-episodes // per_piece)


#: bytes of one neat-python gene in a genome (a Python object with its attributes; measured ~300-450)
GENE_BYTES = 500
#: genomes evaluated at once by one evaluating process (entm.evolution.evaluator.CHUNK)
EVAL_CHUNK = 16


def initial_genes(genome_config) -> int:
    """Genes (nodes and connections) of a new genome under ``genome_config``'s initial_connection."""
    n_in, n_out, hidden = genome_config.num_inputs, genome_config.num_outputs, genome_config.num_hidden
    kind = genome_config.initial_connection
    frac = genome_config.connection_fraction or 1.0
    conns = 0
    if kind.startswith(("full", "partial")):
        conns = n_in * hidden + hidden * n_out + (0 if kind.endswith("nodirect") and hidden else n_in * n_out)
        if not genome_config.feed_forward:
            conns += hidden * hidden
        conns = int(conns * (frac if kind.startswith("partial") else 1.0))
    elif kind.startswith("fs_neat"):
        conns = n_out + hidden * 2
    return n_out + hidden + conns


def evolution_bytes(machine, config, episodes: int) -> tuple[float, float]:
    """(population bytes, evaluation bytes per evaluating process) of an evolution run: the population's
    genomes (pop_size x initial genes x GENE_BYTES, doubled: parents and offspring) and one chunk of
    EVAL_CHUNK genomes run on the generation's episodes at the task's longest training episode."""
    population = 2.0 * config.pop_size * initial_genes(config.genome_config) * GENE_BYTES
    task = machine.task
    if not hasattr(task, "num_inputs") or not hasattr(task.sample(np.random.default_rng(0), 1), "steps"):
        return population, 0.0  # closed-loop reward tasks: their runs are bounded per chunk by the task
    length = getattr(task, "max_length", None)
    if length is not None:
        T = task_steps(task, length)
    else:
        T = int(np.max(task.sample(np.random.default_rng(0), 8).steps))
    run = episodes * (_sample_bytes_per_episode(machine, T) + EVAL_CHUNK * _run_bytes_per_episode(machine, T))
    return population, run


def check_evolution(machine, config, episodes: int, workers: int, max_memory) -> None:
    """Refuse (one line) an evolution run whose population and evaluation would not fit the limit: the driver
    holds the population, and each of ``workers`` evaluating processes on this machine its chunk."""
    population, run = evolution_bytes(machine, config, episodes)
    needed = population + max(1, workers) * run
    refuse_if_over(needed, limit_of(max_memory), f"evolving a population of {config.pop_size} "
                   f"({initial_genes(config.genome_config)} genes per genome at the start) on {episodes} episodes "
                   f"with {max(1, workers)} evaluating process(es)", max_memory is not None,
                   "use a smaller population, fewer hidden nodes, fewer episodes or fewer workers")


#: bytes per (controller output, controller input) pair of painting one hyper champion: the substrate's
#: query tables (int64 and float64 per pair) and the painted weights and mask
PAINT_PAIR_BYTES = 100
#: bytes per painted link when every pair may be linked (radius all): its key, weight and Python objects
LINK_BYTES = 150


def check_painting(machine, every_pair: bool, max_memory) -> None:
    """Refuse (one line) re-painting a hyper champion for ``machine`` (its new sizes) when the substrate's
    dense (outputs x inputs) tables would not fit: I x O x 100 bytes, plus 150 per pair when every pair may
    become a link (radius all)."""
    pairs = machine.num_inputs * machine.num_outputs
    needed = pairs * (PAINT_PAIR_BYTES + (LINK_BYTES if every_pair else 0))
    refuse_if_over(needed, limit_of(max_memory), f"re-painting the hyper champion for {machine.num_inputs} "
                   f"inputs x {machine.num_outputs} outputs", max_memory is not None, "use a smaller --vector-size")


#: bytes of the per-step record besides the memory's contents (a dict of small arrays per step)
STEP_RECORD_BYTES = 65536
#: copies of the memory's contents over the episode: the record, the drawn (cells x width, T) matrix and
#: matplotlib's resampled images of it (12: measured peak 1.6 GB at copy length 1000, estimate 1.8 GiB)
PLOT_COPIES = 12


def recording_bytes(machine, length: int) -> float:
    """Bytes of recording one episode at ``length`` for a memory plot: every step keeps the memory's contents
    (the discrete tape: up to heads x T cells of ``width``, twice that with the expand location, so about
    T x heads x T x width x 8 in all: quadratic in the length; the differentiable memory: cells x width plus
    the heads' weightings) and a small record; the contents are counted PLOT_COPIES times (the record, the
    drawn matrix, matplotlib's images)."""
    spec = machine.spec
    T = task_steps(machine.task, length)
    if spec.mode == "differentiable":
        cells = int(machine.memory.episode_cells([T])[0])  # N: fixed, or the episode's steps
        per_step = 8.0 * (cells * spec.width + 2 * spec.heads * cells)
    else:
        cells = spec.heads * T * (2 if spec.options.get("expand_location") else 1)
        if machine.spec.options.get("max_cells"):
            cells = min(cells, int(machine.spec.options["max_cells"]))
        per_step = 8.0 * cells * spec.width
    return T * (PLOT_COPIES * per_step + STEP_RECORD_BYTES)


def check_recording(machine, length: int, max_memory=None) -> None:
    """Refuse (one line) a memory plot whose recorded episode would not fit the limit."""
    refuse_if_over(recording_bytes(machine, length), limit_of(max_memory),
                   f"recording the memory of an episode at length {length}", max_memory is not None,
                   "plot a shorter --length")


#: a drawing's raster: dots per inch of a saved PNG (entm.analysis.common.save_figure), bytes per pixel
#: (RGBA) and copies (the canvas, the saved image, matplotlib's buffers); bytes per drawn artist (a node or
#: a link: a FancyArrowPatch with its path and transforms)
DRAW_DPI, PIXEL_BYTES, RASTER_COPIES, ARTIST_BYTES = 110, 4, 3, 20_000


def drawing_bytes(size_inches: tuple[float, float], artists: int) -> float:
    w, h = size_inches
    return w * h * DRAW_DPI ** 2 * PIXEL_BYTES * RASTER_COPIES + artists * ARTIST_BYTES


def check_drawing(size_inches: tuple[float, float], artists: int, what: str, max_memory=None) -> None:
    """Refuse (one line) a figure whose raster and artists would not fit the limit (e.g. a network plot of a
    20,000-node chain: 20,000 columns, a figure 40,000 inches wide)."""
    w, h = size_inches
    refuse_if_over(drawing_bytes(size_inches, artists), limit_of(max_memory),
                   f"drawing {what} ({w:.0f} x {h:.0f} inches at {DRAW_DPI} dpi)", max_memory is not None,
                   "plot a smaller network")


def training_bytes(arch, num_inputs: int, num_outputs: int, batch: int, T: int) -> float:
    """Peak bytes of one training step (float32): the parameters with their gradients and Adam's two states
    (4 copies), and per sequence and step what backpropagation keeps: the NTM's memory matrix (cells x width)
    and its heads' weightings (6 per cell and head), the controller's gates (3 x 4 x hidden per layer), x2."""
    h, layers = arch.hidden_size, arch.layers
    if arch.model == "ntm":
        heads = arch.read_heads + arch.write_heads
        ctrl_in = num_inputs + arch.read_heads * arch.width
        params = (layers * 4 * h * (ctrl_in + h + 2) + h * (heads * (arch.width + 6) + arch.write_heads * 2 * arch.width)
                  + (h + arch.read_heads * arch.width) * num_outputs + arch.cells * arch.width)
        per_step = arch.cells * arch.width + 6 * heads * arch.cells + 12 * h * layers
    else:
        params = layers * 4 * h * (num_inputs + h + 2) + h * num_outputs
        per_step = 12 * h * layers
    return 4.0 * (4 * params + 2 * batch * T * per_step)


def check_training(arch, task, batch: int, max_memory) -> None:
    """Refuse (one line) a training run whose step would not fit the limit (at the task's longest episode)."""
    length = getattr(task, "max_length", None)
    T = task_steps(task, length) if length is not None else int(np.max(task.sample(np.random.default_rng(0), 8).steps))
    refuse_if_over(training_bytes(arch, task.num_inputs, task.num_outputs, batch, T), limit_of(max_memory),
                   f"training a {arch.model} (hidden {arch.hidden_size} x {arch.layers}"
                   + (f", memory {arch.cells} x {arch.width}" if arch.model == "ntm" else "")
                   + f") on batches of {batch} episodes of up to {T} steps", max_memory is not None,
                   "use a smaller model, memory or batch, or shorter episodes")


def check_network_file(path) -> None:
    """A champion/network file is a regular file of at most MAX_FILE_BYTES (before a byte is read)."""
    p = os.fspath(path)
    if os.path.exists(p) and not os.path.isfile(p):
        raise EntmError(f"{p}: not a regular file (a champion.json or a run directory expected)")
    if os.path.isfile(p) and os.path.getsize(p) > MAX_FILE_BYTES:
        raise EntmError(f"{p}: {human(os.path.getsize(p))}, larger than any network file entm reads "
                        f"({human(MAX_FILE_BYTES)})")
