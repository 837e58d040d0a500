"""Where batches run: in this process, in local worker processes, or on a Dask cluster.

Every backend takes (job, batch) tasks and yields (task index, KPI table) as they finish, keeping a
bounded number in flight so that a caller can stop early (the precision rule) and an interrupt
loses little. Each finished batch is saved into the run folder's ``batches/``: by the worker itself
when it shares this machine's disk (this process, local processes, a Dask cluster whose workers all
run on this host), else by this process from the tables the worker sends back. Results never
depend on the backend: the caller puts them in order.

Resources: local processes are capped at the CPUs available and at the run's batches (each batch
runs in one process, so more would only wait, each holding its own copy of the world). A worker
ends when the process that started it ends, however it ends (a SIGKILL too): on Linux the kernel
sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``), elsewhere a thread in the worker sees its parent
change and exits. A Dask address is checked before anything runs: its form, that something
listens there, that it is a scheduler with workers that can import the model; each failure is one
line naming ``--dask``.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.experiment import Batch, Job, run_batch
from sim.runfolder import RunFolder

Task = tuple[Job, Batch]

DASK_SCHEMES = ("tcp", "tls")
DASK_VALID = "give the tcp://HOST:PORT address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786"
CONNECT_S = 5.0  # [s] to reach a Dask scheduler before the address is refused
WORKERS_S = 10.0  # [s] for a reachable scheduler to have at least one worker
WATCH_PARENT_S = 0.5  # [s] between a watchdog's checks that the worker's parent still lives
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def batch_task(job: Job, batch: Batch, folder: str | None) -> dict[str, Any]:
    """Run a batch; save it into ``folder`` when given and return only its KPIs, else return all tables."""
    tables = run_batch(job, batch)
    if folder is None:
        return tables
    RunFolder(Path(folder)).save_batch(batch, tables)
    return {"kpis": tables["kpis"]}


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def worker_count(workers: int | None, batches: int | None = None) -> int:
    """Local processes for a run: ``workers`` (None: all CPUs), at most the CPUs and ``batches``."""
    n = min(available_cpus(), available_cpus() if workers is None else workers)
    return max(1, n if batches is None else min(n, batches))


# --- workers end with their parent ---------------------------------------------------------------


def _linux_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _linux_prctl()
PARENT_DEATH = "prctl" if _PRCTL is not None else "watchdog"  # how a worker learns its parent died (chosen once)


def watch_parent(parent: int, every_s: float = WATCH_PARENT_S) -> threading.Thread:
    """Start a daemon thread that ends this process once its parent ``parent`` has ended.

    The portable way: on POSIX an orphan is adopted by another process (init, a subreaper), so its
    ``getppid()`` changes; on Windows, where it does not, the parent's sentinel that
    multiprocessing hands a spawned child says so. ``os._exit``: a worker has nothing to flush (its
    batch files are written to a temporary name and renamed).
    """
    sentinel = multiprocessing.parent_process()

    def watch() -> None:
        while os.getppid() == parent and (sentinel is None or sentinel.is_alive()):
            time.sleep(every_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="watch-parent", daemon=True)
    thread.start()
    return thread


def exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when ``parent``, the process that started it, ends.

    PR_SET_PDEATHSIG is sent when the *thread* that forked the worker ends: the pool's processes
    are started by the thread that submits to it, which also closes the backend.
    """
    if PARENT_DEATH == "prctl" and _PRCTL is not None and _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os._exit(1)
        return
    watch_parent(parent)


# --- backends ----------------------------------------------------------------------------------


