"""Blind-SR data for two questions about too-wide kernel estimates: what a kernel too wide by a given spread
costs ZSSR, and what happens when the HR reference is itself soft.

    python benchmarks/soft_reference.py widen LR_DIR OUT_DIR (--spread-ratio R | --sigma S)
    python benchmarks/soft_reference.py soften HR_DIR OUT_DIR --sigma S

``widen`` copies a degraded folder's LR images (``zssr-deploy degrade``) and writes, as each image's kernel,
its true kernel composed with an isotropic Gaussian: of standard deviation ``S`` HR pixels, or of the width that
makes the composed kernel's spread ``R`` times the true one's (spreads add under composition). ``evaluate
--kernel true --lr OUT_DIR`` then fits ZSSR with that kernel. ``soften`` writes each HR image blurred by a Gaussian
of ``S`` pixels (8-bit PNG): a reference that is itself soft. Degrading a softened folder with ``degrade``
gives LR images made as ``(HR * b * k) downscaled``; in them ``b`` and ``k`` appear only composed, which is what
``widen --sigma S`` on that folder hands ZSSR (the blur an estimator that sees only the LR image can find at
best), while the true kernel ``k`` is what the soft reference calls right.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import numpy as np
from kernel_estimation import spread
from scipy import ndimage, signal

from zssr_deploy.datasets import true_kernel, write_kernel
from zssr_deploy.evaluate import list_images
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.imageops.kernels import shift_kernel
from zssr_deploy.io import read_image, write_image


def gaussian(sigma: float) -> np.ndarray:
    """A normalised isotropic Gaussian of ``sigma`` pixels on an odd grid of radius ``ceil(3 sigma)``."""
    r = max(1, math.ceil(3 * sigma))
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


def widened(kernel: np.ndarray, sigma: float) -> np.ndarray:
    """``kernel`` composed with :func:`gaussian` (``sigma``), re-centred by ZSSR's rule and normalised."""
    k = shift_kernel(signal.convolve2d(kernel, gaussian(sigma), mode="full"), 2.0)
    return k / k.sum()


def widen(lr_dir: Path, out_dir: Path, ratio: float | None, sigma: float | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"from": str(lr_dir), "spread_ratio": ratio, "sigma": sigma, "images": {}}
    for png in sorted(lr_dir.glob("*.png")):
        k = true_kernel(lr_dir, png.stem)
        # an isotropic Gaussian of sigma adds 2 sigma^2 to the spread (trace of the second moments)
        s = sigma if sigma is not None else math.sqrt((ratio - 1.0) * spread(k) / 2.0)  # type: ignore[operator]
        wide = widened(k, s)
        shutil.copyfile(png, out_dir / png.name)
        write_kernel(out_dir / f"{png.stem}.kernel.npy", wide, overwrite=True)
        record["images"][png.stem] = {"sigma": round(s, 4), "spread_ratio": round(spread(wide) / spread(k), 4)}
        print(png.stem, record["images"][png.stem], flush=True)
    write_bytes_atomic(out_dir / "widen.json", (json.dumps(record, indent=1) + "\n").encode(), overwrite=True)


def soften(hr_dir: Path, out_dir: Path, sigma: float) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in list_images(hr_dir):
        img = read_image(f).pixels.astype(np.float64)
        soft = np.stack([ndimage.gaussian_filter(img[..., c], sigma, mode="reflect") for c in range(img.shape[2])], -1)
        write_image(out_dir / f"{f.stem}.png", np.clip(soft, 0.0, 1.0), bit_depth=8, overwrite=True)
        print(f.stem, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    w = sub.add_parser("widen")
    w.add_argument("lr_dir", type=Path)
    w.add_argument("out_dir", type=Path)
    g = w.add_mutually_exclusive_group(required=True)
    g.add_argument("--spread-ratio", type=float)
    g.add_argument("--sigma", type=float)
    s = sub.add_parser("soften")
    s.add_argument("hr_dir", type=Path)
    s.add_argument("out_dir", type=Path)
    s.add_argument("--sigma", type=float, required=True)
    args = ap.parse_args()
    if args.command == "widen":
        if args.spread_ratio is not None and args.spread_ratio <= 1.0:
            ap.error("--spread-ratio must be above 1")
        widen(args.lr_dir, args.out_dir, args.spread_ratio, args.sigma)
    else:
        soften(args.hr_dir, args.out_dir, args.sigma)


if __name__ == "__main__":
    main()
