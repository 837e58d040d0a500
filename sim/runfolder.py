"""The run folder: its life from the first batch to the manifest, and nothing half-written.

- ``job.json`` (written when the run starts) says what the run is: command, scenario digest,
  plans, seed, replications, batch size, sweep grid, and the SHA-256 of that description
  (``job_sha256``). ``--resume`` checks its shape, its checksum (an edited job.json is refused:
  its batches were made for the job it described before) and then each setting against the command.
- ``batches/<point>-<first replication>/`` holds each finished batch's tables (Parquet: exact
  values and dtypes, and quick) and ``sha256.json``, the batch's name and the SHA-256 of each table,
  all written to a temporary name and renamed, so a batch folder either is complete or does not
  exist. Before a resume reuses them, every batch is checked against its checksums: one whose files
  are missing or differ is named on stderr, dropped and recomputed; every batch read back is
  checked again. The final tables are always put together from them, so a resumed run ends byte for
  byte like an uninterrupted one.
- While a run or a resume writes the folder, its process holds an exclusive lock (``flock``) on
  ``.lock`` in it; another ``--resume`` of the folder, or a ``run --out`` into it, is refused with
  one line. The kernel drops the lock when the process ends, however it ends; forked workers do
  not keep it (a killed run's folder can be resumed at once: its batches are immutable once
  renamed, and a batch saved twice keeps the first copy).
- At the end the final tables are written (each to a temporary name, then renamed), then
  ``manifest.json`` with the SHA-256 of every file; only then are ``batches/``, ``job.json`` and
  ``.lock`` removed. A folder without ``manifest.json`` is not a finished run.

What an error leaves behind: an ``--out`` that cannot be written (under a file, read-only, disk
full) is refused with one line and whatever this run created is removed. An interruption (Ctrl-C,
a killed process, a crash) keeps the folder with its finished batches, to be resumed. A user error
(:class:`~sim.errors.UserError`, also one raised inside a batch) will recur on every resume, so a
folder the run created is removed entirely (:meth:`RunFolder.__exit__`): nothing half-written is
left to block the corrected command's ``--out``. A resumed folder is left as it was found (its
batches are the user's work; only verified batches are ever added to it). A damaged batch read
back during a run (:class:`DamagedBatch`) is not such an error: the folder stays, to be resumed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from sim.errors import UserError
from sim.experiment import TABLES, Batch
from sim.textsafe import neutralise, one_line_break

DECIMALS = 4  # of every number in a final table
JOB = "job.json"
MANIFEST = "manifest.json"
LOCK = ".lock"  # flock-ed while a process writes the folder
CHECKSUMS = "sha256.json"  # in each batch folder: its name and the SHA-256 of each table


def safe_name(text: str) -> str:
    """A file-system-safe folder name derived from scenario text."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "scenario"


REPORTS_DIR = Path("reports")  # default home of run folders, relative to the working directory
STAMP = "%Y%m%d-%H%M%S"  # the start time in a default folder's name
FOLDER_LAYOUTS = {  # kind -> a default folder's path under reports/<scenario>/
    "run": "{stamp}-seed{seed}",  # run, compare, sweep
    "exercise": "exercise/{stamp}-seed{seed}",
    "optimize": "optimize-{stamp}-seed{seed}",
}


