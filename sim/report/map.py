"""The map chart: per kecamatan, the share of its incidents reached within target, per plan.

Each plan gets a panel (up to three; with more, the first plan only) in which every kecamatan is
filled by the class of its pooled ``within_target`` share (:func:`sim.report.data.kecamatan_table`,
the figure of the briefing's weak-spots table and of the kecamatan chart) and labelled with that
share and the number of dispatched incidents behind it, ``72% (45)``; a kecamatan with fewer than
:data:`sim.report.content.MIN_INCIDENTS` such incidents is hatched grey instead (a share of a
handful of incidents is noise). With several plans a fourth panel names the kecamatan and shows
the TPS; posts (Polres, Polsek, TNI, other) are marked in every panel.

The outlines are the scenario's ``boundaries:`` (:mod:`sim.scenario.boundaries`), saved in the run
folder as ``boundaries.csv`` and checked against its manifest like every table: the kecamatan
polygons, the neighbouring kabupaten in grey and the sea (the axes' background) in light blue.
A run folder without that table (a teaching or synthetic scenario) gets the convex hull of each
kecamatan's TPS on a white background. Degrees of longitude are shortened by cos(latitude), so
distances look alike in both directions.

Nothing overlaps by construction, all in display pixels after the layout is frozen: a post marker
that would cover another is moved aside, the first free spot nearest to its place, with a leader
line and a dot at its true place; labels are placed greedily (the most crowded first) at the free
spot nearest to an inner point of their kecamatan, inside the panel, clear of every other label,
marker, the scale bar and the panel's title, with a leader line when moved. Every artist the
tests look for carries a ``gid`` (``kecamatan:<panel>:<name>``, ``neighbour:<panel>:<name>``,
``label:<panel>:<name>``, ``post:<panel>:<id>``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from sim.errors import UserError
from sim.report.content import MIN_INCIDENTS
from sim.report.data import TARGET_SHARE, RunData, TableSpec, read_table
from sim.report.i18n import Text, kpi_label, percent
from sim.scenario.boundaries import (
    BOUNDARIES_TABLE,
    BOUNDARY_COLUMNS,
    LAYERS,
    BoundaryShapes,
    Shape,
    shapes_from_table,
)

BOUNDARIES_SPEC = TableSpec(BOUNDARY_COLUMNS, numbers=("part", "ring", "lon", "lat"), text=("layer", "name"))

# Classes of the share within target (lower edges after the first), worst first: reds below the
# 90% goal, yellows at or above it (sequential, so readable without colour vision).
SHARE_EDGES = (0.5, 0.7, 0.8, TARGET_SHARE, 0.95)
SHARE_COLOURS = ("#99000D", "#CB181D", "#F16913", "#FDAE6B", "#FEE391", "#FFFFD4")
TOO_FEW_COLOUR = "#D0D0D0"  # hatched: fewer than MIN_INCIDENTS dispatched incidents
TOO_FEW_HATCH = "////"
SEA_COLOUR = "#CFE3F1"  # the axes' background when the outlines are real
NEIGHBOUR_COLOUR, NEIGHBOUR_EDGE = "#E3E3E3", "#BDBDBD"
PLAIN_COLOUR = "#F7F7F7"  # kecamatan in the names panel
HULL_BACKGROUND = "#FFFFFF"  # without real outlines there is no sea to show
EDGE_COLOUR = "#4D4D4D"
TPS_COLOUR = "#8C8C8C"

SCALE_KM = (50.0, 20.0, 10.0, 5.0, 2.0, 1.0)  # scale bar lengths tried, longest first [km]
KM_PER_DEG = 111.32  # km per degree of latitude (and of longitude at the equator)
VIEW_PAD = 0.03  # margin around the kecamatan, a share of their extent
INNER_GRID = 24  # grid points per side searched for a kecamatan's inner point

# Posts: marker, size [pt], word; placed in this order (the Polres keeps its place), drawn with
# the first on top.
POST_STYLE = {
    "polres": ("*", 15.0, "polres"),
    "polsek": ("^", 8.5, "polsek"),
    "tni": ("s", 7.0, "tni_post"),
    "other": ("D", 6.5, "other_post"),
}
POST_GAP_PX = 2.0  # clear space kept between two post markers [px]
LABEL_PAD_PX = 2.0  # clear space kept around a label [px]
LEADER_PX = 10.0  # a label moved further than this gets a leader line [px]
COVER_COST = 0.5  # a label's cost of covering 1 px² of a marker, the scale bar or the panel title [px]
CROWD_KM = 33.0  # labels with more kecamatan within this distance are placed first [km]
OUTSIDE_PX = 30.0  # a label's cost of leaving its own kecamatan [px]
AWAY_PX = 80.0  # a label's further cost of sitting in another kecamatan [px]
NUDGE_RADII_PX = tuple(range(6, 240, 6))  # distances tried when a spot is taken [px]
NUDGE_ANGLES = tuple(range(0, 360, 15))  # directions tried at each distance [deg]
VALUE_FONT, NAME_FONT = 8.0, 8.0  # label sizes [pt]

MAP_WORDS: dict[str, dict[str, str]] = {
    "t_map": {
        "id": "Peta kecamatan: kejadian didatangi dalam target (gabungan semua replikasi)",
        "en": "Kecamatan map: incidents reached within target (all replications pooled)",
    },
    "c_map": {
        "id": "Kecamatan yang kurang dari {goal} kejadiannya didatangi dalam target: {items} (dari kecamatan dengan "
        "sedikitnya {min} kejadian; yang lain abu-abu).",
        "en": "Kecamatan where fewer than {goal} of incidents were reached within target: {items} (of the kecamatan "
        "with at least {min} incidents; the others grey).",
    },
    "c_map_item": {"id": "{k} dari {n} dengan {plan}", "en": "{k} of {n} with {plan}"},
    "c_map_none": {
        "id": "Tidak ada kecamatan dengan sedikitnya {min} kejadian yang memerlukan unit; semua abu-abu.",
        "en": "No kecamatan has at least {min} incidents that needed a unit; all are grey.",
    },
    "map_values": {
        "id": "72% (45): didatangi dalam target (jumlah kejadian)",
        "en": "72% (45): reached within target (number of incidents)",
    },
    "too_few": {"id": "kejadian terlalu sedikit (< {min})", "en": "too few incidents (< {min})"},
    "neighbours": {"id": "Kabupaten/kota tetangga", "en": "Neighbouring kabupaten/kota"},
    "sea": {"id": "Laut", "en": "Sea"},
    "hull": {"id": "Kecamatan (sebaran TPS-nya)", "en": "Kecamatan (spread of its TPS)"},
    "tps": {"id": "TPS", "en": "TPS"},
    "tni_post": {"id": "Pos TNI", "en": "TNI post"},
    "other_post": {"id": "Pos lain", "en": "Other post"},
    "orientation": {"id": "Kecamatan dan pos", "en": "Kecamatan and posts"},
}


@dataclass(frozen=True)
class Post:
    """A post as the map marks it: its id, kind and place (lon, lat)."""

    id: str
    kind: str
    lon: float
    lat: float


# --- the outlines ------------------------------------------------------------------------------


def map_shapes(run: RunData) -> tuple[BoundaryShapes, bool]:
    """The outlines the map draws and whether they are real: ``boundaries.csv`` of the run folder
    when its manifest lists it, else the convex hull of each kecamatan's TPS (no neighbours)."""
    if BOUNDARIES_TABLE in run.manifest["files"]:
        table = read_table(run.path, run.manifest, BOUNDARIES_TABLE, BOUNDARIES_SPEC)
        bad = ~table["layer"].isin(LAYERS)
        if bad.any():
            raise UserError(
                str(run.path / BOUNDARIES_TABLE), "layer", f"holds {table['layer'][bad].iloc[0]!r}; valid: {LAYERS}"
            )
        return shapes_from_table(table), True
    tps = run.sites[run.sites["kind"] == "tps"].dropna(subset=["lat", "lon"])
    hulls = {}
    for kec, g in tps.groupby("kecamatan", sort=True):
        h = convex_hull(g[["lon", "lat"]].to_numpy(dtype=float))
        if len(h) >= 3:
            hulls[str(kec)] = [[np.vstack([h, h[:1]])]]
    return BoundaryShapes(hulls, {}), False


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (Andrew's monotone chain) of [n, 2] points, counter-clockwise, not closed."""
    pts = np.unique(points, axis=0)
    if len(pts) < 3:
        return pts

    def half(ps: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for q in ps:
            while len(out) >= 2 and _cross(out[-1] - out[-2], q - out[-2]) <= 0:
                out.pop()
            out.append(q)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _cross(a: np.ndarray, b: np.ndarray) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def shape_path(shape: Shape) -> MplPath:
    """One compound path of a (multi)polygon: exteriors counter-clockwise and holes clockwise, so
    that holes stay empty; every ring closed."""
    vertices, codes = [], []
    for polygon in shape:
        for j, ring in enumerate(polygon):
            closed = ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])
            if (_signed_area(closed) > 0) != (j == 0):
                closed = closed[::-1]
            vertices.append(closed)
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(closed) - 2) + [MplPath.CLOSEPOLY]
    return MplPath(np.vstack(vertices), codes)


