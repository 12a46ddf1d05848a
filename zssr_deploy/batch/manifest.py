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
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..blind.config import KernelFinding
from ..errors import OutputError

__all__ = ["MANIFEST_NAME", "BatchRecord", "Manifest", "file_sha256", "fingerprint"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "zssr-manifest.jsonl"


@dataclass(frozen=True, kw_only=True)
class BatchRecord:
    """One line of the manifest: an image ``started``, ``done`` or ``failed``, and what its fit did."""

    image: str
    """The input's path relative to the batch's root (its key)."""
    status: str
    """'started', 'done' or 'failed'."""
    fingerprint: str = ""
    """The batch settings' fingerprint (:func:`fingerprint`): a changed setting re-runs the image."""
    error: str = ""
    """One line: what went wrong (status 'failed')."""
    output: str | None = None
    """The output's path relative to the output folder."""
    finished_at: str | None = None
    """ISO time (UTC) the line was written."""
    sha256: str | None = None
    """The written output's checksum: an output changed since is fitted again."""
    seconds: float | None = None
    """Wall time of the image's work."""
    iterations: list[int] | None = None
    """Training iterations per scale step."""
    learning_rate_drops: list[list[int]] | None = None
    """Per scale step, the iterations at which the learning rate dropped."""
    fit_seconds: float | None = None
    """Training seconds."""
    device: str | None = None
    """Where the fit trained."""
    precision: str | None = None
    """The fit's precision."""
    providers: list[str] | None = None
    """What ran the final inference."""
    kernel: KernelFinding | None = None
    """How the kernel was found."""
    kernel_taps: list[list[float]] | None = None
    """The kernel the fit assumed (6 decimals); None: MATLAB bicubic."""
    psnr: float | None = None
    """Y-PSNR against the ground truth (``--gt``)."""
    ssim: float | None = None
    """SSIM on Y against the ground truth."""
    curves: list[list[float]] | None = None
    """Training curves: (scale step, iteration, loss, reconstruction error, learning rate), thinned."""

    def to_json(self) -> dict[str, Any]:
        """The manifest line's JSON object (fields that do not apply left out)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.kernel is not None:
            out["kernel"] = self.kernel.to_json()
        if self.status == "started":
            out.pop("error")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        """A manifest line read back (keys of other versions ignored)."""
        known = {f.name for f in fields(cls)}
        rec = cls(**{k: v for k, v in data.items() if k in known})
        return replace(rec, kernel=KernelFinding.from_json(rec.kernel)) if isinstance(rec.kernel, dict) else rec


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
        self.last: dict[str, BatchRecord] = {}
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rec = BatchRecord.from_json(json.loads(line))
                self.last[rec.image] = rec
            except (json.JSONDecodeError, AttributeError, TypeError):
                log.warning("%s: line %d is unreadable (cut by an interruption?); ignored", self.path, n)

    def append(self, record: BatchRecord) -> None:
        """Add one line and flush it to disk."""
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write the batch manifest {str(self.path)!r}: {exc.strerror or exc}") from exc
        self.last[record.image] = record

    def finished(self, image: str, settings_fingerprint: str, output: Path) -> bool:
        """The image's last line is ``done`` with these settings, and its output is there, unchanged."""
        rec = self.last.get(image)
        if rec is None or rec.status != "done" or rec.fingerprint != settings_fingerprint:
            return False
        return output.is_file() and rec.sha256 == file_sha256(output)

    def ours(self, image: str) -> bool:
        """The batch has written (or begun writing) this image's output before: replacing it loses nothing."""
        return image in self.last
