"""Loading neat-python configs: clear one-line errors, sizes checked or fitted.

A run's config travels as its *text* (the run directory's ``config.ini``);
workers rebuild the ``neat.Config`` from it.  The config object itself is
never pickled to a worker: neat-python 2.0's ``DefaultGenomeConfig`` consumes a
node id when pickled, which would make the run depend on how it was evaluated.
"""

from __future__ import annotations

import configparser
import os
import re
import tempfile
from importlib import resources
from pathlib import Path

import neat

from entm.config_checks import check_config_text
from entm.errors import EntmError
from entm.evolution.genome import DefaultGenome
from entm.evolution.reproduction import DefaultReproduction
from entm.evolution.species import DefaultSpeciesSet

CONFIG_DIR = Path(str(resources.files("entm.evolution_configs")))
"""The shipped configs (the repository's ``evolution_configs/``, installed as ``entm.evolution_configs``)."""


def default_config_path(task: str, memory: str, encoding: str = "direct") -> Path:
    """``evolution_configs/<task>.ini`` (discrete) or ``<task>-differentiable.ini``, falling back to the former;
    for the hyper encoding (CPPN genomes) ``<task>-hyper.ini`` whatever the memory, falling back to
    ``copy-hyper.ini`` (a CPPN's hyperparameters hardly depend on the task; its sizes are fitted)."""
    if encoding == "hyper":
        p = CONFIG_DIR / f"{task}-hyper.ini"
        return p if p.exists() else CONFIG_DIR / "copy-hyper.ini"
    if memory == "differentiable":
        p = CONFIG_DIR / f"{task}-differentiable.ini"
        if p.exists():
            return p
    p = CONFIG_DIR / f"{task}.ini"
    if not p.exists():
        raise EntmError(f"no shipped config for task {task!r} ({p.name} not found in {CONFIG_DIR}); pass --config")
    return p


def read_config_text(path) -> str:
    p = Path(path)
    if not p.is_file():
        raise EntmError(f"config file not found: {p}")
    try:
        return p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise EntmError(f"cannot read config file {p}: {e}") from None


def config_sizes(text: str, source: str = "config") -> tuple[int, int]:
    """(num_inputs, num_outputs) of a config text."""
    cp = configparser.ConfigParser()
    try:
        cp.read_string(text)
        return cp.getint("DefaultGenome", "num_inputs"), cp.getint("DefaultGenome", "num_outputs")
    except (configparser.Error, ValueError) as e:
        msg = str(e).splitlines()[0]
        raise EntmError(f"{source}: {msg}") from None


def fit_sizes(text: str, num_inputs: int, num_outputs: int) -> str:
    """The config text with ``num_inputs``/``num_outputs`` set (comments kept)."""
    for key, value in (("num_inputs", num_inputs), ("num_outputs", num_outputs)):
        text, n = re.subn(rf"(?m)^(\s*{key}\s*=\s*)\S+", rf"\g<1>{value}", text)
        if n != 1:
            raise EntmError(f"config has {n} '{key}' entries, expected exactly one")
    return text


def set_controller(text: str, controller: str | None, encoding: str = "direct") -> str:
    """The config text with ``feed_forward`` set (comments kept) for the controller ``entm evolve --controller``
    asks for: ``feedforward`` or ``recurrent`` (neat-python's recurrent network: every node reads the previous
    step's values, so links may form loops); None: the text as it is.  The hyper encoding paints feedforward
    controllers only."""
    if controller is None:
        return text
    if controller not in ("feedforward", "recurrent"):
        raise EntmError(f"--controller must be feedforward or recurrent, got {controller!r}")
    if encoding == "hyper":
        raise EntmError("--controller: the hyper encoding paints a feedforward controller; use --encoding direct")
    text, n = re.subn(r"(?m)^(\s*feed_forward\s*=\s*)\S+", rf"\g<1>{controller == 'feedforward'}", text)
    if n != 1:
        raise EntmError(f"config has {n} 'feed_forward' entries, expected exactly one")
    return text


def load_config(text: str, source: str = "config") -> neat.Config:
    """A ``neat.Config`` from config text; any problem becomes a one-line EntmError naming ``source``.
    Every item's type and range is checked first (:func:`entm.config_checks.check_config_text`)."""
    check_config_text(text, source)
    fd, tmp = tempfile.mkstemp(suffix=".ini", prefix="entm-config-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        try:
            cfg = neat.Config(DefaultGenome, DefaultReproduction, DefaultSpeciesSet,
                              neat.DefaultStagnation, tmp)
        except Exception as e:  # neat-python raises many kinds for a bad file
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            if isinstance(e, (KeyError, configparser.NoSectionError)):
                first = f"missing section or item {first}"
            raise EntmError(f"{source}: invalid neat-python config: {first}") from None
    finally:
        os.unlink(tmp)
    return cfg
