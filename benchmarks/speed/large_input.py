"""Training cost does not grow with the image: time N iterations on a 500x500 and a 4000x3000 input.

    python benchmarks/speed/large_input.py [--iters 100]

Fathers are cut from the source without warping it whole, and the reconstruction test runs on fixed crops
once the image is large, so both fits should take about the same time (final inference excluded).
"""

from __future__ import annotations

import argparse

import numpy as np

from zssr_deploy.trainers import ZSSRConfig, fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=100)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    times = {}
    for hw in [(500, 500), (3000, 4000)]:
        img = rng.random(hw + (3,), dtype=np.float32)
        res = fit(img, ZSSRConfig(max_iters=args.iters, device="cpu", seed=0, precision="fp32"), final_inference=False)
        times[hw] = res.steps[0].seconds
        print(f"{hw[1]}x{hw[0]}: {args.iters} iterations in {times[hw]:.1f} s")
    print(f"ratio large / small: {times[(3000, 4000)] / times[(500, 500)]:.2f}")


if __name__ == "__main__":
    main()
