"""Image files in and out, with numpy and OpenCV.

Array contract: pixels are float32 ``HxWxC`` in [0, 1], RGB order, ``C`` = 1 (grayscale) or 3. An alpha
channel is kept aside as float32 ``HxW`` in [0, 1] so it can be upscaled separately and re-attached. The file's
bit depth (8 or 16) is remembered for writing. EXIF orientation is applied on read.

Writes are atomic (a temporary file in the destination folder, then a rename) and never replace an existing
file unless ``overwrite=True``.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ImageReadError, ImageWriteError, InvalidImageError
from .filemeta import FileMeta, attach_meta, png_chunk, read_meta
from .files import check_output_path, write_bytes_atomic
from .imageops.guard import check_image

__all__ = ["SUPPORTED_EXTENSIONS", "Image", "check_image_path", "decode_image", "encode_image", "encode_png",
           "list_images", "read_image", "write_image"]

log = logging.getLogger(__name__)

# OpenCV's own log lines ("[ERROR:0@4.262] global grfmt_png.cpp:297 readHeader ...") would reach stderr beside
# this module's one-line errors, which say what they mean
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

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
    meta: FileMeta | None = None
    """The file's ICC profile, resolution, EXIF and XMP (:mod:`zssr_deploy.filemeta`), for its outputs."""

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
    return decode_image(data, str(p))


def decode_image(data: bytes | np.ndarray, name: str) -> Image:
    """Decode an image file's bytes (PNG, JPEG, TIFF, BMP or WebP; EXIF orientation applied); ``name`` is what
    an :class:`ImageReadError` calls it."""
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data
    if data.size == 0:
        raise ImageReadError(f"{name!r} is an empty file (0 bytes)")
    raw = _imdecode(data, cv2.IMREAD_UNCHANGED, name)
    if raw is None or raw.size == 0:
        raise ImageReadError(f"{name!r} is not a readable image (truncated, corrupt, or not an image file)")
    if raw.dtype == np.uint8:
        depth, peak = 8, 255.0
    elif raw.dtype == np.uint16:
        depth, peak = 16, 65535.0
    else:
        raise ImageReadError(f"{name!r} has {raw.dtype} samples; only 8- and 16-bit images are supported")

    if raw.ndim == 3 and raw.shape[2] == 4 and _png_gray_alpha(data):
        raw = raw[..., [0, 3]]  # OpenCV expands gray+alpha to BGRA: keep it gray (one channel to fit, not three)
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

    color, alpha = _oriented(data, raw, color, alpha)

    pixels = np.ascontiguousarray(color, dtype=np.float32) / np.float32(peak)
    a = None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32) / np.float32(peak)
    return Image(pixels=pixels, alpha=a, bit_depth=depth, meta=read_meta(data.tobytes()))


def _imdecode(data: np.ndarray, flags: int, name: str) -> np.ndarray | None:
    """``cv2.imdecode``, its refusals as :class:`ImageReadError`: a header that claims more pixels than OpenCV
    decodes (2^30; a crafted 68-byte PNG, or a gigapixel scan) raises ``cv2.error``, which a batch must record
    as that image's failure, not die of."""
    try:
        return cv2.imdecode(data, flags)
    except cv2.error as exc:
        size = _png_size(data)
        claims = f" (its header claims {size[1]}x{size[0]} pixels)" if size else ""
        why = ("more pixels than OpenCV decodes" if "CV_IO_MAX_IMAGE_PIXELS" in str(exc) else
               f"OpenCV cannot decode it: {str(exc).strip().splitlines()[-1][:120]}")
        raise ImageReadError(f"{name!r} is too large or malformed to read{claims}: {why}; split or downscale it "
                             "with an image tool first") from None


def _png_size(data: np.ndarray) -> tuple[int, int] | None:
    """(height, width) from a PNG's IHDR, or None."""
    if data.size < 24 or data[:8].tobytes() != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(data[20:24].tobytes(), "big"), int.from_bytes(data[16:20].tobytes(), "big")


