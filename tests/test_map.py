"""The kecamatan map (sim/report/map.py) and the scenario's ``boundaries:`` key.

A small Kutim run (every plan, 2 replications) is made in-process with the command line from a
copy of the Kutim scenario with the boundary files of scenarios/kutim-2024/boundaries/; a
teaching run has no boundaries and gets the hull fallback. Everything the map draws is checked
against figures worked out here: the polygons against the GeoJSON file read with ``json``, the
colours against kecamatan_table and against the incidents counted by hand, the hulls against
scipy's convex hull, and the layout (labels, markers) against the renderer's own extents.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.text import Text as MplText
from matplotlib.transforms import Bbox
from scipy.spatial import ConvexHull, cKDTree

from sim.cli import main
from sim.report.charts import (
    CHART_WORDS,
    PLAN_COLOURS,
    chart_label,
    chart_style,
    kecamatan_chart_data,
    make_charts,
    new_figure,
)
from sim.report.content import MIN_INCIDENTS
from sim.report.data import RunData, kecamatan_table
from sim.report.i18n import Text, percent
from sim.report.map import SEA_COLOUR, SHARE_COLOURS, SHARE_EDGES, TOO_FEW_COLOUR, draw_map
from sim.scenario import load_scenario
from sim.scenario.boundaries import BOUNDARIES_TABLE, boundaries_table, load_boundaries, shapes_from_table

ROOT = Path(__file__).resolve().parents[1]
KUTIM = ROOT / "scenarios" / "kutim-2024.yaml"
TEACHING = ROOT / "scenarios" / "teaching-small.yaml"
SOURCE = ROOT / "scenarios" / "kutim-2024" / "boundaries"
CODES = pd.read_csv(ROOT / "scenarios" / "kutim-2024" / "reference" / "kecamatan.csv", dtype=str)


def _boundaries_yaml(codes: bool = True) -> str:
    """The ``boundaries:`` section for Kutim (codes from the project's kecamatan.csv)."""
    lines = [
        "boundaries:",
        "  kecamatan_file: kutim-2024/boundaries/kecamatan.geojson",
        "  neighbours_file: kutim-2024/boundaries/kabupaten.geojson",
    ]
    if codes:
        lines.append("  codes:")
        lines += [f'    {k}: "{c}"' for c, k in zip(CODES["kode"], CODES["kecamatan"], strict=True)]
    return "\n" + "\n".join(lines) + "\n"


def _kutim_copy(folder: Path, section: str) -> Path:
    """scenarios/kutim-2024.yaml with ``section`` appended, its TPS table and boundary files."""
    (folder / "kutim-2024").mkdir(parents=True)
    shutil.copy(ROOT / "scenarios" / "kutim-2024" / "tps.csv", folder / "kutim-2024" / "tps.csv")
    shutil.copytree(SOURCE, folder / "kutim-2024" / "boundaries")
    path = folder / "kutim-2024.yaml"
    text = KUTIM.read_text()
    path.write_text(text[: text.index("# The briefing's map:")].rstrip("\n") + "\n" + section)  # its own section
    return path


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--workers", "1", "--quiet", "--no-report"]) == 0


@pytest.fixture(scope="module")
def kutim_run(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    scenario = _kutim_copy(tmp_path_factory.mktemp("kutim"), _boundaries_yaml())
    out = tmp_path_factory.mktemp("map") / "run"
    _cli("run", str(scenario), "--reps", "2", "--out", str(out))
    return RunData.load(out)


@pytest.fixture(scope="module")
def teaching_run(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    out = tmp_path_factory.mktemp("map") / "teaching"
    _cli("run", str(TEACHING), "--reps", "2", "--out", str(out))
    return RunData.load(out)


def _draw(run: RunData, lang: str = "id") -> tuple[Figure, pd.DataFrame]:
    """The map as the chart draws it (sim.report.charts' map chart), kept open for inspection."""
    with chart_style():
        fig = new_figure()
        fig.suptitle("title")
        colours = {p: PLAN_COLOURS[i] for i, p in enumerate(run.plans)}
        values = draw_map(fig, run, kecamatan_chart_data(run), Text(lang, CHART_WORDS), colours, chart_label)
    assert values is not None
    return fig, values


@pytest.fixture(scope="module")
def kutim_map(kutim_run: RunData) -> tuple[Figure, pd.DataFrame]:
    return _draw(kutim_run)


def _panels(fig: Figure) -> dict[str, Axes]:
    return {str(ax.get_gid()): ax for ax in fig.axes if ax.get_gid()}


def _tagged(items: list, kind: str) -> dict[str, object]:
    """Artists whose gid is ``kind:<panel>:<name>``, by name."""
    return {a.get_gid().split(":", 2)[2]: a for a in items if (a.get_gid() or "").startswith(f"{kind}:")}


def _geojson(name: str) -> list[dict]:
    return json.loads((SOURCE / name).read_text())["features"]


def _positions(feature: dict) -> np.ndarray:
    g = feature["geometry"]
    polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
    return np.array([pos for polygon in polygons for ring in polygon for pos in ring], dtype=float)


RUN_FOLDER_DEG = 0.5e-4  # the run folder's tables keep 4 decimals: a position moves at most this [deg]


def _same_points(drawn: np.ndarray, source: np.ndarray) -> bool:
    """As many positions, each within the run folder's rounding of one of the file's and back
    (whatever the ring orientation)."""
    near = cKDTree(source).query(drawn)[0].max(), cKDTree(drawn).query(source)[0].max()
    return drawn.shape == source.shape and max(near) <= RUN_FOLDER_DEG * math.sqrt(2) + 1e-12


# --- the polygons ----------------------------------------------------------------------------


def test_the_run_folder_carries_the_outlines(kutim_run: RunData) -> None:
    assert BOUNDARIES_TABLE in kutim_run.manifest["files"]
    table = pd.read_csv(kutim_run.path / BOUNDARIES_TABLE)
    assert set(table.loc[table["layer"] == "kecamatan", "name"]) == set(kutim_run.targets["kecamatan"])


def test_kutim_map_draws_the_18_kecamatan_polygons_of_the_boundary_file(
    kutim_run: RunData, kutim_map: tuple[Figure, pd.DataFrame]
) -> None:
    fig, _ = kutim_map
    panels = _panels(fig)
    assert sorted(panels) == sorted([*kutim_run.plans, "names"])
    by_code = {f["properties"]["kode"]: f for f in _geojson("kecamatan.geojson")}
    code_of = dict(zip(CODES["kecamatan"], CODES["kode"], strict=True))
    assert by_code["64.08.08"]["properties"]["nama"] == "Kombeng"  # matched to Kongbeng by code, not name
    for name, ax in panels.items():
        patches = _tagged(ax.patches, "kecamatan")
        assert len(patches) == 18 and sum(isinstance(p, PathPatch) for p in patches.values()) == 18, name
        assert set(patches) == set(kutim_run.targets["kecamatan"])
        for kec, patch in patches.items():
            assert isinstance(patch, PathPatch)
            feature = by_code[code_of[kec]]
            assert _same_points(patch.get_path().vertices, _positions(feature)), (name, kec)


def test_kutim_map_draws_the_neighbours_but_not_kutai_timur(kutim_map: tuple[Figure, pd.DataFrame]) -> None:
    fig, _ = kutim_map
    features = _geojson("kabupaten.geojson")
    others = {f["properties"]["nama"]: f for f in features if not f["properties"]["is_kutai_timur"]}
    assert len(others) == 9
    for name, ax in _panels(fig).items():
        patches = _tagged(ax.patches, "neighbour")
        assert set(patches) == set(others), name
        for n, patch in patches.items():
            assert isinstance(patch, PathPatch)
            assert _same_points(patch.get_path().vertices, _positions(others[n]))
        assert to_rgba(ax.get_facecolor()) == to_rgba(SEA_COLOUR)


# --- the layout ------------------------------------------------------------------------------


def _labels(ax: Axes) -> dict[str, MplText]:
    return {k: v for k, v in _tagged(ax.texts, "label").items() if isinstance(v, MplText)}


def _overlap(a: Bbox, b: Bbox) -> float:
    return max(min(a.x1, b.x1) - max(a.x0, b.x0), 0.0) * max(min(a.y1, b.y1) - max(a.y0, b.y0), 0.0)


def test_labels_inside_the_axes_and_apart(kutim_map: tuple[Figure, pd.DataFrame]) -> None:
    fig, _ = kutim_map
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for name, ax in _panels(fig).items():
        frame = ax.get_window_extent(renderer)
        labels = _labels(ax)
        assert len(labels) == 18, name
        boxes = {k: t.get_window_extent(renderer) for k, t in labels.items()}
        for k, b in boxes.items():
            assert frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1, (name, k)
        for (k1, b1), (k2, b2) in combinations(boxes.items(), 2):
            assert _overlap(b1, b2) == 0, (name, k1, k2)
    names = _labels(_panels(fig)["names"])
    assert {t.get_text() for t in names.values()} == set(names)  # the names panel names each kecamatan


def _marker_box(ax: Axes, line: Line2D, at: tuple[float, float] | None = None) -> Bbox:
    """A post marker's box [px]: its size in points at the figure's resolution, around where it
    is drawn (or ``at``, lon/lat)."""
    x, y = ax.transData.transform(line.get_xydata()[0] if at is None else at)
    half = line.get_markersize() * ax.figure.dpi / 72 / 2
    return Bbox.from_extents(x - half, y - half, x + half, y + half)


def test_post_markers_do_not_overlap(kutim_run: RunData, kutim_map: tuple[Figure, pd.DataFrame]) -> None:
    fig, _ = kutim_map
    posts = {p.id for p in kutim_run.spec.sites.posts}
    for name, ax in _panels(fig).items():
        markers = _tagged(ax.lines, "post")
        assert set(markers) == posts, name
        boxes = {k: _marker_box(ax, m) for k, m in markers.items() if isinstance(m, Line2D)}
        for (k1, b1), (k2, b2) in combinations(boxes.items(), 2):
            assert _overlap(b1, b2) == 0, (name, k1, k2)
    # at their true places some markers would overlap (the Polsek and the Pos TNI at Sangatta
    # under the Polres star): they were moved, the Polres kept its place
    ax = _panels(fig)["names"]
    markers = {k: m for k, m in _tagged(ax.lines, "post").items() if isinstance(m, Line2D)}
    true = {p.id: (p.position[1], p.position[0]) for p in kutim_run.spec.sites.posts}
    moved = {k for k, m in markers.items() if not np.allclose(m.get_xydata()[0], true[k], atol=RUN_FOLDER_DEG)}
    assert "polres" not in moved and {"polsek-sgu", "kodim"} <= moved, moved
    at_true = {k: _marker_box(ax, m, true[k]) for k, m in markers.items()}
    assert _overlap(at_true["polres"], at_true["kodim"]) > 0 and _overlap(at_true["polres"], at_true["polsek-sgu"]) > 0


# --- the values ------------------------------------------------------------------------------


def _class_colour(share: float) -> tuple[float, ...]:
    """The fill of a share, by counting the class edges at or below it."""
    return to_rgba(SHARE_COLOURS[sum(share >= e for e in SHARE_EDGES)])


def _by_hand(run: RunData) -> pd.DataFrame:
    """Per plan and kecamatan: dispatched incidents (t_report set) and the share of them within
    target, pooled over replications, counted from incidents.csv."""
    d = run.incidents[run.incidents["t_report"].notna()]
    g = d.groupby(["plan", "kecamatan"])["within_target"]
    return pd.DataFrame({"n": g.size(), "within": g.apply(lambda v: v.fillna(False).astype(bool).mean())})


def test_colours_and_labels_are_kecamatan_table_figures(
    kutim_run: RunData, kutim_map: tuple[Figure, pd.DataFrame]
) -> None:
    fig, values = kutim_map
    table = kecamatan_table(kutim_run).set_index(["plan", "kecamatan"])
    hand = _by_hand(kutim_run)
    panels = _panels(fig)
    greyed = 0
    for plan in kutim_run.plans:
        patches, labels = _tagged(panels[plan].patches, "kecamatan"), _labels(panels[plan])
        for kec, patch in patches.items():
            row = table.loc[(plan, kec)]
            n, share = int(row["dispatched"]), float(row["within_target"])
            if (plan, kec) in hand.index:
                assert n == hand.loc[(plan, kec), "n"] and math.isclose(share, hand.loc[(plan, kec), "within"])
            else:
                assert n == 0 and math.isnan(share)
            got = values[(values["plan"] == plan) & (values["kecamatan"] == kec)].iloc[0]
            assert int(got["dispatched"]) == n
            assert math.isclose(float(got["within_target"]), share) or (n == 0 and math.isnan(got["within_target"]))
            assert isinstance(patch, PathPatch)
            if n < MIN_INCIDENTS:
                greyed += 1
                assert patch.get_facecolor() == to_rgba(TOO_FEW_COLOUR) and patch.get_hatch(), (plan, kec)
                assert labels[kec].get_text() == f"({n})"
            else:
                assert patch.get_facecolor() == _class_colour(share) and not patch.get_hatch(), (plan, kec)
                assert labels[kec].get_text() == f"{percent(share, 'id')} ({n})"
    assert greyed > 0  # 2 replications leave some kecamatan with too few incidents: the grey is tested


def test_words_in_both_languages(kutim_run: RunData) -> None:
    for lang, word in (("id", "kejadian terlalu sedikit"), ("en", "too few incidents")):
        fig, _ = _draw(kutim_run, lang)
        legend = " ".join(t.get_text() for lg in fig.legends for t in lg.get_texts())
        assert word in legend and f"< {MIN_INCIDENTS}" in legend, legend


def test_same_run_same_bytes(kutim_run: RunData, tmp_path: Path) -> None:
    a = next(c for c in make_charts(kutim_run, "id", tmp_path / "a") if c.name == "map")
    b = next(c for c in make_charts(kutim_run, "id", tmp_path / "b") if c.name == "map")
    assert a.path.read_bytes() == b.path.read_bytes()


# --- the fallback ----------------------------------------------------------------------------


def test_without_boundaries_the_map_outlines_each_kecamatans_tps(teaching_run: RunData) -> None:
    assert BOUNDARIES_TABLE not in teaching_run.manifest["files"]
    fig, _ = _draw(teaching_run)
    tps = teaching_run.sites[teaching_run.sites["kind"] == "tps"]
    for name, ax in _panels(fig).items():
        assert not _tagged(ax.patches, "neighbour")
        patches = _tagged(ax.patches, "kecamatan")
        expected = {k for k, g in tps.groupby("kecamatan") if len(g[["lon", "lat"]].drop_duplicates()) >= 3}
        assert set(patches) == expected, name
        for kec, patch in patches.items():
            pts = tps.loc[tps["kecamatan"] == kec, ["lon", "lat"]].to_numpy(dtype=float)
            hull = pts[ConvexHull(pts).vertices]
            assert isinstance(patch, PathPatch)
            drawn = np.unique(patch.get_path().vertices, axis=0)
            assert np.allclose(drawn, np.unique(hull, axis=0)), (name, kec)


# --- the scenario key ------------------------------------------------------------------------


def test_outlines_survive_the_run_folder_table() -> None:
    """boundaries.csv read back gives the same rings, in the same order."""
    sc = load_scenario(KUTIM)  # for its kecamatan
    shapes = load_boundaries(
        SOURCE / "kecamatan.geojson",
        SOURCE / "kabupaten.geojson",
        dict(zip(CODES["kecamatan"], CODES["kode"], strict=True)),
        [v.kecamatan for v in sc.spec.sites.ppk],
        "kutim",
    )
    back = shapes_from_table(boundaries_table(shapes))
    for a, b in ((shapes.kecamatan, back.kecamatan), (shapes.neighbours, back.neighbours)):
        assert list(a) == list(b)
        for k in a:
            assert [[r.tolist() for r in p] for p in a[k]] == [[r.tolist() for r in p] for p in b[k]]
    assert "Kabupaten Kutai Timur" not in shapes.neighbours and len(shapes.neighbours) == 9


BAD_FEATURE = {"type": "Feature", "properties": {"nama": "X"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        ({"section": _boundaries_yaml().replace("kecamatan.geojson", "nope.geojson")}, "boundaries.kecamatan_file"),
        ({"section": _boundaries_yaml(codes=False)}, "kecamatan 'Kongbeng' has no feature by name"),
        (
            {"section": _boundaries_yaml() + '    Atlantis: "64.08.99"\n'},
            "boundaries.codes.Atlantis: unknown kecamatan",
        ),
        ({"file": "kecamatan.geojson", "text": "{not json"}, "kecamatan.geojson: line 1: not valid JSON"),
        ({"file": "kabupaten.geojson", "text": json.dumps([1, 2])}, "expected a GeoJSON FeatureCollection"),
        (
            {"file": "kecamatan.geojson", "text": json.dumps({"type": "FeatureCollection", "features": [BAD_FEATURE]})},
            "features.0.geometry (X): geometry type 'Point'; valid: Polygon, MultiPolygon",
        ),
    ],
)
def test_a_bad_boundary_file_or_key_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: dict[str, str], fragment: str
) -> None:
    scenario = _kutim_copy(tmp_path, edit.get("section", _boundaries_yaml()))
    if "file" in edit:
        (tmp_path / "kutim-2024" / "boundaries" / edit["file"]).write_text(edit["text"])
    code = main(["validate", str(scenario)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err
