"""Priority sort: encoding, targets and scoring."""

import numpy as np
import pytest

from entm.errors import EntmError
from entm.tasks import make_task


def test_hand_checked_episode():
    task = make_task("priority_sort", {"vector_size": 2, "num_vectors": 4, "sorted_count": 3})
    eps = task.sample(np.random.default_rng(3), 1)
    x, y, m = eps.inputs[0], eps.targets[0], eps.mask[0]
    assert x.shape == (4 + 3 + 3, 5) and eps.steps[0] == 10 and eps.lengths[0] == 4
    assert x[0].tolist() == [0, 0, 0, 1, 0] and x[5].tolist() == [0, 0, 0, 0, 1]
    assert not x[6:].any()
    # the seed's vectors and priorities, written out
    assert x[1:5, :2].tolist() == [[1, 0], [0, 0], [0, 1], [1, 1]]
    assert np.round(x[1:5, 2], 2).tolist() == [-0.81, -0.13, -0.04, -0.68]
    assert m.tolist() == [False] * 7 + [True] * 3
    # highest priority first: -0.04 ([0, 1]), -0.13 ([0, 0]), -0.68 ([1, 1]); -0.81 left out
    assert y[7:].tolist() == [[0, 1], [0, 0], [1, 1]]


def test_batch_shapes_and_sorting():
    task = make_task("priority_sort")
    eps = task.sample(np.random.default_rng(0), 200)
    assert eps.inputs.shape == (200, 39, 11) and eps.targets.shape == (200, 39, 8)
    assert (eps.mask.sum(axis=1) == 16).all() and (eps.steps == 39).all() and (eps.lengths == 20).all()
    pr = eps.inputs[:, 1:21, 8]
    assert pr.min() >= -1 and pr.max() <= 1 and pr.min() < -0.9 and pr.max() > 0.9
    for b in range(0, 200, 23):
        order = np.argsort(-pr[b])[:16]
        assert np.array_equal(eps.targets[b, 23:], eps.inputs[b, 1 + order, :8])


def test_sweep_lengths_and_bad_parameters():
    task = make_task("priority_sort")
    eps = task.sample(np.random.default_rng(1), 2, length=60)
    assert eps.inputs.shape[1] == 60 + 16 + 3 and (eps.mask.sum(axis=1) == 16).all()
    short = task.sample(np.random.default_rng(1), 2, length=5)  # fewer than 16: all of them, sorted
    assert (short.mask.sum(axis=1) == 5).all()
    assert min(task.generalization_lengths) == task.num_vectors < max(task.generalization_lengths)
    with pytest.raises(EntmError, match="sorted_count"):
        make_task("priority_sort", {"num_vectors": 10, "sorted_count": 12})
    with pytest.raises(EntmError, match="length must be at least 1"):
        task.sample(np.random.default_rng(0), 2, length=0)


def test_the_right_vectors_in_the_wrong_order_are_wrong():
    task = make_task("priority_sort")
    eps = task.sample(np.random.default_rng(2), 5)
    y = eps.targets.copy()
    y[0, 23:] = y[0, 23:][::-1]
    swapped = task.score(eps, y)
    assert not swapped.perfect[0] and swapped.score[0] < 1.0 and swapped.perfect[1:].all()
