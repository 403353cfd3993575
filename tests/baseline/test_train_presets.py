"""Training presets (``entm train --preset``): the paper's per-task set-ups, how options override them, and
that every preset builds its model and trains for real."""

import json

import pytest

from entm.baseline.model import build_model, count_parameters
from entm.baseline.presets import TRAIN_PRESETS, train_preset_settings
from entm.baseline.settings import TrainSettings
from entm.campaign.spec import parse_campaign
from entm.errors import EntmError
from entm.tasks import make_task
from helpers import main_error, run_main


@pytest.mark.parametrize("name", sorted(TRAIN_PRESETS))
def test_each_preset_is_valid_settings_for_its_task(name):
    s = TrainSettings(**train_preset_settings(name, {}))
    assert s.preset == name
    task = make_task(s.task, s.task_params)
    model = build_model(s.architecture, task.num_inputs, task.num_outputs)
    assert count_parameters(model) > 0
    assert TRAIN_PRESETS[name].evaluate["lengths"]


def test_the_paper_heads_and_controllers():
    ps = TRAIN_PRESETS["graves2014-priority-sort"].settings["architecture"]
    assert (ps["controller"], ps["hidden_size"], ps["read_heads"], ps["write_heads"]) == ("feedforward", 512, 5, 3)
    assert ps["memory_init"] == "learned"
    for name in ("graves2014-copy", "graves2014-repeat-copy", "graves2014-associative-recall", "graves2014-ngrams"):
        a = TRAIN_PRESETS[name].settings["architecture"]
        assert (a["controller"], a["hidden_size"], a["read_heads"], a["write_heads"]) == ("lstm", 100, 1, 1)
        assert (a["cells"], a["width"]) == (128, 20)


def test_repeat_copy_grows_its_repeats_and_the_curriculum_can_be_turned_off():
    s = TrainSettings(**train_preset_settings("graves2014-repeat-copy", {}))
    assert (s.curriculum, s.curriculum_param, s.curriculum_start, s.curriculum_step) == (True, "max_repeats", 1, 1)
    assert not TrainSettings(**train_preset_settings("graves2014-repeat-copy", {"curriculum": False})).curriculum
    assert not TrainSettings(**train_preset_settings("graves2014-copy", {})).curriculum


def test_priority_sort_drops_its_rate_unless_another_rate_is_given():
    s = TrainSettings(**train_preset_settings("graves2014-priority-sort", {}))
    assert (s.lr, s.lr_schedule) == (1e-3, [[20000, 1e-4]]) and s.lr_at(19999) == 1e-3 and s.lr_at(20000) == 1e-4
    assert TrainSettings(**train_preset_settings("graves2014-priority-sort", {"lr": 5e-4})).lr_schedule == []
    rmsprop = TrainSettings(**train_preset_settings("graves2014-priority-sort", {"optimizer": "rmsprop"}))
    assert rmsprop.lr_schedule == []
    own = TrainSettings(**train_preset_settings("graves2014-priority-sort", {"lr": 5e-4, "lr_schedule": [[9, 1e-5]]}))
    assert (own.lr, own.lr_schedule) == (5e-4, [[9, 1e-5]])


def test_overrides_merge_key_by_key_and_a_new_optimizer_gets_its_own_lr():
    s = train_preset_settings("graves2014-priority-sort", {"architecture": {"read_heads": 2, "cells": None},
                                                           "task_params": {"num_vectors": 6}, "seed": 3})
    assert s["architecture"]["read_heads"] == 2 and s["architecture"]["write_heads"] == 3
    assert s["architecture"]["cells"] == 128 and s["task_params"]["num_vectors"] == 6 and s["seed"] == 3
    assert TrainSettings(**train_preset_settings("graves2014-repeat-copy", {"optimizer": "rmsprop"})).lr == 1e-4
    assert TrainSettings(**train_preset_settings("graves2014-repeat-copy", {"lr": 5e-4})).lr == 5e-4
    lstm = TrainSettings(**train_preset_settings("graves2014-priority-sort", {"architecture": {"model": "lstm"}}))
    assert (lstm.architecture.hidden_size, lstm.architecture.layers) == (256, 3)  # the LSTM's own defaults
    with pytest.raises(EntmError, match="contradicts"):
        train_preset_settings("graves2014-copy", {"task": "priority_sort"})


def test_train_with_a_preset_records_it_and_explicit_options_override(tmp_path, capsys):
    d = tmp_path / "run"
    status, _, err = run_main(capsys, "train", "--preset", "graves2014-priority-sort", "--num-vectors", "4",
                              "--sorted-count", "2", "--hidden-size", "16", "--cells", "8", "--steps", "3",
                              "--batch-size", "2", "--report-every", "1", "--no-compile", "--quiet",
                              "--run-dir", str(d))
    assert status == 0, err
    run = json.loads((d / "run.json").read_text())
    assert run["preset"] == "graves2014-priority-sort" and run["task"] == "priority_sort"
    arch = run["architecture"]
    assert (arch["controller"], arch["hidden_size"], arch["cells"], arch["read_heads"], arch["write_heads"]) == (
        "feedforward", 16, 8, 5, 3)
    assert run["task_params"]["num_vectors"] == 4 and run["lr"] == 1e-3 and run["batch_size"] == 2
    assert len((d / "metrics.jsonl").read_text().splitlines()) == 3 and (d / "test.json").exists()


def test_bad_presets_are_one_line_errors(capsys):
    main_error(capsys, "train", "--preset", "nope", words=("unknown training preset 'nope'", "graves2014-copy"))
    main_error(capsys, "train", "--preset", "greve2016-double-tmaze", words=("is an evolution preset",))
    main_error(capsys, "train", "--preset", "graves2014-copy", "--task", "season", words=("contradicts",))
    main_error(capsys, "evolve", "--preset", "graves2014-ngrams", words=("is a training preset",))


def test_presets_command_lists_and_shows_training_presets(capsys):
    status, out, _ = run_main(capsys, "presets")
    assert status == 0 and "training (entm train --preset NAME):" in out
    for name, p in TRAIN_PRESETS.items():
        assert f"{name}: {p.description}" in out
    status, out, _ = run_main(capsys, "presets", "graves2014-repeat-copy", "--json")
    data = json.loads(out)
    assert data["kind"] == "training" and data["settings"]["task"] == "repeat_copy"


def test_a_campaign_training_group_takes_a_preset():
    c = parse_campaign('[groups.sort]\nkind = "training"\npreset = "graves2014-priority-sort"\nseeds = [0, 1]\n'
                       'steps = 10\narchitecture = { hidden_size = 64 }\n')
    s = c.group_of("sort")[0].settings
    assert s["preset"] == "graves2014-priority-sort" and s["task"] == "priority_sort" and s["steps"] == 10
    assert s["architecture"]["hidden_size"] == 64 and s["architecture"]["read_heads"] == 5
    with pytest.raises(EntmError, match="unknown training preset"):
        parse_campaign('[groups.x]\nkind = "training"\npreset = "nope"\nseeds = [0]\n')
