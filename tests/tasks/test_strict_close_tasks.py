"""What repeat copy, associative recall and priority sort share (tasks.common): scoring and shaping."""

import numpy as np
import pytest

from entm.machine import Trace
from tasks import make_task
from tasks.common import RANDOM_SCORE

STRICT_CLOSE = ["repeat_copy", "associative_recall", "priority_sort"]


def _trace(reads):
    B, T, _ = reads.shape
    zeros = np.zeros((B, T, 1), dtype=np.int64)
    return Trace(reads=reads, write_pos=zeros, write_strength=zeros.astype(float), read_pos=zeros)


@pytest.mark.parametrize("name", STRICT_CLOSE)
def test_recall_shaping(name):
    task = make_task(name, {"vector_size": 2})
    eps = task.sample(np.random.default_rng(4), 30)
    pad = np.zeros(eps.targets.shape[:2] + (3,))
    full = _trace(np.concatenate([eps.targets, pad], axis=2))  # the reads carry the targets
    terms = task.shape(eps, eps.targets, full)
    assert set(terms) == {"recall"} and np.allclose(terms["recall"], 1.0)
    assert np.allclose(task.fitness(eps, eps.targets, task.score(eps, eps.targets), full), 1.0)
    blank = _trace(np.zeros_like(full.reads))
    assert np.allclose(task.shape(eps, eps.targets, blank)["recall"], 0.0)
    plain = make_task(name, {"vector_size": 2, "shaping": "none"})
    assert plain.shape(eps, eps.targets, full) == {}
    half = np.full_like(eps.targets, 0.4)
    assert np.array_equal(plain.fitness(eps, half, plain.score(eps, half), full), plain.score(eps, half).score)


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
