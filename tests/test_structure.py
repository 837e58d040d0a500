"""The package's import structure, read from the source with ``ast`` (nothing is imported).

Layers, in the order of the pipeline (scenario -> world -> incidents -> model -> records ->
experiments -> saved results -> reports):

- the **model side**: every module of ``sim/`` outside ``sim/report`` (scenario, world,
  generator, guards, model, records, metrics, experiments, run folders, the exercise);
- the **reports**, ``sim/report/*``: words, tables and charts made from saved files; they may
  read the model side's definitions (a KPI's name, the scenario schema);
- the **interface**, ``sim/cli.py``, ``sim/console.py`` and ``sim/__main__.py``: commands and the
  exercise console, which call both.

The model never imports the reports, so a result cannot depend on how it is shown and the model
can run where no report library is installed (a Dask worker). Every import counts, also one
inside a function; only imports under ``if TYPE_CHECKING:`` (annotations, never run) do not.

Also checked: no import cycles among ``sim`` modules, and no private name (``_x``) taken from
another module (give it a public name in its home module instead). Each check is tried first on
a small made-up package, so that it is known to be able to fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = "sim.report"
INTERFACE = ("sim.cli", "sim.console", "sim.__main__")


@dataclass(frozen=True)
class Import:
    """One import of a ``sim`` module: ``from target import name``, or ``import target`` (no name)."""

    module: str  # the importing module
    line: int
    target: str  # the sim module imported from
    name: str | None = None


def module_name(path: str) -> str:
    """``sim/scenario/load.py`` -> ``sim.scenario.load``; ``sim/scenario/__init__.py`` -> ``sim.scenario``."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node``, in functions too, leaving out the body of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _nodes(other)
            continue
        yield child
        yield from _nodes(child)


def _known(name: str, modules: set[str]) -> str | None:
    """The longest leading part of a dotted name that is one of ``modules`` (None for numpy etc.)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def read_imports(sources: dict[str, str]) -> list[Import]:
    """The imports of ``sim`` modules in ``sources`` (path relative to the root -> source text)."""
    modules = {module_name(p) for p in sources}
    found: list[Import] = []
    for path, text in sorted(sources.items()):
        module = module_name(path)
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in _nodes(ast.parse(text, filename=path)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _known(alias.name, modules)
                    if target:
                        found.append(Import(module, node.lineno, target))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # from . import x, from ..y import z
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:  # from sim import metrics: the module itself
                        found.append(Import(module, node.lineno, f"{base}.{alias.name}"))
                    elif target := _known(base, modules):
                        found.append(Import(module, node.lineno, target, alias.name))
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def reaching_up(imports: list[Import]) -> list[str]:
    """Imports of the reports by a module of the model side."""
    return [
        f"{i.module} (line {i.line}) imports {i.target}"
        for i in imports
        if _within(i.target, REPORTS) and not _within(i.module, REPORTS) and i.module not in INTERFACE
    ]


def private_names(imports: list[Import]) -> list[str]:
    """``from sim.x import _name`` in a module other than ``sim.x``."""
    return [
        f"{i.module} (line {i.line}) imports {i.name} from {i.target}"
        for i in imports
        if i.name and i.name.startswith("_") and not i.name.startswith("__") and i.target != i.module
    ]


def import_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for i in imports:
        if i.target != i.module:
            graph.setdefault(i.module, set()).add(i.target)
            graph.setdefault(i.target, set())
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path that returns to its start (``[a, b, a]``), or None."""
    done: set[str] = set()  # nodes whose every path has been followed to its end
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        todo = [iter(sorted(graph[start]))]  # per node on the path, its targets not yet followed
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                done.add(path.pop())
                todo.pop()
            elif nxt in path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                path.append(nxt)
                todo.append(iter(sorted(graph.get(nxt, ()))))
    return None


def sim_sources() -> dict[str, str]:
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in sorted((ROOT / "sim").rglob("*.py"))}


# --- the checks, first on a made-up package ------------------------------------------------------

MADE_UP = {
    "sim/__init__.py": "from sim.world import build\n",
    "sim/world.py": "import numpy as np\n\ndef build():\n    from sim import model  # a cycle, inside a function\n",
    "sim/model.py": "from sim.report.words import Text\nfrom sim.world import _secret, build\n",
    "sim/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sim.report import words\n",
    "sim/cli.py": "import sim.report.words\nfrom sim import __version__\n",
    "sim/report/__init__.py": "",
    "sim/report/words.py": "from ..model import _own_words\nfrom . import charts\n",
    "sim/report/charts.py": "from .words import Text\n",
}


def test_the_checks_find_what_they_look_for_in_a_made_up_package():
    imports = read_imports(MADE_UP)
    assert Import("sim.report.words", 1, "sim.model", "_own_words") in imports  # relative, two levels
    assert Import("sim.report.words", 2, "sim.report.charts") in imports  # from . import a module
    assert Import("sim.cli", 2, "sim", "__version__") in imports
    assert not [i for i in imports if i.module == "sim.typed"]  # only under TYPE_CHECKING
    assert reaching_up(imports) == ["sim.model (line 1) imports sim.report.words"]  # cli may
    assert private_names(imports) == [
        "sim.model (line 2) imports _secret from sim.world",
        "sim.report.words (line 1) imports _own_words from sim.model",
    ]
    graph = import_graph(imports)
    assert find_cycle(graph) == ["sim.model", "sim.report.words", "sim.model"]
    del graph["sim.report.words"]
    assert find_cycle(graph) == ["sim.world", "sim.model", "sim.world"]  # the import inside a function
    graph["sim.world"] = set()
    assert find_cycle(graph) is None


def test_find_cycle_on_small_graphs():
    assert find_cycle({}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None  # a diamond is no cycle
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"d"}, "d": {"c"}}) == ["c", "d", "c"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


# --- the checks on sim/ ----------------------------------------------------------------------------


def test_the_model_side_does_not_import_the_reports():
    found = reaching_up(read_imports(sim_sources()))
    assert not found, "the model side imports the reports (see the module docstring):\n" + "\n".join(found)


def test_no_import_cycles():
    cycle = find_cycle(import_graph(read_imports(sim_sources())))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_private_name_is_imported_from_another_module():
    found = private_names(read_imports(sim_sources()))
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_the_scenario_comes_first():
    """The scenario package reads files and checks them; it builds on nothing later in the pipeline."""
    later = ("sim.world", "sim.generate", "sim.guards", "sim.model", "sim.size", "sim.experiment")
    found = [
        f"{i.module} (line {i.line}) imports {i.target}"
        for i in read_imports(sim_sources())
        if _within(i.module, "sim.scenario") and any(_within(i.target, m) for m in later)
    ]
    assert not found, "\n".join(found)
