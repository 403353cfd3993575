"""Dynamic N-grams: generator, Bayes-optimal predictor and scoring."""

import numpy as np
import pytest

from entm.errors import EntmError
from entm.tasks import make_task
from entm.tasks.dynamic_ngrams import bayes_optimal, contexts, cost_bits


def test_bayes_optimal_by_hand_bigram():
    """N = 2 (one bit of context), bits 0 1 1 0 1:
    t=0: nothing known, ½; t=1: context 0 never seen, ½ (then 0 -> 1 counted);
    t=2: context 1 never seen, ½ (then 1 -> 1); t=3: context 1 seen once with a 1,
    (1 + ½)/(1 + 1) = 0.75, the bit is 0 (then 1 -> 0); t=4: context 0 seen once with a 1: 0.75, bit 1.
    Cost: 1 + 1 + 1 + log2(4) + log2(4/3) = 5.415 bits."""
    bits = np.array([[0, 1, 1, 0, 1]], dtype=float)
    p = bayes_optimal(bits, 2)
    assert p[0].tolist() == [0.5, 0.5, 0.5, 0.75, 0.75]
    cost = cost_bits(bits, p, np.ones_like(bits, dtype=bool))
    assert cost[0] == pytest.approx(3 + 2 + np.log2(4 / 3))
    assert cost[0] == pytest.approx(5.415, abs=1e-3)


def test_bayes_optimal_by_hand_trigram():
    """N = 3, bits 0 1 0 1 1: t=0, 1 give ½; t=2: context 01 new, ½ (01 -> 0);
    t=3: context 10 new, ½ (10 -> 1); t=4: context 01 seen once with a 0: (0 + ½)/(1 + 1) = 0.25, bit 1.
    Cost: 4 + log2(4) = 6 bits."""
    bits = np.array([[0, 1, 0, 1, 1]], dtype=float)
    assert contexts(bits, 3)[0].tolist() == [-1, -1, 1, 2, 1]
    p = bayes_optimal(bits, 3)
    assert p[0].tolist() == [0.5, 0.5, 0.5, 0.5, 0.25]
    assert cost_bits(bits, p, np.ones((1, 5), dtype=bool))[0] == pytest.approx(6.0)


def test_episode_encoding():
    task = make_task("dynamic_ngrams")
    eps = task.sample(np.random.default_rng(0), 8)
    assert eps.inputs.shape == (8, 200, 2) and eps.targets.shape == (8, 200, 1) and eps.mask.all()
    assert (eps.steps == 200).all() and (eps.lengths == 200).all()
    assert eps.info["probs"].shape == (8, 32)
    bits = eps.targets[:, :, 0]
    assert set(np.unique(bits)) <= {0.0, 1.0}
    assert (eps.inputs[:, 0].tolist() == [[0, 1]] * 8)  # step 0: start, no bit
    assert np.array_equal(eps.inputs[:, 1:, 0], bits[:, :-1]) and not eps.inputs[:, 1:, 1].any()


def test_generator_follows_its_ngram_model():
    task = make_task("dynamic_ngrams", {"ngram": 3})
    eps = task.sample(np.random.default_rng(1), 1, length=40000)
    bits = eps.targets[:, :, 0]
    probs = eps.info["probs"][0]
    ctx = contexts(bits, 3)[0]
    for k in range(4):
        nxt = bits[0, ctx == k]
        if len(nxt) > 1000:
            assert nxt.mean() == pytest.approx(probs[k], abs=0.05)
    # Beta(½, ½) probabilities: U-shaped, mean ½, variance 1/8
    many = task.sample(np.random.default_rng(2), 5000, length=3).info["probs"]
    assert many.mean() == pytest.approx(0.5, abs=0.01) and many.var() == pytest.approx(0.125, abs=0.005)


