"""How much of each HR father is image, and how much is zero fill: this trainer against the released code's rule.

    python benchmarks/father_coverage.py [--draws 4000] [--sides 72x72 138x138 256x384]

One-jump x2 setting (one source, the input; max scale 1), the default augmentation probabilities and
parameters. Ours: ``trainers.augment.sample_father`` on an all-ones image; a father pixel counts as fill when
its value is under 0.5 (bicubic sampling blends the one-pixel seam). Released code's rule, re-derived here
from its description (``random_augment`` in the authors' ``utils.py``): every father is warped onto a fixed
``crop x crop`` canvas; the forward map is shift_back(c) . shift(-t) . shear . rotation . scale . shift(-c)
with ``c`` the source's centre and ``t ~ U[0, max(scale * side - crop, 0)]`` per axis, so the window sits at
the canvas origin while the transformed image stays centred on ``c - t``; a pixel is fill when its preimage
falls outside the source (checked per father against OpenCV's warp of an all-ones image with the same
matrix). Pure geometry: no training, seconds.
"""

from __future__ import annotations

import argparse
import math

import cv2
import numpy as np
import torch

from zssr_deploy.trainers.augment import AugmentSettings, _choose_mode, sample_father


def released_fill_fraction(h: int, w: int, rng: np.random.Generator, s: AugmentSettings) -> tuple[float, float]:
    """Fraction of one released-code father (crop x crop canvas) whose preimage lies outside an h x w source,
    and the same fraction measured by warping an all-ones image with OpenCV's ``warpPerspective`` (cubic, the
    released code's call) with the same 3x3 forward matrix: a check of the geometry above."""
    mode = _choose_mode(rng, s)  # the same three-way draw as ours
    scale = 1.0 if mode == "leave_as_is" else rng.random() * (1.0 - s.min_scale) + s.min_scale
    if mode == "affine":
        diff = rng.standard_normal() * s.scale_diff_sigma
    else:
        scale, diff = 1.0, 0.0
    reflect = 1.0 if mode == "leave_as_is" else float(np.sign(rng.standard_normal()) or 1.0)
    tx = rng.random() * max(scale * w - s.crop_size, 0.0)
    ty = rng.random() * max(scale * h - s.crop_size, 0.0)
    cx, cy = w / 2.0, h / 2.0
    if mode != "affine":  # integer shifts keep those modes interpolation free
        tx, ty, cx, cy = round(tx), round(ty), round(cx), round(cy)
    theta = 0.0
    if mode == "affine":
        theta = rng.random() * 2 * math.pi
    elif mode == "no_interp":
        theta = int(rng.integers(4)) * math.pi / 2
    shx, shy = (rng.standard_normal() * s.shear_sigma, rng.standard_normal() * s.shear_sigma) if mode == "affine" else (0.0, 0.0)
    lin = (np.array([[1.0, shx], [shy, 1.0]])
           @ np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
           @ np.array([[reflect * (scale + diff / 2), 0.0], [0.0, scale - diff / 2]]))
    # canvas pixel q = lin (p - c) + c - t  =>  p = lin^-1 (q - c + t) + c
    qy, qx = np.mgrid[0 : s.crop_size, 0 : s.crop_size].astype(np.float64)
    inv = np.linalg.inv(lin)
    vx, vy = qx - cx + tx, qy - cy + ty
    px = inv[0, 0] * vx + inv[0, 1] * vy + cx
    py = inv[1, 0] * vx + inv[1, 1] * vy + cy
    outside = (px < -0.5) | (px > w - 0.5) | (py < -0.5) | (py > h - 0.5)
    fwd = np.eye(3)
    fwd[:2, :2] = lin
    fwd[:2, 2] = np.array([cx, cy]) - np.array([tx, ty]) - lin @ np.array([cx, cy])
    warped = cv2.warpPerspective(np.ones((h, w), np.float32), fwd, (s.crop_size, s.crop_size), flags=cv2.INTER_CUBIC)
    return float(outside.mean()), float((warped < 0.5).mean())


def ours_fill_fraction(src: torch.Tensor, rng: np.random.Generator, s: AugmentSettings) -> tuple[float, int]:
    father = sample_father([src], [1.0], 1.0, rng, s)
    return float((father[0] < 0.5).float().mean()), int(father.shape[1] * father.shape[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--sides", nargs="+", default=["72x72", "138x138", "256x384"], help="HxW of the LR input")
    args = ap.parse_args()
    s = AugmentSettings()
    print(f"{'input HxW':>10} | {'released: fill, fathers >1 % fill':>34} | {'ours: fill, fathers >1 % fill, mean area':>42}")
    for side in args.sides:
        h, w = (int(v) for v in side.split("x"))
        rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
        pairs = np.array([released_fill_fraction(h, w, rng_a, s) for _ in range(args.draws)])
        rel, worst = pairs[:, 0], float(np.abs(pairs[:, 0] - pairs[:, 1]).max())
        src = torch.ones(3, h, w)
        ours = [ours_fill_fraction(src, rng_b, s) for _ in range(args.draws)]
        fill = np.array([f for f, _ in ours])
        area = np.mean([a for _, a in ours])
        print(f"{side:>10} | {rel.mean():>14.1%} {np.mean(rel > 0.01):>19.1%} | "
              f"{fill.mean():>14.1%} {np.mean(fill > 0.01):>14.1%} {area:>11.0f} px"
              f"   (geometry vs cv2.warpPerspective: max {worst:.1e} of a father)")


if __name__ == "__main__":
    main()