def default_run_dir(root: Path, scenario_name: str, seed: int, now: dt.datetime, kind: str = "run") -> Path:
    """``root/<scenario>/<layout>``, with ``-2``, ``-3``, ... appended while that folder exists."""
    base = root / safe_name(scenario_name) / FOLDER_LAYOUTS[kind].format(stamp=f"{now:{STAMP}}", seed=seed)
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def default_dir_text(kind: str = "run") -> str:
    """How ``--help`` shows the default folder of ``kind``: the path :func:`default_run_dir` makes."""
    layout = FOLDER_LAYOUTS[kind].format(stamp="YYYYMMDD-HHMMSS", seed="SEED")
    return f"{REPORTS_DIR}/<scenario name>/{layout}/"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def csv_bytes(df: pd.DataFrame, header: bool = True) -> bytes:
    """A final table as CSV, written by pyarrow's columnar CSV writer (pandas' writer formats every
    number in Python: 22 of the 52 s of 3 plans x 1,000 Kutim replications).

    Numbers rounded to :data:`DECIMALS` decimals (0.0001 min is 6 ms) and written in their shortest
    form (``12.5``, not ``12.5000``); empty cells for unset values (NaN too); text quoted, never a
    formula (:func:`sim.textsafe.neutralise`), one row per line (:func:`sim.textsafe.one_line_break`);
    booleans ``true``/``false``. Column by column, so a table written in parts (:class:`Streamed`)
    is the same bytes as written whole.
    """
    table = pa.Table.from_pandas(neutralise(one_line_break(df)), preserve_index=False)
    sink = io.BytesIO()
    pa_csv.write_csv(
        pa.table([_cell_values(c) for c in table.columns], names=table.column_names),
        sink,
        write_options=pa_csv.WriteOptions(include_header=header),
    )
    return sink.getvalue()


