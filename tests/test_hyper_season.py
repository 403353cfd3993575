"""The hyper encoding on the season task (``SeasonTask.hyper_layout``): the one-hot food inputs are a vector
lined up with the memory's first values, so "food j is written to value j" is one regularity of the CPPN
whatever the number of foods, where the direct encoding needs a link per food."""

import numpy as np
from helpers import assert_champion_scores_as_recorded, main_error, run_main, season_preset_spec

from entm.champion import load_champion
from entm.closed_loop import evaluate_deployments
from entm.hyper import HyperParams, Substrate
from entm.machine import Machine
from entm.phenotype import Network

SCALE = 40.0


def _loop_cppn(sub: Substrate) -> np.ndarray:
    """CPPN outputs at the substrate's queries that paint the season loop of tests/test_presets.py without
    its jump gate (14 links: one-hot codes, a cell written only while blank and on feedback, the good flag =
    reward, eat by the flag, a jump on every step)."""
    q, col = sub.queries, {name: i for i, name in enumerate(sub.cppn_inputs)}
    src = {k: q[:, col[f"src={k}"]] == 1 for k in sub.source_kinds}
    code = src["food"] & (q[:, col["aligned"]] == 1)
    v = {"food->write0": 30.0 * code, "scalars->write0": -15.0 * src["bias"],
         "->write0.extra0": 15.0 * src["bias"],
         "->write0.extra1": 20.0 * (src["reward"].astype(float) - src["punishment"]) - 15.0 * src["bias"],
         "->write0.w": 20.0 * (src["reward"].astype(float) + src["punishment"]) - 40.0 * src["read0.extra0"]
         + 10.0 * src["bias"],
         "->eat": 20.0 * src["read0.extra1"] - 8.0 * src["bias"], "->jump0": 10.0 * src["bias"],
         "->shift0.left": -15.0 * src["bias"], "->shift0.stay": 10.0 * src["bias"],
         "->shift0.right": -15.0 * src["bias"]}
    y = np.zeros((1, len(q), sub.num_cppn_outputs))
    for name, value in v.items():
        y[0, :, sub.cppn_outputs.index(name)] = value / SCALE
    return y


def test_the_season_substrate_paints_the_loop_with_one_code_regularity():
    """One value per (source, output) kind and the aligned food -> write regularity paint the loop: perfect
    on the preset's deployments (with the expand location and the default jump at 0.9, where one-hot codes
    are far enough apart), the same network as the hand-built one; without the code regularity it scores
    what always eating scores."""
    task, spec = season_preset_spec(min_jump_similarity=0.9, expand_location=True)
    sub = Substrate(task, spec, HyperParams(weight_scale=SCALE))
    assert sub.vector_size == task.food_inputs == 8 and sub.width == 10
    assert [n.kind for n in sub.inputs[:10]] == ["food"] * 8 + ["reward", "punishment"]
    y = _loop_cppn(sub)
    net = Network.from_genome(sub.controllers(y)[0].as_genome(), sub.controller_config().genome_config)
    assert net.size()[1] == 14
    machine, deps = Machine(task, spec), task.sample(np.random.default_rng(0), 50)
    assert evaluate_deployments(machine, net, deps)[0].perfect.all()
    y[0, :, sub.cppn_outputs.index("food->write0")] = 0.0
    blind = Network.from_genome(sub.controllers(y)[0].as_genome(), sub.controller_config().genome_config)
    assert evaluate_deployments(machine, blind, deps)[0].score.mean() == 0.5


