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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.scenario import MAX_PRIORITY, MODES, TPS_CLASSES, TPS_FLAGS, LoadedScenario

EARTH_RADIUS_KM = 6371.0088


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


def build_world(sc: LoadedScenario) -> World:
    """Resolve sites and compute the travel matrices for every unit mode."""
    spec = sc.spec
    tps = sc.tps
    kecs = [v.kecamatan for v in spec.sites.ppk]
    kidx = {k: i for i, k in enumerate(kecs)}

    ids = list(tps["tps_id"])
    kinds = ["tps"] * len(tps)
    node_kec = list(tps["kecamatan"].map(kidx))
    lat = list(tps["lat"])
    lon = list(tps["lon"])
    for v in spec.sites.ppk:
        ids.append(ppk_id(v.kecamatan))
        kinds.append("ppk")
        node_kec.append(kidx[v.kecamatan])
        lat.append(v.position[0])
        lon.append(v.position[1])
    ids.append(KPU_ID)
    kinds.append("kpu")
    node_kec.append(kidx[spec.sites.kpu.kecamatan])
    lat.append(spec.sites.kpu.position[0])
    lon.append(spec.sites.kpu.position[1])
    post_node: dict[str, int] = {}
    for p in spec.sites.posts:
        post_node[p.id] = len(ids)
        ids.append(p.id)
        kinds.append("post")
        node_kec.append(kidx[p.kecamatan])
        lat.append(p.position[0])
        lon.append(p.position[1])
    dup = pd.Series(ids)[pd.Series(ids).duplicated()]
    if len(dup):
        raise UserError(
            str(sc.path),
            "sites",
            f"site id '{dup.iloc[0]}' is used twice (TPS ids, post ids, 'PPK <kecamatan>' and 'KPU' must differ)",
        )

    n_tps = len(tps)
    kec_arr = np.asarray(node_kec, dtype=np.int64)
    lat_a = np.asarray(lat, dtype=float)
    lon_a = np.asarray(lon, dtype=float)
    matrices, km = _travel_matrices(sc, kecs, kec_arr, lat_a, lon_a)
    if sc.travel_matrix is not None:
        _apply_matrix(sc, matrices, {n: i for i, n in enumerate(ids)})

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
    assert sc.travel_matrix is not None
    df = sc.travel_matrix
    where = f"{sc.path.parent / (sc.spec.travel.matrix_file or '')}"
    for row, (a, b) in enumerate(zip(df["from"], df["to"], strict=True)):
        for col, name in (("from", a), ("to", b)):
            if name not in index:
                raise UserError(where, f"row {row + 2} column {col}", f"unknown site or post id '{name}'")
    ia = np.asarray([index[a] for a in df["from"]])
    ib = np.asarray([index[b] for b in df["to"]])
    minutes = df["minutes"].to_numpy(dtype=float)
    for m in matrices.values():
        m[ia, ib] = minutes
