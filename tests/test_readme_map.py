"""The README's module map is the code's: every module of ``engine/`` is in it, nothing in it is gone.

The map is the table under "### Modules": one row per top-level module (``engine/x.py``) and per package
(``engine/x/``, at any depth), and a package's row names each of its own modules as ``name.py``.  Any other
``engine/…`` path or ``engine.…`` module the README mentions must exist too.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
README = ROOT / "README.md"


def map_rows(readme: str) -> dict[str, str]:
    """First column (the path) → second column, of the table under ``### Modules``."""
    section = readme.split("\n### Modules\n", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"\| `(engine/[^`]*)` \| (.*) \|$", line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} has two rows"
            rows[m.group(1)] = m.group(2)
    return rows


def code_map(engine: Path) -> dict[str, set[str]]:
    """``engine/x.py`` → set() for top-level modules, ``engine/x/`` → its own modules, for every package."""
    out: dict[str, set[str]] = {}
    for path in engine.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(engine.parent).as_posix()
        if path.parent == engine and path.name != "__init__.py":
            out[rel] = set()
        elif path.name == "__init__.py" and path.parent != engine:
            out.setdefault(path.parent.relative_to(engine.parent).as_posix() + "/", set())
        elif path.parent != engine:
            out.setdefault(path.parent.relative_to(engine.parent).as_posix() + "/", set()).add(path.name)
    return out


def differences(readme: str, engine: Path) -> list[str]:
    rows, code = map_rows(readme), code_map(engine)
    problems = [f"{p}: not in the module map" for p in sorted(set(code) - set(rows))]
    problems += [f"{p}: in the module map, not in the code" for p in sorted(set(rows) - set(code))]
    for package in sorted(p for p in set(rows) & set(code) if p.endswith("/")):
        named = set(re.findall(r"`([A-Za-z_][\w]*\.py)`", rows[package]))
        problems += [f"{package}{m}: not named in its package's row" for m in sorted(code[package] - named)]
        problems += [f"{package}{m}: named in the map, not in the code" for m in sorted(named - code[package])]
    return problems


def dangling_mentions(readme: str, root: Path) -> list[str]:
    """``engine/…`` paths and ``engine.…`` modules anywhere in the README that do not exist."""
    gone = []
    for p in set(re.findall(r"engine/[\w/]*\w(?:\.py)?/?", readme)):
        stem = p.removesuffix(".py").rstrip("/")
        if not any((root / c).exists() for c in (p, f"{stem}.py", stem)):
            gone.append(p)
    for dotted in set(re.findall(r"`(engine(?:\.\w+)+)`", readme)):
        parts = dotted.split(".")
        # the longest prefix that is a module or package; what follows it is an attribute
        if not any((root / "/".join(parts[:k])).with_suffix(".py").exists() or (root / "/".join(parts[:k])).is_dir()
                   for k in range(2, len(parts) + 1)):
            gone.append(dotted)
    return sorted(gone)


def test_the_module_map_lists_every_module_and_nothing_else() -> None:
    assert differences(README.read_text(encoding="utf-8"), ENGINE) == []


def test_every_module_the_readme_mentions_exists() -> None:
    assert dangling_mentions(README.read_text(encoding="utf-8"), ROOT) == []


def test_the_checker_sees_a_new_a_gone_and_an_unnamed_module(tmp_path: Path) -> None:
    """The checker itself, on a small package tree and a map that is wrong in each way once."""
    eng = tmp_path / "engine"
    (eng / "pkg").mkdir(parents=True)
    for f in ("__init__.py", "a.py", "new.py", "pkg/__init__.py", "pkg/one.py", "pkg/two.py"):
        (eng / f).write_text("")
    readme = ("# x\n\n### Modules\n\n| module | concept |\n|---|---|\n| `engine/a.py` | a |\n"
              "| `engine/gone.py` | removed |\n| `engine/pkg/` | `one.py` and `three.py` |\n\n### Next\n"
              "See `engine/a.py`, `engine.pkg.one.f`, engine/missing.py and `engine.nowhere`.\n")
    assert differences(readme, eng) == [
        "engine/new.py: not in the module map", "engine/gone.py: in the module map, not in the code",
        "engine/pkg/two.py: not named in its package's row", "engine/pkg/three.py: named in the map, not in the code"]
    assert dangling_mentions(readme, tmp_path) == ["engine.nowhere", "engine/gone.py", "engine/missing.py"]
