"""Which kernel-estimate errors cost ZSSR: per image, the true kernel's and the estimate's second moments beside
the blind-SR results, sorted by the estimate's worst directional over-width.

    python benchmarks/kernel_shape_table.py benchmarks/results/kernels_set5_x2.json benchmarks/blind/set5_x2 \\
        benchmarks/results/blind_set5_x2 [KERNELS_JSON LR_DIR RESULTS_PREFIX ...]

Inputs per set: ``kernel_estimation.py``'s JSON on the LR folder (it keeps each x2 estimate), the folder (true
kernels) and the prefix of ``evaluate``'s result files as ``blind_table.py`` reads them. Columns: the true
kernel's principal variances (HR pixels squared), anisotropy and major-axis angle; the estimate's; the angle
error; and the generalised eigenvalues of the estimate's second-moment matrix against the true one's: along the
worst direction the estimate blurs ``max`` times the variance the true kernel does, along the best ``min`` times.
A ``max`` above 1 means too much blur in some direction (ZSSR then sharpens where the image was not blurred);
below 1 everywhere means the estimate under-blurs, which costs ZSSR part of the gain but does no harm.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from blind_table import load
from kernel_estimation import angle_error, moments
from scipy.linalg import eigh

from zssr_deploy.datasets import true_kernel


def second_moments(kernel: np.ndarray) -> np.ndarray:
    """The kernel's 2x2 second-moment matrix about its centre of mass (rows, columns; HR pixels squared)."""
    k = np.asarray(kernel, np.float64) / np.sum(kernel)
    y, x = np.mgrid[: k.shape[0], : k.shape[1]]
    dy, dx = y - (k * y).sum(), x - (k * x).sum()
    return np.array([[(k * dy * dy).sum(), (k * dy * dx).sum()], [(k * dy * dx).sum(), (k * dx * dx).sum()]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="KERNELS_JSON LR_DIR RESULTS_PREFIX, repeated")
    args = ap.parse_args()
    if len(args.sets) % 3:
        ap.error("give KERNELS_JSON LR_DIR RESULTS_PREFIX per set")
    rows = []
    for kjson, lr_dir, prefix in zip(*[iter(args.sets)] * 3):
        psnr = {m: load(Path(f"{prefix}_{m}.json")) for m in ("none", "true", "estimate")}
        for name, r in json.loads(Path(kjson).read_text())["images"].items():
            if "x2_kernel" not in r or not all(name in psnr[m] for m in psnr):
                continue
            truth, est = true_kernel(lr_dir, name), np.array(r["x2_kernel"])
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


if __name__ == "__main__":
    main()