def _segment_distance(points: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Distance from each of [m, 2] points to the nearest edge of a closed ring."""
    a, b = ring[:-1], ring[1:]
    ab = b - a
    length2 = np.maximum((ab**2).sum(axis=1), 1e-18)
    rel = points[:, None, :] - a[None, :, :]
    s = np.clip((rel * ab[None]).sum(axis=2) / length2[None], 0.0, 1.0)
    nearest = a[None] + s[..., None] * ab[None]
    return np.sqrt(((points[:, None, :] - nearest) ** 2).sum(axis=2)).min(axis=1)


def inner_point(shape: Shape, x_scale: float) -> tuple[float, float]:
    """A point well inside the largest part of a (multi)polygon (lon, lat): of a grid over it, the
    point inside farthest from its edges, distances with longitude times ``x_scale`` (cos lat).
    A centroid can fall outside a concave or many-part kecamatan; this cannot."""
    scale = np.array([x_scale, 1.0])
    polygon = max(shape, key=lambda p: abs(_signed_area(p[0] * scale)))
    outer = polygon[0]
    (x0, y0), (x1, y1) = outer.min(axis=0), outer.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(x0, x1, INNER_GRID + 2)[1:-1], np.linspace(y0, y1, INNER_GRID + 2)[1:-1])
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    inside = MplPath(outer).contains_points(grid)
    for hole in polygon[1:]:
        inside &= ~MplPath(hole).contains_points(grid)
    if not inside.any():
        x, y = outer[:-1].mean(axis=0)
        return float(x), float(y)
    candidates = grid[inside]
    depth = np.min([_segment_distance(candidates * scale, ring * scale) for ring in polygon], axis=0)
    x, y = candidates[int(np.argmax(depth))]
    return float(x), float(y)


# --- the values --------------------------------------------------------------------------------


def share_colour(share: float) -> str:
    """The fill of a kecamatan with enough incidents: the class of its share within target."""
    return SHARE_COLOURS[int(np.searchsorted(SHARE_EDGES, share, side="right"))]


def map_values(tab: pd.DataFrame, plans: list[str], kecamatan: Iterable[str]) -> pd.DataFrame:
    """Per plan and kecamatan: ``dispatched`` and ``within_target`` as ``tab`` (rows of
    kecamatan_table) has them (0 and NaN where it has no row) and ``enough`` (at least
    MIN_INCIDENTS dispatched incidents, so the share is shown)."""
    kecs = sorted(kecamatan)
    full = pd.MultiIndex.from_product([plans, kecs], names=["plan", "kecamatan"])
    got = tab.set_index(["plan", "kecamatan"])[["dispatched", "within_target"]].reindex(full).reset_index()
    got["dispatched"] = got["dispatched"].fillna(0).astype(int)
    got["enough"] = got["dispatched"] >= MIN_INCIDENTS
    return got


def _by_kecamatan(values: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One plan's rows of :func:`map_values` by kecamatan."""
    return {str(r["kecamatan"]): {str(k): v for k, v in r.items()} for r in values.to_dict("records")}


def _value_text(row: dict[str, Any], lang: str) -> str:
    n = f"({int(row['dispatched'])})"
    return f"{percent(float(row['within_target']), lang)} {n}" if row["enough"] else n


# --- drawing -----------------------------------------------------------------------------------


def draw_map(
    fig: Figure,
    run: RunData,
    tab: pd.DataFrame,
    t: Text,
    colours: dict[str, str],
    label: Callable[[object], str],
) -> pd.DataFrame | None:
    """Draw the map into ``fig`` (titled already; its layout is frozen here): one panel per plan
    (up to three, else the first) from ``tab`` (kecamatan_table rows of the view), plus a names
    panel when there are several. ``colours``: each plan's colour; ``label``: a name as charts
    show it. Returns :func:`map_values` of the plans drawn; None when no TPS has a position."""
    tps = run.sites[run.sites["kind"] == "tps"].dropna(subset=["lat", "lon"])
    if not len(tps):
        return None
    shapes, real = map_shapes(run)
    plans = run.plans if len(run.plans) <= 3 else run.plans[:1]
    values = map_values(tab, plans, shapes.kecamatan)
    if len(plans) == 1:
        panels: list[tuple[str | None, Axes]] = [(plans[0], fig.add_subplot())]
    else:
        cells = list(fig.subplots(2, 2).flat)
        panels = [*zip(plans, cells, strict=False), (None, cells[len(plans)])]
        for extra in cells[len(plans) + 1 :]:
            extra.set_visible(False)
    posts = _posts(run)
    single = len(panels) == 1
    for name, ax in panels:
        ax.set_gid(name if name is not None else "names")
        _base(ax, shapes, real, tps, posts)
        if name is None:
            _plain(ax, shapes)
        else:
            _filled(ax, shapes, values[values["plan"] == name])
        if name is None or single:
            ax.scatter(tps["lon"], tps["lat"], s=4, c=TPS_COLOUR, lw=0, zorder=3)
    cmap = ListedColormap(list(SHARE_COLOURS))
    norm = BoundaryNorm([0.0, *SHARE_EDGES, 1.0], cmap.N)
    cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=[ax for _, ax in panels], shrink=0.9, spacing="uniform")
    cb.set_ticks([0.0, *SHARE_EDGES, 1.0])
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: percent(v, t.lang)))
    cb.ax.axhline(TARGET_SHARE, color="black", lw=2.0)
    cb.set_label(kpi_label("within_target", t.lang, pooled=True))
    handles = _legend(t, real, bool(shapes.neighbours), posts)
    fig.legend(handles=handles, loc="outside lower center", ncols=math.ceil(len(handles) / 2), fontsize=9.5)
    fig.canvas.draw()  # settle the layout, then freeze it: sizes in pixels are final
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for name, ax in panels:
        _fill_panel(fig, ax)
        obstacles = [a.get_window_extent(renderer) for a in _scale_bar(ax)]
        title = _panel_title(ax, label(name) if name is not None else t("orientation"), colours.get(name or ""))
        obstacles.append(title.get_window_extent(renderer))
        obstacles += _draw_posts(ax, posts, renderer)
        texts = _label_texts(values, shapes, name, single, t.lang, label)
        _place_labels(ax, renderer, texts, obstacles, NAME_FONT if name is None else VALUE_FONT)
    return values


