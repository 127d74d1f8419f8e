"""The house as the README describes it: d8lib's top level holds only its layers, the
command and ``__init__``; the README's table of layers names every module of the tree
and no other; the package lists every layer it installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "d8lib"


def _readme_table() -> dict[str, set[str]]:
    """Each layer of the README's table with the modules it names."""
    table = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        row = re.match(r"\| `(d8lib(?:\.[a-z_.]+)?|d8demo)` \|([^|]*)\|", line)
        if row:
            table[row.group(1)] = set(re.findall(r"`([a-z_]+)/?`", row.group(2)))
    return table


def test_the_top_level_holds_only_layers_the_command_and_init():
    top = {p.name for p in LIBRARY.iterdir() if not p.name.startswith((".", "__pycache__"))}
    layers = {p.name for p in LIBRARY.iterdir() if (p / "__init__.py").is_file()}
    assert top - layers == {"cli.py", "__init__.py"}


def test_the_readme_names_every_module_of_the_tree():
    table = _readme_table()
    for package in [p for p in LIBRARY.rglob("__init__.py")] + [ROOT / "d8demo" / "__init__.py"]:
        folder = package.parent
        dotted = ".".join(folder.relative_to(ROOT).parts)
        if dotted == "d8lib":
            continue
        modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        modules |= {p.name for p in folder.iterdir() if p.is_dir() and p.name == "templates"}
        assert table.get(dotted) == modules, dotted
    assert "d8lib.cli" in table


def test_the_package_installs_every_layer():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("d8*/**/__init__.py")}
    assert on_disk <= listed
    for package in listed - on_disk:  # data/ and notebooks/, mapped in, and the report template: data only
        parts = package.split(".")
        if parts[1] in ("data", "notebooks"):
            folder = ROOT.joinpath(parts[1], *parts[2:])
        else:
            folder = ROOT.joinpath(*parts)
        assert folder.is_dir() and not list(folder.glob("*.py")), package
