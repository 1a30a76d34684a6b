"""The result store: one JSON object per finished run, one per line (JSON Lines).

A record is appended only once its run has finished, as a single ``write`` of one complete
line under an exclusive lock, then flushed to disk; an interrupted run leaves nothing. A
line that cannot be parsed (a crash in the middle of a write on a full disk, say) is
ignored on reading and reported by :meth:`Store.damaged`. Re-running an experiment skips
every run whose :attr:`~pyngr.bench.specs.RunSpec.key` is already in the store.

Examples
--------
>>> import tempfile, pathlib
>>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "results.jsonl")
>>> store.append({"key": "abc", "psnr": 30.0})
True
>>> store.keys(), store.records()[0]["psnr"]
({'abc'}, 30.0)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["Store"]


class Store:
    """A JSON-lines file of run records (each with a ``"key"``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _lines(self) -> list[str]:
        if not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, in the order written."""
        out = []
        for line in self._lines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def damaged(self) -> int:
        """Number of lines that are not complete JSON objects."""
        bad = 0
        for line in self._lines():
            if not line.strip():
                continue
            try:
                ok = isinstance(json.loads(line), dict)
            except json.JSONDecodeError:
                ok = False
            bad += not ok
        return bad

    def keys(self) -> set[str]:
        """Keys of the finished runs."""
        return {str(r["key"]) for r in self.records() if "key" in r}

    def append(self, record: dict[str, Any]) -> bool:
        """Append one record as one line, atomically with respect to other writers.

        Returns False, writing nothing, when a record with the same ``key`` is already there
        (two runners that ran the same run: the first record stands).
        """
        line = json.dumps(record, default=_jsonable, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _lock(fd)
            if "key" in record and str(record["key"]) in self.keys():
                return False
            # A previous writer killed mid-line would glue our record to its fragment.
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as fh:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":
                        line = "\n" + line
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
            return True
        finally:
            _unlock(fd)
            os.close(fd)

    def remove(self, keys: set[str]) -> int:
        """Drop the records of these keys (e.g. runs made stale by a fix, to run again);
        return how many were dropped. The file is rewritten to a temporary file and renamed
        over the store, so a crash leaves the old store or the new one, never half of it;
        do not run it while another process appends to the same store."""
        if not self.path.exists():
            return 0
        fd = os.open(self.path, os.O_RDONLY)
        try:
            _lock(fd)
            kept, dropped = [], 0
            for line in self._lines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    rec = None
                if isinstance(rec, dict) and str(rec.get("key")) in keys:
                    dropped += 1
                else:
                    kept.append(line)
            if dropped:
                tmp = self.path.with_name(self.path.name + ".tmp")
                tmp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
                os.replace(tmp, self.path)
            return dropped
        finally:
            _unlock(fd)
            os.close(fd)


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


try:  # POSIX advisory locks; on other systems appends of one short line are left as they are
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows

    def _lock(fd: int) -> None:
        return None

    def _unlock(fd: int) -> None:
        return None
