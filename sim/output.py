"""Writing a run folder: tables as CSV and a manifest, all or nothing.

Everything is written into a temporary sibling folder that is renamed into place at the end, so a
crash never leaves a folder that looks complete. The manifest records how the run was made and
the SHA-256 of every file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
import simpy

from sim.experiment import Results, summarise
from sim.scenario import LoadedScenario

FLOAT_FORMAT = "%.4f"


def safe_name(text: str) -> str:
    """A file-system-safe folder name derived from scenario text."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "scenario"


def default_run_dir(root: Path, sc: LoadedScenario, seed: int, now: dt.datetime) -> Path:
    base = root / safe_name(sc.name) / f"{now:%Y%m%d-%H%M%S}-seed{seed}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_run(
    out: Path,
    sc: LoadedScenario,
    res: Results,
    started: dt.datetime,
    finished: dt.datetime,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the run folder ``out`` (which must not exist yet) and return it."""
    from sim import __version__

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        tables = {
            "incidents.csv": res.incidents,
            "units.csv": res.units,
            "timeseries.csv": res.timeseries,
            "kpis.csv": res.kpis,
            "summary.csv": summarise(res.kpis, res.plans),
        }
        for name, df in tables.items():
            _csv(df, tmp / name)
        files = {name: hashlib.sha256((tmp / name).read_bytes()).hexdigest() for name in tables}
        manifest = {
            "scenario": {
                "name": sc.name,
                "title": sc.spec.title,
                "path": str(sc.path),
                "sha256": sc.digest(),
                "overrides": sc.overrides,
                "resolved": sc.raw,
            },
            "seed": res.seed,
            "replications": res.replications,
            "plans": res.plans,
            "versions": {
                "sim": __version__,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "pandas": pd.__version__,
                "simpy": simpy.__version__,
                "scipy": scipy.__version__,
            },
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "time_unit": "minutes from the scenario epoch",
            "epoch": sc.epoch.isoformat(),
            "timezone": sc.spec.timezone,
            "files": files,
            **(extra or {}),
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
