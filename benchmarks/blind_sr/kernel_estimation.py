"""Kernel estimation alone on a blind-SR folder: kernel PSNR of the estimate and of "assume bicubic" against
the true kernel, how much the runs agree, the image's detail, and seconds (``lscpu`` model printed with the timings).

    python benchmarks/blind_sr/kernel_estimation.py benchmarks/blind/set5_x2 \\
        --json benchmarks/results/kernel_estimates/kernels_set5_x2.json [--resume] [--method kernelgan|recurrence]

Make the folder first: ``zssr-deploy degrade DATA/Set5 -o benchmarks/blind/set5_x2 --seed 0``.

``--bootstrap`` (x2 only) adds a parametric-bootstrap check of the estimator's width bias: the LR image is
degraded by 2 with its own estimate (8-bit, as the LR files), the kernel is estimated again on that, and
``bootstrap_spread_ratio`` is the second estimate's spread over the first's. An estimator that is too wide on an
image in a way the image's content causes should be too wide again on its own re-degradation (ratio above 1).
``--halves`` adds the estimates from the image's two halves and how far apart they are (a confidence candidate).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from zssr_deploy.blind.config import KERNEL_ESTIMATORS, KernelEstimationConfig
from zssr_deploy.blind.datasets import true_kernel
from zssr_deploy.blind.estimate import (
    estimate_kernel,
    kernel_psnr,
    stretch_kernel,
)
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.imageops.degrade import degrade
from zssr_deploy.imageops.kernels import bicubic_kernel
from zssr_deploy.io import read_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model, spread  # noqa: E402


def halves(img: np.ndarray, scale: float, cfg: KernelEstimationConfig) -> dict:
    """The estimate from each half of the image (cut across its longer side), and how far apart they are: the
    spread of the wider over the narrower (1: they agree on the width) and their kernel PSNR. A confidence
    candidate: an image whose halves disagree carries less evidence about its kernel than one whose halves agree."""
    h, w = img.shape[:2]
    parts = [img[:, : w // 2], img[:, w // 2 :]] if w >= h else [img[: h // 2], img[h // 2 :]]
    ests = [estimate_kernel(part, scale, cfg).x2_kernel for part in parts]
    spreads = sorted(spread(k) for k in ests)
    return {"halves_spread_ratio": round(spreads[1] / spreads[0], 3), "halves_kernel_psnr": round(kernel_psnr(*ests), 2),
            "halves_spreads": [round(s, 3) for s in spreads]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lr_dir")
    ap.add_argument("--json", required=True)
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", choices=KERNEL_ESTIMATORS, default=KernelEstimationConfig.method, help="the estimator")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--only", action="append", default=[], metavar="NAME", help="these images only (repeatable)")
    ap.add_argument("--bootstrap", action="store_true", help="re-estimate on the image degraded by its estimate")
    ap.add_argument("--halves", action="store_true",
                    help="also estimate from each half of the image (split across its longer side): their agreement")
    args = ap.parse_args()
    if args.bootstrap and args.scale != 2:
        ap.error("--bootstrap is for x2 folders")
    out = Path(args.json)
    done = json.loads(out.read_text()) if args.resume and out.exists() else {"cpu": cpu_model(), "images": {}}
    for png in sorted(Path(args.lr_dir).glob("*.png")):
        name = png.stem
        if name in done["images"] or (args.only and name not in args.only):
            continue
        truth = true_kernel(args.lr_dir, name)
        img, cfg = read_image(png).pixels, KernelEstimationConfig(seed=args.seed, method=args.method)
        est = estimate_kernel(img, args.scale, cfg)
        row = {"kernel_psnr": round(kernel_psnr(stretch_kernel(est.x2_kernel, args.scale), truth, args.scale), 2),
               "run_kernel_psnr": [round(kernel_psnr(stretch_kernel(k, args.scale), truth, args.scale), 2) for k in est.runs],
               "bicubic_kernel_psnr": round(kernel_psnr(bicubic_kernel(args.scale), truth, args.scale), 2),
               "spread_ratio": round(spread(stretch_kernel(est.x2_kernel, args.scale)) / spread(truth), 3),
               "agreement_db": est.summary().agreement_db, "detail": round(est.detail, 2),
               "used": est.kernel is not None, "reason": est.reason,
               "seconds": round(est.seconds, 1), "x2_kernel": np.round(est.x2_kernel, 6).tolist()}
        if est.facts:  # the patch-recurrence Gaussian: best, narrowed and used variances, angle, confidence, cap
            row["gaussian"] = est.facts
        if args.bootstrap:
            h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
            again = np.round(np.clip(degrade(img[:h, :w], est.x2_kernel, 2), 0.0, 1.0) * 255.0) / 255.0
            boot = estimate_kernel(again.astype(np.float32), 2.0, cfg)
            row["bootstrap_spread_ratio"] = round(spread(boot.x2_kernel) / spread(est.x2_kernel), 3)
            row["bootstrap_kernel_psnr"] = round(kernel_psnr(boot.x2_kernel, est.x2_kernel), 2)
        if args.halves:
            row.update(halves(img, args.scale, cfg))
        done["images"][name] = row
        print(name, row, flush=True)
        write_bytes_atomic(out, (json.dumps(done, indent=1) + "\n").encode(), overwrite=True)
    rows = list(done["images"].values())
    if rows:
        runs = np.array([r["run_kernel_psnr"] for r in rows if len(r.get("run_kernel_psnr", [])) > 1])
        if len(runs):
            print(f"runs averaged: {np.mean([r['kernel_psnr'] for r in rows if len(r.get('run_kernel_psnr', [])) > 1]):.2f}"
                  f" dB mean kernel PSNR against {runs.mean(0).round(2).tolist()} for the single runs; the average beats "
                  f"every run on {sum(r['kernel_psnr'] > max(r['run_kernel_psnr']) for r in rows)}/{len(runs)} images, "
                  f"the runs' mean on {sum(r['kernel_psnr'] > np.mean(r['run_kernel_psnr']) for r in rows)}/{len(runs)}")
        ratios = np.array([r["spread_ratio"] for r in rows])
        print(f"spread ratio (estimate / truth): median {np.median(ratios):.2f}, max {ratios.max():.2f}, "
              f"{int((ratios > 1.2).sum())}/{len(ratios)} more than 1.2 (too wide), {int((ratios < 0.8).sum())} under 0.8")
        print(f"mean kernel PSNR {np.mean([r['kernel_psnr'] for r in rows]):.2f} (bicubic "
              f"{np.mean([r['bicubic_kernel_psnr'] for r in rows]):.2f}), {sum(r['used'] for r in rows)}/{len(rows)} used, "
              f"{np.mean([r['seconds'] for r in rows]):.1f} s each on {done['cpu']}")


if __name__ == "__main__":
    main()
