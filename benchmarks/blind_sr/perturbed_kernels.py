"""Blind-SR folders whose kernels are the true ones made wrong on purpose, one way at a time: what a kernel
estimate's width error or orientation error alone costs ZSSR.

    python benchmarks/blind_sr/perturbed_kernels.py widen LR_DIR OUT_DIR (--spread-ratio R | --sigma S) [--only NAME]
    python benchmarks/blind_sr/perturbed_kernels.py rotate LR_DIR OUT_DIR --degrees D [--only NAME]
    python benchmarks/blind_sr/perturbed_kernels.py others-mean LR_DIR OUT_DIR --estimates KERNELS_JSON [KERNELS_JSON ...]

Both copy a degraded folder's LR images (``zssr-deploy degrade``) and write, as each image's kernel, its true
kernel changed: ``widen`` composes it with an isotropic Gaussian of standard deviation ``S`` HR pixels, or of the
width that makes the composed kernel's spread (trace of its second moments) ``R`` times the true one's (spreads
add under composition); ``rotate`` turns it by ``D`` degrees about its centre of mass (counter-clockwise as
displayed, rows pointing down), keeping its principal widths. Each kernel is re-centred by ZSSR's rule and
normalised. ``evaluate --kernel true --lr OUT_DIR`` then fits ZSSR with it; ``widen.json`` / ``rotate.json``
record the kernels' second moments (principal variances and major-axis angle) against the true ones.

``others-mean`` asks whether an estimate knows its own image: each image gets the same kernel whatever it shows,
the mean of the x2 estimates that ``kernel_estimation.py`` kept for the *other* images of the given JSONs (its
own left out, and those the estimator rejected, whose runs disagree), so ZSSR with it is "an estimator that
returns one kernel for every image" scored fairly.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import moments, spread  # noqa: E402
from scipy import ndimage, signal

from zssr_deploy.blind.datasets import true_kernel
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.imageops.kernels import shift_kernel, write_kernel


def gaussian(sigma: float) -> np.ndarray:
    """A normalised isotropic Gaussian of ``sigma`` pixels on an odd grid of radius ``ceil(3 sigma)``."""
    r = max(1, math.ceil(3 * sigma))
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


def _finished(k: np.ndarray) -> np.ndarray:
    k = shift_kernel(np.clip(k, 0.0, None), 2.0)
    return k / k.sum()


def widened(kernel: np.ndarray, sigma: float) -> np.ndarray:
    """``kernel`` composed with :func:`gaussian` (``sigma``), re-centred by ZSSR's rule and normalised."""
    return _finished(signal.convolve2d(kernel, gaussian(sigma), mode="full"))


def rotated(kernel: np.ndarray, degrees: float) -> np.ndarray:
    """``kernel`` turned by ``degrees`` about its centre of mass (on a grid large enough for any
    angle; cubic spline), negative interpolation residue clipped, re-centred by ZSSR's rule and normalised."""
    k = np.asarray(kernel, np.float64)
    pad = int(math.ceil(max(k.shape) * 0.3)) + 2
    k = np.pad(k, pad)
    middle = (np.array(k.shape) - 1) / 2.0
    k = ndimage.shift(k, middle - np.array(ndimage.center_of_mass(k)), order=3)
    return _finished(ndimage.rotate(k, degrees, reshape=False, order=3))


def others_mean(estimates: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The mean of every estimate but ``name``'s (each already centred in the middle of the same grid)."""
    mean = np.mean([k for n, k in estimates.items() if n != name], axis=0)
    return _finished(mean)


def perturb(lr_dir: Path, out_dir: Path, only: list[str], change, what: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"from": str(lr_dir), **what, "images": {}}
    for png in sorted(lr_dir.glob("*.png")):
        if only and png.stem not in only:
            continue
        k = true_kernel(lr_dir, png.stem)
        new = change(png.stem, k)
        shutil.copyfile(png, out_dir / png.name)
        write_kernel(out_dir / f"{png.stem}.kernel.npy", new, overwrite=True)
        record["images"][png.stem] = {"true": moments(k), "perturbed": moments(new),
                                      "spread_ratio": round(spread(new) / spread(k), 4)}
        print(png.stem, record["images"][png.stem], flush=True)
    name = f"{what['command']}.json"
    write_bytes_atomic(out_dir / name, (json.dumps(record, indent=1) + "\n").encode(), overwrite=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    w = sub.add_parser("widen")
    g = w.add_mutually_exclusive_group(required=True)
    g.add_argument("--spread-ratio", type=float)
    g.add_argument("--sigma", type=float)
    r = sub.add_parser("rotate")
    r.add_argument("--degrees", type=float, required=True)
    o = sub.add_parser("others-mean")
    o.add_argument("--estimates", nargs="+", required=True, type=Path, help="kernel_estimation.py JSONs")
    for p in (w, r, o):
        p.add_argument("lr_dir", type=Path)
        p.add_argument("out_dir", type=Path)
        p.add_argument("--only", action="append", default=[], metavar="NAME", help="these images only (repeatable)")
    args = ap.parse_args()
    if args.command == "rotate":
        perturb(args.lr_dir, args.out_dir, args.only, lambda _n, k: rotated(k, args.degrees),
                {"command": "rotate", "degrees": args.degrees})
        return
    if args.command == "others-mean":
        estimates = {n: np.array(r["x2_kernel"]) for f in args.estimates
                     for n, r in json.loads(f.read_text())["images"].items() if r["used"]}
        if len({k.shape for k in estimates.values()}) != 1:
            ap.error("the estimates must share one grid size (kernel_estimation.py's x2 estimates do)")
        perturb(args.lr_dir, args.out_dir, args.only, lambda n, _k: others_mean(estimates, n),
                {"command": "others-mean", "estimates": [str(f) for f in args.estimates]})
        return
    if args.spread_ratio is not None and args.spread_ratio <= 1.0:
        ap.error("--spread-ratio must be above 1")

    def widen(_name: str, k: np.ndarray) -> np.ndarray:
        # an isotropic Gaussian of sigma adds 2 sigma^2 to the spread (trace of the second moments)
        sigma = args.sigma if args.sigma is not None else math.sqrt((args.spread_ratio - 1.0) * spread(k) / 2.0)
        return widened(k, sigma)

    perturb(args.lr_dir, args.out_dir, args.only, widen,
            {"command": "widen", **({"sigma": args.sigma} if args.sigma is not None else {"spread_ratio": args.spread_ratio})})


if __name__ == "__main__":
    main()