def _oriented(data: np.ndarray, raw: np.ndarray, color: np.ndarray,
              alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour (and alpha) planes turned as the file's EXIF orientation says. IMREAD_UNCHANGED ignores EXIF
    orientation; OpenCV's colour decode applies it: find the transform between the two decodes of the colour
    channels and apply it to everything we keep."""
    oriented = _imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR, "image")
    if oriented is not None and (oriented.shape[:2] != raw.shape[:2] or _needs_orientation(data)):
        o = oriented if oriented.ndim == 3 else oriented[..., None]
        o = o[..., ::-1] if o.shape[2] == 3 else o
        if o.shape[2] == color.shape[2]:
            k = _orient_like(color, o)
            color = _dihedral(color, k)
            alpha = None if alpha is None else _dihedral(alpha, k)
    return color, alpha


def _png_gray_alpha(data: np.ndarray) -> bool:
    """A PNG whose header says gray + alpha (colour type 4)."""
    return data.size > 25 and data[:8].tobytes() == b"\x89PNG\r\n\x1a\n" and int(data[25]) == 4


def _encode_gray_alpha_png(gray: np.ndarray, alpha: np.ndarray) -> bytes:
    """A gray + alpha PNG (colour type 4, 8 or 16 bit), which OpenCV cannot write: the chunks by hand."""
    h, w = gray.shape
    depth = 16 if gray.dtype == np.uint16 else 8
    pairs = np.stack([gray, alpha], axis=-1).astype(">u2" if depth == 16 else np.uint8).reshape(h, -1)
    scanlines = np.concatenate([np.zeros((h, 1), np.uint8), pairs.view(np.uint8).reshape(h, -1)], axis=1)

    header = struct.pack(">IIBBBBB", w, h, depth, 4, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6))
            + png_chunk(b"IEND", b""))


def _needs_orientation(data: np.ndarray) -> bool:
    """Cheap test for an EXIF block (JPEG APP1, TIFF/WebP/PNG 'Exif') in the first 64 KiB."""
    head = data[:65536].tobytes()
    return b"Exif\x00\x00" in head or b"eXIf" in head or head[:4] in (b"II*\x00", b"MM\x00*")


def _to_samples(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    peak = 255.0 if bit_depth == 8 else 65535.0
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.round(np.clip(pixels, 0.0, 1.0) * peak).astype(dtype)


def check_image_path(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Check an output image path before any work (see :func:`zssr_deploy.files.check_output_path`)."""
    return check_output_path(path, overwrite, SUPPORTED_EXTENSIONS, ImageWriteError)


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    overwrite: bool = False,
    meta: FileMeta | None = None,
) -> Path:
    """Write ``pixels`` (float ``HxWxC`` or ``HxW`` in [0, 1], RGB) atomically (see :func:`encode_image`);
    returns the path.

    Raises :class:`ImageWriteError` when the file exists and ``overwrite`` is false, when the folder is
    missing or unwritable, or when the extension is not a supported image format.
    """
    p = check_image_path(path, overwrite)
    return write_bytes_atomic(p, encode_image(pixels, p.suffix, alpha, bit_depth, meta), overwrite, ImageWriteError)


def encode_image(pixels: np.ndarray, ext: str, alpha: np.ndarray | None = None, bit_depth: int = 8,
                 meta: FileMeta | None = None) -> bytes:
    """The file bytes of ``pixels`` (float ``HxWxC`` or ``HxW`` in [0, 1], RGB) in the format of extension ``ext``.

    Values are clipped to [0, 1] and rounded to ``bit_depth`` (8 or 16; formats without 16-bit support get 8);
    ``alpha`` (``HxW`` in [0, 1]) is stored beside them; ``meta`` (ICC profile, DPI, EXIF, XMP) where the format
    holds it (:func:`~zssr_deploy.filemeta.attach_meta`).
    """
    data = _encode(pixels, ext.lower(), alpha, bit_depth)
    if meta is None:
        return data
    if ext.lower() in (".tif", ".tiff") and bit_depth == 16 and np.ndim(pixels) == 3 and np.shape(pixels)[2] == 3:
        log.warning("a 16-bit colour TIFF keeps its pixels but not the input's ICC profile, DPI or EXIF; write PNG "
                    "to keep both")
        return data
    return attach_meta(data, ext, meta)


def _encode(pixels: np.ndarray, ext: str, alpha: np.ndarray | None, bit_depth: int) -> bytes:
    ext = ext.lower()
    arr = check_image(pixels, "pixels")
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
        if samples.shape[2] == 1 and ext == ".png":  # gray stays gray, alpha and all
            return _encode_gray_alpha_png(samples[..., 0], a)
        color = samples[..., ::-1] if samples.shape[2] == 3 else np.repeat(samples, 3, axis=2)
        out = np.dstack([color, a])
    ok, buf = cv2.imencode(ext, out)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode the image as {ext}")
    return buf.tobytes()


def encode_png(pixels: np.ndarray) -> bytes:
    """8-bit PNG bytes of ``pixels`` (float ``HxWxC`` or ``HxW`` in [0, 1], RGB), for embedding in a page."""
    samples = _to_samples(check_image(pixels, "pixels"), 8)
    ok, buf = cv2.imencode(".png", samples[..., 0] if samples.shape[2] == 1 else samples[..., ::-1])
    if not ok:
        raise ImageWriteError("OpenCV could not encode a PNG")
    return buf.tobytes()


def list_images(folder: str | Path) -> list[Path]:
    """The image files of a folder (by extension), sorted by name; :class:`ImageReadError` if there are none."""
    d = Path(folder)
    if not d.is_dir():
        raise ImageReadError(f"{str(d)!r} is not a folder of images")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file())
    if not files:
        raise ImageReadError(f"{str(d)!r} holds no images ({', '.join(SUPPORTED_EXTENSIONS)})")
    return files
