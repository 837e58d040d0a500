"""How a folder was made: the one provenance record that every run folder's ``manifest.json`` holds.

``run``, ``compare``, ``sweep`` and ``exercise`` folders (and later ``optimize``) all write their
manifest through :func:`provenance`, so a report, a reviewer or a rerun finds the same keys in each:

- ``command``, ``argv``: the subcommand and the arguments as typed (empty from the Python API).
- ``scenario``: ``name``, ``title``, ``path``, ``sha256`` (of the resolved content: YAML after
  ``--set`` plus its tables), ``overrides`` (the ``--set`` items) and ``resolved`` (the resolved
  YAML itself; reports rebuild the scenario from it and never read the file again).
- ``grid``: one ``{point, values, sha256}`` per sweep point, or None when nothing was varied.
- ``seed``, ``replications``, ``plans``: what was run.
- ``backend``: ``{kind, workers, address}`` of where batches ran, or None (in this process).
- ``versions``: sim, python, numpy, pandas, simpy, scipy (and distributed on Dask).
- ``started``, ``finished``: ISO 8601 local times with offset; ``epoch``, ``timezone``,
  ``time_unit``: how to read the model times in the tables.
- then the command's own keys (``extra``): e.g. ``baseline``, ``precision``, ``batch_size`` for
  experiments; the events file and its hash, plan and options for an exercise.

The SHA-256 of every file is added as ``files`` when the folder is finished
(:meth:`sim.runfolder.RunFolder.finish`).
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.backends import Backend
from sim.experiment import Point
from sim.scenario import LoadedScenario
from sim.version import __version__

TIME_UNIT = "minutes from the scenario epoch"


def versions(backend: Backend | None = None) -> dict[str, str]:
    """Versions of this package, Python and the libraries results depend on."""
    import scipy
    import simpy

    out = {
        "sim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "simpy": simpy.__version__,
        "scipy": scipy.__version__,
    }
    if backend is not None and backend.name == "dask":
        import distributed

        out["distributed"] = distributed.__version__
    return out


def now() -> str:
    """The local time with its offset, to the second: how ``started`` and ``finished`` are written."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def provenance(
    scenario: LoadedScenario,
    command: str,
    *,
    seed: int,
    replications: int,
    plans: Sequence[str],
    started: str,
    argv: Sequence[str] | None = None,
    grid: Sequence[tuple[Point, LoadedScenario]] | None = None,
    backend: Backend | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of a folder made by ``command`` from ``scenario`` (finished now).

    ``grid`` pairs each sweep point with its resolved scenario (None without ``--vary``);
    ``started`` is the time the folder was created (:attr:`RunFolder.started`); ``extra`` holds
    the command's own keys and may not replace a common one.
    """
    record: dict[str, Any] = {
        "command": command,
        "argv": list(argv or []),
        "scenario": {
            "name": scenario.name,
            "title": scenario.spec.title,
            "path": str(scenario.path),
            "sha256": scenario.digest(),
            "overrides": list(scenario.overrides),
            "resolved": scenario.raw,
        },
        "grid": [{"point": pt.index, "values": dict(pt.values), "sha256": sc.digest()} for pt, sc in grid]
        if grid and grid[0][0].values
        else None,
        "seed": seed,
        "replications": replications,
        "plans": list(plans),
        "backend": None
        if backend is None
        else {"kind": backend.name, "workers": backend.workers, "address": getattr(backend, "address", None)},
        "versions": versions(backend),
        "started": started,
        "finished": now(),
        "epoch": scenario.epoch.isoformat(),
        "timezone": scenario.spec.timezone,
        "time_unit": TIME_UNIT,
    }
    clash = sorted(set(extra or {}) & {*record, "files"})
    if clash:
        raise ValueError(f"extra keys {clash} would replace keys of the provenance record")
    return {**record, **(extra or {})}
