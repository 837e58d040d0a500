"""Issue 14, class 4 and the ``--out`` failures of class 7: resume verifies what it reuses.

Each test builds the fault itself and checks what a user sees: a refusal is exit 2, exactly one
line on stderr, no traceback and the folder as it was; a damaged batch is named on stderr (one line
each), dropped and recomputed, and the final tables equal an uninterrupted run's byte for byte.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import sim.backends
from sim.cli import main
from sim.errors import UserError
from sim.runfolder import RunFolder

ROOT = Path(__file__).resolve().parent.parent
HOAX = str(ROOT / "scenarios/teaching-hoax.yaml")
ARGS = ["run", HOAX, "--reps", "8", "--batch", "2", "--workers", "1", "--quiet", "--no-report"]
TABLES = ["incidents.csv", "units.csv", "timeseries.csv", "kpis.csv", "summary.csv", "percentiles.csv"]
TABLES += ["sites.csv", "targets.csv"]


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes): to check that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], fragment: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err
    return err


def same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An uninterrupted run, and the same run interrupted after two of its four batches."""
    base = tmp_path_factory.mktemp("runs")
    full, part = base / "full", base / "part"
    assert main([*ARGS, "--out", str(full)]) == 0
    real = sim.backends.run_batch

    def interrupt(job, batch):
        if batch.first >= 4:
            raise KeyboardInterrupt
        return real(job, batch)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sim.backends, "run_batch", interrupt)
        assert main([*ARGS, "--out", str(part)]) == 130
    assert sorted(RunFolder(part).done()) == ["p000-r000000", "p000-r000002"]
    assert not (part / ".lock").exists()  # the lock goes with the run
    return full, part


