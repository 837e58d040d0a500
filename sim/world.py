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

What can be wrong with a world is refused before any matrix is allocated, by one function that
``validate``, :mod:`sim.study` and :func:`build_world` all call (:func:`check_world`): site ids
that collide, travel-matrix rows naming unknown sites or giving a pair twice, and matrices too
large to build (``MAX_WORLD_BYTES``). The one check that needs the matrices, a formula leg longer
than ``MAX_TRAVEL_MIN`` (or too long to compute), is made as soon as they are computed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.scenario import MAX_PRIORITY, MODES, TPS_CLASSES, TPS_FLAGS, LoadedScenario
from sim.scenario.schema import MAX_MINUTES

EARTH_RADIUS_KM = 6371.0088
MAX_TRAVEL_MIN = MAX_MINUTES  # longest usable leg [min]: the longest scenario window, as for a matrix file's legs
MAX_WORLD_BYTES = 8 * 2**30  # memory one world may take to build [bytes]: about 9,900 sites
WORLD_ARRAYS = 11  # [n_nodes, n_nodes] float arrays alive at once while the matrices are computed (measured 10.1)


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
    travel_min: dict[str, np.ndarray]  # per unit mode: [n_nodes, n_nodes] minutes, no noise
    road_km: np.ndarray  # [n_nodes, n_nodes] road/water distance actually travelled [km]
    setup_min: float
    noise_cv: float
    cache: dict[Any, Any] = field(default_factory=dict)  # derived data that depend on the world only

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def node_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.node_ids)}


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


def world_bytes(n_nodes: int) -> int:
    """Memory it takes to build the travel matrices of ``n_nodes`` sites [bytes]."""
    return WORLD_ARRAYS * n_nodes * n_nodes * 8


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
    need = world_bytes(len(ids))
    if need > MAX_WORLD_BYTES:
        most = int(np.sqrt(MAX_WORLD_BYTES / (WORLD_ARRAYS * 8)))
        raise UserError(
            tps_file,
            None,
            f"{len(sc.tps):,} TPS: with the PPK venues, the KPU office and the posts, the travel matrices of "
            f"{len(ids):,} sites would need about {_gib(need)} of memory; at most {_gib(MAX_WORLD_BYTES)} "
            f"(about {most:,} sites) can be built: run one kabupaten/kota at a time",
        )


def _gib(n_bytes: float) -> str:
    """Bytes as people read them: ``8 GiB``, ``2.5 GiB``, ``402 GiB``."""
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
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, not warned about
        matrices, km = _travel_matrices(sc, kecs, kec_arr, lat_a, lon_a)
    if sc.travel_matrix is not None:
        _apply_matrix(sc, matrices, {n: i for i, n in enumerate(ids)})
    _check_legs(sc, ids, matrices, km)

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
        travel_min=matrices,
        road_km=km,
        setup_min=spec.travel.setup_min,
        noise_cv=spec.travel.noise_cv,
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


def _travel_matrices(
    sc: LoadedScenario, kecs: list[str], kec: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
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

    # Every node leaves its kecamatan through an "exit": itself, or the gateway of a water kecamatan.
    is_water = np.asarray([water_mode[k] != "" for k in kec])
    ex_lat = np.where(is_water, gw_lat[kec], lat)
    ex_lon = np.where(is_water, gw_lon[kec], lon)
    water_km = np.where(is_water, great_circle_km(lat, lon, ex_lat, ex_lon) * tr.water_factor, 0.0)

    rf = np.maximum(rf_k[kec][:, None], rf_k[kec][None, :])
    sp = np.minimum(sp_k[kec][:, None], sp_k[kec][None, :])
    same = kec[:, None] == kec[None, :]
    direct_km = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) * rf
    exit_km = great_circle_km(ex_lat[:, None], ex_lon[:, None], ex_lat[None, :], ex_lon[None, :]) * rf
    road_min = np.where(same, direct_km, exit_km) / sp * 60.0
    km = np.where(same, direct_km, exit_km + water_km[:, None] + water_km[None, :])

    speeds: dict[str, float] = {str(k): v for k, v in tr.speed_kmh.items()}
    water_speed = np.asarray([speeds.get(water_mode[k] or "road", 20.0) for k in range(nk)])
    water_min = np.where(is_water, water_km / water_speed[kec] * 60.0, 0.0)
    matrices: dict[str, np.ndarray] = {}
    for mode in MODES:
        # A unit whose own mode is the kecamatan's water mode needs no transfer to a boat.
        needs_boat = is_water & np.asarray([water_mode[k] != mode for k in kec])
        leg_min = water_min + np.where(needs_boat, transfer[kec], 0.0)
        m = road_min + np.where(same, 0.0, leg_min[:, None] + leg_min[None, :])
        np.fill_diagonal(m, 0.0)
        matrices[mode] = m
    np.fill_diagonal(km, 0.0)
    return matrices, km


def _apply_matrix(sc: LoadedScenario, matrices: dict[str, np.ndarray], index: dict[str, int]) -> None:
    """The matrix file's legs in place of the formula's (its rows were checked by :func:`check_world`)."""
    assert sc.travel_matrix is not None
    df = sc.travel_matrix
    ia = np.asarray([index[a] for a in df["from"]], dtype=np.int64)
    ib = np.asarray([index[b] for b in df["to"]], dtype=np.int64)
    minutes = df["minutes"].to_numpy(dtype=float)
    for m in matrices.values():
        m[ia, ib] = minutes


def _check_legs(sc: LoadedScenario, ids: list[str], matrices: dict[str, np.ndarray], km: np.ndarray) -> None:
    """Refuse a leg longer than ``MAX_TRAVEL_MIN`` (a formula's: the matrix file's were bounded when
    read), or a distance too long to compute, naming the pair."""
    limits = [(m, float(MAX_TRAVEL_MIN), mode) for mode, m in matrices.items()] + [(km, np.finfo(float).max, "")]
    for m, limit, mode in limits:
        if m.max() <= limit:  # NaN fails the comparison: refused too
            continue
        i, j = np.unravel_index(int(np.argmax(~(m <= limit))), m.shape)
        took = f"{m[i, j]:,.0f} min by {mode}" if mode and np.isfinite(m[i, j]) else "longer than can be computed"
        raise UserError(
            str(sc.path),
            "travel",
            f"the leg from '{ids[i]}' to '{ids[j]}' takes {took} (great-circle km x road_factor / speed_kmh, plus "
            f"water legs and transfers); a leg of at most {MAX_TRAVEL_MIN:,} min can be used: check "
            "travel.road_factor, travel.speed_kmh, travel.water_factor and travel.access",
        )