def _base(ax: Axes, shapes: BoundaryShapes, real: bool, tps: pd.DataFrame, posts: list[Post]) -> None:
    """The view around the kecamatan (and every TPS and post), equal-looking distances, the
    neighbours in grey on the sea, no degree ticks."""
    xy = np.vstack(
        [ring for shape in shapes.kecamatan.values() for polygon in shape for ring in polygon]
        + [tps[["lon", "lat"]].to_numpy(dtype=float), np.array([[p.lon, p.lat] for p in posts]).reshape(-1, 2)]
    )
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    pad_x, pad_y = (x1 - x0) * VIEW_PAD + 0.01, (y1 - y0) * VIEW_PAD + 0.01
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect(1 / math.cos(math.radians((y0 + y1) / 2)))
    ax.set_facecolor(SEA_COLOUR if real else HULL_BACKGROUND)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#999999")
    for name, shape in shapes.neighbours.items():
        patch = PathPatch(shape_path(shape), fc=NEIGHBOUR_COLOUR, ec=NEIGHBOUR_EDGE, lw=0.5, zorder=1)
        patch.set_gid(f"neighbour:{_panel_key(ax)}:{name}")
        ax.add_patch(patch)


def _panel_key(ax: Axes) -> str:
    """The panel's name in the gids of its artists: the plan, or ``names`` (set by draw_map)."""
    return str(ax.get_gid())


