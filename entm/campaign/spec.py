"""Campaign files: named groups of runs, each run one (group, seed) (docs/campaigns.md).

A campaign file is TOML (read with the standard library's ``tomllib``)::

    seeds = [0, 1, 2, 3, 4]          # every group's seeds, unless the group gives its own

    [groups.copy2-direct]             # an evolution group: EvolveSettings fields
    task = "copy"
    task_params = { vector_size = 2 }
    generations = 300

    [groups.copy8-hyper]
    task = "copy"
    task_params = { vector_size = 8 }
    encoding = "hyper"
    generations = 300
    grid = { episodes = [20, 50] }    # two groups: copy8-hyper-episodes_20, copy8-hyper-episodes_50

    [groups.ntm]                      # a training group: TrainSettings fields
    kind = "training"
    task = "copy"
    model = "ntm"                     # short for architecture = { model = "ntm" }
    steps = 5000

:func:`load_campaign` checks everything (keys, types, tasks, configs, seeds, names) and expands the
grids before anything starts: a campaign is a pure function of its file, and a bad file is one
:class:`~entm.errors.EntmError` line.  Nothing here imports torch or Ray.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: tomli is the library that became tomllib in 3.11
    import tomli as tomllib

from entm.baseline.presets import train_preset_settings
from entm.baseline.settings import ModelSettings, TrainSettings
from entm.errors import EntmError
from entm.evolution.loop import EvolveSettings, prepare
from entm.presets import preset_settings

KINDS = ("evolution", "training")
#: keys of a group that are not run settings
GROUP_KEYS = ("kind", "seeds", "grid", "cpus")
#: top-level keys of a campaign file
TOP_KEYS = ("name", "description", "seeds", "groups")
#: settings a campaign sets itself for every run (where it goes, how it evaluates, its seed)
RESERVED = {
    "evolution": ("seed", "run_dir", "evaluator", "workers", "ray_address", "ray_verbose"),
    "training": ("seed", "run_dir", "device"),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class RunSpec:
    """One run of a campaign: a group's settings with one seed."""

    group: str
    seed: int
    kind: str
    """``evolution`` or ``training``."""
    settings: dict
    """The run's settings (EvolveSettings or TrainSettings fields, without seed and run_dir)."""
    cpus: int = 1
    """CPUs the run holds on the cluster (a training run's torch threads)."""

    @property
    def name(self) -> str:
        """The run directory's name under the campaign's ``runs/``."""
        return f"{self.group}-seed{self.seed}"

    def record(self) -> dict:
        return {"group": self.group, "seed": self.seed, "kind": self.kind, "settings": self.settings,
                "cpus": self.cpus}


@dataclass(frozen=True)
class Campaign:
    name: str
    runs: tuple
    """Every :class:`RunSpec`, group by group in file order, seeds in the order given."""
    groups: tuple
    """Group names (after grid expansion), in file order."""
    base: str
    """The folder relative ``config`` paths were resolved against (the campaign file's)."""

    def canonical(self) -> str:
        """What the campaign computes, as canonical JSON: two files with equal ``canonical()`` are the
        same campaign (comments, spacing and key order aside)."""
        return json.dumps([r.record() for r in self.runs], sort_keys=True, separators=(",", ":"))

    def group_of(self, group: str) -> list:
        return [r for r in self.runs if r.group == group]


def read_campaign_text(path) -> str:
    p = Path(path)
    if not p.is_file():
        raise EntmError(f"no such campaign file: {p}")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EntmError(f"cannot read campaign file {p}: {e}") from None


def load_campaign(path) -> Campaign:
    """Read, check and expand a campaign file (see the module docstring)."""
    p = Path(path)
    return parse_campaign(read_campaign_text(p), where=str(p), base=p.resolve().parent, default_name=p.stem)


