"""The store's errors and default file name, apart from the store itself: the command line imports them at start-up
without loading SQLite's helpers (sqlite-utils pulls in numpy), so `selfeval --help` stays quick."""

from __future__ import annotations

DEFAULT_DB = "selfeval.db"

__all__ = ["DEFAULT_DB", "DiskFull", "NoDatabase", "NotSelfevalDatabase", "StoreError"]


class StoreError(Exception):
    """A database that cannot be used as asked; the message is one line that names the file and the fix."""


class NotSelfevalDatabase(StoreError):
    """The file is not SQLite, or SQLite of another application: nothing was written to it."""


class NoDatabase(StoreError):
    """A read-only command found no database (or an empty one) at the path."""


class DiskFull(StoreError):
    """A write failed for want of space; the transaction was rolled back, so every form stored before is kept."""

    def __init__(self, path: str, stored: int | None, again: str = "run ingest again") -> None:
        self.path, self.stored = path, stored
        kept = f"the {stored} form(s) stored so far are kept" if stored is not None else "the forms stored so far are kept"
        super().__init__(f"the disk is full: cannot write {path}; {kept}; free space and {again}")

    def again(self, what: str) -> DiskFull:
        """Given what the user should run again, return this error saying so."""
        return DiskFull(self.path, self.stored, what)
