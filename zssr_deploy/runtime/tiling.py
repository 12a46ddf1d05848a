"""Tile plans for exact tiled inference.

A tile owns the LR rows/columns ``[y0, y1) x [x0, x1)`` and the HR pixels they map to; it is computed from a
larger *region* (the tile plus ``halo`` LR pixels of context, clipped to the image). For a factor ``p/q`` every
region starts at a multiple of ``q`` and ends at a position congruent to the image side modulo ``q``: then
the region's resampling grid coincides with the whole image's for all eight geometric transforms, including
the ones anchored at the far edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..imageops.scale import output_length

__all__ = ["LIVE_TENSORS", "MAX_TENSOR_ELEMENTS", "Tile", "plan_tiles", "tile_side"]


@dataclass(frozen=True)
class Tile:
    src: tuple[int, int, int, int]
    """LR region (y0, y1, x0, x1) fed to the model."""
    crop: tuple[int, int, int, int]
    """Part of the region's HR output that belongs to the tile (y0, y1, x0, x1)."""
    dst: tuple[int, int, int, int]
    """Where that part goes in the full HR output (y0, y1, x0, x1)."""


def _axis(n: int, tile: int, halo: int, scale: float, q: int, min_size: int, fixed: int | None,
          uniform: bool) -> list[tuple]:
    step = max(q, (tile // q) * q)
    # balanced: as many tiles as `tile` needs, of sizes as equal as the alignment allows (no thin last tile)
    k = math.ceil(n / step)
    step = max(q, math.ceil(math.ceil(n / k) / q) * q)
    if uniform and fixed is None:
        fixed = min(n, step + 2 * halo)  # every region an interior one's size: extended into the image
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
               min_size: int = 8, static_shape: Sequence[int] | None = None, uniform: bool = False) -> list[Tile]:
    """Tiles of at most ``tile`` LR pixels a side, as equal as the alignment allows, covering an ``h x w`` LR
    image; :class:`ConfigError` when ``tile`` is smaller than ``halo``.

    ``uniform``: every region the size of an interior one (edge regions take more of the image instead of less
    context), so a GPU meets one input shape (for integer factors; within the alignment otherwise): one cuDNN
    algorithm search, one set of buffers. The pixels are the same either way."""
    if tile < 1:
        raise ConfigError(f"tile size must be positive, got {tile}")
    if tile < halo:
        raise ConfigError(f"tile {tile} is smaller than the model's halo of {halo} LR pixels: use --tile {halo} or more")
    if static_shape is not None and (tile + 2 * halo > min(static_shape)):
        tile = min(static_shape) - 2 * halo
        if tile < halo:
            raise ConfigError(f"the model's static shape {tuple(static_shape)} is too small for its halo {halo}")
    rows = _axis(hw[0], tile, halo, scale[0], align[0], min_size, static_shape[0] if static_shape else None, uniform)
    cols = _axis(hw[1], tile, halo, scale[1], align[1], min_size, static_shape[1] if static_shape else None, uniform)
    return [Tile((r[0][0], r[0][1], c[0][0], c[0][1]), (r[1][0], r[1][1], c[1][0], c[1][1]),
                 (r[2][0], r[2][1], c[2][0], c[2][1])) for r in rows for c in cols]


#: cuDNN refuses a tensor of 2**31 elements or more (CUDNN_STATUS_NOT_SUPPORTED: a 2048x2048 x2 image, whole,
#: on an H200); ONNX Runtime's CPU provider indexes with 64 bits but gains nothing from larger tensors either
MAX_TENSOR_ELEMENTS = 2**31 - 1
#: tensors of the network's width alive at once in a forward pass (input and output of a layer, the skip, slack)
LIVE_TENSORS = 4


def tile_side(hw: Sequence[int], elements_per_pixel: int, scale: Sequence[float], halo: int, *,
              max_elements: int = MAX_TENSOR_ELEMENTS, memory_bytes: int | None = None, granule: int = 64) -> int | None:
    """The tile side (LR pixels, a multiple of ``granule``, at least ``granule``) for an ``h x w`` image, or None
    when the whole image fits in one pass.

    ``elements_per_pixel``: elements of the graph's largest tensor per HR output pixel (ensemble members run as
    one batch times the network's width: ``zssr.tensor_elements``). A pass fits when that tensor, over the
    region it computes (the tile plus ``halo`` LR pixels of context on each side), stays under ``max_elements``
    and, with ``memory_bytes`` given (the provider's free memory to use), when :data:`LIVE_TENSORS` float32
    tensors of that size fit in it."""
    per_lr_pixel = elements_per_pixel * scale[0] * scale[1]
    budget = float(max_elements)
    if memory_bytes is not None:
        budget = min(budget, memory_bytes / (4.0 * LIVE_TENSORS))
    if hw[0] * hw[1] * per_lr_pixel <= budget:
        return None
    side = int((budget / per_lr_pixel) ** 0.5) - 2 * halo
    return max(granule, side // granule * granule)
