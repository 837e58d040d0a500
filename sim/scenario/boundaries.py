"""Kecamatan outlines for the map: the GeoJSON files a scenario names under ``boundaries:``, read
and matched to the scenario's kecamatan.

A file is a GeoJSON FeatureCollection (RFC 7946: ``[longitude, latitude]`` positions) of
Polygon or MultiPolygon features, each naming its area in the property ``nama`` (or ``name``)
and, optionally, its code in ``kode`` (or ``code``), as Kemendagri's codes are written
(``64.08.08``). A scenario kecamatan is matched by its code when ``boundaries.codes`` gives one
and the file has codes, else by its name with case, spaces and punctuation ignored; features
of the file that match no kecamatan are not drawn (a province-wide file serves every kabupaten).
The neighbours file (kabupaten around the scenario's, drawn grey for context) leaves out the
feature whose code is the parent of the matched kecamatan codes (``64.08`` for ``64.08.xx``):
the scenario's own kabupaten.

Nothing here is used by the model; the outlines only reach the report, through the run
folder's ``boundaries.csv`` (:func:`boundaries_table`), so a report never reads scenario files.
Every problem is a :class:`UserError` naming the file and where in it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError

MAX_GEOJSON_BYTES = 50_000_000  # one boundary file (Kutim's kecamatan: 33 kB; all Indonesia's desa: far less than this)
NAME_PROPERTIES = ("nama", "name")  # a feature's name: the first of these properties it has
CODE_PROPERTIES = ("kode", "code")  # a feature's code, when it has one
BOUNDARIES_TABLE = "boundaries.csv"  # the run folder's table of the outlines (boundaries_table)
LAYERS = ("kecamatan", "neighbour")  # the rows of boundaries.csv
BOUNDARY_COLUMNS = ("layer", "name", "part", "ring", "lon", "lat")

Shape = list[list[np.ndarray]]  # polygons, each a list of rings ([n, 2] lon, lat; the exterior first)


@dataclass(frozen=True)
class Feature:
    """One area of a boundary file."""

    name: str
    code: str  # '' when the file gives none
    shape: Shape


@dataclass(frozen=True)
class BoundaryShapes:
    """The outlines a map draws: one shape per scenario kecamatan, and the neighbouring areas."""

    kecamatan: dict[str, Shape]  # scenario kecamatan name -> its outline
    neighbours: dict[str, Shape]  # neighbour's name -> its outline (the scenario's kabupaten left out)


def normalised_name(name: str) -> str:
    """A name as matching compares it: 'Sangatta  Utara', 'sangatta-utara' -> 'sangattautara'."""
    text = unicodedata.normalize("NFKD", name).casefold()
    return re.sub(r"[\W_]+", "", text)


def _read_json(path: Path) -> Any:
    where = str(path)

    def refuse_constant(word: str) -> None:
        raise ValueError(f"{word} is not a number GeoJSON allows")

    try:
        size = path.stat().st_size
        if size > MAX_GEOJSON_BYTES:
            raise UserError(
                where, None, f"{size / 1e6:.1f} MB; a boundary file may be at most {MAX_GEOJSON_BYTES / 1e6:g} MB"
            )
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(where, None, f"cannot read as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        raise UserError(
            where, f"line {exc.lineno}", f"not valid JSON ({exc.msg}); expected a GeoJSON FeatureCollection"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise UserError(where, None, f"not valid GeoJSON ({exc})") from None


def _first(props: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((props[k] for k in keys if props.get(k) not in (None, "")), None)


def _ring(value: Any, where: str, at: str) -> np.ndarray:
    """A linear ring: at least 4 [lon, lat] positions (the first repeated last), in range."""
    if not isinstance(value, list) or len(value) < 4:
        raise UserError(where, at, "a ring needs at least 4 positions [lon, lat] (the first repeated at the end)")
    xy = []
    for pos in value:
        if (
            not isinstance(pos, list)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            raise UserError(where, at, f"{str(pos)[:40]} is not a position [longitude, latitude]")
        lon, lat = float(pos[0]), float(pos[1])
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise UserError(
                where, at, f"{str(pos)[:40]}: longitude -180..180 and latitude -90..90 expected, in that order"
            )
        xy.append((lon, lat))
    return np.array(xy, dtype=float)


def _shape(geometry: Any, where: str, at: str) -> Shape:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise UserError(where, at, f"geometry type {kind!r}; valid: Polygon, MultiPolygon")
    coords = geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons or not all(isinstance(p, list) and p for p in polygons):
        raise UserError(where, f"{at}.coordinates", f"a {kind} needs a list of rings per polygon")
    return [
        [
            _ring(r, where, f"{at}.coordinates.{i}.{j}" if kind == "MultiPolygon" else f"{at}.coordinates.{j}")
            for j, r in enumerate(p)
        ]
        for i, p in enumerate(polygons)
    ]


def read_features(path: Path) -> list[Feature]:
    """The areas of a GeoJSON FeatureCollection of (Multi)Polygons, in file order."""
    where = str(path)
    data = _read_json(path)
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise UserError(
            where, "type", 'expected a GeoJSON FeatureCollection: {"type": "FeatureCollection", "features": [...]}'
        )
    out = []
    for i, f in enumerate(data["features"]):
        at = f"features.{i}"
        props = f.get("properties") if isinstance(f, dict) else None
        if not isinstance(props, dict):
            raise UserError(where, at, "expected a Feature with properties (nama, and kode if known)")
        name = _first(props, NAME_PROPERTIES)
        if not isinstance(name, str):
            raise UserError(
                where, f"{at}.properties", f"no name; give the area's name as {' or '.join(NAME_PROPERTIES)}"
            )
        code = _first(props, CODE_PROPERTIES)
        out.append(
            Feature(
                name,
                "" if code is None else str(code).strip(),
                _shape(f.get("geometry"), where, f"{at}.geometry ({name})"),
            )
        )
    if not out:
        raise UserError(where, "features", "no features; expected one (Multi)Polygon per area")
    return out


def _match(
    kecamatan: Iterable[str], codes: Mapping[str, str], features: list[Feature], where: str, key: str, path: Path
) -> dict[str, Feature]:
    """Scenario kecamatan -> its feature: by code where both have one, else by normalised name."""
    by_code: dict[str, list[Feature]] = {}
    by_name: dict[str, list[Feature]] = {}
    for f in features:
        if f.code:
            by_code.setdefault(f.code, []).append(f)
        by_name.setdefault(normalised_name(f.name), []).append(f)
    out = {}
    for kec in sorted(kecamatan):
        code = codes.get(kec, "").strip()
        hits, how = (
            (by_code.get(code, []), f"code {code}")
            if code and by_code
            else (by_name.get(normalised_name(kec), []), "name")
        )
        if len(hits) != 1:
            problem = "has no feature" if not hits else f"matches {len(hits)} features"
            hint = "" if code else "; give its code under boundaries.codes"
            raise UserError(where, key, f"kecamatan '{kec}' {problem} by {how} in {path.name}{hint}")
        out[kec] = hits[0]
    return out


def _parent(codes: Iterable[str]) -> str | None:
    """The one code all these codes are below ('64.08' for '64.08.01', '64.08.02'), or None."""
    parents = {c.rpartition(".")[0] for c in codes}
    return parents.pop() if len(parents) == 1 and "" not in parents else None


def load_boundaries(
    kecamatan_file: Path,
    neighbours_file: Path | None,
    codes: Mapping[str, str],
    kecamatan: Iterable[str],
    where: str,
) -> BoundaryShapes:
    """The outlines of the scenario's ``kecamatan`` (every one must be found) and its neighbours.

    ``where`` is the scenario file, named when a kecamatan is not found (the key is
    ``boundaries.kecamatan_file``); problems inside a file name that file.
    """
    kecamatan = list(kecamatan)
    for name in codes:
        if name not in kecamatan:
            raise UserError(
                where, f"boundaries.codes.{name}", f"unknown kecamatan; valid: {', '.join(sorted(kecamatan))}"
            )
    matched = _match(
        kecamatan, codes, read_features(kecamatan_file), where, "boundaries.kecamatan_file", kecamatan_file
    )
    neighbours: dict[str, Shape] = {}
    if neighbours_file is not None:
        own = _parent(f.code for f in matched.values() if f.code)
        for f in read_features(neighbours_file):
            if own is None or f.code != own:
                neighbours.setdefault(f.name, []).extend(f.shape)
    return BoundaryShapes({k: f.shape for k, f in matched.items()}, neighbours)


def boundaries_table(shapes: BoundaryShapes) -> pd.DataFrame:
    """The outlines as a table for the run folder (``boundaries.csv``): one row per position, with
    its layer (:data:`LAYERS`), area name, polygon ``part`` and ``ring`` (0: the exterior) numbers."""
    rows: list[tuple[str, str, int, int, float, float]] = []
    for layer, areas in zip(LAYERS, (shapes.kecamatan, shapes.neighbours), strict=True):
        for name, shape in areas.items():
            for part, polygon in enumerate(shape):
                for ring, xy in enumerate(polygon):
                    rows.extend((layer, name, part, ring, float(x), float(y)) for x, y in xy)
    return pd.DataFrame(rows, columns=list(BOUNDARY_COLUMNS))


def shapes_from_table(table: pd.DataFrame) -> BoundaryShapes:
    """:func:`boundaries_table` read back: each run of rows with the same layer, name, part and
    ring is one ring, in the order it wrote them."""
    keys = table[["layer", "name", "part", "ring"]]
    starts = [int(i) for i in np.flatnonzero((keys != keys.shift()).any(axis=1).to_numpy())]
    layer, name = table["layer"].astype(str).tolist(), table["name"].astype(str).tolist()
    part = table["part"].to_numpy(dtype=np.int64)
    xy = table[["lon", "lat"]].to_numpy(dtype=float)
    layers: dict[str, dict[str, Shape]] = {k: {} for k in LAYERS}
    for a, b in zip(starts, [*starts[1:], len(table)], strict=True):
        polygons = layers[layer[a]].setdefault(name[a], [])
        if part[a] == len(polygons):
            polygons.append([])
        polygons[-1].append(xy[a:b])
    return BoundaryShapes(layers["kecamatan"], layers["neighbour"])
