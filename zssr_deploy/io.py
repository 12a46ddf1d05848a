"""Image files in and out, with numpy and OpenCV.

Array contract: pixels are float32 ``HxWxC`` in [0, 1], RGB order, ``C`` = 1 (grayscale) or 3. An alpha
channel is kept aside as float32 ``HxW`` in [0, 1] so it can be upscaled separately and re-attached. The file's
bit depth (8 or 16) is remembered for writing. EXIF orientation is applied on read.

Writes are atomic (a temporary file in the destination folder, then a rename) and never replace an existing
file unless ``overwrite=True``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ImageReadError, ImageWriteError, InvalidImageError

__all__ = ["SUPPORTED_EXTENSIONS", "Image", "check_output_path", "read_image", "write_bytes_atomic", "write_image"]

SUPPORTED_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


@dataclass(frozen=True)
class Image:
    """A decoded image."""

    pixels: np.ndarray
    """float32 ``HxWxC`` in [0, 1], RGB order, C = 1 or 3."""
    alpha: np.ndarray | None
    """float32 ``HxW`` in [0, 1], or None when the file has no alpha channel."""
    bit_depth: int
    """8 or 16: the depth of the file's samples, used again when writing."""

    @property
    def is_gray(self) -> bool:
        return self.pixels.shape[2] == 1


def _dihedral(img: np.ndarray, k: int) -> np.ndarray:
    out = np.rot90(img, k % 4)
    return np.fliplr(out) if k >= 4 else out


def _orient_like(raw: np.ndarray, oriented: np.ndarray) -> int:
    """Which of the 8 rotations/mirrors turns the raw decode into OpenCV's EXIF-oriented decode."""
    for k in range(8):
        cand = _dihedral(raw, k)
        if cand.shape == oriented.shape and np.array_equal(cand, oriented):
            return k
    return 0


def read_image(path: str | os.PathLike[str]) -> Image:
    """Read PNG, JPEG, TIFF, BMP or WebP. Raises :class:`ImageReadError` with the reason on failure."""
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{str(p)!r} does not exist")
    if not p.is_file():
        raise ImageReadError(f"{str(p)!r} is not a file")
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"cannot read {str(p)!r}: {exc.strerror}") from None
    if data.size == 0:
        raise ImageReadError(f"{str(p)!r} is an empty file (0 bytes)")
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if raw is None or raw.size == 0:
        raise ImageReadError(f"{str(p)!r} is not a readable image (truncated, corrupt, or not an image file)")
    if raw.dtype == np.uint8:
        depth, peak = 8, 255.0
    elif raw.dtype == np.uint16:
        depth, peak = 16, 65535.0
    else:
        raise ImageReadError(f"{str(p)!r} has {raw.dtype} samples; only 8- and 16-bit images are supported")

    if raw.ndim == 2:
        color, alpha = raw[..., None], None
    elif raw.shape[2] == 1:
        color, alpha = raw, None
    elif raw.shape[2] == 2:  # gray + alpha
        color, alpha = raw[..., :1], raw[..., 1]
    elif raw.shape[2] == 3:
        color, alpha = raw[..., ::-1], None
    else:
        color, alpha = raw[..., 2::-1], raw[..., 3]

    # IMREAD_UNCHANGED ignores EXIF orientation; OpenCV's colour decode applies it. Find the transform
    # between the two decodes of the colour channels and apply it to everything we keep.
    oriented = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if oriented is not None and (oriented.shape[:2] != raw.shape[:2] or _needs_orientation(data)):
        o = oriented if oriented.ndim == 3 else oriented[..., None]
        o = o[..., ::-1] if o.shape[2] == 3 else o
        if o.shape[2] == color.shape[2]:
            k = _orient_like(color, o)
            color = _dihedral(color, k)
            alpha = None if alpha is None else _dihedral(alpha, k)

    pixels = np.ascontiguousarray(color, dtype=np.float32) / np.float32(peak)
    a = None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32) / np.float32(peak)
    return Image(pixels=pixels, alpha=a, bit_depth=depth)


def _needs_orientation(data: np.ndarray) -> bool:
    """Cheap test for an EXIF block (JPEG APP1, TIFF/WebP/PNG 'Exif') in the first 64 KiB."""
    head = data[:65536].tobytes()
    return b"Exif\x00\x00" in head or b"eXIf" in head or head[:4] in (b"II*\x00", b"MM\x00*")


def _to_samples(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    peak = 255.0 if bit_depth == 8 else 65535.0
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.round(np.clip(pixels, 0.0, 1.0) * peak).astype(dtype)


def check_output_path(path: str | os.PathLike[str], overwrite: bool,
                      extensions: tuple[str, ...] = SUPPORTED_EXTENSIONS) -> Path:
    """Check an output path before any work: known extension, no existing file unless ``overwrite``, an
    existing writable folder. Raises :class:`ImageWriteError` saying which."""
    p = Path(path)
    if p.suffix.lower() not in extensions:
        raise ImageWriteError(f"{str(p)!r}: unsupported output extension {p.suffix!r}; use one of {extensions}")
    if p.exists() and not overwrite:
        raise ImageWriteError(f"{str(p)!r} already exists; pass --overwrite (overwrite=True) to replace it")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"output folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ImageWriteError(f"output folder {str(folder)!r} is not writable")
    return p


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, overwrite: bool) -> Path:
    """Write ``data`` to a temporary file in the destination folder, then rename it into place.

    Without ``overwrite`` the final step is a hard link, which fails if the file appeared meanwhile.
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
                raise ImageWriteError(f"{str(p)!r} already exists; pass --overwrite to replace it") from None
            except OSError:
                os.replace(tmp, p)  # filesystems without hard links
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    overwrite: bool = False,
) -> Path:
    """Write ``pixels`` (float ``HxWxC`` or ``HxW`` in [0, 1], RGB) atomically; returns the path.

    Values are clipped to [0, 1] and rounded to ``bit_depth`` (8 or 16; formats without 16-bit support get 8).
    Raises :class:`ImageWriteError` when the file exists and ``overwrite`` is false, when the folder is
    missing or unwritable, or when the extension is not a supported image format.
    """
    p = check_output_path(path, overwrite)
    ext = p.suffix.lower()
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise InvalidImageError(f"pixels must be HxW, HxWx1 or HxWx3, got shape {arr.shape}")
    if bit_depth not in (8, 16):
        raise ImageWriteError(f"bit depth must be 8 or 16, got {bit_depth}")
    if ext not in (".png", ".tif", ".tiff"):
        bit_depth = 8  # JPEG, BMP and WebP hold 8-bit samples only
    samples = _to_samples(arr, bit_depth)
    out = samples[..., 0] if samples.shape[2] == 1 else samples[..., ::-1]
    if alpha is not None:
        a = _to_samples(np.asarray(alpha), bit_depth)
        if a.shape != arr.shape[:2]:
            raise InvalidImageError(f"alpha shape {a.shape} does not match the image {arr.shape[:2]}")
        color = samples[..., ::-1] if samples.shape[2] == 3 else np.repeat(samples, 3, axis=2)
        out = np.dstack([color, a])
    ok, buf = cv2.imencode(ext, out)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode {str(p)!r} as {ext}")
    return write_bytes_atomic(p, buf.tobytes(), overwrite)
