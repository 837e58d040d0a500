"""The world: sites as nodes, and travel times between them.

Nodes are numbered TPS first (in table order), then the PPK venues, the KPU office and the posts.
Travel between two nodes [min] is the great-circle distance times a road factor at a road speed,
with per-kecamatan access overrides:

- a leg between two kecamatan uses the larger road factor and the smaller speed of the two (a bad
  road at either end slows the whole leg, and the matrix stays symmetric);
- a kecamatan reached by water (``mode: sea`` or ``river``, e.g. Sandaran by sea from the
  Sangkulirang jetty) is entered and left through its gateway: road to the gateway, a transfer
  (finding a boat; skipped by a unit whose own mode is that water mode), then the water leg at
  ``water_factor`` times the straight line;
- a travel-time matrix file, when given, overrides the formula for the pairs it lists.

Travel noise is not part of the world: each responding unit's noise factor is drawn with the
incident (see :mod:`sim.generate`), so every plan sees the same draws.

No nodes x nodes matrix is ever built (:class:`Legs`): a leg is computed by the formula when it
is asked for, and the rows and columns of the posts (where units start and return: what the model
reads all day) are kept once computed. Memory grows with posts x sites, not sites x sites, so a
province-size scenario takes megabytes, not gigabytes, and the same numbers as the dense matrices
gave (the same operations, element by element).

What can be wrong with a world is refused before anything is computed, by one function that
``validate``, :mod:`sim.study` and :func:`build_world` all call (:func:`check_world`): site ids
that collide, travel-matrix rows naming unknown sites or giving a pair twice, and legs too many to
keep (``MAX_WORLD_BYTES``). The one check that needs the legs, a formula leg longer than
``MAX_TRAVEL_MIN`` (or too long to compute), is made when the world is built: by a bound on every
leg, or else row block by row block.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.scenario import MAX_PRIORITY, MODES, TPS_CLASSES, TPS_FLAGS, LoadedScenario
from sim.scenario.schema import MAX_MINUTES, Scenario

EARTH_RADIUS_KM = 6371.0088
MAX_TRAVEL_MIN = MAX_MINUTES  # longest usable leg [min]: the longest scenario window, as for a matrix file's legs
MAX_WORLD_BYTES = 8 * 2**30  # memory one world's kept legs may take [bytes]: e.g. 100 posts to 1.3 million sites
LEG_ARRAYS = 2 * (len(MODES) + 1)  # kept per post: a row and a column of legs per unit mode and of distance


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance [km] between points given in degrees (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


@dataclass
class World:
    """Sites, kecamatan and travel matrices of one scenario (independent of plan and seed)."""

    node_ids: list[str]
    node_kind: list[str]  # "tps" | "ppk" | "kpu" | "post"
    node_kec: np.ndarray  # kecamatan index per node
    lat: np.ndarray
    lon: np.ndarray
    kecamatan: list[str]
    n_tps: int
    ppk_node: np.ndarray  # node index of the PPK venue, per kecamatan index
    kpu_node: int
    post_node: dict[str, int]
    post_covers: dict[str, frozenset[int]]  # kecamatan indices a post serves
    tps_class: np.ndarray  # index into TPS_CLASSES
    tps_flags: np.ndarray  # bool [n_tps, len(TPS_FLAGS)]
    tps_voters: np.ndarray
    target_min: np.ndarray  # response target [kecamatan index, priority] [min] (priority 1..9; column 0 unused)
    target_group: list[str]  # name of the target group per kecamatan index ("" for the default)
    travel_min: dict[str, Legs]  # per unit mode: minutes between nodes, no noise (indexed as [n_nodes, n_nodes])
    road_km: Legs  # road/water distance actually travelled between nodes [km]
    setup_min: float
    noise_cv: float
    kec_area: np.ndarray  # dispatch area index per kecamatan index (see dispatch_areas)
    area_names: list[str]  # per area: its region ids joined by '+' ('' for a scenario without regions)
    cache: dict[Any, Any] = field(default_factory=dict)  # derived data that depend on the world only

    def escort_legs(self) -> tuple[np.ndarray, np.ndarray]:
        """Road minutes from each TPS to the PPK of its kecamatan and back (kept: every plan's
        escort schedule and every replication's box times read them)."""
        hit = self.cache.get("escort_legs")
        if hit is None:
            tps = np.arange(self.n_tps)
            ppk = self.ppk_node[self.node_kec[: self.n_tps]]
            road = self.travel_min["road"]
            hit = self.cache["escort_legs"] = (road.pairs(tps, ppk), road.pairs(ppk, tps))
        return hit

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_areas(self) -> int:
        return len(self.area_names)

    def release_area(self, area: int) -> None:
        """Forget the kept legs of the posts of dispatch ``area`` (its day is over; the next
        replication computes them again): a many-area world holds one area's legs at a time."""
        for legs in (*self.travel_min.values(), self.road_km):
            legs.release(self.area_posts()[area])

    def area_posts(self) -> list[list[int]]:
        """The post nodes of each dispatch area (kept)."""
        hit = self.cache.get("area_posts")
        if hit is None:
            area = self.node_area()
            hit = self.cache["area_posts"] = [[] for _ in range(self.n_areas)]
            for node in self.post_node.values():
                hit[int(area[node])].append(node)
        return hit

    def node_area(self) -> np.ndarray:
        """Dispatch area index per node (kept)."""
        hit = self.cache.get("node_area")
        if hit is None:
            hit = self.cache["node_area"] = self.kec_area[self.node_kec]
        return hit

    def area_nodes(self) -> list[np.ndarray]:
        """The nodes of each dispatch area, ascending (kept)."""
        hit = self.cache.get("area_nodes")
        if hit is None:
            hit = self.cache["area_nodes"] = members(self.node_area(), self.n_areas)
        return hit

    def node_lists(self) -> tuple[list[int], list[int]]:
        """Kecamatan and dispatch area per node as Python lists (kept: the model reads them per
        incident, and a many-area run makes a day per area, each of which would convert them again)."""
        hit = self.cache.get("node_lists")
        if hit is None:
            hit = self.cache["node_lists"] = (self.node_kec.tolist(), self.node_area().tolist())
        return hit

    def node_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.node_ids)}


