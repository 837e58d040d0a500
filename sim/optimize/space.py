"""The search space: the moves of an ``optimize:`` block as whole-number variables of the starting
plan, and the candidate plans they make.

A move's key is relative to the plan and is read like any key path (:func:`sim.scenario.key_path`):
list items by index or by name in brackets (``patrols[polsek-sgu].units``), and ``[*]`` for every
item of a list, which becomes one variable per item (named by the item where the name is unique in
its list, else by its index). A candidate is the starting plan with some variables set to other
values on their grid (``min``, ``min + step``, ... ``max``); it is validated as a plan and counted
against the forces like any plan of the scenario.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.errors import UserError
from sim.scenario import LoadedScenario, Plan, personnel_use
from sim.scenario.load import ITEM_KEYS, key_path
from sim.scenario.schema import Move

Values = tuple[int, ...]  # one value per variable, in variable order
SECTIONS = ("patrols", "reserve", "tni_backup", "tps_guards", "ppk_guards", "linmas_per_tps")


@dataclass(frozen=True)
class Variable:
    """One whole-number key of the plan the search may change."""

    key: str  # plan-relative, items by name where unique: patrols[polsek-sgu].units
    path: tuple[str | int, ...]  # the same with list positions, to set it in the plan's dict
    lo: int
    hi: int
    step: int
    start: int  # its value in the starting plan
    section: str  # patrols, reserve, tni_backup, tps_guards, ppk_guards, linmas_per_tps or other
    where: str  # the post id or the TPS class it belongs to ("" otherwise)
    kind: str  # the personnel kind it ties up

    def grid(self) -> list[int]:
        return list(range(self.lo, self.hi + 1, self.step))

    def snap(self, value: int) -> int:
        """The grid value nearest ``value`` (ties: the larger)."""
        return min(self.grid(), key=lambda g: (abs(g - value), -g))


def _name_of(item: Any) -> str | None:
    return next((str(item[k]) for k in ITEM_KEYS if isinstance(item, dict) and k in item), None)


def _expand(plan: dict[str, Any], move: Move, where: str) -> list[tuple[str, tuple[str | int, ...]]]:
    """The concrete (key, path) pairs a move's key stands for in ``plan`` (a plan as a dict)."""
    steps = key_path(move.key.replace("[*]", "[\0]"))
    if not steps or not all(steps):
        raise UserError(where, move.key, "expected a key path of the plan, e.g. patrols[polsek-sgu].units")
    found: list[tuple[str, tuple[str | int, ...]]] = [("", ())]
    for step in steps:
        nxt: list[tuple[str, tuple[str | int, ...]]] = []
        for text, path in found:
            node: Any = plan
            for p in path:
                node = node[p]
            if isinstance(step, tuple):
                if not isinstance(node, list):
                    raise UserError(
                        where, move.key, f"[{step[0]}] names an item, but {text or 'the plan'} is not a list"
                    )
                names = [_name_of(x) for x in node]
                if step[0] == "\0":
                    picks = list(range(len(node)))
                else:
                    picks = [i for i, n in enumerate(names) if n == step[0]]
                    if len(picks) != 1:
                        valid = ", ".join(f"[{n}]" for n in dict.fromkeys(n for n in names if n)) or "none"
                        problem = "names no item" if not picks else f"names {len(picks)} items (use their index)"
                        raise UserError(where, move.key, f"[{step[0]}] {problem} of {text}; valid: {valid}, or [*]")
                for i in picks:
                    label = names[i] if names[i] is not None and names.count(names[i]) == 1 else str(i)
                    nxt.append((f"{text}[{label}]", (*path, i)))
            elif isinstance(node, list):
                if not step.isdigit() or int(step) >= len(node):
                    raise UserError(where, move.key, f"'{step}': {text} has items 0..{len(node) - 1}")
                i = int(step)
                label = _name_of(node[i])
                label = label if label is not None and [_name_of(x) for x in node].count(label) == 1 else str(i)
                nxt.append((f"{text}[{label}]", (*path, i)))
            elif isinstance(node, dict):
                if step not in node:
                    valid = ", ".join(k for k, v in node.items() if isinstance(v, int | dict | list))
                    raise UserError(where, move.key, f"'{step}' is not a key of {text or 'the plan'}; valid: {valid}")
                nxt.append((f"{text}.{step}" if text else step, (*path, step)))
            else:
                raise UserError(where, move.key, f"{text} is a value, not a section")
        found = nxt
    for text, path in found:
        node = plan
        for p in path:
            node = node[p]
        if isinstance(node, bool) or not isinstance(node, int):
            raise UserError(
                where, move.key, f"{text} is not a whole number; a move changes counts (units, officers, ...)"
            )
    return found


