"""What an image file carries besides its pixels, kept from input to output: the ICC colour profile, the
resolution (DPI, scaled by the factor so the print size stays the same), EXIF (its orientation already applied
to the pixels on read, so reset to 1; its pixel dimensions updated) and XMP.

Read with Pillow from the file's header (no pixel decode). Written by adding the format's own chunks to the
bytes OpenCV encoded, so no pixel is re-encoded: PNG (``iCCP``, ``pHYs``, ``eXIf``, ``iTXt`` XMP), JPEG (APP1
EXIF and XMP, APP2 ICC, the JFIF density). TIFF is re-saved losslessly by Pillow with its tags (8-bit, and 16-bit
gray; 16-bit colour keeps its pixels and loses the metadata, with a warning). BMP and WebP outputs keep none.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from dataclasses import dataclass, replace

__all__ = ["FileMeta", "attach_meta", "png_chunk", "read_meta"]

log = logging.getLogger(__name__)

_ORIENTATION, _EXIF_IFD, _PIXEL_X, _PIXEL_Y = 0x0112, 0x8769, 0xA002, 0xA003
_XMP_KEYWORD = b"XML:com.adobe.xmp"
#: TIFF tags that describe a file's layout, not the photo (sizes, strips, compression, samples, resolution held
#: in ``dpi``, the ICC profile and XMP held apart): dropped from EXIF, the output file writes its own
_STRUCTURE = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 282, 283, 284, 290, 291,
              296, 297, 317, 318, 319, 320, 321, 322, 323, 324, 325, 338, 339, 340, 341, 530, 531, 532, 700, 34675}


@dataclass(frozen=True)
class FileMeta:
    """Metadata of an image file that an output of it keeps."""

    icc: bytes | None = None
    """The ICC colour profile."""
    dpi: tuple[float, float] | None = None
    """Resolution (x, y) in pixels per inch."""
    exif: bytes | None = None
    """EXIF as a TIFF structure (no ``Exif\\0\\0`` prefix), orientation reset to 1."""
    xmp: bytes | None = None
    """The XMP packet."""

    def scaled(self, scale: tuple[float, float], size_hw: tuple[int, int]) -> FileMeta:
        """The metadata of an output ``scale`` (sy, sx) times larger: the resolution multiplied (the same print
        size), EXIF's pixel dimensions set to ``size_hw``."""
        dpi = None if self.dpi is None else (self.dpi[0] * scale[1], self.dpi[1] * scale[0])
        return replace(self, dpi=dpi, exif=_exif(self.exif, size_hw) if self.exif else None)


def _exif(raw: bytes, size_hw: tuple[int, int] | None) -> bytes | None:
    """EXIF with orientation 1 (and pixel dimensions ``size_hw``), as a TIFF structure; None if unreadable."""
    from PIL import Image

    try:
        exif = Image.Exif()
        exif.load(b"Exif\x00\x00" + raw if not raw.startswith(b"Exif") else raw)
        for tag in _STRUCTURE & set(exif):  # a TIFF's own layout tags (its IFD0 is its EXIF): not metadata
            del exif[tag]
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1  # the pixels were turned on read
        if size_hw is not None:
            sub = exif.get_ifd(_EXIF_IFD)
            if _PIXEL_X in sub or _PIXEL_Y in sub:
                sub[_PIXEL_X], sub[_PIXEL_Y] = size_hw[1], size_hw[0]
        data = exif.tobytes()
    except Exception as exc:  # malformed EXIF is dropped, never a failed image
        log.warning("EXIF not kept (unreadable: %s)", exc)
        return None
    return data[6:] if data.startswith(b"Exif\x00\x00") else data