def members(labels: np.ndarray, n: int) -> list[np.ndarray]:
    """The indices that hold each of the labels ``0 .. n-1``, ascending: one sort for all of them,
    not a scan of every index per label (545 areas of 453,000 nodes)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


def dispatch_areas(spec: Scenario, kecamatan: list[str]) -> tuple[np.ndarray, list[str]]:
    """Dispatch areas: each region (kabupaten/kota, its own Polres) is one, except that regions a
    post links (its own and those it ``serves``, e.g. a Polda reserve for several) form one area,
    in which every unit may take every call. Areas are numbered by their first region in scenario
    order. A scenario without regions is one area: (zeros, ['']).
    """
    if not spec.regions:
        return np.zeros(len(kecamatan), dtype=np.int64), [""]
    ids = [r.id for r in spec.regions]
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    region_of_kec = {k: ids.index(r.id) for r in spec.regions for k in r.kecamatan}
    for p in spec.sites.posts:
        home = region_of_kec[p.kecamatan]
        for other in p.serves:
            a, b = root(home), root(ids.index(other))
            parent[max(a, b)] = min(a, b)  # the smaller index stays the root: numbering by first region
    roots = sorted({root(i) for i in range(len(ids))})
    area_of_root = {r: a for a, r in enumerate(roots)}
    names = ["+".join(ids[i] for i in range(len(ids)) if root(i) == r) for r in roots]
    kec_area = np.asarray([area_of_root[root(region_of_kec[k])] for k in kecamatan], dtype=np.int64)
    return kec_area, names


def ppk_id(kecamatan: str) -> str:
    return f"PPK {kecamatan}"


KPU_ID = "KPU"


def site_ids(sc: LoadedScenario) -> list[str]:
    """Node ids in node order: the TPS (table order), ``PPK <kecamatan>``, ``KPU``, the posts."""
    spec = sc.spec
    return [
        *sc.tps["tps_id"],
        *(ppk_id(v.kecamatan) for v in spec.sites.ppk),
        KPU_ID,
        *(p.id for p in spec.sites.posts),
    ]


def world_bytes(n_nodes: int, n_posts: int) -> int:
    """Memory the travel legs a run keeps take [bytes]: every post's row and column of legs, per
    unit mode and of distance (:class:`Legs`)."""
    return LEG_ARRAYS * n_posts * n_nodes * 8


def check_world(sc: LoadedScenario) -> None:
    """Refuse a world that cannot be built, before anything is allocated or run.

    Site ids must differ (a TPS named ``KPU``, a post id, or ``PPK <kecamatan>`` would make two
    sites one); every travel-matrix row must name known sites and give its pair once (its minutes
    were checked when it was read); the matrices must fit in ``MAX_WORLD_BYTES``. Raises
    :class:`UserError` naming the table and row, or the scenario key.
    """
    spec = sc.spec
    ids = site_ids(sc)
    tps_file = str(sc.path.parent / spec.sites.tps_file)
    other = {ppk_id(v.kecamatan): "the PPK venue of that kecamatan" for v in spec.sites.ppk}
    other[KPU_ID] = "the KPU office"
    for i, p in enumerate(spec.sites.posts):
        if p.id in other:
            raise UserError(
                str(sc.path), f"sites.posts.{i}.id", f"'{p.id}' is the id of {other[p.id]}; give the post another id"
            )
        other[p.id] = f"post {i} in sites.posts"
    tps_ids = sc.tps["tps_id"]
    clash = (tps_ids.isin(list(other)) | tps_ids.duplicated()).to_numpy()
    if clash.any():
        row = int(np.flatnonzero(clash)[0])
        name = tps_ids.iloc[row]
        first = int(np.flatnonzero((tps_ids == name).to_numpy())[0])
        raise UserError(
            tps_file,
            f"row {row + 2} column tps_id",
            f"'{name}' is also the id of {other.get(name, f'the TPS in row {first + 2}')}; TPS ids must be unique "
            "and differ from post ids, 'PPK <kecamatan>' and 'KPU'",
        )
    if sc.travel_matrix is not None:
        _check_matrix(sc, {n: i for i, n in enumerate(ids)})
    n_posts = _posts_held(spec)
    need = world_bytes(len(ids), n_posts)
    if need > MAX_WORLD_BYTES:
        most = int(MAX_WORLD_BYTES / (LEG_ARRAYS * 8 * max(1, n_posts)))
        posts = f"{n_posts:,} post{'' if n_posts == 1 else 's'}" + (" (the largest region's)" if spec.regions else "")
        raise UserError(
            tps_file,
            None,
            f"{len(sc.tps):,} TPS: with the PPK venues, the KPU office and the posts, the travel legs of "
            f"{posts} to {len(ids):,} sites would need about {_gib(need)} of memory; at most "
            f"{_gib(MAX_WORLD_BYTES)} (about {most:,} sites from {posts}) can be kept: "
            + (
                "split the largest region in regions:, or run one kabupaten/kota at a time"
                if spec.regions
                else "give regions: (each kabupaten/kota with its Polres, run one after the other), or run one "
                "kabupaten/kota at a time"
            ),
        )


def _posts_held(spec: Scenario) -> int:
    """How many posts' legs a run holds at once: every post, or in a world of several dispatch
    areas, the posts of the largest area (it runs area by area, :meth:`World.release_area`)."""
    kecs = [v.kecamatan for v in spec.sites.ppk]
    kec_area, names = dispatch_areas(spec, kecs)
    if len(names) == 1:
        return len(spec.sites.posts)
    index = {k: i for i, k in enumerate(kecs)}
    per_area = np.bincount([kec_area[index[p.kecamatan]] for p in spec.sites.posts], minlength=len(names))
    return int(per_area.max())


def _gib(n_bytes: float) -> str:
    """Bytes as people read them: ``8 GiB``, ``2.5 GiB``, ``402 GiB``; ``4.3 MiB`` below a GiB."""
    if n_bytes < 2**30:
        mib = n_bytes / 2**20
        return f"{mib:,.1f}".removesuffix(".0") + " MiB" if mib >= 0.1 else "under 0.1 MiB"
    gib = n_bytes / 2**30
    return f"{gib:,.1f}".removesuffix(".0") + " GiB" if gib < 10 else f"{gib:,.0f} GiB"


def _matrix_file(sc: LoadedScenario) -> str:
    return str(sc.path.parent / (sc.spec.travel.matrix_file or ""))


def _check_matrix(sc: LoadedScenario, index: dict[str, int]) -> None:
    """Every row of the travel matrix: known sites, each ordered pair once."""
    assert sc.travel_matrix is not None
    df = sc.travel_matrix
    where = _matrix_file(sc)
    for col in ("from", "to"):
        known = df[col].isin(list(index)).to_numpy()
        if not known.all():
            row = int(np.flatnonzero(~known)[0])
            name = df[col].iloc[row]
            problem = (
                "empty; a site id is needed"
                if pd.isna(name)
                else f"unknown site or post id '{name}'; valid: TPS ids, post ids, 'PPK <kecamatan>', 'KPU'"
            )
            raise UserError(where, f"row {row + 2} column {col}", problem)
    again = df.duplicated(["from", "to"]).to_numpy()
    if again.any():
        row = int(np.flatnonzero(again)[0])
        a, b = df["from"].iloc[row], df["to"].iloc[row]
        first = int(np.flatnonzero(((df["from"] == a) & (df["to"] == b)).to_numpy())[0])
        raise UserError(
            where, f"row {row + 2}", f"the leg '{a}' to '{b}' is given again (first in row {first + 2}); give it once"
        )


def world_key(sc: LoadedScenario) -> str:
    """SHA-256 of what :func:`build_world` reads (sites, travel, targets, the TPS table and the
    travel matrix): scenarios with the same key have the same world, whatever else they change."""
    spec = sc.spec
    h = hashlib.sha256(str(sc.path).encode())
    for part in (spec.sites, spec.travel, spec.targets):
        h.update(part.model_dump_json().encode())
    for table in (sc.tps, sc.travel_matrix):
        if table is not None:  # row hashes: a third of the time of writing the table out as text
            h.update(",".join(table.columns).encode())
            h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()


_LAST_WORLD: dict[str, World] = {}  # the last world built by world_for, by its world_key


def world_for(sc: LoadedScenario) -> World:
    """:func:`build_world`, reusing the last world this process built for the same
    :func:`world_key` (the size check, the workers of this process and the final tables of a run
    all need it; a world of a large scenario takes gigabytes and seconds). One is kept."""
    key = world_key(sc)
    world = _LAST_WORLD.get(key)
    if world is None:
        _LAST_WORLD.clear()  # before building: never two large worlds at once
        world = build_world(sc)
        _LAST_WORLD[key] = world
    return world


def build_world(sc: LoadedScenario) -> World:
    """Resolve sites and compute the travel matrices for every unit mode (checked first: :func:`check_world`)."""
    check_world(sc)
    spec = sc.spec
    tps = sc.tps
    kecs = [v.kecamatan for v in spec.sites.ppk]
    kidx = {k: i for i, k in enumerate(kecs)}

    ids = site_ids(sc)
    kinds = ["tps"] * len(tps)
    node_kec = list(tps["kecamatan"].map(kidx))
    lat = list(tps["lat"])
    lon = list(tps["lon"])
    for v in spec.sites.ppk:
        kinds.append("ppk")
        node_kec.append(kidx[v.kecamatan])
        lat.append(v.position[0])
        lon.append(v.position[1])
    kinds.append("kpu")
    node_kec.append(kidx[spec.sites.kpu.kecamatan])
    lat.append(spec.sites.kpu.position[0])
    lon.append(spec.sites.kpu.position[1])
    post_node: dict[str, int] = {}
    for p in spec.sites.posts:
        post_node[p.id] = len(kinds)
        kinds.append("post")
        node_kec.append(kidx[p.kecamatan])
        lat.append(p.position[0])
        lon.append(p.position[1])
    n_tps = len(tps)
    kec_arr = np.asarray(node_kec, dtype=np.int64)
    lat_a = np.asarray(lat, dtype=float)
    lon_a = np.asarray(lon, dtype=float)
    kec_area, area_names = dispatch_areas(spec, kecs)
    node_area = kec_area[kec_arr] if len(area_names) > 1 else None
    legs, km = _legs(sc, kecs, kec_arr, lat_a, lon_a, frozenset(post_node.values()), node_area)
    if sc.travel_matrix is not None:
        _apply_matrix(sc, legs, {n: i for i, n in enumerate(ids)})
    if (len(legs) + 1) * len(ids) ** 2 * 8 <= DENSE_BYTES:  # a kabupaten: every leg up front, as fast as it gets
        for m in (*legs.values(), km):
            m.make_dense()
    _check_legs(sc, ids, legs, km)

    covers: dict[str, frozenset[int]] = {}
    for p in spec.sites.posts:
        covers[p.id] = frozenset(kidx[k] for k in (p.kecamatan, *p.covers))

    target = np.empty((len(kecs), MAX_PRIORITY + 1))
    group = [""] * len(kecs)
    target[:] = _by_priority(spec.targets.default_min)
    for g in spec.targets.groups:
        for k in g.kecamatan:
            target[kidx[k]] = _by_priority(g.target_min)
            group[kidx[k]] = g.name

    cls_idx = {c: i for i, c in enumerate(TPS_CLASSES)}
    return World(
        node_ids=ids,
        node_kind=kinds,
        node_kec=kec_arr,
        lat=lat_a,
        lon=lon_a,
        kecamatan=kecs,
        n_tps=n_tps,
        ppk_node=np.asarray([n_tps + i for i in range(len(kecs))], dtype=np.int64),
        kpu_node=n_tps + len(kecs),
        post_node=post_node,
        post_covers=covers,
        tps_class=tps["class"].map(cls_idx).to_numpy(dtype=np.int64),
        tps_flags=tps[list(TPS_FLAGS)].to_numpy(dtype=bool),
        tps_voters=tps["voters"].to_numpy(dtype=np.int64),
        target_min=target,
        target_group=group,
        travel_min=legs,
        road_km=km,
        setup_min=spec.travel.setup_min,
        noise_cv=spec.travel.noise_cv,
        kec_area=kec_area,
        area_names=area_names,
    )


def _by_priority(target: float | dict[int, float]) -> np.ndarray:
    """A target row indexed by priority [min]: one number for all, or minutes per priority.

    Priorities a per-priority target leaves out are used by no incident type (the loader checks).
    """
    if isinstance(target, dict):
        row = np.full(MAX_PRIORITY + 1, np.nan)
        for p, v in target.items():
            row[p] = v
        return row
    return np.full(MAX_PRIORITY + 1, float(target))


@dataclass(frozen=True)
class _Nodes:
    """What the travel formula reads of every node (:func:`_legs`)."""

    kec: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    ex_lat: np.ndarray  # where the node leaves its kecamatan: itself, or the gateway of a water kecamatan
    ex_lon: np.ndarray
    water_km: np.ndarray  # the water leg to that exit [km]
    rf: np.ndarray  # road factor of the node's kecamatan
    sp: np.ndarray  # road speed of the node's kecamatan [km/h]
    leg_min: dict[str, np.ndarray]  # per unit mode: water leg and transfer to the exit [min]
    area: np.ndarray | None = None  # dispatch area per node; None: one area (every leg is the formula's)


ROW_NODES = 8192  # up to this many nodes a leg from elsewhere than a post brings its whole row along
DENSE_BYTES = 64 * 2**20  # every leg computed up front when all of them take no more (Kutim: 17 MB)
RECENT_BYTES = 32 * 2**20  # rows of nodes other than posts kept per mode: all of Kutim's, ~600 at province size


class Legs:
    """Travel between nodes by one unit mode [min] (or the distance travelled, ``mode`` None [km]).

    Computed on demand by the formula of :func:`_legs` (the matrix file's legs in its place), never
    all nodes x nodes at once: the rows and columns of the posts, which the model reads all day, are
    kept once computed; any other leg is computed when asked. Indexed like the square matrix it
    stands for: ``legs[a, b]`` (numbers or arrays of node indices, pair by pair), ``legs[a]`` (a row).

    In a world of several dispatch areas a post's legs to or from another area are ``inf`` (its
    units never take a call there: :func:`dispatch_areas`), so a post's row and column are computed
    over its own area's nodes only; :meth:`release` drops the kept ones of an area run to its end.
    """

    def __init__(
        self, nodes: _Nodes, mode: str | None, overrides: dict[int, dict[int, float]], kept: frozenset[int]
    ) -> None:
        self.nodes, self.mode, self.overrides, self.nodes_kept = nodes, mode, overrides, kept
        self.n = len(nodes.kec)
        self._rows: dict[int, np.ndarray] = {}
        self._cols: dict[int, np.ndarray] = {}
        self._recent: dict[int, np.ndarray] = {}  # rows of other nodes, least recently asked first
        self.dense: np.ndarray | None = None  # every leg, for a world small enough (make_dense)
        self.is_post = np.zeros(self.n, dtype=bool)
        self.is_post[list(kept)] = True
        self._area_nodes: list[np.ndarray] = []  # per area, once asked
        self._spare: list[np.ndarray] = []  # released lines of posts, all inf again (release)

    def make_dense(self) -> None:
        """Compute every leg now and keep them (a small world: the fastest to read all day)."""
        everything = np.arange(self.n)
        self.dense = self.block(everything, everything)

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.n

    def _compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The formula for node arrays ``a`` and ``b`` (broadcast against each other)."""
        d = self.nodes
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused by _check_legs
            rf = np.maximum(d.rf[a], d.rf[b])
            same = d.kec[a] == d.kec[b]
            direct_km = great_circle_km(d.lat[a], d.lon[a], d.lat[b], d.lon[b]) * rf
            exit_km = great_circle_km(d.ex_lat[a], d.ex_lon[a], d.ex_lat[b], d.ex_lon[b]) * rf
            if self.mode is None:
                out = np.where(same, direct_km, exit_km + d.water_km[a] + d.water_km[b])
            else:
                sp = np.minimum(d.sp[a], d.sp[b])
                road_min = np.where(same, direct_km, exit_km) / sp * 60.0
                leg = d.leg_min[self.mode]
                out = road_min + np.where(same, 0.0, leg[a] + leg[b])
        out = np.where(a == b, 0.0, out)
        return np.where(self.apart(a, b), np.inf, out) if d.area is not None else out

    def apart(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Legs no unit takes: to or from a post, across dispatch areas (broadcast like ``_compute``)."""
        area = self.nodes.area
        if area is None:
            return np.zeros(np.broadcast_shapes(np.shape(a), np.shape(b)), dtype=bool)
        return (self.is_post[a] | self.is_post[b]) & (area[a] != area[b])

    def _own_area(self, a: int) -> np.ndarray | None:
        """The nodes of node ``a``'s dispatch area (kept), or None in a world of one area."""
        area = self.nodes.area
        if area is None:
            return None
        if not self._area_nodes:
            self._area_nodes = members(area, int(area.max()) + 1)
        return self._area_nodes[int(area[a])]

    def _line(self, a: int, frm: bool) -> np.ndarray:
        """Every leg from (``frm``) or to node ``a``; for a post in a world of several areas, its
        own area's legs computed and the others ``inf`` (:meth:`apart`)."""
        own = self._own_area(a) if a in self.nodes_kept else None
        where = np.arange(self.n) if own is None else own
        legs = self.block(np.asarray([a]), where)[0] if frm else self.block(where, np.asarray([a]))[:, 0]
        if own is None:
            return legs
        out = self._spare.pop() if self._spare else np.full(self.n, np.inf)
        out[own] = legs
        return out

    def release(self, nodes: Iterable[int]) -> None:
        """Forget the kept rows and columns of ``nodes`` (posts of an area run to its end; nothing
        may read them any more). A line of a post of one area of several is kept for the next
        area's posts, set back to ``inf`` where its area's legs were: a national day has 545 areas,
        and a fresh line per post is 3.6 MB to allocate and fill, which two workers at once wait on."""
        for a in nodes:
            own = self._own_area(a)
            for line in (self._rows.pop(a, None), self._cols.pop(a, None)):
                if line is not None and own is not None:
                    line[own] = np.inf
                    self._spare.append(line)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """[len(rows), len(cols)] legs."""
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        out = self._compute(rows[:, None], cols[None, :])
        if self.mode is not None and self.overrides:
            pos = {int(c): k for k, c in enumerate(cols)}
            for r, a in enumerate(rows.tolist()):
                for b, minutes in self.overrides.get(a, {}).items():
                    if b in pos:
                        out[r, pos[b]] = minutes
        return out

    def row(self, a: int) -> np.ndarray:
        """Every leg from node ``a``: kept for posts, and for the other nodes most recently asked, up
        to ``RECENT_BYTES`` (the scenes units return from: their legs are asked again and again)."""
        if self.dense is not None:
            return self.dense[a]
        hit = self._rows.get(a)
        if hit is None:
            hit = self._recent.pop(a, None)
            if hit is None:
                hit = self._line(a, True)
            if a in self.nodes_kept:
                self._rows[a] = hit
            else:
                self._recent[a] = hit  # the most recent last
                if len(self._recent) * self.n * 8 > RECENT_BYTES:
                    del self._recent[next(iter(self._recent))]
        return hit

    def col(self, b: int) -> np.ndarray:
        """Every leg to node ``b`` (kept for posts)."""
        if self.dense is not None:
            return self.dense[:, b]
        hit = self._cols.get(b)
        if hit is None:
            hit = self._line(b, False)
            if b in self.nodes_kept:
                self._cols[b] = hit
        return hit

    def pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The legs from ``a[k]`` to ``b[k]``, pair by pair."""
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        if self.dense is not None:
            return self.dense[a, b]
        out = self._compute(a, b)
        if self.mode is not None and self.overrides:
            out = np.array(out, dtype=float)
            flat_a, flat_b, flat = a.reshape(-1), b.reshape(-1), out.reshape(-1)
            for k, (i, j) in enumerate(zip(flat_a.tolist(), flat_b.tolist(), strict=True)):
                minutes = self.overrides.get(i, {}).get(j)
                if minutes is not None:
                    flat[k] = minutes
        return out

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            return self.row(int(key))
        a, b = key
        if np.ndim(a) == 0 and np.ndim(b) == 0:
            a, b = int(a), int(b)
            if self.dense is not None:
                return self.dense[a, b]
            if a in self._rows:
                return self._rows[a][b]
            if b in self._cols:
                return self._cols[b][a]
            if self.n > ROW_NODES and a not in self._recent:  # a whole row would cost more than the leg
                return self.pairs(np.asarray([a]), np.asarray([b]))[0]
            return self.row(a)[b]
        return self.pairs(a, b)


def _legs(
    sc: LoadedScenario,
    kecs: list[str],
    kec: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    kept: frozenset[int],
    area: np.ndarray | None = None,
) -> tuple[dict[str, Legs], Legs]:
    """Travel minutes per unit mode and distance [km] between every two nodes, as :class:`Legs`.

    A leg within a kecamatan is the straight line x its road factor at its road speed; between two
    kecamatan, each end first goes to its kecamatan's exit (itself, or by water to the gateway of
    a river or sea kecamatan, with a transfer to a boat unless the unit is one), then by road
    (the larger road factor, the lower speed of the two kecamatan).
    """
    tr = sc.spec.travel
    nk = len(kecs)
    rf_k = np.full(nk, tr.road_factor)
    sp_k = np.full(nk, tr.speed_kmh.get("road", 40.0))
    water_mode = [""] * nk
    gw_lat = np.zeros(nk)
    gw_lon = np.zeros(nk)
    transfer = np.zeros(nk)
    for name, acc in tr.access.items():
        i = kecs.index(name)
        if acc.road_factor is not None:
            rf_k[i] = acc.road_factor
        if acc.speed_kmh is not None:
            sp_k[i] = acc.speed_kmh
        if acc.mode != "road" and acc.gateway is not None:
            water_mode[i] = acc.mode
            gw_lat[i], gw_lon[i] = acc.gateway
            transfer[i] = acc.transfer_min

    is_water = np.asarray([water_mode[k] != "" for k in kec], dtype=bool)
    ex_lat = np.where(is_water, gw_lat[kec], lat)
    ex_lon = np.where(is_water, gw_lon[kec], lon)
    water_km = np.where(is_water, great_circle_km(lat, lon, ex_lat, ex_lon) * tr.water_factor, 0.0)
    speeds: dict[str, float] = {str(k): v for k, v in tr.speed_kmh.items()}
    water_speed = np.asarray([speeds.get(water_mode[k] or "road", 20.0) for k in range(nk)])
    water_min = np.where(is_water, water_km / water_speed[kec] * 60.0, 0.0)
    leg_min = {}
    for mode in MODES:
        # A unit whose own mode is the kecamatan's water mode needs no transfer to a boat.
        needs_boat = is_water & np.asarray([water_mode[k] != mode for k in kec], dtype=bool)
        leg_min[mode] = water_min + np.where(needs_boat, transfer[kec], 0.0)
    nodes = _Nodes(kec, lat, lon, ex_lat, ex_lon, water_km, rf_k[kec], sp_k[kec], leg_min, area)
    overrides: dict[int, dict[int, float]] = {}  # the matrix file's legs, by from and to node (_apply_matrix)
    legs = {mode: Legs(nodes, mode, overrides, kept) for mode in MODES}
    return legs, Legs(nodes, None, {}, kept)


def _apply_matrix(sc: LoadedScenario, legs: dict[str, Legs], index: dict[str, int]) -> None:
    """The matrix file's legs in place of the formula's, for every unit mode (its rows were checked
    by :func:`check_world`)."""
    assert sc.travel_matrix is not None
    df = sc.travel_matrix
    overrides = next(iter(legs.values())).overrides  # one mapping, shared by the modes
    for a, b, minutes in zip(df["from"], df["to"], df["minutes"].to_numpy(dtype=float), strict=True):
        overrides.setdefault(index[a], {})[index[b]] = float(minutes)


CHECK_ROWS = 256  # rows of legs checked at a time when the bound does not settle it


def _check_legs(sc: LoadedScenario, ids: list[str], legs: dict[str, Legs], km: Legs) -> None:
    """Refuse a leg longer than ``MAX_TRAVEL_MIN`` (a formula's: the matrix file's were bounded when
    read), or a distance too long to compute, naming the pair (the first in row order).

    Settled at once when an upper bound of every leg is within the limit (half the earth's
    circumference x the largest road factor at the lowest speed, plus the longest water legs at both
    ends); else checked row block by row block, never all at once."""
    d = km.nodes
    far_km = math.pi * EARTH_RADIUS_KM * float(d.rf.max()) if len(d.rf) else 0.0
    checks: list[tuple[Legs, float, str, float]] = []
    for mode, m in legs.items():
        bound = far_km / float(d.sp.min()) * 60.0 + 2 * float(d.leg_min[mode].max()) if len(d.sp) else 0.0
        checks.append((m, float(MAX_TRAVEL_MIN), mode, bound))
    checks.append((km, np.finfo(float).max, "", far_km + 2 * float(d.water_km.max()) if len(d.water_km) else 0.0))
    n = len(ids)
    for m, limit, mode, bound in checks:
        if bound <= limit:  # NaN fails the comparison: scanned
            continue
        for first in range(0, n, CHECK_ROWS):
            rows = np.arange(first, min(n, first + CHECK_ROWS))
            with np.errstate(over="ignore", invalid="ignore"):
                block = m.block(rows, np.arange(n))
            bad = ~(block <= limit) & ~m.apart(rows[:, None], np.arange(n)[None, :])  # across areas: never taken
            if not bad.any():
                continue
            r, j = np.unravel_index(int(np.argmax(bad)), block.shape)
            i, value = int(rows[r]), float(block[r, j])
            took = f"{value:,.0f} min by {mode}" if mode and np.isfinite(value) else "longer than can be computed"
            raise UserError(
                str(sc.path),
                "travel",
                f"the leg from '{ids[i]}' to '{ids[j]}' takes {took} (great-circle km x road_factor / speed_kmh, "
                f"plus water legs and transfers); a leg of at most {MAX_TRAVEL_MIN:,} min can be used: check "
                "travel.road_factor, travel.speed_kmh, travel.water_factor and travel.access",
            )
