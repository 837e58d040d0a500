"""Loading a scenario: the YAML file, ``--set`` overrides, the schema's verdict in one line for
people, the checks between sections, and the data tables, resolved into a :class:`LoadedScenario`.

Everything is validated here, at the edge: the model receives a :class:`LoadedScenario` and never
re-checks it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from sim.dispatch import POLICIES
from sim.errors import UserError
from sim.scenario.boundaries import BoundaryShapes, load_boundaries
from sim.scenario.schema import Boundaries, Scenario
from sim.scenario.tables import COMMA_DECIMAL, THOUSANDS, load_matrix, load_tps
from sim.scenario.timeline import Timeline, resolve_timeline

MAX_YAML_BYTES = 5_000_000  # a scenario or an events list (Kutim's scenario is 46 kB)
MAX_EXPANDED = MAX_YAML_BYTES  # the same with every alias written out: the manifest records it so


class YamlRefused(yaml.YAMLError):
    """YAML that parses but would silently mean something else, or grow past the limits."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


class ScenarioLoader(yaml.SafeLoader):
    """Safe YAML (no object construction), read as people mean it.

    - No YAML 1.1 base-60 numbers, so ``13:00`` stays text.
    - No timestamps: dates and date-times stay text, and the schema reads them, so ``2024-02-30``
      is an error line naming the key rather than a crash inside the YAML reader.
    - A key given twice in one mapping is refused (plain YAML silently keeps the last).
    - Text must be text: an escape for half a surrogate pair (``"\\ud800"``) is refused.
    - Aliases may not expand the document past :data:`MAX_EXPANDED` (one 100 kB text referred to
      500 times would be 50 MB in the run manifest), nor refer to what contains them.
    """

    def compose_document(self) -> yaml.Node | None:
        self.get_event()  # DocumentStart
        node = self.compose_node(None, None)  # type: ignore[arg-type]  # the stubs forget the root has no parent
        self.get_event()  # DocumentEnd
        if self.anchors and node is not None:  # only a document with anchors can expand
            _check_expanded(node)
        self.anchors = {}
        return node

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:  # type: ignore[override]
        text = str(yaml.SafeLoader.construct_yaml_str(self, node))  # not super(): FastLoader shares it
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # "\\ud83d\\ude00" is one emoji written as a pair: join it
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        try:
            text.encode("utf-8")
            if "\ufffd" in text and "\ufffd" not in str(node.value):
                raise UnicodeEncodeError("utf-8", text, 0, 1, "unpaired surrogate")
        except UnicodeEncodeError:  # an escape like "\ud800": half of a pair, no character at all
            raise YamlRefused(
                node.start_mark.line + 1, "text with an unpaired surrogate escape (\\ud800 ...); write the character"
            ) from None
        return text

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        _refuse_repeated_keys(self, node)
        return node


def _refuse_repeated_keys(loader: yaml.constructor.BaseConstructor, node: yaml.MappingNode) -> None:
    """A key given twice in one mapping is refused, naming both places."""
    first: dict[Any, yaml.ScalarNode] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue  # a merge (<<: *base) may be overridden; that is what it is for
        key = loader.construct_object(key_node)
        if key in first:
            was, at = first[key].start_mark, key_node.start_mark
            where = (
                f"on lines {was.line + 1} and {at.line + 1}"
                if was.line != at.line
                else f"on line {at.line + 1} (columns {was.column + 1} and {at.column + 1})"
            )
            a, b = first[key].value[:40], key_node.value[:40]
            what = f"key '{b}' is given twice" if a == b else f"keys '{a}' and '{b}' are the same key"
            raise YamlRefused(at.line + 1, f"{what}, {where}; keep one (YAML would silently use the last)")
        first[key] = key_node


ScenarioLoader.add_constructor("tag:yaml.org,2002:str", ScenarioLoader.construct_yaml_str)