def _kecamatan_patch(ax: Axes, shape: Shape, kec: str, **style: Any) -> None:
    patch = PathPatch(shape_path(shape), ec=EDGE_COLOUR, lw=0.6, zorder=2, **style)
    patch.set_gid(f"kecamatan:{_panel_key(ax)}:{kec}")
    ax.add_patch(patch)


def _plain(ax: Axes, shapes: BoundaryShapes) -> None:
    for kec, shape in shapes.kecamatan.items():
        _kecamatan_patch(ax, shape, kec, fc=PLAIN_COLOUR)


def _filled(ax: Axes, shapes: BoundaryShapes, values: pd.DataFrame) -> None:
    """Each kecamatan in the colour of its share, or hatched grey with too few incidents."""
    rows = _by_kecamatan(values)
    for kec, shape in shapes.kecamatan.items():
        r = rows[kec]
        if r["enough"]:
            _kecamatan_patch(ax, shape, kec, fc=share_colour(float(r["within_target"])))
        else:
            _kecamatan_patch(ax, shape, kec, fc=TOO_FEW_COLOUR, hatch=TOO_FEW_HATCH)


def _label_texts(
    values: pd.DataFrame,
    shapes: BoundaryShapes,
    plan: str | None,
    single: bool,
    lang: str,
    label: Callable[[object], str],
) -> list[tuple[str, str, Shape]]:
    """(kecamatan, text, shape) of a panel's labels: names, values, or both in a single panel."""
    rows = _by_kecamatan(values[values["plan"] == plan])
    out = []
    for kec, shape in shapes.kecamatan.items():
        parts = [label(kec)] if plan is None or single else []
        if plan is not None:
            parts.append(_value_text(rows[kec], lang))
        out.append((kec, "\n".join(parts), shape))
    return out


