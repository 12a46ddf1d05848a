"""HR-father sampling: the released code's augmentation, done in torch on the training device.

Each call cuts one father from the sources (the input image and, in gradual SR, earlier outputs) without
touching the rest of the image, so the cost does not grow with the image size:

* p = ``leave_as_is``: a plain crop;
* p = ``no_interpolate``: a crop turned by a random multiple of 90 degrees and mirrored (exact, no
  interpolation; integer shift);
* otherwise affine: scale ~ U[min_scale, max_scale] relative to the chosen source (the smallest source whose
  base scale reaches it), x/y scale difference ~ N(0, sigma), shear ~ N(0, sigma) on both axes, rotation
  ~ U[0, 2 pi), mirror; bicubic sampling (``grid_sample``) of the crop grid only; zeros outside the source.

The crop is ``crop_size`` square, smaller when the (scaled) source is smaller (``father_placement="paper"``, the
default). ``father_placement="released"`` reproduces the released code's geometry instead: every father is a
``crop_size`` square canvas, the source is scaled/rotated about its centre, and the random shift is drawn
as if the scaled source's edge stayed at 0, so canvas pixels whose preimage falls outside the source are
zeros (about a fifth of the pixels at x2 on 140-256 pixel inputs, most of them on small inputs:
``benchmarks/quality/father_coverage.py``). With rotation disallowed (a non-symmetric kernel) there are no rotations
and no mirrors. Random parameters come from a seeded numpy
``Generator`` (a handful of scalars per iteration); the pixels never leave the device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from .config import ZSSRConfig

__all__ = ["AugmentSettings", "sample_father"]


@dataclass(frozen=True)
class AugmentSettings:
    """The fields of :class:`~zssr_deploy.trainers.config.ZSSRConfig` that father sampling reads (documented
    and defaulted there, once): build it with :meth:`from_config`."""

    leave_as_is_probability: float
    no_interpolate_probability: float
    min_scale: float
    scale_diff_sigma: float
    shear_sigma: float
    allow_rotation: bool
    crop_size: int
    father_placement: str

    @classmethod
    def from_config(cls, cfg: ZSSRConfig) -> AugmentSettings:
        """The augmentation fields of a fit's settings, by name."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls)})


def _linear_map(reflect: float, sx: float, sy: float, rot: np.ndarray, shx: float, shy: float) -> np.ndarray:
    """The forward 2x2 map of a father (source pixel -> father pixel, about centres):
    ``shear @ rotation @ scale(mirror)``, the released code's order."""
    scale_m = np.array([[reflect * sx, 0.0], [0.0, sy]])
    shear = np.array([[1.0, shx], [shy, 1.0]])
    return shear @ rot @ scale_m


def _rotation(theta: float) -> np.ndarray:
    return np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])


def _bicubic_at(src: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """``src`` (C, H, W) sampled bicubically at pixel coordinates ``(px, py)`` (pixel centres at integers);
    zeros outside, clipped to [0, 1]."""
    _, h, w = src.shape
    # grid_sample's normalised coordinates (align_corners=False): pixel centre i -> (2i + 1) / n - 1
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], dim=-1)[None]
    out = F.grid_sample(src[None], grid, mode="bicubic", padding_mode="zeros", align_corners=False)[0]
    return out.clamp(0.0, 1.0)


def _choose_mode(rng: np.random.Generator, s: AugmentSettings) -> str:
    u = rng.random()
    if u < s.leave_as_is_probability:
        return "leave_as_is"
    if u < s.leave_as_is_probability + s.no_interpolate_probability:
        return "no_interp"
    return "affine"