def _cell_values(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as its cells are written: dictionaries as their values, floats rounded (NaN unset, -0 as 0)."""
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_floating(col.type):
        rounded = pc.add(pc.round(col, ndigits=DECIMALS), 0.0)  # + 0.0: a rounded -0.00001 is 0, not -0
        col = pc.if_else(pc.is_nan(rounded), pa.scalar(None, rounded.type), rounded)
    return col


def write_csv(df: pd.DataFrame, path: Path) -> None:
    _write_atomic(path, csv_bytes(df))


@dataclass(frozen=True)
class Streamed:
    """A final table written batch by batch from the saved batches (rows in batch order), so that
    the whole table is never in memory: ``incidents``, ``units`` and ``timeseries`` of a run."""

    table: str  # the batch table (incidents, units, timeseries)
    batches: tuple[Batch, ...]
    drop: tuple[str, ...] = ()  # columns left out (``point`` of a run without a grid)


def sha256(path: Path) -> str:
    """SHA-256 of a file, read a megabyte at a time (a final table of many replications is large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def job_digest(record: dict[str, Any]) -> str:
    """SHA-256 of a job record: everything ``job.json`` holds but the digest itself, keys sorted."""
    body = {k: v for k, v in record.items() if k != "job_sha256"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


class DamagedBatch(UserError):
    """A saved batch whose files are missing or differ from their checksums; the folder stays resumable."""


_HELD: set[int] = set()  # descriptors of the folder locks this process holds


def _forget_locks() -> None:
    # A forked worker gets copies of the run's lock descriptors; closing the copies leaves the lock
    # with the run's own process, so a killed run's folder is free as soon as that process is gone.
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_locks)


def _holder(lock: Path) -> str:
    """`` (pid N)`` of the process that wrote the lock file, if it says."""
    try:
        return f" (pid {int(lock.read_text(encoding='ascii').strip())})"
    except (OSError, ValueError):
        return ""


def _held(lock: Path) -> bool:
    """Whether some process holds the folder lock ``lock`` now (it is only probed, not kept)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _os_problem(exc: OSError) -> str:
    """What an OSError says about a place, in words (no errno, no traceback)."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "cannot write there (read-only or no permission); choose a folder you can write to"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the disk; free some or choose another folder"
    if exc.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder; choose a folder path"
    return f"cannot write there ({exc.strerror or exc}); choose another folder"


def _topmost_missing(path: Path) -> Path | None:
    """The highest folder of ``path`` that does not exist yet (what creating it makes), or None."""
    made = None
    for p in [path, *path.parents]:
        if p.exists() or p.is_symlink():
            break
        made = p
    return made


_KINDS = {dict: "an object", list: "a list", str: "a text", bool: "true/false", int: "a number", float: "a number"}


def _read_job(path: Path) -> dict[str, Any]:
    """The record of ``job.json`` in ``path``, its shape checked (a UserError naming the problem)."""

    def bad(problem: str) -> UserError:
        return UserError(
            "--resume", str(path), f"{JOB}: {problem}; it was damaged or edited: start a new run with --out"
        )

    try:
        text = (path / JOB).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise bad("is not UTF-8 text") from None
    except OSError as exc:
        raise UserError("--resume", str(path), f"{JOB}: cannot be read ({exc.strerror or exc})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(f"is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise bad("is not JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        kind = _KINDS.get(type(record), "null")
        raise bad(f"expected an object with 'job', 'started' and 'job_sha256', found {kind}")
    if not isinstance(record.get("job"), dict):
        raise bad("'job' is missing or not an object")
    if not isinstance(record.get("started"), str):
        raise bad("'started' is missing or not a text")
    if not isinstance(record.get("job_sha256", ""), str):
        raise bad("'job_sha256' is not a text")
    return record


class RunFolder:
    """A run folder being written (see the module docstring); a context manager for the run's life."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.batches = self.path / "batches"
        self.started = ""
        self._lock_fd: int | None = None
        self._lock_pid = 0  # the process that took the lock (a forked copy of this object does not hold it)
        self._created = False  # made by create(): a user error removes it
        self._made: Path | None = None  # the highest folder create() made (None: the folder existed, empty)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """A user error removes a folder this run created (it would recur); the lock goes either way."""
        if isinstance(exc, UserError) and not isinstance(exc, DamagedBatch) and self._created:
            self.discard()
        self.release()

    # --- starting and resuming ------------------------------------------------------------------

    @staticmethod
    def check_new(path: Path) -> None:
        """Refuse a folder that exists and is not empty, or one that cannot be created or written."""
        path = Path(path)
        try:
            if path.is_dir():
                if any(path.iterdir()):
                    if _held(path / LOCK):
                        raise UserError(
                            "--out",
                            str(path),
                            f"another process{_holder(path / LOCK)} is writing a run into this "
                            "folder; choose a new one",
                        )
                    raise UserError(
                        "--out", str(path), "exists and is not an empty folder; choose a new one, or --resume it"
                    )
                base = path
            elif path.exists() or path.is_symlink():
                raise UserError("--out", str(path), "exists and is not a folder; choose a new folder")
            else:
                base = next(p for p in path.parents if p.exists())
                if not base.is_dir():
                    raise UserError("--out", str(path), f"{base} is a file, not a folder; choose a folder path")
            if not os.access(base, os.W_OK | os.X_OK):
                raise UserError(
                    "--out",
                    str(path),
                    f"cannot write in {base} (read-only or no permission); choose a folder you can write to",
                )
        except OSError as exc:
            raise UserError("--out", str(path), _os_problem(exc)) from None

    @classmethod
    def create(cls, path: Path, job: dict[str, Any]) -> RunFolder:
        """A new run folder at ``path``, locked, with ``job.json``; any OSError is one UserError line."""
        path = Path(path)
        cls.check_new(path)
        rf = cls(path)
        rf._created, rf._made = True, _topmost_missing(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            rf._lock("--out")
        except OSError as exc:
            if rf._made is not None:
                shutil.rmtree(rf._made, ignore_errors=True)
            raise UserError("--out", str(path), _os_problem(exc)) from None
        try:
            if any(p.name != LOCK for p in path.iterdir()):  # written by another process since check_new
                raise UserError("--out", str(path), "exists and is not an empty folder; choose a new one")
            rf.batches.mkdir()
            record: dict[str, Any] = {
                "job": json.loads(json.dumps(job, default=str)),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            }
            record["job_sha256"] = job_digest(record)
            _write_atomic(path / JOB, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode())
        except OSError as exc:
            rf.discard()
            raise UserError("--out", str(path), _os_problem(exc)) from None
        except BaseException:
            rf.release()  # another writer's files are not ours to remove
            raise
        rf.started = record["started"]
        return rf

    @classmethod
    def resume(cls, path: Path, job: dict[str, Any]) -> RunFolder:
        """The unfinished run folder ``path``, locked, once ``job.json`` is intact and asks for ``job``."""
        path = Path(path)
        if (path / MANIFEST).exists():
            raise UserError("--resume", str(path), "this run is already complete (it has a manifest.json)")
        if not (path / JOB).exists():
            raise UserError("--resume", str(path), "not an unfinished run folder (no job.json)")
        rf = cls(path)
        try:
            rf._lock("--resume")
            if (path / MANIFEST).exists():  # finished by the process that held it a moment ago
                raise UserError("--resume", str(path), "this run is already complete (it has a manifest.json)")
            record = _read_job(path)
            _check_job(path, record, job)
            if rf.batches.exists() and not rf.batches.is_dir():
                raise UserError("--resume", str(path), "batches is not a folder: this is not a run folder")
            rf.batches.mkdir(exist_ok=True)
        except BaseException as exc:
            rf.release()
            if isinstance(exc, OSError):
                raise UserError("--resume", str(path), _os_problem(exc)) from None
            raise
        rf.started = record["started"]
        return rf

    def _lock(self, option: str) -> None:
        """Take the folder's lock for this process, or refuse (``option``: the command's option) if held."""
        lock = self.path / LOCK
        for _ in range(100):
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise UserError(
                    option,
                    str(self.path),
                    f"another process{_holder(lock)} is writing this run folder; wait for it to end, or stop it",
                ) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # its holder finished and removed it after we opened it: lock the new one
        else:  # pragma: no cover - a hundred writers finishing in turn
            raise UserError(option, str(self.path), "other processes keep writing this run folder; try again")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd, self._lock_pid = fd, os.getpid()
        _HELD.add(fd)

    def release(self) -> None:
        """Give up the folder's lock and remove ``.lock`` (nothing if this process does not hold it)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is None or self._lock_pid != os.getpid():
            return
        _HELD.discard(fd)
        # Removed while still held: whoever opened the old file sees it is gone once it gets the lock.
        with contextlib.suppress(OSError):
            (self.path / LOCK).unlink(missing_ok=True)
        os.close(fd)

    # --- batches -----------------------------------------------------------------------------------

    def done(self) -> set[str]:
        return {p.name for p in self.batches.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def save_batch(self, batch: Batch, tables: dict[str, pd.DataFrame]) -> None:
        """Save a finished batch with its checksums, all into a temporary folder renamed when complete."""
        tmp = self.batches / f".{batch.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        sums = {}
        for name, df in tables.items():
            data = df.to_parquet(index=False)  # exact values and dtypes, fast
            (tmp / f"{name}.parquet").write_bytes(data)
            sums[f"{name}.parquet"] = hashlib.sha256(data).hexdigest()
        (tmp / CHECKSUMS).write_text(json.dumps({"batch": batch.name, "sha256": sums}, indent=2) + "\n")
        dest = self.batches / batch.name
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
            # Saved meanwhile by another process (a killed run's worker): the same job, the same bytes.
            shutil.rmtree(tmp, ignore_errors=True)

    def _checksums(self, name: str, hint: str) -> dict[str, str]:
        path = self.batches / name / CHECKSUMS
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DamagedBatch(f"batch {name}", None, f"{CHECKSUMS} is missing; {hint}") from None
        except (OSError, ValueError, RecursionError):
            raise DamagedBatch(f"batch {name}", None, f"{CHECKSUMS} is not readable JSON; {hint}") from None
        sums = record.get("sha256") if isinstance(record, dict) else None
        if not isinstance(sums, dict):
            raise DamagedBatch(f"batch {name}", None, f"{CHECKSUMS} lists no checksums; {hint}")
        if record.get("batch") != name:  # a batch folder renamed or copied from elsewhere
            raise DamagedBatch(f"batch {name}", None, f"{CHECKSUMS} is that of batch {record.get('batch')!r}; {hint}")
        return sums

    def _read_table(self, name: str, table: str, sums: dict[str, str], hint: str) -> bytes:
        file = f"{table}.parquet"
        try:
            data = (self.batches / name / file).read_bytes()
        except FileNotFoundError:
            raise DamagedBatch(f"batch {name}", None, f"{file} is missing; {hint}") from None
        except OSError as exc:
            raise DamagedBatch(f"batch {name}", None, f"{file} cannot be read ({exc.strerror}); {hint}") from None
        if hashlib.sha256(data).hexdigest() != sums.get(file):
            raise DamagedBatch(f"batch {name}", None, f"{file} does not match its checksum; {hint}")
        return data

    def load_batch(
        self, batch: Batch, tables: list[str] | None = None, columns: dict[str, list[str]] | None = None
    ) -> dict[str, pd.DataFrame]:
        """A saved batch's tables, each checked against its checksum first (else :class:`DamagedBatch`);
        ``columns``: only these columns of a table (read column-wise)."""
        hint = f"finish the run with --resume {self.path} to recompute it"
        sums = self._checksums(batch.name, hint)
        cols = columns or {}
        return {
            name: pd.read_parquet(io.BytesIO(self._read_table(batch.name, name, sums, hint)), columns=cols.get(name))
            for name in tables or TABLES
        }

    def _write_streamed(self, name: str, s: Streamed) -> None:
        """One final table from the saved batches, a batch at a time, written atomically."""
        path = self.path / name
        tmp = path.with_name(f".{name}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as out:
                for k, batch in enumerate(s.batches):
                    df = self.load_batch(batch, [s.table])[s.table]
                    out.write(csv_bytes(df.drop(columns=list(s.drop)), header=k == 0))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def drop_damaged(self, names: list[str]) -> list[str]:
        """Remove those of the batches ``names`` that are saved but incomplete or differ from their
        checksums, so that they are computed again; one line for each, to tell the user."""
        present = set(os.listdir(self.batches))
        lines = []
        for name in names:
            if name not in present:
                continue
            folder = self.batches / name
            try:
                if not folder.is_dir():
                    raise DamagedBatch(f"batch {name}", None, "is not a folder; recomputing")
                sums = self._checksums(name, "recomputing")
                for table in TABLES:
                    self._read_table(name, table, sums, "recomputing")
            except DamagedBatch as err:
                aside = self.batches / f".{name}.damaged-{os.getpid()}"
                os.replace(folder, aside)
                if aside.is_dir() and not aside.is_symlink():
                    shutil.rmtree(aside, ignore_errors=True)
                else:
                    aside.unlink(missing_ok=True)
                lines.append(err.line())
        return lines

    # --- finishing -----------------------------------------------------------------------------

    def discard(self) -> None:
        """Remove what this run wrote (a job that cannot be finished: an exercise, a user error).

        The folder and any parents :meth:`create` made go; an empty folder given as ``--out`` is
        emptied, not removed.
        """
        self.release()
        if self._created and self._made is None:
            for p in self.path.iterdir():
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        else:
            shutil.rmtree(self._made or self.path, ignore_errors=True)

    def finish(self, tables: Mapping[str, pd.DataFrame | Streamed], manifest: dict[str, Any]) -> None:
        files = {}
        for name, df in tables.items():
            if isinstance(df, Streamed):
                self._write_streamed(name, df)
            else:
                write_csv(df, self.path / name)
            files[name] = sha256(self.path / name)
        manifest = {**manifest, "files": files}
        _write_atomic(
            self.path / MANIFEST, (json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n").encode()
        )
        shutil.rmtree(self.batches, ignore_errors=True)
        (self.path / JOB).unlink(missing_ok=True)
        self.release()


def _check_job(path: Path, record: dict[str, Any], job: dict[str, Any]) -> None:
    """Refuse a job.json edited since the run started, or one made by another command."""
    digest = record.get("job_sha256")
    if digest is not None and digest != job_digest(record):
        raise UserError(
            "--resume",
            str(path),
            f"{JOB}: its content no longer matches the checksum written when the run started (edited?); "
            "its batches were made for the job it described then: start a new run with --out",
        )
    saved = record["job"]
    for key in job:
        if saved.get(key) != json.loads(json.dumps(job[key], default=str)):
            raise UserError(
                "--resume",
                str(path),
                f"'{key}' differs from the run being resumed ({saved.get(key)!r}); "
                "repeat the original command with --resume",
            )
    if digest is None:
        raise UserError(
            "--resume",
            str(path),
            f"{JOB}: has no 'job_sha256' (written by an older version, or edited); start a new run with --out",
        )