def read_meta(data: bytes) -> FileMeta | None:
    """The metadata of an image file's bytes (None when it has none, or Pillow is missing or cannot tell)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            info = dict(im.info)
            exif = im.getexif()
            raw_exif = exif.tobytes() if len(exif) else None
    except Exception:  # anything Pillow cannot open: OpenCV decides whether the image is readable
        return None
    dpi = info.get("dpi")
    xmp = info.get("xmp") or info.get(_XMP_KEYWORD.decode())
    meta = FileMeta(icc=info.get("icc_profile") or None,
                    dpi=(float(dpi[0]), float(dpi[1])) if dpi and min(dpi) > 0 else None,
                    exif=_exif(raw_exif[6:] if raw_exif.startswith(b"Exif") else raw_exif, None) if raw_exif else None,
                    xmp=xmp.encode() if isinstance(xmp, str) else xmp)
    return meta if any((meta.icc, meta.dpi, meta.exif, meta.xmp)) else None


def attach_meta(encoded: bytes, ext: str, meta: FileMeta) -> bytes:
    """``encoded`` (OpenCV's file bytes for extension ``ext``) with ``meta`` added where the format holds it."""
    ext = ext.lower()
    if ext == ".png":
        return _png(encoded, meta)
    if ext in (".jpg", ".jpeg"):
        return _jpeg(encoded, meta)
    if ext in (".tif", ".tiff"):
        return _tiff(encoded, meta)
    return encoded


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(data: bytes, meta: FileMeta) -> bytes:
    chunks = []
    if meta.icc:
        chunks.append(png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(meta.icc)))
    if meta.dpi:  # pixels per metre
        chunks.append(png_chunk(b"pHYs", struct.pack(">IIB", round(meta.dpi[0] / 0.0254), round(meta.dpi[1] / 0.0254), 1)))
    if meta.exif:
        chunks.append(png_chunk(b"eXIf", meta.exif))
    if meta.xmp:
        chunks.append(png_chunk(b"iTXt", _XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + meta.xmp))
    end = 8 + 25  # signature, then IHDR (13 bytes of data + length, type, CRC)
    return data[:end] + b"".join(chunks) + data[end:]


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _jpeg(data: bytes, meta: FileMeta) -> bytes:
    pos, head = 2, data[:2]  # SOI
    if data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00":  # OpenCV's JFIF APP0: its density becomes the DPI
        length = struct.unpack(">H", data[4:6])[0]
        app0 = bytearray(data[2 : 4 + length])
        if meta.dpi:
            app0[11:16] = struct.pack(">BHH", 1, round(meta.dpi[0]), round(meta.dpi[1]))
        head, pos = head + bytes(app0), 4 + length
    segments = []
    if meta.exif:
        segments.append(_segment(0xE1, b"Exif\x00\x00" + meta.exif))
    if meta.xmp:
        segments.append(_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + meta.xmp))
    if meta.icc:
        parts = [meta.icc[i : i + 65519] for i in range(0, len(meta.icc), 65519)]
        segments += [_segment(0xE2, b"ICC_PROFILE\x00" + bytes([n + 1, len(parts)]) + part) for n, part in enumerate(parts)]
    return head + b"".join(segments) + data[pos:]


def _tiff(data: bytes, meta: FileMeta) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.mode not in ("L", "RGB", "RGBA", "I;16", "I;16B", "LA"):
            log.warning("a 16-bit colour TIFF keeps its pixels but not the input's ICC profile, DPI or EXIF "
                        "(Pillow cannot write it); write PNG to keep both")
            return data
        kwargs: dict = {}
        if meta.icc:
            kwargs["icc_profile"] = meta.icc
        if meta.dpi:
            kwargs["dpi"] = meta.dpi
        if meta.exif:
            kwargs["exif"] = b"Exif\x00\x00" + meta.exif
        out = io.BytesIO()
        try:
            im.save(out, "TIFF", compression="tiff_lzw", **kwargs)
        except RuntimeError:  # libtiff refuses some EXIF tags ("Error setting from dictionary"): uncompressed
            out = io.BytesIO()
            im.save(out, "TIFF", compression="raw", **kwargs)
    return out.getvalue()
