"""The patch-recurrence criterion along the estimate's width: how sharply the image tells its kernel's width, and
where the true kernel falls on that profile (a design experiment for a confidence and a shrinkage rule).

    python benchmarks/blind_sr/width_profile.py benchmarks/blind/corpus/design/x2_s11 \\
        --json benchmarks/results/corpus_design/profile_design_x2_s11.json [--resume]

For each LR image: the recurrence search's best Gaussian (variances a, b, angle), then the criterion for the same
Gaussian with both variances multiplied by each factor of ``FACTORS`` (relative to the best criterion), for
MATLAB's bicubic kernel, and for the true kernel; the spread ratio of estimate to truth.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from zssr_deploy.blind.config import RecurrenceConfig
from zssr_deploy.blind.datasets import true_kernel
from zssr_deploy.blind.recurrence import RecurrenceCriterion, fit_recurrence_kernel, gaussian_kernel
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.imageops.kernels import bicubic_kernel
from zssr_deploy.io import read_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model, spread  # noqa: E402

FACTORS = (0.25, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lr_dir")
    ap.add_argument("--json", required=True)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.json)
    done = json.loads(out.read_text()) if args.resume and out.exists() else {"cpu": cpu_model(), "images": {}}
    cfg = RecurrenceConfig()
    for png in sorted(Path(args.lr_dir).glob("*.png")):
        name = png.stem
        if name in done["images"]:
            continue
        img = np.clip(read_image(png).pixels.astype(np.float32), 0, 1)
        truth = true_kernel(args.lr_dir, name)
        _, facts = fit_recurrence_kernel(img, cfg)
        a, b = facts["variances"]
        t = facts["angle"]
        crit = RecurrenceCriterion(img, cfg, torch.device("cpu"))
        best = crit(gaussian_kernel(a, b, t, cfg.size))
        profile = [crit(gaussian_kernel(a * f, b * f, t, cfg.size)) / best for f in FACTORS]
        row = {"variances": [a, b], "angle": t, "criterion": best,
               "profile": [round(p, 5) for p in profile],
               "bicubic": round(crit(bicubic_kernel(2)) / best, 5),
               "truth": round(crit(truth) / best, 5) if max(truth.shape) <= cfg.size else None,
               "spread_est": round(spread(gaussian_kernel(a, b, t, cfg.size)), 4),
               "spread_true": round(spread(truth), 4),
               "spread_bicubic": round(spread(bicubic_kernel(2)), 4)}
        done["images"][name] = row
        print(name, row, flush=True)
        write_bytes_atomic(out, (json.dumps(done, indent=1) + "\n").encode(), overwrite=True)


if __name__ == "__main__":
    main()
