"""The batch manifest: one JSON line per event, in the output folder, so a batch survives any interruption.

Each image gets a ``started`` line before its work and a ``done`` or ``failed`` line after it (with the
settings fingerprint, iterations, seconds, kernel and the output's SHA-256). Re-running the same command
skips images whose last line is ``done`` with the same fingerprint and whose output still has that checksum;
changed settings re-run them. Lines are appended and flushed one at a time: a kill can cut only the last
line, which reading ignores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from ..errors import OutputError

__all__ = ["MANIFEST_NAME", "Manifest", "file_sha256", "fingerprint"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "zssr-manifest.jsonl"


def fingerprint(settings: dict[str, Any]) -> str:
    """A short hash of everything that changes an output (JSON-able settings)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Manifest:
    """The JSON-lines manifest of an output folder (see the module docstring)."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir) / MANIFEST_NAME
        self.last: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rec = json.loads(line)
                self.last[rec["image"]] = rec
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("%s: line %d is unreadable (cut by an interruption?); ignored", self.path, n)

    def append(self, record: dict[str, Any]) -> None:
        """Add one line (``record`` has at least ``image`` and ``status``) and flush it to disk."""
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write the batch manifest {str(self.path)!r}: {exc.strerror or exc}") from exc
        self.last[record["image"]] = record

    def finished(self, image: str, settings_fingerprint: str, output: Path) -> bool:
        """The image's last line is ``done`` with these settings, and its output is there, unchanged."""
        rec = self.last.get(image)
        if rec is None or rec.get("status") != "done" or rec.get("fingerprint") != settings_fingerprint:
            return False
        return output.is_file() and rec.get("sha256") == file_sha256(output)

    def ours(self, image: str) -> bool:
        """The batch has written (or begun writing) this image's output before: replacing it loses nothing."""
        return image in self.last
