"""The one shape guard for image arrays (as kornia's ``KORNIA_CHECK_SHAPE``): every module that takes an
image checks it here, so the contract and its error messages are stated once.

Contract: ``HxW`` or ``HxWxC`` (a 2-D array is one channel), any real dtype; the caller names the channel
counts it accepts, the smallest side it can work with and whether values must be finite.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidImageError

__all__ = ["check_image"]


def check_image(img: object, what: str = "image", *, channels: Sequence[int] | None = (1, 3), min_side: int = 1,
                finite: bool = False, needs: str = "this operation", unit: bool = False) -> np.ndarray:
    """``img`` as an ``HxWxC`` array (a view; a 2-D array gains a channel axis), or :class:`InvalidImageError`.

    Args:
        img: the array to check.
        what: how the message names it ("image", "pixels", "reference"...).
        channels: the channel counts accepted (None: any).
        min_side: the smallest height and width accepted.
        finite: refuse NaN and infinite values.
        needs: who needs ``min_side`` ("ZSSR", "this model"), for the message.
        unit: the values are pixels in [0, 1]: an integer or boolean array (uint8 0-255, uint16) is refused with
            the conversion to make (clipping 0-255 to [0, 1] would turn most of the image white).
    """
    raw = np.asarray(img)
    if unit and raw.dtype.kind in "biu":
        peak = f" / {np.iinfo(raw.dtype).max}" if raw.dtype.kind in "iu" else ""
        raise InvalidImageError(f"{what}: a {raw.dtype} array; pixels are floats in [0, 1]: pass "
                                f"img.astype(np.float32){peak} (or read files with zssr_deploy.read_image)")
    a = raw[..., None] if raw.ndim == 2 else raw
    if a.ndim != 3 or (channels is not None and a.shape[2] not in channels):
        want = "an HxW or HxWxC array" + ("" if channels is None else f" with C = {' or '.join(map(str, channels))}")
        raise InvalidImageError(f"{what}: expected {want}, got shape {raw.shape}")
    h, w = a.shape[:2]
    if min(h, w) < min_side:
        raise InvalidImageError(f"the {what} is {h}x{w}; {needs} needs at least {min_side} pixels per side")
    if finite and not np.all(np.isfinite(a)):
        raise InvalidImageError(f"the {what} holds NaN or infinite values")
    return a