_NOT_RESOLVED = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _NOT_RESOLVED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
ScenarioLoader.add_implicit_resolver(  # YAML 1.1 floats without the base-60 form (1:30.5)
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _check_expanded(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases, written out, exceed :data:`MAX_EXPANDED` (about one
    character per scalar character plus one per node), or that contains itself."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise YamlRefused(node.start_mark.line + 1, "an alias refers to the mapping or list it is in; write it out")
        if isinstance(node, yaml.ScalarNode):
            n = len(node.value) + 1
        else:
            open_.add(key)
            parts = node.value if isinstance(node, yaml.SequenceNode) else [x for pair in node.value for x in pair]
            n = 1 + sum(size(part) for part in parts)
            open_.discard(key)
        if n > MAX_EXPANDED:
            raise YamlRefused(
                None,
                f"its aliases (*name) written out make more than {MAX_EXPANDED / 1e6:g} MB; "
                "refer to a repeated part fewer times",
            )
        sizes[key] = n
        return n

    size(root)


if yaml.__with_libyaml__:

    class FastLoader(yaml.CSafeLoader):
        """:class:`ScenarioLoader`'s reading with libyaml's parser (a national scenario's 3 MB of
        YAML: 2.5 s to compose instead of about 9 s); :func:`yaml_load` makes the same checks on
        the composed document."""

        yaml_implicit_resolvers = ScenarioLoader.yaml_implicit_resolvers
        yaml_constructors = ScenarioLoader.yaml_constructors


def _checked(loader: yaml.constructor.BaseConstructor, root: yaml.Node) -> None:
    """:class:`ScenarioLoader`'s composing checks on a composed document: repeated keys (each
    mapping after what it holds, as the composer meets them), then the aliases' expansion."""
    seen: set[int] = set()
    aliased = False

    def visit(node: yaml.Node) -> None:
        nonlocal aliased
        if id(node) in seen:  # an alias: checked where its anchor is
            aliased = True
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                visit(item)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                visit(key)
                visit(value)
            _refuse_repeated_keys(loader, node)

    visit(root)
    if aliased:
        _check_expanded(root)


def yaml_load(text: str) -> Any:
    """YAML text as Python values, read as :class:`ScenarioLoader` reads it (by libyaml where it is
    installed; YAML it cannot read is read again by :class:`ScenarioLoader`, whose problem lines
    the users see)."""
    if not yaml.__with_libyaml__:
        return yaml.load(text, Loader=ScenarioLoader)
    loader = FastLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError:
            return yaml.load(text, Loader=ScenarioLoader)
        if root is None:
            return None
        _checked(loader, root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def read_yaml_file(path: Path, what: str) -> Any:
    """A YAML file (a scenario, an events list) as Python values, read with :class:`ScenarioLoader`,
    at most :data:`MAX_YAML_BYTES`; every problem is a :class:`UserError` naming the file (and line)."""
    where = str(path)
    try:
        if not path.is_file():
            raise UserError(where, None, f"{what} not found")
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise UserError(where, None, f"{size / 1e6:.1f} MB; a {what} may be at most {MAX_YAML_BYTES / 1e6:g} MB")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(where, None, f"cannot read as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        return yaml_load(text)
    except YamlRefused as exc:
        raise UserError(where, f"line {exc.line}" if exc.line else None, exc.problem) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise UserError(where, at, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except RecursionError:
        raise UserError(
            where, None, "lists or mappings nested too deeply to read (a scenario needs fewer than ten levels)"
        ) from None


@dataclass
class LoadedScenario:
    """A validated scenario with its tables loaded and times resolved."""

    spec: Scenario
    path: Path
    raw: dict[str, Any]
    tps: pd.DataFrame
    timeline: Timeline
    epoch: dt.datetime
    travel_matrix: pd.DataFrame | None = None
    overrides: list[str] = field(default_factory=list)
    boundaries: BoundaryShapes | None = None  # the map's outlines (boundaries:), for the run folder only

    @property
    def name(self) -> str:
        return self.spec.name

    def digest(self) -> str:
        """SHA-256 of the resolved scenario content (YAML after overrides plus the TPS table and
        the travel matrix: their columns and pandas' hash of each row, not their text, which
        takes seconds to write for a national table)."""
        h = hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode())
        for table in (self.tps, self.travel_matrix):
            if table is not None:
                h.update(json.dumps([[str(c), str(t)] for c, t in table.dtypes.items()]).encode())
                h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
        return h.hexdigest()


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml_file(path, "scenario file")
    if data is None:
        raise UserError(str(path), None, "the file is empty; expected a scenario mapping (name:, sites:, plans: ...)")
    if not isinstance(data, dict):
        raise UserError(
            str(path), None, f"expected a mapping of keys (name:, sites:, plans: ...) at the top, got {_kind(data)}"
        )
    return data


ITEM_KEYS = ("id", "post", "kecamatan", "name")  # what names a list item in a key path: [polsek-sgu]
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[^\[\]]+\])*)")


def key_path(key: str) -> list[str | tuple[str]] | None:
    """The steps of ``plans.mobile.patrols[polsek-sgu].units``: keys (text) and list items named
    by their id, post, kecamatan or name (1-tuples); None if it is not a key path."""
    steps: list[str | tuple[str]] = []
    for segment in key.strip().split("."):
        m = _SEGMENT.fullmatch(segment.strip())
        if m is None:
            return None
        steps.append(m.group(1).strip())
        steps.extend((item.strip(),) for item in re.findall(r"\[([^\[\]]+)\]", m.group(2)))
    return steps


def _item(node: list[Any], name: str, key: str) -> int:
    """The index of the one item of ``node`` that ``name`` names (by :data:`ITEM_KEYS`)."""
    ids = [next((str(x[k]) for k in ITEM_KEYS if isinstance(x, dict) and k in x), None) for x in node]
    hits = [i for i, v in enumerate(ids) if v == name]
    valid = ", ".join(f"[{v}]" for v in dict.fromkeys(v for v in ids if v is not None)) or "none"
    if len(hits) != 1:
        problem = "names no item" if not hits else f"names {len(hits)} items (use their index)"
        indices = f"an index 0..{len(node) - 1}"
        raise UserError("--set", key, f"[{name}] {problem} of the list; valid: {valid}, or {indices}")
    return hits[0]


def apply_overrides(data: dict[str, Any], overrides: list[str], where: str) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to the raw scenario. Values are parsed as YAML scalars.

    A key that the file leaves at its default may be set too (the schema then checks its name).
    List items are addressed by index (``sites.posts.0.kecamatan``) or by name in brackets
    (``plans.mobile.patrols[polsek-sgu].units``: the item whose id, post, kecamatan or name is
    that), so a key path still means the same item when the list is reordered.
    """
    for item in overrides:
        key, eq, text = item.partition("=")
        parts = key_path(key) if eq else None
        if not parts or not all(parts):
            raise UserError(
                "--set", item, "expected key.path=value, e.g. travel.road_factor=2.2 or plans.P.patrols[post].units=2"
            )
        try:
            value = yaml_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise UserError("--set", key, f"'{text}' is not a value") from None
        if isinstance(value, dict | list):
            raise UserError("--set", key, "only scalar values can be set (a number, text, true/false)")
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            name: Any
            if isinstance(part, tuple):
                if not isinstance(node, list):
                    raise UserError("--set", key, f"[{part[0]}] names an item, but what it follows is not a list")
                name = _item(node, part[0], key)
            elif isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise UserError(
                        "--set", key, f"'{part}' is not an index 0..{len(node) - 1} (or name an item in brackets: [id])"
                    )
                name = int(part)
            elif isinstance(node, dict):
                # Mappings with number keys (hourly_multiplier) are written with digits on the command line:
                # a new key of such a mapping is a number too (the mapping keeps one kind of key).
                numbered = any(isinstance(k, int) and not isinstance(k, bool) for k in node)
                name = int(part) if part not in node and part.isdigit() and numbered else part
                if name not in node:
                    node[name] = None if last else {}
            else:
                raise UserError("--set", key, f"'{part}' goes below a scalar value")
            if last:
                if isinstance(node[name], dict | list):
                    raise UserError("--set", key, "only scalar values can be set; name a key below it")
                node[name] = value
            else:
                node = node[name]
    return data


def _kind(value: Any) -> str:
    """What a YAML value is, in words, for error messages."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, str):
        return f"text '{value[:40]}'"
    return f"the value {str(value)[:40]}"


def _key_path(loc: tuple[int | str, ...], raw: Any) -> str:
    """An error's location as the key path the user wrote (``travel.speed_kmh.road``), walking the
    raw scenario: the steps pydantic adds inside a value (which form of a union it tried, ``[key]``
    for a mapping's key) are left out."""
    parts: list[str] = []
    node = raw
    for i, part in enumerate(loc):
        if part == "[key]":
            continue
        if isinstance(node, dict) and part in node:
            # As written: pydantic reports a key `yes` (read as true) by its number, 1.
            written = next(k for k in node if k == part)
            node, part = node[part], str(written).lower() if isinstance(written, bool) else part
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and (i == len(loc) - 1 or loc[i + 1] == "[key]"):
            node = None  # a missing key, or a mapping's key the schema refuses
        else:
            continue
        parts.append(str(part))
    return ".".join(parts)


def _validation_line(exc: ValidationError, raw: Any = None) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = _key_path(err["loc"], raw)
    msg = err["msg"]
    kind, value = err["type"], err.get("input")
    text = str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    if kind == "extra_forbidden":
        msg = "unknown key (check the spelling; see scenarios/README.md for valid keys)"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"expected a mapping (key: value), got {_kind(value)}"
    elif kind in ("list_type", "tuple_type"):
        msg = f"expected a list ([a, b] or lines starting '- '), got {_kind(value)}"
    elif kind in ("float_parsing", "float_type"):
        msg = f"Input should be a valid number, not {_kind(value)}"
        if text is not None and COMMA_DECIMAL.fullmatch(text):
            msg = f"'{text}' is not a number; write decimals with a dot: {text.replace(',', '.')}"
    elif kind == "finite_number":
        msg = "must be a finite number, not .nan or .inf"
    elif kind == "bool_type":
        msg = f"expected true or false (yes/no), not {_kind(value)}"
    elif kind in ("int_parsing", "int_from_float", "int_type"):
        if text is not None and THOUSANDS.fullmatch(text):
            whole = re.sub(r"[.,]", "", text)
            msg = f"'{text}' is ambiguous; write a whole number without a thousands separator, e.g. {whole}"
        else:
            msg = f"expected a whole number, not {_kind(value)}"
    msg = msg.removeprefix("Value error, ")
    return loc, msg


def _resolve_data_path(base: Path, name: str, where: str, key: str, allow_outside: bool = False) -> Path:
    """A data file named in the scenario, which must lie in the scenario's folder (or below it).

    A scenario received from someone else should not read files elsewhere on this machine
    (``../../secret.csv``, an absolute path), unless it says ``allow_data_outside: true``.
    """
    try:
        path = (base / name).resolve()
        exists = path.is_file()
    except OSError as exc:  # a name too long for the file system, and the like
        raise UserError(where, key, f"'{name[:60]}' is not a usable file name ({exc.strerror})") from None
    if not allow_outside and not path.is_relative_to(base.resolve()):
        raise UserError(
            where, key, f"'{name}' lies outside the scenario's folder; move it there, or set allow_data_outside: true"
        )
    if not exists:
        raise UserError(where, key, f"data file '{name}' not found next to the scenario")
    return path


def _check_regions(spec: Scenario, where: str, kec: set[str]) -> None:
    """Regions: unique ids, every kecamatan in exactly one, posts' ``serves`` naming regions."""
    if not spec.regions:
        for i, p in enumerate(spec.sites.posts):
            if p.serves:
                raise UserError(where, f"sites.posts.{i}.serves", "names regions, but the scenario has no regions:")
        return
    ids = [r.id for r in spec.regions]
    seen: dict[str, str] = {}
    for ri, r in enumerate(spec.regions):
        if r.id in ids[:ri]:
            raise UserError(where, f"regions.{ri}.id", f"'{r.id}' is given twice; region ids must be unique")
        for k in r.kecamatan:
            if k not in kec:
                raise UserError(
                    where, f"regions.{ri}.kecamatan", f"unknown kecamatan '{k}'; valid: {', '.join(sorted(kec))}"
                )
            if k in seen:
                raise UserError(
                    where, f"regions.{ri}.kecamatan", f"'{k}' is already in region {seen[k]}; one region each"
                )
            seen[k] = r.id
    missing = sorted(kec - set(seen))
    if missing:
        raise UserError(where, "regions", f"kecamatan in no region: {', '.join(missing)}; give each to one region")
    for i, p in enumerate(spec.sites.posts):
        for name in p.serves:
            if name not in ids:
                raise UserError(where, f"sites.posts.{i}.serves", f"unknown region '{name}'; valid: {', '.join(ids)}")


def _check_references(spec: Scenario, where: str) -> None:
    kec = {v.kecamatan for v in spec.sites.ppk}
    posts = {p.id for p in spec.sites.posts}
    if len(posts) != len(spec.sites.posts):
        raise UserError(where, "sites.posts", "post ids must be unique")
    if len(kec) != len(spec.sites.ppk):
        raise UserError(where, "sites.ppk", "one PPK venue per kecamatan")
    valid_kec = ", ".join(sorted(kec))
    for i, p in enumerate(spec.sites.posts):
        for k in [p.kecamatan, *p.covers]:
            if k not in kec:
                raise UserError(where, f"sites.posts.{i} ({p.id})", f"unknown kecamatan '{k}'; valid: {valid_kec}")
    if spec.sites.kpu.kecamatan not in kec:
        raise UserError(
            where, "sites.kpu.kecamatan", f"unknown kecamatan '{spec.sites.kpu.kecamatan}'; valid: {valid_kec}"
        )
    for k in spec.travel.access:
        if k not in kec:
            raise UserError(where, f"travel.access.{k}", f"unknown kecamatan; valid: {valid_kec}")
    _check_regions(spec, where, kec)
    used = sorted({t.priority for t in spec.incidents.types.values()})
    for gi, g in enumerate(spec.targets.groups):
        for k in g.kecamatan:
            if k not in kec:
                raise UserError(where, f"targets.groups.{gi}.kecamatan", f"unknown kecamatan '{k}'; valid: {valid_kec}")
    for key, target in [("targets.default_min", spec.targets.default_min)] + [
        (f"targets.groups.{gi}.target_min", g.target_min) for gi, g in enumerate(spec.targets.groups)
    ]:
        missing = [p for p in used if isinstance(target, dict) and p not in target]
        if missing:
            raise UserError(
                where,
                key,
                f"no target for priority {', '.join(map(str, missing))}; "
                f"give minutes for every priority the incident types use ({', '.join(map(str, used))})",
            )
    if spec.dispatch.policy not in POLICIES:
        raise UserError(
            where, "dispatch.policy", f"unknown policy '{spec.dispatch.policy}'; valid: {', '.join(POLICIES)}"
        )
    types = spec.incidents.types
    for name, it in types.items():
        if it.escalation and it.escalation.to not in types:
            raise UserError(
                where,
                f"incidents.types.{name}.escalation.to",
                f"unknown incident type '{it.escalation.to}'; valid: {', '.join(types)}",
            )
    for pname, plan in spec.plans.items():
        kinds = {g.kind for g in plan.tps_guards.values()} | {plan.linmas_kind, plan.ppk_guards.kind}
        for group_key in ("patrols", "reserve", "tni_backup"):
            for gi, g in enumerate(getattr(plan, group_key)):
                kinds.add(g.kind)
                if g.post not in posts:
                    raise UserError(
                        where,
                        f"plans.{pname}.{group_key}.{gi}.post",
                        f"unknown post '{g.post}'; valid: {', '.join(sorted(posts))}",
                    )
        for k in sorted(kinds):
            if k not in spec.forces:
                raise UserError(
                    where, f"plans.{pname}", f"personnel kind '{k}' is not in forces; valid: {', '.join(spec.forces)}"
                )
    opt = spec.optimize
    if opt is not None and opt.from_plan is not None and opt.from_plan not in spec.plans:
        raise UserError(where, "optimize.from_plan", f"unknown plan '{opt.from_plan}'; valid: {', '.join(spec.plans)}")


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> LoadedScenario:
    """Load, validate and resolve a scenario file. Raises :class:`UserError` on any mistake."""
    path = Path(path)
    where = str(path)
    raw = apply_overrides(_read_yaml(path), list(overrides or []), where)
    try:
        spec = Scenario.model_validate(raw)
    except ValidationError as exc:
        key, msg = _validation_line(exc, raw)
        from_set = any(f"{key}.".startswith(o.partition("=")[0].strip() + ".") for o in overrides or [])
        raise UserError("--set" if from_set else where, key, msg) from None
    _check_references(spec, where)
    epoch, timeline = resolve_timeline(spec, where)
    base = path.resolve().parent
    tps_path = _resolve_data_path(base, spec.sites.tps_file, where, "sites.tps_file", spec.allow_data_outside)
    tps = load_tps(tps_path, {v.kecamatan for v in spec.sites.ppk})
    matrix = None
    if spec.travel.matrix_file:
        mpath = _resolve_data_path(base, spec.travel.matrix_file, where, "travel.matrix_file", spec.allow_data_outside)
        matrix = load_matrix(mpath)
    shapes = _load_boundaries(spec.boundaries, spec, base, where) if spec.boundaries else None
    return LoadedScenario(spec, path, raw, tps, timeline, epoch, matrix, list(overrides or []), shapes)


def _load_boundaries(b: Boundaries, spec: Scenario, base: Path, where: str) -> BoundaryShapes:
    """The outlines the scenario's ``boundaries:`` names, matched to its kecamatan."""
    outside = spec.allow_data_outside
    kec = _resolve_data_path(base, b.kecamatan_file, where, "boundaries.kecamatan_file", outside)
    near = None
    if b.neighbours_file:
        near = _resolve_data_path(base, b.neighbours_file, where, "boundaries.neighbours_file", outside)
    return load_boundaries(kec, near, b.codes, [v.kecamatan for v in spec.sites.ppk], where)