def test_scores_optimum_half_and_random():
    task = make_task("dynamic_ngrams")
    eps = task.sample(np.random.default_rng(3), 300)
    bits = eps.targets[:, :, 0]
    opt = bayes_optimal(bits, 6)
    best = task.score(eps, opt[:, :, None])
    assert np.allclose(best.score, 1.0) and best.perfect.all() and not best.bit_errors.any()
    assert np.allclose(best.cost, best.optimal_cost)
    assert 100 < best.optimal_cost.mean() < 160  # well under the 200 bits of knowing nothing
    half = task.score(eps, np.full_like(eps.targets, 0.5))
    assert np.allclose(half.cost, 200.0)
    assert np.allclose(half.score, np.clip(half.optimal_cost / 200, 0, 1))
    rand = task.score(eps, np.random.default_rng(4).random(eps.targets.shape))
    # random outputs cost 1/ln 2 bits per step in expectation; the score is 1 - excess per step
    assert rand.cost.mean() / 200 == pytest.approx(1 / np.log(2), abs=0.02)
    assert np.allclose(rand.score, np.clip(1 - (rand.cost - rand.optimal_cost) / 200, 0, 1))
    assert not rand.perfect.any()


def test_perfect_bit_errors_and_nonfinite():
    task = make_task("dynamic_ngrams", {"ngram": 2})
    eps = task.sample(np.random.default_rng(5), 4, length=50)
    opt = bayes_optimal(eps.targets[:, :, 0], 2)[:, :, None]
    y = opt.copy()
    t = int(np.nonzero(opt[0, :, 0] != 0.5)[0][0])
    y[0, t, 0] = 1.0 - y[0, t, 0]  # the other side of ½ at one step
    sc = task.score(eps, y)
    assert sc.bit_errors.tolist() == [1, 0, 0, 0]
    nan = y.copy()
    nan[1, 3, 0] = np.nan
    sc = task.score(eps, nan)
    assert sc.score[1] == 0.0 and not sc.perfect[1] and sc.bit_errors[1] >= 1
    # a cost within 1 bit of the optimum is perfect, more is not
    y = opt.copy()
    y[2, 0, 0] = 0.5 * 2 ** -0.5 if eps.targets[2, 0, 0] == 1 else 1 - 0.5 * 2 ** -0.5  # +0.5 bit
    y[3, 0, 0] = 0.25 if eps.targets[3, 0, 0] == 1 else 0.75  # +1 bit
    y[3, 1, 0] = 0.4 if eps.targets[3, 1, 0] == 1 else 0.6  # and a little more (the optimum is ½ there)
    sc = task.score(eps, y)
    assert sc.cost[2] - sc.optimal_cost[2] == pytest.approx(0.5) and sc.perfect[2]
    assert sc.cost[3] - sc.optimal_cost[3] > 1 and not sc.perfect[3]


def test_sweep_and_bad_parameters():
    task = make_task("dynamic_ngrams")
    assert task.generalization_lengths == (100, 200, 500, 1000)
    eps = task.sample(np.random.default_rng(6), 2, length=1000)
    assert eps.inputs.shape == (2, 1000, 2)
    with pytest.raises(EntmError, match="ngram must be at least 1"):
        make_task("dynamic_ngrams", {"ngram": 0})
    with pytest.raises(EntmError, match="no parameter 'shaping'"):
        make_task("dynamic_ngrams", {"shaping": "none"})


def test_evaluate_reports_both_costs():
    """entm evaluate's per-length results carry the N-gram costs (bits per sequence) beside the score."""
    import json

    import neat

    from entm.champion import evaluate_lengths
    from entm.evolution.loop import EvolveSettings, prepare
    from entm.neatconfig import load_config
    from entm.phenotype import Network

    task, spec, machine, text = prepare(EvolveSettings(task="dynamic_ngrams"))
    config = load_config(text, "test")
    genome = next(iter(neat.Population(config, seed=0).population.values()))
    net = Network.from_genome(genome, config.genome_config)
    res = evaluate_lengths(machine, net, [50, 100], episodes=4, seed=1)
    json.loads(json.dumps(res, allow_nan=False))  # strict JSON: no NaN or Infinity
    for L, r in res.items():
        eps = task.sample(np.random.default_rng([1, int(L)]), 4, length=int(L))
        opt = cost_bits(eps.targets[:, :, 0], bayes_optimal(eps.targets[:, :, 0], task.ngram), eps.mask)
        assert r["optimal_cost"] == pytest.approx(float(opt.mean()))
        assert r["cost"] is None or r["cost"] >= 0
