"""The machine's NVIDIA GPUs and their free memory, without torch (``nvidia-smi``): for checking a GPU index
before any work and for sizing inference tiles on a GPU."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess

from .errors import ProviderError

__all__ = ["check_gpu_index", "free_gpu_memory", "list_gpus"]

log = logging.getLogger(__name__)


def _query(fields: str) -> list[list[str]]:
    """Rows of ``nvidia-smi --query-gpu=FIELDS`` ([] without nvidia-smi or a driver)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, f"--query-gpu={fields}", "--format=csv,noheader,nounits"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [[c.strip() for c in line.split(",")] for line in out.splitlines() if line.strip()]


@functools.cache
def list_gpus() -> tuple[str, ...]:
    """The names of the machine's NVIDIA GPUs, by index (empty: none, or no driver)."""
    return tuple(row[1] for row in _query("index,name") if len(row) > 1)


def check_gpu_index(index: int, gpus: tuple[str, ...] | None = None) -> None:
    """:class:`ProviderError` naming the GPUs there are when GPU ``index`` does not exist (before any work)."""
    gpus = list_gpus() if gpus is None else gpus
    if 0 <= index < len(gpus):
        return
    there = ("this machine has no NVIDIA GPU (nvidia-smi finds none)" if not gpus else
             f"this machine has {len(gpus)}: " + ", ".join(f"{i} {name}" for i, name in enumerate(gpus)))
    raise ProviderError(f"GPU {index} does not exist: {there}")


def free_gpu_memory(index: int) -> int | None:
    """Free memory of GPU ``index`` in bytes (None when it cannot be read)."""
    for row in _query("index,memory.free"):
        if len(row) > 1 and row[0] == str(index):
            try:
                return int(float(row[1])) * 1024 * 1024  # MiB
            except ValueError:
                return None
    return None
