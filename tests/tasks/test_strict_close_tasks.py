"""What repeat copy, associative recall and priority sort share (tasks.common): scoring and shaping."""

import numpy as np
import pytest

from entm.machine import Trace
from entm.tasks import make_task
from entm.tasks.common import RANDOM_SCORE

STRICT_CLOSE = ["repeat_copy", "associative_recall", "priority_sort"]


def _trace(eps, reads=None):
    """The trace of an ideal machine: store step t writes (strength 1) to cell t, nothing else is
    written, and every scored step with a source reads the cell its source went to."""
    B, T = eps.mask.shape
    write_pos = np.broadcast_to(np.arange(T)[None, :, None], (B, T, 1)).copy()
    strength = eps.info["store"][:, :, None].astype(float)
    read_pos = np.zeros((B, T, 1), dtype=np.int64)
    rows, t = np.nonzero(eps.mask & (eps.info["source"] >= 0))
    read_pos[rows, t - 1, 0] = eps.info["source"][rows, t]
    if reads is None:
        reads = np.zeros((B, T, 4))
    return Trace(reads=reads, write_pos=write_pos, write_strength=strength, read_pos=read_pos)


@pytest.mark.parametrize("name", STRICT_CLOSE)
def test_trace_shaping_of_an_ideal_machine(name):
    task = make_task(name, {"vector_size": 2})
    eps = task.sample(np.random.default_rng(4), 30)
    pad = np.zeros(eps.targets.shape[:2] + (3,))
    ideal = _trace(eps, np.concatenate([eps.targets, pad], axis=2))  # the reads carry the targets
    terms = task.shape(eps, eps.targets, ideal)
    assert set(terms) == {"recall", "alignment", "writes"}
    for k, v in terms.items():
        assert np.allclose(v, 1.0), k
    assert np.allclose(task.fitness(eps, eps.targets, task.score(eps, eps.targets), ideal), 1.0)
    # two networks' runs of the same episodes stacked (how the evaluator scores a chunk): the same terms
    stacked = Trace(*(np.concatenate([a, a]) for a in (ideal.reads, ideal.write_pos, ideal.write_strength,
                                                       ideal.read_pos)))
    twice = task.shape(eps.tile(2), np.concatenate([eps.targets] * 2), stacked, groups=2)
    for k, v in twice.items():
        assert np.allclose(v, 1.0), k
    plain = make_task(name, {"vector_size": 2, "shaping": "none"})
    assert plain.shape(eps, eps.targets, ideal) == {}
    half = np.full_like(eps.targets, 0.4)
    assert np.array_equal(plain.fitness(eps, half, plain.score(eps, half), ideal), plain.score(eps, half).score)


@pytest.mark.parametrize("name", STRICT_CLOSE)
def test_trace_shaping_of_broken_machines(name):
    task = make_task(name, {"vector_size": 2})
    eps = task.sample(np.random.default_rng(6), 30)
    blank = _trace(eps)
    assert np.allclose(task.shape(eps, eps.targets, blank)["recall"], 0.0)
    # reading one cell off: a near miss, 0.5 ** 2
    off = _trace(eps)
    off.read_pos += 1
    assert np.allclose(task.shape(eps, eps.targets, off)["alignment"], 0.25)
    # every store step writes to cell 0: only the first is fresh, and all but the last are overwritten
    same = _trace(eps)
    same.write_pos[:] = 0
    same.read_pos[:] = 0
    terms = task.shape(eps, eps.targets, same)
    n_store = eps.info["store"].sum(axis=1)
    assert np.allclose(terms["writes"], 1.0 / n_store)
    last = eps.info["store"].shape[1] - 1 - np.argmax(eps.info["store"][:, ::-1], axis=1)  # last store step
    src = np.where(eps.mask & (eps.info["source"] >= 0), eps.info["source"], -1)
    n_src = (src >= 0).sum(axis=1)
    assert np.allclose(terms["alignment"], (src == last[:, None]).sum(axis=1) / n_src)
    # weak writes (strength below 0.5) store nothing
    weak = _trace(eps)
    weak.write_strength *= 0.4
    terms = task.shape(eps, eps.targets, weak)
    assert np.allclose(terms["writes"], 0.0) and np.allclose(terms["alignment"], 0.0)


