"""Hardening, errors (issue 14, class 1 and the 70,000-TPS world of class 7).

- A :class:`UserError` is a plain value: it pickles as its three texts, so one raised in a worker
  process or on a Dask worker reaches the command line as the same one line, exit 2, nothing left.
- Whatever about sites and travel can be checked before running is checked by ``validate``, by
  ``run`` / ``sweep`` / ``exercise`` and by the Python API alike (:func:`sim.world.check_world`):
  site ids that collide, travel-matrix rows naming unknown sites or a pair twice, legs too long to
  use, and a world whose matrices would not fit in memory.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_refused, trace_copy

import sim.cli
import sim.world
from sim.cli import main
from sim.errors import UserError
from sim.scenario import load_scenario
from sim.study import Study, prepare, prepare_exercise
from sim.world import MAX_TRAVEL_MIN, build_world, check_world, world_bytes

ROW = "{id},Kec,Desa,0.0,{lon},100,kurang_rawan,0,0,0\n"
A = ROW.format(id="A", lon=117.1)


def one_line(capsys: Any) -> tuple[str, str]:
    got = capsys.readouterr()
    assert got.err.count("\n") == 1 and "Traceback" not in got.err, got.err
    return got.out, got.err


# --- errors are values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "err",
    [
        UserError("scenarios/x/tps.csv", "row 3 column tps_id", "'KPU' is also the id of the KPU office"),
        UserError("--workers", None, "give at least 1"),
        UserError("x.yaml", "sites.posts.0.id", "line one\nline two\x1b[2J\x00"),
    ],
)
def test_a_user_error_pickles_as_itself_and_prints_as_one_line(err: UserError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is UserError
    assert (back.where, back.key, back.problem) == (err.where, err.key, err.problem)
    assert back.line() == err.line() == str(back)
    # One printable line whatever the input held: newlines fold, a terminal escape is written out.
    assert "\n" not in err.line() and err.line().isprintable()


def _collide_in_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """After every check of the parent has passed, make TPS 'B' the KPU office's id: only the
    worker that builds the world finds it, and must send the UserError back intact."""
    real = sim.cli.prepare

    def prepare_then_break(*args: Any, **kwargs: Any) -> Study:
        study = real(*args, **kwargs)
        for sc in study.scenarios:
            sc.tps.loc[sc.tps["tps_id"] == "B", "tps_id"] = "KPU"
        return study

    monkeypatch.setattr(sim.cli, "prepare", prepare_then_break)


def _refused_from_a_worker(folder: Path, backend: list[str], capsys: Any) -> None:
    out = folder / "run"
    code = main(
        ["run", str(trace_copy(folder)), "--reps", "4", "--batch", "1", "--out", str(out), "--no-report", *backend]
    )
    _, err = one_line(capsys)
    assert code == 2, err
    assert err == (
        f"{folder / 'trace_tps.csv'}: row 3 column tps_id: 'KPU' is also the id of the KPU office; TPS ids must be "
        "unique and differ from post ids, 'PPK <kecamatan>' and 'KPU'\n"
    )
    # Nothing half-written: no batches/, no job.json for a run that cannot be resumed.
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))


def test_a_user_error_in_a_worker_process_reaches_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _collide_in_the_worker(monkeypatch)
    _refused_from_a_worker(tmp_path, ["--workers", "2"], capsys)


def test_a_user_error_on_a_dask_worker_reaches_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        _collide_in_the_worker(monkeypatch)
        _refused_from_a_worker(tmp_path, ["--dask", cluster.scheduler_address], capsys)
    finally:
        cluster.close()


# --- what validate, run and the API refuse before running ----------------------------------------


def tps_rows(rows: str) -> Callable[[Path], Path]:
    return lambda folder: trace_copy(folder, tps_rows=rows)


def matrix_rows(rows: str) -> Callable[[Path], Path]:
    return lambda folder: trace_copy(folder, extra_matrix=rows)


def empty_matrix(folder: Path) -> Path:
    path = trace_copy(folder)
    (folder / "trace_matrix.csv").write_text("from,to,minutes\n")
    return path


def slow_and_far(folder: Path) -> Path:
    """TPS B on the other side of the earth, at 1 km/h on roads 10 times the straight line."""

    def change(data: dict[str, Any]) -> None:
        data["travel"].update(road_factor=10, speed_kmh={"road": 1})

    return trace_copy(folder, change, tps_rows=A + ROW.format(id="B", lon=-60.0))


def post_named_kpu(folder: Path) -> Path:
    def change(data: dict[str, Any]) -> None:
        data["sites"]["posts"][0]["id"] = "KPU"
        data["plans"]["one"]["patrols"][0]["post"] = "KPU"

    return trace_copy(folder, change)


COLLIDE = (
    "'{id}' is also the id of {what}; TPS ids must be unique and differ from post ids, 'PPK <kecamatan>' and 'KPU'"
)

# (label, how to break a copy of scenarios/checks/trace.yaml, file the line names, the rest of the line)
CASES: list[tuple[str, Callable[[Path], Path], str, str]] = [
    (
        "a TPS named KPU",
        tps_rows(A + ROW.format(id="KPU", lon=117.2)),
        "trace_tps.csv",
        "row 3 column tps_id: " + COLLIDE.format(id="KPU", what="the KPU office"),
    ),
    (
        "a TPS named as the post",
        tps_rows(ROW.format(id="P", lon=117.2) + A),
        "trace_tps.csv",
        "row 2 column tps_id: " + COLLIDE.format(id="P", what="post 0 in sites.posts"),
    ),
    (
        "a TPS named as a PPK venue",
        tps_rows(A + ROW.format(id="PPK Kec", lon=117.2)),
        "trace_tps.csv",
        "row 3 column tps_id: " + COLLIDE.format(id="PPK Kec", what="the PPK venue of that kecamatan"),
    ),
    (
        "a post named KPU",
        post_named_kpu,
        "trace.yaml",
        "sites.posts.0.id: 'KPU' is the id of the KPU office; give the post another id",
    ),
    (
        "a matrix row to an unknown site",
        matrix_rows("A,Q,5\n"),
        "trace_matrix.csv",
        "row 8 column to: unknown site or post id 'Q'; valid: TPS ids, post ids, 'PPK <kecamatan>', 'KPU'",
    ),
    (
        "a matrix row from nowhere",
        matrix_rows(",P,5\n"),
        "trace_matrix.csv",
        "row 8 column from: empty; a site id is needed",
    ),
    (
        "a matrix pair given twice",
        matrix_rows("B,A,12\n"),
        "trace_matrix.csv",
        "row 8: the leg 'B' to 'A' is given again (first in row 7); give it once",
    ),
    (
        "a formula leg of 22 years",
        slow_and_far,
        "trace.yaml",
        "travel: the leg from 'B' to 'PPK Kec' takes 11,808,918 min by road (great-circle km x road_factor / "
        "speed_kmh, plus water legs and transfers); a leg of at most 576,000 min can be used: check "
        "travel.road_factor, travel.speed_kmh, travel.water_factor and travel.access",
    ),
]


@pytest.mark.parametrize("label,make,file,rest", CASES, ids=[c[0] for c in CASES])
def test_validate_refuses_what_a_run_would(
    label: str, make: Callable[[Path], Path], file: str, rest: str, tmp_path: Path, capsys: Any
) -> None:
    scenario = make(tmp_path)
    line = f"{tmp_path / file}: {rest}"
    assert main(["validate", str(scenario)]) == 2
    out, err = one_line(capsys)
    assert out == "" and err.startswith(line), err  # nothing said to be valid first
    assert_refused(main, scenario, tmp_path, ["--workers", "1"], line, capsys)
    # The Python API refuses with the same line, before any world is built or anything runs.
    sc = load_scenario(scenario)
    with pytest.raises(UserError) as info:
        prepare(sc, replications=1)
    assert info.value.line().startswith(line)
    with pytest.raises(UserError) as info:
        prepare_exercise(sc, tmp_path / "no-events.csv")
    assert info.value.line().startswith(line)


def test_a_sweep_names_the_point_whose_world_is_refused(tmp_path: Path, capsys: Any) -> None:
    scenario = trace_copy(tmp_path)
    (tmp_path / "bad_matrix.csv").write_text((tmp_path / "trace_matrix.csv").read_text() + "A,Q,5\n")
    out = tmp_path / "run"
    vary = "travel.matrix_file=trace_matrix.csv,bad_matrix.csv"
    code = main(["sweep", str(scenario), "--vary", vary, "--reps", "1", "--out", str(out), "--no-report"])
    _, err = one_line(capsys)
    assert code == 2
    assert (
        err == "--vary: travel.matrix_file=bad_matrix.csv: row 8 column to: unknown site or post id 'Q'; valid: "
        "TPS ids, post ids, 'PPK <kecamatan>', 'KPU'\n"
    )
    assert not out.exists()


def test_an_empty_travel_matrix_runs_on_the_formula(tmp_path: Path, capsys: Any) -> None:
    scenario = empty_matrix(tmp_path)
    assert main(["validate", str(scenario)]) == 0
    assert main(["run", str(scenario), "--reps", "1", "--out", str(tmp_path / "run"), "--no-report", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "run" / "manifest.json").exists()


# --- a world too large for memory ----------------------------------------------------------------


def test_a_world_too_large_for_memory_is_refused_before_anything_is_allocated(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(ROW.format(id=f"T{i}", lon=117.0 + i * 1e-5) for i in range(70_000))
    scenario = trace_copy(tmp_path, tps_rows=rows)
    (tmp_path / "trace_matrix.csv").write_text("from,to,minutes\n")  # the trace matrix names A and B
    # One post's legs to 70,003 sites are 4.3 MiB: a limit of 2 MiB stands for the 8 GiB that
    # thousands of posts to hundreds of thousands of sites would pass.
    monkeypatch.setattr(sim.world, "MAX_WORLD_BYTES", 2 * 2**20)
    assert world_bytes(70_003, 1) == 8 * 70_003 * 8  # rows and columns of 3 modes and km: 4.27 MiB
    line = (
        f"{tmp_path / 'trace_tps.csv'}: 70,000 TPS: with the PPK venues, the KPU office and the posts, the travel "
        "legs of 1 post to 70,003 sites would need about 4.3 MiB of memory; at most 2 MiB (about 32,768 "
        "sites from 1 post) can be kept: give regions: (each kabupaten/kota with its Polres, run one after the "
        "other), or run one kabupaten/kota at a time\n"
    )
    assert main(["validate", str(scenario)]) == 2
    assert one_line(capsys) == ("", line)
    assert_refused(main, scenario, tmp_path, [], line.strip(), capsys)
    assert_refused(main, scenario, tmp_path, ["--force"], line.strip(), capsys)  # --force is for incident counts


def test_the_memory_limit_is_where_it_says(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sc = load_scenario(trace_copy(tmp_path))
    need = world_bytes(2 + 1 + 1 + 1, 1)  # A, B, the PPK venue, the KPU office, post P
    monkeypatch.setattr(sim.world, "MAX_WORLD_BYTES", need)
    assert build_world(sc).n_nodes == 5
    monkeypatch.setattr(sim.world, "MAX_WORLD_BYTES", need - 1)
    with pytest.raises(
        UserError, match=r"5 sites would need about under 0.1 MiB of memory; at most under 0.1 MiB \(about 4 sites from"
    ):
        check_world(sc)


def test_one_leg_just_within_the_limit_is_used(tmp_path: Path) -> None:
    sc = load_scenario(trace_copy(tmp_path, extra_matrix=f"A,PPK Kec,{MAX_TRAVEL_MIN}\n"))
    world = build_world(sc)
    assert world.travel_min["road"][0, 2] == MAX_TRAVEL_MIN
