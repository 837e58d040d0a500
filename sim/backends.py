"""Where batches run: in this process, in local worker processes, or on a Dask cluster.

Every backend takes (job, batch) tasks and yields (task index, KPI table) as they finish, keeping a
bounded number in flight so that a caller can stop early (the precision rule) and an interrupt
loses little. Each finished batch is saved into the run folder's ``batches/``: by the worker itself
when it shares this machine's disk (this process, local processes, a Dask cluster whose workers all
run on this host), else by this process from the tables the worker sends back. Results never
depend on the backend: the caller puts them in order.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import socket
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.experiment import Batch, Job, run_batch
from sim.runfolder import RunFolder

Task = tuple[Job, Batch]


def batch_task(job: Job, batch: Batch, folder: str | None) -> dict[str, Any]:
    """Run a batch; save it into ``folder`` when given and return only its KPIs, else return all tables."""
    tables = run_batch(job, batch)
    if folder is None:
        return tables
    RunFolder(Path(folder)).save_batch(batch, tables)
    return {"kpis": tables["kpis"]}


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class Serial:
    name = "serial"
    workers = 1

    def run(self, tasks: list[Task], folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        for i, (job, batch) in enumerate(tasks):
            yield i, batch_task(job, batch, str(folder))

    def close(self) -> None:
        pass


class Processes:
    """A pool of local worker processes (fork where the platform has it)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))

    def run(self, tasks: list[Task], folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        pending: dict[Future, int] = {}
        queue = iter(enumerate(tasks))
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    i, (job, batch) = nxt
                    pending[self.pool.submit(batch_task, job, batch, str(folder))] = i
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
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise UserError("--dask", address, "the 'distributed' package is not installed") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UserError("--dask", address, f"no Dask scheduler answers there ({exc.__class__.__name__})") from None
        self.address = address
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self._scattered: dict[str, Any] = {}
        # Workers of a fresh cluster have not imported the model yet: do it once, now.
        self.client.run(importlib.import_module, "sim.experiment")
        hosts = {w.split("://")[-1].rsplit(":", 1)[0] for w in self.client.scheduler_info()["workers"]}
        local = {"127.0.0.1", "localhost", "::1", "[::1]", socket.gethostname(), _own_address()}
        self.same_host = hosts <= local

    def run(self, tasks: list[Task], folder: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        from distributed import as_completed

        target = str(folder) if self.same_host else None

        index: dict[Any, int] = {}
        queue = iter(enumerate(tasks))
        ac = as_completed()

        def submit() -> bool:
            nxt = next(queue, None)
            if nxt is None:
                return False
            i, (job, batch) = nxt
            if job.key not in self._scattered:  # send each scenario once, not with every batch
                self._scattered[job.key] = self.client.scatter(job, broadcast=True)
            fut = self.client.submit(batch_task, self._scattered[job.key], batch, target, pure=False)
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
                if target is None:  # remote workers: their tables come back here to be saved
                    RunFolder(folder).save_batch(tasks[i][1], result)
                submit()
                yield i, {"kpis": result["kpis"]}
        finally:
            for fut in index:
                fut.cancel()

    def close(self) -> None:
        self.client.close()


Backend = Serial | Processes | Dask  # anything with name, workers, run(tasks, folder) and close()


def _own_address() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def make_backend(workers: int | None, dask: str | None) -> Backend:
    """Dask at ``dask`` if given, else ``workers`` local processes (all cores if None; 1: this process)."""
    if dask:
        return Dask(dask)
    n = default_workers() if workers is None else workers
    if n < 1:
        raise UserError("--workers", str(n), "give at least 1")
    return Serial() if n == 1 else Processes(n)
