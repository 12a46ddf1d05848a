"""Does the patch-recurrence criterion see a kernel's shape? For one corpus LR image: the criterion of the true
kernel's two variances turned through every angle (15-degree steps), and of the narrowed and used Gaussians,
each relative to the best Gaussian's (1.0; the narrowing accepts up to 1 + ``RecurrenceConfig.margin``).

    python benchmarks/blind_sr/shape_profile.py benchmarks/blind/corpus/test/x4_s11/budgie-ocean-waves.png --scale 4

The image's estimate row (``--facts``, default: the corpus results file beside the folder's name) gives the best
Gaussian and its narrowing; the true kernel is the folder's ``NAME.kernel.npy`` (at x4 the x2 kernel composed with
itself: its covariance over 5 is the x2 kernel's). Kernel only: the criterion on one thread, seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from zssr_deploy.blind.config import RecurrenceConfig
from zssr_deploy.blind.recurrence import RecurrenceCriterion, gaussian_kernel
from zssr_deploy.io import read_image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import x2_covariance  # noqa: E402


def estimate_facts(lr: Path, scale: int, facts: str | None) -> dict:
    """The Gaussian facts of the image's estimate row (corpus results: corpus_HALF_xS_sSEED_estimate.json)."""
    if facts is None:
        half, seed = lr.parents[1].name, lr.parent.name.split("_s")[1]
        facts = str(ROOT / "benchmarks" / "results" / f"corpus_{half}" / f"corpus_{half}_x{scale}_s{seed}_estimate.json")
    rows = {i["name"]: i for i in json.loads(Path(facts).read_text())["images"]}
    return rows[lr.stem]["fit"]["kernel"]["gaussian"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lr", type=Path)
    ap.add_argument("--scale", type=int, choices=(2, 4), default=2)
    ap.add_argument("--facts", default=None, help="the results JSON holding the image's estimate row")
    args = ap.parse_args()
    torch.set_num_threads(1)
    config = RecurrenceConfig()
    criterion = RecurrenceCriterion(read_image(args.lr).pixels, config, torch.device("cpu"))
    g = estimate_facts(args.lr, args.scale, args.facts)
    truth = x2_covariance(np.load(args.lr.with_name(f"{args.lr.stem}.kernel.npy")), args.scale)
    (minor, major), axes = np.linalg.eigh(truth)
    true_angle = float(np.degrees(np.arctan2(axes[1, 1], axes[0, 1])) % 180.0)

    def relative(a: float, b: float, t: float) -> float:
        return criterion(gaussian_kernel(a, b, t, config.size)) / best

    a, b, t = *g["variances"], g["angle"]
    best = criterion(gaussian_kernel(a, b, t, config.size))
    f = g["confidence"]
    print(f"best Gaussian {a:.2f} / {b:.2f} at {t:.0f} degrees (1.0); narrowed x{f:.2f}: {relative(a * f, b * f, t):.4f}; "
          f"used {g['used_variances'][0]:.2f} / {g['used_variances'][1]:.2f}: {relative(*g['used_variances'], t):.4f}; "
          f"accepted up to {1 + config.margin:.3f}")
    print(f"the true kernel's variances {major:.2f} / {minor:.2f} (x2 units; truly at {true_angle:.0f} degrees: "
          f"{relative(major, minor, true_angle):.4f}) by the angle of its major axis:")
    print("| degrees | criterion / best |\n|---|---|")
    for degrees in range(0, 180, 15):
        print(f"| {degrees} | {relative(major, minor, degrees):.4f} |")


if __name__ == "__main__":
    main()
