"""MATLAB ``rgb2ycbcr`` / ``ycbcr2rgb`` (ITU-R BT.601, studio swing) for float images in [0, 1].

Arrays are ``HxWx3`` RGB, float, values in [0, 1]; YCbCr comes back on the same [0, 1] scale as MATLAB
returns for double input (Y in [16/255, 235/255]).
"""

from __future__ import annotations

import numpy as np

__all__ = ["rgb2ycbcr", "rgb_to_y255", "ycbcr2rgb"]

_M = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]], dtype=np.float64
)
_OFFSET = np.array([16.0, 128.0, 128.0])


def rgb2ycbcr(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` for double input in [0, 1]; float64 output on the [0, 1] scale."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return (rgb @ _M.T + _OFFSET) / 255.0


def ycbcr2rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb2ycbcr` (MATLAB ``ycbcr2rgb`` for double input); not clipped."""
    ycc = np.asarray(ycc, dtype=np.float64)
    return (ycc * 255.0 - _OFFSET) @ np.linalg.inv(_M).T


def rgb_to_y255(rgb: np.ndarray) -> np.ndarray:
    """Luma on the 0..255 scale, ``16 + 65.481 R + 128.553 G + 24.966 B``, not rounded (float64).

    A single-channel image (``HxW`` or ``HxWx1``) is returned as its own intensity times 255 (no offset).
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim == 2:
        return rgb * 255.0
    if rgb.shape[2] == 1:
        return rgb[..., 0] * 255.0
    return 16.0 + rgb[..., :3] @ _M[0]