def parse_campaign(text: str, where: str = "campaign", base=".", default_name: str = "campaign") -> Campaign:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise EntmError(f"{where}: not valid TOML: {e}") from None
    _unknown(data, TOP_KEYS, f"{where}: unknown key {{!r}}; a campaign file has {', '.join(TOP_KEYS)}")
    name = data.get("name", default_name)
    _check_type(f"{where}: name", name, str)
    groups = data.get("groups")
    if not isinstance(groups, dict) or not groups:
        raise EntmError(f"{where}: no groups; add at least one [groups.NAME] table")
    default_seeds = data.get("seeds")
    runs, names = [], []
    for gname, group in groups.items():
        if not isinstance(group, dict):
            raise EntmError(f"{where}: groups.{gname} must be a table, got {type(group).__name__}")
        for name_, settings, cpus, seeds, kind in _expand(where, gname, group, default_seeds, Path(base)):
            if name_ in names:
                raise EntmError(f"{where}: group name {name_!r} is used twice")
            names.append(name_)
            runs += [RunSpec(group=name_, seed=s, kind=kind, settings=settings, cpus=cpus) for s in seeds]
    return Campaign(name=name, runs=tuple(runs), groups=tuple(names), base=str(base))


def _expand(where, gname, group, default_seeds, base):
    """(name, settings, cpus, seeds, kind) of each group a [groups.X] table expands into."""
    at = f"{where}: groups.{gname}"
    if not _NAME.match(gname):
        raise EntmError(f"{at}: a group name is letters, digits and _ . + - (it names run directories)")
    kind = group.get("kind", "evolution")
    if kind not in KINDS:
        raise EntmError(f"{at}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    allowed = setting_names(kind)
    hint = "" if kind == "training" else ' (a training group says kind = "training")'
    a = "an" if kind == "evolution" else "a"
    _unknown(group, GROUP_KEYS + allowed, f"{at}: unknown key {{!r}} for {a} {kind} group{hint}")
    seeds = group.get("seeds", default_seeds)
    if seeds is None:
        raise EntmError(f"{at}: no seeds; give seeds = [...] in the group or at the top of the file")
    if not isinstance(seeds, list) or not seeds:
        raise EntmError(f"{at}: seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise EntmError(f"{at}: seeds must be non-negative integers, got {s!r}")
    if len(set(seeds)) != len(seeds):
        raise EntmError(f"{at}: seeds {seeds} name a seed twice")
    cpus = group.get("cpus", 1)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise EntmError(f"{at}: cpus must be a positive integer, got {cpus!r}")
    if kind == "evolution" and cpus != 1:
        raise EntmError(f"{at}: cpus = {cpus}, but an evolution run in a campaign evaluates serially on one CPU; "
                        f"spread the work over seeds and groups instead")
    grid = group.get("grid", {})
    if not isinstance(grid, dict):
        raise EntmError(f"{at}: grid must be a table of setting = [values], got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise EntmError(f"{at}: grid.{key} must be a non-empty list of values, got {values!r}")
        if key.split(".")[0] not in allowed:
            raise EntmError(f"{at}: grid.{key}: unknown setting {key.split('.')[0]!r} for {a} {kind} group")
    base_settings = {k: v for k, v in group.items() if k not in GROUP_KEYS}
    out = []
    for combo in itertools.product(*grid.values()) if grid else [()]:
        settings = copy.deepcopy(base_settings)
        suffix = []
        for key, value in zip(grid, combo):
            _set_dotted(settings, key, value, at)
            suffix.append(f"{key.split('.')[-1]}_{value}")
        name = "-".join([gname, *suffix])
        gat = f"{where}: groups.{name}" if suffix else at
        out.append((name, check_settings(kind, settings, gat, base), cpus, list(seeds), kind))
    return out


def setting_names(kind: str) -> tuple:
    """The settings a group of ``kind`` may give: the settings dataclass's fields (a field added later, such
    as an evolution ``preset``, is accepted as soon as it exists), less those the campaign sets itself."""
    cls = EvolveSettings if kind == "evolution" else TrainSettings
    names = tuple(f.name for f in fields(cls) if f.name not in RESERVED[kind])
    return names + (("model",) if kind == "training" else ())


def _set_dotted(settings: dict, key: str, value, at: str) -> None:
    *path, last = key.split(".")
    d = settings
    for part in path:
        d = d.setdefault(part, {})
        if not isinstance(d, dict):
            raise EntmError(f"{at}: grid.{key}: {part} is not a table")
    d[last] = value


def check_settings(kind: str, settings: dict, at: str, base: Path) -> dict:
    """A group's settings checked (types, then the settings' own checks, the task and config included);
    returns them with ``config`` and ``init_from`` made absolute, the network ``init_from`` names read into
    ``init_network``, and the training ``model`` shortcut folded in."""
    settings = copy.deepcopy(settings)
    if kind == "training" and "model" in settings:
        model = settings.pop("model")
        _check_type(f"{at}: model", model, str)
        arch = settings.setdefault("architecture", {})
        if not isinstance(arch, dict):
            raise EntmError(f"{at}: architecture must be a table, got {arch!r}")
        if arch.get("model", model) != model:
            raise EntmError(f"{at}: model = {model!r} but architecture.model = {arch['model']!r}")
        arch["model"] = model
    cls = EvolveSettings if kind == "evolution" else TrainSettings
    types = {f.name: f.type for f in fields(cls)}
    for key, value in settings.items():
        _check_type(f"{at}: {key}", value, types[key])
    if kind == "training" and "architecture" in settings:
        arch_types = {f.name: f.type for f in fields(ModelSettings)}
        _unknown(settings["architecture"], tuple(arch_types), f"{at}: unknown architecture key {{!r}}")
        for key, value in settings["architecture"].items():
            _check_type(f"{at}: architecture.{key}", value, arch_types[key])
    if settings.get("preset"):  # a preset's settings, the group's own on top
        merge = preset_settings if kind == "evolution" else train_preset_settings
        try:
            settings = merge(settings["preset"], {k: v for k, v in settings.items() if k != "preset"})
        except EntmError as e:
            raise EntmError(f"{at}: {e}") from None
    for key in ("config", "init_from"):  # files named relative to the campaign file
        if settings.get(key) is not None:
            path = Path(settings[key]).expanduser()
            settings[key] = str(path if path.is_absolute() else (base / path).resolve())
    if settings.get("init_from") is not None and settings.get("init_network") is None:
        from entm.evolution.seeding import read_init  # the network itself, so that the campaign records it

        try:
            settings["init_network"] = read_init(settings["init_from"])["init_network"]
        except EntmError as e:
            raise EntmError(f"{at}: {e}") from None
    try:
        if kind == "evolution":
            prepare(EvolveSettings(**copy.deepcopy(settings), evaluator="serial"))
        else:
            t = TrainSettings(**copy.deepcopy(settings))
            _check_sequence_task(t.task, t.task_params)
    except EntmError as e:
        raise EntmError(f"{at}: {e}") from None
    except TypeError as e:
        raise EntmError(f"{at}: {e}") from None
    return settings


def _check_sequence_task(name: str, params: dict) -> None:
    from entm.tasks import SequenceTask, make_task

    task = make_task(name, params)
    if not isinstance(task, SequenceTask):
        raise EntmError(f"task {name!r} is not a sequence task; the trained baselines learn sequence tasks only")


_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "dict": (dict,),
          "ModelSettings": (dict,), "list": (list,), "None": ()}


def _check_type(what: str, value, annotation) -> None:
    """``value`` fits the dataclass annotation (``int``, ``float | None``, ``dict`` ...); TOML has no null,
    so ``None`` never comes from a file.  A bool is not a number here."""
    names = [a.strip() for a in (annotation if isinstance(annotation, str) else annotation.__name__).split("|")]
    allowed = tuple(t for n in names for t in _TYPES.get(n, (object,)))
    if isinstance(value, bool) and bool not in allowed:
        allowed = ()
    if not isinstance(value, allowed):
        want = " or ".join(n for n in names if n != "None")
        raise EntmError(f"{what} must be {want}, got {value!r}")


def _unknown(table: dict, allowed: tuple, message: str) -> None:
    for key in table:
        if key not in allowed:
            raise EntmError(message.format(key))