def _role(plan: dict[str, Any], path: tuple[str | int, ...]) -> tuple[str, str, str]:
    """(section, where, kind) of a variable's path."""
    section = str(path[0]) if path and path[0] in SECTIONS else "other"
    if section in ("patrols", "reserve", "tni_backup") and len(path) > 1:
        group = plan[section][path[1]]
        return section, str(group["post"]), str(group["kind"])
    if section == "tps_guards" and len(path) > 1:
        return section, str(path[1]), str(plan["tps_guards"][path[1]]["kind"])
    if section == "ppk_guards":
        return section, "", str(plan["ppk_guards"]["kind"])
    if section == "linmas_per_tps":
        return section, "", str(plan["linmas_kind"])
    return section, "", ""


def variables(sc: LoadedScenario, plan_name: str, moves: Sequence[Move], where: str) -> list[Variable]:
    """The variables of ``moves`` on plan ``plan_name``, in move order (a key named twice: refused)."""
    plan = sc.spec.plans[plan_name].model_dump(mode="json")
    out: list[Variable] = []
    seen: dict[tuple[str | int, ...], str] = {}
    for mi, move in enumerate(moves):
        for key, path in _expand(plan, move, f"{where} optimize.moves.{mi}.key"):
            if path in seen:
                raise UserError(where, f"optimize.moves.{mi}.key", f"{key} is already moved by '{seen[path]}'")
            seen[path] = move.key
            node: Any = plan
            for p in path:
                node = node[p]
            section, post, kind = _role(plan, path)
            var = Variable(key, path, move.min, move.max, move.step, int(node), section, post, kind)
            if not var.grid():
                raise UserError(where, f"optimize.moves.{mi}", f"no value from {move.min} to {move.max}")
            out.append(var)
    return out


@dataclass(frozen=True)
class Space:
    """The starting plan, its variables, and how a candidate's values become a plan."""

    scenario: LoadedScenario
    start_plan: str
    variables: list[Variable]

    @property
    def start(self) -> Values:
        return tuple(v.start for v in self.variables)

    def plan(self, values: Values) -> Plan:
        """The starting plan with ``values``; a value the plan schema refuses is a :class:`UserError`."""
        data = self.scenario.spec.plans[self.start_plan].model_dump(mode="json")
        for var, value in zip(self.variables, values, strict=True):
            node: Any = data
            for p in var.path[:-1]:
                node = node[p]
            node[var.path[-1]] = int(value)
        try:
            return Plan.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(x) for x in err["loc"])
            problem = f"the search would set it to a value the plan refuses: {err['msg']}"
            raise UserError("optimize.moves", key, problem) from None

    def personnel(self, values: Values) -> dict[str, int]:
        """Personnel the candidate needs, per kind (as ``validate`` counts a plan)."""
        return personnel_use(self.plan(values), self.scenario.tps, len(self.scenario.spec.sites.ppk) + 1)

    def total(self, values: Values) -> int:
        """The force a candidate ties up: personnel of every kind together."""
        return sum(self.personnel(values).values())

    def within_forces(self, values: Values) -> bool:
        forces = self.scenario.spec.forces
        return all(n <= forces.get(k, 0) for k, n in self.personnel(values).items())

    def with_plans(self, plans: Mapping[str, Plan]) -> LoadedScenario:
        """The scenario with ``plans`` added (the same world and incidents: only plans differ)."""
        spec = self.scenario.spec.model_copy(update={"plans": {**self.scenario.spec.plans, **plans}})
        return dataclasses.replace(self.scenario, spec=spec)

    def digest(self, values: Values) -> str:
        """Identifies a candidate plan (its content), for the saved evaluations."""
        text = json.dumps(self.plan(values).model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def moves_text(self, values: Values) -> str:
        """The candidate's changes from the starting plan: ``patrols[polsek-sgu].units 1->2; ...``."""
        parts = [f"{v.key} {v.start}->{x}" for v, x in zip(self.variables, values, strict=True) if x != v.start]
        return "; ".join(parts)
