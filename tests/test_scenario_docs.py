"""scenarios/README.md documents every key of the scenario schema.

Rule: a key is *documented* when it is the backticked first cell of a row in a Markdown table whose
header starts with ``| key |`` (YAML keys) or ``| column |`` (CSV columns), e.g. ``| `per_tps` | ...``.
The tests walk the pydantic models from :class:`sim.scenario.Scenario` and check that

- every model has one key table listing all of its fields (so ``kind`` of a guard rule is not
  "documented" by the ``kind`` row of a post);
- every key documented in a table exists in the schema (no stale or misspelt rows);
- every allowed value of a ``Literal`` (mapping keys such as ``rawan``, choices such as ``district``)
  appears in backticks somewhere in the README;
- the TPS table columns (``sim.scenario.TPS_COLUMNS``) are documented.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.scenario import TPS_COLUMNS, Scenario

README = Path(__file__).resolve().parent.parent / "scenarios" / "README.md"
MATRIX_COLUMNS = ("from", "to", "minutes")


def _children(annotation: object, path: str) -> typing.Iterator[tuple[str, object]]:
    """(path, type) of the types inside an annotation, unwrapping Annotated, unions and containers."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        yield from _children(args[0], path)
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            if arg is not type(None):
                yield from _children(arg, path)
    elif origin in (list, tuple, set, frozenset):
        for arg in args:
            if arg is not Ellipsis:
                yield from _children(arg, f"{path}[]")
    elif origin is dict:
        key, value = args
        yield from _children(key, f"{path} (keys)")
        yield from _children(value, f"{path}.<key>")
    else:
        yield path, annotation


def walk(model: type[BaseModel], path: str = "") -> typing.Iterator[tuple[str, type[BaseModel]]]:
    """Every model reachable from ``model``, with the YAML path where it appears (first occurrence)."""
    seen: set[type[BaseModel]] = set()

    def visit(m: type[BaseModel], p: str) -> typing.Iterator[tuple[str, type[BaseModel]]]:
        if m in seen:
            return
        seen.add(m)
        yield p, m
        for name, info in m.model_fields.items():
            for sub_path, t in _children(info.annotation, f"{p}.{name}" if p else name):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    yield from visit(t, sub_path)

    yield from visit(model, path)


def literal_values() -> dict[str, tuple[str, str]]:
    """Every Literal value in the schema -> (model, field) where it is allowed."""
    out: dict[str, tuple[str, str]] = {}
    for _, model in walk(Scenario):
        for name, info in model.model_fields.items():
            for _, t in _children(info.annotation, name):
                if typing.get_origin(t) is typing.Literal:
                    for v in typing.get_args(t):
                        out.setdefault(str(v), (model.__name__, name))
    return out


def key_tables(text: str) -> list[set[str]]:
    """The documented keys of each key/column table: backticked first cells of its rows."""
    tables: list[set[str]] = []
    current: set[str] | None = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if cells is None:
            current = None
            continue
        if current is None:
            if cells[0] in ("key", "column"):
                current = set()
                tables.append(current)
            else:
                current = set()  # a table of another kind: ignore its rows
            continue
        m = re.fullmatch(r"`([A-Za-z0-9_]+)`", cells[0])
        if m:
            current.add(m.group(1))
    return [t for t in tables if t]


@pytest.fixture(scope="module")
def readme() -> str:
    assert README.is_file(), f"{README} is missing"
    return README.read_text(encoding="utf-8")


MODELS = list(walk(Scenario))


@pytest.mark.parametrize(("path", "model"), MODELS, ids=[p or "<top level>" for p, _ in MODELS])
def test_every_field_is_documented(readme: str, path: str, model: type[BaseModel]) -> None:
    fields = set(model.model_fields)
    tables = key_tables(readme)
    best = max(tables, key=lambda t: len(fields & t), default=set())
    missing = sorted(fields - best)
    where = path or "the top level"
    assert not missing, (
        f"scenarios/README.md: model {model.__name__} (at {where}) has undocumented key(s) "
        f"{', '.join(missing)}: add a row '| `{missing[0]}` | type | unit | default | meaning |' "
        "to its key table (all fields of one model belong in one table)"
    )


def test_no_documented_key_is_unknown(readme: str) -> None:
    known = {name for _, m in MODELS for name in m.model_fields} | set(TPS_COLUMNS) | set(MATRIX_COLUMNS)
    documented = set().union(*key_tables(readme))
    unknown = sorted(documented - known)
    assert not unknown, f"scenarios/README.md documents key(s) not in the schema: {', '.join(unknown)}"


def test_literal_values_are_documented(readme: str) -> None:
    prose = re.sub(r"^```.*?^```", "", readme, flags=re.S | re.M)  # drop fenced code blocks
    backticked = set(re.findall(r"`([^`\n]+)`", prose))
    words = {w for b in backticked for w in re.split(r"[\s,:{}\[\]]+", b) if w}
    missing = [f"{v} ({m}.{f})" for v, (m, f) in literal_values().items() if v not in words]
    assert not missing, f"scenarios/README.md does not mention allowed value(s) in backticks: {', '.join(missing)}"


def test_tps_columns_are_documented(readme: str) -> None:
    tables = key_tables(readme)
    for cols, what in ((TPS_COLUMNS, "TPS table"), (MATRIX_COLUMNS, "travel-matrix")):
        assert any(set(cols) <= t for t in tables), (
            f"scenarios/README.md: {what} columns not all in one '| column |' table; "
            f"missing: {', '.join(c for c in cols if not any(c in t for t in tables))}"
        )


def test_walk_reaches_nested_models() -> None:
    """Guard the walker itself: models behind dict, list and Optional are found."""
    names = {m.__name__: p for p, m in MODELS}
    assert names["GuardRule"] == "plans.<key>.tps_guards.<key>"
    assert names["UnitGroup"] == "plans.<key>.patrols[]"
    assert names["Escalation"] == "incidents.types.<key>.escalation"
    assert names["Dist"] == "incidents.types.<key>.on_scene_min"
    assert names["Access"] == "travel.access.<key>"
