"""How much of each HR father is image, and how much is zero fill: this trainer against the released code's rule.

    python benchmarks/quality/father_coverage.py [--draws 4000] [--sides 72x72 138x138 256x384]

One-jump x2 setting (one source, the input; max scale 1), the default augmentation probabilities and
parameters. Both columns come from ``trainers.augment.sample_father`` on an all-ones image, once with the
default placement (``father_placement="paper"``: crops inside the scaled source, smaller for small sources)
and once with ``"released"`` (the released code's fixed canvas, scaled about the source's centre with the
shift drawn as if the edge stayed at 0; tests/trainers/test_augment.py checks it against OpenCV's
``warpPerspective``, the released code's call). A father pixel counts as fill when its value is under 0.5
(bicubic sampling blends the one-pixel seam). Pure geometry: no training, seconds.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from zssr_deploy.trainers.augment import AugmentSettings, sample_father
from zssr_deploy.trainers.config import ZSSRConfig


def fill_fractions(h: int, w: int, placement: str, draws: int) -> tuple[np.ndarray, float]:
    """Zero-fill fraction of each of ``draws`` fathers from an ``h x w`` input, and their mean area (pixels)."""
    src = torch.ones(3, h, w)
    rng = np.random.default_rng(0)
    s = AugmentSettings.from_config(ZSSRConfig(father_placement=placement))
    fathers = [sample_father([src], [1.0], 1.0, rng, s) for _ in range(draws)]
    fill = np.array([float((f[0] < 0.5).float().mean()) for f in fathers])
    return fill, float(np.mean([f.shape[1] * f.shape[2] for f in fathers]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--sides", nargs="+", default=["72x72", "138x138", "256x384"], help="HxW of the LR input")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"{'input HxW':>10} | {'released: fill, fathers >1 % fill':>34} | {'ours: fill, fathers >1 % fill, mean area':>42}")
    for side in args.sides:
        h, w = (int(v) for v in side.split("x"))
        rel, _ = fill_fractions(h, w, "released", args.draws)
        ours, area = fill_fractions(h, w, "paper", args.draws)
        print(f"{side:>10} | {rel.mean():>14.1%} {np.mean(rel > 0.01):>19.1%} | "
              f"{ours.mean():>14.1%} {np.mean(ours > 0.01):>14.1%} {area:>11.0f} px")


if __name__ == "__main__":
    main()
