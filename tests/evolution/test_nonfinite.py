"""A NaN or infinite output counts as the worst fitness and is counted; it never crashes a run."""

import copy
import json

import numpy as np

from entm.champion import champion_from_dict
from entm.evolution.evaluator import EvalSettings, GenomeEvaluator
from entm.evolution.loop import EvolveSettings, prepare
from entm.machine import run_stacked


def test_nonfinite_outputs_are_worst_and_counted(fixtures):
    data = json.loads((fixtures / "copy_handbuilt_v2.json").read_text())
    bad = copy.deepcopy(data)
    for n in bad["nodes"]:
        if n["id"] in (0, 1, 2, 9):  # both task outputs, a write value, a shift output
            n["activation"]["name"] = "cube"
            n["bias"] = 1e200  # cube(1e200) overflows to inf
    good = champion_from_dict(data)
    worse = champion_from_dict(bad)
    task, spec, machine, text = prepare(EvolveSettings(task_params={"vector_size": 2}))
    ev = GenomeEvaluator(EvalSettings(config_text=text, task="copy", task_params=task.params(), memory=spec,
                                      seed=0, episodes=20))
    eps = ev.episodes(0)
    stacked = run_stacked(ev.machine, [good.network, worse.network], eps.inputs, shaping=True, steps=eps.steps)
    assert not np.all(np.isfinite(stacked.outputs[eps.batch:][eps.mask]))
    res = ev._results(eps, stacked, 2)
    assert res[0].fitness > 0.99 and not res[0].nonfinite
    assert res[1].nonfinite and res[1].fitness == 0.0 and res[1].score == 0.0
    assert all(np.isfinite(r.fitness) for r in res)
