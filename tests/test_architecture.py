"""The shape of the code base: package names, import direction, module sizes, public names.

These read the source (``ast``), and one test installs the package into a
temporary folder, as a user's ``pip install .`` would.
"""

from __future__ import annotations

import ast
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the project's packages and where their sources live (pyproject's package-dir mapping)
SOURCES = {"entm": ROOT / "entm", "entm.tasks": ROOT / "tasks", "entm.analysis": ROOT / "analysis",
           "entm.evolution_configs": ROOT / "evolution_configs"}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    """Every project module: dotted name -> file."""
    out = {}
    for prefix, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            if prefix == "entm" and parts[:1] in (["tasks"], ["analysis"]):
                continue  # not on disk under entm/, but keep the loop honest
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported project module, line, at module level) for every import in a module."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            if t in MODULES:
                found.append((t, node.lineno, id(node) in top))
    return found


def test_every_package_is_installed():
    """pyproject's package list names every package of the source tree (a new one cannot be forgotten)."""
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert set(cfg["packages"]) == packages
    assert {k: ROOT / v for k, v in cfg["package-dir"].items()} == {k: v for k, v in SOURCES.items() if k != "entm"}


def test_no_import_cycles():
    """The module graph (every import, function-level ones included) has no cycle."""
    graph = {name: {t for t, _, _ in _imports(name, path) if t != name} for name, path in MODULES.items()}
    state: dict = {}
    stack: list = []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == "open":
                cycle = stack[stack.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_tasks_know_nothing_of_search_or_plotting():
    """tasks/ imports numpy and entm.errors, never NEAT, Ray, torch, matplotlib or the rest of entm."""
    allowed = {"entm.errors"}
    for name, path in MODULES.items():
        if not name.startswith("entm.tasks"):
            continue
        text = path.read_text()
        for lib in ("neat", "ray", "torch", "matplotlib"):
            assert f"import {lib}" not in text and f"from {lib}" not in text, (name, lib)
        for target, line, _ in _imports(name, path):
            assert target.startswith("entm.tasks") or target in allowed, f"{name}:{line} imports {target}"


def test_modules_are_small():
    big = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert big == {}, f"modules over {MAX_LINES} lines: {big}"


def test_no_private_names_across_modules():
    """No module imports or reads another project module's private (underscore) names."""
    offenders = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("entm"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in MODULES:
                        aliases[a.asname or a.name] = full
                    elif a.name.startswith("_"):
                        offenders.append(f"{name}:{node.lineno} imports {node.module}.{a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in MODULES and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                offenders.append(f"{name}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    assert offenders == []


def test_installed_package_has_no_generic_top_level_names(tmp_path):
    """``pip install .`` puts only ``entm`` into site-packages: ``import tasks``/``analysis`` fail there,
    ``entm.tasks``/``entm.analysis`` work, and the shipped configs come along (a short evolution runs)."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True, text=True)
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin") \
        == ["entm"]
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import importlib.util as u, entm, entm.tasks, entm.analysis\n"
            "assert entm.__file__.startswith(%r), entm.__file__\n"
            "print([u.find_spec(m) is None for m in ('tasks', 'analysis', 'evolution_configs')])" % str(target))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[True, True, True]"
    r = subprocess.run([sys.executable, "-m", "entm", "evolve", "--serial", "--quiet", "--task", "copy",
                        "--vector-size", "2", "--generations", "2", "--run-dir", str(tmp_path / "run")],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "champion.json").is_file()


#: (importer prefix, forbidden import prefixes): the dependency rules of docs/design.md
LAYERS = [
    ("entm.phenotype", ("entm.memory", "entm.machine", "entm.closed_loop", "entm.tasks", "entm.evolution",
                        "entm.hyper", "entm.analysis", "entm.baseline")),
    ("entm.memory", ("entm.phenotype", "entm.machine", "entm.tasks", "entm.evolution", "entm.analysis")),
    ("entm.machine", ("entm.evolution", "entm.analysis", "entm.baseline", "entm.hyper")),
    ("entm.closed_loop", ("entm.evolution", "entm.analysis", "entm.baseline", "entm.hyper")),
    ("entm.hyper", ("entm.evolution", "entm.analysis", "entm.baseline", "entm.champion")),
    ("entm.neatconfig", ("entm.hyper", "entm.evolution.loop", "entm.evolution.evaluator", "entm.analysis")),
    ("entm.evolution", ("entm.analysis", "entm.baseline", "entm.cli")),
    ("entm.baseline", ("entm.evolution", "entm.analysis", "entm.cli")),
    ("entm.campaign", ("entm.analysis", "entm.cli")),
]


@pytest.mark.parametrize("importer,forbidden", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_dependency_rules(importer, forbidden):
    bad = [f"{name}:{line} imports {target}" for name, path in MODULES.items()
           if name == importer or name.startswith(importer + ".")
           for target, line, _ in _imports(name, path) if target.startswith(forbidden)]
    assert bad == []


def test_heavy_libraries_stay_in_their_modules():
    """matplotlib only in entm.analysis, Ray only in entm.evolution.ray_eval and entm.campaign.runner; nothing
    in entm imports entm.analysis but the analysis and campaign commands."""
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        libs = {(a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
                for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for a in node.names}
        if "matplotlib" in libs:
            assert name.startswith("entm.analysis"), name
        if "ray" in libs:
            assert name in ("entm.evolution.ray_eval", "entm.campaign.runner"), name
        if not name.startswith("entm.analysis") and name not in ("entm.cli_analysis", "entm.cli_campaign"):
            assert not any(t.startswith("entm.analysis") for t, _, _ in _imports(name, path)), name


def test_tests_import_no_other_test_module():
    """Shared test code lives in tests/helpers.py (and conftest fixtures), never in another test module."""
    bad = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                    if n.split(".")[-1].startswith(("test_", "conftest")) or n.startswith("tests")]
    assert bad == []


def test_every_kernel_is_cached_under_the_hash_of_all_kernel_sources():
    """numba checks a cached kernel against its own file only: the fused closed loop cached before
    closed_env.py changed kept running the old environment.  Every module that compiles kernels goes through
    entm.jit (listed in KERNEL_MODULES, whose sources name the cache), and its cached dispatchers live there."""
    import importlib

    from numba.core.registry import CPUDispatcher

    from entm import jit

    compiling = sorted(p.relative_to(ROOT / "entm").as_posix() for p in (ROOT / "entm").rglob("*.py")
                       if re.search(r"^\s*(from numba import .*njit|import numba)", p.read_text(), re.M)
                       or "from entm.jit import njit" in p.read_text())
    assert set(compiling) - {"cli.py", "cli_options.py"} <= set(jit.KERNEL_MODULES)
    for name in jit.KERNEL_MODULES:
        text = (ROOT / "entm" / name).read_text()
        assert name == "jit.py" or "from numba import njit" not in text, name
    cached = 0
    for name in jit.KERNEL_MODULES[:-1]:
        module = importlib.import_module("entm." + name[:-3].replace("/", "."))
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and obj._cache.__class__.__name__ == "FunctionCache":
                assert obj._cache._cache_path.startswith(jit.cache_dir()), (name, obj)
                cached += 1
    assert cached >= 10
