"""Where batches run: in this process, in local worker processes, or on a Dask cluster.

Every backend takes (job, batch) tasks and yields (task index, result) as they finish, keeping a
bounded number in flight so that a caller can stop early (the precision rule) and an interrupt
loses little. Results never depend on the backend: the caller puts them in order.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from sim.errors import UserError
from sim.experiment import Batch, Job, run_batch

Task = tuple[Job, Batch]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class Serial:
    name = "serial"
    workers = 1

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        for i, (job, batch) in enumerate(tasks):
            yield i, run_batch(job, batch)

    def close(self) -> None:
        pass


class Processes:
    """A pool of local worker processes (fork where the platform has it)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        pending: dict[Future, int] = {}
        queue = iter(enumerate(tasks))
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    i, (job, batch) = nxt
                    pending[self.pool.submit(run_batch, job, batch)] = i
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

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        from distributed import as_completed

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
            fut = self.client.submit(run_batch, self._scattered[job.key], batch, pure=False)
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


def make_backend(workers: int | None, dask: str | None) -> Serial | Processes | Dask:
    if dask:
        return Dask(dask)
    n = default_workers() if workers is None else workers
    if n < 1:
        raise UserError("--workers", str(n), "give at least 1")
    return Serial() if n == 1 else Processes(n)
