"""Output files: checked before any work, written atomically (numpy-free, torch-free).

Every output of the package (images, ONNX models, results JSON, training checkpoints) goes through these two
functions, so they all refuse the same things with the same messages and none is ever left half-written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError, ZSSRError

__all__ = ["check_model_path", "check_output_folder", "check_output_path", "write_bytes_atomic"]


def check_output_path(path: str | os.PathLike[str], overwrite: bool, extensions: tuple[str, ...] | None = None,
                      error: type[ZSSRError] = OutputError) -> Path:
    """Check an output path before any work: not a folder, a known extension (when ``extensions`` is given),
    no existing file unless ``overwrite``, an existing writable folder. Raises ``error`` saying which."""
    p = Path(path)
    if p.is_dir():
        raise error(f"{str(p)!r} is a folder; give a file name")
    if extensions is not None and p.suffix.lower() not in extensions:
        raise error(f"{str(p)!r}: unsupported output extension {p.suffix!r}; use one of {extensions}")
    if p.exists() and not overwrite:
        raise error(f"{str(p)!r} already exists; pass --overwrite (overwrite=True) to replace it")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise error(f"output folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise error(f"output folder {str(folder)!r} is not writable")
    _probe(folder, error)
    return p


def check_output_folder(folder: str | os.PathLike[str], error: type[ZSSRError] = OutputError) -> Path:
    """An output folder that exists and takes new files, or that can be made where its nearest existing parent
    takes new files (the batch makes it): checked before the first image."""
    f = Path(folder)
    if f.exists() and not f.is_dir():
        raise error(f"output folder {str(f)!r} is a file")
    parent = f
    while not parent.exists():
        parent = parent.parent
    _probe(parent, error)
    return f


def _probe(folder: Path, error: type[ZSSRError]) -> None:
    """Create and remove a temporary file where the output will go: os.access says yes to root in /proc and
    /sys, and to read-only mounts, where the write would fail only after the fit."""
    try:
        fd, name = tempfile.mkstemp(prefix=".zssr-probe.", suffix=".tmp", dir=str(folder))
    except OSError as exc:
        raise error(f"output folder {str(folder)!r} does not take new files ({exc.strerror})") from None
    os.close(fd)
    os.unlink(name)


def check_model_path(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Check an ONNX model's output path before any work (see :func:`check_output_path`)."""
    return check_output_path(path, overwrite, (".onnx",))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, overwrite: bool,
                       error: type[ZSSRError] = OutputError) -> Path:
    """Write ``data`` to a temporary file in the destination folder, then rename it into place.

    Without ``overwrite`` the final step is a hard link, which fails (``error``) if the file appeared meanwhile.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(folder))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the output the usual permissions
        if overwrite:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)
            except FileExistsError:
                raise error(f"{str(p)!r} already exists; pass --overwrite to replace it") from None
            except OSError:
                os.replace(tmp, p)  # filesystems without hard links
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