def test_an_evolution_run_of_the_season_preset_with_the_hyper_encoding(capsys, tmp_path):
    """``--preset luders2017-season --encoding hyper`` (the authors' schedule, ``--stages none``: a champion of a
    curriculum's stage is scored on the stage's episodes, not the task's): the CPPN paints the season substrate's controller (20
    inputs, 16 outputs), and the champion re-paints to the scores the run recorded; ``--vector-size`` (the
    bit-vector tasks' re-painting) is refused in one line."""
    run = tmp_path / "s"
    status, _, err = run_main(capsys, "evolve", "--preset", "luders2017-season", "--stages", "none", "--encoding",
                              "hyper", "--generations", "2", "--episodes", "4", "--serial", "--quiet", "--run-dir", run)
    assert status == 0, err
    champ = load_champion(run)
    assert (champ.network.num_inputs, champ.network.num_outputs) == (20, 16)
    assert_champion_scores_as_recorded(run)
    main_error(capsys, "evaluate", run, "--vector-size", "3", words=["--vector-size", "bit-vector", "'season'"])


def test_the_element_input_lets_a_food_and_a_scalar_link_differ_by_food():
    """``element`` (``--hyper-element``): the links between a vector element j and a scalar (either way), and
    element j's bias, are queried with element = j / (V - 1), so a CPPN output equal to that input paints
    the eat output's link from food j with weight scale x j / 7 / V (a food preferred), the reward's link
    into write value j with scale x j / 7, and write value j's bias alike; links between two vectors and
    between two scalars keep their queries (element 0).  The loop above paints the same network with it."""
    task, spec = season_preset_spec(min_jump_similarity=0.9, expand_location=True)
    plain = Substrate(task, spec, HyperParams(weight_scale=SCALE))
    sub = Substrate(task, spec, HyperParams(weight_scale=SCALE, element=True, threshold=0.0))
    assert sub.cppn_inputs == plain.cppn_inputs + ["element"] and sub.hyper.as_dict()["element"] is True
    y = np.zeros((1, len(sub.queries), sub.num_cppn_outputs))
    e = sub.queries[:, sub.cppn_inputs.index("element")]
    for name in ("->eat", "scalars->write0"):
        y[0, :, sub.cppn_outputs.index(name)] = e
    gd = sub.controllers(y)[0]
    w = dict(zip(gd.conn_keys, gd.weights))
    inputs = [(n.kind, n.index) for n in sub.inputs]
    outputs = [(n.kind, n.index) for n in sub.outputs]
    eat, food = outputs.index(("eat", None)), [inputs.index(("food", j)) for j in range(8)]
    np.testing.assert_allclose([w[(-(i + 1), eat)] for i in food], SCALE * np.arange(8) / 7 / 8, rtol=0, atol=1e-12)
    reward = inputs.index(("reward", None))
    write = [outputs.index(("write0", j)) for j in range(8)]
    np.testing.assert_allclose([w[(-(reward + 1), o)] for o in write], SCALE * np.arange(8) / 7, rtol=0, atol=1e-12)
    np.testing.assert_allclose([gd.node_genes[o][2] for o in write], SCALE * np.arange(8) / 7, rtol=0, atol=1e-12)
    # the loop's CPPN (no element dependence) paints the same controller with the element input as without
    y_plain = _loop_cppn(plain)
    sub = Substrate(task, spec, HyperParams(weight_scale=SCALE, element=True))
    y_el = _loop_cppn(sub)
    a, b = plain.controllers(y_plain)[0], sub.controllers(y_el)[0]
    assert a.conn_keys == b.conn_keys and np.array_equal(a.weights, b.weights) and a.node_genes == b.node_genes


def test_a_run_with_the_element_input(capsys, tmp_path):
    """``--hyper-element`` on the command line: recorded with the run, and the champion re-paints to the scores
    the run recorded; without ``--encoding hyper`` it is a one-line error."""
    run = tmp_path / "e"
    status, _, err = run_main(capsys, "evolve", "--preset", "luders2017-season", "--stages", "none", "--encoding",
                              "hyper", "--hyper-element", "--generations", "2", "--episodes", "4", "--serial", "--quiet",
                              "--run-dir", run)
    assert status == 0, err
    assert load_champion(run).data["metadata"]["entm"]["substrate"]["element"] is True
    assert_champion_scores_as_recorded(run)
    main_error(capsys, "evolve", "--preset", "luders2017-season", "--hyper-element", "--run-dir", tmp_path / "x",
               words=["--hyper-element", "--encoding hyper"])