def _fill_panel(fig: Figure, ax: Axes) -> None:
    """Widen the view (in longitude or latitude) so that the map fills its whole panel instead of
    shrinking to the kecamatan's shape; call after the layout is fixed."""
    pos = ax.get_position(original=True)
    fig_w, fig_h = fig.get_size_inches()
    panel = (pos.height * fig_h) / (pos.width * fig_w)  # height / width of the panel
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    aspect = float(ax.get_aspect())  # display height of one degree of latitude per degree of longitude
    shown = (y1 - y0) * aspect / (x1 - x0)
    if shown < panel:
        half = panel * (x1 - x0) / aspect / 2
        ax.set_ylim((y0 + y1) / 2 - half, (y0 + y1) / 2 + half)
    else:
        half = (y1 - y0) * aspect / panel / 2
        ax.set_xlim((x0 + x1) / 2 - half, (x0 + x1) / 2 + half)


def _scale_bar(ax: Axes) -> list[Any]:
    """A scale bar in the lower left corner (50 km, or shorter on a small map); returns its artists."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    km_per_lon = KM_PER_DEG * math.cos(math.radians((y0 + y1) / 2))
    km = next((k for k in SCALE_KM if k <= 0.3 * (x1 - x0) * km_per_lon), SCALE_KM[-1])
    bx, by, dlon = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.05, km / km_per_lon
    (bar,) = ax.plot([bx, bx + dlon], [by, by], color="black", lw=3, solid_capstyle="butt", zorder=7)
    label = ax.text(
        bx + dlon / 2,
        by + (y1 - y0) * 0.015,
        f"{km:g} km",
        ha="center",
        va="bottom",
        fontsize=9,
        zorder=7,
        path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
    )
    return [bar, label]


def _panel_title(ax: Axes, text: str, colour: str | None) -> Any:
    """A panel's name inside its top-right corner (Kutim's north-east is sea), saving a title row."""
    return ax.text(
        0.985,
        0.965,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=12,
        fontweight="bold",
        color=colour or "#222222",
        zorder=9,
        path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
    )


def _legend(t: Text, real: bool, neighbours: bool, posts: list[Post]) -> list[Any]:
    kinds = {p.kind for p in posts}
    h: list[Any] = [Line2D([], [], ls="", marker="", label=t("map_values"))]
    h.append(Patch(fc=TOO_FEW_COLOUR, ec=EDGE_COLOUR, hatch=TOO_FEW_HATCH, label=t("too_few", min=MIN_INCIDENTS)))
    for kind, (marker, ms, word) in POST_STYLE.items():
        if kind in kinds:
            h.append(Line2D([], [], ls="", marker=marker, ms=ms, mfc="black", mec="white", label=t(word)))
    h.append(Line2D([], [], ls="", marker="o", ms=3, mfc=TPS_COLOUR, mec="none", label=t("tps")))
    if neighbours:
        h.append(Patch(fc=NEIGHBOUR_COLOUR, ec=NEIGHBOUR_EDGE, label=t("neighbours")))
    if real:
        h.append(Patch(fc=SEA_COLOUR, ec="none", label=t("sea")))
    else:
        h.append(Patch(fc=PLAIN_COLOUR, ec=EDGE_COLOUR, label=t("hull")))
    return h


# --- posts without overlap ---------------------------------------------------------------------


def _posts(run: RunData) -> list[Post]:
    """The scenario's posts with a position, in :data:`POST_STYLE` order (then as listed)."""
    kinds = {p.id: p.kind for p in run.spec.sites.posts}
    sites = run.sites[run.sites["kind"] == "post"].dropna(subset=["lat", "lon"])
    found = [
        Post(str(s), kinds[str(s)], float(x), float(y))
        for s, x, y in zip(sites["site_id"], sites["lon"], sites["lat"], strict=True)
        if str(s) in kinds
    ]
    order = list(POST_STYLE)
    return sorted(found, key=lambda p: order.index(p.kind))