@pytest.fixture
def part(runs: tuple[Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of the interrupted run."""
    return Path(shutil.copytree(runs[1], tmp_path / "part"))


# --- job.json --------------------------------------------------------------------------------


def _edit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(job: Path) -> None:
        record = json.loads(job.read_text())
        change(record)
        job.write_text(json.dumps(record, indent=2))

    return edit


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda job: job.write_bytes(data)


JOB_FAULTS: dict[str, tuple[Callable[[Path], None], list[str], str]] = {
    # name: (what is done to job.json, extra options of the resume, what the line says)
    "not JSON": (_write(b"not json\n"), [], "job.json: is not JSON (Expecting value at line 1 column 1)"),
    "empty": (_write(b""), [], "job.json: is not JSON"),
    "cut short": (lambda j: j.write_bytes(j.read_bytes()[:100]), [], "job.json: is not JSON"),
    "not UTF-8": (_write(b'{"job": "\xff\xfe"}'), [], "job.json: is not UTF-8 text"),
    "nested too deeply": (_write(b"[" * 100_000 + b"]" * 100_000), [], "job.json: is not JSON (nested too deeply)"),
    "a list": (
        _write(b"[1, 2]"),
        [],
        "job.json: expected an object with 'job', 'started' and 'job_sha256', found a list",
    ),
    "null": (_write(b"null"), [], "found null"),
    "no job": (_edit(lambda r: r.pop("job")), [], "job.json: 'job' is missing or not an object"),
    "job a list": (_edit(lambda r: r.update(job=[1])), [], "job.json: 'job' is missing or not an object"),
    "no started": (_edit(lambda r: r.pop("started")), [], "job.json: 'started' is missing or not a text"),
    "checksum a number": (_edit(lambda r: r.update(job_sha256=1)), [], "job.json: 'job_sha256' is not a text"),
    "no checksum": (_edit(lambda r: r.pop("job_sha256")), [], "job.json: has no 'job_sha256'"),
    # The evidence: the seed edited, then resumed with that seed, reused the old seed's batches.
    "seed edited": (
        _edit(lambda r: r["job"].update(seed=5)),
        ["--seed", "5"],
        "job.json: its content no longer matches",
    ),
    "seed edited, old seed asked": (_edit(lambda r: r["job"].update(seed=5)), [], "its content no longer matches"),
    "seed differs, no checksum": (
        _edit(lambda r: (r.pop("job_sha256"), r["job"].update(seed=5))),
        [],
        "'seed' differs",
    ),
    "a key added": (_edit(lambda r: r["job"].update(note="x")), [], "job.json: its content no longer matches"),
    "started edited": (_edit(lambda r: r.update(started="2020")), [], "job.json: its content no longer matches"),
    "a folder": (lambda j: (j.unlink(), j.mkdir()), [], "job.json: cannot be read"),
}


@pytest.mark.parametrize("fault", JOB_FAULTS)
def test_resume_refuses_a_job_json_that_is_damaged_or_edited(part, fault, capsys):
    damage, extra, fragment = JOB_FAULTS[fault]
    damage(part / "job.json")
    before = files(part)
    err = refused([*ARGS, *extra, "--resume", str(part)], capsys, fragment)
    assert err.startswith(f"--resume: {part}: "), err
    assert files(part) == before and sorted(p.name for p in part.iterdir()) == ["batches", "job.json"]


# --- batches ---------------------------------------------------------------------------------

B2 = "p000-r000002"


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _copy_batch(batches: Path) -> None:
    shutil.rmtree(batches / B2)
    shutil.copytree(batches / "p000-r000000", batches / B2)  # checksums fine, replications wrong


def _to_file(batches: Path) -> None:
    shutil.rmtree(batches / B2)
    (batches / B2).write_text("x")


BATCH_FAULTS: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    # name: (what is done to batches/, the lines on stderr)
    "a byte changed": (
        lambda b: _flip(b / B2 / "units.parquet"),
        [f"batch {B2}: units.parquet does not match its checksum"],
    ),
    "emptied": (
        lambda b: (b / B2 / "kpis.parquet").write_bytes(b""),
        [f"batch {B2}: kpis.parquet does not match its checksum"],
    ),
    "a table missing": (lambda b: (b / B2 / "units.parquet").unlink(), [f"batch {B2}: units.parquet is missing"]),
    "checksums missing": (lambda b: (b / B2 / "sha256.json").unlink(), [f"batch {B2}: sha256.json is missing"]),
    "checksums not JSON": (
        lambda b: (b / B2 / "sha256.json").write_text("{"),
        [f"batch {B2}: sha256.json is not readable JSON"],
    ),
    "checksums a list": (
        lambda b: (b / B2 / "sha256.json").write_text("[]"),
        [f"batch {B2}: sha256.json lists no checksums"],
    ),
    "another batch's copy": (_copy_batch, [f"batch {B2}: sha256.json is that of batch 'p000-r000000'"]),
    "a file, not a folder": (_to_file, [f"batch {B2}: is not a folder"]),
    "two batches": (
        lambda b: ((b / "p000-r000000" / "timeseries.parquet").unlink(), _flip(b / B2 / "incidents.parquet")),
        [
            "batch p000-r000000: timeseries.parquet is missing",
            f"batch {B2}: incidents.parquet does not match its checksum",
        ],
    ),
}


@pytest.mark.parametrize("fault", BATCH_FAULTS)
def test_resume_names_drops_and_recomputes_a_damaged_batch(runs, part, fault, capsys):
    damage, lines = BATCH_FAULTS[fault]
    damage(part / "batches")
    assert main([*ARGS, "--resume", str(part)]) == 0
    assert capsys.readouterr().err == "".join(f"{line}; recomputing\n" for line in lines)
    same_tables(runs[0], part)
    assert not (part / "batches").exists() and not (part / "job.json").exists() and not (part / ".lock").exists()


def test_a_batch_damaged_during_the_run_stops_it_resumable(runs, tmp_path, monkeypatch, capsys):
    """Damaged after it was saved, before the tables are put together: one line, the folder kept."""
    out = tmp_path / "r"
    real = sim.backends.batch_task

    def damaging(job, batch, folder):
        kpis = real(job, batch, folder)
        if batch.first == 2:
            _flip(out / "batches" / batch.name / "units.parquet")
        return kpis

    monkeypatch.setattr(sim.backends, "batch_task", damaging)
    refused([*ARGS, "--out", str(out)], capsys, f"batch {B2}: units.parquet does not match its checksum; finish the")
    assert (out / "job.json").exists() and not (out / "manifest.json").exists()
    monkeypatch.undo()
    assert main([*ARGS, "--resume", str(out)]) == 0
    assert capsys.readouterr().err == f"batch {B2}: units.parquet does not match its checksum; recomputing\n"
    same_tables(runs[0], out)


# --- the lock --------------------------------------------------------------------------------


def _job(folder: Path) -> dict:
    return json.loads((folder / "job.json").read_text())["job"]


def test_a_folder_another_process_writes_is_refused(runs, part, tmp_path, capsys):
    holder = RunFolder.resume(part, _job(part))  # a second handle on the file: flock sees two holders
    try:
        before = files(part)
        refused(
            [*ARGS, "--resume", str(part)], capsys, f"another process (pid {os.getpid()}) is writing this run folder"
        )
        refused([*ARGS, "--out", str(part)], capsys, f"another process (pid {os.getpid()}) is writing a run into")
        assert files(part) == before
    finally:
        holder.release()
    new = tmp_path / "new"
    creator = RunFolder.create(new, {"command": "run"})
    try:
        refused([*ARGS, "--out", str(new)], capsys, "is writing a run into this folder")
    finally:
        creator.release()
    assert main([*ARGS, "--resume", str(part)]) == 0
    same_tables(runs[0], part)


HOLD = """
import os, sys, time
from pathlib import Path
from sim.runfolder import RunFolder
import json
folder = Path(sys.argv[1])
rf = RunFolder.resume(folder, json.loads((folder / "job.json").read_text())["job"])
if sys.argv[2] == "fork":  # a worker forked while the lock is held outlives its parent
    child = os.fork()
    if child == 0:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)  # let the test read its parent's output to the end
        os.dup2(null, 2)
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    os._exit(0)  # like a SIGKILL: nothing released by hand
print(os.getpid(), flush=True)
time.sleep(60)
"""


def test_a_second_resume_from_another_process_is_refused(runs, part, capsys):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(part), "hold"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(proc.stdout.readline())
        refused([*ARGS, "--resume", str(part)], capsys, f"another process (pid {pid}) is writing this run folder")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert main([*ARGS, "--resume", str(part)]) == 0  # the kernel dropped the lock with the process
    same_tables(runs[0], part)


def test_workers_of_a_killed_run_do_not_keep_its_folder_locked(runs, part):
    proc = subprocess.run(
        [sys.executable, "-c", HOLD, str(part), "fork"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    child = int(proc.stdout)
    try:
        os.kill(child, 0)  # the forked worker lives on
        assert main([*ARGS, "--resume", str(part)]) == 0
    finally:
        os.kill(child, signal.SIGKILL)
    same_tables(runs[0], part)


# --- --out that cannot be written -------------------------------------------------------------


def _deny_access(ro: Path) -> Callable[..., bool]:
    real = os.access

    def access(path, mode, *args, **kwargs):  # as for a user without write permission on ``ro``
        return False if Path(path) == ro and mode & os.W_OK else real(path, mode, *args, **kwargs)

    return access


def _failing(call: Callable[..., object], when: Callable[[Path], bool], err: int) -> Callable[..., object]:
    def fail(self, *args, **kwargs):
        if when(self):
            raise OSError(err, os.strerror(err), str(self))
        return call(self, *args, **kwargs)

    return fail


def test_an_out_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, capsys):
    base = tmp_path / "base"
    base.mkdir()
    (base / "afile").write_text("x")
    ro = base / "ro"
    ro.mkdir()
    cases = [  # (--out, what the line says, what to patch)
        (base / "afile" / "x", f"{base / 'afile'} is a file, not a folder", None),
        (base / "afile" / "x" / "y", f"{base / 'afile'} is a file, not a folder", None),
        (base / "afile", "exists and is not a folder", None),
        (ro / "x", f"cannot write in {ro} (read-only or no permission)", (os, "access", _deny_access(ro))),
        (ro, f"cannot write in {ro} (read-only or no permission)", (os, "access", _deny_access(ro))),
        # the checks pass but the file system refuses: read-only under a writable-looking parent, a full disk
        (
            ro / "x" / "y",
            "cannot write there (read-only or no permission)",
            (Path, "mkdir", _failing(Path.mkdir, lambda p: p == ro / "x", errno.EROFS)),
        ),
        (
            ro / "full",
            "no space left on the disk",
            (Path, "write_bytes", _failing(Path.write_bytes, lambda p: p.name.startswith(".job.json"), errno.ENOSPC)),
        ),
    ]
    before = files(base), sorted(str(p) for p in base.rglob("*"))
    for out, fragment, patch in cases:
        with monkeypatch.context() as mp:
            if patch is not None:
                mp.setattr(*patch)
            err = refused([*ARGS, "--out", str(out)], capsys, fragment)
        assert err.startswith(f"--out: {out}: "), err
        assert (files(base), sorted(str(p) for p in base.rglob("*"))) == before, out


# --- a user error inside a batch ---------------------------------------------------------------


def _refusing_batch(monkeypatch: pytest.MonkeyPatch, first: int) -> None:
    real = sim.backends.run_batch

    def run_batch(job, batch):
        if batch.first >= first:
            raise UserError("trace_tps.csv", "row 3", "tps_id 'KPU' is the id of the KPU office")
        return real(job, batch)

    monkeypatch.setattr(sim.backends, "run_batch", run_batch)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_user_error_in_a_batch_leaves_no_new_folder(tmp_path, monkeypatch, capsys, workers):
    _refusing_batch(monkeypatch, first=4)  # two batches are saved before it
    out = tmp_path / "new" / "run"
    args = [*ARGS, "--workers", workers, "--out", str(out)]
    refused(args, capsys, "trace_tps.csv: row 3: tps_id 'KPU' is the id of the KPU office")
    assert list(tmp_path.iterdir()) == []  # the folder and the parent it made are gone
    empty = tmp_path / "empty"
    empty.mkdir()
    refused([*ARGS, "--workers", workers, "--out", str(empty)], capsys, "tps_id 'KPU'")
    assert list(empty.iterdir()) == []  # an empty --out given is left empty


def test_a_user_error_in_a_batch_leaves_a_resumed_folder_as_it_was(part, monkeypatch, capsys):
    _refusing_batch(monkeypatch, first=0)
    before = files(part)
    refused([*ARGS, "--resume", str(part)], capsys, "tps_id 'KPU'")
    assert files(part) == before


def test_a_resumed_run_after_a_kill_equals_an_uninterrupted_one_with_two_workers(runs, tmp_path):
    """SIGKILL of the main process (its workers are left to end themselves), then --resume."""
    out = tmp_path / "killed"
    args = [*ARGS[:-4], "--workers", "2", "--quiet", "--no-report"]
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args, "--out", str(out)], cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "batches" / "p000-r000000").exists() and proc.poll() is None:
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if not (out / "manifest.json").exists():
        assert main([*args, "--resume", str(out)]) == 0
    same_tables(runs[0], out)
