"""The run folder: its life from the first batch to the manifest, and nothing half-written.

- ``job.json`` (written when the run starts) says what the run is: command, scenario digest,
  plans, seed, replications, batch size, sweep grid. ``--resume`` checks it against the command.
- ``batches/<point>-<first replication>/`` holds each finished batch's tables (Parquet: exact
  values and dtypes, and quick), written to a temporary name and renamed, so a batch folder either
  is complete or does not exist. The final tables are always put together from them, so a resumed
  run ends byte for byte like an uninterrupted one.
- At the end the final tables are written (each to a temporary name, then renamed), then
  ``manifest.json`` with the SHA-256 of every file; only then are ``batches/`` and ``job.json``
  removed. A folder without ``manifest.json`` is not a finished run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import UserError
from sim.experiment import TABLES, Batch

FLOAT_FORMAT = "%.4f"
JOB = "job.json"
MANIFEST = "manifest.json"


def safe_name(text: str) -> str:
    """A file-system-safe folder name derived from scenario text."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "scenario"


def default_run_dir(root: Path, scenario_name: str, seed: int, now: dt.datetime) -> Path:
    base = root / safe_name(scenario_name) / f"{now:%Y%m%d-%H%M%S}-seed{seed}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


FORMULA_START = ("=", "+", "-", "@")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (=, +, -, @ first) get a leading quote.

    Such text can only come from the scenario (TPS ids, names, plan names): opening the CSV in Excel
    must show it, not evaluate it. Numbers are not touched.
    """
    out = df
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            text = df[col]
            try:
                risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
            except AttributeError:  # an object column that holds no text
                continue
            if risky.any():
                if out is df:
                    out = df.copy()
                out[col] = text.where(~risky, "'" + text.astype(str))
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """A final table: 4 decimals (0.0001 min is 6 ms), empty cells for unset values, no formulas."""
    data = neutralise(df).to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    _write_atomic(path, data.encode())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.batches = self.path / "batches"
        self.started = ""

    # --- starting and resuming ------------------------------------------------------------------

    @staticmethod
    def check_new(path: Path) -> None:
        """Refuse a folder that exists and is not empty (a finished or unfinished run in it)."""
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError("--out", str(path), "exists and is not an empty folder; choose a new one, or --resume it")

    @classmethod
    def create(cls, path: Path, job: dict[str, Any]) -> RunFolder:
        path = Path(path)
        cls.check_new(path)
        path.mkdir(parents=True, exist_ok=True)
        rf = cls(path)
        rf.batches.mkdir()
        record: dict[str, Any] = {"job": job, "started": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        _write_atomic(path / JOB, (json.dumps(record, indent=2, default=str, ensure_ascii=False) + "\n").encode())
        rf.started = record["started"]
        return rf

    @classmethod
    def resume(cls, path: Path, job: dict[str, Any]) -> RunFolder:
        path = Path(path)
        if (path / MANIFEST).exists():
            raise UserError("--resume", str(path), "this run is already complete (it has a manifest.json)")
        if not (path / JOB).exists():
            raise UserError("--resume", str(path), "not an unfinished run folder (no job.json)")
        record = json.loads((path / JOB).read_text(encoding="utf-8"))
        saved = record["job"]
        for key in job:
            if saved.get(key) != json.loads(json.dumps(job[key], default=str)):
                raise UserError(
                    "--resume",
                    str(path),
                    f"'{key}' differs from the run being resumed ({saved.get(key)!r}); "
                    "repeat the original command with --resume",
                )
        rf = cls(path)
        rf.batches.mkdir(exist_ok=True)
        rf.started = record["started"]
        return rf

    # --- batches -----------------------------------------------------------------------------------

    def done(self) -> set[str]:
        return {p.name for p in self.batches.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def save_batch(self, batch: Batch, tables: dict[str, pd.DataFrame]) -> None:
        tmp = self.batches / f".{batch.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        for name, df in tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)  # exact values and dtypes, fast
        os.replace(tmp, self.batches / batch.name)

    def load_batch(self, batch: Batch, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
        folder = self.batches / batch.name
        return {name: pd.read_parquet(folder / f"{name}.parquet") for name in tables or TABLES}

    # --- finishing -----------------------------------------------------------------------------

    def discard(self) -> None:
        """Remove the unfinished folder (a job that cannot be resumed, e.g. an exercise)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def finish(self, tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> None:
        files = {}
        for name, df in tables.items():
            write_csv(df, self.path / name)
            files[name] = sha256(self.path / name)
        manifest = {**manifest, "files": files}
        _write_atomic(
            self.path / MANIFEST, (json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n").encode()
        )
        shutil.rmtree(self.batches, ignore_errors=True)
        (self.path / JOB).unlink(missing_ok=True)
