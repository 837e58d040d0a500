"""User-facing errors: one line naming the file, the key (and row) and what would be valid."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A mistake in the user's input. The CLI prints ``str(err)`` as one line and exits 2.

    A plain value of three texts: it pickles as them, so one raised in a worker process or on a
    Dask worker reaches the command line intact, the same as one raised here.
    """

    def __init__(self, where: str, key: str | None, problem: str) -> None:
        self.where = str(where)
        self.key = None if key is None else str(key)
        self.problem = str(problem)
        super().__init__(self.where, self.key, self.problem)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its three texts on the other side of a process boundary (the default
        # would call __init__ with the message alone, and fail there, killing the pool).
        return (type(self), (self.where, self.key, self.problem))

    def __str__(self) -> str:
        return self.line()

    def line(self) -> str:
        """The one line people see: whitespace runs (newlines too) as one space, and any other
        character a terminal would act on (an escape, a NUL) written as its escape code."""
        text = f"{self.where}: {self.key}: {self.problem}" if self.key else f"{self.where}: {self.problem}"
        text = " ".join(text.split())
        if text.isprintable():
            return text
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
