"""The README and docs/ as a reader uses them: every Python snippet runs, every relative link leads
somewhere, the set-up commands are the ones CI runs, and the pages point to nothing outside the
repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, subprocess_env

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")

#: the two set-up commands of the README, exactly (CI runs the second one's test command)
SETUP_COMMANDS = (
    "bash .ci/setup && python3 -m entm evolve --task copy --vector-size 2 --run-dir runs/copy-demo",
    "bash .ci/setup && python3 -m pytest -q",
)


def code_blocks(page: Path) -> list[tuple[str, str]]:
    """(info string, code) of every fenced block of a Markdown page."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(page.read_text())]


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks to run; a block whose info string says ``no-test`` is left out."""
    out = []
    for info, code in code_blocks(page):
        words = info.split()
        if words and words[0] == "python" and "no-test" not in words[1:]:
            out.append(code)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)}


def test_fence_parser_reads_info_strings(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\n```python no-test\ny = 2\n```\n\n```bash\nls\n```\n")
    assert [info for info, _ in code_blocks(page)] == ["python", "python no-test", "bash"]
    assert python_blocks(page) == ["x = 1\n"]


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_snippets_run(page, tmp_path, monkeypatch):
    """A page's ```python blocks, in order, in one namespace, in an empty directory, as a reader pastes them."""
    script = tmp_path / "snippets.py"
    script.write_text("\n\n".join(python_blocks(page)))
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True, text=True, timeout=600,
                          env=subprocess_env())
    assert proc.returncode == 0, f"{page.name}: a snippet failed:\n{proc.stderr[-3000:]}"


def test_api_page_covers_the_python_api():
    code = "\n".join(python_blocks(ROOT / "docs" / "api.md"))
    for name in ("EvolveSettings", "evolve(", "read_metrics", "load_champion", "evaluate_lengths",
                 "champ.machine.run(champ.network, episodes.inputs"):
        assert name in code, name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    """Every link to a file of the repository names one that exists, and its #anchor a heading of it."""
    bad = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not bad, f"{page.name}: " + "; ".join(bad)


def test_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    missing = [p.name for p in DOCS if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not link {missing}"


def test_readme_setup_commands_are_the_ci_commands():
    blocks = "\n".join(code for _, code in code_blocks(ROOT / "README.md"))
    lines = [ln.strip() for ln in blocks.splitlines()]
    for cmd in SETUP_COMMANDS:
        assert cmd in lines, cmd
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash .ci/setup" in ci and "python3 -m pytest -q" in ci


OUTSIDE = re.compile(r"(?-i:DESIGN\.md|REFERENCES\.md)|shared notes|\.\./shared|other agents|helper agents?|"
                     r"design notes", re.I)


def test_pages_and_configs_refer_to_nothing_outside_the_repository():
    """Readers have the repository only: no pointer to notes they lack, no story of its development."""
    files = PAGES + sorted((ROOT / "evolution_configs").glob("*.ini")) + [ROOT / ".ci" / "setup"]
    hits = [f"{f.relative_to(ROOT)}:{i}: {line.strip()}" for f in files
            for i, line in enumerate(f.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert not hits, "\n".join(hits)


def test_readme_layout_lists_the_packages():
    """The README's layout section names every folder that holds Python code."""
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    folders = {p.parent.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py")
               if not any(part.startswith(".") or part in ("build", "__pycache__") or part.endswith(".egg-info")
                          for part in p.relative_to(ROOT).parts)}
    missing = sorted(f for f in folders if not f.startswith("tests/") and f"{f}/" not in layout)
    assert not missing, f"README layout does not list {missing}"
