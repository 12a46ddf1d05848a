"""How soft is each HR reference itself? KernelGAN run on the HR image (as if it were an LR input), beside the
kernel estimated from its LR image and the true kernel that made that LR image.

    python benchmarks/reference_softness.py ../shared/data/Set14 benchmarks/blind/set14_x2 \\
        --json benchmarks/results/reference_softness_set14.json [--resume] \\
        [--lr-estimates benchmarks/results/kernels_set14_x2.json]

Why: an LR image made as ``(HR * k) downscaled`` from an HR image that is itself blurred by ``b`` (``HR = scene * b``)
is ``(scene * b * k) downscaled``. From the LR image alone, ``b`` and ``k`` appear only composed, so a blind
estimator can at best find ``b * k``, whose spread (second moment) is ``spread(b) + spread(k)``; the benchmark
scores against the soft HR, for which ``k`` alone is right. ``hr_spread`` (the estimate on the HR image, in HR
pixels squared) measures how soft the reference is; ``--lr-estimates`` (``kernel_estimation.py``'s JSON on the LR
folder) joins each image's ``spread_ratio`` (LR estimate over true kernel), so the two can be compared per image.
``lscpu``'s model is recorded with the seconds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from kernel_estimation import cpu_model, spread

from zssr_deploy.datasets import true_kernel
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.io import read_image
from zssr_deploy.trainers.kernel_estimation import KernelEstimationConfig, estimate_kernel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr_dir")
    ap.add_argument("lr_dir", help="the degraded folder (its true kernels)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--lr-estimates", help="kernel_estimation.py's JSON on lr_dir (adds each LR spread ratio)")
    args = ap.parse_args()
    out = Path(args.json)
    done = json.loads(out.read_text()) if args.resume and out.exists() else {"cpu": cpu_model(), "images": {}}
    for lr in sorted(Path(args.lr_dir).glob("*.png")):
        name = lr.stem
        if name in done["images"]:
            continue
        hr = next(Path(args.hr_dir).glob(name + ".*"))
        est = estimate_kernel(read_image(hr).pixels, 2.0, KernelEstimationConfig(seed=args.seed))
        row = {"hr_spread": round(spread(est.x2_kernel), 4), "true_spread": round(spread(true_kernel(args.lr_dir, name)), 4),
               "hr_agreement_db": round(min(est.agreement, 99.0), 2), "seconds": round(est.seconds, 1)}
        done["images"][name] = row
        print(name, row, flush=True)
        write_bytes_atomic(out, (json.dumps(done, indent=1) + "\n").encode(), overwrite=True)
    lr_est = json.loads(Path(args.lr_estimates).read_text())["images"] if args.lr_estimates else {}
    print("| image | HR estimate's spread | true kernel's spread | LR estimate / true kernel |")
    print("|---|---|---|---|")
    for name, row in sorted(done["images"].items(), key=lambda item: item[1]["hr_spread"]):
        ratio = lr_est.get(name, {}).get("spread_ratio", float("nan"))
        print(f"| {name} | {row['hr_spread']:.2f} | {row['true_spread']:.2f} | {ratio:.2f} |")
    names = [n for n in done["images"] if n in lr_est]
    if len(names) > 2:
        x = np.array([done["images"][n]["hr_spread"] / done["images"][n]["true_spread"] for n in names])
        y = np.array([lr_est[n]["spread_ratio"] for n in names])
        print(f"correlation of the LR estimate's spread ratio with HR spread / true spread over {len(names)} images: "
              f"{np.corrcoef(x, y)[0, 1]:.2f}; seconds on {done['cpu']}")


if __name__ == "__main__":
    main()
