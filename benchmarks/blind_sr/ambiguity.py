"""The ambiguity no estimator from the LR image alone escapes, measured: a soft photo under a narrow kernel
against the same photo, sharp, under the wider kernel that composes the two blurs (scikit-image photos, x2).

    python benchmarks/blind_sr/ambiguity.py [--json benchmarks/results/corpus_design/ambiguity.json]

For each photo (256-pixel crop) and case: the estimate (patch recurrence, current rule: variances of the best
Gaussian, confidence, whether it is used), and the criterion profile along the best Gaussian's width (factors
0.25-1, relative to the best). A Gaussian blur of sigma 1.5 HR pixels before a kernel of variance 0.6 is the
kernel of variance 0.6 + 2.25 = 2.85: the two LR images differ by rounding only, so any confidence computed from
them is the same; a rule that is safe on the first must give up gain on the second.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from zssr_deploy.blind.config import KernelEstimationConfig, RecurrenceConfig
from zssr_deploy.blind.estimate import estimate_kernel
from zssr_deploy.blind.recurrence import RecurrenceCriterion, gaussian_kernel
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.imageops.degrade import degrade
from zssr_deploy.samples import load_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402

FACTORS = (0.25, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CASES = (("sharp photo, narrow kernel", 0.0, 0.6), ("soft photo, narrow kernel", 1.5, 0.6),
         ("sharp photo, wide kernel", 0.0, 2.85))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = KernelEstimationConfig(threads=1)
    rows = []
    for name in ("astronaut", "coffee", "chelsea"):
        hr = load_sample(name, 256)
        for label, soft, var in CASES:
            img = np.stack([ndimage.gaussian_filter(hr[..., c], soft) for c in range(3)], -1) if soft else hr
            lr = np.round(np.clip(degrade(img, gaussian_kernel(var, var, 0.0, 13), 2), 0, 1) * 255) / 255
            lr = lr.astype(np.float32)
            est = estimate_kernel(lr, 2, cfg)
            a, b = est.facts["variances"]
            crit = RecurrenceCriterion(lr, RecurrenceConfig(), torch.device("cpu"))
            best = crit(gaussian_kernel(a, b, est.facts["angle"], 13))
            profile = [round(crit(gaussian_kernel(a * f, b * f, est.facts["angle"], 13)) / best, 4) for f in FACTORS]
            row = {"photo": name, "case": label, "true_variance": var, "best_variances": [a, b],
                   "confidence": est.facts["confidence"], "used": est.kernel is not None, "profile": profile}
            rows.append(row)
            print(f"{name:10s} {label:27s} best {a:.2f} / {b:.2f}  confidence {row['confidence']:.3f}  used "
                  f"{row['used']!s:5s} profile {profile}", flush=True)
    if args.json:
        out = {"cpu": cpu_model(), "factors": FACTORS, "rows": rows}
        write_bytes_atomic(args.json, (json.dumps(out, indent=1) + "\n").encode(), overwrite=True)


if __name__ == "__main__":
    main()
