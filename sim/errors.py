"""User-facing errors: one line naming the file, the key (and row) and what would be valid."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input. The CLI prints ``str(err)`` as one line and exits 2."""

    def __init__(self, where: str, key: str | None, problem: str) -> None:
        self.where = where
        self.key = key
        self.problem = problem
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.where}: {self.key}: {self.problem}" if self.key else f"{self.where}: {self.problem}"
        return " ".join(text.split())
