"""Which kernel-estimate errors cost ZSSR: per image, the true kernel's and the estimate's second moments beside
the blind-SR results, sorted by the estimate's worst directional over-width.

    python benchmarks/blind_sr/kernel_shape_table.py benchmarks/results/kernel_estimates/kernels_set5_x2.json \\
        benchmarks/blind/set5_x2 \\
        benchmarks/results/blind_set5_x2/blind_set5_x2 [KERNELS_JSON LR_DIR RESULTS_PREFIX ...]

Inputs per set: ``kernel_estimation.py``'s JSON on the LR folder (it keeps each x2 estimate), the folder (true
kernels) and the prefix of ``evaluate``'s result files as ``blind_table.py`` reads them. Columns: the true
kernel's principal variances (HR pixels squared), anisotropy and major-axis angle; the estimate's; the angle
error; and the generalised eigenvalues of the estimate's second-moment matrix against the true one's: along the
worst direction the estimate blurs ``max`` times the variance the true kernel does, along the best ``min`` times.
A ``max`` above 1 means too much blur in some direction (ZSSR then sharpens where the image was not blurred);
below 1 everywhere means the estimate under-blurs, which costs ZSSR part of the gain but does no harm.

A closing line asks how much each estimate knows about its own image: the correlation of the estimates' spreads
with the true kernels' over the images, and the kernel error (L2 norm of the difference, both re-centred by the
trainer's rule; unlike kernel PSNR it does not depend on how far the kernels are zero-padded) of each estimate
against that of one kernel for every image, the mean of the *other* images' used estimates.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from blind_table import load

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import angle_error, moments, second_moments, spread  # noqa: E402
from scipy.linalg import eigh

from zssr_deploy.blind.datasets import true_kernel
from zssr_deploy.imageops.kernels import align_kernels


def kernel_error(estimate: np.ndarray, truth: np.ndarray) -> float:
    """L2 norm of the difference of two x2 kernels, each normalised and re-centred by the trainer's rule, their
    middles aligned (padding does not change the norm)."""
    a, b = align_kernels(estimate, truth, 2.0)
    return float(np.linalg.norm(a - b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="KERNELS_JSON LR_DIR RESULTS_PREFIX, repeated")
    args = ap.parse_args()
    if len(args.sets) % 3:
        ap.error("give KERNELS_JSON LR_DIR RESULTS_PREFIX per set")
    rows, kernels = [], {}
    for kjson, lr_dir, prefix in zip(*[iter(args.sets)] * 3):
        psnr = {m: load(Path(f"{prefix}_{m}.json")) for m in ("none", "true", "estimate")}
        for name, r in json.loads(Path(kjson).read_text())["images"].items():
            if "x2_kernel" not in r or not all(name in psnr[m] for m in psnr):
                continue
            truth, est = true_kernel(lr_dir, name), np.array(r["x2_kernel"])
            kernels[name] = (est, truth, r["used"])
            gen = eigh(second_moments(est), second_moments(truth), eigvals_only=True)
            p = {m: psnr[m][name]["psnr_y"] for m in psnr}
            rows.append((float(gen.max()), name, moments(truth), moments(est), float(gen.min()), p, r["used"]))
    print("| image | true kernel: variances, anisotropy, angle | estimate: variances, angle | angle error | "
          "est./true variance, worst / best direction | ZSSR true - assumed | ZSSR estimate - assumed |")
    print("|---|---|---|---|---|---|---|")
    for worst, name, t, e, best, p, used in sorted(rows, key=lambda row: -row[0]):
        (t1, t2), (e1, e2) = t["variances"], e["variances"]
        kept = "" if used else " (bicubic kept)"
        print(f"| {name} | {t1:.2f}, {t2:.2f}, {t1 / t2:.1f}, {t['angle']:.0f} | {e1:.2f}, {e2:.2f}, {e['angle']:.0f} | "
              f"{angle_error(t['angle'], e['angle']):.0f} | {worst:.2f} / {best:.2f} | {p['true'] - p['none']:+.2f} | "
              f"{p['estimate'] - p['none']:+.2f}{kept} |")
    own = [kernel_error(e, t) for e, t, _ in kernels.values()]
    one = [kernel_error(np.mean([e for m, (e, _, u) in kernels.items() if m != n and u], axis=0), t)
           for n, (_, t, _) in kernels.items()]
    corr = np.corrcoef([spread(e) for e, _, _ in kernels.values()], [spread(t) for _, t, _ in kernels.values()])[0, 1]
    print(f"\n{len(kernels)} images: estimate and true spreads correlate at {corr:.2f}; kernel error (L2) of each image's "
          f"estimate {np.mean(own):.4f} on the mean, of one kernel for every image (the mean of the other images' used "
          f"estimates) {np.mean(one):.4f}; the own estimate is closer on {sum(a < b for a, b in zip(own, one))}/{len(own)}")


if __name__ == "__main__":
    main()