def _exact_crop(src: torch.Tensor, rng: np.random.Generator, s: AugmentSettings, rotate: bool) -> torch.Tensor:
    """Integer crop, then (optionally) a random multiple of 90 degrees and a mirror of the crop alone."""
    _, h, w = src.shape
    k = int(rng.integers(4)) if rotate else 0
    mirror = bool(rng.random() < 0.5) if rotate else False
    side = min(s.crop_size, h, w) if rotate else None
    ch, cw = (side, side) if side else (min(s.crop_size, h), min(s.crop_size, w))
    y0 = int(round(rng.random() * (h - ch)))
    x0 = int(round(rng.random() * (w - cw)))
    crop = src[:, y0 : y0 + ch, x0 : x0 + cw]
    if k:
        crop = torch.rot90(crop, k, dims=(1, 2))
    if mirror:
        crop = torch.flip(crop, dims=(2,))
    return crop


def _affine_crop(src: torch.Tensor, rng: np.random.Generator, s: AugmentSettings, scale: float) -> torch.Tensor:
    """Warp a crop of ``src`` by scale/shear/rotation/mirror; only the crop's pixels are computed."""
    _, h, w = src.shape
    sd = rng.standard_normal() * s.scale_diff_sigma
    reflect = float(np.sign(rng.standard_normal()) or 1.0) if s.allow_rotation else 1.0
    theta = rng.random() * 2 * math.pi if s.allow_rotation else 0.0
    shx, shy = rng.standard_normal(2) * s.shear_sigma
    sx_, sy_ = scale + sd / 2, scale - sd / 2
    sx_, sy_ = max(sx_, 0.05), max(sy_, 0.05)  # a negative draw would flip instead of scaling
    a_inv = np.linalg.inv(_linear_map(reflect, sx_, sy_, _rotation(theta), shx, shy))
    # crop size: at most the scaled source; centre drawn so the (unrotated) crop stays inside it
    ch = max(8, min(s.crop_size, int(math.floor(h * scale))))
    cw = max(8, min(s.crop_size, int(math.floor(w * scale))))
    cy = (h - 1) / 2.0 + (rng.random() - 0.5) * max(h * scale - ch, 0.0) / scale
    cx = (w - 1) / 2.0 + (rng.random() - 0.5) * max(w * scale - cw, 0.0) / scale
    # source coordinates of every crop pixel: centre + A^-1 (crop pixel - crop centre); the six affine
    # coefficients are Python floats, so nothing is copied to the device
    a, b, c, d = (float(v) for v in a_inv.ravel())
    tx = cx - a * (cw - 1) / 2 - b * (ch - 1) / 2
    ty = cy - c * (cw - 1) / 2 - d * (ch - 1) / 2
    ys = torch.arange(ch, device=src.device, dtype=torch.float32)
    xs = torch.arange(cw, device=src.device, dtype=torch.float32)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return _bicubic_at(src, gx * a + gy * b + tx, gx * c + gy * d + ty)


def _released_map(rng: np.random.Generator, s: AugmentSettings, mode: str, scale: float, h: int,
                  w: int) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """The released code's random father map ``q = A (p - c) - t + c`` (source pixel ``p`` to canvas pixel
    ``q``, pixel centres at integer coordinates): returns ``A`` (2x2, ``shear @ rotation @ scale(mirror)``),
    ``t`` and ``c``, each as (x, y). ``c`` is the source's centre ``(W/2, H/2)`` and ``t`` is drawn in
    ``[0, max(scale * side - crop, 0)]`` per axis, as if the scaled source's edge stayed at 0. Modes other
    than affine have scale 1, quarter turns and rounded ``c`` and ``t`` (an integer map)."""
    affine = mode == "affine"
    sd = rng.standard_normal() * s.scale_diff_sigma if affine else 0.0
    if not affine:
        scale = 1.0
    reflect = 1.0 if mode == "leave_as_is" or not s.allow_rotation else float(np.sign(rng.standard_normal()) or 1.0)
    tx = rng.random() * max(scale * w - s.crop_size, 0.0)
    ty = rng.random() * max(scale * h - s.crop_size, 0.0)
    theta = 0.0
    if s.allow_rotation and affine:
        theta = rng.random() * 2 * math.pi
    elif s.allow_rotation and mode == "no_interp":
        theta = int(rng.integers(4)) * math.pi / 2
    shx, shy = (rng.standard_normal(2) * s.shear_sigma) if affine else (0.0, 0.0)
    cx, cy = w / 2.0, h / 2.0
    rot = _rotation(theta)
    if not affine:
        # integer shifts and exact quarter turns keep these modes free of interpolation
        tx, ty, cx, cy = round(tx), round(ty), round(cx), round(cy)
        rot = np.round(rot)
    lin = _linear_map(reflect, scale + sd / 2, scale - sd / 2, rot, shx, shy)
    return lin, (float(tx), float(ty)), (float(cx), float(cy))


