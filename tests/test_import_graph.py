"""No import cycle anywhere in ``engine``, counting the imports made inside functions.

The graph is read from the source (``ast``), so an import deferred into a function body still
counts: deferring a project import is no way around a cycle.  Importing ``a.b.c`` also runs the
packages ``a`` and ``a.b``, so an import from outside a package counts as an import of each of its
parent packages too.  Imports under ``if TYPE_CHECKING:`` never run and are left out.

A package made lazy (``engine/lazy.py``: ``lazy_package(__name__, {name: submodule})``) imports a
submodule when one of its names is read, so ``from engine.inbox import ingest`` or ``inbox.ingest`` is an
import of ``engine.inbox.pipeline``: the graph has that edge too, else a cycle through a lazy package
would pass unseen.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def _modules(engine_dir: Path = ENGINE) -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in engine_dir.rglob("*.py"):
        parts = list(path.relative_to(engine_dir.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            stack.append(child)
    return found


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def lazy_exports(package: str, tree: ast.AST) -> dict[str, str]:
    """A lazy package's ``{name: full submodule}`` (its ``lazy_package(__name__, {…})`` call)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "lazy_package" and len(node.args) == 2:
            table = node.args[1]
            assert isinstance(table, ast.Dict), f"{package}: lazy_package needs a literal table"
            return {ast.literal_eval(k): f"{package}.{ast.literal_eval(v)}"
                    for k, v in zip(table.keys, table.values, strict=True) if k is not None}
    return {}


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    return ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))


def _lazy_targets(module: str, is_package: bool, tree: ast.AST, lazy: dict[str, dict[str, str]]) -> set[str]:
    """The submodules a module loads through lazy packages: names imported from one, and names read
    from one bound by ``import``/``from … import`` (``archive.verify``)."""
    out: set[str] = set()
    bound: dict[str, str] = {}  # local name → lazy package
    for node in _imports(tree):
        if isinstance(node, ast.ImportFrom):
            base = _base(module, is_package, node)
            for a in node.names:
                out |= {lazy[base][a.name]} if a.name in lazy.get(base, {}) else set()
                if f"{base}.{a.name}" in lazy:
                    bound[a.asname or a.name] = f"{base}.{a.name}"
        else:
            for a in node.names:
                if a.asname and a.name in lazy:
                    bound[a.asname] = a.name
                elif not a.asname and a.name.split(".")[0] in lazy:
                    bound[a.name.split(".")[0]] = a.name.split(".")[0]
    for node in ast.walk(tree):  # `engine.archive.verify` reads `archive` from `engine`, then `verify`
        chain = ast.unparse(node).split(".") if isinstance(node, ast.Attribute) else []
        if chain and chain[0] in bound:
            package = bound[chain[0]]
            for attr in chain[1:]:
                if attr in lazy.get(package, {}):
                    out.add(lazy[package][attr])
                package = f"{package}.{attr}"
    return out


def import_graph(engine_dir: Path = ENGINE) -> dict[str, set[str]]:
    modules = _modules(engine_dir)
    known = set(modules)
    trees = {m: ast.parse(path.read_text(encoding="utf-8")) for m, (path, _) in modules.items()}
    lazy = {m: t for m, (_, is_package) in modules.items() if is_package and (t := lazy_exports(m, trees[m]))}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, (_, is_package) in modules.items():
        own_packages = {module, *_ancestors(module)}
        targets = [t for node in _imports(trees[module]) for t in _targets(module, is_package, node, known)]
        for target in (*targets, *_lazy_targets(module, is_package, trees[module], lazy)):
            for t in (target, *_ancestors(target)):
                if t in known and t not in own_packages:
                    graph[module].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_engine_has_no_import_cycle() -> None:
    graph = import_graph()
    assert {"engine.db", "engine.register", "engine.archive.store"} <= set(graph)
    assert cycles(graph) == []


def test_the_database_package_imports_no_feature() -> None:
    graph = import_graph()
    allowed = {"engine.db", "engine.db.migrations", "engine.findings", "engine.workspace", "engine.divisions",
               "engine.forms", "engine.forms.definitions", "engine.forms.types"}
    reached, todo = set(), ["engine.db"]
    while todo:
        m = todo.pop()
        if m not in reached:
            reached.add(m)
            todo += graph[m]
    assert reached <= allowed, sorted(reached - allowed)


