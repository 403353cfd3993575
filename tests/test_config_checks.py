"""Every neat-python config item entm uses is checked for type and range before any work (issue 22, item 5):
one line naming section, key, value and what is allowed; the shipped configs and the CPPN/controller configs
of the hyper encoding pass."""

from __future__ import annotations

import re

import pytest
from helpers import assert_one_line_error, run_main, sub_once

from entm.config_checks import RULES, check_config_text
from entm.errors import EntmError
from entm.hyper import CONTROLLER_CONFIG
from entm.neatconfig import CONFIG_DIR, default_config_path, load_config

COPY = default_config_path("copy", "discrete").read_text()


def _with(key: str, value: str, text: str = COPY) -> str:
    """The copy config with ``key`` set to ``value`` (the item added to its section when absent)."""
    if re.search(rf"(?m)^{key}\s*=", text):
        return sub_once(rf"^{key}\s*=.*$", f"{key} = {value}", text)
    section = next(s for s, rules in RULES.items() if key in rules)
    return text.replace(f"[{section}]\n", f"[{section}]\n{key} = {value}\n", 1)


def _error(text: str) -> str:
    with pytest.raises(EntmError) as e:
        load_config(text, "my.ini")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("my.ini: "), msg
    return msg


def test_shipped_and_built_in_configs_pass():
    shipped = sorted(CONFIG_DIR.glob("*.ini"))
    assert len(shipped) >= 8
    for p in shipped:
        check_config_text(p.read_text(), p.name)
        load_config(p.read_text(), p.name)
    load_config(CONTROLLER_CONFIG.format(inputs=5, outputs=7), "controller")


@pytest.mark.parametrize("key,value,allowed", [
    # [NEAT]: a population too small to breed, an unknown fitness criterion, non-finite thresholds
    ("pop_size", "1", "integer >= 2"), ("pop_size", "0", "integer >= 2"), ("pop_size", "-5", "integer >= 2"),
    ("pop_size", "1.5", "integer"), ("pop_size", "many", "integer"),
    ("fitness_criterion", "best", "one of max, min, mean"), ("fitness_criterion", "MAX", "one of max"),
    ("fitness_threshold", "nan", "finite"), ("fitness_threshold", "inf", "finite"),
    ("fitness_threshold", "1e999", "finite"),
    ("reset_on_extinction", "maybe", "true or false"), ("no_fitness_termination", "2", "true or false"),
    ("seed", "3", "--seed"),
    # [DefaultGenome]: counts, probabilities, bounds, functions, connectivity
    ("num_hidden", "-1", "integer >= 0"), ("num_hidden", "two", "integer >= 0"), ("num_inputs", "0", ">= 1"),
    ("num_outputs", "-3", ">= 1"), ("feed_forward", "yes", "true or false"),
    ("conn_add_prob", "1.5", "[0, 1]"), ("conn_delete_prob", "-0.1", "[0, 1]"), ("node_add_prob", "nan", "[0, 1]"),
    ("node_delete_prob", "2", "[0, 1]"), ("compatibility_disjoint_coefficient", "-1", ">= 0"),
    ("compatibility_weight_coefficient", "inf", "finite"),
    ("bias_max_value", "nan", "finite"), ("weight_min_value", "-inf", "finite"), ("response_init_mean", "inf", "finite"),
    ("weight_init_stdev", "-1", ">= 0"), ("weight_mutate_power", "-0.5", ">= 0"), ("bias_mutate_rate", "1.2", "[0, 1]"),
    ("weight_replace_rate", "-0.1", "[0, 1]"), ("weight_init_type", "cauchy", "gaussian"),
    ("activation_options", "sigmoid swish", "activation names"), ("activation_options", "", "activation names"),
    ("activation_default", "swish", "one of sigmoid"), ("activation_mutate_rate", "7", "[0, 1]"),
    ("aggregation_options", "sum avg", "aggregation names"), ("aggregation_default", "total", "one of sum"),
    ("enabled_default", "perhaps", "one of"), ("enabled_mutate_rate", "-1", "[0, 1]"),
    ("enabled_rate_to_true_add", "3", "[0, 1]"),
    ("initial_connection", "everything", "one of unconnected"), ("initial_connection", "partial_direct", "fraction"),
    ("initial_connection", "partial_direct 1.5", "fraction"), ("initial_connection", "full_direct 0.5", "one of"),
    ("crossover_disjoint_prob", "1.5", "[0, 1]"), ("crossover_disjoint_prob", "-0.5", "[0, 1]"),
    ("asexual_prob", "1.5", "[0, 1]"), ("asexual_prob", "-0.1", "[0, 1]"),
    ("structural_mutation_surer", "sometimes", "default"), ("single_structural_mutation", "1", "true or false"),
    # [DefaultSpeciesSet], [DefaultStagnation], [DefaultReproduction]
    ("compatibility_threshold", "0", "> 0"), ("compatibility_threshold", "-3", "> 0"),
    ("compatibility_threshold", "nan", "> 0"),
    ("species_fitness_func", "best", "one of max"), ("max_stagnation", "0", ">= 1"), ("species_elitism", "-1", ">= 0"),
    ("elitism", "-2", ">= 0"), ("survival_threshold", "0", "(0, 1]"), ("survival_threshold", "1.5", "(0, 1]"),
    ("survival_threshold", "-0.2", "(0, 1]"), ("min_species_size", "0", ">= 1"),
])
def test_one_item_out_of_range(key, value, allowed):
    msg = _error(_with(key, value))
    section = next(s for s, rules in RULES.items() if key in rules)
    assert f"[{section}] {key} = {value!r}" in msg and allowed in msg, msg


