"""A design experiment: the patch-recurrence search with a wider variance range (up to 11.2 HR pixels squared, a
19-tap kernel grid) on the design images whose best Gaussian sat on the default range's widest variance (5.6),
which the estimator declines ("no minimum"). Kernel only: the best Gaussian, the confidence, whether it is still
at the widest, and the used (narrowed) kernel's spread over the true one's.

    python benchmarks/blind_sr/wide_range.py benchmarks/results/corpus_design/kernels_design_x2_s{seed}_recurrence.json \\
        benchmarks/blind/corpus/design/x2_s{seed} --seeds 11 12 --json benchmarks/results/corpus_design/wide_range_declined.json
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
from zssr_deploy.blind.recurrence import fit_recurrence_kernel
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.io import read_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model, spread  # noqa: E402

WIDE = RecurrenceConfig(size=19, variances=(0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernels", help="kernel_estimation.py results, '{seed}' for the seed")
    ap.add_argument("lr_dir", help="the LR folder, '{seed}' for the seed")
    ap.add_argument("--seeds", nargs="+", type=int, required=True)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for s in args.seeds:
        declined = [n for n, r in json.loads(Path(args.kernels.format(seed=s)).read_text())["images"].items() if not r["used"]]
        lr_dir = Path(args.lr_dir.format(seed=s))
        for name in declined:
            img = np.clip(read_image(lr_dir / f"{name}.png").pixels.astype(np.float32), 0.0, 1.0)
            kernel, facts = fit_recurrence_kernel(img, WIDE)
            ratio = None if kernel is None else round(spread(kernel) / spread(true_kernel(lr_dir, name)), 3)
            row = {"seed": s, "image": name, "variances": facts["variances"], "confidence": facts["confidence"],
                   "at_widest": facts["at_widest"], "used_spread_ratio": ratio}
            rows.append(row)
            print(row, flush=True)
    write_bytes_atomic(args.json, (json.dumps({"cpu": cpu_model(), "rows": rows}, indent=1) + "\n").encode(), overwrite=True)


if __name__ == "__main__":
    main()