def _box(x: float, y: float, half_w: float, half_h: float) -> Bbox:
    return Bbox.from_extents(x - half_w, y - half_h, x + half_w, y + half_h)


def marker_half_px(kind: str, dpi: float) -> float:
    """Half the width of a post's marker [px]: its size in points at the figure's resolution."""
    return POST_STYLE[kind][1] * dpi / 72 / 2


def _nudges() -> list[tuple[float, float]]:
    """Display offsets tried for a marker or label whose place is taken, nearest first [px]."""
    return [(0.0, 0.0)] + [
        (r * math.cos(math.radians(a)), r * math.sin(math.radians(a))) for r in NUDGE_RADII_PX for a in NUDGE_ANGLES
    ]


def _draw_posts(ax: Axes, posts: list[Post], renderer: RendererBase) -> list[Bbox]:
    """Mark the posts, each at its place or, if that would cover a marker placed before it, at
    the nearest free spot inside the panel (with a leader line from a dot at its place); returns
    the markers' boxes [px]."""
    frame = ax.get_window_extent(renderer)
    to_data = ax.transData.inverted()
    dpi = ax.figure.dpi
    placed: list[Bbox] = []
    for z, p in enumerate(posts):
        marker, ms, _word = POST_STYLE[p.kind]
        half = marker_half_px(p.kind, dpi)
        px, py = ax.transData.transform((p.lon, p.lat))
        spots = [(px + dx, py + dy) for dx, dy in _nudges()]
        free = (
            (x, y)
            for x, y in spots
            if frame.contains(x - half, y - half)
            and frame.contains(x + half, y + half)
            and not any(_overlap(_box(x, y, half + POST_GAP_PX, half + POST_GAP_PX), b) > 0 for b in placed)
        )
        x, y = next(free, spots[0])
        lon, lat = to_data.transform((x, y))
        if math.hypot(x - px, y - py) > 0.5:
            ax.plot([p.lon, lon], [p.lat, lat], color="black", lw=0.7, zorder=6)
            ax.plot([p.lon], [p.lat], ls="", marker="o", ms=2.5, mfc="black", mec="black", zorder=6)
        (line,) = ax.plot(
            [lon], [lat], ls="", marker=marker, ms=ms, mfc="black", mec="white", mew=0.8, zorder=6.5 - z * 0.01
        )
        line.set_gid(f"post:{_panel_key(ax)}:{p.id}")
        placed.append(_box(x, y, half, half))
    return placed


# --- labels without collision ------------------------------------------------------------------


