"""Training state saved between the scale steps of a gradual fit, so that an interrupted fit resumes.

A gradual fit (the paper's 6-step x2 schedule; 12 steps with a base change for x4) costs hours on a CPU; a checkpoint
written after each finished step loses at most the step in progress. The file holds tensors and plain
Python values only, and is read with ``torch.load(weights_only=True)``: loading a checkpoint never runs code.

A checkpoint belongs to one image, kernel, configuration and package version (its *fingerprint*): resuming
with anything else would silently mix two fits, so it is refused instead.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..errors import CheckpointError
from ..files import check_output_path, write_bytes_atomic
from .config import ZSSRConfig

__all__ = ["CheckpointFile", "fingerprint", "load_checkpoint", "save_checkpoint"]

log = logging.getLogger(__name__)

FORMAT = "zssr-deploy-checkpoint/1"


def fingerprint(image: np.ndarray, config: ZSSRConfig, kernel: np.ndarray | None) -> str:
    """SHA-256 over the input pixels, the kernel, every setting and the package version."""
    h = hashlib.sha256()
    img = np.ascontiguousarray(image, dtype=np.float32)
    h.update(repr(img.shape).encode())
    h.update(img.tobytes())
    if kernel is not None:
        k = np.ascontiguousarray(kernel, dtype=np.float64)
        h.update(repr(k.shape).encode())
        h.update(k.tobytes())
    h.update(repr(config.portable()).encode())  # the dataclass repr lists every field (the GPU index aside)
    h.update(__version__.encode())
    return h.hexdigest()


def save_checkpoint(path: str | Path, fit_fingerprint: str, state: dict) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, tuples, dicts) atomically to ``path``."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "fingerprint": fit_fingerprint, **state}, buf)
    write_bytes_atomic(path, buf.getvalue(), overwrite=True, error=CheckpointError)
    log.info("checkpoint: %s (after step %d)", path, state.get("steps_done", -1))


def load_checkpoint(path: str | Path, fit_fingerprint: str) -> dict | None:
    """The state saved at ``path``, or None when there is no file.

    Raises:
        CheckpointError: the file is not a checkpoint, is damaged, or belongs to another fit (other image,
            kernel, settings or package version). The file is left as it is.
    """
    p = Path(path)
    if not p.exists():
        return None
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged file
        raise CheckpointError(f"{str(p)!r} is not a readable zssr-deploy checkpoint ({type(exc).__name__}); "
                              "delete it to start the fit afresh") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{str(p)!r} is not a zssr-deploy checkpoint of format {FORMAT}; "
                              "delete it to start the fit afresh")
    if state.get("fingerprint") != fit_fingerprint:
        raise CheckpointError(f"{str(p)!r} was written for another image, kernel, settings or zssr-deploy version; "
                              "delete it or choose another checkpoint path")
    return state


class CheckpointFile:
    """The checkpoint of one fit: its path (checked to be writable before any training) and fingerprint."""

    def __init__(self, path: str | Path, image: np.ndarray, config: ZSSRConfig, kernel: np.ndarray | None) -> None:
        self.path = check_output_path(path, overwrite=True, error=CheckpointError)
        self.fingerprint = fingerprint(image, config, kernel)

    def load(self) -> dict | None:
        """The saved state, or None when there is no file yet (see :func:`load_checkpoint`)."""
        return load_checkpoint(self.path, self.fingerprint)

    def save(self, state: dict) -> None:
        save_checkpoint(self.path, self.fingerprint, state)