def test_the_checker_sees_a_cycle_made_inside_a_function() -> None:
    """The checker itself: an import deferred into a function closes a cycle all the same."""
    a = ast.parse("from . import b\n")
    b = ast.parse("def f():\n    from . import a\n")
    known = {"pkg", "pkg.a", "pkg.b"}
    graph = {m: {t for n in _imports(tree) for t in _targets(m, False, n, known)}
             for m, tree in (("pkg.a", a), ("pkg.b", b))}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_the_checker_sees_a_cycle_through_a_lazy_package(tmp_path: Path) -> None:
    """The checker itself: ``pkg.sub`` imports nothing by name from ``pkg.lazy``'s modules, yet reading
    ``lazy.f`` loads ``pkg.lazy.impl``, which imports ``pkg.sub``."""
    pkg = tmp_path / "engine"
    (pkg / "lazy").mkdir(parents=True)
    files = {"__init__.py": "", "sub.py": "from . import lazy\n\ndef g():\n    return lazy.f()\n",
             "other.py": "from .lazy import f\n",
             "lazy/__init__.py": 'from ..lazy_util import lazy_package\n__all__ = lazy_package(__name__, {"f": "impl"})\n',
             "lazy/impl.py": "from .. import sub\n\ndef f():\n    return sub\n", "lazy_util.py": ""}
    for name, body in files.items():
        (pkg / name).write_text(body, encoding="utf-8")
    graph = import_graph(pkg)
    assert "engine.lazy.impl" in graph["engine.sub"] and "engine.lazy.impl" in graph["engine.other"]
    assert cycles(graph) == [["engine.lazy.impl", "engine.sub"]]


# ---- no "module may be missing" branch for what always ships -------------------------------------------------

# Imports that may truly be absent: platform modules of the standard library.
MAY_BE_ABSENT = {("engine.inbox.claim", "fcntl"), ("engine.inbox.pool", "resource"), ("engine.actor", "pwd")}  # POSIX


def fallbacks(engine_dir: Path = ENGINE) -> list[str]:
    """``try: import x … except ImportError`` (or ``ModuleNotFoundError``) anywhere in the engine: the
    engine's own modules and its dependencies always ship, so such a branch only hides a broken install."""
    found = []
    for module, (path, _) in _modules(engine_dir).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            caught = {n for h in node.handlers if h.type is not None
                      for n in ast.unparse(h.type).strip("()").replace(" ", "").split(",")}
            if not caught & {"ImportError", "ModuleNotFoundError"}:
                continue
            imported = [a.name if isinstance(n, ast.Import) else (n.module or ".") for s in node.body
                        for n in ast.walk(s) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names]
            imported = [m for m in imported if (module, m) not in MAY_BE_ABSENT] or (["?"] if not imported else [])
            found += [f"{path.relative_to(engine_dir.parent)}:{node.lineno} {m}" for m in imported]
    return found


def test_nothing_that_ships_is_treated_as_maybe_missing() -> None:
    assert fallbacks() == []


def test_the_fallback_checker_sees_each_form(tmp_path: Path) -> None:
    pkg = tmp_path / "engine"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "try:\n    from pillow_heif import x\nexcept ImportError:\n    x = None\n"
        "def f(name):\n    try:\n        return importlib.import_module(name)\n    except (KeyError, ModuleNotFoundError):\n"
        "        return None\n"
        "try:\n    import json\nexcept ValueError:\n    pass\n", encoding="utf-8")
    assert fallbacks(pkg) == ["engine/a.py:1 pillow_heif", "engine/a.py:6 ?"]


# ---- the project's own modules imported inside a function: each one a start-up deferral, named here ----------

# (module, what it imports inside a function) → why.  None of these closes a cycle (the graph above counts
# them); each keeps a heavy part out of commands that do not need it.  A new one must be added here, with
# its reason, or be a top-level import: a function-level import is never the way around a cycle.
DEFERRED = {
    ("engine.cli.web_cmd", "engine.web.server"): "FastAPI and uvicorn only for `ruqi serve`, not `ruqi user`",
    ("engine.cli.workspace_cmd", "engine.demo"): "the demo's whole engine only for `ruqi demo`, not `ruqi init`",
    ("engine.generate", "engine.render"): "the renderers only when something is rendered, not for --check",
    ("engine.launch", "engine.cli"): "the command line loaded with the garbage collector paused",
    ("engine.render.build_templates", "engine.render.templates"): "a developer script's entry point",
    ("engine.render.cli", "engine.cli.common"): "the console only when `ruqi templates check` runs",
}


def deferred_project_imports(engine_dir: Path = ENGINE) -> set[tuple[str, str]]:
    """(module, engine module imported) for every ``import``/``from … import`` of the engine's own modules
    made inside a function body."""
    modules = _modules(engine_dir)
    known = set(modules)
    found = set()
    for module, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found |= {(module, t) for t in _targets(module, is_package, node, known)
                              if t == "engine" or t.startswith("engine.")}
    return found


def test_every_deferred_import_of_the_engine_is_a_named_start_up_deferral() -> None:
    assert deferred_project_imports() == set(DEFERRED)


def test_the_deferred_import_finder_sees_one(tmp_path: Path) -> None:
    pkg = tmp_path / "engine"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "b.py").write_text("")
    (pkg / "a.py").write_text("import json\n\ndef f():\n    import os\n    from . import b\n    return b\n")
    assert deferred_project_imports(pkg) == {("engine.a", "engine.b")}
