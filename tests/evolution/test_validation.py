"""The validator of sequence tasks (entm.evolution.reporters.Validator): a solution must be perfect on a
batch of long fresh episodes and on ten times as many fresh episodes of the training distribution."""

from pathlib import Path

import numpy as np

from entm.champion import evaluate_lengths, load_champion
from entm.evolution.reporters import Validator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_the_training_batch_is_fresh_and_of_the_training_lengths():
    champ = load_champion(FIXTURES / "copy_handbuilt_v8.json")
    v = Validator(champ.task, champ.spec, None, seed=3)
    assert v.episodes.lengths.min() == v.episodes.lengths.max() == 100 and len(v.episodes.lengths) == 100
    lengths = v.training.lengths
    assert len(lengths) == 1000 and lengths.min() == 1 and lengths.max() == 10
    other = Validator(champ.task, champ.spec, None, seed=4)
    assert not np.array_equal(other.training.inputs, v.training.inputs)
    assert v.perfect_network(champ.network)


def test_a_champion_a_hair_from_half_passes_the_long_batch_but_not_the_training_one():
    """An evolved 8-bit hyper champion of the differentiable memory (seed 2 of docs/memory.md's restart
    runs), validated before the training batch existed: its outputs sit barely off 0.5 and flip a bit on
    about 1 in 300 short fresh episodes."""
    champ = load_champion(FIXTURES / "copy8_hyper_soft_marginal.json")
    v = Validator(champ.task, champ.spec, None, seed=2)
    long_only = Validator(champ.task, champ.spec, None, seed=2)
    long_only.training = None
    assert long_only.perfect_network(champ.network)
    assert not v.perfect_network(champ.network)
    scores = evaluate_lengths(champ.machine, champ.network, [2], episodes=100, seed=7)
    assert scores["2"]["perfect"] < 1.0
