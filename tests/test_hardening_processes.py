"""Processes and resources (issue 14, class 7): capped workers, no orphans, one line for a bad --dask.

- ``--workers`` is capped at the CPUs available and at the run's batches, and the tables are the
  same bytes whatever it is (1, 2, 64).
- Killing only the main process (SIGKILL) of a 2-worker sweep leaves no worker behind within a few
  seconds: on Linux the kernel's parent-death signal, elsewhere (and tried here directly) a
  watchdog thread that sees its parent change.
- A ``--dask`` that cannot be used (not an address, nothing listening, something listening that is
  not a scheduler, a silent listener, a scheduler without workers, given with ``--workers``) is one
  line naming ``--dask`` (or ``--workers``) and what would be valid, exit 2, nothing written, in
  seconds.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from conftest import assert_refused, trace_copy

from sim import backends
from sim.backends import PARENT_DEATH, Processes, Serial, make_backend, worker_count
from sim.cli import main
from sim.errors import UserError
from sim.scenario import load_scenario
from sim.study import prepare, run_into_folder

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "scenarios/teaching-small.yaml")
VALID = "tcp://HOST:PORT"


# --- helpers -----------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        found, todo = [], [pid]
        while todo:
            p = todo.pop()
            for task in Path(f"/proc/{p}/task").glob("*/children"):
                kids = [int(k) for k in task.read_text().split()]
                found += kids
                todo += kids
        return found
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, dead and not yet reaped, does not count)."""
    try:
        import psutil
    except ImportError:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError):
            return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def listener(reply: bytes | None) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that is not a scheduler: sends ``reply`` and closes, or (None) says nothing."""
    srv = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if reply is None:
                held.append(conn)  # silent: keep it open, never answer
            else:
                with suppress(OSError):
                    conn.sendall(reply)
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        srv.close()
        for conn in held:
            conn.close()


def tables(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


# --- workers capped ----------------------------------------------------------------------------


def test_worker_count_is_capped_at_cpus_and_batches(monkeypatch):
    monkeypatch.setattr(backends, "available_cpus", lambda: 8)
    assert worker_count(None) == 8
    assert worker_count(1000) == 8
    assert worker_count(1000, batches=1) == 1
    assert worker_count(64, batches=3) == 3
    assert worker_count(2, batches=100) == 2
    assert worker_count(None, batches=5) == 5
    assert isinstance(make_backend(1000, None, batches=1), Serial)
    pool = make_backend(64, None, batches=3)
    assert isinstance(pool, Processes) and pool.workers == 3
    pool.close()


def test_one_batch_with_1000_workers_runs_in_this_process(tmp_path):
    # Before: 1,000 processes forked (13-46 s and about 3 GB instead of a second).
    out = tmp_path / "r"
    started = time.monotonic()
    assert main(["run", SMALL, "--reps", "2", "--workers", "1000", "--out", str(out), "--quiet", "--no-report"]) == 0
    assert time.monotonic() - started < 30
    backend = json.loads((out / "manifest.json").read_text())["backend"]
    assert backend["kind"] == "serial" and backend["workers"] == 1


def test_processes_started_are_at_most_the_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(backends, "available_cpus", lambda: 64)
    study = prepare(load_scenario(SMALL), replications=6, batch_size=2, workers=64)  # 3 batches
    done = run_into_folder(study, tmp_path / "r")
    assert done.backend.name == "processes" and done.backend.workers == 3


def test_same_bytes_with_1_2_and_64_workers(tmp_path):
    common = ["run", SMALL, "--reps", "6", "--batch", "2", "--seed", "11", "--quiet", "--no-report"]
    for w in ("1", "2", "64"):
        assert main([*common, "--workers", w, "--out", str(tmp_path / w)]) == 0
    one = tables(tmp_path / "1")
    assert len(one) >= 8
    assert tables(tmp_path / "2") == one
    assert tables(tmp_path / "64") == one
    used = json.loads((tmp_path / "64" / "manifest.json").read_text())["backend"]["workers"]
    assert used == min(3, backends.available_cpus())


# --- workers end with their parent ---------------------------------------------------------------


def _pdeathsig() -> int:
    sig = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    return sig.value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_linux_workers_ask_for_the_parent_death_signal():
    assert PARENT_DEATH == "prctl"
    pool = Processes(2)
    try:
        assert pool.pool.submit(_pdeathsig).result() == signal.SIGKILL
    finally:
        pool.close()


@pytest.mark.skipif(backends.available_cpus() < 2, reason="two workers need two CPUs (the cap)")
def test_killing_the_main_process_leaves_no_worker(tmp_path):
    # Before: both workers of a SIGKILLed 2-worker sweep still ran a minute later (486-808 MB).
    argv = [sys.executable, "-m", "sim", "sweep", SMALL, "--vary", "plans.satu_patroli.patrols.0.units=1,2"]
    argv += ["--reps", "400", "--batch", "20", "--workers", "2", "--out", str(tmp_path / "s"), "--quiet", "--no-report"]
    main_proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        assert wait_until(lambda: len(children(main_proc.pid)) >= 2, 60), "the workers never started"
        time.sleep(0.5)  # let them get into a batch
        workers = children(main_proc.pid)
        main_proc.send_signal(signal.SIGKILL)
        main_proc.wait()
        assert wait_until(lambda: not any(alive(w) for w in workers), 5), [w for w in workers if alive(w)]
    finally:
        main_proc.kill()
        main_proc.wait()
        for w in workers:  # the orphans this test made, if it failed
            with suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)


def test_watchdog_ends_orphaned_workers(tmp_path):
    """The portable fallback, forced: pool workers watching their parent exit once it is killed."""
    script = tmp_path / "orphans.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from sim import backends

            backends.PARENT_DEATH = "watchdog"  # as off Linux (a spawned worker runs this line too)

            if __name__ == "__main__":
                pool = backends.Processes(2)
                busy = [pool.pool.submit(time.sleep, 60) for _ in range(2)]
                time.sleep(60)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT)
    workers: list[int] = []
    try:
        assert wait_until(lambda: len(children(proc.pid)) >= 2, 30), "the workers never started"
        workers = children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_until(lambda: not any(alive(w) for w in workers), 5), [w for w in workers if alive(w)]
    finally:
        proc.kill()
        proc.wait()
        for w in workers:
            with suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)


# --- --dask: one line, exit 2, nothing written -------------------------------------------------


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # a default run folder would appear here
    return trace_copy(tmp_path)


def refused(scenario: Path, extra: list[str], fragment: str, capsys) -> None:
    capsys.readouterr()
    assert_refused(main, scenario, scenario.parent, extra, fragment, capsys)
    assert not (scenario.parent / "reports").exists()


@pytest.mark.parametrize(
    "address",
    ["not an address", "", " ", "foo://x:1", "tcp://127.0.0.1:99999", "tcp://127.0.0.1", "tcp://:8786", "tcp://a b:1"],
)
def test_dask_address_that_is_not_one(scenario, capsys, address):
    refused(scenario, ["--dask", address], f"--dask: {address if address.strip() else repr(address)}: give the", capsys)
    with pytest.raises(UserError, match=VALID):
        prepare(load_scenario(scenario), dask=address)  # the API refuses it too, before running


def test_dask_address_nothing_listens_on(scenario, capsys):
    started = time.monotonic()
    refused(scenario, ["--dask", f"tcp://127.0.0.1:{free_port()}"], "nothing listens there", capsys)
    assert time.monotonic() - started < 5  # before: 11 s of retries


def test_dask_unknown_host(scenario, capsys):
    refused(scenario, ["--dask", "tcp://no-such-host.invalid:8786"], "unknown host", capsys)


def test_dask_address_where_something_else_answers(scenario, capsys):
    # Before: a proxy answering there gave a 3 EiB allocation traceback.
    with listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4) as address:
        refused(scenario, ["--dask", address], "no Dask scheduler answers", capsys)


def test_dask_address_where_a_listener_stays_silent(scenario, capsys, monkeypatch):
    # Before: waited for the greeting's reply without end. In a thread, so that a hang fails the test.
    monkeypatch.setattr(backends, "CONNECT_S", 1.0)
    failures: list[BaseException] = []

    def attempt(address: str) -> None:
        try:
            refused(scenario, ["--dask", address], "no Dask scheduler answers (TimeoutError)", capsys)
        except BaseException as exc:
            failures.append(exc)

    with listener(None) as address:
        thread = threading.Thread(target=attempt, args=(address,), daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "still waiting for a silent listener"
    if failures:
        raise failures[0]


def test_dask_scheduler_without_workers(scenario, capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(backends, "WORKERS_S", 1.0)
    with distributed.LocalCluster(
        n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        refused(scenario, ["--dask", cluster.scheduler_address], "the scheduler has no workers", capsys)


def test_workers_and_dask_together(scenario, capsys):
    refused(scenario, ["--workers", "2", "--dask", "tcp://127.0.0.1:8786"], "--workers: 2: not with --dask", capsys)


def test_workers_below_one(scenario, capsys):
    refused(scenario, ["--workers", "0"], "--workers: 0: must be at least 1", capsys)