def _overlap(a: Bbox, b: Bbox) -> float:
    """Overlapping area of two display boxes [px²]."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def _crowded_first(points: list[tuple[float, float]], x_scale: float) -> list[int]:
    """Label order: the kecamatan with the most other inner points (lon, lat) within
    :data:`CROWD_KM` first, so that they get the nearest free spots; then in the given order."""
    xy = np.array(points).reshape(-1, 2) * [x_scale, 1.0] * KM_PER_DEG
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    crowd = (dist < CROWD_KM).sum(axis=1)
    return sorted(range(len(points)), key=lambda i: (-int(crowd[i]), i))


def _areas(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Overlapping area [px²] of each of [n, 4] boxes (x0, y0, x1, y1) with each of [m, 4] others."""
    w = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0], others[None, :, 0])
    h = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1], others[None, :, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def _place_labels(
    ax: Axes,
    renderer: RendererBase,
    texts: list[tuple[str, str, Shape]],
    obstacles: list[Bbox],
    fontsize: float,
) -> None:
    """Each text (the most crowded first) at the spot of least cost among those whose box lies
    inside the panel and clear of the labels placed before it: the distance from its kecamatan's
    inner point [px], plus :data:`COVER_COST` per px² of ``obstacles`` covered, plus
    :data:`OUTSIDE_PX` if its centre leaves its own kecamatan and :data:`AWAY_PX` more if it lies
    in another one (in the sea it cannot be taken for another's name). A leader line when moved
    more than :data:`LEADER_PX`."""
    frame = ax.get_window_extent(renderer).padded(-LABEL_PAD_PX)
    (_, y0), (_, y1) = ax.get_xlim(), ax.get_ylim()
    x_scale = math.cos(math.radians((y0 + y1) / 2))
    inner = [inner_point(shape, x_scale) for _, _, shape in texts]
    anchors = [tuple(ax.transData.transform(xy)) for xy in inner]
    to_data = ax.transData.inverted()
    stroke = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    nudges = np.array(_nudges())
    distance = np.hypot(nudges[:, 0], nudges[:, 1])
    blocked = np.array([b.extents for b in obstacles]).reshape(-1, 4)
    outlines = [ax.transData.transform_path(shape_path(shape)) for _, _, shape in texts]
    placed = np.empty((0, 4))
    for i in _crowded_first(inner, x_scale):
        kec, text, _shape = texts[i]
        anchor = np.array(anchors[i], dtype=float)
        x, y = to_data.transform(anchor)
        artist = ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#1A1A1A",
            zorder=8,
            path_effects=stroke,
            linespacing=1.1,
        )
        artist.set_gid(f"label:{_panel_key(ax)}:{kec}")
        size = artist.get_window_extent(renderer)
        hw, hh = size.width / 2 + LABEL_PAD_PX, size.height / 2 + LABEL_PAD_PX
        centres = anchor + nudges
        half = np.array([hw, hh])
        boxes = np.column_stack([centres - half, centres + half])
        inside = (
            (boxes[:, 0] >= frame.x0)
            & (boxes[:, 1] >= frame.y0)
            & (boxes[:, 2] <= frame.x1)
            & (boxes[:, 3] <= frame.y1)
        )
        clear = ~(_areas(boxes, placed) > 0).any(axis=1)
        home = outlines[i].contains_points(centres)
        elsewhere = np.any([o.contains_points(centres) for j, o in enumerate(outlines) if j != i], axis=0)
        cover = COVER_COST * _areas(boxes, blocked).sum(axis=1)
        cost = distance + cover + np.where(home, 0.0, OUTSIDE_PX) + np.where(elsewhere, AWAY_PX, 0.0)
        # where no spot is inside and clear (never on the maps we draw), the least bad one
        cost = np.where(inside & clear, cost, cost + 1e9 * (~inside + ~clear))
        k = int(np.argmin(cost))
        artist.set_position(tuple(to_data.transform(centres[k])))
        placed = np.vstack([placed, boxes[k]])
        if distance[k] > LEADER_PX:
            _leader(ax, (float(anchor[0]), float(anchor[1])), (float(centres[k, 0]), float(centres[k, 1])), hw, hh)


def _leader(ax: Axes, anchor: tuple[float, float], centre: tuple[float, float], hw: float, hh: float) -> None:
    """A thin line from a kecamatan's inner point to the edge of its moved label [px in, data drawn]."""
    dx, dy = anchor[0] - centre[0], anchor[1] - centre[1]
    s = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    if s >= 1:
        return
    edge = (centre[0] + dx * s, centre[1] + dy * s)
    (x0, y0), (x1, y1) = ax.transData.inverted().transform([anchor, edge])
    ax.plot([x0, x1], [y0, y1], color="#555555", lw=0.6, zorder=7.5)
