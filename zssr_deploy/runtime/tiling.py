"""Tile plans for exact tiled inference.

A tile owns the LR rows/columns ``[y0, y1) x [x0, x1)`` and the HR pixels they map to; it is computed from a
larger *region* (the tile plus ``halo`` LR pixels of context, clipped to the image). For a factor ``p/q`` every
region starts at a multiple of ``q`` and ends at a position congruent to the image side modulo ``q``: then
the region's resampling grid coincides with the whole image's for all eight geometric transforms, including
the ones anchored at the far edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..imageops.scale import output_length

__all__ = ["Tile", "plan_tiles"]


@dataclass(frozen=True)
class Tile:
    src: tuple[int, int, int, int]
    """LR region (y0, y1, x0, x1) fed to the model."""
    crop: tuple[int, int, int, int]
    """Part of the region's HR output that belongs to the tile (y0, y1, x0, x1)."""
    dst: tuple[int, int, int, int]
    """Where that part goes in the full HR output (y0, y1, x0, x1)."""


def _axis(n: int, tile: int, halo: int, scale: float, q: int, min_size: int, fixed: int | None) -> list[tuple]:
    step = max(q, (tile // q) * q)
    out_n = output_length(n, scale)
    spans = []
    for start in range(0, n, step):
        end = min(start + step, n)
        rs = max(0, ((start - halo) // q) * q)
        re = min(n, end + halo)
        re = n - ((n - re) // q) * q  # congruent to n modulo q, at least end + halo (or n)
        if fixed is not None:
            # a static graph takes exactly `fixed` pixels: extend the region inside the image where possible
            if re - rs < fixed:
                re = min(n, rs + fixed)
                re = n - ((n - re) // q) * q
                rs = max(0, min(rs, ((re - fixed) // q) * q)) if re - rs < fixed else rs
        if re - rs < min_size:
            rs = max(0, ((re - min_size) // q) * q)
        o0 = round(start * scale)
        o1 = out_n if end == n else round(end * scale)
        r0 = round(rs * scale)
        spans.append(((rs, re), (o0 - r0, o1 - r0), (o0, o1)))
    return spans


def plan_tiles(hw: Sequence[int], tile: int, halo: int, scale: Sequence[float], align: Sequence[int],
               min_size: int = 8, static_shape: Sequence[int] | None = None) -> list[Tile]:
    """Tiles covering an ``h x w`` LR image; :class:`ConfigError` when ``tile`` is smaller than ``halo``."""
    if tile < 1:
        raise ConfigError(f"tile size must be positive, got {tile}")
    if tile < halo:
        raise ConfigError(f"tile {tile} is smaller than the model's halo of {halo} LR pixels: use --tile {halo} or more")
    if static_shape is not None and (tile + 2 * halo > min(static_shape)):
        tile = min(static_shape) - 2 * halo
        if tile < halo:
            raise ConfigError(f"the model's static shape {tuple(static_shape)} is too small for its halo {halo}")
    rows = _axis(hw[0], tile, halo, scale[0], align[0], min_size, static_shape[0] if static_shape else None)
    cols = _axis(hw[1], tile, halo, scale[1], align[1], min_size, static_shape[1] if static_shape else None)
    return [Tile((r[0][0], r[0][1], c[0][0], c[0][1]), (r[1][0], r[1][1], c[1][0], c[1][1]),
                 (r[2][0], r[2][1], c[2][0], c[2][1])) for r in rows for c in cols]