@pytest.mark.parametrize("name", STRICT_CLOSE)
def test_perfect_outputs_score_1_random_ones_0_125(name):
    task = make_task(name)
    eps = task.sample(np.random.default_rng(2), 400)
    perfect = task.score(eps, eps.targets)
    assert np.allclose(perfect.score, 1.0) and perfect.perfect.all() and not perfect.bit_errors.any()
    rand = task.score(eps, np.random.default_rng(3).random(eps.targets.shape))
    assert rand.score.mean() == pytest.approx(RANDOM_SCORE, abs=0.01)  # the docstrings' expectation
    assert RANDOM_SCORE == 0.125


@pytest.mark.parametrize("name", STRICT_CLOSE)
def test_nonfinite_and_wrong_side_outputs(name):
    task = make_task(name, {"vector_size": 3})
    eps = task.sample(np.random.default_rng(5), 20)
    nan = task.score(eps, np.full_like(eps.targets, np.nan))
    assert np.allclose(nan.score, 0.0) and not nan.perfect.any()
    flipped = task.score(eps, 1.0 - eps.targets)
    assert np.allclose(flipped.score, 0.0)
    assert np.array_equal(flipped.bit_errors, eps.mask.sum(axis=1) * task.num_outputs)


@pytest.mark.parametrize("name", STRICT_CLOSE)
def test_readout_shaping(name):
    """The opt-in readout term: 1 when the outputs follow the reads that carry the targets (whatever the
    channel and its sign), graded for a weak wiring, 0 for outputs that ignore the reads; the other terms
    are those of "trace"."""
    task = make_task(name, {"vector_size": 2, "shaping": "readout"})
    trace_task = make_task(name, {"vector_size": 2})
    eps = task.sample(np.random.default_rng(4), 30)
    V = 2
    bits = eps.targets[:, :, :V]
    # the reads carry the targets inverted, in channels 3 and 1 (not 0 and 1)
    reads = np.zeros(eps.targets.shape[:2] + (5,))
    reads[:, :, 3], reads[:, :, 1] = 1 - bits[:, :, 0], 1 - bits[:, :, 1]
    ideal = _trace(eps, reads)
    terms = task.shape(eps, eps.targets, ideal)
    assert set(terms) == {"recall", "alignment", "writes", "readout"}
    assert np.allclose(terms["readout"], 1.0)
    for k, v in trace_task.shape(eps, eps.targets, ideal).items():
        assert np.array_equal(terms[k], v), k
    # a weak wiring (outputs 0.5 +- 0.05 after the reads): no strict-close credit yet, full readout credit
    weak = eps.targets.copy()
    weak[:, :, :V] = 0.45 + 0.1 * bits
    flat = eps.targets.copy()
    flat[:, :, :V] = 0.5
    assert np.array_equal(task.score(eps, weak).score, task.score(eps, flat).score)
    assert np.allclose(task.shape(eps, weak, ideal)["readout"], 1.0)
    # outputs against the reads' sign, or ignoring them: nothing
    assert np.allclose(task.shape(eps, 1 - eps.targets, ideal)["readout"], 0.0)
    noise = np.random.default_rng(1).random(eps.targets.shape)
    assert task.shape(eps, noise, ideal)["readout"].max() < 0.2
    # outputs that follow a read carrying nothing of the targets: nothing (the term is weighted by the reads)
    junk = np.zeros_like(reads)
    junk[:, :, 0] = np.random.default_rng(2).random(reads.shape[:2])
    follow = eps.targets.copy()
    follow[:, :, :V] = junk[:, :, :1]
    assert task.shape(eps, follow, _trace(eps, junk))["readout"].max() < 0.2
    # two networks stacked: each its own value
    stacked = Trace(*(np.concatenate([a, a]) for a in (ideal.reads, ideal.write_pos, ideal.write_strength,
                                                       ideal.read_pos)))
    both = task.shape(eps.tile(2), np.concatenate([eps.targets, 1 - eps.targets]), stacked, groups=2)["readout"]
    assert np.allclose(both[:30], 1.0) and np.allclose(both[30:], 0.0)