@pytest.mark.parametrize("changes,words", [
    ({"elitism": "150"}, ["elitism = 150", "pop_size = 150"]),  # elitism beyond the population
    ({"elitism": "400"}, ["elitism = 400", "less than"]),
    ({"pop_size": "4", "min_species_size": "5"}, ["min_species_size = 5", "at most"]),
    ({"weight_min_value": "5", "weight_max_value": "-5"}, ["weight_min_value = 5.0 > weight_max_value = -5.0"]),
    ({"bias_min_value": "20"}, ["bias_min_value = 20.0 > bias_max_value = 10.0"]),
    ({"response_min_value": "2"}, ["response_min_value = 2.0 > response_max_value = 1.0"]),
    ({"weight_mutate_rate": "0.8", "weight_replace_rate": "0.3"}, ["weight_mutate_rate + weight_replace_rate"]),
    ({"enabled_mutate_rate": "0.9", "enabled_rate_to_false_add": "0.2"}, ["enabled_rate_to_false_add"]),
    ({"activation_default": "tanh"}, ["activation_default = 'tanh'", "activation_options (sigmoid)"]),
    ({"aggregation_default": "max"}, ["aggregation_default = 'max'"]),
])
def test_joint_rules(changes, words):
    text = COPY
    for k, v in changes.items():
        text = _with(k, v, text)
    msg = _error(text)
    for w in words:
        assert w in msg, (w, msg)


def test_unknown_items_and_good_variants():
    assert "[DefaultGenome] unknown item 'conn_add_prb'" in _error(COPY.replace("conn_add_prob ", "conn_add_prb "))
    assert "[DefaultReproduction] unknown item 'elitsm'" in _error(COPY.replace("\nelitism ", "\nelitsm "))
    # what neat-python accepts and entm keeps accepting
    for key, value in [("initial_connection", "partial_direct 0.5"), ("activation_default", "random"),
                       ("reset_on_extinction", "yes"), ("weight_init_type", "Uniform"), ("enabled_default", "random"),
                       ("structural_mutation_surer", "TRUE"), ("survival_threshold", "1"), ("elitism", "0"),
                       ("fitness_criterion", "mean"), ("species_fitness_func", "median")]:
        load_config(_with(key, value), "ok.ini")


def test_cli_refuses_before_creating_anything(capsys, tmp_path):
    """`entm evolve --config` with a bad item: one line naming the file and the item, no run directory."""
    for key, value in [("pop_size", "1"), ("elitism", "9999"), ("weight_max_value", "nan"),
                       ("activation_options", "sigmoid relu6")]:
        cfg = tmp_path / f"bad-{key}.ini"
        cfg.write_text(_with(key, value))
        status, _, err = run_main(capsys, "evolve", "--config", cfg, "--run-dir", tmp_path / "run", "--serial",
                                  "--generations", "1")
        assert_one_line_error(status, err, cfg.name, key, value)
        assert not (tmp_path / "run").exists()


def test_more_species_than_the_population_can_keep_is_one_line_mid_run(capsys, tmp_path):
    """neat-python accepts this config and dies in reproduction once 4 species each need 2 genomes of 6:
    entm ends the run with one line (exit 2), not a traceback, its checkpoint kept."""
    text = _with("compatibility_threshold", "0.001", _with("elitism", "2", _with("pop_size", "6")))
    cfg = tmp_path / "tiny.ini"
    cfg.write_text(text)
    status, _, err = run_main(capsys, "evolve", "--task", "copy", "--serial", "--quiet",
                              "--config", cfg, "--generations", "5", "--run-dir", tmp_path / "run")
    assert_one_line_error(status, err, "species", "pop_size 6", "compatibility_threshold")