class Serial:
    name = "serial"
    workers = 1

    def map(self, fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """``fn(*call)`` for every call, yielded as (call index, result) as each finishes."""
        for i, call in enumerate(calls):
            yield i, fn(*call)

    def run(self, tasks: list[Task], folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        for i, (job, batch) in enumerate(tasks):
            yield i, batch_task(job, batch, str(folder))

    def close(self) -> None:
        pass


class Processes:
    """A pool of local worker processes (fork where the platform has it), each ending with this process."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(method),
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )

    def run(self, tasks: list[Task], folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        return self.map(batch_task, [(job, batch, str(folder)) for job, batch in tasks])

    def map(self, fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """``fn(*call)`` for every call in the workers, yielded as (call index, result) as each finishes."""
        pending: dict[Future, int] = {}
        queue = iter(enumerate(calls))
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    i, call = nxt
                    pending[self.pool.submit(fn, *call)] = i
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: pending[f]):
                    yield pending.pop(fut), fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class Dask:
    """A Dask distributed cluster at ``address`` (e.g. ``tcp://127.0.0.1:8786``)."""

    name = "dask"

    def __init__(self, address: str) -> None:
        host, port = check_dask_address(address)
        _probe(address, host, port)
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise UserError("--dask", address, "the 'distributed' package is not installed") from None
        try:
            self.client = Client(address, timeout=f"{CONNECT_S:g}s")
        except Exception as exc:  # it greeted, then failed: still not a scheduler we can use
            problem = f"something listens there, but no Dask scheduler answers ({exc.__class__.__name__}); {DASK_VALID}"
            raise UserError("--dask", address, problem) from None
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_S)
        except (TimeoutError, OSError):
            self.client.close()
            problem = f"the scheduler has no workers; start some with 'dask worker {address} --nthreads 1'"
            raise UserError("--dask", address, problem) from None
        try:
            # Workers of a fresh cluster have not imported the model yet: do it once, now.
            self.client.run(importlib.import_module, "sim.experiment")
        except Exception as exc:
            self.client.close()
            problem = f"its workers cannot import the model ({exc.__class__.__name__}); install pilkada-sim on each"
            raise UserError("--dask", address, problem) from None
        self.address = address
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self._scattered: dict[str, Any] = {}
        hosts = {w.split("://")[-1].rsplit(":", 1)[0] for w in self.client.scheduler_info()["workers"]}
        local = {"127.0.0.1", "localhost", "::1", "[::1]", socket.gethostname(), _own_address()}
        self.same_host = hosts <= local

    def run(self, tasks: list[Task], folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        target = str(folder) if self.same_host else None
        for i, result in self.map(batch_task, [(job, batch, target) for job, batch in tasks]):
            if target is None:  # remote workers: their tables come back here to be saved
                RunFolder(folder).save_batch(tasks[i][1], result)
            yield i, {"kpis": result["kpis"]}

    def map(self, fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """``fn(*call)`` for every call on the cluster, yielded as (call index, result) as each finishes.

        A first argument with a ``key`` (a :class:`~sim.experiment.Job`) is sent to the workers once.
        """
        from distributed import as_completed

        index: dict[Any, int] = {}
        queue = iter(enumerate(calls))
        ac = as_completed()

        def submit() -> bool:
            nxt = next(queue, None)
            if nxt is None:
                return False
            i, (first, *rest) = nxt
            key = getattr(first, "key", None)
            if key is not None:
                if key not in self._scattered:
                    self._scattered[key] = self.client.scatter(first, broadcast=True)
                first = self._scattered[key]
            fut = self.client.submit(fn, first, *rest, pure=False)
            index[fut] = i
            ac.add(fut)
            return True

        try:
            for _ in range(2 * self.workers):
                if not submit():
                    break
            for fut in ac:
                result = fut.result()
                i = index.pop(fut)
                submit()
                yield i, result
        finally:
            for fut in index:
                fut.cancel()

    def close(self) -> None:
        self.client.close()


Backend = Serial | Processes | Dask  # anything with name, workers, run(tasks, folder), map(fn, calls) and close()


def _own_address() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


_HOST_PORT = re.compile(r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+)):(?P<port>[0-9]{1,5})")


def check_dask_address(address: str) -> tuple[str, int]:
    """The host and port of a scheduler address ``[tcp://]HOST:PORT`` (or ``tls://``); else refused."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    m = _HOST_PORT.fullmatch(rest)
    if scheme not in DASK_SCHEMES or m is None or not 0 < int(m["port"]) < 65536:
        raise UserError("--dask", address if address.strip() else repr(address), DASK_VALID)
    return m["ip6"] or m["host"], int(m["port"])


def _probe(address: str, host: str, port: int) -> None:
    """Refuse, within about ``CONNECT_S``, an address nothing listens on or where no Dask scheduler answers.

    Dask's own client retries a refused connection until its timeout, and waits for the reply to
    its greeting without one: a silent listener would hang the command.
    """
    try:
        socket.create_connection((host, port), timeout=CONNECT_S).close()
    except socket.gaierror:
        raise UserError("--dask", address, f"unknown host {host}; {DASK_VALID}") from None
    except TimeoutError:
        raise UserError("--dask", address, f"nothing answers there within {CONNECT_S:g} s; {DASK_VALID}") from None
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else exc.__class__.__name__
        raise UserError("--dask", address, f"nothing listens there ({reason}); {DASK_VALID}") from None
    try:
        _greet(address, CONNECT_S)
    except Exception as exc:  # whatever answers there is not a scheduler we can use
        problem = f"something listens there, but no Dask scheduler answers ({exc.__class__.__name__}); {DASK_VALID}"
        raise UserError("--dask", address, problem) from None


def _greet(address: str, timeout_s: float) -> None:
    """Exchange Dask's greeting with ``address`` within ``timeout_s``, or raise.

    In a thread of its own, with its own event loop: the caller may be running one (a notebook).
    """
    from distributed.comm import connect
    from distributed.security import Security

    async def greet() -> None:
        args = Security().get_connection_args("client")
        comm = await asyncio.wait_for(connect(address, timeout=timeout_s, **args), timeout_s)
        await comm.close()

    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(greet())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="dask-greeting", daemon=True)
    thread.start()
    thread.join(timeout_s + 1)
    if thread.is_alive():
        raise TimeoutError(f"no greeting within {timeout_s:g} s")
    if failure:
        raise failure[0]


def check_backend(workers: int | None, dask: str | None) -> None:
    """Refuse ``workers`` below 1, both options at once, or a ``dask`` that cannot be an address."""
    if workers is not None and not workers >= 1:
        raise UserError("--workers", str(workers), "must be at least 1")
    if dask is not None:
        if workers is not None:
            raise UserError(
                "--workers", str(workers), "not with --dask: the Dask cluster's own workers run the batches"
            )
        check_dask_address(dask)


def make_backend(workers: int | None, dask: str | None, batches: int | None = None) -> Backend:
    """Dask at ``dask`` if given, else local processes (:func:`worker_count`; one: this process).

    ``batches``: how many the run has, to start no more processes than it can use.
    """
    check_backend(workers, dask)
    if dask is not None:
        return Dask(dask)
    n = worker_count(workers, batches)
    return Serial() if n == 1 else Processes(n)
