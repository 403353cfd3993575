"""Presets: the published setups of the ENTM papers as entm settings (``entm presets``, ``entm evolve --preset``).

A preset is data: the :class:`entm.evolution.loop.EvolveSettings` fields it
sets (task and its parameters, memory and its options, episodes, search) and
a shipped neat-python config (``evolution_configs/<name>.ini``, sizes fitted
to the run).  Explicit command-line options override a preset's values; the
run records the preset's name and the settings it ran with in run.json, so a
run stays a pure function of its settings.  Every value, and every place where
entm differs from the authors' code, is in docs/presets.md.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from entm.errors import EntmError
from entm.neatconfig import CONFIG_DIR


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    """One line for ``entm presets``."""
    source: str
    """Where the values come from: paper, repository and files."""
    settings: dict
    """:class:`entm.evolution.loop.EvolveSettings` fields."""
    evaluate: dict = field(default_factory=dict)
    """How the paper tests a champion: ``entm evaluate`` options (lengths, episodes)."""

    @property
    def config(self) -> Path:
        return preset_config_path(self.name)


PRESETS = {p.name: p for p in (
    Preset(
        name="greve2016-double-tmaze",
        description="continuous double T-maze, steering agent, 20 rounds, all 12 reward permutations "
                    "(Greve, Jacobsen & Risi 2016)",
        source="rasmusgreve/neuralturingmachines: properties/tmaze.properties, src/dk/itu/ejuuragr/domain/tmaze/"
               "{TMaze,RoundsTMaze,PermutationsTMaze,LogicScorer}.java, src/dk/itu/ejuuragr/turing/"
               "MinimalTuringMachine.java",
        settings={
            "task": "tmaze",
            # 5 rounds per goal pair x 2 (one swap) x 2 = 20 rounds; swap fraction 0.6; steer.max 45;
            # steps.max 100; the logic score, with entm's goal bonus (a random steering agent crashes
            # every round: without it the first generations see no gradient; docs/presets.md)
            "task_params": {"variant": "continuous", "maze": "double", "rounds": 20, "swap_fraction": 0.6,
                            "steering": "angle", "steer_max": 45.0, "junction_input": 0, "max_steps": 100,
                            "goal_bonus": 0.1},
            "memory": "discrete",
            "memory_params": {"width": 2},  # tm.m = 2, tm.n unset (unbounded tape), no default jump
            "heads": 1,
            "episodes": 12,  # PermutationsTMaze: every (first, second) high-reward goal pair once
        },
        evaluate={"lengths": "20", "episodes": 12},
    ),
    Preset(
        name="luders2017-season",
        description="season task, 4 foods per season (2 poisonous), 2 seasons, 3 years of 1-5-day seasons, "
                    "50 fixed deployments, default jump, expand location (Lüders, Schläger, Korach & Risi 2017); "
                    "entm's curriculum over the foods met each day",
        source="BLueders/ENTM_CSharpPort: src/Config/seasontask/seasontask-4steps-10Kgen-default-jump.xml, "
               "src/Experiments/SeasonTask/{SeasonTaskEnvironment,MultiStepSeasonTaskEnviroment}.cs, "
               "src/TuringMachine/MinimalTuringMachine.cs",
        settings={
            "task": "season",
            "task_params": {"years": 3, "seasons": 2, "min_days": 1, "max_days": 5, "foods": 4, "poisonous": 2,
                            "steps_per_food": 4, "gen_min_days": 4, "gen_max_days": 10,
                            "foods_per_season": "distinct", "season_days": "deployment", "feedback": "right",
                            "feedback_length": 1,
                            # entm's, not the authors': a curriculum over the foods met each day (one of
                            # each season's, then two, three, all four), starting again with a new population
                            # when a stage short of the task stalls for 500 generations; without it 1 of 5
                            # seeds solved in 3,000 generations, with it 5 of 5, 3 of them within 20 minutes
                            # (docs/presets.md)
                            "stages": "foods_shown=1,2,3 advance=0.9 restart=500"},
            "memory": "discrete",
            # M 10, MinSimilarityToJump 0.6 (the default jump), InitalValue 0.5, MemorySizeHardLimit 8,
            # UseMemoryExpandLocation true with DidWriteThreshold 0.9 (the tape's default)
            "memory_params": {"width": 10, "min_jump_similarity": 0.6, "blank": 0.5, "max_cells": 8,
                              "expand_location": True},
            "heads": 1,
            "episodes": 50,  # Iterations 50 with RandomSeed 0: the same 50 deployments every generation
            "fixed_episodes": True,
        },
        evaluate={"lengths": "3,20", "episodes": 100},
    ),
    Preset(
        name="discrete-double-tmaze",
        description="entm's discrete double T-maze (one step per junction, 20 rounds), the quick memory check",
        source="entm: tasks/tmaze.py (variant discrete), evolution_configs/tmaze.ini",
        settings={"task": "tmaze", "task_params": {"variant": "discrete", "maze": "double", "rounds": 20},
                  "memory": "discrete", "memory_params": {"width": 2}, "heads": 1, "episodes": 12,
                  # the same 12 deployments every generation (drawn from the run's seed): with new ones per
                  # generation the search stalled at about one wrong round per deployment (docs/results.md)
                  "fixed_episodes": True,
                  # a new random population every 1,000 unsolved generations: the runs that solved did so
                  # within 500-950 generations, the others stalled for thousands (docs/results.md)
                  "restart_every": 1000},
        evaluate={"lengths": "20,40,100", "episodes": 120},
    ),
)}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        from entm.baseline.presets import TRAIN_PRESETS

        hint = f"; {name!r} is a training preset (entm train --preset)" if name in TRAIN_PRESETS else ""
        raise EntmError(f"unknown preset {name!r}{hint}; known presets: {', '.join(PRESETS)} (see `entm presets`)")
    return PRESETS[name]


def preset_config_path(name: str) -> Path:
    """The preset's shipped config: ``evolution_configs/<name>.ini``, else its task's default config."""
    p = preset(name)
    path = CONFIG_DIR / f"{name}.ini"
    return path if path.exists() else CONFIG_DIR / f"{p.settings['task']}.ini"


def preset_settings(name: str, overrides: dict) -> dict:
    """The preset's settings with ``overrides`` (what the command line gave explicitly) on top; task and
    memory parameters merge key by key."""
    p = preset(name)
    out = copy.deepcopy(p.settings)
    task = overrides.get("task")
    if task is not None and task != out["task"]:
        raise EntmError(f"preset {name!r} is a {out['task']!r} setup; --task {task} contradicts it")
    for key, value in overrides.items():
        if key in ("task_params", "memory_params", "novelty"):
            out[key] = {**out.get(key, {}), **value}
        elif value is not None:
            out[key] = value
    out["preset"] = name
    return out