def _released_warp(src: torch.Tensor, lin: np.ndarray, t: tuple[float, float], c: tuple[float, float],
                   size: int, exact: bool) -> torch.Tensor:
    """Canvas ``(C, size, size)`` of ``src`` under ``q = lin (p - c) - t + c``; zeros where the preimage is
    outside ``src`` (OpenCV ``warpPerspective``'s constant border, the released code's call). ``exact``: the
    map is integer, so pixels are gathered, not interpolated; otherwise bicubic (``grid_sample``, a = -0.75
    as OpenCV's INTER_CUBIC), clipped to [0, 1]."""
    _, h, w = src.shape
    a, b, cc, d = (float(v) for v in np.linalg.inv(lin).ravel())
    # canvas pixel q -> source pixel p = lin^-1 (q + t - c) + c
    qs = torch.arange(size, device=src.device, dtype=torch.float32)
    gy, gx = torch.meshgrid(qs + (t[1] - c[1]), qs + (t[0] - c[0]), indexing="ij")
    px = gx * a + gy * b + c[0]
    py = gx * cc + gy * d + c[1]
    if exact:
        ix, iy = px.round().long(), py.round().long()
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        return src[:, iy.clamp(0, h - 1), ix.clamp(0, w - 1)] * inside.to(src.dtype)
    return _bicubic_at(src, px, py)


def _pick_source(sources: Sequence[torch.Tensor], base_scales: Sequence[float], max_scale: float,
                 rng: np.random.Generator, s: AugmentSettings, mode: str) -> tuple[torch.Tensor, float]:
    """The source a father is cut from and the father's scale relative to it: a scale ~ U[min_scale,
    max_scale] picks the smallest source whose base scale reaches it; a plain crop ("leave as is") takes
    the input at scale 1 and draws nothing."""
    if mode == "leave_as_is":
        return sources[0], 1.0
    scale = rng.random() * (max_scale - s.min_scale) + s.min_scale
    idx = next((i for i, b in enumerate(base_scales) if b > scale - 1e-6), len(base_scales) - 1)
    return sources[idx], scale / base_scales[idx]


def sample_father(
    sources: Sequence[torch.Tensor], base_scales: Sequence[float], max_scale: float,
    rng: np.random.Generator, settings: AugmentSettings,
) -> torch.Tensor:
    """One HR father ``(C, h, w)`` in [0, 1] from ``sources`` (each ``(C, H, W)`` on the training device).

    ``base_scales[i]`` is the scale of ``sources[i]`` relative to the input (1 for the input itself);
    ``max_scale`` caps the sampled scale (the newest source's scale).
    """
    mode = _choose_mode(rng, settings)
    src, scale = _pick_source(sources, base_scales, max_scale, rng, settings, mode)
    if settings.father_placement == "released":
        lin, t, c = _released_map(rng, settings, mode, scale, src.shape[1], src.shape[2])
        return _released_warp(src, lin, t, c, settings.crop_size, exact=mode != "affine")
    if mode == "leave_as_is":
        return _exact_crop(src, rng, settings, rotate=False)
    if mode == "no_interp":
        return _exact_crop(src, rng, settings, rotate=settings.allow_rotation)
    return _affine_crop(src, rng, settings, scale)
