"""Shared test helpers: edited copies of the hand-sized trace scenario, a local Dask cluster."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "scenarios" / "checks"
# The final tables of a run folder (run and sweep; compare adds comparison.csv).
RUN_TABLES = (
    "incidents.csv",
    "units.csv",
    "timeseries.csv",
    "kpis.csv",
    "summary.csv",
    "percentiles.csv",
    "sites.csv",
    "targets.csv",
)
TPS_HEADER = "tps_id,kecamatan,desa,lat,lon,voters,class,blank_spot,hard_to_reach,disaster_prone\n"


def trace_copy(
    folder: Path,
    change: Callable[[dict[str, Any]], None] | None = None,
    tps_rows: str | None = None,
    extra_tps: str = "",
    extra_matrix: str = "",
) -> Path:
    """Copy scenarios/checks/trace.yaml and its tables into ``folder``, edited; return the YAML path.

    ``change`` edits the parsed YAML; ``tps_rows`` replaces the TPS rows, ``extra_tps`` and
    ``extra_matrix`` append rows to the TPS table and the travel matrix.
    """
    for name in ("trace.yaml", "trace_tps.csv", "trace_matrix.csv"):
        shutil.copy(CHECKS / name, folder / name)
    tps = folder / "trace_tps.csv"
    tps.write_text((TPS_HEADER + tps_rows if tps_rows is not None else tps.read_text()) + extra_tps)
    matrix = folder / "trace_matrix.csv"
    matrix.write_text(matrix.read_text() + extra_matrix)
    if change is not None:
        data = yaml.safe_load((folder / "trace.yaml").read_text())
        change(data)
        (folder / "trace.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "trace.yaml"


def assert_refused(
    main: Callable[[list[str]], int], scenario: Path, folder: Path, extra: list[str], fragment: str, capsys: Any
) -> None:
    """``run`` on a broken input: exit 2, one line naming the problem, no traceback, nothing written."""
    out = folder / "run"
    code = main(["run", str(scenario), "--reps", "1", "--out", str(out), "--no-report", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err
    assert not out.exists()
    assert not any(p.name.startswith(".run") for p in folder.iterdir())


def set_in(*keys: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    """A ``change`` for :func:`trace_copy` that sets one key of the parsed YAML."""

    def change(data: dict[str, Any]) -> None:
        node = data
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return change


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")  # .ci/run installs Debian's


def chromium_command(profile: Path, width: int, height: int, *args: str) -> list[str]:
    """Headless Chromium, offline and quiet, with its own profile folder and a window of that size."""
    assert CHROMIUM is not None
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        *args,
    ]


@pytest.fixture(scope="module")
def dask_cluster():
    """The address of a 2-worker Dask cluster on 127.0.0.1, started for the test module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    yield cluster.scheduler_address
    cluster.close()
